//===- ReduceScatterTest.cpp - reduce_scatter across simulated cpu devices ===//
//
// A hand-built module of N cpu devices whose only step is a ReduceScatterSum
// collective (artifact.fbs): each device contributes its part of a split
// input (N blocks of kBlock elements), device 0's block of the sum is the
// output. Checks the sum of every device's block 0 (f32 and bf16), that it
// equals the all_reduce's block bit for bit, the cpu collectives' other
// blocks directly, and a storage too small for the stacked source.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "hymir/Runtime/ArtifactWriter.h"
#include "hymir/Runtime/Runtime.h"
#include "hymir/Support/BFloat16.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace hymir;

namespace {

constexpr int64_t kBlock = 3;

/// Input x [N, N * kBlock] split along dim 0 (device d holds row d: its
/// contribution), output [kBlock]: device 0's block of the sum.
ModuleDesc scatterModule(int64_t n, DType dtype, CollectiveKind kind) {
  ModuleDesc m;
  m.target = Target::Cpu;
  m.deviceCount = static_cast<uint32_t>(n);
  m.producer = "ReduceScatterTest";
  EntryDesc e;
  e.name = "f";
  e.inputs = {
      {"x", dtype, {SizeExprSpec::of(n), SizeExprSpec::of(n * kBlock)}, 0}};
  int64_t out = kind == CollectiveKind::ReduceScatterSum ? kBlock : n * kBlock;
  e.outputs = {{"y", dtype, {SizeExprSpec::of(out)}}};
  e.plan = {CollectiveDesc{kind,
                           {StorageKind::Input, 0, {}},
                           {StorageKind::Output, 0, {}},
                           dtype,
                           SizeExprSpec::of(out)}};
  m.entries = {e};
  return m;
}

float value(int64_t d, int64_t i) { return 0.25f * d + 1.0f / (i + 3); }

absl::StatusOr<TensorMap> run(const ModuleDesc &m, int64_t n) {
  absl::StatusOr<Artifact> artifact =
      Artifact::fromBytes(serializeArtifact(m), "rs.hymir");
  if (!artifact.ok())
    return artifact.status();
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  if (!runtime.ok())
    return runtime.status();
  absl::StatusOr<std::unique_ptr<Module>> module =
      (*runtime)->load(std::move(*artifact));
  if (!module.ok())
    return module.status();
  std::vector<float> x;
  std::vector<uint16_t> xb;
  for (int64_t d = 0; d < n; ++d)
    for (int64_t i = 0; i < n * kBlock; ++i) {
      x.push_back(value(d, i));
      xb.push_back(floatToBf16(value(d, i)));
    }
  TensorMap inputs;
  if (m.entries[0].inputs[0].dtype == DType::F32)
    inputs["x"] = *Tensor::fromBytes(DType::F32, {n, n * kBlock}, x.data(),
                                     x.size() * sizeof(float));
  else
    inputs["x"] = *Tensor::fromBytes(DType::BF16, {n, n * kBlock}, xb.data(),
                                     xb.size() * sizeof(uint16_t));
  return (*module)->call("f", inputs);
}

TEST(ReduceScatterTest, DeviceZeroGetsBlockZeroOfTheSum) {
  for (int64_t n : {2, 4}) {
    absl::StatusOr<TensorMap> out =
        run(scatterModule(n, DType::F32, CollectiveKind::ReduceScatterSum), n);
    ASSERT_TRUE(out.ok()) << out.status();
    const auto *got = reinterpret_cast<const float *>(out->at("y").data());
    absl::StatusOr<TensorMap> reduced =
        run(scatterModule(n, DType::F32, CollectiveKind::AllReduceSum), n);
    ASSERT_TRUE(reduced.ok()) << reduced.status();
    const auto *all = reinterpret_cast<const float *>(reduced->at("y").data());
    for (int64_t i = 0; i < kBlock; ++i) {
      float sum = 0.0f;
      for (int64_t d = 0; d < n; ++d)
        sum += value(d, i);
      EXPECT_EQ(got[i], sum) << n << " devices, element " << i;
      EXPECT_EQ(got[i], all[i]) << "the all_reduce's block, element " << i;
    }
  }
}

TEST(ReduceScatterTest, Bf16RoundsTheF32SumOnce) {
  absl::StatusOr<TensorMap> out =
      run(scatterModule(2, DType::BF16, CollectiveKind::ReduceScatterSum), 2);
  ASSERT_TRUE(out.ok()) << out.status();
  const auto *got = reinterpret_cast<const uint16_t *>(out->at("y").data());
  for (int64_t i = 0; i < kBlock; ++i) {
    float a = bf16ToFloat(floatToBf16(value(0, i))),
          b = bf16ToFloat(floatToBf16(value(1, i)));
    EXPECT_EQ(got[i], floatToBf16(a + b)) << "element " << i;
  }
}

TEST(ReduceScatterTest, EveryDeviceKeepsItsBlock) {
  const size_t n = 3, elements = 2;
  std::vector<std::vector<float>> src(n), dst(n, std::vector<float>(elements));
  std::vector<const void *> s;
  std::vector<void *> d;
  for (size_t r = 0; r < n; ++r) {
    for (size_t i = 0; i < n * elements; ++i)
      src[r].push_back(static_cast<float>(100 * r + i));
    s.push_back(src[r].data());
    d.push_back(dst[r].data());
  }
  ASSERT_TRUE(createCpuCollectives(n)
                  ->reduceScatterSum(s, d, elements, DType::F32)
                  .ok());
  for (size_t r = 0; r < n; ++r)
    for (size_t i = 0; i < elements; ++i)
      EXPECT_EQ(dst[r][i], 300.0f + 3.0f * (r * elements + i))
          << "device " << r << " element " << i;
}

TEST(ReduceScatterTest, RefusesASourceSmallerThanTheStackedBlocks) {
  // Each device's part of x holds 2 blocks; 3 blocks of 3 would be read.
  ModuleDesc m = scatterModule(2, DType::F32, CollectiveKind::ReduceScatterSum);
  m.deviceCount = 3;
  m.entries[0].inputs[0].shape = {SizeExprSpec::of(3), SizeExprSpec::of(6)};
  absl::StatusOr<TensorMap> out = [&]() -> absl::StatusOr<TensorMap> {
    absl::StatusOr<Artifact> artifact =
        Artifact::fromBytes(serializeArtifact(m), "rs.hymir");
    if (!artifact.ok())
      return artifact.status();
    auto runtime = Runtime::create("cpu");
    if (!runtime.ok())
      return runtime.status();
    auto module = (*runtime)->load(std::move(*artifact));
    if (!module.ok())
      return module.status();
    std::vector<float> x(18, 1.0f);
    TensorMap inputs;
    inputs["x"] = *Tensor::fromBytes(DType::F32, {3, 6}, x.data(), 72);
    return (*module)->call("f", inputs);
  }();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(out.status().message().find("moves 36 bytes from each of 3 "
                                        "devices between storage of 24"),
            std::string::npos)
      << out.status();
}

} // namespace
