//===- SplitStateTest.cpp - tied inputs split across cpu devices ----------===//
//
// A hand-built module of 2 simulated cpu devices whose input `state` [2, 4,
// 3] is split along dim 1 (each device holds [2, 2, 3], as hymir-shard
// splits a lightning state or KV cache by heads) and tied to output
// `state_out`. Its plan has no steps: the state goes out as it came in, so
// the test checks how the runtime places and puts together the parts:
// a host tensor split on the way in and put together on the way out, a
// device value allocated as parts (upload, download, call), a value of
// another layout refused, and Module::time restoring the split input.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/ArtifactWriter.h"
#include "hymir/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

using namespace hymir;

namespace {

ModuleDesc splitModule(int32_t shardDim) {
  ModuleDesc m;
  m.target = Target::Cpu;
  m.deviceCount = 2;
  m.producer = "SplitStateTest";
  EntryDesc e;
  e.name = "step";
  std::vector<SizeExprSpec> shape = {SizeExprSpec::of(2), SizeExprSpec::of(4),
                                     SizeExprSpec::of(3)};
  e.inputs = {{"state", DType::F32, shape, shardDim}};
  e.outputs = {{"state_out", DType::F32, shape, shardDim, 0}};
  m.entries = {e};
  return m;
}

Tensor counting() {
  std::vector<float> v(24);
  std::iota(v.begin(), v.end(), 1.0f);
  return *Tensor::fromBytes(DType::F32, {2, 4, 3}, v.data(),
                            v.size() * sizeof(float));
}

std::vector<float> values(const Tensor &t) {
  const auto *p = reinterpret_cast<const float *>(t.data());
  return std::vector<float>(p, p + t.numel());
}

std::unique_ptr<Module> load(Runtime &runtime, const ModuleDesc &m) {
  absl::StatusOr<Artifact> artifact =
      Artifact::fromBytes(serializeArtifact(m), "split.hymir");
  EXPECT_TRUE(artifact.ok()) << artifact.status();
  absl::StatusOr<std::unique_ptr<Module>> module =
      runtime.load(std::move(*artifact));
  EXPECT_TRUE(module.ok()) << module.status();
  return module.ok() ? std::move(*module) : nullptr;
}

TEST(SplitStateTest, HostTensorSplitAndPutTogether) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  std::unique_ptr<Module> module = load(**runtime, splitModule(1));
  ASSERT_TRUE(module);
  TensorMap inputs;
  inputs["state"] = counting();
  absl::StatusOr<TensorMap> out = module->call("step", inputs);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(values(out->at("state_out")), values(counting()));
}

TEST(SplitStateTest, DeviceValueHoldsParts) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  std::unique_ptr<Module> module = load(**runtime, splitModule(1));
  ASSERT_TRUE(module);
  absl::StatusOr<DeviceValue> state = module->allocate("step", "state");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->shape(), (std::vector<int64_t>{2, 4, 3}));
  ASSERT_TRUE(state->upload(counting()).ok());
  absl::StatusOr<Tensor> back = state->download();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(values(*back), values(counting()));
  DeviceValueMap map;
  map.emplace("state", &*state);
  absl::StatusOr<TensorMap> out = module->call("step", {}, map);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->count("state_out")) << "the value is the output";
  back = state->download();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(values(*back), values(counting()));

  // A whole value (another module's input of the same shape) is refused.
  std::unique_ptr<Module> whole = load(**runtime, splitModule(-1));
  ASSERT_TRUE(whole);
  absl::StatusOr<DeviceValue> other = whole->allocate("step", "state");
  ASSERT_TRUE(other.ok()) << other.status();
  DeviceValueMap wrong;
  wrong.emplace("state", &*other);
  absl::StatusOr<TensorMap> refused = module->call("step", {}, wrong);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find(
                "input 'state' is split along dim 1 across 2 devices; the "
                "device value given for it is whole on 2 devices"),
            std::string::npos)
      << refused.status();
}

TEST(SplitStateTest, TimeRestoresASplitInput) {
  // Module::time copies a restored input in again before every run; a
  // split one goes to each device as its part (hymir-bench --restore of a
  // sharded decode's lightning state or KV cache).
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  std::unique_ptr<Module> module = load(**runtime, splitModule(1));
  ASSERT_TRUE(module);
  TensorMap inputs;
  inputs["state"] = counting();
  absl::StatusOr<CallTiming> timing =
      module->time("step", inputs, 1, 3, {"state"});
  ASSERT_TRUE(timing.ok()) << timing.status();
  EXPECT_EQ(timing->runs.size(), 3u);
}

} // namespace
