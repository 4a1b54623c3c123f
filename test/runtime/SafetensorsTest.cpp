//===- SafetensorsTest.cpp - tests of the safetensors reader and writer ---===//
//
// Round trips through a file and through memory, the checked lookup get(),
// truncated and bit-flipped files, one hand-written header per validation
// rule, and path errors. Random tensor data comes from std::mt19937_64 with a
// seed that every failure prints (override it with HYMIR_TEST_SEED).
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Safetensors.h"

#include "absl/strings/str_cat.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

using namespace hymir;

namespace {

uint64_t testSeed() {
  if (const char *env = std::getenv("HYMIR_TEST_SEED"))
    return std::strtoull(env, nullptr, 10);
  return 0x5AFE7E45u;
}

std::string seedTrace(uint64_t seed) {
  return absl::StrCat("random seed ", seed,
                      " (rerun with HYMIR_TEST_SEED=", seed, ")");
}

/// A file name in the test temp directory, unique to this process.
std::string tempPath(const std::string &stem) {
  return absl::StrCat(::testing::TempDir(), "hymir_safetensors_", stem, "_",
                      ::getpid(), ".safetensors");
}

std::vector<uint8_t> readWholeFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void writeWholeFile(const std::string &path, const std::vector<uint8_t> &b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(b.data()),
            static_cast<std::streamsize>(b.size()));
}

/// Random, never-zero element values of `dtype`, as raw bytes.
std::vector<uint8_t> randomData(std::mt19937_64 &rng, DType dtype,
                                size_t numel) {
  std::uniform_real_distribution<float> magnitude(0.25f, 4.0f);
  std::uniform_int_distribution<int32_t> integer(1, 1 << 20);
  std::bernoulli_distribution negative(0.5);
  std::vector<uint8_t> out(numel * dtypeSize(dtype));
  for (size_t i = 0; i < numel; ++i) {
    uint8_t *dst = out.data() + i * dtypeSize(dtype);
    float f = magnitude(rng) * (negative(rng) ? -1.0f : 1.0f);
    int32_t n = integer(rng) * (negative(rng) ? -1 : 1);
    switch (dtype) {
    case DType::F32:
      std::memcpy(dst, &f, 4);
      break;
    case DType::BF16: {
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      uint16_t top = static_cast<uint16_t>(bits >> 16);
      std::memcpy(dst, &top, 2);
      break;
    }
    case DType::I32:
      std::memcpy(dst, &n, 4);
      break;
    case DType::F64: {
      double d = f;
      std::memcpy(dst, &d, 8);
      break;
    }
    default: {
      // The remaining types are not exercised with values; any non-zero
      // pattern will do.
      for (size_t b = 0; b < dtypeSize(dtype); ++b)
        dst[b] = static_cast<uint8_t>(1 + rng() % 255);
    }
    }
  }
  return out;
}

bool allZero(const std::vector<uint8_t> &bytes) {
  for (uint8_t b : bytes)
    if (b != 0)
      return false;
  return true;
}

size_t numElements(const std::vector<int64_t> &shape) {
  size_t n = 1;
  for (int64_t d : shape)
    n *= static_cast<size_t>(d);
  return n;
}

struct Spec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

/// Tensors of several dtypes, a 0-d one and an empty one, with names that
/// need escaping in JSON. Data of the smaller types is listed first so the
/// writer has to reorder it.
std::vector<Spec> sampleTensors(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Spec> specs = {
      {"model.layers.0.self_attn.q_proj.weight", DType::BF16, {8, 6}, {}},
      {"model.norm.weight", DType::F32, {6}, {}},
      {"input_ids", DType::I32, {2, 5}, {}},
      {"temperature", DType::F32, {}, {}},
      {"empty.cache", DType::BF16, {0, 4}, {}},
      {"odd \"name\"\twith caf\xc3\xa9", DType::U8, {3}, {}},
      {"double", DType::F64, {2, 2}, {}},
  };
  for (Spec &spec : specs)
    spec.bytes = randomData(rng, spec.dtype, numElements(spec.shape));
  return specs;
}

SafetensorsWriter writerFor(const std::vector<Spec> &specs) {
  SafetensorsWriter writer;
  for (const Spec &spec : specs)
    writer.add(spec.name, spec.dtype, spec.shape, spec.bytes.data(),
               spec.bytes.size());
  writer.setMetadata("format", "pt");
  writer.setMetadata("note", "line one\nline \"two\" \xe2\x9c\x93");
  return writer;
}

void expectMatches(const SafetensorsFile &file,
                   const std::vector<Spec> &specs) {
  ASSERT_EQ(file.tensors().size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const Spec &spec = specs[i];
    const TensorView &view = file.tensors()[i];
    SCOPED_TRACE("tensor " + spec.name);
    EXPECT_EQ(view.name, spec.name);
    EXPECT_EQ(view.dtype, spec.dtype);
    EXPECT_EQ(view.shape, spec.shape);
    ASSERT_EQ(view.sizeBytes, spec.bytes.size());
    if (!spec.bytes.empty()) {
      EXPECT_EQ(std::memcmp(view.data, spec.bytes.data(), view.sizeBytes), 0);
      // The writer keeps every tensor aligned to its element size.
      EXPECT_EQ(reinterpret_cast<uintptr_t>(view.data) % dtypeSize(view.dtype),
                0u);
    }
    EXPECT_EQ(file.find(spec.name), &view);
  }
  std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"note", "line one\nline \"two\" \xe2\x9c\x93"}};
  EXPECT_EQ(file.metadata(), metadata);
  EXPECT_EQ(file.find("not there"), nullptr);
}

/// A file with the given header text and `dataBytes` non-zero data bytes.
std::vector<uint8_t> withHeader(std::string_view json, size_t dataBytes) {
  std::vector<uint8_t> out(8);
  uint64_t length = json.size();
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<uint8_t>(length >> (8 * i));
  out.insert(out.end(), json.begin(), json.end());
  for (size_t i = 0; i < dataBytes; ++i)
    out.push_back(static_cast<uint8_t>(0x40 + i % 64));
  return out;
}

std::vector<uint8_t> withLength(uint64_t length, std::string_view rest) {
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<uint8_t>(length >> (8 * i));
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

uint64_t headerEnd(const std::vector<uint8_t> &file) {
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i)
    length = (length << 8) | file[i];
  return 8 + length;
}

//===----------------------------------------------------------------------===//
// Round trips
//===----------------------------------------------------------------------===//

TEST(SafetensorsTest, RoundTripThroughFile) {
  uint64_t seed = testSeed();
  SCOPED_TRACE(seedTrace(seed));
  std::vector<Spec> specs = sampleTensors(seed);
  for (const Spec &spec : specs)
    if (numElements(spec.shape) != 0)
      ASSERT_FALSE(allZero(spec.bytes)) << spec.name;
  SafetensorsWriter writer = writerFor(specs);
  ASSERT_TRUE(writer.status().ok()) << writer.status();

  std::string path = tempPath("roundtrip");
  ASSERT_TRUE(writer.write(path).ok());
  std::vector<uint8_t> onDisk = readWholeFile(path);
  EXPECT_EQ(onDisk, writer.serialize());
  EXPECT_EQ(headerEnd(onDisk) % 8, 0u);

  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->path(), path);
  expectMatches(*file, specs);
  std::remove(path.c_str());
}

TEST(SafetensorsTest, RoundTripThroughBuffer) {
  uint64_t seed = testSeed() + 1;
  SCOPED_TRACE(seedTrace(seed));
  std::vector<Spec> specs = sampleTensors(seed);
  absl::StatusOr<SafetensorsFile> file =
      SafetensorsFile::fromBuffer(writerFor(specs).serialize(), "in-memory");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->path(), "in-memory");
  expectMatches(*file, specs);
}

TEST(SafetensorsTest, ViewsSurviveMoves) {
  uint64_t seed = testSeed() + 2;
  SCOPED_TRACE(seedTrace(seed));
  std::vector<Spec> specs = sampleTensors(seed);
  std::string path = tempPath("moves");
  ASSERT_TRUE(writerFor(specs).write(path).ok());
  absl::StatusOr<SafetensorsFile> opened = SafetensorsFile::open(path);
  ASSERT_TRUE(opened.ok()) << opened.status();
  const uint8_t *data = opened->tensors()[0].data;

  SafetensorsFile moved(std::move(*opened));
  EXPECT_EQ(moved.tensors()[0].data, data);
  expectMatches(moved, specs);

  absl::StatusOr<SafetensorsFile> other =
      SafetensorsFile::fromBuffer(withHeader("{}", 0), "other");
  ASSERT_TRUE(other.ok()) << other.status();
  *other = std::move(moved);
  EXPECT_EQ(other->path(), path);
  expectMatches(*other, specs);
  std::remove(path.c_str());
}

TEST(SafetensorsTest, AcceptsUnusualButValidHeaders) {
  // No tensors at all.
  absl::StatusOr<SafetensorsFile> empty =
      SafetensorsFile::fromBuffer(withHeader("{}", 0), "empty");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->tensors().empty());
  EXPECT_TRUE(empty->metadata().empty());

  // Whitespace everywhere, escapes in names, unknown fields, -0, tensors
  // listed out of data order, and a trailing unused data byte.
  std::string json =
      " {\n\t\"caf\\u00e9 \\ud83d\\ude00\\n\" : { \"shape\" : [ 2 ] ,"
      " \"dtype\" : \"I32\", \"data_offsets\" : [ 8 , 16 ], \"extra\": "
      "[{\"x\": [\"y\"]}] },\r\n \"first\": {\"dtype\": \"U8\", \"shape\": "
      "[-0, 3], \"data_offsets\": [0, 0]},"
      " \"__metadata__\": {\"\\\"k\\\"\": \"\\/v\\b\\f\\r\\t\"}, "
      "\"second\": {\"dtype\": \"F16\", \"shape\": [1, 2], "
      "\"data_offsets\": [0, 4]} }    ";
  absl::StatusOr<SafetensorsFile> file =
      SafetensorsFile::fromBuffer(withHeader(json, 17), "unusual");
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->tensors().size(), 3u);
  EXPECT_EQ(file->tensors()[0].name, "caf\xc3\xa9 \xf0\x9f\x98\x80\n");
  EXPECT_EQ(file->tensors()[0].sizeBytes, 8u);
  EXPECT_EQ(file->tensors()[1].name, "first");
  EXPECT_EQ(file->tensors()[1].shape, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(file->tensors()[1].sizeBytes, 0u);
  EXPECT_EQ(file->tensors()[2].name, "second");
  EXPECT_EQ(file->tensors()[2].dtype, DType::F16);
  EXPECT_EQ(file->metadata().at("\"k\""), "/v\b\f\r\t");
}

//===----------------------------------------------------------------------===//
// get()
//===----------------------------------------------------------------------===//

TEST(SafetensorsTest, GetChecksDtypeAndShape) {
  uint64_t seed = testSeed() + 3;
  SCOPED_TRACE(seedTrace(seed));
  std::vector<Spec> specs = sampleTensors(seed);
  absl::StatusOr<SafetensorsFile> file =
      SafetensorsFile::fromBuffer(writerFor(specs).serialize(), "weights");
  ASSERT_TRUE(file.ok()) << file.status();
  const std::string q = "model.layers.0.self_attn.q_proj.weight";

  absl::StatusOr<TensorView> ok = file->get(q, DType::BF16, {8, 6});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->data, file->find(q)->data);
  EXPECT_TRUE(file->get(q, DType::BF16, {-1, 6}).ok());
  EXPECT_TRUE(file->get(q, DType::BF16, {-1, -1}).ok());
  EXPECT_TRUE(file->get("temperature", DType::F32, {}).ok());
  EXPECT_TRUE(file->get("empty.cache", DType::BF16, {0, 4}).ok());

  struct Case {
    const char *what;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<std::string> mentions;
  };
  const std::vector<Case> cases = {
      {"wrong dtype", DType::F32, {8, 6}, {"BF16 [8, 6]", "F32 [8, 6]"}},
      {"wrong rank", DType::BF16, {8, 6, 1}, {"[8, 6]", "[8, 6, 1]", "rank"}},
      {"wrong dim", DType::BF16, {8, 7}, {"[8, 6]", "[8, 7]", "dimension 1"}},
      {"wrong dim with a wildcard",
       DType::BF16,
       {-1, 5},
       {"[8, 6]", "[?, 5]", "dimension 1"}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    absl::StatusOr<TensorView> got = file->get(q, c.dtype, c.shape);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    std::string message(got.status().message());
    EXPECT_NE(message.find("'" + q + "'"), std::string::npos) << message;
    EXPECT_NE(message.find("weights"), std::string::npos) << message;
    for (const std::string &mention : c.mentions)
      EXPECT_NE(message.find(mention), std::string::npos)
          << "missing \"" << mention << "\" in: " << message;
  }

  absl::StatusOr<TensorView> missing =
      file->get("lm_head.weight", DType::BF16, {16, 6});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  std::string message(missing.status().message());
  for (const std::string &mention :
       {std::string("'lm_head.weight'"), std::string("BF16 [16, 6]"),
        std::string("weights"), std::string("7 tensors"), "'" + q + "'"})
    EXPECT_NE(message.find(mention), std::string::npos)
        << "missing \"" << mention << "\" in: " << message;
}

//===----------------------------------------------------------------------===//
// Corruption
//===----------------------------------------------------------------------===//

/// An error must be a clean status that names the file.
void expectCleanError(const absl::Status &status, const std::string &label) {
  EXPECT_TRUE(status.code() == absl::StatusCode::kInvalidArgument ||
              status.code() == absl::StatusCode::kDataLoss)
      << status;
  EXPECT_NE(status.message().find(label), std::string_view::npos) << status;
}

TEST(SafetensorsTest, RejectsEveryTruncation) {
  uint64_t seed = testSeed() + 4;
  SCOPED_TRACE(seedTrace(seed));
  const std::vector<uint8_t> whole = writerFor(sampleTensors(seed)).serialize();
  const size_t end = headerEnd(whole);
  ASSERT_LT(end, whole.size());

  // The written data section has no gaps, so every proper prefix is missing
  // bytes that some tensor needs.
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= end; ++n)
    lengths.push_back(n);
  for (size_t n = end + 1; n < whole.size(); n += 5)
    lengths.push_back(n);
  lengths.push_back(whole.size() - 1);
  for (size_t n : lengths) {
    SCOPED_TRACE(absl::StrCat("truncated to ", n, " of ", whole.size()));
    absl::StatusOr<SafetensorsFile> file = SafetensorsFile::fromBuffer(
        std::vector<uint8_t>(whole.begin(), whole.begin() + n), "cut");
    ASSERT_FALSE(file.ok());
    expectCleanError(file.status(), "'cut'");
    EXPECT_EQ(file.status().code(), absl::StatusCode::kDataLoss)
        << file.status();
  }

  // The same through real (mapped) files, including an empty one.
  std::string path = tempPath("truncated");
  for (size_t n :
       {size_t{0}, size_t{5}, size_t{8}, end - 1, end, whole.size() - 1}) {
    SCOPED_TRACE(absl::StrCat("file truncated to ", n));
    writeWholeFile(path,
                   std::vector<uint8_t>(whole.begin(), whole.begin() + n));
    absl::StatusOr<SafetensorsFile> file = SafetensorsFile::open(path);
    ASSERT_FALSE(file.ok());
    expectCleanError(file.status(), path);
  }
  std::remove(path.c_str());
}

TEST(SafetensorsTest, SurvivesFlippedHeaderBytes) {
  uint64_t seed = testSeed() + 5;
  SCOPED_TRACE(seedTrace(seed));
  const std::vector<uint8_t> whole = writerFor(sampleTensors(seed)).serialize();
  const size_t end = headerEnd(whole);

  auto start = std::chrono::steady_clock::now();
  size_t parsed = 0, rejected = 0;
  for (size_t offset = 0; offset < end; ++offset) {
    for (uint8_t mask : {0x01, 0x02, 0x08, 0x20, 0x40, 0x80, 0xFF}) {
      std::vector<uint8_t> bytes = whole;
      bytes[offset] ^= mask;
      absl::StatusOr<SafetensorsFile> file =
          SafetensorsFile::fromBuffer(std::move(bytes), "flipped");
      if (!file.ok()) {
        ++rejected;
        expectCleanError(file.status(), "'flipped'");
        continue;
      }
      ++parsed;
      // Whatever parsed must be self-consistent; touching every byte lets
      // AddressSanitizer catch a view outside the buffer.
      unsigned sum = 0;
      for (const TensorView &view : file->tensors()) {
        EXPECT_EQ(view.sizeBytes,
                  numElements(view.shape) * dtypeSize(view.dtype));
        for (size_t i = 0; i < view.sizeBytes; ++i)
          sum += view.data[i];
      }
      (void)sum;
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "stopping after the first failing offset " << offset;
      break;
    }
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("flipped %zu header bytes 7 ways: %zu parsed, %zu rejected in "
              "%.3f s\n",
              end, parsed, rejected, seconds);
  EXPECT_GT(rejected, 0u);
  EXPECT_GT(parsed, 0u); // e.g. flips inside a metadata value
  // Each attempt parses a few hundred bytes; seconds would mean something
  // quadratic or worse (the bound is loose for sanitizer and debug builds).
  EXPECT_LT(seconds, 10.0);
}

TEST(SafetensorsTest, HostileHeadersFailFast) {
  auto start = std::chrono::steady_clock::now();
  // Deep nesting (only possible in fields the reader skips) must not
  // exhaust the stack.
  std::string deep(1 << 20, '[');
  absl::StatusOr<SafetensorsFile> nested = SafetensorsFile::fromBuffer(
      withHeader("{\"t\": {\"extra\": " + deep, 0), "deep");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("nested deeper"), std::string::npos)
      << nested.status();

  // A long array in a field the reader skips is checked but not stored.
  std::string zeros = "{\"t\": {\"extra\": [0";
  for (int i = 0; i < (1 << 21); ++i)
    zeros += ",0";
  absl::StatusOr<SafetensorsFile> skipped = SafetensorsFile::fromBuffer(
      withHeader(zeros + "], \"dtype\": \"U8\", \"shape\": [], "
                         "\"data_offsets\": [0, 1]}}",
                 1),
      "skipped");
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_EQ(skipped->tensors().size(), 1u);

  // Many tensors: validation and the overlap check stay near-linear.
  constexpr int kTensors = 50000;
  std::string json = "{";
  for (int i = 0; i < kTensors; ++i)
    absl::StrAppend(&json, i ? "," : "", "\"t", i,
                    "\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[",
                    2 * (kTensors - 1 - i), ",", 2 * (kTensors - i), "]}");
  json += "}";
  absl::StatusOr<SafetensorsFile> many =
      SafetensorsFile::fromBuffer(withHeader(json, 2 * kTensors), "many");
  ASSERT_TRUE(many.ok()) << many.status();
  EXPECT_EQ(many->tensors().size(), size_t{kTensors});
  ASSERT_NE(many->find("t123"), nullptr);
  EXPECT_EQ(many->find("t123")->sizeBytes, 2u);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_LT(seconds, 10.0);
}

struct BadHeader {
  const char *rule;
  std::string json;
  size_t dataBytes;
  absl::StatusCode code;
  std::vector<std::string> mentions;
};

const absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
const absl::StatusCode kDataLoss = absl::StatusCode::kDataLoss;

/// `{"w": {<fields>}}` for a tensor entry with the given fields.
std::string oneTensor(const std::string &fields) {
  return "{\"w\": {" + fields + "}}";
}

TEST(SafetensorsTest, RejectsEachBadHeader) {
  const std::string okFields =
      R"("dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24])";
  const std::vector<BadHeader> cases = {
      // Not JSON, or not the JSON subset.
      {"empty header", "", 0, kInvalid, {"malformed header JSON"}},
      {"not JSON", "hello", 0, kInvalid, {"malformed", "byte 0"}},
      {"unterminated object", "{\"w\": {", 0, kInvalid, {"malformed"}},
      {"missing colon", "{\"w\" {}}", 0, kInvalid, {"expected ':'"}},
      {"trailing comma",
       "{\"__metadata__\": {\"a\": \"b\",}}",
       0,
       kInvalid,
       {"in \"__metadata__\"", "string key"}},
      {"trailing comma at the top",
       "{\"__metadata__\": {},}",
       0,
       kInvalid,
       {"string key"}},
      {"trailing comma in a shape",
       oneTensor(R"("shape": [1, 2,])"),
       0,
       kInvalid,
       {"tensor 'w'", "expected a value"}},
      {"unquoted key", "{w: 1}", 0, kInvalid, {"string key"}},
      {"trailing garbage", "{} x", 0, kInvalid, {"after the top-level"}},
      {"two objects", "{}{}", 0, kInvalid, {"after the top-level"}},
      {"NUL padding", std::string("{}\0\0", 4), 0, kInvalid, {"malformed"}},
      {"unterminated string", "{\"w", 0, kInvalid, {"unterminated string"}},
      {"bad escape", "{\"\\x\": 1}", 0, kInvalid, {"invalid escape"}},
      {"bad \\u", "{\"\\u12g4\": 1}", 0, kInvalid, {"hex digit"}},
      {"short \\u", "{\"\\u12", 0, kInvalid, {"malformed"}},
      {"lone high surrogate", "{\"\\ud800x\": 1}", 0, kInvalid, {"surrogate"}},
      {"lone low surrogate", "{\"\\udc00\": 1}", 0, kInvalid, {"surrogate"}},
      {"control character", "{\"a\nb\": 1}", 0, kInvalid, {"control"}},
      {"invalid UTF-8", "{\"\xff\": 1}", 0, kInvalid, {"UTF-8"}},
      {"overlong UTF-8", "{\"\xc0\xaf\": 1}", 0, kInvalid, {"UTF-8"}},
      {"UTF-8 surrogate", "{\"\xed\xa0\x80\": 1}", 0, kInvalid, {"UTF-8"}},
      {"truncated UTF-8", "{\"\xe2\x9c\": 1}", 0, kInvalid, {"UTF-8"}},
      {"fraction",
       oneTensor(R"("shape": [1.5])"),
       0,
       kInvalid,
       {"tensor 'w'", "integers"}},
      {"exponent",
       oneTensor(R"("shape": [1e3])"),
       0,
       kInvalid,
       {"tensor 'w'", "integers"}},
      {"leading zero", oneTensor(R"("shape": [01])"), 0, kInvalid, {"zeros"}},
      {"lone minus", oneTensor(R"("shape": [-])"), 0, kInvalid, {"digit"}},
      {"huge integer",
       oneTensor(R"("shape": [9223372036854775808])"),
       0,
       kInvalid,
       {"64-bit range"}},
      {"integer beyond 64 bits",
       oneTensor(R"("shape": [18446744073709551616])"),
       0,
       kInvalid,
       {"64-bit range"}},
      {"integer below int64",
       oneTensor(R"("shape": [-9223372036854775809])"),
       0,
       kInvalid,
       {"64-bit range"}},
      {"huge number in a skipped field",
       oneTensor(R"("extra": [1e400])"),
       0,
       kInvalid,
       {"integers"}},
      {"NUL inside a string",
       std::string("{\"a\0b\": 1}", 10),
       0,
       kInvalid,
       {"malformed", "NUL"}},
      {"false in a skipped field",
       oneTensor(R"("extra": {"x": [false]})"),
       0,
       kInvalid,
       {"tensor 'w'", "null"}},
      {"missing comma in an object",
       R"({"__metadata__": {} "b": {}})",
       0,
       kInvalid,
       {"malformed", "expected ','"}},
      {"true", oneTensor(R"("shape": true)"), 0, kInvalid, {"null"}},
      {"null", "{\"w\": null}", 0, kInvalid, {"tensor 'w'", "null"}},
      // Not an object at the top.
      {"array header", "[]", 0, kInvalid, {"must be a JSON object", "array"}},
      {"string header", "\"w\"", 0, kInvalid, {"JSON object", "a string"}},
      {"integer header", "7", 0, kInvalid, {"JSON object", "an integer"}},
      // Tensor entries.
      {"entry not an object",
       "{\"w\": [1]}",
       0,
       kInvalid,
       {"'w'", "must be an object"}},
      {"missing dtype",
       oneTensor(R"("shape": [2, 3], "data_offsets": [0, 24])"),
       24,
       kInvalid,
       {"'w'", "missing \"dtype\""}},
      {"missing shape",
       oneTensor(R"("dtype": "F32", "data_offsets": [0, 24])"),
       24,
       kInvalid,
       {"'w'", "missing \"shape\""}},
      {"missing data_offsets",
       oneTensor(R"("dtype": "F32", "shape": [2, 3])"),
       24,
       kInvalid,
       {"'w'", "missing \"data_offsets\""}},
      {"duplicate field",
       oneTensor(okFields + R"(, "dtype": "F32")"),
       24,
       kInvalid,
       {"'w'", "duplicate field \"dtype\""}},
      {"dtype not a string",
       oneTensor(R"("dtype": 4, "shape": [2, 3], "data_offsets": [0, 24])"),
       24,
       kInvalid,
       {"'w'", "\"dtype\" must be a string"}},
      {"shape not an array",
       oneTensor(R"("dtype": "F32", "shape": 6, "data_offsets": [0, 24])"),
       24,
       kInvalid,
       {"'w'", "\"shape\" must be an array"}},
      {"shape of strings",
       oneTensor(R"("dtype": "F32", "shape": ["2"], "data_offsets": [0, 8])"),
       8,
       kInvalid,
       {"'w'", "must be integers"}},
      {"data_offsets not an array",
       oneTensor(R"("dtype": "F32", "shape": [2], "data_offsets": "0-8")"),
       8,
       kInvalid,
       {"'w'", "two integers"}},
      {"data_offsets of strings",
       oneTensor(R"("dtype": "F32", "shape": [2], "data_offsets": ["0", "8"])"),
       8,
       kInvalid,
       {"'w'", "two integers"}},
      {"unknown dtype",
       oneTensor(R"("dtype": "Q4_K", "shape": [2], "data_offsets": [0, 8])"),
       8,
       kInvalid,
       {"'w'", "unknown dtype 'Q4_K'"}},
      {"lower-case dtype",
       oneTensor(R"("dtype": "f32", "shape": [2], "data_offsets": [0, 8])"),
       8,
       kInvalid,
       {"'w'", "unknown dtype 'f32'"}},
      {"negative extent",
       oneTensor(R"("dtype": "F32", "shape": [2, -3], "data_offsets": [0, 8])"),
       8,
       kInvalid,
       {"'w'", "negative extent -3"}},
      {"element count overflows",
       oneTensor(R"("dtype": "U8", "shape": [4294967296, 4294967296],)"
                 R"( "data_offsets": [0, 0])"),
       0,
       kInvalid,
       {"'w'", "overflows"}},
      {"byte count overflows",
       oneTensor(R"("dtype": "F64", "shape": [4611686018427387904],)"
                 R"( "data_offsets": [0, 0])"),
       0,
       kInvalid,
       {"'w'", "overflows"}},
      {"overflow hidden by a zero",
       oneTensor(R"("dtype": "F64", "shape": [4611686018427387904, 8, 0],)"
                 R"( "data_offsets": [0, 0])"),
       0,
       kInvalid,
       {"'w'", "overflows"}},
      {"overflow after a zero",
       oneTensor(R"("dtype": "F64", "shape": [0, 4611686018427387904, 8],)"
                 R"( "data_offsets": [0, 0])"),
       0,
       kInvalid,
       {"'w'", "overflows"}},
      {"one offset",
       oneTensor(R"("dtype": "F32", "shape": [2], "data_offsets": [8])"),
       8,
       kInvalid,
       {"'w'", "two integers"}},
      {"three offsets",
       oneTensor(R"("dtype": "F32", "shape": [2], "data_offsets": [0, 8, 8])"),
       8,
       kInvalid,
       {"'w'", "two integers"}},
      {"negative offset",
       oneTensor(R"("dtype": "U8", "shape": [0], "data_offsets": [-1, -1])"),
       8,
       kInvalid,
       {"'w'", "negative"}},
      {"offset beyond int64",
       oneTensor(
           R"("dtype": "U8", "shape": [0], "data_offsets": [0, 9223372036854775808])"),
       8,
       kInvalid,
       {"'w'", "64-bit range"}},
      {"largest offset",
       oneTensor(
           R"("dtype": "U8", "shape": [1], "data_offsets": [9223372036854775806, 9223372036854775807])"),
       8,
       kDataLoss,
       {"'w'", "9223372036854775807", "beyond the data section"}},
      {"begins after its end",
       oneTensor(R"("dtype": "F32", "shape": [2], "data_offsets": [8, 0])"),
       8,
       kInvalid,
       {"'w'", "[8, 0]", "begins after its end"}},
      {"end beyond the data",
       oneTensor(R"("dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24])"),
       23,
       kDataLoss,
       {"'w'", "[0, 24]", "23 bytes"}},
      {"size too small",
       oneTensor(R"("dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20])"),
       24,
       kInvalid,
       {"'w'", "20 bytes", "needs 24"}},
      {"size too large",
       oneTensor(R"("dtype": "BF16", "shape": [2], "data_offsets": [0, 8])"),
       8,
       kInvalid,
       {"'w'", "8 bytes", "needs 4"}},
      {"0-d tensor with no bytes",
       oneTensor(R"("dtype": "F32", "shape": [], "data_offsets": [0, 0])"),
       8,
       kInvalid,
       {"'w'", "F32 []", "needs 4"}},
      {"empty tensor with bytes",
       oneTensor(R"("dtype": "F32", "shape": [0, 3], "data_offsets": [0, 4])"),
       8,
       kInvalid,
       {"'w'", "needs 0"}},
      {"overlapping tensors",
       R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
       R"( "b": {"dtype": "U8", "shape": [4], "data_offsets": [6, 10]}})",
       10,
       kInvalid,
       {"'a'", "'b'", "overlap"}},
      {"identical ranges",
       R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
       R"( "b": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})",
       4,
       kInvalid,
       {"'a'", "'b'", "overlap"}},
      {"duplicate name",
       R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
       R"( "w": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}})",
       8,
       kInvalid,
       {"duplicate tensor name 'w'"}},
      // Metadata.
      {"malformed metadata",
       "{\"__metadata__\": {\"k\": \"v}}",
       0,
       kInvalid,
       {"in \"__metadata__\"", "unterminated string"}},
      {"metadata not an object",
       "{\"__metadata__\": [\"a\"]}",
       0,
       kInvalid,
       {"__metadata__", "must be an object"}},
      {"metadata value an integer",
       "{\"__metadata__\": {\"epoch\": 3}}",
       0,
       kInvalid,
       {"'epoch'", "must be a string", "an integer"}},
      {"metadata value an object",
       "{\"__metadata__\": {\"cfg\": {}}}",
       0,
       kInvalid,
       {"'cfg'", "must be a string", "an object"}},
      {"duplicate metadata key",
       "{\"__metadata__\": {\"k\": \"a\", \"k\": \"b\"}}",
       0,
       kInvalid,
       {"duplicate metadata key 'k'"}},
      {"two metadata entries",
       "{\"__metadata__\": {}, \"__metadata__\": {}}",
       0,
       kInvalid,
       {"duplicate \"__metadata__\""}},
  };
  for (const BadHeader &c : cases) {
    SCOPED_TRACE(absl::StrCat(c.rule, ": ", c.json));
    absl::StatusOr<SafetensorsFile> file =
        SafetensorsFile::fromBuffer(withHeader(c.json, c.dataBytes), "bad.st");
    ASSERT_FALSE(file.ok());
    EXPECT_EQ(file.status().code(), c.code) << file.status();
    std::string message(file.status().message());
    EXPECT_NE(message.find("safetensors file 'bad.st'"), std::string::npos)
        << message;
    for (const std::string &mention : c.mentions)
      EXPECT_NE(message.find(mention), std::string::npos)
          << "missing \"" << mention << "\" in: " << message;
  }
}

TEST(SafetensorsTest, RejectsBadHeaderLengths) {
  for (size_t n = 0; n < 8; ++n) {
    absl::StatusOr<SafetensorsFile> file =
        SafetensorsFile::fromBuffer(std::vector<uint8_t>(n, 0x7B), "short");
    ASSERT_FALSE(file.ok());
    EXPECT_EQ(file.status().code(), kDataLoss);
    EXPECT_NE(file.status().message().find(absl::StrCat("is ", n, " bytes")),
              std::string_view::npos)
        << file.status();
  }
  struct Case {
    uint64_t length;
    absl::StatusCode code;
    std::string mention;
  };
  for (const Case &c : {Case{3, kDataLoss, "runs past the end"},
                        Case{100, kDataLoss, "runs past the end"},
                        Case{100'000'001, kInvalid, "over the limit"},
                        Case{~uint64_t{0}, kInvalid, "over the limit"}}) {
    SCOPED_TRACE(c.length);
    absl::StatusOr<SafetensorsFile> file =
        SafetensorsFile::fromBuffer(withLength(c.length, "{}"), "length");
    ASSERT_FALSE(file.ok());
    EXPECT_EQ(file.status().code(), c.code) << file.status();
    EXPECT_NE(file.status().message().find(c.mention), std::string_view::npos)
        << file.status();
    EXPECT_NE(file.status().message().find(absl::StrCat(c.length)),
              std::string_view::npos)
        << file.status();
  }
}

//===----------------------------------------------------------------------===//
// Paths and the writer's own checks
//===----------------------------------------------------------------------===//

TEST(SafetensorsTest, PathErrors) {
  std::string missing = tempPath("does_not_exist");
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::open(missing);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(file.status().message().find(missing), std::string_view::npos)
      << file.status();

  std::string directory = ::testing::TempDir();
  file = SafetensorsFile::open(directory);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(file.status().message().find("is a directory"),
            std::string_view::npos)
      << file.status();

  SafetensorsWriter writer;
  absl::Status written = writer.write(directory);
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.message().find(directory), std::string_view::npos)
      << written;
}

TEST(SafetensorsTest, WriterRejectsMisuse) {
  const float values[2] = {1.5f, -2.0f};
  struct Case {
    const char *what;
    std::string name;
    std::vector<int64_t> shape;
    size_t sizeBytes;
    std::string mention;
  };
  for (const Case &c : {Case{"size", "w", {3}, 8, "needs 12 bytes, got 8"},
                        Case{"negative", "w", {-2}, 8, "negative"},
                        Case{"reserved", "__metadata__", {2}, 8, "reserved"},
                        Case{"not UTF-8", "\xff", {2}, 8, "UTF-8"},
                        Case{"duplicate", "dup", {2}, 8, "added twice"}}) {
    SCOPED_TRACE(c.what);
    SafetensorsWriter writer;
    writer.add("dup", DType::F32, {2}, values, sizeof(values));
    ASSERT_TRUE(writer.status().ok());
    writer.add(c.name, DType::F32, c.shape, values, c.sizeBytes);
    ASSERT_FALSE(writer.status().ok());
    EXPECT_NE(writer.status().message().find(c.mention), std::string_view::npos)
        << writer.status();
    EXPECT_TRUE(writer.serialize().empty());
    std::string path = tempPath("misuse");
    EXPECT_EQ(writer.write(path), writer.status());
    EXPECT_NE(::access(path.c_str(), F_OK), 0) << "write() created " << path;
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// ShardedSafetensors
//===----------------------------------------------------------------------===//

namespace {

void writeText(const std::string &path, const std::string &text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

/// A model directory with two shards and an index mapping each tensor.
std::string makeShardedModel(const std::string &stem) {
  std::string dir = absl::StrCat(::testing::TempDir(), "hymir_sharded_", stem,
                                 "_", ::getpid());
  std::string command = "rm -rf '" + dir + "' && mkdir -p '" + dir + "'";
  EXPECT_EQ(std::system(command.c_str()), 0);
  std::vector<float> a(6, 1.5f), b(4, -2.0f);
  SafetensorsWriter first, second;
  first.add("a", DType::F32, {2, 3}, a.data(), a.size() * 4);
  second.add("b", DType::F32, {4}, b.data(), b.size() * 4);
  EXPECT_TRUE(first.write(dir + "/one.safetensors").ok());
  EXPECT_TRUE(second.write(dir + "/two.safetensors").ok());
  writeText(dir + "/model.safetensors.index.json",
            R"({"metadata": {"total_size": 40}, "weight_map": )"
            R"({"a": "one.safetensors", "b": "two.safetensors"}})");
  return dir;
}

} // namespace

TEST(SafetensorsTest, ShardsByIndexOrDirectory) {
  std::string dir = makeShardedModel("ok");
  for (const std::string &path : {dir + "/model.safetensors.index.json", dir}) {
    SCOPED_TRACE(path);
    absl::StatusOr<ShardedSafetensors> w = ShardedSafetensors::open(path);
    ASSERT_TRUE(w.ok()) << w.status();
    EXPECT_EQ(w->files().size(), 2u);
    ASSERT_NE(w->find("b"), nullptr);
    EXPECT_EQ(w->find("b")->shape, (std::vector<int64_t>{4}));
    EXPECT_EQ(w->find("c"), nullptr);
    absl::StatusOr<TensorView> a = w->get("a", DType::F32, {2, 3});
    ASSERT_TRUE(a.ok()) << a.status();
    float first = 0;
    std::memcpy(&first, a->data, 4);
    EXPECT_EQ(first, 1.5f);
    // A shape mismatch names the shard, a missing tensor the index.
    absl::StatusOr<TensorView> bad = w->get("b", DType::F32, {5});
    EXPECT_NE(std::string(bad.status().message()).find("two.safetensors"),
              std::string::npos)
        << bad.status();
    absl::StatusOr<TensorView> none = w->get("c", DType::F32, {1});
    EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
    EXPECT_NE(std::string(none.status().message())
                  .find("no tensor 'c' (expected F32 [1]); its weight map "
                        "names 2 tensors"),
              std::string::npos)
        << none.status();
  }
  // A single file opens as one file; a directory with model.safetensors
  // takes it before any index.
  absl::StatusOr<ShardedSafetensors> one =
      ShardedSafetensors::open(dir + "/one.safetensors");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_NE(one->find("a"), nullptr);
  EXPECT_EQ(one->find("b"), nullptr);
  std::system(
      ("cp '" + dir + "/two.safetensors' '" + dir + "/model.safetensors'")
          .c_str());
  absl::StatusOr<ShardedSafetensors> preferred = ShardedSafetensors::open(dir);
  ASSERT_TRUE(preferred.ok()) << preferred.status();
  EXPECT_EQ(preferred->files().size(), 1u);
}

TEST(SafetensorsTest, ShardIndexErrors) {
  std::string dir = makeShardedModel("bad");
  std::string index = dir + "/model.safetensors.index.json";
  struct Case {
    std::string text, message;
  };
  std::vector<Case> cases = {
      {"[1, 2]", "': not a JSON object"},
      {"{\"weight_map\": ", "': not a JSON object"},
      {"{\"metadata\": {}}", "': no \"weight_map\" object"},
      {R"({"weight_map": {"a": "../one.safetensors"}})",
       "\"weight_map\" maps 'a' to \"../one.safetensors\", which is not the "
       "name of a file beside the index"},
      {R"({"weight_map": {"a": 7}})",
       "\"weight_map\" maps 'a' to 7, which is not the name of a file beside "
       "the index"},
      {R"({"weight_map": {"a": "two.safetensors"}})",
       "\"weight_map\" maps 'a' to two.safetensors, which has no such tensor"},
      {R"({"weight_map": {"a": "three.safetensors"}})",
       "cannot open safetensors file"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.text);
    writeText(index, c.text);
    absl::StatusOr<ShardedSafetensors> w = ShardedSafetensors::open(index);
    ASSERT_FALSE(w.ok());
    EXPECT_NE(std::string(w.status().message()).find(c.message),
              std::string::npos)
        << w.status();
  }
  std::system(("rm -f '" + index + "'").c_str());
  absl::StatusOr<ShardedSafetensors> empty = ShardedSafetensors::open(dir);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(empty.status().message())
                .find("no model.safetensors or model.safetensors.index.json"),
            std::string::npos)
      << empty.status();
}
