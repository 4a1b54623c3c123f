//===- ArtifactTiesTest.cpp - tied outputs in the artifact ----------------===//
//
// TensorSpec.tied_to (schema version 2): a tied output survives the writer
// and the loader, the listing shows it, and validateModule refuses every
// tie the runtime could not honour, naming the entry and the output.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"
#include "hymir/Runtime/ArtifactListing.h"
#include "hymir/Runtime/ArtifactWriter.h"

#include <gtest/gtest.h>

#include <functional>
#include <sstream>

using namespace hymir;

namespace {

/// `step`: input state [tokens, 16] tied to output state_out, an untied
/// output y, and a copy from the input's storage into y.
ModuleDesc tiedModule() {
  ModuleDesc m;
  m.target = Target::Cpu;
  m.producer = "ArtifactTiesTest";
  EntryDesc e;
  e.name = "step";
  e.symbols = {{"tokens", 0, 0, 64}};
  std::vector<SizeExprSpec> shape = {SizeExprSpec::ofSymbol(0),
                                     SizeExprSpec::of(16)};
  e.inputs = {{"state", DType::F32, shape}, {"x", DType::F32, shape}};
  e.outputs = {{"y", DType::F32, shape}, {"state_out", DType::F32, shape}};
  e.outputs[1].tiedTo = 0;
  e.plan = {CopyDesc{{StorageKind::Input, 0, {}},
                     {StorageKind::Output, 0, {}},
                     SizeExprSpec::ofSymbol(0, 64)}};
  m.entries = {e};
  return m;
}

// A split state (hymir-shard's lightning states and KV caches split by
// heads): the tied output is split along the same dim.
TEST(ArtifactTiesTest, SplitTiedOutput) {
  ModuleDesc m = tiedModule();
  m.deviceCount = 2;
  m.entries[0].inputs[0].shardDim = 1;
  m.entries[0].outputs[1].shardDim = 1;
  EXPECT_TRUE(validateModule(m, "tied.hymir").ok())
      << validateModule(m, "tied.hymir");
  // An untied output is never split.
  m.entries[0].outputs[0].shardDim = 1;
  EXPECT_EQ(validateModule(m, "tied.hymir").message(),
            "tied.hymir: entry 'step' output 'y' has shard dim 1; only "
            "params, inputs and tied outputs can be sharded");
}

TEST(ArtifactTiesTest, RoundTripAndListing) {
  ModuleDesc m = tiedModule();
  ASSERT_TRUE(validateModule(m, "tied.hymir").ok())
      << validateModule(m, "tied.hymir");
  absl::StatusOr<Artifact> a =
      Artifact::fromBytes(serializeArtifact(m), "tied.hymir");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->module() == m);
  EXPECT_EQ(a->module().entries[0].outputs[1].tiedTo, 0);
  EXPECT_EQ(a->module().entries[0].outputs[0].tiedTo, -1);
  EXPECT_EQ(a->module().entries[0].inputs[0].tiedTo, -1);
  // The tie takes part in equality.
  ModuleDesc untied = m;
  untied.entries[0].outputs[1].tiedTo = -1;
  EXPECT_FALSE(untied == m);
  std::string listing = artifactListing(m);
  EXPECT_NE(listing.find("output 1 state_out: F32[tokens, 16] tied to input "
                         "0\n"),
            std::string::npos)
      << listing;
  EXPECT_NE(listing.find("output 0 y: F32[tokens, 16]\n"), std::string::npos)
      << listing;
}

TEST(ArtifactTiesTest, ValidatorRefusesBadTies) {
  struct Case {
    const char *name;
    std::function<void(ModuleDesc &)> mutate;
    const char *message;
  };
  std::vector<Case> cases = {
      {"tied past the inputs",
       [](ModuleDesc &m) { m.entries[0].outputs[1].tiedTo = 2; },
       "entry 'step' output 'state_out' is tied to input 2, but the entry "
       "has 2 inputs"},
      {"tied to a negative index",
       [](ModuleDesc &m) { m.entries[0].outputs[1].tiedTo = -5; },
       "entry 'step' output 'state_out' is tied to input -5, but the entry "
       "has 2 inputs"},
      {"another dtype",
       [](ModuleDesc &m) { m.entries[0].outputs[1].dtype = DType::BF16; },
       "entry 'step' output 'state_out' is tied to input 'state' of another "
       "dtype or shape"},
      {"another shape",
       [](ModuleDesc &m) {
         m.entries[0].outputs[1].shape[1] = SizeExprSpec::of(8);
       },
       "entry 'step' output 'state_out' is tied to input 'state' of another "
       "dtype or shape"},
      {"two outputs tied to one input",
       [](ModuleDesc &m) { m.entries[0].outputs[0].tiedTo = 0; },
       "entry 'step' output 'state_out' is tied to input 'state', as output "
       "0 is"},
      {"a tied input", [](ModuleDesc &m) { m.entries[0].inputs[1].tiedTo = 0; },
       "entry 'step' input 'x' is tied to input 0; only outputs are tied"},
      {"a sharded input, its tied output whole",
       [](ModuleDesc &m) {
         m.deviceCount = 2;
         m.entries[0].inputs[0].shardDim = 1;
       },
       "entry 'step' output 'state_out' is tied to input 'state', which is "
       "sharded along dim 1, but has shard dim -1"},

      {"a step writing a tied output's storage",
       [](ModuleDesc &m) {
         std::get<CopyDesc>(m.entries[0].plan[0]).dst.index = 1;
       },
       "entry 'step' step 0 (copy) dst refers to output 1, which is tied to "
       "input 0 and has no storage of its own"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    ModuleDesc m = tiedModule();
    c.mutate(m);
    absl::Status s = validateModule(m, "tied.hymir");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), std::string("tied.hymir: ") + c.message);
    // The loader says the same.
    absl::StatusOr<Artifact> a =
        Artifact::fromBytes(serializeArtifact(m), "tied.hymir");
    EXPECT_EQ(a.status(), s);
  }
}

} // namespace
