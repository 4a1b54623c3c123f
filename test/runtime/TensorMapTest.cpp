//===- TensorMapTest.cpp - tensor map steps at run time, without a GPU ----===//
//
// tensorMapEncoding (runtime/lib/TensorMap.h): the arguments the cuda driver
// gives cuTensorMapEncodeTiled for a step at one call, and the call-time
// rules it checks with a message naming the value. Then a tensor map step
// run by the cpu driver: an error saying tensor maps need the cuda driver,
// not a crash; the source's bounds are checked first, and a step outside
// its token range does nothing.
//
//===----------------------------------------------------------------------===//

#include "TensorMap.h"

#include "hymir/Runtime/ArtifactWriter.h"
#include "hymir/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <vector>

using namespace hymir;

namespace {

/// q bf16 [tokens, 8, 64] read in boxes of [16, 8, 64] with 128-byte swizzle.
TensorMapDesc qMap() {
  TensorMapDesc t;
  t.source = {StorageKind::Input, 0, {}};
  t.dtype = DType::BF16;
  t.sizes = {SizeExprSpec::ofSymbol(0), SizeExprSpec::of(8),
             SizeExprSpec::of(64)};
  t.strides = {SizeExprSpec::of(512), SizeExprSpec::of(64),
               SizeExprSpec::of(1)};
  t.target = {StorageKind::Buffer, 0, {}};
  t.box = {16, 8, 64};
  t.swizzle = 128;
  return t;
}

TEST(TensorMapTest, EncodingIsInnermostFirstInBytes) {
  absl::StatusOr<TensorMapEncoding> e =
      tensorMapEncoding(qMap(), 0x7f0000001000, {100, 8, 64}, {512, 64, 1});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->dataType, 9u); // CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
  EXPECT_EQ(e->rank, 3u);
  EXPECT_EQ(e->address, 0x7f0000001000u);
  EXPECT_EQ(e->dims, (std::array<uint64_t, 5>{64, 8, 100, 0, 0}));
  EXPECT_EQ(e->strides, (std::array<uint64_t, 4>{128, 1024, 0, 0}));
  EXPECT_EQ(e->box, (std::array<uint32_t, 5>{64, 8, 16, 0, 0}));
  EXPECT_EQ(e->elementStrides, (std::array<uint32_t, 5>{1, 1, 1, 0, 0}));
  EXPECT_EQ(e->interleave, 0u);
  EXPECT_EQ(e->swizzle, 3u);     // CU_TENSOR_MAP_SWIZZLE_128B
  EXPECT_EQ(e->l2Promotion, 2u); // CU_TENSOR_MAP_L2_PROMOTION_L2_128B
  EXPECT_EQ(e->oobFill, 0u);     // zeros
  EXPECT_EQ(describeTensorMapEncoding(*e),
            "data type 9, rank 3, address 0x7f0000001000, dims [64, 8, 100] "
            "(innermost first), byte strides [128, 1024], box [64, 8, 16], "
            "swizzle 3, L2 promotion 2");
}

TEST(TensorMapTest, EncodingOfOneDimAndEverySwizzle) {
  TensorMapDesc t;
  t.dtype = DType::F32;
  t.sizes = {SizeExprSpec::of(1000)};
  t.strides = {SizeExprSpec::of(1)};
  t.box = {8};
  for (auto [swizzle, code] : std::vector<std::pair<uint32_t, uint32_t>>{
           {0, 0}, {32, 1}, {64, 2}, {128, 3}}) {
    t.swizzle = swizzle;
    absl::StatusOr<TensorMapEncoding> e =
        tensorMapEncoding(t, 4096, {1000}, {1});
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->swizzle, code) << swizzle;
    EXPECT_EQ(e->dims[0], 1000u);
    EXPECT_EQ(e->dataType, 7u); // FLOAT32
  }
}

TEST(TensorMapTest, DataTypes) {
  EXPECT_EQ(tensorMapDataType(DType::U8), 0u);
  EXPECT_EQ(tensorMapDataType(DType::I32), 3u);
  EXPECT_EQ(tensorMapDataType(DType::I64), 5u);
  EXPECT_EQ(tensorMapDataType(DType::F16), 6u);
  EXPECT_EQ(tensorMapDataType(DType::F32), 7u);
  EXPECT_EQ(tensorMapDataType(DType::F64), 8u);
  EXPECT_EQ(tensorMapDataType(DType::BF16), 9u);
}

TEST(TensorMapTest, CallTimeRules) {
  struct Case {
    const char *name;
    uint64_t address;
    std::vector<int64_t> sizes, strides;
    const char *message;
  };
  std::vector<Case> cases = {
      {"address off the 16-byte grid",
       0x1008,
       {100, 8, 64},
       {512, 64, 1},
       "the source's address 0x1008 is not a multiple of 16 bytes, which "
       "TMA needs (its storage offset moves it off the 16-byte grid)"},
      {"byte stride off the grid",
       0x1000,
       {100, 8, 64},
       {516, 64, 1},
       "the source's dim 0 has a stride of 516 x 2 = 1032 bytes, which is "
       "not a multiple of 16 bytes, as TMA needs"},
      {"empty dim",
       0x1000,
       {0, 8, 64},
       {512, 64, 1},
       "the source's dim 0 has 0 elements; a tensor map needs 1 to 2^32 in "
       "every dim"},
      {"dim past 2^32",
       0x1000,
       {(int64_t{1} << 32) + 1, 8, 64},
       {512, 64, 1},
       "the source's dim 0 has 4294967297 elements; a tensor map needs 1 to "
       "2^32 in every dim"},
      {"byte stride at 2^40",
       0x1000,
       {2, 8, 64},
       {int64_t{1} << 39, 64, 1},
       "the source's dim 0 has a stride of 549755813888 elements; a tensor "
       "map's byte strides are below 2^40"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<TensorMapEncoding> e =
        tensorMapEncoding(qMap(), c.address, c.sizes, c.strides);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(e.status().message(), c.message);
  }
}

/// A cpu module whose entry `attend` (q bf16 [tokens, 8, 64]) has only a
/// tensor map step, for tokens >= 2, into buffer 0.
ModuleDesc cpuMapModule() {
  ModuleDesc m;
  m.target = Target::Cpu;
  m.producer = "TensorMapTest";
  EntryDesc e;
  e.name = "attend";
  e.symbols = {{"tokens", 0, 0, 64}};
  e.inputs = {{"q", DType::BF16, qMap().sizes}};
  e.buffers = {{0, 128}};
  e.arenaBytes = 128;
  TensorMapDesc t = qMap();
  t.tokensAtLeast = 2;
  e.plan = {t};
  m.entries = {e};
  return m;
}

absl::Status callOnCpu(const ModuleDesc &m, int64_t tokens) {
  absl::StatusOr<Artifact> artifact =
      Artifact::fromBytes(serializeArtifact(m), "map.hymir");
  if (!artifact.ok())
    return artifact.status();
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::create("cpu");
  if (!runtime.ok())
    return runtime.status();
  absl::StatusOr<std::unique_ptr<Module>> module =
      (*runtime)->load(std::move(*artifact));
  if (!module.ok())
    return module.status();
  std::vector<uint16_t> q(tokens * 8 * 64, 0x3f80);
  TensorMap inputs;
  inputs["q"] = *Tensor::fromBytes(DType::BF16, {tokens, 8, 64}, q.data(),
                                   q.size() * sizeof(uint16_t));
  return (*module)->call("attend", inputs).status();
}

TEST(TensorMapTest, CpuDriverRefusesTensorMaps) {
  absl::Status s = callOnCpu(cpuMapModule(), 4);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "map.hymir: entry 'attend' step 0 (tensor_map): cpu: tensor maps "
            "need the cuda driver (TMA is a GPU feature; the cpu target never "
            "plans them)");
  // Outside its token range the step does nothing.
  EXPECT_TRUE(callOnCpu(cpuMapModule(), 1).ok());
}

TEST(TensorMapTest, SourceBoundsComeFirst) {
  // A source reaching past its storage is refused before anything is
  // encoded.
  ModuleDesc m = cpuMapModule();
  std::get<TensorMapDesc>(m.entries[0].plan[0]).strides[0] =
      SizeExprSpec::of(1024);
  absl::Status s = callOnCpu(m, 4);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(), "map.hymir: entry 'attend' step 0 (tensor_map) "
                         "source addresses 7168 bytes of its input, which "
                         "has 4096");
  // A source moved off the 16-byte grid is named before the driver.
  m = cpuMapModule();
  std::get<TensorMapDesc>(m.entries[0].plan[0]).source.offsetBytes =
      SizeExprSpec::of(8);
  std::get<TensorMapDesc>(m.entries[0].plan[0]).sizes[0] =
      SizeExprSpec::ofSymbol(0, 1, -1);
  s = callOnCpu(m, 4);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("map.hymir: entry 'attend' step 0 (tensor_map): "
                             "the source's address 0x"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("8 is not a multiple of 16 bytes"),
            std::string::npos)
      << s.message();
}

} // namespace
