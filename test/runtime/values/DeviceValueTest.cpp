//===- DeviceValueTest.cpp - tied entry arguments and device values -------===//
//
// Device values (Runtime.h) on the cpu device, through artifacts that
// hymir-compile built from test/runtime/Inputs (the CTest runtime/device-
// values passes their folder as the one argument after gtest's):
//
//  - tied_state.hymir: `step` updates `state` in place (state_out = state *
//    0.5 + x, y = state_out * x). A state kept as a device value across
//    calls, one kept as host tensors, and a host computation must agree
//    after every call; the plan has no copy step for the tied output.
//    `reread` reads its old state after the update: computed aside, copied
//    in last.
//  - tied_lightning.hymir (a second module in the same runtime, which the
//    cpu driver once confused with the first): lightning attention with its
//    state tied, updated in place by the kernel. k calls
//    of one token each, the state a device value, must give what one call of
//    k tokens gives, and both what the fp64 oracle (the entry's reference
//    program) gives.
//  - the errors: wrong shape or dtype, a value of another runtime, a value
//    passed twice or for an input also given as a tensor, an empty value,
//    unknown names.
//  - calls kept for replay (CallOptions::cudaGraphs) on the cpu, where they
//    run without graphs and say why: the same results as plain calls with
//    host inputs copied in afresh each call, one kept call per set of
//    device values and per token count, a new value at an old address, a
//    flagged run-time check cleared for the next call (kept_checks.hymir),
//    two devices, and Module::time with the option.
//
// Inputs are fresh random numbers each run; the seed is printed on failure
// and HYMIR_TEST_SEED repeats it.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Reference.h"
#include "hymir/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

using namespace hymir;

namespace {

std::string artifactDir;

uint64_t testSeed() {
  if (const char *env = std::getenv("HYMIR_TEST_SEED"))
    return std::strtoull(env, nullptr, 10);
  return std::random_device{}();
}

Tensor randomTensor(std::vector<int64_t> shape, std::mt19937_64 &gen,
                    float lo = -1.0f, float hi = 1.0f) {
  Tensor t(DType::F32, std::move(shape));
  std::uniform_real_distribution<float> dist(lo, hi);
  auto *p = reinterpret_cast<float *>(t.data());
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = dist(gen);
  return t;
}

const float *floats(const Tensor &t) {
  return reinterpret_cast<const float *>(t.data());
}

std::unique_ptr<Module> load(Runtime &runtime, const std::string &name) {
  absl::StatusOr<std::unique_ptr<Module>> m =
      runtime.load(artifactDir + "/" + name);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : nullptr;
}

const EntryDesc &entryOf(const Module &m, const std::string &name) {
  for (const EntryDesc &e : m.desc().entries)
    if (e.name == name)
      return e;
  ADD_FAILURE() << "no entry " << name;
  static EntryDesc none;
  return none;
}

class DeviceValueTest : public ::testing::Test {
protected:
  void SetUp() override {
    seed = testSeed();
    gen.seed(seed);
    absl::StatusOr<std::unique_ptr<Runtime>> r = Runtime::create("cpu");
    ASSERT_TRUE(r.ok()) << r.status();
    runtime = std::move(*r);
    module = load(*runtime, "tied_state.hymir");
    ASSERT_NE(module, nullptr);
  }
  void TearDown() override {
    if (HasFailure())
      std::cerr << "seed " << seed << " (HYMIR_TEST_SEED repeats it)\n";
  }

  uint64_t seed = 0;
  std::mt19937_64 gen;
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<Module> module;
};

// The tie reaches the artifact, and bufferization computes the state in
// place: no copy step.
TEST_F(DeviceValueTest, TiedOutputIsTheInputsStorage) {
  const EntryDesc &step = entryOf(*module, "step");
  ASSERT_EQ(step.outputs.size(), 2u);
  EXPECT_EQ(step.outputs[0].tiedTo, -1);
  EXPECT_EQ(step.outputs[1].tiedTo, 0);
  for (const StepDesc &s : step.plan)
    EXPECT_FALSE(std::holds_alternative<CopyDesc>(s))
        << "a copy step in the plan of a tied entry";
}

// state_out = state * 0.5 + x and y = state_out * x, N calls: the state kept
// on the device, the state passed as host tensors, and a host loop agree
// after every call. f32 on both sides, one rounding per op in the same
// order (state * 0.5 is exact), so they agree to an ulp or two.
TEST_F(DeviceValueTest, StateUpdatedInPlaceAcrossCalls) {
  const std::vector<int64_t> shape = {2, 4, 16};
  absl::StatusOr<DeviceValue> state = module->allocate("step", "state");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->dtype(), DType::F32);
  EXPECT_EQ(state->shape(), shape);
  EXPECT_EQ(state->sizeBytes(), 2u * 4 * 16 * 4);
  // Allocated zero-filled.
  absl::StatusOr<Tensor> zero = state->download();
  ASSERT_TRUE(zero.ok()) << zero.status();
  for (int64_t i = 0; i < zero->numel(); ++i)
    ASSERT_EQ(floats(*zero)[i], 0.0f);

  Tensor initial = randomTensor(shape, gen);
  ASSERT_TRUE(state->upload(initial).ok());
  Tensor hostState = initial; // passed as host tensors
  std::vector<float> expected(floats(initial), floats(initial) + 128);
  for (int call = 0; call < 6; ++call) {
    SCOPED_TRACE(::testing::Message() << "call " << call);
    Tensor x = randomTensor(shape, gen);
    absl::StatusOr<TensorMap> out =
        module->call("step", {{"x", x}}, {{"state", &*state}});
    ASSERT_TRUE(out.ok()) << out.status();
    // The tied result is the value: not copied back.
    EXPECT_EQ(out->count("state_out"), 0u);
    ASSERT_EQ(out->count("y"), 1u);
    absl::StatusOr<TensorMap> viaHost =
        module->call("step", {{"x", x}, {"state", hostState}});
    ASSERT_TRUE(viaHost.ok()) << viaHost.status();
    ASSERT_EQ(viaHost->count("state_out"), 1u);
    std::vector<float> y(128);
    for (int i = 0; i < 128; ++i) {
      expected[i] = expected[i] * 0.5f + floats(x)[i];
      y[i] = expected[i] * floats(x)[i];
    }
    absl::StatusOr<Tensor> now = state->download();
    ASSERT_TRUE(now.ok()) << now.status();
    for (int i = 0; i < 128; ++i) {
      float tol = 1e-6f * std::abs(expected[i]) + 1e-7f;
      ASSERT_NEAR(floats(*now)[i], expected[i], tol) << "state " << i;
      ASSERT_NEAR(floats(viaHost->at("state_out"))[i], expected[i], tol)
          << "host-tensor state " << i;
      float ytol = 1e-6f * std::abs(y[i]) + 1e-7f;
      ASSERT_NEAR(floats(out->at("y"))[i], y[i], ytol) << "y " << i;
      ASSERT_NEAR(floats(viaHost->at("y"))[i], y[i], ytol) << "host y " << i;
    }
    hostState = viaHost->at("state_out");
  }
  // A host tensor passed for the tied input is the caller's: never written.
  Tensor kept = initial;
  ASSERT_TRUE(module->call("step", {{"x", initial}, {"state", kept}}).ok());
  EXPECT_EQ(std::memcmp(kept.data(), initial.data(), initial.sizeBytes()), 0);
}

// `reread` reads and returns the old state after computing the new one:
// the plan computes the new state aside and copies it into the value last,
// so y and old see the old state.
TEST_F(DeviceValueTest, OldStateReadAfterTheUpdate) {
  const EntryDesc &reread = entryOf(*module, "reread");
  ASSERT_FALSE(reread.plan.empty());
  ASSERT_TRUE(std::holds_alternative<CopyDesc>(reread.plan.back()));
  EXPECT_EQ(std::get<CopyDesc>(reread.plan.back()).dst.kind,
            StorageKind::Input);
  const std::vector<int64_t> shape = {2, 4, 16};
  absl::StatusOr<DeviceValue> state = module->allocate("reread", "state");
  ASSERT_TRUE(state.ok()) << state.status();
  Tensor initial = randomTensor(shape, gen);
  ASSERT_TRUE(state->upload(initial).ok());
  std::vector<float> s(floats(initial), floats(initial) + 128);
  for (int call = 0; call < 4; ++call) {
    SCOPED_TRACE(::testing::Message() << "call " << call);
    Tensor x = randomTensor(shape, gen);
    absl::StatusOr<TensorMap> out =
        module->call("reread", {{"x", x}}, {{"state", &*state}});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->count("state_out"), 0u);
    absl::StatusOr<Tensor> now = state->download();
    ASSERT_TRUE(now.ok());
    for (int i = 0; i < 128; ++i) {
      float next = s[i] * 0.5f + floats(x)[i];
      float y = next * s[i];
      ASSERT_EQ(floats(out->at("old"))[i], s[i]) << i;
      ASSERT_NEAR(floats(out->at("y"))[i], y, 1e-6f * std::abs(y) + 1e-7f);
      ASSERT_NEAR(floats(*now)[i], next, 1e-6f * std::abs(next) + 1e-7f);
      s[i] = floats(*now)[i];
    }
  }
}

// An untied input may be a device value too: read in place, never written.
TEST_F(DeviceValueTest, UntiedInputAsValueIsReadOnly) {
  const std::vector<int64_t> shape = {2, 4, 16};
  absl::StatusOr<DeviceValue> x = module->allocate("step", "x");
  ASSERT_TRUE(x.ok()) << x.status();
  Tensor xs = randomTensor(shape, gen);
  ASSERT_TRUE(x->upload(xs).ok());
  Tensor s = randomTensor(shape, gen);
  absl::StatusOr<TensorMap> out =
      module->call("step", {{"state", s}}, {{"x", &*x}});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->count("state_out"), 1u);
  absl::StatusOr<Tensor> after = x->download();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(std::memcmp(after->data(), xs.data(), xs.sizeBytes()), 0);
  for (int i = 0; i < 128; ++i)
    ASSERT_NEAR(floats(out->at("state_out"))[i],
                floats(s)[i] * 0.5f + floats(xs)[i], 1e-6f);
}

// A module of two (simulated) devices: a value holds the state whole on
// each, updated in place on each, and read back from the first. A value of
// the one-device module is refused (other devices).
TEST_F(DeviceValueTest, TwoDevices) {
  std::unique_ptr<Module> split = load(*runtime, "tied_state_2dev.hymir");
  ASSERT_NE(split, nullptr);
  ASSERT_EQ(split->desc().deviceCount, 2u);
  const std::vector<int64_t> shape = {2, 4, 16};
  absl::StatusOr<DeviceValue> state = split->allocate("step", "state");
  ASSERT_TRUE(state.ok()) << state.status();
  Tensor initial = randomTensor(shape, gen);
  ASSERT_TRUE(state->upload(initial).ok());
  std::vector<float> s(floats(initial), floats(initial) + 128);
  for (int call = 0; call < 3; ++call) {
    SCOPED_TRACE(::testing::Message() << "call " << call);
    Tensor x = randomTensor(shape, gen);
    absl::StatusOr<TensorMap> out =
        split->call("step", {{"x", x}}, {{"state", &*state}});
    ASSERT_TRUE(out.ok()) << out.status();
    absl::StatusOr<Tensor> now = state->download();
    ASSERT_TRUE(now.ok());
    for (int i = 0; i < 128; ++i) {
      s[i] = s[i] * 0.5f + floats(x)[i];
      float y = s[i] * floats(x)[i];
      ASSERT_NEAR(floats(*now)[i], s[i], 1e-6f * std::abs(s[i]) + 1e-7f);
      ASSERT_NEAR(floats(out->at("y"))[i], y, 1e-6f * std::abs(y) + 1e-7f);
    }
  }
  absl::StatusOr<DeviceValue> single = module->allocate("step", "state");
  ASSERT_TRUE(single.ok());
  absl::StatusOr<TensorMap> r = split->call(
      "step", {{"x", randomTensor(shape, gen)}}, {{"state", &*single}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("belongs to other devices"),
            std::string::npos)
      << r.status();
}

// Every misuse is a status naming the entry and the input.
TEST_F(DeviceValueTest, Errors) {
  const std::vector<int64_t> shape = {2, 4, 16};
  Tensor x = randomTensor(shape, gen);
  absl::StatusOr<DeviceValue> state = module->allocate("step", "state");
  ASSERT_TRUE(state.ok());
  auto expectError = [&](const absl::StatusOr<TensorMap> &r,
                         const std::string &part) {
    ASSERT_FALSE(r.ok()) << "expected an error containing: " << part;
    EXPECT_NE(r.status().message().find(part), std::string::npos)
        << r.status().message();
  };

  // Wrong shape: a value of `other`'s state.
  absl::StatusOr<DeviceValue> small = module->allocate("other", "state");
  ASSERT_TRUE(small.ok());
  expectError(module->call("step", {{"x", x}}, {{"state", &*small}}),
              "entry 'step': input 'state' is a device value of F32 [4, 16], "
              "expected F32 [2, 4, 16]");
  // Wrong dtype: a value of `half`'s state.
  absl::StatusOr<DeviceValue> bf16 = module->allocate("half", "state");
  ASSERT_TRUE(bf16.ok());
  expectError(module->call("step", {{"x", x}}, {{"state", &*bf16}}),
              "entry 'step': input 'state' is a device value of BF16 "
              "[2, 4, 16], expected F32 [2, 4, 16]");
  // A value of another runtime.
  absl::StatusOr<std::unique_ptr<Runtime>> other = Runtime::create("cpu");
  ASSERT_TRUE(other.ok());
  std::unique_ptr<Module> foreign = load(**other, "tied_state.hymir");
  ASSERT_NE(foreign, nullptr);
  absl::StatusOr<DeviceValue> alien = foreign->allocate("step", "state");
  ASSERT_TRUE(alien.ok());
  expectError(module->call("step", {{"x", x}}, {{"state", &*alien}}),
              "entry 'step': device value for input 'state' belongs to "
              "other devices");
  // The tied input given twice: as a tensor and as a value, or one value
  // for two inputs.
  expectError(
      module->call("step", {{"x", x}, {"state", x}}, {{"state", &*state}}),
      "entry 'step': input 'state' is given both as a host tensor "
      "and as a device value");
  expectError(module->call("step", {}, {{"state", &*state}, {"x", &*state}}),
              "entry 'step': the same device value is passed for inputs "
              "'state' and 'x'");
  // Empty values.
  DeviceValue moved = std::move(*state);
  expectError(module->call("step", {{"x", x}}, {{"state", &*state}}),
              "entry 'step': device value for input 'state' is empty");
  expectError(module->call("step", {{"x", x}}, {{"state", nullptr}}),
              "entry 'step': device value for input 'state' is empty");
  EXPECT_FALSE(state->upload(x).ok());
  EXPECT_FALSE(state->download().ok());
  // Names.
  expectError(module->call("step", {{"x", x}}, {{"cache", &moved}}),
              "entry 'step' has no input 'cache'; its inputs are: state, x");
  expectError(module->call("step", {{"x", x}}, {}),
              "entry 'step' is missing input 'state'");
  absl::StatusOr<DeviceValue> none = module->allocate("step", "cache");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("entry 'step' has no input 'cache'"),
            std::string::npos)
      << none.status();
  EXPECT_FALSE(module->allocate("nope", "state").ok());
  // A static input's shape is fixed.
  absl::StatusOr<DeviceValue> wrong =
      module->allocate("step", "state", {2, 4, 8});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find(
                "entry 'step' input 'state' has shape [2, 4, 16]"),
            std::string::npos)
      << wrong.status();
  // Upload checks dtype and shape.
  absl::Status up = moved.upload(randomTensor({4, 16}, gen));
  ASSERT_FALSE(up.ok());
  EXPECT_NE(up.message().find("the tensor is F32 [4, 16], the value F32 "
                              "[2, 4, 16]"),
            std::string::npos)
      << up;
}

// Lightning attention with its state on the device: k one-token calls
// continue one recurrence. Compared with one k-token call of the same
// artifact and with the fp64 oracle (relative L2 error 1e-4, the f32 bound
// of the e2e tests: f32 products accumulated over 16-wide dot products and
// at most k decayed state updates).
TEST_F(DeviceValueTest, LightningDecodeKeepsItsStateOnTheDevice) {
  std::unique_ptr<Module> lightning = load(*runtime, "tied_lightning.hymir");
  ASSERT_NE(lightning, nullptr);
  const EntryDesc &entry = entryOf(*lightning, "lightning");
  ASSERT_EQ(entry.outputs.size(), 2u);
  EXPECT_EQ(entry.outputs[1].tiedTo, 4);
  ASSERT_TRUE(entry.reference.has_value());
  const int64_t B = 2, H = 4, D = 16, K = 7;
  Tensor q = randomTensor({B, K, H, D}, gen),
         k = randomTensor({B, K, H, D}, gen),
         v = randomTensor({B, K, H, D}, gen);
  Tensor slopes = randomTensor({H}, gen, 0.05f, 0.5f);
  Tensor initial = randomTensor({B, H, D, D}, gen);

  // One call of K tokens, state as a host tensor.
  absl::StatusOr<TensorMap> prefill = lightning->call(
      "lightning",
      {{"q", q}, {"k", k}, {"v", v}, {"slopes", slopes}, {"state", initial}});
  ASSERT_TRUE(prefill.ok()) << prefill.status();

  // The oracle on the same K tokens.
  auto toOracle = [](const Tensor &t) {
    oracle::Tensor o(t.shape());
    for (int64_t i = 0; i < t.numel(); ++i)
      o.data[i] = floats(t)[i];
    return o;
  };
  absl::StatusOr<std::vector<ReferenceValue>> want = evaluateReference(
      *entry.reference, {toOracle(q), toOracle(k), toOracle(v),
                         toOracle(slopes), toOracle(initial)});
  ASSERT_TRUE(want.ok()) << want.status();
  const auto &wantOut = std::get<oracle::Tensor>((*want)[0]);
  const auto &wantState = std::get<oracle::Tensor>((*want)[1]);
  EXPECT_LT(oracle::relativeError(toOracle(prefill->at("out")), wantOut), 1e-4);
  EXPECT_LT(
      oracle::relativeError(toOracle(prefill->at("state_out")), wantState),
      1e-4);

  // K calls of one token, the state a device value.
  absl::StatusOr<DeviceValue> state = lightning->allocate("lightning", "state");
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_TRUE(state->upload(initial).ok());
  auto token = [&](const Tensor &t, int64_t i) {
    Tensor one(DType::F32, {B, 1, H, D});
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(one.data() + b * H * D * 4,
                  t.data() + (b * K + i) * H * D * 4, H * D * 4);
    return one;
  };
  oracle::Tensor gotOut({B, K, H, D});
  for (int64_t i = 0; i < K; ++i) {
    SCOPED_TRACE(::testing::Message() << "token " << i);
    absl::StatusOr<TensorMap> out = lightning->call("lightning",
                                                    {{"q", token(q, i)},
                                                     {"k", token(k, i)},
                                                     {"v", token(v, i)},
                                                     {"slopes", slopes}},
                                                    {{"state", &*state}});
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->count("state_out"), 0u);
    const Tensor &o = out->at("out");
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H * D; ++j)
        gotOut.data[(b * K + i) * H * D + j] = floats(o)[b * H * D + j];
  }
  absl::StatusOr<Tensor> finalState = state->download();
  ASSERT_TRUE(finalState.ok());
  EXPECT_LT(oracle::relativeError(gotOut, wantOut), 1e-4);
  EXPECT_LT(oracle::relativeError(toOracle(*finalState), wantState), 1e-4);
  EXPECT_LT(oracle::relativeError(gotOut, toOracle(prefill->at("out"))), 1e-4);
  EXPECT_LT(oracle::relativeError(toOracle(*finalState),
                                  toOracle(prefill->at("state_out"))),
            1e-4);
}

// CallOptions::cudaGraphs on the cpu: no graph (a cuda feature, said in
// cudaGraphUse), but the call's storage is kept and its launch words are
// prepared once. Results equal plain calls', bitwise.
TEST_F(DeviceValueTest, KeptCallsMatchPlainCalls) {
  const std::vector<int64_t> shape = {2, 4, 16};
  CallOptions keep;
  keep.cudaGraphs = true;
  absl::StatusOr<DeviceValue> a = module->allocate("step", "state");
  absl::StatusOr<DeviceValue> b = module->allocate("step", "state");
  ASSERT_TRUE(a.ok() && b.ok());
  Tensor initial = randomTensor(shape, gen);
  ASSERT_TRUE(a->upload(initial).ok());
  ASSERT_TRUE(b->upload(initial).ok());
  for (int call = 0; call < 5; ++call) {
    SCOPED_TRACE(::testing::Message() << "call " << call);
    Tensor x = randomTensor(shape, gen); // new host bytes every call
    absl::StatusOr<TensorMap> kept =
        module->call("step", {{"x", x}}, {{"state", &*a}}, keep);
    absl::StatusOr<TensorMap> plain =
        module->call("step", {{"x", x}}, {{"state", &*b}});
    ASSERT_TRUE(kept.ok()) << kept.status();
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_EQ(kept->count("state_out"), 0u);
    ASSERT_EQ(kept->count("y"), 1u);
    EXPECT_EQ(std::memcmp(kept->at("y").data(), plain->at("y").data(),
                          plain->at("y").sizeBytes()),
              0);
    absl::StatusOr<Tensor> sa = a->download(), sb = b->download();
    ASSERT_TRUE(sa.ok() && sb.ok());
    EXPECT_EQ(std::memcmp(sa->data(), sb->data(), sa->sizeBytes()), 0);
  }
  CudaGraphUse use = module->cudaGraphUse("step");
  EXPECT_EQ(use.graphs, 0);
  EXPECT_EQ(use.replays, 0);
  EXPECT_EQ(use.plainCalls, 5);
  EXPECT_NE(use.notUsed.find("CUDA graphs are a cuda feature"),
            std::string::npos)
      << use.notUsed;
  // Never called with the option.
  EXPECT_EQ(module->cudaGraphUse("reread").plainCalls, 0);
  EXPECT_TRUE(module->cudaGraphUse("reread").notUsed.empty());
  EXPECT_TRUE(module->cudaGraphUse("no such entry").notUsed.empty());
}

// A kept call is keyed by its device values' addresses: swapping values,
// passing the tied input as a host tensor (copied into the kept storage
// afresh each call, so a call never sees the last one's update), and a
// value freed and another allocated (perhaps at its address) all give the
// host loop's results.
TEST_F(DeviceValueTest, KeptCallsFollowTheirValues) {
  const std::vector<int64_t> shape = {2, 4, 16};
  CallOptions keep;
  keep.cudaGraphs = true;
  auto expectStep = [&](const Tensor &state, const Tensor &x, const Tensor &now,
                        const Tensor &y) {
    for (int i = 0; i < 128; ++i) {
      float s = floats(state)[i] * 0.5f + floats(x)[i];
      ASSERT_NEAR(floats(now)[i], s, 1e-6f * std::abs(s) + 1e-7f) << i;
      float yy = s * floats(x)[i];
      ASSERT_NEAR(floats(y)[i], yy, 1e-6f * std::abs(yy) + 1e-7f) << i;
    }
  };
  std::vector<DeviceValue> values;
  for (int v = 0; v < 3; ++v) {
    absl::StatusOr<DeviceValue> value = module->allocate("step", "state");
    ASSERT_TRUE(value.ok());
    values.push_back(std::move(*value));
  }
  for (int round = 0; round < 2; ++round)
    for (int v = 0; v < 3; ++v) {
      SCOPED_TRACE(::testing::Message() << "round " << round << " value " << v);
      absl::StatusOr<Tensor> before = values[v].download();
      ASSERT_TRUE(before.ok());
      Tensor x = randomTensor(shape, gen);
      absl::StatusOr<TensorMap> out =
          module->call("step", {{"x", x}}, {{"state", &values[v]}}, keep);
      ASSERT_TRUE(out.ok()) << out.status();
      absl::StatusOr<Tensor> now = values[v].download();
      ASSERT_TRUE(now.ok());
      expectStep(*before, x, *now, out->at("y"));
    }
  // The tied input as a host tensor: the same tensor twice, the same result.
  Tensor hostState = randomTensor(shape, gen), x = randomTensor(shape, gen);
  for (int call = 0; call < 2; ++call) {
    absl::StatusOr<TensorMap> out =
        module->call("step", {{"x", x}, {"state", hostState}}, {}, keep);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->count("state_out"), 1u);
    expectStep(hostState, x, out->at("state_out"), out->at("y"));
  }
  // A value freed, another allocated: its buffer may reuse the address.
  values.clear();
  absl::StatusOr<DeviceValue> fresh = module->allocate("step", "state");
  ASSERT_TRUE(fresh.ok());
  Tensor initial = randomTensor(shape, gen);
  ASSERT_TRUE(fresh->upload(initial).ok());
  absl::StatusOr<TensorMap> out =
      module->call("step", {{"x", x}}, {{"state", &*fresh}}, keep);
  ASSERT_TRUE(out.ok()) << out.status();
  absl::StatusOr<Tensor> now = fresh->download();
  ASSERT_TRUE(now.ok());
  expectStep(initial, x, *now, out->at("y"));
  // Bad inputs fail as they do without the option.
  absl::StatusOr<TensorMap> bad =
      module->call("step", {{"x", randomTensor({2, 4, 8}, gen)}},
                   {{"state", &*fresh}}, keep);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("input 'x'"), std::string::npos)
      << bad.status();
}

// A run-time check a kept call flags fails that call, and the next call of
// the same key starts clear; each token count is a kept call of its own.
TEST_F(DeviceValueTest, KeptCallsClearTheirChecks) {
  std::unique_ptr<Module> lookup = load(*runtime, "kept_checks.hymir");
  ASSERT_NE(lookup, nullptr);
  CallOptions keep;
  keep.cudaGraphs = true;
  Tensor table = randomTensor({8, 4}, gen);
  auto ids = [](std::vector<int32_t> v) {
    absl::StatusOr<Tensor> t = Tensor::fromBytes(
        DType::I32, {static_cast<int64_t>(v.size())}, v.data(), v.size() * 4);
    return *t;
  };
  auto expectRows = [&](const absl::StatusOr<TensorMap> &out,
                        std::vector<int32_t> v) {
    ASSERT_TRUE(out.ok()) << out.status();
    const Tensor &rows = out->at("rows");
    ASSERT_EQ(rows.shape(),
              (std::vector<int64_t>{static_cast<int64_t>(v.size()), 4}));
    for (size_t r = 0; r < v.size(); ++r)
      for (int c = 0; c < 4; ++c)
        ASSERT_EQ(floats(rows)[r * 4 + c], floats(table)[v[r] * 4 + c]);
  };
  expectRows(lookup->call("lookup", {{"table", table}, {"ids", ids({1, 2, 3})}},
                          {}, keep),
             {1, 2, 3});
  absl::StatusOr<TensorMap> bad = lookup->call(
      "lookup", {{"table", table}, {"ids", ids({1, 9, 3})}}, {}, keep);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("9 at position 1"), std::string::npos)
      << bad.status();
  expectRows(lookup->call("lookup", {{"table", table}, {"ids", ids({7, 0, 5})}},
                          {}, keep),
             {7, 0, 5});
  for (std::vector<int32_t> v : {std::vector<int32_t>{4, 5, 6},
                                 std::vector<int32_t>{0, 1, 2, 3, 4},
                                 std::vector<int32_t>{6},
                                 {3, 2, 1, 0, 7}})
    expectRows(lookup->call("lookup_any", {{"table", table}, {"ids", ids(v)}},
                            {}, keep),
               v);
  EXPECT_EQ(lookup->cudaGraphUse("lookup").plainCalls, 3);
  EXPECT_EQ(lookup->cudaGraphUse("lookup_any").plainCalls, 4);
}

// Two devices: kept calls work; the note says why no graph was made.
TEST_F(DeviceValueTest, KeptCallsOnTwoDevices) {
  std::unique_ptr<Module> split = load(*runtime, "tied_state_2dev.hymir");
  ASSERT_NE(split, nullptr);
  CallOptions keep;
  keep.cudaGraphs = true;
  const std::vector<int64_t> shape = {2, 4, 16};
  absl::StatusOr<DeviceValue> state = split->allocate("step", "state");
  ASSERT_TRUE(state.ok()) << state.status();
  Tensor initial = randomTensor(shape, gen);
  ASSERT_TRUE(state->upload(initial).ok());
  std::vector<float> s(floats(initial), floats(initial) + 128);
  for (int call = 0; call < 3; ++call) {
    Tensor x = randomTensor(shape, gen);
    absl::StatusOr<TensorMap> out =
        split->call("step", {{"x", x}}, {{"state", &*state}}, keep);
    ASSERT_TRUE(out.ok()) << out.status();
    absl::StatusOr<Tensor> now = state->download();
    ASSERT_TRUE(now.ok());
    for (int i = 0; i < 128; ++i) {
      s[i] = s[i] * 0.5f + floats(x)[i];
      ASSERT_NEAR(floats(*now)[i], s[i], 1e-6f * std::abs(s[i]) + 1e-7f);
    }
  }
  // On the cpu no graph is made, on two devices as on one (a sharded
  // module's streams are captured together on cuda): the note names the
  // device kind.
  EXPECT_NE(split->cudaGraphUse("step").notUsed.find("cuda feature"),
            std::string::npos)
      << split->cudaGraphUse("step").notUsed;
}

// Module::time with the option on the cpu: timed as plain launches, and
// the timing says why no graph was used.
TEST_F(DeviceValueTest, TimeWithCudaGraphsOnCpu) {
  const std::vector<int64_t> shape = {2, 4, 16};
  CallOptions graphs;
  graphs.cudaGraphs = true;
  absl::StatusOr<CallTiming> t = module->time(
      "step",
      {{"x", randomTensor(shape, gen)}, {"state", randomTensor(shape, gen)}}, 1,
      3, {}, graphs);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->cudaGraph);
  EXPECT_EQ(t->runs.size(), 3u);
  EXPECT_NE(t->cudaGraphNotUsed.find("cuda feature"), std::string::npos)
      << t->cudaGraphNotUsed;
  absl::StatusOr<CallTiming> plain = module->time(
      "step",
      {{"x", randomTensor(shape, gen)}, {"state", randomTensor(shape, gen)}}, 0,
      2);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->cudaGraph);
  EXPECT_TRUE(plain->cudaGraphNotUsed.empty());
}

} // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 2) {
    std::cerr << "usage: HymirDeviceValueTests [gtest flags] ARTIFACT_DIR "
                 "(holding tied_state.hymir, tied_lightning.hymir and "
                 "kept_checks.hymir)\n";
    return 2;
  }
  artifactDir = argv[1];
  return RUN_ALL_TESTS();
}
