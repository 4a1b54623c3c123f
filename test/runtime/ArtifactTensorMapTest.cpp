//===- ArtifactTensorMapTest.cpp - tensor map steps in the artifact -------===//
//
// The TensorMap step (schema version 3): it survives the writer and the
// loader, the listing shows it, and validateModule refuses every step the
// runtime could not encode or whose buffer it could not own, naming the
// entry, the step and the value at fault.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"
#include "hymir/Runtime/ArtifactListing.h"
#include "hymir/Runtime/ArtifactWriter.h"

#include <gtest/gtest.h>

#include <functional>

using namespace hymir;

namespace {

/// `attend`: input q bf16 [tokens, 8, 64]; buffer 0 (4096 B) and buffer 1
/// (the map's 128 B); a tensor map of q into buffer 1 for tokens >= 2.
ModuleDesc mapModule() {
  ModuleDesc m;
  m.target = Target::Cuda;
  m.chip = "sm_90a";
  m.producer = "ArtifactTensorMapTest";
  EntryDesc e;
  e.name = "attend";
  e.symbols = {{"tokens", 0, 0, 64}};
  e.inputs = {
      {"q",
       DType::BF16,
       {SizeExprSpec::ofSymbol(0), SizeExprSpec::of(8), SizeExprSpec::of(64)}}};
  e.buffers = {{0, 4096}, {4096, 128}};
  e.arenaBytes = 4224;
  TensorMapDesc t;
  t.source = {StorageKind::Input, 0, {}};
  t.dtype = DType::BF16;
  t.sizes = e.inputs[0].shape;
  t.strides = {SizeExprSpec::of(512), SizeExprSpec::of(64),
               SizeExprSpec::of(1)};
  t.target = {StorageKind::Buffer, 1, {}};
  t.box = {16, 8, 64};
  t.swizzle = 128;
  t.tokensAtLeast = 2;
  e.plan = {t};
  m.entries = {e};
  return m;
}

TensorMapDesc &map0(ModuleDesc &m) {
  return std::get<TensorMapDesc>(m.entries[0].plan[0]);
}

TEST(ArtifactTensorMapTest, RoundTripAndListing) {
  ModuleDesc m = mapModule();
  ASSERT_TRUE(validateModule(m, "map.hymir").ok())
      << validateModule(m, "map.hymir");
  absl::StatusOr<Artifact> a =
      Artifact::fromBytes(serializeArtifact(m), "map.hymir");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->module() == m);
  EXPECT_EQ(stepKindName(a->module().entries[0].plan[0]), "tensor_map");
  // Every field takes part in equality.
  std::vector<std::function<void(TensorMapDesc &)>> changes = {
      [](TensorMapDesc &t) { t.source.index = 1; },
      [](TensorMapDesc &t) { t.dtype = DType::F16; },
      [](TensorMapDesc &t) { t.sizes[1] = SizeExprSpec::of(4); },
      [](TensorMapDesc &t) { t.strides[0] = SizeExprSpec::of(1024); },
      [](TensorMapDesc &t) { t.target.offsetBytes = SizeExprSpec::of(16); },
      [](TensorMapDesc &t) { t.box[0] = 32; },
      [](TensorMapDesc &t) { t.swizzle = 64; },
      [](TensorMapDesc &t) { t.tokensAtLeast = 0; },
      [](TensorMapDesc &t) { t.tokensAtMost = 9; },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    SCOPED_TRACE(i);
    ModuleDesc other = m;
    changes[i](map0(other));
    EXPECT_FALSE(other == m);
  }
  std::string listing = artifactListing(m);
  EXPECT_NE(listing.find("  step 0: tensor_map BF16[tokens, 8, 64] strides "
                         "[512, 64, 1] box [16, 8, 64] swizzle 128 B when "
                         "tokens >= 2 (input 0 -> buffer 1)\n"),
            std::string::npos)
      << listing;
}

TEST(ArtifactTensorMapTest, ValidatorRefusesBadMaps) {
  struct Case {
    const char *name;
    std::function<void(ModuleDesc &)> mutate;
    const char *message;
  };
  const char *step = "entry 'attend' step 0 (tensor_map) ";
  std::vector<Case> cases = {
      {"rank 0",
       [](ModuleDesc &m) {
         map0(m).sizes.clear();
         map0(m).strides.clear();
         map0(m).box.clear();
       },
       "has a source of rank 0; a tensor map has 1 to 5 dims"},
      {"rank 6",
       [](ModuleDesc &m) {
         TensorMapDesc &t = map0(m);
         t.sizes.insert(t.sizes.begin(), 3, SizeExprSpec::of(1));
         t.strides.insert(t.strides.begin(), 3, SizeExprSpec::of(0));
         t.box.insert(t.box.begin(), 3, 1);
       },
       "has a source of rank 6; a tensor map has 1 to 5 dims"},
      {"box count", [](ModuleDesc &m) { map0(m).box.pop_back(); },
       "has 2 box extents for a source of rank 3; one per dim"},
      {"box zero", [](ModuleDesc &m) { map0(m).box[0] = 0; },
       "has box extent 0 in dim 0; extents are in [1, 256]"},
      {"box past 256", [](ModuleDesc &m) { map0(m).box[1] = 257; },
       "has box extent 257 in dim 1; extents are in [1, 256]"},
      {"swizzle", [](ModuleDesc &m) { map0(m).swizzle = 48; },
       "has swizzle 48; it is 0, 32, 64 or 128 bytes"},
      {"inner bytes",
       [](ModuleDesc &m) {
         map0(m).box[2] = 4;
         map0(m).swizzle = 0;
       },
       "has an innermost box of 4 x 2 = 8 bytes; it must be a multiple of "
       "16 bytes"},
      {"swizzle span", [](ModuleDesc &m) { map0(m).swizzle = 64; },
       "has an innermost box of 64 x 2 = 128 bytes; with swizzle 64 it "
       "spans at most 64 bytes"},
      {"strides count", [](ModuleDesc &m) { map0(m).strides.pop_back(); },
       "source has 3 sizes and 2 strides; the counts must match"},
      {"negative size",
       [](ModuleDesc &m) { map0(m).sizes[1] = SizeExprSpec::of(-1); },
       "source sizes[1] is -1; sizes are non-negative"},
      {"negative stride",
       [](ModuleDesc &m) { map0(m).strides[0] = SizeExprSpec::of(-512); },
       "source strides[0] is -512; strides are non-negative"},
      {"inner stride",
       [](ModuleDesc &m) { map0(m).strides[2] = SizeExprSpec::of(2); },
       "source has an innermost stride other than the constant 1; a tensor "
       "map reads whole rows"},
      {"unknown dtype",
       [](ModuleDesc &m) { map0(m).dtype = static_cast<DType>(42); },
       "source has dtype 42, which is not a known dtype"},
      {"source out of range", [](ModuleDesc &m) { map0(m).source.index = 3; },
       "source refers to input 3, but the entry has 1 inputs"},
      {"target not a buffer",
       [](ModuleDesc &m) { map0(m).target = {StorageKind::Input, 0, {}}; },
       "target is input storage; a tensor map is written into a buffer"},
      {"target past the buffers",
       [](ModuleDesc &m) { map0(m).target.index = 2; },
       "target refers to buffer 2, but the entry has 2 buffers"},
      {"target too small",
       [](ModuleDesc &m) { m.entries[0].buffers[1].sizeBytes = 64; },
       "target has 128 bytes at offset 0 of buffer 1, which has 64"},
      {"target offset",
       [](ModuleDesc &m) { map0(m).target.offsetBytes = SizeExprSpec::of(8); },
       "target has 128 bytes at offset 8 of buffer 1, which has 128"},
      {"target offset on tokens",
       [](ModuleDesc &m) {
         map0(m).target.offsetBytes = SizeExprSpec::ofSymbol(0);
       },
       "target has an offset that is not a non-negative constant"},
      {"shared bytes",
       [](ModuleDesc &m) { m.entries[0].buffers[0].sizeBytes = 4097; },
       "target is buffer 1, which shares arena bytes with buffer 0; a "
       "tensor map's buffer has bytes of its own"},
      {"token range",
       [](ModuleDesc &m) {
         map0(m).tokensAtLeast = 5;
         map0(m).tokensAtMost = 4;
       },
       "runs for token counts [5, 4], which is not a range"},
      {"guard without tokens",
       [](ModuleDesc &m) {
         EntryDesc &e = m.entries[0];
         e.symbols.clear();
         e.inputs[0].shape[0] = SizeExprSpec::of(4);
         map0(m).sizes[0] = SizeExprSpec::of(4);
       },
       "depends on the token count of an entry that has none"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    ModuleDesc m = mapModule();
    c.mutate(m);
    absl::Status s = validateModule(m, "map.hymir");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), std::string("map.hymir: ") + step + c.message);
    // The loader says the same.
    absl::StatusOr<Artifact> a =
        Artifact::fromBytes(serializeArtifact(m), "map.hymir");
    EXPECT_EQ(a.status(), s);
  }
}

} // namespace
