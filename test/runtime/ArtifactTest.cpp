//===- ArtifactTest.cpp - .hymir writer, loader and verifier --------------===//
//
// Round trips of random modules (reference programs included) through the
// writer and the loader; every truncation and byte flip of a small artifact
// (and a sample for a larger one) must be rejected unless it leaves the
// module intact; one case per header, checksum and semantic rule, each
// checking its message; loading from bad paths. Random content is fresh on
// every run: the seed is printed on failure and HYMIR_TEST_SEED repeats it.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"
#include "hymir/Runtime/ArtifactWriter.h"
#include "hymir/Runtime/Reference.h"
#include "hymir/Runtime/artifact_generated.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

using namespace hymir;

namespace {

namespace ar = hymir::artifact;
namespace fb = flatbuffers;

uint64_t testSeed() {
  if (const char *env = std::getenv("HYMIR_TEST_SEED"))
    return std::strtoull(env, nullptr, 0);
  std::random_device device;
  return (uint64_t{device()} << 32) | device();
}

::testing::AssertionResult startsWith(absl::string_view text,
                                      absl::string_view prefix) {
  if (text.substr(0, prefix.size()) == prefix)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\" does not start with \"" << prefix << "\"";
}

::testing::AssertionResult contains(absl::string_view text,
                                    absl::string_view part) {
  if (text.find(part) != absl::string_view::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\" does not contain \"" << part << "\"";
}

#define SEED_TRACE(seed)                                                       \
  SCOPED_TRACE(::testing::Message()                                            \
               << "seed " << (seed) << " (HYMIR_TEST_SEED=" << (seed)          \
               << " repeats it)")

class Random {
public:
  explicit Random(uint64_t seed) : gen(seed) {}

  int64_t range(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen);
  }
  size_t index(size_t n) { return static_cast<size_t>(range(0, n - 1)); }
  bool coin() { return range(0, 1) == 1; }
  DType dtype() { return static_cast<DType>(range(0, 6)); }
  std::vector<uint8_t> bytes(size_t n) {
    std::vector<uint8_t> out(n);
    for (uint8_t &b : out)
      b = static_cast<uint8_t>(range(0, 255));
    return out;
  }
  // A short random suffix, with characters a name might contain.
  std::string tag() {
    static const char kChars[] = "abcxyz019._- ";
    std::string out;
    for (int64_t i = range(1, 6); i > 0; --i)
      out += kChars[index(sizeof(kChars) - 1)];
    return out;
  }

  std::mt19937_64 gen;
};

SizeExprSpec divided(SizeExprSpec e, int64_t divisor) {
  e.divisor = divisor;
  return e;
}

KernelArgDesc tensorArg(RefDesc ref, DType dtype,
                        std::vector<SizeExprSpec> sizes,
                        std::vector<SizeExprSpec> strides) {
  KernelArgDesc a;
  a.isTensor = true;
  a.ref = std::move(ref);
  a.dtype = dtype;
  a.sizes = std::move(sizes);
  a.strides = std::move(strides);
  return a;
}

KernelArgDesc scalarArg(SizeExprSpec scalar) {
  KernelArgDesc a;
  a.scalar = std::move(scalar);
  return a;
}

//===----------------------------------------------------------------------===//
// Random valid modules
//===----------------------------------------------------------------------===//

// Any expression over the symbols; a third of them divide.
SizeExprSpec randomExpr(Random &r, size_t symbols) {
  SizeExprSpec e = SizeExprSpec::of(r.range(-1000, 1000));
  if (symbols > 0)
    for (int64_t i = r.range(0, 2); i > 0; --i)
      e.terms.emplace_back(static_cast<uint32_t>(r.index(symbols)),
                           r.range(-16, 16));
  if (r.range(0, 2) == 0)
    e.divisor = r.range(2, 256);
  return e;
}

// A dim: constant and non-negative, or symbol-based; sometimes divided.
SizeExprSpec randomDim(Random &r, size_t symbols) {
  SizeExprSpec e =
      symbols == 0 || r.coin()
          ? SizeExprSpec::of(r.range(0, 1024))
          : SizeExprSpec::ofSymbol(static_cast<uint32_t>(r.index(symbols)),
                                   r.range(1, 8), r.range(-8, 8));
  if (r.range(0, 3) == 0)
    e.divisor = r.range(2, 16);
  return e;
}

RefDesc randomRef(Random &r, const EntryDesc &e, size_t params) {
  std::vector<std::pair<StorageKind, size_t>> kinds = {
      {StorageKind::Input, e.inputs.size()},
      {StorageKind::Output, e.outputs.size()},
      {StorageKind::Param, params},
      {StorageKind::Buffer, e.buffers.size()},
      {StorageKind::Check, e.checks.size()}};
  kinds.erase(std::remove_if(kinds.begin(), kinds.end(),
                             [](const auto &k) { return k.second == 0; }),
              kinds.end());
  auto [kind, count] = kinds[r.index(kinds.size())];
  return {kind, static_cast<uint32_t>(r.index(count)),
          randomExpr(r, e.symbols.size())};
}

StepDesc randomStep(Random &r, int kind, const EntryDesc &e,
                    const ModuleDesc &m) {
  size_t nsym = e.symbols.size();
  if (kind == 0) {
    LaunchKernelDesc l;
    l.kernel = static_cast<uint32_t>(r.index(m.kernels.size()));
    for (int i = 0; i < 3; ++i)
      l.grid.push_back(randomExpr(r, nsym));
    int64_t bx = r.range(1, 1024), by = r.range(1, 1024 / bx),
            bz = r.range(1, 1024 / (bx * by));
    l.block = {static_cast<uint32_t>(bx), static_cast<uint32_t>(by),
               static_cast<uint32_t>(bz)};
    l.sharedMemoryBytes = static_cast<uint32_t>(r.range(0, 228 * 1024));
    if (nsym > 0 && r.coin()) { // a step chosen by the token count
      l.tokensAtLeast = r.range(0, 64);
      l.tokensAtMost = r.coin() ? -1 : l.tokensAtLeast + r.range(0, 64);
    }
    for (int64_t i = r.range(0, 6); i > 0; --i) {
      if (!r.coin()) {
        l.args.push_back(scalarArg(randomExpr(r, nsym)));
        continue;
      }
      KernelArgDesc a =
          tensorArg(randomRef(r, e, m.params.size()), r.dtype(), {}, {});
      for (int64_t d = r.range(0, 4); d > 0; --d) {
        a.sizes.push_back(randomDim(r, nsym));
        a.strides.push_back(randomExpr(r, nsym));
      }
      l.args.push_back(std::move(a));
    }
    return l;
  }
  if (kind == 1) {
    GemmDesc g;
    g.x = randomRef(r, e, m.params.size());
    g.w = randomRef(r, e, m.params.size());
    g.y = randomRef(r, e, m.params.size());
    g.m = randomExpr(r, nsym);
    g.n = r.range(1, 8192);
    g.k = r.range(1, 8192);
    g.dtype = r.dtype();
    g.outDtype = r.dtype();
    g.f32Precision = r.coin();
    return g;
  }
  if (kind == 3) {
    CollectiveDesc c;
    c.kind =
        r.coin() ? CollectiveKind::AllReduceSum : CollectiveKind::AllGather;
    c.src = randomRef(r, e, m.params.size());
    c.dst = randomRef(r, e, m.params.size());
    c.dtype = r.coin() ? DType::F32 : DType::BF16;
    c.elements = randomDim(r, nsym);
    return c;
  }
  CopyDesc c;
  c.src = randomRef(r, e, m.params.size());
  c.dst = randomRef(r, e, m.params.size());
  c.bytes = randomExpr(r, nsym);
  return c;
}

RefValueDesc randomValue(Random &r, bool tensor) {
  RefValueDesc v;
  v.kind = static_cast<RefValueKind>(r.range(0, tensor ? 1 : 2));
  if (v.kind != RefValueKind::Index)
    for (int64_t d = r.range(0, 4); d > 0; --d)
      v.shape.push_back(r.coin() ? kRefDynamicDim : r.range(0, 4096));
  return v;
}

// A structurally valid program for `e`: every input and a few params as
// arguments (in random order), ops over values defined before them with
// random attributes and constants (NaN included), one result per output.
RefProgramDesc randomProgram(Random &r, const EntryDesc &e,
                             const ModuleDesc &m) {
  RefProgramDesc p;
  std::vector<std::string> names;
  for (const TensorSpecDesc &t : e.inputs)
    names.push_back(t.name);
  for (const TensorSpecDesc &t : m.params)
    if (r.coin())
      names.push_back(t.name);
  std::shuffle(names.begin(), names.end(), r.gen);
  // Ids are handed out in a shuffled order, so they need not be ascending.
  size_t numOps = static_cast<size_t>(r.range(0, 6));
  std::vector<std::vector<size_t>> opResults(numOps);
  size_t numValues = names.size();
  for (auto &results : opResults)
    for (int64_t k = r.range(0, 3); k > 0; --k)
      results.push_back(numValues++);
  std::vector<uint32_t> ids(numValues);
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = static_cast<uint32_t>(i);
  std::shuffle(ids.begin(), ids.end(), r.gen);
  p.values.resize(numValues);
  std::vector<uint32_t> defined, tensors;
  auto define = [&](size_t slot, bool tensor) {
    uint32_t id = ids[slot];
    p.values[id] = randomValue(r, tensor);
    defined.push_back(id);
    if (p.values[id].kind != RefValueKind::Index)
      tensors.push_back(id);
    return id;
  };
  for (size_t i = 0; i < names.size(); ++i) {
    p.arguments.push_back(define(i, true));
    p.argumentNames.push_back(names[i]);
  }
  static const char *kNames[] = {"hymir.linear", "arith.addf",
                                 "tensor.extract_slice", "arith.constant",
                                 "some.op"};
  for (size_t i = 0; i < numOps; ++i) {
    RefOpDesc op;
    op.name = kNames[r.index(5)];
    for (int64_t k = r.range(0, 3); k > 0; --k)
      op.operands.push_back(defined[r.index(defined.size())]);
    for (size_t slot : opResults[i])
      op.results.push_back(define(slot, r.coin()));
    for (int64_t k = r.range(0, 2); k > 0; --k) {
      RefAttrDesc a{"attr" + r.tag(),
                    r.range(-5, 5),
                    static_cast<double>(r.range(-100, 100)) / 7,
                    {}};
      for (int64_t j = r.range(0, 3); j > 0; --j)
        a.ints.push_back(r.coin() ? kRefDynamic : r.range(-9, 9));
      op.attrs.push_back(std::move(a));
    }
    for (int64_t k = r.range(0, 3); k > 0; --k)
      op.data.push_back(r.coin() ? std::nan("") : r.range(-9, 9) / 3.0);
    for (int64_t k = r.range(0, 2); k > 0; --k)
      op.intData.push_back(r.range(-9, 9));
    p.ops.push_back(std::move(op));
  }
  if (!tensors.empty())
    for (size_t i = 0; i < e.outputs.size(); ++i)
      p.results.push_back(tensors[r.index(tensors.size())]);
  return p;
}

EntryDesc randomEntry(Random &r, std::string name, const ModuleDesc &m) {
  EntryDesc e;
  e.name = std::move(name);
  for (int64_t i = 0, n = r.range(1, 3); i < n; ++i) {
    TensorSpecDesc t{"in" + std::to_string(i) + "." + r.tag(), r.dtype(), {}};
    for (int64_t d = r.range(1, 3); d > 0; --d)
      t.shape.push_back(SizeExprSpec::of(r.range(1, 1024)));
    e.inputs.push_back(std::move(t));
  }
  for (int64_t j = 0, n = r.range(1, 2); j < n; ++j) {
    SymbolDesc s{"S" + std::to_string(j), 0, 0, r.range(1, 1 << 16)};
    s.input = static_cast<uint32_t>(r.index(e.inputs.size()));
    TensorSpecDesc &input = e.inputs[s.input];
    s.dim = static_cast<uint32_t>(r.index(input.shape.size()));
    input.shape[s.dim] = SizeExprSpec::ofSymbol(static_cast<uint32_t>(j));
    e.symbols.push_back(std::move(s));
  }
  for (int64_t i = 0, n = r.range(1, 2); i < n; ++i) {
    TensorSpecDesc t{"out" + std::to_string(i) + "." + r.tag(), r.dtype(), {}};
    for (int64_t d = r.range(0, 3); d > 0; --d)
      t.shape.push_back(randomDim(r, e.symbols.size()));
    e.outputs.push_back(std::move(t));
  }
  for (int64_t i = r.range(0, 4); i > 0; --i) {
    BufferSlotDesc b{static_cast<uint64_t>(r.range(0, 1 << 20)),
                     static_cast<uint64_t>(r.range(0, 1 << 20))};
    e.arenaBytes = std::max(e.arenaBytes, b.arenaOffset + b.sizeBytes);
    e.buffers.push_back(b);
  }
  e.arenaBytes += static_cast<uint64_t>(r.range(0, 4096));
  for (int64_t i = r.range(0, 2); i > 0; --i)
    e.checks.push_back({"hymir.op" + r.tag(), r.coin() ? "ids" + r.tag() : "",
                        "id" + r.tag(), r.coin() ? "g.mlir:1:" + r.tag() : ""});
  std::vector<int> kinds = {0, 1, 2, 3};
  for (int64_t i = r.range(0, 5); i > 0; --i)
    kinds.push_back(static_cast<int>(r.range(0, 3)));
  std::shuffle(kinds.begin(), kinds.end(), r.gen);
  for (int kind : kinds)
    e.plan.push_back(randomStep(r, kind, e, m));
  if (r.range(0, 3) != 0)
    e.reference = randomProgram(r, e, m);
  return e;
}

// Two entries, params, symbols, code objects of random bytes and every step
// kind.
ModuleDesc randomModule(Random &r) {
  ModuleDesc m;
  m.target = r.coin() ? Target::Cpu : Target::Cuda;
  if (m.target == Target::Cuda)
    m.chip = r.coin() ? "sm_90a" : "sm_80";
  m.deviceCount = static_cast<uint32_t>(r.range(1, 8));
  for (int64_t i = 0, n = r.range(1, 4); i < n; ++i) {
    TensorSpecDesc p{
        "layers." + std::to_string(i) + ".w" + r.tag(), r.dtype(), {}};
    for (int64_t d = r.range(0, 3); d > 0; --d)
      p.shape.push_back(SizeExprSpec::of(r.range(0, 4096)));
    if (!p.shape.empty() && r.coin()) { // split across the devices
      p.shardDim = static_cast<int32_t>(r.index(p.shape.size()));
      p.shape[p.shardDim] = SizeExprSpec::of(m.deviceCount * r.range(1, 512));
    }
    m.params.push_back(std::move(p));
  }
  for (int64_t i = r.range(1, 3); i > 0; --i) {
    CodeFormat format = m.target == Target::Cpu ? CodeFormat::HostSharedObject
                        : r.coin()              ? CodeFormat::Ptx
                                                : CodeFormat::Cubin;
    CodeObjectDesc code{
        format, r.bytes(static_cast<size_t>(r.range(1, 512))), {}};
    if (format == CodeFormat::Cubin && r.coin()) {
      code.ptxFallback = r.bytes(static_cast<size_t>(r.range(1, 64)));
      code.ptxFallback.push_back(0);
    }
    m.code.push_back(std::move(code));
  }
  for (int64_t i = 0, n = r.range(1, 4); i < n; ++i)
    m.kernels.push_back({"kernel" + std::to_string(i),
                         static_cast<uint32_t>(r.index(m.code.size())),
                         "hymir_kernel_" + std::to_string(i) + r.tag()});
  std::string tag = r.tag();
  m.entries.push_back(randomEntry(r, "forward" + tag, m));
  m.entries.push_back(randomEntry(r, "decode" + tag, m));
  m.producer = "hymir-compile test " + r.tag();
  return m;
}

// A fixed, valid module (only its code bytes are random) that each semantic
// case breaks in one place.
ModuleDesc baseModule(Random &r) {
  ModuleDesc m;
  m.target = Target::Cpu;
  m.params = {{"w", DType::BF16, {SizeExprSpec::of(64), SizeExprSpec::of(32)}},
              {"b", DType::F32, {SizeExprSpec::of(64)}}};
  m.code = {{CodeFormat::HostSharedObject, r.bytes(32), {}}};
  m.kernels = {{"k0", 0, "hymir_k0"}, {"k1", 0, "hymir_k1"}};
  m.producer = "hymir-compile test";

  EntryDesc f;
  f.name = "forward";
  SizeExprSpec t = SizeExprSpec::ofSymbol(0);
  // ceil(T / 128)
  SizeExprSpec blocks = divided(SizeExprSpec::ofSymbol(0, 1, 127), 128);
  f.inputs = {{"x", DType::BF16, {t, SizeExprSpec::of(32)}},
              {"pos", DType::I32, {t}}};
  f.outputs = {{"y", DType::BF16, {t, SizeExprSpec::of(64)}}};
  f.symbols = {{"T", 0, 0, 4096}};
  f.buffers = {{0, 1 << 20}, {1 << 20, 1 << 19}};
  f.arenaBytes = 1 << 21;
  LaunchKernelDesc l0;
  l0.kernel = 0;
  l0.grid = {blocks, SizeExprSpec::of(1), SizeExprSpec::of(1)};
  l0.block = {128, 1, 1};
  l0.args = {tensorArg({StorageKind::Input, 0, {}}, DType::BF16,
                       {t, SizeExprSpec::of(32)},
                       {SizeExprSpec::of(32), SizeExprSpec::of(1)}),
             tensorArg({StorageKind::Buffer, 0, {}}, DType::F32,
                       {t, SizeExprSpec::of(64)},
                       {SizeExprSpec::of(64), SizeExprSpec::of(1)}),
             scalarArg(t)};
  GemmDesc g;
  g.x = {StorageKind::Buffer, 0, {}};
  g.w = {StorageKind::Param, 0, {}};
  g.y = {StorageKind::Buffer, 1, {}};
  g.m = t;
  g.n = 64;
  g.k = 32;
  g.dtype = DType::BF16;
  g.outDtype = DType::F32;
  g.f32Precision = true;
  CopyDesc c;
  c.src = {StorageKind::Buffer, 1, {}};
  c.dst = {StorageKind::Output, 0, {}};
  c.bytes = SizeExprSpec::ofSymbol(0, 128);
  LaunchKernelDesc l1 = l0;
  l1.kernel = 1;
  l1.args = {tensorArg({StorageKind::Input, 1, SizeExprSpec::ofSymbol(0, 4)},
                       DType::I32, {t}, {SizeExprSpec::of(1)}),
             scalarArg(blocks)};
  f.plan = {l0, g, c, l1};
  // y = linear(x, w), with pos read but unused.
  RefOpDesc lin;
  lin.name = "hymir.linear";
  lin.operands = {0, 2};
  lin.results = {3};
  f.reference = RefProgramDesc{{{RefValueKind::Float, {kRefDynamicDim, 32}},
                                {RefValueKind::Int, {kRefDynamicDim}},
                                {RefValueKind::Float, {64, 32}},
                                {RefValueKind::Float, {kRefDynamicDim, 64}}},
                               {0, 1, 2},
                               {"x", "pos", "w"},
                               {3},
                               {lin}};

  EntryDesc d;
  d.name = "decode";
  d.inputs = {{"x", DType::BF16, {SizeExprSpec::of(1), SizeExprSpec::of(32)}}};
  d.outputs = {{"y", DType::F32, {SizeExprSpec::of(1), SizeExprSpec::of(64)}}};
  GemmDesc dg = g;
  dg.x = {StorageKind::Input, 0, {}};
  dg.y = {StorageKind::Output, 0, {}};
  dg.m = SizeExprSpec::of(1);
  d.plan = {dg};

  m.entries = {f, d};
  return m;
}

//===----------------------------------------------------------------------===//
// Raw FlatBuffers helpers
//===----------------------------------------------------------------------===//

std::vector<uint8_t> finished(const fb::FlatBufferBuilder &b) {
  return std::vector<uint8_t>(b.GetBufferPointer(),
                              b.GetBufferPointer() + b.GetSize());
}

// The outer table around `payload`, with the given version and checksum
// (the correct one unless given); no payload at all when `payload` is null.
std::vector<uint8_t> wrap(const std::vector<uint8_t> *payload,
                          uint32_t version = kArtifactSchemaVersion,
                          std::optional<uint64_t> checksum = std::nullopt) {
  fb::FlatBufferBuilder b;
  fb::Offset<fb::Vector<uint8_t>> vec;
  uint64_t sum = checksum.value_or(0);
  if (payload) {
    b.ForceVectorAlignment(payload->size(), 1, 8);
    vec = b.CreateVector(*payload);
    if (!checksum)
      sum = fnv1a64(*payload);
  }
  ar::FinishArtifactBuffer(b, ar::CreateArtifact(b, version, sum, vec));
  return finished(b);
}

std::vector<uint8_t> payloadOf(const std::vector<uint8_t> &artifact) {
  const auto *p = ar::GetArtifact(artifact.data())->payload();
  return std::vector<uint8_t>(p->begin(), p->end());
}

// [begin, end) of the payload bytes inside a well-formed artifact.
std::pair<size_t, size_t> payloadRange(const std::vector<uint8_t> &artifact) {
  const auto *p = ar::GetArtifact(artifact.data())->payload();
  size_t begin = static_cast<size_t>(p->data() - artifact.data());
  return {begin, begin + p->size()};
}

// A one-entry cpu module whose single plan step `makeStep` builds.
std::vector<uint8_t> rawArtifact(
    const std::function<fb::Offset<ar::PlanStep>(fb::FlatBufferBuilder &)>
        &makeStep) {
  fb::FlatBufferBuilder b;
  auto step = makeStep(b);
  std::vector<uint8_t> data = {0x7f, 'E', 'L', 'F'};
  std::vector<fb::Offset<ar::CodeObject>> code = {ar::CreateCodeObject(
      b, ar::CodeFormat::HostSharedObject, b.CreateVector(data))};
  std::vector<fb::Offset<ar::Kernel>> kernels = {
      ar::CreateKernelDirect(b, "k", 0, "k_sym")};
  auto spec = [&](const char *name) {
    std::vector<fb::Offset<ar::SizeExpr>> shape = {ar::CreateSizeExpr(b, 16)};
    return ar::CreateTensorSpecDirect(b, name, ar::DType::F32, &shape);
  };
  std::vector<fb::Offset<ar::TensorSpec>> inputs = {spec("x")};
  std::vector<fb::Offset<ar::TensorSpec>> outputs = {spec("y")};
  std::vector<fb::Offset<ar::BufferSlot>> buffers = {
      ar::CreateBufferSlot(b, 0, 64)};
  std::vector<fb::Offset<ar::PlanStep>> plan = {step};
  std::vector<fb::Offset<ar::Entry>> entries = {ar::CreateEntryDirect(
      b, "main", &inputs, &outputs, nullptr, &buffers, 64, &plan)};
  b.Finish(ar::CreateModuleDirect(b, ar::Target::Cpu, "", 1, nullptr, &code,
                                  &kernels, &entries, "raw"));
  std::vector<uint8_t> payload = finished(b);
  return wrap(&payload);
}

fb::Offset<ar::Ref> rawRef(fb::FlatBufferBuilder &b, ar::StorageKind kind,
                           uint32_t index, bool withOffset = true) {
  return ar::CreateRef(b, kind, index,
                       withOffset ? ar::CreateSizeExpr(b, 0) : 0);
}

// A launch of kernel 0 on a 1 x 1 x 1 grid of 1 x 1 x 1 blocks with `args`.
fb::Offset<ar::PlanStep>
rawLaunch(fb::FlatBufferBuilder &b,
          const std::vector<fb::Offset<ar::KernelArg>> &args) {
  std::vector<fb::Offset<ar::SizeExpr>> grid = {ar::CreateSizeExpr(b, 1),
                                                ar::CreateSizeExpr(b, 1),
                                                ar::CreateSizeExpr(b, 1)};
  std::vector<uint32_t> block = {1, 1, 1};
  auto l = ar::CreateLaunchKernelDirect(b, 0, &grid, &block, 0, &args);
  return ar::CreatePlanStep(b, ar::Step::LaunchKernel, l.Union());
}

// A rank-1 f32 tensor argument over input 0, with or without its ref.
fb::Offset<ar::TensorArg> rawTensorArg(fb::FlatBufferBuilder &b,
                                       bool withRef = true) {
  auto ref = withRef ? rawRef(b, ar::StorageKind::Input, 0) : 0;
  std::vector<fb::Offset<ar::SizeExpr>> sizes = {ar::CreateSizeExpr(b, 16)};
  std::vector<fb::Offset<ar::SizeExpr>> strides = {ar::CreateSizeExpr(b, 1)};
  return ar::CreateTensorArgDirect(b, ref, ar::DType::F32, &sizes, &strides);
}

absl::StatusOr<Artifact> loadBytes(const std::vector<uint8_t> &bytes,
                                   const std::string &label = "model.hymir") {
  return Artifact::fromBytes(bytes, label);
}

std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "/hymir-artifact-test-" +
         std::to_string(::getpid()) + "-" + name;
}

//===----------------------------------------------------------------------===//
// Round trips
//===----------------------------------------------------------------------===//

TEST(ArtifactTest, RoundTripRandomModules) {
  uint64_t seed = testSeed();
  SEED_TRACE(seed);
  Random r(seed);
  for (int iter = 0; iter < 25; ++iter) {
    SCOPED_TRACE(::testing::Message() << "module " << iter);
    ModuleDesc m = randomModule(r);
    ASSERT_TRUE(validateModule(m, "random").ok())
        << validateModule(m, "random");
    std::vector<uint8_t> bytes = serializeArtifact(m);
    ASSERT_EQ(std::string(reinterpret_cast<const char *>(bytes.data()) + 4, 4),
              "HYMR");
    EXPECT_EQ(payloadRange(bytes).first % 8, 0u) << "payload not aligned";
    EXPECT_EQ(ar::GetArtifact(bytes.data())->schema_version(),
              kArtifactSchemaVersion);
    absl::StatusOr<Artifact> a = loadBytes(bytes);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_TRUE(a->module() == m);
    EXPECT_EQ(a->label(), "model.hymir");
    // Serializing the loaded module gives the same bytes.
    EXPECT_EQ(serializeArtifact(a->module()), bytes);
  }
}

TEST(ArtifactTest, WriteAndLoadFile) {
  uint64_t seed = testSeed();
  SEED_TRACE(seed);
  Random r(seed);
  ModuleDesc m = randomModule(r);
  std::string path = tempPath("roundtrip.hymir");
  ASSERT_TRUE(writeArtifact(m, path).ok()) << writeArtifact(m, path);
  absl::StatusOr<Artifact> a = Artifact::load(path);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->module() == m);
  EXPECT_EQ(a->label(), path);
  ASSERT_NE(a->findEntry(m.entries[1].name), nullptr);
  EXPECT_TRUE(*a->findEntry(m.entries[1].name) == m.entries[1]);
  EXPECT_EQ(a->findEntry("no such entry"), nullptr);

  // Artifacts move; the module stays where it was.
  Artifact moved = *std::move(a);
  EXPECT_TRUE(moved.module() == m);
  std::remove(path.c_str());
}

TEST(ArtifactTest, WriterRefusesInvalidModule) {
  uint64_t seed = testSeed();
  SEED_TRACE(seed);
  Random r(seed);
  ModuleDesc m = baseModule(r);
  m.kernels[0].code = 5;
  std::string path = tempPath("invalid.hymir");
  absl::Status s = writeArtifact(m, path);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(startsWith(s.message(), path + ": kernel 'k0'"));
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "nothing should be written";

  absl::Status bad = writeArtifact(baseModule(r), "/nonexistent-dir/x.hymir");
  EXPECT_EQ(bad.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(
      startsWith(bad.message(), "/nonexistent-dir/x.hymir: cannot create"));
}

TEST(ArtifactTest, AbsentOptionalFieldsLoad) {
  // A module with nothing in it, and a Ref without an offset (which means 0).
  fb::FlatBufferBuilder b;
  b.Finish(ar::CreateModule(b));
  std::vector<uint8_t> payload = finished(b);
  absl::StatusOr<Artifact> empty = loadBytes(wrap(&payload));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->module() == ModuleDesc());

  absl::StatusOr<Artifact> a = loadBytes(rawArtifact([](auto &b) {
    auto c = ar::CreateCopy(b, rawRef(b, ar::StorageKind::Input, 0, false),
                            rawRef(b, ar::StorageKind::Output, 0, false),
                            ar::CreateSizeExpr(b, 64));
    return ar::CreatePlanStep(b, ar::Step::Copy, c.Union());
  }));
  ASSERT_TRUE(a.ok()) << a.status();
  const auto &copy = std::get<CopyDesc>(a->module().entries[0].plan[0]);
  EXPECT_TRUE(copy.src.offsetBytes == SizeExprSpec::of(0));
  EXPECT_EQ(copy.bytes.constant, 64);
  EXPECT_EQ(copy.bytes.divisor, 1);

  // A tensor argument with only its ref is a rank-0 f32 tensor; a SizeExpr
  // without a divisor divides by 1.
  a = loadBytes(rawArtifact([](auto &b) {
    auto tensor = ar::CreateTensorArg(b, rawRef(b, ar::StorageKind::Input, 0));
    return rawLaunch(b, {ar::CreateKernelArg(b, tensor),
                         ar::CreateKernelArg(b, 0, ar::CreateSizeExpr(b, -7))});
  }));
  ASSERT_TRUE(a.ok()) << a.status();
  const auto &launch =
      std::get<LaunchKernelDesc>(a->module().entries[0].plan[0]);
  ASSERT_EQ(launch.args.size(), 2u);
  EXPECT_TRUE(launch.args[0] ==
              tensorArg({StorageKind::Input, 0, {}}, DType::F32, {}, {}));
  EXPECT_TRUE(launch.args[1] == scalarArg(SizeExprSpec::of(-7)));
  EXPECT_EQ(launch.args[1].scalar.divisor, 1);
}

//===----------------------------------------------------------------------===//
// Corruption
//===----------------------------------------------------------------------===//

// Flips of bytes [from, to) by each mask, or `samples` random offsets when
// nonzero. A flip inside the payload must fail the checksum; elsewhere it
// must fail or leave the module as it was. Returns the harmless flips.
int checkFlips(const std::vector<uint8_t> &bytes, const ModuleDesc &original,
               Random &r, size_t samples) {
  auto [pBegin, pEnd] = payloadRange(bytes);
  int harmless = 0;
  for (size_t n = 0; n < (samples ? samples : bytes.size()); ++n) {
    size_t at = samples ? r.index(bytes.size()) : n;
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0xFF}}) {
      std::vector<uint8_t> copy = bytes;
      copy[at] ^= mask;
      absl::StatusOr<Artifact> a = loadBytes(copy, "flip.hymir");
      SCOPED_TRACE(::testing::Message()
                   << "byte " << at << " of " << bytes.size() << " ^ "
                   << int(mask) << ": " << a.status());
      if (at >= pBegin && at < pEnd) {
        EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
        EXPECT_TRUE(startsWith(a.status().message(),
                               "flip.hymir: checksum mismatch: the file is "
                               "corrupt"));
      } else if (a.ok()) {
        EXPECT_TRUE(a->module() == original);
        ++harmless;
      } else {
        EXPECT_TRUE(startsWith(a.status().message(), "flip.hymir: "));
      }
      if (at >= 4 && at < 8)
        EXPECT_TRUE(contains(a.status().message(), "not a hymir artifact"));
    }
  }
  return harmless;
}

// Truncations to each length in `lengths`: one that cuts into the payload
// must fail; a shorter file that still holds all of it may only load intact.
void checkTruncations(const std::vector<uint8_t> &bytes,
                      const ModuleDesc &original,
                      const std::vector<size_t> &lengths) {
  size_t pEnd = payloadRange(bytes).second;
  for (size_t len : lengths) {
    std::vector<uint8_t> copy(bytes.begin(), bytes.begin() + len);
    absl::StatusOr<Artifact> a = loadBytes(copy, "cut.hymir");
    SCOPED_TRACE(::testing::Message() << "truncated to " << len << " of "
                                      << bytes.size() << ": " << a.status());
    if (len < pEnd) {
      EXPECT_FALSE(a.ok());
    } else if (a.ok()) {
      EXPECT_TRUE(a->module() == original);
    }
    if (len < 8) {
      EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_TRUE(
          contains(a.status().message(), "cut.hymir: not a hymir artifact"));
    }
  }
}

TEST(ArtifactTest, EveryTruncationAndFlipOfSmallArtifact) {
  uint64_t seed = testSeed();
  SEED_TRACE(seed);
  Random r(seed);
  ModuleDesc m = baseModule(r);
  std::vector<uint8_t> bytes = serializeArtifact(m);
  ASSERT_TRUE(loadBytes(bytes).ok());
  std::vector<size_t> lengths(bytes.size());
  for (size_t i = 0; i < lengths.size(); ++i)
    lengths[i] = i;
  checkTruncations(bytes, m, lengths);
  int harmless = checkFlips(bytes, m, r, 0);
  auto [pBegin, pEnd] = payloadRange(bytes);
  RecordProperty("harmless_flips", harmless);
  std::cout << "[   info   ] " << bytes.size() << "-byte artifact, payload ["
            << pBegin << ", " << pEnd << "): " << harmless
            << " of the flips outside the payload left it loadable and "
               "unchanged\n";
}

TEST(ArtifactTest, SampledTruncationsAndFlipsOfLargerArtifact) {
  uint64_t seed = testSeed();
  SEED_TRACE(seed);
  Random r(seed);
  ModuleDesc m = randomModule(r);
  std::vector<uint8_t> bytes = serializeArtifact(m);
  ASSERT_TRUE(loadBytes(bytes).ok());
  std::vector<size_t> lengths = {0, 7, 8, bytes.size() - 1};
  for (int i = 0; i < 300; ++i)
    lengths.push_back(r.index(bytes.size()));
  checkTruncations(bytes, m, lengths);
  checkFlips(bytes, m, r, 1500);
}

TEST(ArtifactTest, WrongIdentifier) {
  Random r(testSeed());
  std::vector<uint8_t> bytes = serializeArtifact(baseModule(r));
  bytes[7] = 'X';
  absl::StatusOr<Artifact> a = loadBytes(bytes);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.status().message(), "model.hymir: not a hymir artifact (file "
                                  "identifier 'HYMX', expected 'HYMR')");

  std::string text = "{\"not\": \"an artifact\"}";
  a = loadBytes(std::vector<uint8_t>(text.begin(), text.end()), "x.json");
  EXPECT_TRUE(startsWith(a.status().message(), "x.json: not a hymir artifact"));
}

TEST(ArtifactTest, UnsupportedVersion) {
  Random r(testSeed());
  std::vector<uint8_t> payload = payloadOf(serializeArtifact(baseModule(r)));
  absl::StatusOr<Artifact> a = loadBytes(wrap(&payload, 4));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(a.status().message(),
            "model.hymir: artifact schema version 4 is not supported; this "
            "runtime reads version 3");
  // Versions 1 (no tied outputs) and 2 (no tensor maps) are refused too:
  // recompile.
  a = loadBytes(wrap(&payload, 1));
  EXPECT_EQ(a.status().message(),
            "model.hymir: artifact schema version 1 is not supported; this "
            "runtime reads version 3");
  a = loadBytes(wrap(&payload, 2));
  EXPECT_EQ(a.status().message(),
            "model.hymir: artifact schema version 2 is not supported; this "
            "runtime reads version 3");
  // The version is checked before the payload, whatever a newer one holds.
  std::vector<uint8_t> other = r.bytes(40);
  a = loadBytes(wrap(&other, 4, 12345));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ArtifactTest, ChecksumAltered) {
  Random r(testSeed());
  std::vector<uint8_t> payload = payloadOf(serializeArtifact(baseModule(r)));
  absl::StatusOr<Artifact> a = loadBytes(
      wrap(&payload, kArtifactSchemaVersion, fnv1a64(payload) ^ 0x100));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(
      startsWith(a.status().message(),
                 "model.hymir: checksum mismatch: the file is corrupt"));
}

TEST(ArtifactTest, FlipInsideCodeData) {
  uint64_t seed = testSeed();
  SEED_TRACE(seed);
  Random r(seed);
  ModuleDesc m = baseModule(r);
  std::vector<uint8_t> bytes = serializeArtifact(m);
  // Locate the code bytes through the (valid) buffer.
  const auto *payload = ar::GetArtifact(bytes.data())->payload();
  const auto *module = fb::GetRoot<ar::Module>(payload->data());
  const auto *data = module->code()->Get(0)->data();
  ASSERT_EQ(data->size(), m.code[0].data.size());
  size_t at =
      static_cast<size_t>(data->data() - bytes.data()) + r.index(data->size());
  bytes[at] ^= static_cast<uint8_t>(r.range(1, 255));
  absl::StatusOr<Artifact> a = loadBytes(bytes);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(
      startsWith(a.status().message(),
                 "model.hymir: checksum mismatch: the file is corrupt"));
}

TEST(ArtifactTest, MissingOrMalformedPayload) {
  absl::StatusOr<Artifact> a = loadBytes(wrap(nullptr));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(a.status().message(), "model.hymir: the artifact has no payload");

  // A payload that is not a Module but carries a matching checksum.
  Random r(testSeed());
  std::vector<uint8_t> junk = r.bytes(64);
  junk[0] = 0xF0; // a root offset far past the end
  junk[1] = junk[2] = junk[3] = 0x7F;
  a = loadBytes(wrap(&junk));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(startsWith(a.status().message(),
                         "model.hymir: the module payload is malformed"));
}

TEST(ArtifactTest, AliasedDataIsNotExpanded) {
  // 4000 kernels sharing one 4 KiB name: 16 MB to copy from 70 KB.
  fb::FlatBufferBuilder b;
  auto name = b.CreateString(std::string(4096, 'n'));
  auto symbol = b.CreateString("s");
  std::vector<fb::Offset<ar::Kernel>> kernels;
  for (int i = 0; i < 4000; ++i)
    kernels.push_back(ar::CreateKernel(b, name, 0, symbol));
  b.Finish(ar::CreateModuleDirect(b, ar::Target::Cpu, "", 1, nullptr, nullptr,
                                  &kernels));
  std::vector<uint8_t> payload = finished(b);
  absl::StatusOr<Artifact> a = loadBytes(wrap(&payload));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(contains(a.status().message(),
                       "refers to more string and vector data than it holds"));
}

TEST(ArtifactTest, AliasedReferenceDataIsNotExpanded) {
  // 2000 constants sharing one 8 KiB data vector: 16 MB from 30 KB.
  fb::FlatBufferBuilder b;
  std::vector<double> values(1024, 1.5);
  auto data = b.CreateVector(values);
  auto name = b.CreateString("arith.constant");
  std::vector<fb::Offset<ar::RefOp>> ops;
  for (int i = 0; i < 2000; ++i)
    ops.push_back(ar::CreateRefOp(b, name, 0, 0, 0, data));
  auto program =
      ar::CreateRefProgramDirect(b, nullptr, nullptr, nullptr, nullptr, &ops);
  std::vector<fb::Offset<ar::Entry>> entries = {ar::CreateEntryDirect(
      b, "main", nullptr, nullptr, nullptr, nullptr, 0, nullptr, program)};
  b.Finish(ar::CreateModuleDirect(b, ar::Target::Cpu, "", 1, nullptr, nullptr,
                                  nullptr, &entries));
  std::vector<uint8_t> payload = finished(b);
  absl::StatusOr<Artifact> a = loadBytes(wrap(&payload));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(contains(a.status().message(),
                       "refers to more string and vector data than it holds"));
}

TEST(ArtifactTest, ReferenceRoundTripAndEquality) {
  uint64_t seed = testSeed();
  SEED_TRACE(seed);
  Random r(seed);
  ModuleDesc m = baseModule(r);
  RefProgramDesc &p = *m.entries[0].reference;
  // A NaN constant and attributes of every field survive the round trip.
  RefOpDesc c;
  c.name = "arith.constant";
  c.results = {4};
  c.data = {std::nan(""), -0.0, 1e300};
  c.attrs = {{"a", -3, 2.5, {kRefDynamic, 0, 7}}, {"b", 0, 0, {}}};
  p.values.push_back({RefValueKind::Float, {3}});
  p.ops.push_back(c);
  ASSERT_TRUE(validateModule(m, "model.hymir").ok())
      << validateModule(m, "model.hymir");
  absl::StatusOr<Artifact> a = loadBytes(serializeArtifact(m));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->module() == m);
  ASSERT_TRUE(a->module().entries[0].reference.has_value());
  EXPECT_FALSE(a->module().entries[1].reference.has_value());
  const RefOpDesc &loaded = a->module().entries[0].reference->ops[1];
  EXPECT_TRUE(std::isnan(loaded.data[0]));
  EXPECT_TRUE(std::signbit(loaded.data[1]));
  EXPECT_EQ(loaded.attrs[0].ints[0], kRefDynamic);

  // Every field takes part in equality; -0.0 and 0.0 differ (bitwise).
  std::vector<std::function<void(RefProgramDesc &)>> changes = {
      [](RefProgramDesc &q) { q.values[0].kind = RefValueKind::Int; },
      [](RefProgramDesc &q) { q.values[0].shape[0] = 5; },
      [](RefProgramDesc &q) { q.arguments[0] = 1; },
      [](RefProgramDesc &q) { q.argumentNames[0] = "z"; },
      [](RefProgramDesc &q) { q.results.clear(); },
      [](RefProgramDesc &q) { q.ops[1].name = "arith.constant2"; },
      [](RefProgramDesc &q) { q.ops[0].operands[0] = 1; },
      [](RefProgramDesc &q) { q.ops[0].results[0] = 2; },
      [](RefProgramDesc &q) { q.ops[1].attrs[0].name = "c"; },
      [](RefProgramDesc &q) { q.ops[1].attrs[0].intValue = 3; },
      [](RefProgramDesc &q) { q.ops[1].attrs[0].floatValue = 2.25; },
      [](RefProgramDesc &q) { q.ops[1].attrs[0].ints.pop_back(); },
      [](RefProgramDesc &q) { q.ops[1].data[1] = 0.0; },
      [](RefProgramDesc &q) { q.ops[1].data[0] = -std::nan(""); },
      [](RefProgramDesc &q) { q.ops[1].intData = {1}; },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    RefProgramDesc changed = p;
    changes[i](changed);
    EXPECT_TRUE(changed != p) << "change " << i;
  }
  EntryDesc without = m.entries[0];
  without.reference.reset();
  EXPECT_TRUE(without != m.entries[0]);
}

//===----------------------------------------------------------------------===//
// Semantic rules
//===----------------------------------------------------------------------===//

struct SemanticCase {
  const char *name;
  std::function<void(ModuleDesc &)> mutate;
  std::string message; // after "model.hymir: "
};

LaunchKernelDesc &launch0(ModuleDesc &m) {
  return std::get<LaunchKernelDesc>(m.entries[0].plan[0]);
}
GemmDesc &gemm1(ModuleDesc &m) {
  return std::get<GemmDesc>(m.entries[0].plan[1]);
}
CopyDesc &copy2(ModuleDesc &m) {
  return std::get<CopyDesc>(m.entries[0].plan[2]);
}
RefProgramDesc &ref0(ModuleDesc &m) { return *m.entries[0].reference; }

std::vector<SemanticCase> semanticCases() {
  constexpr int64_t kBig = std::numeric_limits<int64_t>::max() / 2;
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr uint64_t kHuge = std::numeric_limits<uint64_t>::max();
  const std::string step0 = "entry 'forward' step 0 (launch) ";
  const std::string step1 = "entry 'forward' step 1 (gemm) ";
  const std::string step2 = "entry 'forward' step 2 (copy) ";
  const std::string ref = "entry 'forward' reference ";
  return {
      // Module header.
      {"target out of range",
       [](ModuleDesc &m) { m.target = static_cast<Target>(5); },
       "the module has target 5, which is neither cpu (0) nor cuda (1)"},
      {"no devices", [](ModuleDesc &m) { m.deviceCount = 0; },
       "the module has device count 0; it must be at least 1"},
      {"too many devices", [](ModuleDesc &m) { m.deviceCount = 4000000000u; },
       "the module has device count 4000000000; at most 64 are supported"},
      // Multi-device: split tensors and collectives.
      {"param split along a dim it lacks",
       [](ModuleDesc &m) { m.params[1].shardDim = 1; },
       "param 'b' has shard dim 1, outside its rank 1"},
      {"param split unevenly",
       [](ModuleDesc &m) {
         m.deviceCount = 3;
         m.params[0].shardDim = 0;
       },
       "param 'w' is sharded along dim 0, which must be static and a "
       "multiple of the device count 3"},
      {"input split along the token dim",
       [](ModuleDesc &m) {
         m.deviceCount = 2;
         m.entries[0].inputs[0].shardDim = 0;
       },
       "entry 'forward' input 'x' is sharded along dim 0, which must be "
       "static and a multiple of the device count 2"},
      {"output split",
       [](ModuleDesc &m) {
         m.deviceCount = 2;
         m.entries[0].outputs[0].shardDim = 1;
       },
       "entry 'forward' output 'y' has shard dim 1; only params, inputs "
       "and tied outputs can be sharded"},
      {"collective kind out of range",
       [](ModuleDesc &m) {
         CollectiveDesc c{static_cast<CollectiveKind>(7),
                          {StorageKind::Buffer, 0, {}},
                          {StorageKind::Buffer, 1, {}},
                          DType::F32,
                          SizeExprSpec::of(16)};
         m.entries[0].plan.push_back(c);
       },
       "entry 'forward' step 4 (collective) has collective kind 7, which is "
       "not a known kind"},
      {"collective of integers",
       [](ModuleDesc &m) {
         CollectiveDesc c{CollectiveKind::AllReduceSum,
                          {StorageKind::Buffer, 0, {}},
                          {StorageKind::Buffer, 1, {}},
                          DType::I32,
                          SizeExprSpec::of(16)};
         m.entries[0].plan.push_back(c);
       },
       "entry 'forward' step 4 (collective) has dtype I32; collectives move "
       "f32 or bf16"},
      {"collective into a missing buffer",
       [](ModuleDesc &m) {
         CollectiveDesc c{CollectiveKind::AllGather,
                          {StorageKind::Buffer, 0, {}},
                          {StorageKind::Buffer, 9, {}},
                          DType::BF16,
                          SizeExprSpec::of(16)};
         m.entries[0].plan.push_back(c);
       },
       "entry 'forward' step 4 (collective) dst refers to buffer 9, but the "
       "entry has 2 buffers"},
      {"cuda without chip",
       [](ModuleDesc &m) {
         m.target = Target::Cuda;
         m.code[0].format = CodeFormat::Ptx;
       },
       "the module targets cuda but names no chip (e.g. sm_90a)"},
      // Code objects and kernels.
      {"cpu with ptx",
       [](ModuleDesc &m) { m.code[0].format = CodeFormat::Ptx; },
       "code object 0 is ptx, but a cpu module needs a host shared object"},
      {"cuda with a shared object",
       [](ModuleDesc &m) {
         m.target = Target::Cuda;
         m.chip = "sm_90a";
       },
       "code object 0 is a host shared object, but a cuda module needs PTX or "
       "a cubin"},
      {"code format out of range",
       [](ModuleDesc &m) { m.code[0].format = static_cast<CodeFormat>(9); },
       "code object 0 has format 9, which is not a known code format"},
      {"empty code", [](ModuleDesc &m) { m.code[0].data.clear(); },
       "code object 0 is empty"},
      {"ptx fallback on a shared object",
       [](ModuleDesc &m) { m.code[0].ptxFallback = {'x', 0}; },
       "code object 0 is host shared object and carries a PTX fallback; only "
       "a cubin may"},
      {"ptx fallback without terminator",
       [](ModuleDesc &m) {
         m.target = Target::Cuda;
         m.chip = "sm_90a";
         m.code[0].format = CodeFormat::Cubin;
         m.code[0].ptxFallback = {'x'};
       },
       "code object 0 has a PTX fallback that is not NUL-terminated"},
      {"kernel code index", [](ModuleDesc &m) { m.kernels[1].code = 3; },
       "kernel 'k1' refers to code object 3, but the module has 1 code "
       "objects"},
      {"kernel without symbol",
       [](ModuleDesc &m) { m.kernels[0].symbol.clear(); },
       "kernel 'k0' names no symbol"},
      {"kernel without name", [](ModuleDesc &m) { m.kernels[1].name.clear(); },
       "kernel 1 has an empty name"},
      // Params.
      {"param dtype out of range",
       [](ModuleDesc &m) { m.params[0].dtype = static_cast<DType>(42); },
       "param 'w' has dtype 42, which is not a known dtype"},
      {"duplicate param", [](ModuleDesc &m) { m.params[1].name = "w"; },
       "the module's param 1 'w' has the same name as param 0"},
      {"empty param name", [](ModuleDesc &m) { m.params[0].name.clear(); },
       "the module's param 0 has an empty name"},
      {"param with a symbol",
       [](ModuleDesc &m) { m.params[1].shape[0] = SizeExprSpec::ofSymbol(0); },
       "param 'b' dim 0 refers to symbol 0, but params have no symbols (their "
       "shapes are static)"},
      {"negative param dim",
       [](ModuleDesc &m) { m.params[0].shape[1] = SizeExprSpec::of(-1); },
       "param 'w' dim 1 is -1; dims are non-negative"},
      {"param dim divisor",
       [](ModuleDesc &m) { m.params[0].shape[1].divisor = 0; },
       "param 'w' dim 1 has divisor 0; it must be at least 1"},
      {"negative param dim, floored",
       [](ModuleDesc &m) { m.params[1].shape[0] = {-1, {}, 1000}; },
       "param 'b' dim 0 is -1; dims are non-negative"},
      // Entries, their tensors and symbols.
      {"duplicate entry", [](ModuleDesc &m) { m.entries[1].name = "forward"; },
       "the module's entry 1 'forward' has the same name as entry 0"},
      {"empty entry name", [](ModuleDesc &m) { m.entries[0].name.clear(); },
       "the module's entry 0 has an empty name"},
      {"duplicate input",
       [](ModuleDesc &m) { m.entries[0].inputs[1].name = "x"; },
       "entry 'forward' input 1 'x' has the same name as input 0"},
      {"empty output name",
       [](ModuleDesc &m) { m.entries[1].outputs[0].name.clear(); },
       "entry 'decode' output 0 has an empty name"},
      {"duplicate output",
       [](ModuleDesc &m) {
         m.entries[1].outputs.push_back(m.entries[1].outputs[0]);
       },
       "entry 'decode' output 1 'y' has the same name as output 0"},
      {"input dtype out of range",
       [](ModuleDesc &m) {
         m.entries[0].inputs[0].dtype = static_cast<DType>(-1);
       },
       "entry 'forward' input 'x' has dtype -1, which is not a known dtype"},
      {"duplicate symbol",
       [](ModuleDesc &m) {
         m.entries[0].symbols.push_back(m.entries[0].symbols[0]);
       },
       "entry 'forward' symbol 1 'T' has the same name as symbol 0"},
      {"symbol input", [](ModuleDesc &m) { m.entries[0].symbols[0].input = 2; },
       "entry 'forward' symbol 'T' reads input 2, but the entry has 2 inputs"},
      {"symbol dim", [](ModuleDesc &m) { m.entries[0].symbols[0].dim = 2; },
       "entry 'forward' symbol 'T' reads dim 2 of input 'x', which has rank "
       "2"},
      {"symbol max", [](ModuleDesc &m) { m.entries[0].symbols[0].max = 0; },
       "entry 'forward' symbol 'T' has max 0; it must be positive"},
      {"shape symbol",
       [](ModuleDesc &m) {
         m.entries[0].inputs[1].shape[0] = SizeExprSpec::ofSymbol(1);
       },
       "entry 'forward' input 'pos' dim 0 refers to symbol 1, but the entry "
       "has 1 symbols"},
      {"symbol in a static entry",
       [](ModuleDesc &m) {
         m.entries[1].outputs[0].shape[0] = SizeExprSpec::ofSymbol(0);
       },
       "entry 'decode' output 'y' dim 0 refers to symbol 0, but the entry has "
       "0 symbols"},
      {"negative static dim",
       [](ModuleDesc &m) {
         m.entries[0].outputs[0].shape[1] = SizeExprSpec::of(-64);
       },
       "entry 'forward' output 'y' dim 1 is -64; dims are non-negative"},
      {"negative static dim, floored",
       [](ModuleDesc &m) { m.entries[0].outputs[0].shape[1] = {-65, {}, 2}; },
       "entry 'forward' output 'y' dim 1 is -33; dims are non-negative"},
      {"dim divisor INT64_MIN",
       [](ModuleDesc &m) { m.entries[0].outputs[0].shape[0].divisor = kMin; },
       "entry 'forward' output 'y' dim 0 has divisor -9223372036854775808; it "
       "must be at least 1"},
      {"symbol checked before divisor",
       [](ModuleDesc &m) {
         m.entries[0].outputs[0].shape[0] = {0, {{3, 1}}, 0};
       },
       "entry 'forward' output 'y' dim 0 refers to symbol 3, but the entry has "
       "1 symbols"},
      {"divisor checked before overflow",
       [](ModuleDesc &m) {
         m.entries[0].outputs[0].shape[0] =
             divided(SizeExprSpec::ofSymbol(0, kBig), -1);
       },
       "entry 'forward' output 'y' dim 0 has divisor -1; it must be at least "
       "1"},
      {"size expression overflow",
       [](ModuleDesc &m) {
         m.entries[0].outputs[0].shape[0] = SizeExprSpec::ofSymbol(0, kBig);
       },
       "entry 'forward' output 'y' dim 0 can overflow int64 for symbol values "
       "up to their maxima"},
      {"size expression overflow despite a divisor",
       [](ModuleDesc &m) {
         copy2(m).bytes = divided(SizeExprSpec::ofSymbol(0, kBig), kBig);
       },
       step2 + "bytes can overflow int64 for symbol values up to their "
               "maxima"},
      {"size expression INT64_MIN",
       [](ModuleDesc &m) {
         copy2(m).bytes.constant = std::numeric_limits<int64_t>::min();
       },
       step2 + "bytes can overflow int64 for symbol values up to their "
               "maxima"},
      // Buffers.
      {"buffer past the arena",
       [](ModuleDesc &m) { m.entries[0].buffers[1].sizeBytes = (1 << 20) + 1; },
       "entry 'forward' buffer 1 (offset 1048576, 1048577 bytes) does not fit "
       "in the arena of 2097152 bytes"},
      {"buffer wraps around",
       [](ModuleDesc &m) { m.entries[0].buffers[0] = {kHuge - 1, 2}; },
       "entry 'forward' buffer 0 (offset 18446744073709551614, 2 bytes) does "
       "not fit in the arena of 2097152 bytes"},
      // Launch steps.
      {"launch kernel index", [](ModuleDesc &m) { launch0(m).kernel = 7; },
       step0 + "refers to kernel 7, but the module has 2 kernels"},
      {"grid of two", [](ModuleDesc &m) { launch0(m).grid.pop_back(); },
       step0 + "has 2 grid dims, expected 3"},
      {"grid symbol",
       [](ModuleDesc &m) { launch0(m).grid[2] = SizeExprSpec::ofSymbol(3); },
       step0 + "grid[2] refers to symbol 3, but the entry has 1 symbols"},
      {"grid divisor", [](ModuleDesc &m) { launch0(m).grid[0].divisor = 0; },
       step0 + "grid[0] has divisor 0; it must be at least 1"},
      {"block of four", [](ModuleDesc &m) { launch0(m).block.push_back(1); },
       step0 + "has 4 block dims, expected 3"},
      {"guard range reversed",
       [](ModuleDesc &m) {
         launch0(m).tokensAtLeast = 17;
         launch0(m).tokensAtMost = 16;
       },
       step0 + "runs for token counts [17, 16], which is not a range"},
      {"guard below zero", [](ModuleDesc &m) { launch0(m).tokensAtLeast = -1; },
       step0 + "runs for token counts [-1, -1], which is not a range"},
      {"empty block", [](ModuleDesc &m) { launch0(m).block = {0, 4, 1}; },
       step0 + "has a block of 0 x 4 x 1 threads; a block holds 1 to 1024 "
               "threads"},
      {"block of 2048", [](ModuleDesc &m) { launch0(m).block = {32, 32, 2}; },
       step0 + "has a block of 32 x 32 x 2 threads; a block holds 1 to 1024 "
               "threads"},
      {"block product overflow",
       [](ModuleDesc &m) {
         launch0(m).block = {0x80000000u, 0x80000000u, 0x80000000u};
       },
       step0 + "has a block of 2147483648 x 2147483648 x 2147483648 threads; "
               "a block holds 1 to 1024 threads"},
      {"arg storage kind",
       [](ModuleDesc &m) {
         launch0(m).args[1].ref.kind = static_cast<StorageKind>(5);
       },
       step0 + "arg 1 has storage kind 5, which is not a known kind"},
      // Run-time checks.
      {"arg in a check the entry lacks",
       [](ModuleDesc &m) {
         launch0(m).args[1].ref = {StorageKind::Check, 1, {}};
         m.entries[0].checks = {{"hymir.embedding", "pos", "id", ""}};
       },
       step0 + "arg 1 refers to check 1, but the entry has 1 checks"},
      {"check without a value",
       [](ModuleDesc &m) {
         m.entries[0].checks = {{"hymir.embedding", "pos", "", "g.mlir:1:1"}};
       },
       "entry 'forward' check 0 names no op or no value; a check's error "
       "names both"},
      {"arg input index",
       [](ModuleDesc &m) { launch0(m).args[0].ref.index = 2; },
       step0 + "arg 0 refers to input 2, but the entry has 2 inputs"},
      {"arg offset symbol",
       [](ModuleDesc &m) {
         launch0(m).args[0].ref.offsetBytes = SizeExprSpec::ofSymbol(5);
       },
       step0 + "arg 0 offset refers to symbol 5, but the entry has 1 "
               "symbols"},
      {"arg offset divisor",
       [](ModuleDesc &m) { launch0(m).args[1].ref.offsetBytes.divisor = -2; },
       step0 + "arg 1 offset has divisor -2; it must be at least 1"},
      {"arg dtype",
       [](ModuleDesc &m) { launch0(m).args[1].dtype = static_cast<DType>(42); },
       step0 + "arg 1 has dtype 42, which is not a known dtype"},
      {"arg ref before dtype",
       [](ModuleDesc &m) {
         launch0(m).args[1].dtype = static_cast<DType>(42);
         launch0(m).args[1].ref.index = 2;
       },
       step0 + "arg 1 refers to buffer 2, but the entry has 2 buffers"},
      {"arg with fewer strides",
       [](ModuleDesc &m) { launch0(m).args[0].strides.pop_back(); },
       step0 + "arg 0 has 2 sizes and 1 strides; the counts must match"},
      {"arg with more strides",
       [](ModuleDesc &m) {
         launch0(m).args[1].strides.push_back(SizeExprSpec::of(1));
       },
       step0 + "arg 1 has 2 sizes and 3 strides; the counts must match"},
      {"arg without sizes",
       [](ModuleDesc &m) { launch0(m).args[1].sizes.clear(); },
       step0 + "arg 1 has 0 sizes and 2 strides; the counts must match"},
      {"arg size symbol",
       [](ModuleDesc &m) { launch0(m).args[0].sizes[0].terms[0].first = 2; },
       step0 + "arg 0 sizes[0] refers to symbol 2, but the entry has 1 "
               "symbols"},
      {"negative arg size",
       [](ModuleDesc &m) {
         launch0(m).args[1].sizes[1] = SizeExprSpec::of(-1);
       },
       step0 + "arg 1 sizes[1] is -1; sizes are non-negative"},
      {"arg size divisor",
       [](ModuleDesc &m) { launch0(m).args[0].sizes[1].divisor = 0; },
       step0 + "arg 0 sizes[1] has divisor 0; it must be at least 1"},
      {"arg stride symbol",
       [](ModuleDesc &m) {
         launch0(m).args[0].strides[1] = SizeExprSpec::ofSymbol(3);
       },
       step0 + "arg 0 strides[1] refers to symbol 3, but the entry has 1 "
               "symbols"},
      {"arg stride overflow",
       [](ModuleDesc &m) {
         launch0(m).args[1].strides[0] = SizeExprSpec::ofSymbol(0, kBig);
       },
       step0 + "arg 1 strides[0] can overflow int64 for symbol values up to "
               "their maxima"},
      {"arg stride divisor",
       [](ModuleDesc &m) { launch0(m).args[1].strides[1].divisor = kMin; },
       step0 + "arg 1 strides[1] has divisor -9223372036854775808; it must be "
               "at least 1"},
      {"scalar arg symbol",
       [](ModuleDesc &m) { launch0(m).args[2].scalar.terms[0].first = 1; },
       step0 + "arg 2 refers to symbol 1, but the entry has 1 symbols"},
      {"scalar arg divisor",
       [](ModuleDesc &m) { launch0(m).args[2].scalar.divisor = -128; },
       step0 + "arg 2 has divisor -128; it must be at least 1"},
      {"first bad arg wins",
       [](ModuleDesc &m) {
         launch0(m).args[2].scalar.divisor = 0;
         launch0(m).args[1].ref.index = 7;
       },
       step0 + "arg 1 refers to buffer 7, but the entry has 2 buffers"},
      {"second launch",
       [](ModuleDesc &m) {
         std::get<LaunchKernelDesc>(m.entries[0].plan[3]).args[0].ref.index = 9;
       },
       "entry 'forward' step 3 (launch) arg 0 refers to input 9, but the "
       "entry has 2 inputs"},
      {"second launch scalar",
       [](ModuleDesc &m) {
         std::get<LaunchKernelDesc>(m.entries[0].plan[3])
             .args[1]
             .scalar.divisor = 0;
       },
       "entry 'forward' step 3 (launch) arg 1 has divisor 0; it must be at "
       "least 1"},
      // Gemm and copy steps.
      {"gemm param index", [](ModuleDesc &m) { gemm1(m).w.index = 2; },
       step1 + "w refers to param 2, but the module has 2 params"},
      {"gemm buffer index", [](ModuleDesc &m) { gemm1(m).y.index = 2; },
       step1 + "y refers to buffer 2, but the entry has 2 buffers"},
      {"gemm m symbol",
       [](ModuleDesc &m) { gemm1(m).m = SizeExprSpec::ofSymbol(1); },
       step1 + "m refers to symbol 1, but the entry has 1 symbols"},
      {"gemm n", [](ModuleDesc &m) { gemm1(m).n = 0; },
       step1 + "has n = 0 and k = 32; both must be positive"},
      {"gemm dtype",
       [](ModuleDesc &m) { gemm1(m).dtype = static_cast<DType>(7); },
       step1 + "has dtype 7, which is not a known dtype"},
      {"gemm out dtype",
       [](ModuleDesc &m) { gemm1(m).outDtype = static_cast<DType>(100); },
       step1 + "has out_dtype 100, which is not a known dtype"},
      {"copy output index", [](ModuleDesc &m) { copy2(m).dst.index = 1; },
       step2 + "dst refers to output 1, but the entry has 1 outputs"},
      {"copy src kind",
       [](ModuleDesc &m) { copy2(m).src.kind = static_cast<StorageKind>(-3); },
       step2 + "src has storage kind -3, which is not a known kind"},
      {"copy bytes symbol",
       [](ModuleDesc &m) { copy2(m).bytes.terms[0].first = 2; },
       step2 + "bytes refers to symbol 2, but the entry has 1 symbols"},
      {"copy bytes divisor", [](ModuleDesc &m) { copy2(m).bytes.divisor = -4; },
       step2 + "bytes has divisor -4; it must be at least 1"},
      {"gemm m divisor", [](ModuleDesc &m) { gemm1(m).m.divisor = 0; },
       step1 + "m has divisor 0; it must be at least 1"},
      // Reference programs.
      {"reference value kind",
       [](ModuleDesc &m) {
         ref0(m).values[1].kind = static_cast<RefValueKind>(7);
       },
       ref + "value 1 has kind 7, which is not a known kind (float 0, int 1, "
             "index 2)"},
      {"reference index with dims",
       [](ModuleDesc &m) { ref0(m).values[3].kind = RefValueKind::Index; },
       ref + "value 3 is an index with 2 dims; an index has none"},
      {"reference dim below -1",
       [](ModuleDesc &m) { ref0(m).values[0].shape[1] = -2; },
       ref + "value 0 dim 1 is -2; dims are -1 (dynamic) or non-negative"},
      {"reference argument names",
       [](ModuleDesc &m) { ref0(m).argumentNames.pop_back(); },
       ref + "has 3 arguments and 2 argument names; the counts must match"},
      {"reference duplicate argument",
       [](ModuleDesc &m) { ref0(m).argumentNames[2] = "x"; },
       ref + "argument 2 'x' has the same name as argument 0"},
      {"reference empty argument name",
       [](ModuleDesc &m) { ref0(m).argumentNames[1].clear(); },
       ref + "argument 1 has an empty name"},
      {"reference unknown argument",
       [](ModuleDesc &m) { ref0(m).argumentNames[2] = "nope"; },
       ref + "argument 'nope' is neither an input of the entry nor a param "
             "of the module"},
      {"reference misses an input",
       [](ModuleDesc &m) { ref0(m).argumentNames[1] = "b"; },
       ref + "does not read input 'pos' of the entry"},
      {"reference result count",
       [](ModuleDesc &m) { ref0(m).results.push_back(3); },
       ref + "has 2 results, but the entry has 1 outputs"},
      {"reference argument id", [](ModuleDesc &m) { ref0(m).arguments[1] = 9; },
       ref + "argument 1 'pos' is value 9, but the program has 4 values"},
      {"reference argument defined twice",
       [](ModuleDesc &m) { ref0(m).arguments[1] = 0; },
       ref + "argument 1 'pos' defines value 0, which is already defined"},
      {"reference index argument",
       [](ModuleDesc &m) { ref0(m).values[1] = {RefValueKind::Index, {}}; },
       ref + "argument 1 'pos' is an index; arguments are tensors"},
      {"reference op without name",
       [](ModuleDesc &m) { ref0(m).ops[0].name.clear(); },
       ref + "op 0 has an empty name"},
      {"reference operand defined later",
       [](ModuleDesc &m) { ref0(m).ops[0].operands[1] = 3; },
       ref + "op 0 (hymir.linear) operand 1 is value 3, which is not defined "
             "before it"},
      {"reference operand out of range",
       [](ModuleDesc &m) { ref0(m).ops[0].operands[0] = 100; },
       ref + "op 0 (hymir.linear) operand 0 is value 100, which is not "
             "defined before it"},
      {"reference result defined twice",
       [](ModuleDesc &m) { ref0(m).ops[0].results[0] = 2; },
       ref + "op 0 (hymir.linear) result 0 defines value 2, which is already "
             "defined"},
      {"reference op result out of range",
       [](ModuleDesc &m) { ref0(m).ops[0].results[0] = 4; },
       ref + "op 0 (hymir.linear) result 0 is value 4, but the program has 4 "
             "values"},
      {"reference attribute without name",
       [](ModuleDesc &m) { ref0(m).ops[0].attrs = {{"", 1, 0, {}}}; },
       ref + "op 0 (hymir.linear) attribute 0 has an empty name"},
      {"reference result never defined",
       [](ModuleDesc &m) { ref0(m).ops.clear(); },
       ref + "result 0 (output 'y') is value 3, which is never defined"},
      {"reference index result",
       [](ModuleDesc &m) { ref0(m).values[3] = {RefValueKind::Index, {}}; },
       ref + "result 0 (output 'y') is an index; results are tensors"},
      {"reference checked after the plan",
       [](ModuleDesc &m) {
         ref0(m).ops.clear();
         copy2(m).bytes.divisor = 0;
       },
       step2 + "bytes has divisor 0; it must be at least 1"},
      {"decode param ref",
       [](ModuleDesc &m) {
         std::get<GemmDesc>(m.entries[1].plan[0]).x = {
             StorageKind::Buffer, 0, {}};
       },
       "entry 'decode' step 0 (gemm) x refers to buffer 0, but the entry has "
       "0 buffers"},
  };
}

TEST(ArtifactTest, SemanticRules) {
  uint64_t seed = testSeed();
  SEED_TRACE(seed);
  Random r(seed);
  ModuleDesc base = baseModule(r);
  ASSERT_TRUE(validateModule(base, "model.hymir").ok())
      << validateModule(base, "model.hymir");
  ASSERT_TRUE(loadBytes(serializeArtifact(base)).ok());
  for (const SemanticCase &c : semanticCases()) {
    SCOPED_TRACE(c.name);
    ModuleDesc m = base;
    c.mutate(m);
    absl::StatusOr<Artifact> a = loadBytes(serializeArtifact(m));
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(a.status().message(), "model.hymir: " + c.message);
    // The writer's users see the same verdict before writing.
    EXPECT_EQ(validateModule(m, "model.hymir"), a.status());
  }
}

TEST(ArtifactTest, KernelArgFieldsOfTheOtherKindAreIgnored) {
  uint64_t seed = testSeed();
  SEED_TRACE(seed);
  Random r(seed);
  ModuleDesc m = baseModule(r);
  // A scalar argument carrying a broken tensor part, and a tensor argument
  // carrying a broken scalar: neither part is checked, stored or compared.
  KernelArgDesc &scalar = launch0(m).args[2];
  scalar.ref = {static_cast<StorageKind>(9), 99, SizeExprSpec::ofSymbol(7)};
  scalar.dtype = static_cast<DType>(77);
  scalar.sizes = {SizeExprSpec::of(-1)};
  KernelArgDesc &tensor = launch0(m).args[0];
  tensor.scalar = divided(SizeExprSpec::ofSymbol(5), 0);
  ASSERT_TRUE(validateModule(m, "model.hymir").ok())
      << validateModule(m, "model.hymir");
  std::vector<uint8_t> bytes = serializeArtifact(m);
  Random again(seed); // the same code bytes
  EXPECT_EQ(bytes, serializeArtifact(baseModule(again)));
  absl::StatusOr<Artifact> a = loadBytes(bytes);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->module() == m);
  const auto &loaded =
      std::get<LaunchKernelDesc>(a->module().entries[0].plan[0]);
  EXPECT_FALSE(loaded.args[2].isTensor);
  EXPECT_TRUE(loaded.args[2].ref == RefDesc());
  EXPECT_TRUE(loaded.args[2].sizes.empty());
  EXPECT_TRUE(loaded.args[0].isTensor);
  EXPECT_TRUE(loaded.args[0].scalar == SizeExprSpec());

  // Arguments of different kinds differ, whatever their fields hold.
  KernelArgDesc t = tensorArg({}, DType::F32, {}, {});
  KernelArgDesc s = scalarArg({});
  EXPECT_TRUE(t != s);
  s.isTensor = true;
  EXPECT_TRUE(t == s);
}

TEST(ArtifactTest, EqualityComparesDivisorsAndArgs) {
  SizeExprSpec e = divided(SizeExprSpec::ofSymbol(0, 3, 1), 4);
  std::vector<std::function<void(SizeExprSpec &)>> exprChanges = {
      [](SizeExprSpec &x) { x.constant = 2; },
      [](SizeExprSpec &x) { x.terms[0].first = 1; },
      [](SizeExprSpec &x) { x.terms[0].second = 2; },
      [](SizeExprSpec &x) { x.divisor = 5; },
  };
  for (size_t i = 0; i < exprChanges.size(); ++i) {
    SizeExprSpec changed = e;
    exprChanges[i](changed);
    EXPECT_TRUE(changed != e) << "expression change " << i;
  }

  KernelArgDesc tensor = tensorArg({StorageKind::Buffer, 1, e}, DType::BF16,
                                   {e, SizeExprSpec::of(2)},
                                   {SizeExprSpec::of(2), SizeExprSpec::of(1)});
  std::vector<std::function<void(KernelArgDesc &)>> tensorChanges = {
      [](KernelArgDesc &a) { a.ref.kind = StorageKind::Param; },
      [](KernelArgDesc &a) { a.ref.index = 0; },
      [](KernelArgDesc &a) { a.ref.offsetBytes.divisor = 1; },
      [](KernelArgDesc &a) { a.dtype = DType::F16; },
      [](KernelArgDesc &a) { a.sizes[0].divisor = 2; },
      [](KernelArgDesc &a) { a.strides[1].constant = 3; },
      [](KernelArgDesc &a) { a.strides.pop_back(); },
      [](KernelArgDesc &a) { a.isTensor = false; },
  };
  for (size_t i = 0; i < tensorChanges.size(); ++i) {
    KernelArgDesc changed = tensor;
    tensorChanges[i](changed);
    EXPECT_TRUE(changed != tensor) << "tensor change " << i;
  }
  KernelArgDesc scalar = scalarArg(e);
  std::vector<std::function<void(KernelArgDesc &)>> scalarChanges = {
      [](KernelArgDesc &a) { a.scalar.divisor = 1; },
      [](KernelArgDesc &a) { a.scalar.constant = 0; },
      [](KernelArgDesc &a) { a.isTensor = true; },
  };
  for (size_t i = 0; i < scalarChanges.size(); ++i) {
    KernelArgDesc changed = scalar;
    scalarChanges[i](changed);
    EXPECT_TRUE(changed != scalar) << "scalar change " << i;
  }

  LaunchKernelDesc l;
  l.args = {tensor, scalar};
  LaunchKernelDesc swapped = l;
  std::swap(swapped.args[0], swapped.args[1]);
  EXPECT_TRUE(l == LaunchKernelDesc(l));
  EXPECT_TRUE(l != swapped);
  swapped.args.pop_back();
  EXPECT_TRUE(l != swapped);
}

TEST(ArtifactTest, StructuralRulesOfRawModules) {
  struct RawCase {
    const char *name;
    std::function<fb::Offset<ar::PlanStep>(fb::FlatBufferBuilder &)> step;
    std::string message;
  };
  using B = fb::FlatBufferBuilder;
  std::vector<RawCase> cases = {
      {"no step", [](B &b) { return ar::CreatePlanStep(b); },
       "entry 'main' step 0 has no step"},
      {"step type without table",
       [](B &b) { return ar::CreatePlanStep(b, ar::Step::LaunchKernel); },
       "entry 'main' step 0 has no step"},
      {"unknown step type",
       [](B &b) {
         auto c = ar::CreateCopy(b);
         return ar::CreatePlanStep(b, static_cast<ar::Step>(9), c.Union());
       },
       "entry 'main' step 0 has step type 9, which is not a known step "
       "(launch 1, gemm 2, copy 3, collective 4, tensor_map 5)"},
      {"tensor map without source",
       [](B &b) {
         auto t =
             ar::CreateTensorMap(b, 0, rawRef(b, ar::StorageKind::Output, 0));
         return ar::CreatePlanStep(b, ar::Step::TensorMap, t.Union());
       },
       "entry 'main' step 0 (tensor_map) has no source"},
      {"tensor map without target",
       [](B &b) {
         auto r = rawRef(b, ar::StorageKind::Input, 0);
         auto source = ar::CreateTensorArg(b, r);
         auto t = ar::CreateTensorMap(b, source);
         return ar::CreatePlanStep(b, ar::Step::TensorMap, t.Union());
       },
       "entry 'main' step 0 (tensor_map) has no target"},
      {"gemm without x",
       [](B &b) {
         auto g = ar::CreateGemm(b, 0, rawRef(b, ar::StorageKind::Param, 0),
                                 rawRef(b, ar::StorageKind::Output, 0),
                                 ar::CreateSizeExpr(b, 4), 4, 4);
         return ar::CreatePlanStep(b, ar::Step::Gemm, g.Union());
       },
       "entry 'main' step 0 (gemm) has no x"},
      {"gemm without m",
       [](B &b) {
         auto g =
             ar::CreateGemm(b, rawRef(b, ar::StorageKind::Input, 0),
                            rawRef(b, ar::StorageKind::Input, 0),
                            rawRef(b, ar::StorageKind::Output, 0), 0, 4, 4);
         return ar::CreatePlanStep(b, ar::Step::Gemm, g.Union());
       },
       "entry 'main' step 0 (gemm) has no m"},
      {"copy without dst",
       [](B &b) {
         auto c = ar::CreateCopy(b, rawRef(b, ar::StorageKind::Input, 0), 0,
                                 ar::CreateSizeExpr(b, 4));
         return ar::CreatePlanStep(b, ar::Step::Copy, c.Union());
       },
       "entry 'main' step 0 (copy) has no dst"},
      {"copy without bytes",
       [](B &b) {
         auto c = ar::CreateCopy(b, rawRef(b, ar::StorageKind::Input, 0),
                                 rawRef(b, ar::StorageKind::Output, 0));
         return ar::CreatePlanStep(b, ar::Step::Copy, c.Union());
       },
       "entry 'main' step 0 (copy) has no bytes"},
      {"launch without grid or block",
       [](B &b) {
         auto l = ar::CreateLaunchKernel(b, 0);
         return ar::CreatePlanStep(b, ar::Step::LaunchKernel, l.Union());
       },
       "entry 'main' step 0 (launch) has 0 grid dims, expected 3"},
      {"kernel arg with neither",
       [](B &b) {
         return rawLaunch(b,
                          {ar::CreateKernelArg(b, rawTensorArg(b)),
                           ar::CreateKernelArg(b, 0, ar::CreateSizeExpr(b, 3)),
                           ar::CreateKernelArg(b)});
       },
       "entry 'main' step 0 (launch) arg 2 has neither a tensor nor a "
       "scalar"},
      {"kernel arg with both",
       [](B &b) {
         auto tensor = rawTensorArg(b);
         return rawLaunch(
             b, {ar::CreateKernelArg(b, tensor, ar::CreateSizeExpr(b, 3))});
       },
       "entry 'main' step 0 (launch) arg 0 has both a tensor and a scalar"},
      {"tensor arg without ref",
       [](B &b) {
         return rawLaunch(b,
                          {ar::CreateKernelArg(b, 0, ar::CreateSizeExpr(b, 3)),
                           ar::CreateKernelArg(b, rawTensorArg(b, false))});
       },
       "entry 'main' step 0 (launch) arg 1 has no ref"},
      {"stored divisor 0",
       [](B &b) {
         auto c = ar::CreateCopy(b, rawRef(b, ar::StorageKind::Input, 0),
                                 rawRef(b, ar::StorageKind::Output, 0),
                                 ar::CreateSizeExpr(b, 4, 0, 0));
         return ar::CreatePlanStep(b, ar::Step::Copy, c.Union());
       },
       "entry 'main' step 0 (copy) bytes has divisor 0; it must be at least "
       "1"},
      {"ref kind out of range",
       [](B &b) {
         auto c = ar::CreateCopy(
             b, rawRef(b, static_cast<ar::StorageKind>(77), 0),
             rawRef(b, ar::StorageKind::Output, 0), ar::CreateSizeExpr(b, 4));
         return ar::CreatePlanStep(b, ar::Step::Copy, c.Union());
       },
       "entry 'main' step 0 (copy) src has storage kind 77, which is not a "
       "known kind"},
  };
  for (const RawCase &c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<Artifact> a = loadBytes(rawArtifact(c.step));
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(a.status().message(), "model.hymir: " + c.message);
  }
}

//===----------------------------------------------------------------------===//
// Paths, evaluation, checksum
//===----------------------------------------------------------------------===//

TEST(ArtifactTest, LoadFromBadPaths) {
  absl::StatusOr<Artifact> a = Artifact::load("/nonexistent/model.hymir");
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(startsWith(a.status().message(),
                         "/nonexistent/model.hymir: cannot open the artifact"));

  std::string dir = ::testing::TempDir();
  a = Artifact::load(dir);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.status().message(),
            dir + ": is a directory, not a hymir artifact");

  std::string empty = tempPath("empty.hymir");
  std::fclose(std::fopen(empty.c_str(), "w"));
  a = Artifact::load(empty);
  EXPECT_EQ(a.status().message(),
            empty + ": not a hymir artifact (0 bytes; too short to hold the "
                    "file identifier)");
  std::remove(empty.c_str());
}

TEST(ArtifactTest, Evaluate) {
  std::vector<int64_t> values = {7, 3};
  SizeExprSpec e{5, {{0, 2}, {1, -4}, {0, 1}}};
  absl::StatusOr<int64_t> v = evaluate(e, values);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, 5 + 14 - 12 + 7);
  EXPECT_EQ(*evaluate(SizeExprSpec::of(-9), {}), -9);

  EXPECT_EQ(evaluate(SizeExprSpec::ofSymbol(2), values).status().code(),
            absl::StatusCode::kInvalidArgument);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> big = {kMax / 2 + 1};
  EXPECT_EQ(evaluate(SizeExprSpec::ofSymbol(0, 2), big).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(evaluate(SizeExprSpec::ofSymbol(0, 1, kMax), {1}).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*evaluate(SizeExprSpec::ofSymbol(0, -1, kMax), {kMax}), 0);
}

TEST(ArtifactTest, EvaluateWithDivisor) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  struct Case {
    int64_t constant, coeff, value, divisor, expected;
  };
  // floor((constant + coeff * value) / divisor), toward minus infinity.
  std::vector<Case> cases = {
      {3, 2, 8, 4, 4},     // 19 / 4, inexact
      {4, 2, 8, 4, 5},     // 20 / 4, exact
      {-3, -2, 8, 4, -5},  // -19 / 4, inexact: not -4
      {-4, -2, 8, 4, -5},  // -20 / 4, exact
      {7, -1, 8, 4, -1},   // -1 / 4: not 0
      {8, -1, 8, 4, 0},    // 0 / 4
      {-7, 0, 0, 2, -4},   // the header's example
      {127, 1, 0, 128, 0}, // ceil(T / 128) for T = 0, 1, 128, 129
      {127, 1, 1, 128, 1},
      {127, 1, 128, 128, 1},
      {127, 1, 129, 128, 2},
      {5, 3, 2, 1, 11}, // divisor 1
      {kMin, 0, 0, 3, -3074457345618258603},
      {kMin, 0, 0, 2, kMin / 2},
      {kMin, 0, 0, kMax, -2},
      {kMax, 0, 0, kMax, 1},
      {kMax, 0, 0, 2, kMax / 2},
      {-1, 0, 0, kMax, -1},
      {kMax - 5, 1, 5, kMax, 1},
      {kMin + 5, -1, 5, 7, -1317624576693539402},
  };
  for (const Case &c : cases) {
    SizeExprSpec e = SizeExprSpec::ofSymbol(0, c.coeff, c.constant);
    e.divisor = c.divisor;
    SCOPED_TRACE(::testing::Message()
                 << "(" << c.constant << " + " << c.coeff << " * " << c.value
                 << ") / " << c.divisor);
    absl::StatusOr<int64_t> v = evaluate(e, {c.value});
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, c.expected);
  }
  SizeExprSpec constant = SizeExprSpec::of(-9);
  constant.divisor = 2;
  EXPECT_FALSE(constant.isConstant());
  EXPECT_TRUE(SizeExprSpec::of(-9).isConstant());
  EXPECT_FALSE(SizeExprSpec::ofSymbol(0).isConstant());
  EXPECT_EQ(*evaluate(constant, {}), -5);

  // Divisors below 1 are refused, before anything is summed.
  for (int64_t divisor : {int64_t{0}, int64_t{-1}, int64_t{-128}, kMin}) {
    SizeExprSpec e = SizeExprSpec::ofSymbol(0);
    e.divisor = divisor;
    absl::Status s = evaluate(e, {5}).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), "size expression has divisor " +
                               std::to_string(divisor) +
                               "; it must be at least 1");
    EXPECT_EQ(evaluate(e, {}).status(), s);
  }
  // An overflowing sum stays an overflow, however large the divisor.
  SizeExprSpec big = SizeExprSpec::ofSymbol(0, 2);
  big.divisor = kMax;
  EXPECT_EQ(evaluate(big, {kMax / 2 + 1}).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(ArtifactTest, EvaluateWithDivisorMatchesDefinition) {
  uint64_t seed = testSeed();
  SEED_TRACE(seed);
  Random r(seed);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  for (int iter = 0; iter < 20000; ++iter) {
    // Small sums with small divisors, and the full range of both.
    bool wide = iter % 2 == 1;
    SizeExprSpec e =
        SizeExprSpec::of(wide ? r.range(kMin, kMax) : r.range(-1000, 1000));
    std::vector<int64_t> values;
    if (!wide)
      for (int64_t i = r.range(0, 3); i > 0; --i) {
        values.push_back(r.range(0, 1000));
        e.terms.emplace_back(static_cast<uint32_t>(values.size() - 1),
                             r.range(-50, 50));
      }
    e.divisor = wide ? r.range(1, kMax) : r.range(1, 300);
    __int128 sum = e.constant;
    for (const auto &[symbol, coeff] : e.terms)
      sum += static_cast<__int128>(coeff) * values[symbol];
    absl::StatusOr<int64_t> v = evaluate(e, values);
    ASSERT_TRUE(v.ok()) << v.status();
    // q is floor(sum / d) exactly when q * d <= sum < (q + 1) * d.
    __int128 low = static_cast<__int128>(*v) * e.divisor;
    ASSERT_TRUE(low <= sum && sum < low + e.divisor)
        << "iteration " << iter << ": (" << e.constant << " + ...) / "
        << e.divisor << " gave " << *v;
  }
}

TEST(ArtifactTest, Fnv1a64) {
  auto hash = [](const std::string &s) {
    return fnv1a64(absl::MakeConstSpan(
        reinterpret_cast<const uint8_t *>(s.data()), s.size()));
  };
  EXPECT_EQ(hash(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(hash("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(hash("foobar"), 0x85944171f73967e8ull);
}

} // namespace
