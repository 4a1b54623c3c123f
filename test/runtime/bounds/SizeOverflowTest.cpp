//===- SizeOverflowTest.cpp - sizes past 64 bits are errors ---------------===//
//
// Byte counts the runtime computes from a plan, a shape or a caller's tensor
// are checked: one that does not fit in 64 bits is an error naming the
// sizes, never a wrapped-around (small) count that passes a bound check or
// prints as 18446744073709551612 bytes. The plan cases change, in memory,
// an artifact hymir-compile built from test/e2e/Inputs/linear_f32.mlir (the
// CTest runtime/size-overflow passes its path as the one argument after
// gtest's), so real kernels sit behind the checked steps.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/ArtifactWriter.h"
#include "hymir/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

using namespace hymir;

namespace {

std::string artifactPath;

constexpr int64_t kTokens = 9;

/// The compiled artifact's module, for a case to change.
ModuleDesc baseModule() {
  absl::StatusOr<Artifact> a = Artifact::load(artifactPath);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? a->module() : ModuleDesc{};
}

TensorMap inputs() {
  TensorMap in;
  for (auto [name, shape] :
       std::vector<std::pair<std::string, std::vector<int64_t>>>{
           {"x", {kTokens, 64}}, {"w", {48, 64}}, {"x3", {2, kTokens, 64}}}) {
    Tensor t(DType::F32, shape);
    std::fill(t.data(), t.data() + t.sizeBytes(), 0);
    in[name] = std::move(t);
  }
  return in;
}

/// Calls entry `linear` of `m` on the cpu; the call must fail with exactly
/// `message` (after the artifact's label).
void expectCallError(const ModuleDesc &m, absl::StatusCode code,
                     const std::string &message) {
  absl::StatusOr<Artifact> artifact =
      Artifact::fromBytes(serializeArtifact(m), "sizes.hymir");
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  absl::StatusOr<std::unique_ptr<Module>> module =
      (*runtime)->load(std::move(*artifact));
  ASSERT_TRUE(module.ok()) << module.status();
  absl::StatusOr<TensorMap> out = (*module)->call("linear", inputs());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), code);
  EXPECT_EQ(out.status().message(), "sizes.hymir: " + message);
}

LaunchKernelDesc &launch(ModuleDesc &m, size_t step) {
  return std::get<LaunchKernelDesc>(m.entries[0].plan[step]);
}

TEST(SizeOverflowTest, UnchangedArtifactRuns) {
  ModuleDesc m = baseModule();
  absl::StatusOr<Artifact> artifact =
      Artifact::fromBytes(serializeArtifact(m), "sizes.hymir");
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  ASSERT_TRUE(runtime.ok());
  absl::StatusOr<std::unique_ptr<Module>> module =
      (*runtime)->load(std::move(*artifact));
  ASSERT_TRUE(module.ok()) << module.status();
  absl::StatusOr<TensorMap> out = (*module)->call("linear", inputs());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->at("y").shape(), (std::vector<int64_t>{kTokens, 48}));
}

TEST(SizeOverflowTest, LaunchArgumentPastInt64) {
  // Step 1 reads x [tokens, 64] with strides [64, 1]; a stride of 2^62 puts
  // its last row 8 * 2^62 elements in: past int64.
  ModuleDesc m = baseModule();
  ASSERT_EQ(launch(m, 1).args[1].ref.kind, StorageKind::Input);
  launch(m, 1).args[1].strides[0] = SizeExprSpec::of(int64_t(1) << 62);
  expectCallError(m, absl::StatusCode::kOutOfRange,
                  "entry 'linear' step 1 (launch) arg 1 has sizes [9, 64] "
                  "and strides [4611686018427387904, 1], which address more "
                  "than 2^64 bytes of its input");
}

TEST(SizeOverflowTest, LaunchArgumentBytesPast64Bits) {
  // 2 rows 2^62 elements apart: the element index fits in int64, its byte
  // offset (4 bytes an element) does not fit in 64 bits.
  ModuleDesc m = baseModule();
  launch(m, 1).args[1].sizes[0] = SizeExprSpec::of(2);
  launch(m, 1).args[1].strides[0] = SizeExprSpec::of(int64_t(1) << 62);
  expectCallError(m, absl::StatusCode::kOutOfRange,
                  "entry 'linear' step 1 (launch) arg 1 has sizes [2, 64] "
                  "and strides [4611686018427387904, 1], which address more "
                  "than 2^64 bytes of its input");
}

TEST(SizeOverflowTest, LaunchArgumentPastItsStorageNamesTheBytes) {
  // Large but countable: the ordinary bound check, with the true count.
  ModuleDesc m = baseModule();
  launch(m, 1).args[1].strides[0] = SizeExprSpec::of(int64_t(1) << 40);
  expectCallError(m, absl::StatusCode::kOutOfRange,
                  "entry 'linear' step 1 (launch) arg 1 addresses "
                  "35184372089088 bytes of its input, which has 2304");
}

TEST(SizeOverflowTest, OutputPast64Bits) {
  ModuleDesc m = baseModule();
  int64_t big = int64_t(1) << 40;
  m.entries[0].outputs[0].shape = {SizeExprSpec::of(big),
                                   SizeExprSpec::of(big)};
  expectCallError(m, absl::StatusCode::kOutOfRange,
                  "entry 'linear': output 'y' of shape [1099511627776, "
                  "1099511627776] needs more than 2^64 bytes");
}

TEST(SizeOverflowTest, GemmPast64Bits) {
  // A library GEMM whose n * k elements overflow: the storage check must
  // not compare a wrapped-around size.
  ModuleDesc m = baseModule();
  GemmDesc g;
  g.x = {StorageKind::Input, 0, {}};
  g.w = {StorageKind::Input, 1, {}};
  g.y = {StorageKind::Output, 0, {}};
  g.m = SizeExprSpec::ofSymbol(0);
  g.n = int64_t(1) << 40;
  g.k = int64_t(1) << 40;
  g.dtype = DType::F32;
  g.outDtype = DType::F32;
  m.entries[0].plan = {g};
  expectCallError(m, absl::StatusCode::kOutOfRange,
                  "entry 'linear' step 0 (gemm): m = 9, n = 1099511627776, "
                  "k = 1099511627776: an operand size is negative or more "
                  "than 2^64 bytes");
}

TEST(SizeOverflowTest, TensorFromBytesPast64Bits) {
  int64_t big = int64_t(1) << 40;
  absl::StatusOr<Tensor> t =
      Tensor::fromBytes(DType::F32, {big, big}, nullptr, 0);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "tensor of F32 [1099511627776, "
                                  "1099511627776] needs more than 2^64 "
                                  "bytes, got 0");
  // A countable mismatch still names both sizes.
  std::vector<float> four(4);
  t = Tensor::fromBytes(DType::F32, {2, 3}, four.data(), 16);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            "tensor of 6 F32 elements needs 24 bytes, got 16");
}

} // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s [gtest flags] ARTIFACT.hymir\n", argv[0]);
    return 2;
  }
  artifactPath = argv[1];
  return RUN_ALL_TESTS();
}
