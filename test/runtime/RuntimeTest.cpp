//===- RuntimeTest.cpp - device lists and multi-device execution ----------===//
//
// Device strings the runtime refuses before touching any driver, and a
// two-device module on the cpu driver's simulated devices built by hand
// (copies and collectives only, so no code object is needed): the runtime
// must hand each device its part of split params and inputs, run the
// collectives across the devices, and read the outputs from device 0.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Runtime.h"
#include "hymir/Runtime/ArtifactWriter.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace hymir;

namespace {

TEST(RuntimeTest, RejectsMalformedDeviceLists) {
  struct Case {
    const char *device;
    const char *message;
  };
  for (const Case &c : std::vector<Case>{
           {"cuda:0,0", "device 'cuda:0,0' names device 0 twice"},
           {"cuda:", "device 'cuda:': expected cuda:N or cuda:N,M,... with "
                     "N, M device indices"},
           {"cuda:1,", "device 'cuda:1,': expected cuda:N or cuda:N,M,... "
                       "with N, M device indices"},
           {"cuda:x", "device 'cuda:x': expected cuda:N or cuda:N,M,... with "
                      "N, M device indices"},
           {"tpu", "unknown device 'tpu': use cpu, cuda, cuda:N or "
                   "cuda:N,M,..."}}) {
    SCOPED_TRACE(c.device);
    absl::StatusOr<std::unique_ptr<Runtime>> r = Runtime::create(c.device);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

std::vector<float> randomFloats(size_t n, std::mt19937 &gen) {
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> out(n);
  for (float &x : out)
    x = dist(gen) + 3.0f; // never zero
  return out;
}

/// Two devices. Param w [2, 3] split along dim 0 (device d holds row d),
/// input x [2, 4] split along dim 1 (device d holds columns 2d, 2d + 1).
/// Outputs: sum = w[0] + w[1] (all_reduce of the parts), gathered = the
/// parts of x stacked in device order ([2 devices][2 rows][2 columns]).
ModuleDesc twoDeviceModule() {
  ModuleDesc m;
  m.target = Target::Cpu;
  m.deviceCount = 2;
  m.params = {{"w", DType::F32, {SizeExprSpec::of(2), SizeExprSpec::of(3)}, 0}};
  m.producer = "RuntimeTest";
  EntryDesc e;
  e.name = "f";
  e.inputs = {{"x", DType::F32, {SizeExprSpec::of(2), SizeExprSpec::of(4)}, 1}};
  e.outputs = {{"sum", DType::F32, {SizeExprSpec::of(3)}},
               {"gathered", DType::F32, {SizeExprSpec::of(8)}}};
  e.plan = {CollectiveDesc{CollectiveKind::AllReduceSum,
                           {StorageKind::Param, 0, {}},
                           {StorageKind::Output, 0, {}},
                           DType::F32,
                           SizeExprSpec::of(3)},
            CollectiveDesc{CollectiveKind::AllGather,
                           {StorageKind::Input, 0, {}},
                           {StorageKind::Output, 1, {}},
                           DType::F32,
                           SizeExprSpec::of(4)}};
  m.entries = {e};
  return m;
}

TEST(RuntimeTest, RunsCollectivesAcrossSimulatedDevices) {
  std::mt19937 gen(std::random_device{}());
  std::vector<float> w = randomFloats(6, gen), x = randomFloats(8, gen);
  absl::StatusOr<Artifact> artifact =
      Artifact::fromBytes(serializeArtifact(twoDeviceModule()), "two.hymir");
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  absl::StatusOr<std::unique_ptr<Module>> module =
      (*runtime)->load(std::move(*artifact));
  ASSERT_TRUE(module.ok()) << module.status();
  EXPECT_EQ((*runtime)->deviceCount(), 2u);

  SafetensorsWriter writer;
  writer.add("w", DType::F32, {2, 3}, w.data(), w.size() * sizeof(float));
  absl::StatusOr<SafetensorsFile> weights =
      SafetensorsFile::fromBuffer(writer.serialize(), "w.safetensors");
  ASSERT_TRUE(weights.ok()) << weights.status();
  ASSERT_TRUE((*module)->bindWeights(*weights).ok());

  TensorMap inputs;
  inputs["x"] = *Tensor::fromBytes(DType::F32, {2, 4}, x.data(),
                                   x.size() * sizeof(float));
  absl::StatusOr<TensorMap> out = (*module)->call("f", inputs);
  ASSERT_TRUE(out.ok()) << out.status();
  const float *sum = reinterpret_cast<const float *>(out->at("sum").data());
  for (int j = 0; j < 3; ++j)
    EXPECT_FLOAT_EQ(sum[j], w[j] + w[3 + j]) << "column " << j;
  const float *gathered =
      reinterpret_cast<const float *>(out->at("gathered").data());
  for (int d = 0; d < 2; ++d)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        EXPECT_EQ(gathered[d * 4 + i * 2 + j], x[i * 4 + d * 2 + j])
            << "device " << d << " row " << i << " column " << j;
}

TEST(RuntimeTest, RejectsCollectiveCountsThatWouldWrap) {
  // A count whose byte size wraps around to a small number must be caught
  // before any memory is touched.
  ModuleDesc m = twoDeviceModule();
  std::get<CollectiveDesc>(m.entries[0].plan[0]).elements =
      SizeExprSpec::of((int64_t(1) << 62) + 1);
  absl::StatusOr<Artifact> artifact =
      Artifact::fromBytes(serializeArtifact(m), "two.hymir");
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  ASSERT_TRUE(runtime.ok());
  absl::StatusOr<std::unique_ptr<Module>> module =
      (*runtime)->load(std::move(*artifact));
  ASSERT_TRUE(module.ok()) << module.status();
  std::vector<float> w(6, 1.0f), x(8, 2.0f);
  SafetensorsWriter writer;
  writer.add("w", DType::F32, {2, 3}, w.data(), w.size() * sizeof(float));
  absl::StatusOr<SafetensorsFile> weights =
      SafetensorsFile::fromBuffer(writer.serialize(), "w.safetensors");
  ASSERT_TRUE(weights.ok());
  ASSERT_TRUE((*module)->bindWeights(*weights).ok());
  TensorMap inputs;
  inputs["x"] = *Tensor::fromBytes(DType::F32, {2, 4}, x.data(),
                                   x.size() * sizeof(float));
  absl::StatusOr<TensorMap> out = (*module)->call("f", inputs);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(out.status().message().find("is too large"), std::string::npos)
      << out.status();
}

TEST(RuntimeTest, ExplicitDeviceListMustMatchTheModule) {
  // The list is checked at load, before any cuda device is opened, only
  // when the runtime could be created; on a machine without a driver,
  // creating it fails with a message saying so.
  absl::StatusOr<std::unique_ptr<Runtime>> runtime =
      Runtime::create("cuda:0,1,2");
  if (!runtime.ok()) {
    EXPECT_NE(runtime.status().message().find("cuda"), std::string::npos);
    GTEST_SKIP() << "no cuda devices here: " << runtime.status();
  }
  ModuleDesc m = twoDeviceModule();
  absl::StatusOr<Artifact> artifact =
      Artifact::fromBytes(serializeArtifact(m), "two.hymir");
  ASSERT_TRUE(artifact.ok());
  absl::StatusOr<std::unique_ptr<Module>> module =
      (*runtime)->load(std::move(*artifact));
  EXPECT_FALSE(module.ok());
}

} // namespace
