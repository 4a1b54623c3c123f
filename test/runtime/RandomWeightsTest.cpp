//===- RandomWeightsTest.cpp - Module::bindRandomWeights on the cpu -------===//
//
// The rule of RandomWeights.h: the block's first values pinned (the same
// numbers bench/model_bench.py's plain-Python generator gives, so the two
// sides make the same weights), and a module's parameters as
// bindRandomWeights lays them out (ones for rank 1, the block rotated by the
// name's offset and repeated with period kPeriod, bf16 rounded to nearest),
// read back through a copy entry; a parameter split across devices holds
// its part of the whole's values. Also Module::time's `restore`.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/RandomWeights.h"

#include "hymir/Runtime/ArtifactWriter.h"
#include "hymir/Runtime/Runtime.h"
#include "hymir/Support/BFloat16.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>

using namespace hymir;
namespace rw = hymir::random_weights;

namespace {

TEST(RandomWeightsTest, BlockMatchesThePythonRule) {
  // normal_block_python(1, 4) and (12345, 2) in bench/model_bench.py.
  std::vector<double> block = rw::normalBlock(1);
  ASSERT_EQ(block.size(), static_cast<size_t>(rw::kPeriod));
  const double want[] = {-1.3937453360903498, -0.2759684708309307,
                         -0.5132372131369943, 0.5677545322838109};
  for (int k = 0; k < 4; ++k)
    EXPECT_NEAR(block[k], want[k], 1e-14) << k;
  std::vector<double> other = rw::normalBlock(12345);
  EXPECT_NEAR(other[0], 1.6179003918076948, 1e-14);
  EXPECT_NEAR(other[1], 0.9194164187619374, 1e-14);
  // fnv1a64(name) % kPeriod, from the same script.
  EXPECT_EQ(rw::offsetOf("model.layers.0.mlp.experts.gate_up_proj"), 3152269);
  EXPECT_EQ(rw::offsetOf(""), 3117522);
  EXPECT_EQ(rw::offsetOf("w"), 2114261);
  // Standard normal, and finite everywhere.
  double sum = 0, squares = 0;
  for (double v : block) {
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    squares += v * v;
  }
  double mean = sum / rw::kPeriod;
  EXPECT_NEAR(mean, 0.0, 5e-3);
  EXPECT_NEAR(squares / rw::kPeriod - mean * mean, 1.0, 5e-3);
}

TensorSpecDesc spec(const char *name, DType dtype, std::vector<int64_t> dims) {
  TensorSpecDesc s;
  s.name = name;
  s.dtype = dtype;
  for (int64_t d : dims)
    s.shape.push_back(SizeExprSpec::of(d));
  return s;
}

/// Params `params`; entry "f" (input "x" f32 [1], unused) copies each param
/// to an output of the same name.
std::unique_ptr<Module> copyModule(Runtime &runtime,
                                   const std::vector<TensorSpecDesc> &params) {
  ModuleDesc m;
  m.target = Target::Cpu;
  m.producer = "RandomWeightsTest";
  m.params = params;
  EntryDesc e;
  e.name = "f";
  e.inputs = {spec("x", DType::F32, {1})};
  for (size_t i = 0; i < params.size(); ++i) {
    e.outputs.push_back(params[i]);
    int64_t bytes = static_cast<int64_t>(dtypeSize(params[i].dtype));
    for (const SizeExprSpec &s : params[i].shape)
      bytes *= s.constant;
    e.plan.push_back(
        CopyDesc{{StorageKind::Param, static_cast<uint32_t>(i), {}},
                 {StorageKind::Output, static_cast<uint32_t>(i), {}},
                 SizeExprSpec::of(bytes)});
  }
  m.entries = {e};
  absl::StatusOr<Artifact> artifact =
      Artifact::fromBytes(serializeArtifact(m), "copy.hymir");
  EXPECT_TRUE(artifact.ok()) << artifact.status();
  absl::StatusOr<std::unique_ptr<Module>> module =
      runtime.load(std::move(*artifact));
  EXPECT_TRUE(module.ok()) << module.status();
  return std::move(*module);
}

TEST(RandomWeightsTest, ParametersFollowTheRule) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  ASSERT_TRUE(runtime.ok());
  // "big" is longer than two periods: the doubling copies are exercised.
  const int64_t bigRows = 2, bigCols = 4500000;
  std::unique_ptr<Module> module =
      copyModule(**runtime, {spec("norm", DType::BF16, {5}),
                             spec("w", DType::BF16, {3, 7}),
                             spec("big", DType::F32, {bigRows, bigCols})});
  ASSERT_TRUE(module);
  // Unbound: the call says so.
  TensorMap inputs;
  inputs["x"] = Tensor(DType::F32, {1});
  absl::StatusOr<TensorMap> unbound = module->call("f", inputs);
  ASSERT_FALSE(unbound.ok());
  EXPECT_NE(unbound.status().message().find("none are bound"),
            std::string::npos)
      << unbound.status();

  const double stddev = 0.02;
  ASSERT_TRUE(module->bindRandomWeights(7, stddev).ok());
  absl::StatusOr<TensorMap> out = module->call("f", inputs);
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<double> block = rw::normalBlock(7);
  auto expected = [&](const std::string &name, int64_t j) {
    return static_cast<float>(
        stddev *
        block[static_cast<size_t>((rw::offsetOf(name) + j) % rw::kPeriod)]);
  };
  const Tensor &norm = out->at("norm");
  for (int64_t j = 0; j < 5; ++j) {
    uint16_t h;
    std::memcpy(&h, norm.data() + 2 * j, 2);
    EXPECT_EQ(h, floatToBf16(1.0f)) << j;
  }
  const Tensor &w = out->at("w");
  for (int64_t j = 0; j < 21; ++j) {
    uint16_t h;
    std::memcpy(&h, w.data() + 2 * j, 2);
    EXPECT_EQ(h, floatToBf16(expected("w", j))) << j;
  }
  const Tensor &big = out->at("big");
  int64_t mismatches = 0;
  for (int64_t j = 0; j < bigRows * bigCols; j += 997) {
    float f;
    std::memcpy(&f, big.data() + 4 * j, 4);
    mismatches += f != expected("big", j);
  }
  for (int64_t j : {int64_t(0), rw::kPeriod - 1, rw::kPeriod, 2 * rw::kPeriod,
                    bigRows * bigCols - 1}) {
    float f;
    std::memcpy(&f, big.data() + 4 * j, 4);
    EXPECT_EQ(f, expected("big", j)) << j;
  }
  EXPECT_EQ(mismatches, 0);
}

/// Params `params` split as their specs say across 2 simulated devices;
/// entry "f" has for each param an input of its shape, split the same way
/// and tied to an output, into whose parts each device copies its part of
/// the param: the call puts the parts together as the whole param.
std::unique_ptr<Module>
splitCopyModule(Runtime &runtime, const std::vector<TensorSpecDesc> &params) {
  ModuleDesc m;
  m.target = Target::Cpu;
  m.deviceCount = 2;
  m.producer = "RandomWeightsTest";
  m.params = params;
  EntryDesc e;
  e.name = "f";
  for (size_t i = 0; i < params.size(); ++i) {
    TensorSpecDesc in = params[i], out = params[i];
    in.name = "in_" + params[i].name;
    out.tiedTo = static_cast<int32_t>(i);
    e.inputs.push_back(in);
    e.outputs.push_back(out);
    int64_t bytes = static_cast<int64_t>(dtypeSize(params[i].dtype));
    for (const SizeExprSpec &s : params[i].shape)
      bytes *= s.constant;
    e.plan.push_back(
        CopyDesc{{StorageKind::Param, static_cast<uint32_t>(i), {}},
                 {StorageKind::Input, static_cast<uint32_t>(i), {}},
                 SizeExprSpec::of(bytes / 2)}); // a device's part
  }
  m.entries = {e};
  absl::StatusOr<Artifact> artifact =
      Artifact::fromBytes(serializeArtifact(m), "split-copy.hymir");
  EXPECT_TRUE(artifact.ok()) << artifact.status();
  absl::StatusOr<std::unique_ptr<Module>> module =
      runtime.load(std::move(*artifact));
  EXPECT_TRUE(module.ok()) << module.status();
  return module.ok() ? std::move(*module) : nullptr;
}

TEST(RandomWeightsTest, SplitParametersArePartsOfTheWhole) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  ASSERT_TRUE(runtime.ok());
  // Split along dim 0 (one run per device), along an inner dim (a run per
  // row), and one whose runs are longer than a period (the doubling).
  TensorSpecDesc rows = spec("rows", DType::BF16, {4, 3, 5}),
                 cols = spec("cols", DType::F32, {6, 8}),
                 long_ = spec("long", DType::BF16, {1, 2, 4200000});
  rows.shardDim = 0;
  cols.shardDim = 1;
  long_.shardDim = 1;
  std::unique_ptr<Module> module =
      splitCopyModule(**runtime, {rows, cols, long_});
  ASSERT_TRUE(module);
  const double stddev = 0.02;
  ASSERT_TRUE(module->bindRandomWeights(3, stddev).ok());
  TensorMap inputs;
  for (const TensorSpecDesc &p : {rows, cols, long_}) {
    std::vector<int64_t> shape;
    for (const SizeExprSpec &s : p.shape)
      shape.push_back(s.constant);
    inputs["in_" + p.name] = Tensor(p.dtype, shape);
  }
  absl::StatusOr<TensorMap> out = module->call("f", inputs);
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<double> block = rw::normalBlock(3);
  auto expected = [&](const std::string &name, int64_t j) {
    return static_cast<float>(
        stddev *
        block[static_cast<size_t>((rw::offsetOf(name) + j) % rw::kPeriod)]);
  };
  const Tensor &r = out->at("rows");
  for (int64_t j = 0; j < r.numel(); ++j) {
    uint16_t h;
    std::memcpy(&h, r.data() + 2 * j, 2);
    EXPECT_EQ(h, floatToBf16(expected("rows", j))) << j;
  }
  const Tensor &c = out->at("cols");
  for (int64_t j = 0; j < c.numel(); ++j) {
    float f;
    std::memcpy(&f, c.data() + 4 * j, 4);
    EXPECT_EQ(f, expected("cols", j)) << j;
  }
  // Device 1's run starts past a period: its first values are rotated by
  // the start modulo the period.
  const Tensor &l = out->at("long");
  int64_t mismatches = 0;
  for (int64_t j = 0; j < l.numel(); j += 991) {
    uint16_t h;
    std::memcpy(&h, l.data() + 2 * j, 2);
    mismatches += h != floatToBf16(expected("long", j));
  }
  for (int64_t j : {int64_t(4200000), int64_t(4200001), l.numel() - 1}) {
    uint16_t h;
    std::memcpy(&h, l.data() + 2 * j, 2);
    EXPECT_EQ(h, floatToBf16(expected("long", j))) << j;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(RandomWeightsTest, RefusesOtherDtypesAndBadDeviation) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  ASSERT_TRUE(runtime.ok());
  std::unique_ptr<Module> module =
      copyModule(**runtime, {spec("ids", DType::I32, {4})});
  ASSERT_TRUE(module);
  absl::Status s = module->bindRandomWeights(1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'ids' is I32"), std::string::npos) << s;
  std::unique_ptr<Module> f32 =
      copyModule(**runtime, {spec("w", DType::F32, {2, 2})});
  ASSERT_TRUE(f32);
  s = f32->bindRandomWeights(1, -1.0);
  EXPECT_NE(s.message().find("positive standard deviation"), std::string::npos)
      << s;
}

TEST(RandomWeightsTest, TimeRestoresNamedInputsOnly) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  ASSERT_TRUE(runtime.ok());
  std::unique_ptr<Module> module =
      copyModule(**runtime, {spec("w", DType::F32, {2, 2})});
  ASSERT_TRUE(module);
  ASSERT_TRUE(module->bindRandomWeights(1).ok());
  TensorMap inputs;
  inputs["x"] = Tensor(DType::F32, {1});
  absl::StatusOr<CallTiming> timing = module->time("f", inputs, 1, 2, {"x"});
  ASSERT_TRUE(timing.ok()) << timing.status();
  EXPECT_EQ(timing->runs.size(), 2u);
  timing = module->time("f", inputs, 1, 2, {"y"});
  ASSERT_FALSE(timing.ok());
  EXPECT_NE(timing.status().message().find(
                "has no input 'y' to restore before each run"),
            std::string::npos)
      << timing.status();
}

} // namespace
