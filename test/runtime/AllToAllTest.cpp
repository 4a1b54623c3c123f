//===- AllToAllTest.cpp - all_to_all across simulated cpu devices ---------===//
//
// A two-device module built by hand whose only step is an AllToAll
// collective (artifact.fbs): each device's rows and offsets are its part of
// a split input; the outputs are device 0's received rows and offsets.
// Checks the exchange (device order, zeros past the received rows), the
// run-time refusals of offsets that leave the capacity, and the validator's
// refusal of rows of no elements.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/ArtifactWriter.h"
#include "hymir/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace hymir;

namespace {

constexpr int64_t kRows = 4, kCols = 2;

/// Inputs rows [2 * 4, 2] f32 and offsets [2 * 3] i32, both split along dim
/// 0; outputs device 0's received rows [4, 2] and offsets [3].
ModuleDesc allToAllModule() {
  ModuleDesc m;
  m.target = Target::Cpu;
  m.deviceCount = 2;
  m.producer = "AllToAllTest";
  EntryDesc e;
  e.name = "f";
  e.inputs = {{"rows",
               DType::F32,
               {SizeExprSpec::of(2 * kRows), SizeExprSpec::of(kCols)},
               0},
              {"offsets", DType::I32, {SizeExprSpec::of(6)}, 0}};
  e.outputs = {{"received",
                DType::F32,
                {SizeExprSpec::of(kRows), SizeExprSpec::of(kCols)}},
               {"received_offsets", DType::I32, {SizeExprSpec::of(3)}}};
  CollectiveDesc c{CollectiveKind::AllToAll,
                   {StorageKind::Input, 0, {}},
                   {StorageKind::Output, 0, {}},
                   DType::F32,
                   SizeExprSpec::of(kRows * kCols)};
  c.srcOffsets = {StorageKind::Input, 1, {}};
  c.dstOffsets = {StorageKind::Output, 1, {}};
  c.row = kCols;
  e.plan = {c};
  m.entries = {e};
  return m;
}

absl::StatusOr<TensorMap> run(const ModuleDesc &m,
                              const std::vector<int32_t> &offsets) {
  absl::StatusOr<Artifact> artifact =
      Artifact::fromBytes(serializeArtifact(m), "a2a.hymir");
  if (!artifact.ok())
    return artifact.status();
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  if (!runtime.ok())
    return runtime.status();
  absl::StatusOr<std::unique_ptr<Module>> module =
      (*runtime)->load(std::move(*artifact));
  if (!module.ok())
    return module.status();
  // Row r of device d holds (100 d + r, -(100 d + r)).
  std::vector<float> rows;
  for (int d = 0; d < 2; ++d)
    for (int r = 0; r < kRows; ++r)
      rows.insert(rows.end(), {100.0f * d + r, -(100.0f * d + r)});
  TensorMap inputs;
  inputs["rows"] = *Tensor::fromBytes(DType::F32, {2 * kRows, kCols},
                                      rows.data(), rows.size() * 4);
  inputs["offsets"] =
      *Tensor::fromBytes(DType::I32, {6}, offsets.data(), offsets.size() * 4);
  return (*module)->call("f", inputs);
}

TEST(AllToAllTest, ExchangesVariableCountsInDeviceOrder) {
  // Device 0 keeps rows [0, 1) and sends [1, 3) to device 1; device 1
  // sends rows [0, 2) to device 0 and keeps [2, 2).
  absl::StatusOr<TensorMap> out = run(allToAllModule(), {0, 1, 3, 0, 2, 2});
  ASSERT_TRUE(out.ok()) << out.status();
  const auto *got = reinterpret_cast<const float *>(out->at("received").data());
  std::vector<float> want = {0, -0.0f, 100, -100, 101, -101, 0, 0};
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(got[i], want[i]) << "element " << i;
  const auto *offsets =
      reinterpret_cast<const int32_t *>(out->at("received_offsets").data());
  EXPECT_EQ(offsets[0], 0);
  EXPECT_EQ(offsets[1], 1);
  EXPECT_EQ(offsets[2], 3);
}

TEST(AllToAllTest, RefusesOffsetsOutsideTheCapacity) {
  absl::StatusOr<TensorMap> out = run(allToAllModule(), {0, 1, 5, 0, 2, 2});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(out.status().message().find(
                "device 0 sends by offsets that are not non-decreasing in "
                "[0, 4] (entry 2 is 5)"),
            std::string::npos)
      << out.status();
  out = run(allToAllModule(), {0, 2, 1, 0, 0, 0});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("(entry 2 is 1)"), std::string::npos)
      << out.status();
}

TEST(AllToAllTest, RefusesReceivingMoreThanTheCapacity) {
  // Device 0 would receive 3 of its own rows and 4 of device 1's.
  absl::StatusOr<TensorMap> out = run(allToAllModule(), {0, 3, 3, 0, 4, 4});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(out.status().message().find(
                "device 0 receives more than its 4 rows (3 so far, 4 more "
                "from device 1)"),
            std::string::npos)
      << out.status();
}

TEST(AllToAllTest, ValidatorRefusesEmptyRows) {
  ModuleDesc m = allToAllModule();
  std::get<CollectiveDesc>(m.entries[0].plan[0]).row = 0;
  absl::StatusOr<Artifact> artifact =
      Artifact::fromBytes(serializeArtifact(m), "a2a.hymir");
  ASSERT_FALSE(artifact.ok());
  EXPECT_NE(artifact.status().message().find(
                "has all_to_all rows of 0 elements; rows must be positive"),
            std::string::npos)
      << artifact.status();
}

} // namespace
