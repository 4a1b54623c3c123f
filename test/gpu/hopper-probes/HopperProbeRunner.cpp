//===- HopperProbeRunner.cpp - the Hopper pipeline probes on a GPU --------===//
//
// hymir-hopper-probes CUBIN [PIECE...]: loads the probe kernels that
// hymir-test-hopper-probes generated (assembled by ptxas for sm_90a),
// launches each on the runtime's cuda driver with tensor maps encoded by the
// runtime's own helper (tensorMapEncoding, then cuTensorMapEncodeTiled), and
// compares its output with a host reference on seeded random bf16 data.
// Prints one line per piece, "PASS <piece>: ..." or "FAIL <piece>: ...";
// exits 1 if any failed, 77 (skipped) when no cuda device can be used, 2 on
// bad arguments. Pieces: tma, ring, setmaxnreg, wgmma (default: all).
// Shapes: hymir/Codegen/HopperProbes.h; docs/architecture.md says what each
// probe shows.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"
#include "TensorMap.h"

#include "hymir/Codegen/HopperProbes.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace hymir;
namespace probes = hymir::hopper_probes;

namespace {

uint16_t toBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits += 0x7FFF + ((bits >> 16) & 1); // round to nearest even
  return static_cast<uint16_t>(bits >> 16);
}
float fromBf16(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float x;
  std::memcpy(&x, &bits, 4);
  return x;
}

/// `n` bf16 uniform in [-1, 1) from `rng`.
std::vector<uint16_t> randomBf16(size_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<uint16_t> v(n);
  for (uint16_t &x : v)
    x = toBf16(u(rng));
  return v;
}

/// The kernel parameter words of an identity-layout memref (allocated and
/// aligned pointer, offset 0, sizes, strides), as hymir's kernels take them.
void memrefWords(std::vector<uint64_t> &words, const void *data,
                 std::vector<int64_t> sizes) {
  uint64_t ptr = reinterpret_cast<uint64_t>(data);
  words.push_back(ptr);
  words.push_back(ptr);
  words.push_back(0);
  for (int64_t s : sizes)
    words.push_back(static_cast<uint64_t>(s));
  std::vector<int64_t> strides(sizes.size(), 1);
  for (size_t d = sizes.size(); d-- > 1;)
    strides[d - 1] = strides[d] * sizes[d];
  for (int64_t s : strides)
    words.push_back(static_cast<uint64_t>(s));
}

class Probes {
public:
  Probes(Driver &driver, KernelHandle (&kernels)[4])
      : driver(driver), kernels(kernels) {}

  /// A device copy of `host`.
  template <typename T>
  absl::StatusOr<std::unique_ptr<DeviceBuffer>>
  upload(const std::vector<T> &host) {
    auto buffer = driver.allocate(host.size() * sizeof(T));
    if (!buffer.ok())
      return buffer.status();
    if (absl::Status s = driver.copyToDevice((*buffer)->data(), host.data(),
                                             host.size() * sizeof(T));
        !s.ok())
      return s;
    return buffer;
  }
  template <typename T>
  absl::Status download(std::vector<T> &host, const DeviceBuffer &buffer) {
    if (absl::Status s = driver.synchronize(); !s.ok())
      return s;
    return driver.copyToHost(host.data(), buffer.data(),
                             host.size() * sizeof(T));
  }

  /// A tensor map of the [rows, cols] bf16 tensor at `source` with a [boxRows,
  /// 64] box and the 128-byte swizzle, encoded as the runtime encodes a plan
  /// step's, in device memory.
  absl::StatusOr<std::unique_ptr<DeviceBuffer>>
  tensorMap(const DeviceBuffer &source, int64_t rows, int64_t cols,
            uint32_t boxRows) {
    TensorMapDesc step;
    step.dtype = DType::BF16;
    step.box = {boxRows, static_cast<uint32_t>(probes::kTileCols)};
    step.swizzle = 128;
    auto encoding =
        tensorMapEncoding(step, reinterpret_cast<uint64_t>(source.data()),
                          {rows, cols}, {cols, 1});
    if (!encoding.ok())
      return encoding.status();
    std::array<uint8_t, kTensorMapBytes> bytes;
    if (absl::Status s = driver.encodeTensorMap(*encoding, bytes); !s.ok())
      return s;
    return upload(std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }

  absl::Status launch(int kernel, int64_t gridX, int64_t gridY, int64_t threads,
                      int64_t shared, std::vector<uint64_t> &words) {
    return driver.launch(kernels[kernel], {gridX, gridY, 1},
                         {static_cast<uint32_t>(threads), 1, 1},
                         static_cast<uint32_t>(shared), words);
  }

  /// Compares `got` with `want`: |got - want| <= tol (1 + |want|).
  static std::string compare(const std::vector<float> &got,
                             const std::vector<float> &want, double tol,
                             bool &ok) {
    size_t bad = 0, first = got.size();
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      double err = std::fabs(double(got[i]) - double(want[i]));
      worst = std::max(worst, err);
      if (!(err <= tol * (1 + std::fabs(double(want[i]))))) {
        if (!bad)
          first = i;
        ++bad;
      }
    }
    ok = bad == 0;
    std::string text =
        absl::StrFormat("%d values, max abs error %.3g", got.size(), worst);
    if (bad)
      absl::StrAppendFormat(&text,
                            ", %d outside %.0e (first at %d: got %g, want %g)",
                            bad, tol, first, got[first], want[first]);
    return text;
  }

  absl::StatusOr<std::string> tma(bool &ok);
  absl::StatusOr<std::string> ring(bool &ok);
  absl::StatusOr<std::string> setmaxnreg(bool &ok);
  absl::StatusOr<std::string> wgmma(bool &ok);

  std::mt19937 rng{20261203};

private:
  Driver &driver;
  KernelHandle (&kernels)[4];
};

#define ASSIGN_OR_RETURN(lhs, expr)                                            \
  auto lhs##OrError = (expr);                                                  \
  if (!lhs##OrError.ok())                                                      \
    return lhs##OrError.status();                                              \
  auto &lhs = *lhs##OrError;
#define RETURN_IF_ERROR(expr)                                                  \
  if (absl::Status s = (expr); !s.ok())                                        \
    return s;

absl::StatusOr<std::string> Probes::tma(bool &ok) {
  const int64_t rows = probes::kTmaRows, cols = probes::kTmaCols;
  const int64_t g = probes::kTmaGrid, tr = probes::kTileRows,
                tc = probes::kTileCols;
  std::vector<uint16_t> src = randomBf16(rows * cols, rng);
  ASSIGN_OR_RETURN(source, upload(src));
  ASSIGN_OR_RETURN(map, tensorMap(*source, rows, cols, tr));
  // A NaN pattern everywhere first, so a zero fill that did not happen shows.
  std::vector<uint16_t> out(g * g * tr * tc, 0x7FC1);
  ASSIGN_OR_RETURN(result, upload(out));
  std::vector<uint64_t> words;
  memrefWords(words, map->data(), {16});
  memrefWords(words, result->data(), {g, g, tr, tc});
  RETURN_IF_ERROR(
      launch(0, g, g, probes::kTmaThreads, probes::kTmaShared, words));
  RETURN_IF_ERROR(download(out, *result));
  size_t wrong = 0, filled = 0;
  for (int64_t y = 0; y < g; ++y)
    for (int64_t x = 0; x < g; ++x)
      for (int64_t r = 0; r < tr; ++r)
        for (int64_t c = 0; c < tc; ++c) {
          int64_t R = y * tr + r, C = x * tc + c;
          bool inside = R < rows && C < cols;
          uint16_t want = inside ? src[R * cols + C] : 0;
          filled += !inside;
          wrong += out[((y * g + x) * tr + r) * tc + c] != want;
        }
  ok = wrong == 0;
  return absl::StrFormat("%d boxes of %dx%d from a %dx%d bf16 tensor, %d "
                         "elements zero-filled past its edges, %d wrong",
                         g * g, tr, tc, rows, cols, filled, wrong);
}

/// The ring probes' source: `tiles` tiles of 64 x 64 bf16 stacked by rows.
absl::StatusOr<std::string> Probes::ring(bool &ok) {
  const int64_t tiles = probes::kRingTiles, tr = probes::kTileRows,
                tc = probes::kTileCols;
  std::vector<uint16_t> src = randomBf16(tiles * tr * tc, rng);
  ASSIGN_OR_RETURN(source, upload(src));
  ASSIGN_OR_RETURN(map, tensorMap(*source, tiles * tr, tc, tr));
  std::vector<float> out(tiles * 128, NAN);
  ASSIGN_OR_RETURN(result, upload(out));
  std::vector<uint64_t> words;
  memrefWords(words, map->data(), {16});
  memrefWords(words, result->data(), {tiles, 128});
  RETURN_IF_ERROR(
      launch(1, 1, 1, probes::kRingThreads, probes::kRingShared, words));
  RETURN_IF_ERROR(download(out, *result));
  std::vector<float> want(out.size());
  for (int64_t i = 0; i < tiles; ++i)
    for (int64_t t = 0; t < 128; ++t) {
      float sum = 0;
      for (int64_t c = 0; c < 32; ++c)
        sum += fromBf16(src[(i * tr + t / 2) * tc + 32 * (t % 2) + c]);
      want[i * 128 + t] = sum;
    }
  std::string text = compare(out, want, 1e-5, ok);
  return absl::StrFormat(
      "%d tiles through %d slots (parities wrap %d times): %s", tiles,
      probes::kRingStages, (tiles - 1) / probes::kRingStages, text);
}

absl::StatusOr<std::string> Probes::setmaxnreg(bool &ok) {
  const int64_t tiles = probes::kRegTiles, tr = probes::kTileRows,
                tc = probes::kTileCols;
  std::vector<uint16_t> src = randomBf16(tiles * tr * tc, rng);
  ASSIGN_OR_RETURN(source, upload(src));
  ASSIGN_OR_RETURN(map, tensorMap(*source, tiles * tr, tc, tr));
  std::vector<float> out(2 * 128 * tc, NAN);
  ASSIGN_OR_RETURN(result, upload(out));
  std::vector<uint64_t> words;
  memrefWords(words, map->data(), {16});
  memrefWords(words, result->data(), {2, 128, tc});
  RETURN_IF_ERROR(
      launch(2, 1, 1, probes::kRegThreads, probes::kRegShared, words));
  RETURN_IF_ERROR(download(out, *result));
  std::vector<float> want(out.size());
  for (int64_t w = 0; w < 2; ++w)
    for (int64_t t = 0; t < 128; ++t)
      for (int64_t j = 0; j < tc; ++j) {
        float sum = 0;
        for (int64_t i = 0; i < tiles; ++i)
          sum += fromBf16(src[(i * tr + t % tr) * tc + j]);
        want[(w * 128 + t) * tc + j] = sum * float(1 + t / tr + 2 * w);
      }
  std::string text = compare(out, want, 1e-5, ok);
  return absl::StrFormat("producer setmaxnreg.dec %d, 2 consumer warpgroups "
                         "setmaxnreg.inc %d with 64 accumulators each: %s",
                         probes::kRegProducer, probes::kRegConsumer, text);
}

absl::StatusOr<std::string> Probes::wgmma(bool &ok) {
  const int64_t m = probes::kWgmmaM, n = probes::kWgmmaN, k = probes::kWgmmaK;
  std::vector<uint16_t> a = randomBf16(m * k, rng), b = randomBf16(n * k, rng);
  ASSIGN_OR_RETURN(aSource, upload(a));
  ASSIGN_OR_RETURN(bSource, upload(b));
  ASSIGN_OR_RETURN(aMap, tensorMap(*aSource, m, k, m));
  ASSIGN_OR_RETURN(bMap, tensorMap(*bSource, n, k, n));
  std::vector<float> out(2 * m * n, NAN);
  ASSIGN_OR_RETURN(result, upload(out));
  std::vector<uint64_t> words;
  memrefWords(words, aMap->data(), {16});
  memrefWords(words, bMap->data(), {16});
  memrefWords(words, result->data(), {2, m, n});
  RETURN_IF_ERROR(
      launch(3, 1, 1, probes::kWgmmaThreads, probes::kWgmmaShared, words));
  RETURN_IF_ERROR(download(out, *result));
  // In double: the products of bf16 are exact in f32, so the kernel's only
  // error is its f32 accumulation (the tensor cores' adds need not round to
  // nearest: 1e-4, where a wrong layout or swizzle is off by O(1)).
  std::vector<float> want(out.size());
  for (int64_t which = 0; which < 2; ++which)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (int64_t kk = 0; kk < (which ? k : 16); ++kk)
          sum += double(fromBf16(a[i * k + kk])) * fromBf16(b[j * k + kk]);
        want[(which * m + i) * n + j] = float(sum);
      }
  std::string text = compare(out, want, 1e-4, ok);
  return absl::StrFormat("m64n%dk16 x 1 (K 16) and x %d (K %d), both operands "
                         "in 128-byte-swizzled shared memory: %s",
                         n, k / 16, k, text);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help")) {
    std::fprintf(stderr, "usage: hymir-hopper-probes CUBIN [tma|ring|"
                         "setmaxnreg|wgmma...]\n");
    return argc < 2 ? 2 : 0;
  }
  std::vector<std::string> pieces = {"tma", "ring", "setmaxnreg", "wgmma"};
  std::vector<std::string> wanted(argv + 2, argv + argc);
  for (const std::string &w : wanted)
    if (std::find(pieces.begin(), pieces.end(), w) == pieces.end()) {
      std::fprintf(stderr, "hymir-hopper-probes: unknown piece '%s'\n",
                   w.c_str());
      return 2;
    }
  if (wanted.empty())
    wanted = pieces;

  std::ifstream file(argv[1], std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "hymir-hopper-probes: cannot read %s\n", argv[1]);
    return 2;
  }
  CodeObjectDesc code;
  code.format = CodeFormat::Cubin;
  code.data.assign(std::istreambuf_iterator<char>(file), {});

  auto driver = createCudaDriver(0);
  if (!driver.ok()) {
    std::printf("SKIP hopper-probes: no usable cuda device: %s\n",
                std::string(driver.status().message()).c_str());
    return 77;
  }
  auto module = (*driver)->loadCode(code, argv[1]);
  if (!module.ok()) {
    std::printf("FAIL hopper-probes: loading %s: %s\n", argv[1],
                std::string(module.status().message()).c_str());
    return 1;
  }
  KernelHandle kernels[4] = {};
  const char *symbols[4] = {probes::kTmaKernel, probes::kRingKernel,
                            probes::kRegKernel, probes::kWgmmaKernel};
  for (int i = 0; i < 4; ++i) {
    auto kernel = (*driver)->kernel(*module, symbols[i]);
    if (!kernel.ok()) {
      std::printf("FAIL hopper-probes: %s\n",
                  std::string(kernel.status().message()).c_str());
      return 1;
    }
    kernels[i] = *kernel;
  }
  Probes run(**driver, kernels);
  std::map<std::string, std::function<absl::StatusOr<std::string>(bool &)>>
      probe = {
          {"tma", [&](bool &ok) { return run.tma(ok); }},
          {"ring", [&](bool &ok) { return run.ring(ok); }},
          {"setmaxnreg", [&](bool &ok) { return run.setmaxnreg(ok); }},
          {"wgmma", [&](bool &ok) { return run.wgmma(ok); }},
      };
  int failures = 0;
  for (const std::string &piece : wanted) {
    bool ok = false;
    absl::StatusOr<std::string> text = probe[piece](ok);
    if (!text.ok()) {
      ok = false;
      text = absl::StrCat("error: ", text.status().message());
    }
    std::printf("%s %s: %s\n", ok ? "PASS" : "FAIL", piece.c_str(),
                text->c_str());
    std::fflush(stdout);
    failures += !ok;
  }
  return failures ? 1 : 0;
}
