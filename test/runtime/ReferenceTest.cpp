//===- ReferenceTest.cpp - the oracle evaluator of reference programs -----===//
//
// Small hand-built programs evaluated by evaluateReference and compared with
// direct oracle calls (the same code, so results agree exactly) or with
// values computed here; one case per failure the evaluator reports, each
// checking the message and the op it blames; random programs, valid or not,
// that must end in values or a status, never a crash; and the conversion of
// stored tensors into reference values.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

using namespace hymir;

namespace {

constexpr RefValueKind F = RefValueKind::Float;
constexpr RefValueKind I = RefValueKind::Int;
constexpr RefValueKind X = RefValueKind::Index;
constexpr int64_t D = kRefDynamicDim;
constexpr size_t kNoOp = static_cast<size_t>(-1);

RefAttrDesc intAttr(std::string name, int64_t v) {
  return {std::move(name), v, 0, {}};
}
RefAttrDesc floatAttr(std::string name, double v) {
  return {std::move(name), 0, v, {}};
}
RefAttrDesc intsAttr(std::string name, std::vector<int64_t> v) {
  return {std::move(name), 0, 0, std::move(v)};
}

// Builds a program value by value and op by op.
class Builder {
public:
  uint32_t value(RefValueKind kind, std::vector<int64_t> shape) {
    p.values.push_back({kind, std::move(shape)});
    return static_cast<uint32_t>(p.values.size() - 1);
  }
  uint32_t arg(const std::string &name, RefValueKind kind,
               std::vector<int64_t> shape) {
    uint32_t id = value(kind, std::move(shape));
    p.arguments.push_back(id);
    p.argumentNames.push_back(name);
    return id;
  }
  // An op with results of the given types; returns their ids.
  std::vector<uint32_t> opN(const std::string &name,
                            std::vector<uint32_t> operands,
                            std::vector<RefValueDesc> results,
                            std::vector<RefAttrDesc> attrs = {}) {
    RefOpDesc op;
    op.name = name;
    op.operands = std::move(operands);
    op.attrs = std::move(attrs);
    for (RefValueDesc &r : results)
      op.results.push_back(value(r.kind, std::move(r.shape)));
    p.ops.push_back(op);
    return p.ops.back().results;
  }
  uint32_t op(const std::string &name, std::vector<uint32_t> operands,
              RefValueKind kind, std::vector<int64_t> shape,
              std::vector<RefAttrDesc> attrs = {}) {
    return opN(name, std::move(operands), {{kind, std::move(shape)}},
               std::move(attrs))[0];
  }
  uint32_t constant(std::vector<int64_t> shape, std::vector<double> data) {
    uint32_t id = op("arith.constant", {}, F, std::move(shape));
    p.ops.back().data = std::move(data);
    return id;
  }
  uint32_t index(int64_t v) {
    uint32_t id = op("arith.constant", {}, X, {});
    p.ops.back().intData = {v};
    return id;
  }
  RefOpDesc &last() { return p.ops.back(); }
  void result(uint32_t id) { p.results.push_back(id); }

  RefProgramDesc p;
};

oracle::Tensor random(std::vector<int64_t> shape, uint64_t seed, double lo = -1,
                      double hi = 1) {
  return oracle::randomTensor(std::move(shape), seed, lo, hi);
}

oracle::IntTensor ints(std::vector<int64_t> shape, std::vector<int64_t> data) {
  return {std::move(shape), std::move(data)};
}

// Evaluates and expects success.
std::vector<ReferenceValue> run(const RefProgramDesc &p,
                                std::vector<ReferenceValue> args) {
  size_t failed = 0;
  absl::StatusOr<std::vector<ReferenceValue>> out =
      evaluateReference(p, std::move(args), &failed);
  EXPECT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(failed, kNoOp);
  if (!out.ok())
    return {};
  EXPECT_EQ(out->size(), p.results.size());
  return *std::move(out);
}

::testing::AssertionResult same(const ReferenceValue &got,
                                const oracle::Tensor &want) {
  const auto *t = std::get_if<oracle::Tensor>(&got);
  if (!t)
    return ::testing::AssertionFailure()
           << "got " << describeReferenceValue(got) << ", not a float tensor";
  if (t->shape != want.shape)
    return ::testing::AssertionFailure()
           << "got " << describeReferenceValue(got) << ", want "
           << describeReferenceValue(want);
  for (size_t k = 0; k < want.data.size(); ++k)
    if (!(t->data[k] == want.data[k] ||
          (std::isnan(t->data[k]) && std::isnan(want.data[k]))))
      return ::testing::AssertionFailure()
             << "element " << k << ": got " << t->data[k] << ", want "
             << want.data[k];
  return ::testing::AssertionSuccess();
}

// Expects `p` on `args` to fail with exactly `message`, blaming op `op`.
void expectError(const RefProgramDesc &p, std::vector<ReferenceValue> args,
                 const std::string &message, size_t op) {
  size_t failed = 12345;
  absl::StatusOr<std::vector<ReferenceValue>> out =
      evaluateReference(p, std::move(args), &failed);
  ASSERT_FALSE(out.ok()) << "expected: " << message;
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(), message);
  EXPECT_EQ(failed, op);
}

//===----------------------------------------------------------------------===//
// hymir ops against the oracle
//===----------------------------------------------------------------------===//

TEST(ReferenceTest, DenseOps) {
  Builder b;
  uint32_t x = b.arg("x", F, {D, 16});
  uint32_t norm = b.arg("norm", F, {16});
  uint32_t w = b.arg("w", F, {8, 16});
  uint32_t table = b.arg("table", F, {10, 16});
  uint32_t ids = b.arg("ids", I, {D});
  uint32_t h = b.op("hymir.rms_norm", {x, norm}, F, {D, 16},
                    {floatAttr("epsilon", 1e-5)});
  uint32_t y =
      b.op("hymir.linear", {h, w}, F, {D, 8}, {{"precision", 0, 0, {}}});
  uint32_t e = b.op("hymir.embedding", {table, ids}, F, {D, 16});
  b.result(y);
  b.result(e);
  oracle::Tensor xv = random({5, 16}, 1), nv = random({16}, 2, 0.9, 1.1),
                 wv = random({8, 16}, 3), tv = random({10, 16}, 4);
  oracle::IntTensor iv = ints({5}, {0, 9, 3, 3, 1});
  std::vector<ReferenceValue> out = run(b.p, {xv, nv, wv, tv, iv});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(same(out[0], oracle::linear(oracle::rmsNorm(xv, nv, 1e-5), wv)));
  EXPECT_TRUE(same(out[1], oracle::embedding(tv, iv)));
}

TEST(ReferenceTest, AttentionOps) {
  Builder b;
  uint32_t q = b.arg("q", F, {1, D, 4, 8});
  uint32_t k = b.arg("k", F, {1, D, 2, 8});
  uint32_t v = b.arg("v", F, {1, D, 2, 8});
  uint32_t pos = b.arg("pos", I, {1, D});
  uint32_t lq = b.arg("lq", F, {1, D, 2, 8});
  uint32_t slopes = b.arg("slopes", F, {2});
  uint32_t init = b.arg("init", F, {1, 2, 8, 8});
  uint32_t qr = b.op("hymir.rope", {q, pos}, F, {1, D, 4, 8},
                     {intAttr("rotary_dim", 4), floatAttr("theta", 1e4)});
  uint32_t o = b.op("hymir.softmax_attention", {qr, k, v}, F, {1, D, 4, 8},
                    {intAttr("causal", 1), floatAttr("scale", 0.35)});
  std::vector<uint32_t> la =
      b.opN("hymir.lightning_attention", {lq, v, v, slopes},
            {{F, {1, D, 2, 8}}, {F, {1, 2, 8, 8}}}, {intAttr("block_size", 2)});
  std::vector<uint32_t> lb =
      b.opN("hymir.lightning_attention", {lq, v, v, slopes, init},
            {{F, {1, D, 2, 8}}, {F, {1, 2, 8, 8}}});
  for (uint32_t id : {o, la[0], la[1], lb[0], lb[1]})
    b.result(id);
  oracle::Tensor qv = random({1, 6, 4, 8}, 5), kv = random({1, 6, 2, 8}, 6),
                 vv = random({1, 6, 2, 8}, 7), lqv = random({1, 6, 2, 8}, 8),
                 sv = random({2}, 9, 0.1, 0.5), iv = random({1, 2, 8, 8}, 10);
  oracle::IntTensor pv = ints({1, 6}, {0, 1, 2, 3, 4, 5});
  std::vector<ReferenceValue> out = run(b.p, {qv, kv, vv, pv, lqv, sv, iv});
  ASSERT_EQ(out.size(), 5u);
  EXPECT_TRUE(
      same(out[0], oracle::softmaxAttention(oracle::rope(qv, pv, 4, 1e4), kv,
                                            vv, true, 0.35)));
  oracle::LightningResult r =
      oracle::lightningAttentionRecurrent(lqv, vv, vv, sv, nullptr);
  EXPECT_TRUE(same(out[1], r.out));
  EXPECT_TRUE(same(out[2], r.finalState));
  r = oracle::lightningAttentionRecurrent(lqv, vv, vv, sv, &iv);
  EXPECT_TRUE(same(out[3], r.out));
  EXPECT_TRUE(same(out[4], r.finalState));
}

// hymir.kv_cache_write with positions (the update's fused RoPE) means
// hymir.rope of the update, then the write.
TEST(ReferenceTest, KvCacheWriteWithRope) {
  Builder b;
  uint32_t cache = b.arg("cache", F, {2, 8, 2, 8});
  uint32_t update = b.arg("update", F, {2, 3, 2, 8});
  uint32_t lengths = b.arg("lengths", I, {2});
  uint32_t pos = b.arg("pos", I, {2, 3});
  b.result(b.op("hymir.kv_cache_write", {cache, update, lengths, pos}, F,
                {2, 8, 2, 8},
                {intAttr("rotary_dim", 4), floatAttr("theta", 1e4)}));
  b.result(
      b.op("hymir.kv_cache_write", {cache, update, lengths}, F, {2, 8, 2, 8}));
  oracle::Tensor cv = random({2, 8, 2, 8}, 11), uv = random({2, 3, 2, 8}, 12);
  // Sequence 1 is shorter than the update: its first row is not written.
  oracle::IntTensor lv = ints({2}, {5, 2}),
                    pv = ints({2, 3}, {2, 3, 4, 0, 700, 701});
  std::vector<ReferenceValue> out = run(b.p, {cv, uv, lv, pv});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(
      same(out[0], oracle::kvCacheWrite(cv, oracle::rope(uv, pv, 4, 1e4), lv)));
  EXPECT_TRUE(same(out[1], oracle::kvCacheWrite(cv, uv, lv)));
}

TEST(ReferenceTest, MoeAndCispo) {
  Builder b;
  uint32_t x = b.arg("x", F, {D, 8});
  uint32_t router = b.arg("router", F, {4, 8});
  uint32_t w1 = b.arg("w1", F, {4, 6, 8});
  uint32_t w3 = b.arg("w3", F, {4, 6, 8});
  uint32_t w2 = b.arg("w2", F, {4, 8, 6});
  uint32_t lm = b.arg("lm", F, {12, 8});
  uint32_t targets = b.arg("targets", I, {D});
  uint32_t old = b.arg("old", F, {D});
  uint32_t adv = b.arg("adv", F, {D});
  uint32_t mask = b.arg("mask", F, {D});
  uint32_t y = b.op("hymir.moe", {x, router, w1, w3, w2}, F, {D, 8},
                    {intAttr("top_k", 2), intAttr("renormalize", 0)});
  std::vector<uint32_t> loss =
      b.opN("hymir.cispo_loss", {y, lm, targets, old, adv, mask},
            {{F, {}}, {F, {D}}, {F, {D, 8}}, {F, {12, 8}}},
            {floatAttr("eps_low", 0.2), floatAttr("eps_high", 0.3),
             intAttr("unified_mask", 1)});
  b.result(y);
  for (uint32_t id : loss)
    b.result(id);
  oracle::Tensor xv = random({5, 8}, 11), rv = random({4, 8}, 12),
                 w1v = random({4, 6, 8}, 13), w3v = random({4, 6, 8}, 14),
                 w2v = random({4, 8, 6}, 15), lmv = random({12, 8}, 16),
                 oldv = random({5}, 17, -3, -1), advv = random({5}, 18),
                 maskv({5}, 1.0);
  maskv.data[2] = 0;
  oracle::IntTensor tv = ints({5}, {1, 11, 0, 4, 4});
  std::vector<ReferenceValue> out =
      run(b.p, {xv, rv, w1v, w3v, w2v, lmv, tv, oldv, advv, maskv});
  ASSERT_EQ(out.size(), 5u);
  oracle::Tensor yv = oracle::moe(xv, rv, w1v, w3v, w2v, 2, false);
  EXPECT_TRUE(same(out[0], yv));
  oracle::CispoResult c =
      oracle::cispoLoss(yv, lmv, tv, oldv, advv, maskv, 0.2, 0.3, true);
  EXPECT_TRUE(same(out[1], oracle::Tensor({}, c.loss)));
  EXPECT_TRUE(same(out[2], c.logpNew));
  EXPECT_TRUE(same(out[3], c.dHidden));
  EXPECT_TRUE(same(out[4], c.dLmHead));

  // bf16_head (precision "bf16") reaches the oracle.
  Builder bf;
  uint32_t h = bf.arg("h", F, {D, 8});
  uint32_t lm2 = bf.arg("lm", F, {12, 8});
  uint32_t t2 = bf.arg("targets", I, {D});
  uint32_t old2 = bf.arg("old", F, {D});
  uint32_t adv2 = bf.arg("adv", F, {D});
  uint32_t mask2 = bf.arg("mask", F, {D});
  for (uint32_t id :
       bf.opN("hymir.cispo_loss", {h, lm2, t2, old2, adv2, mask2},
              {{F, {}}, {F, {D}}, {F, {D, 8}}, {F, {12, 8}}},
              {floatAttr("eps_low", 0.2), floatAttr("eps_high", 0.3),
               intAttr("unified_mask", 0), intAttr("bf16_head", 1)}))
    bf.result(id);
  std::vector<ReferenceValue> bfOut =
      run(bf.p, {xv, lmv, tv, oldv, advv, maskv});
  ASSERT_EQ(bfOut.size(), 4u);
  oracle::CispoResult cb =
      oracle::cispoLoss(xv, lmv, tv, oldv, advv, maskv, 0.2, 0.3, false, true);
  EXPECT_TRUE(same(bfOut[1], cb.logpNew));
  EXPECT_TRUE(same(bfOut[3], cb.dLmHead));
}

//===----------------------------------------------------------------------===//
// Elementwise, constants and shape ops
//===----------------------------------------------------------------------===//

TEST(ReferenceTest, Elementwise) {
  struct Case {
    const char *name;
    std::function<double(double, double)> fn;
    bool binary;
  };
  std::vector<Case> cases = {
      {"arith.addf", [](double a, double b) { return a + b; }, true},
      {"arith.subf", [](double a, double b) { return a - b; }, true},
      {"arith.mulf", [](double a, double b) { return a * b; }, true},
      {"arith.divf", [](double a, double b) { return a / b; }, true},
      {"arith.maximumf", [](double a, double b) { return std::fmax(a, b); },
       true},
      {"arith.minimumf", [](double a, double b) { return std::fmin(a, b); },
       true},
      {"arith.negf", [](double a, double) { return -a; }, false},
      {"arith.extf", [](double a, double) { return a; }, false},
      {"arith.truncf", [](double a, double) { return a; }, false},
      {"math.exp", [](double a, double) { return std::exp(a); }, false},
      {"math.log", [](double a, double) { return std::log(a); }, false},
      {"math.tanh", [](double a, double) { return std::tanh(a); }, false},
      {"math.sqrt", [](double a, double) { return std::sqrt(a); }, false},
      {"math.rsqrt", [](double a, double) { return 1 / std::sqrt(a); }, false},
  };
  oracle::Tensor a = random({3, 4}, 21, 0.5, 2), c = random({3, 4}, 22, -2, 2);
  for (const Case &k : cases) {
    SCOPED_TRACE(k.name);
    Builder b;
    uint32_t x = b.arg("a", F, {D, 4});
    uint32_t y = b.arg("b", F, {3, D});
    b.result(k.binary ? b.op(k.name, {x, y}, F, {3, 4})
                      : b.op(k.name, {x}, F, {D, 4}));
    std::vector<ReferenceValue> args = {a};
    if (k.binary)
      args.push_back(c);
    else
      b.p.arguments.pop_back(), b.p.argumentNames.pop_back();
    std::vector<ReferenceValue> out = run(b.p, args);
    ASSERT_EQ(out.size(), 1u);
    oracle::Tensor want({3, 4});
    for (size_t i = 0; i < want.data.size(); ++i)
      want.data[i] = k.fn(a.data[i], k.binary ? c.data[i] : 0);
    EXPECT_TRUE(same(out[0], want));
  }
  // maximumf and minimumf propagate NaN (fmax would drop it).
  Builder b;
  uint32_t x = b.arg("a", F, {2});
  uint32_t y = b.arg("b", F, {2});
  b.result(b.op("arith.maximumf", {x, y}, F, {2}));
  b.result(b.op("arith.minimumf", {y, x}, F, {2}));
  oracle::Tensor withNan({2}, 1.0);
  withNan.data[1] = std::nan("");
  std::vector<ReferenceValue> out = run(b.p, {withNan, oracle::Tensor({2})});
  ASSERT_EQ(out.size(), 2u);
  for (const ReferenceValue &v : out) {
    EXPECT_EQ(std::get<oracle::Tensor>(v).data[0], 1.0 * (&v == &out[0]));
    EXPECT_TRUE(std::isnan(std::get<oracle::Tensor>(v).data[1]));
  }
}

TEST(ReferenceTest, ConstantsDimAndSplat) {
  Builder b;
  uint32_t x = b.arg("x", F, {D, 3});
  uint32_t dense = b.constant({2, 3}, {1, 2, 3, 4, 5, 6});
  uint32_t splat = b.constant({2, 3}, {0.5});
  uint32_t scalar = b.constant({}, {2.25});
  uint32_t intDense = b.op("arith.constant", {}, I, {3});
  b.last().intData = {7, -8, 9};
  uint32_t intScalar = b.op("arith.constant", {}, I, {});
  b.last().intData = {42};
  uint32_t zero = b.index(0);
  uint32_t t = b.op("tensor.dim", {x, zero}, X, {});
  uint32_t filled = b.op("tensor.splat", {scalar, t}, F, {D, 3});
  uint32_t intFilled = b.op("tensor.splat", {intScalar, t, t}, I, {D, 2, D});
  uint32_t sum = b.op("arith.addf", {filled, x}, F, {D, 3});
  for (uint32_t id : {dense, splat, intDense, sum, intFilled})
    b.result(id);
  oracle::Tensor xv = random({4, 3}, 31);
  std::vector<ReferenceValue> out = run(b.p, {xv});
  ASSERT_EQ(out.size(), 5u);
  oracle::Tensor denseWant({2, 3});
  denseWant.data = {1, 2, 3, 4, 5, 6};
  EXPECT_TRUE(same(out[0], denseWant));
  EXPECT_TRUE(same(out[1], oracle::Tensor({2, 3}, 0.5)));
  EXPECT_EQ(std::get<oracle::IntTensor>(out[2]).data,
            (std::vector<int64_t>{7, -8, 9}));
  oracle::Tensor sumWant = xv;
  for (double &v : sumWant.data)
    v += 2.25;
  EXPECT_TRUE(same(out[3], sumWant));
  const auto &iv = std::get<oracle::IntTensor>(out[4]);
  EXPECT_EQ(iv.shape, (std::vector<int64_t>{4, 2, 4}));
  EXPECT_EQ(iv.data, std::vector<int64_t>(32, 42));
}

TEST(ReferenceTest, Reshapes) {
  Builder b;
  uint32_t x = b.arg("x", F, {D, 12});
  uint32_t ids = b.arg("ids", I, {2, 3});
  uint32_t e = b.op("tensor.expand_shape", {x}, F, {1, D, 3, 4});
  uint32_t c = b.op("tensor.collapse_shape", {e}, F, {D});
  uint32_t ic = b.op("tensor.collapse_shape", {ids}, I, {6});
  b.result(e);
  b.result(c);
  b.result(ic);
  oracle::Tensor xv = random({5, 12}, 41);
  std::vector<ReferenceValue> out =
      run(b.p, {xv, ints({2, 3}, {1, 2, 3, 4, 5, 6})});
  ASSERT_EQ(out.size(), 3u);
  oracle::Tensor ev = xv;
  ev.shape = {1, 5, 3, 4};
  EXPECT_TRUE(same(out[0], ev));
  ev.shape = {60};
  EXPECT_TRUE(same(out[1], ev));
  EXPECT_EQ(std::get<oracle::IntTensor>(out[2]).shape, std::vector<int64_t>{6});
}

TEST(ReferenceTest, ExtractSlice) {
  Builder b;
  uint32_t x = b.arg("x", F, {1, D, 4, 12});
  uint32_t ids = b.arg("ids", I, {3, 5});
  uint32_t zero = b.index(0);
  uint32_t one = b.index(1);
  uint32_t t = b.op("tensor.dim", {x, one}, X, {});
  // x[0, 0:T, 0:4, 4:8]: static offsets, a dynamic size.
  uint32_t k = b.op("tensor.extract_slice", {x, t}, F, {1, D, 4, 4},
                    {intsAttr("offsets", {0, 0, 0, 4}),
                     intsAttr("sizes", {1, kRefDynamic, 4, 4}),
                     intsAttr("strides", {1, 1, 1, 1})});
  // x[0, 1, 0:4:2, 1:12:5] with dynamic offsets and strides, rank-reduced.
  uint32_t two = b.index(2);
  uint32_t s = b.op("tensor.extract_slice", {x, zero, one, two}, F, {2, 3},
                    {intsAttr("offsets", {kRefDynamic, kRefDynamic, 0, 1}),
                     intsAttr("sizes", {1, 1, 2, 3}),
                     intsAttr("strides", {1, 1, kRefDynamic, 5}),
                     intsAttr("dropped_dims", {0, 1})});
  // An integer slice that keeps a unit dim.
  uint32_t is = b.op("tensor.extract_slice", {ids}, I, {1, 2},
                     {intsAttr("offsets", {2, 3}), intsAttr("sizes", {1, 2}),
                      intsAttr("strides", {1, 1})});
  b.result(k);
  b.result(s);
  b.result(is);
  oracle::Tensor xv = random({1, 3, 4, 12}, 51);
  std::vector<int64_t> idData(15);
  for (size_t i = 0; i < idData.size(); ++i)
    idData[i] = static_cast<int64_t>(i);
  std::vector<ReferenceValue> out = run(b.p, {xv, ints({3, 5}, idData)});
  ASSERT_EQ(out.size(), 3u);
  auto at = [&](int64_t t, int64_t h, int64_t d) {
    return xv.data[static_cast<size_t>((t * 4 + h) * 12 + d)];
  };
  oracle::Tensor kw({1, 3, 4, 4});
  for (int64_t tt = 0; tt < 3; ++tt)
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t d = 0; d < 4; ++d)
        kw.data[static_cast<size_t>((tt * 4 + h) * 4 + d)] = at(tt, h, 4 + d);
  EXPECT_TRUE(same(out[0], kw));
  oracle::Tensor sw({2, 3});
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t d = 0; d < 3; ++d)
      sw.data[static_cast<size_t>(h * 3 + d)] = at(1, 2 * h, 1 + 5 * d);
  EXPECT_TRUE(same(out[1], sw));
  EXPECT_EQ(std::get<oracle::IntTensor>(out[2]).data,
            (std::vector<int64_t>{13, 14}));
}

TEST(ReferenceTest, Concat) {
  Builder b;
  uint32_t x = b.arg("x", F, {2, D, 3});
  uint32_t y = b.arg("y", F, {2, 1, 3});
  uint32_t p = b.arg("p", I, {1, 4});
  // Along the dynamic middle dim, then integer rows stacked (positions of
  // three sequences).
  uint32_t xy =
      b.op("tensor.concat", {x, y}, F, {2, D, 3}, {intAttr("dim", 1)});
  uint32_t ppp =
      b.op("tensor.concat", {p, p, p}, I, {3, 4}, {intAttr("dim", 0)});
  b.result(xy);
  b.result(ppp);
  oracle::Tensor xv = random({2, 2, 3}, 53), yv = random({2, 1, 3}, 54);
  std::vector<ReferenceValue> out =
      run(b.p, {xv, yv, ints({1, 4}, {0, 1, 2, 3})});
  ASSERT_EQ(out.size(), 2u);
  oracle::Tensor want({2, 3, 3});
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t t = 0; t < 3; ++t)
      for (int64_t d = 0; d < 3; ++d)
        want.data[static_cast<size_t>((i * 3 + t) * 3 + d)] =
            t < 2 ? xv.data[static_cast<size_t>((i * 2 + t) * 3 + d)]
                  : yv.data[static_cast<size_t>(i * 3 + d)];
  EXPECT_TRUE(same(out[0], want));
  EXPECT_EQ(std::get<oracle::IntTensor>(out[1]).data,
            (std::vector<int64_t>{0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}));
}

// The chained graph of test/e2e (RMSNorm, SiLU-gated MLP, down projection),
// as the serializer writes it, against the same math done by hand.
TEST(ReferenceTest, GatedMlp) {
  Builder b;
  uint32_t x = b.arg("x", F, {D, 8});
  uint32_t norm = b.arg("norm", F, {8});
  uint32_t wg = b.arg("w_gate", F, {12, 8});
  uint32_t wu = b.arg("w_up", F, {12, 8});
  uint32_t wd = b.arg("w_down", F, {8, 12});
  uint32_t zero = b.index(0);
  uint32_t t = b.op("tensor.dim", {x, zero}, X, {});
  uint32_t one = b.constant({}, {1.0});
  uint32_t h = b.op("hymir.rms_norm", {x, norm}, F, {D, 8},
                    {floatAttr("epsilon", 1e-5)});
  uint32_t g = b.op("hymir.linear", {h, wg}, F, {D, 12});
  uint32_t u = b.op("hymir.linear", {h, wu}, F, {D, 12});
  uint32_t neg = b.op("arith.negf", {g}, F, {D, 12});
  uint32_t e = b.op("math.exp", {neg}, F, {D, 12});
  uint32_t ones = b.op("tensor.splat", {one, t}, F, {D, 12});
  uint32_t den = b.op("arith.addf", {ones, e}, F, {D, 12});
  uint32_t silu = b.op("arith.divf", {g, den}, F, {D, 12});
  uint32_t gated = b.op("arith.mulf", {silu, u}, F, {D, 12});
  b.result(b.op("hymir.linear", {gated, wd}, F, {D, 8}));
  oracle::Tensor xv = random({7, 8}, 61), nv = random({8}, 62, 0.9, 1.1),
                 gv = random({12, 8}, 63), uv = random({12, 8}, 64),
                 dv = random({8, 12}, 65);
  std::vector<ReferenceValue> out = run(b.p, {xv, nv, gv, uv, dv});
  ASSERT_EQ(out.size(), 1u);
  oracle::Tensor hv = oracle::rmsNorm(xv, nv, 1e-5);
  oracle::Tensor gl = oracle::linear(hv, gv), ul = oracle::linear(hv, uv);
  for (size_t i = 0; i < gl.data.size(); ++i)
    gl.data[i] = gl.data[i] / (1.0 + std::exp(-gl.data[i])) * ul.data[i];
  EXPECT_TRUE(same(out[0], oracle::linear(gl, dv)));
}

//===----------------------------------------------------------------------===//
// Failures
//===----------------------------------------------------------------------===//

struct ErrorCase {
  const char *name;
  std::function<void(Builder &)> build; // args x: f[?, 4], ids: i[3]
  std::string message;                  // ending in "...": the message's start
  size_t op;
};

std::vector<ErrorCase> errorCases() {
  return {
      {"unknown op",
       [](Builder &b) { b.result(b.op("math.sin", {0}, F, {D, 4})); },
       "op 0 (math.sin): is not an op the reference evaluator knows", 0},
      {"integer operand for a float one",
       [](Builder &b) { b.result(b.op("hymir.linear", {0, 1}, F, {D, 3})); },
       "op 0 (hymir.linear): operand 1 is i[3]; expected a float tensor", 0},
      {"index operand for a tensor",
       [](Builder &b) {
         uint32_t i = b.index(0);
         b.result(b.op("tensor.dim", {i, i}, X, {}));
       },
       "op 1 (tensor.dim): operand 0 is index; expected a tensor", 1},
      {"too few operands",
       [](Builder &b) { b.result(b.op("arith.addf", {0}, F, {D, 4})); },
       "op 0 (arith.addf): has 1 operands; it takes 2", 0},
      {"too many operands",
       [](Builder &b) {
         b.result(
             b.op("hymir.lightning_attention", {0, 0, 0, 0, 0, 0}, F, {D, 4}));
       },
       "op 0 (hymir.lightning_attention): has 6 operands; it takes 4 or 5", 0},
      {"splat without a value",
       [](Builder &b) { b.result(b.op("tensor.splat", {}, F, {4})); },
       "op 0 (tensor.splat): has 0 operands; it takes 1 or more", 0},
      {"result count",
       [](Builder &b) {
         b.result(b.opN("hymir.linear", {0, 0}, {{F, {D, D}}, {F, {}}})[0]);
       },
       "op 0 (hymir.linear): has 2 results; it takes 1", 0},
      {"shapes of a binary op",
       [](Builder &b) {
         uint32_t c = b.constant({2, 4}, {1});
         b.result(b.op("arith.addf", {0, c}, F, {D, 4}));
       },
       "op 1 (arith.addf): operand shapes [3, 4] and [2, 4] differ", 1},
      {"the oracle refuses",
       [](Builder &b) {
         uint32_t w = b.constant({2, 5}, {1});
         b.result(b.op("hymir.linear", {0, w}, F, {D, 2}));
       },
       "op 1 (hymir.linear): hymir::oracle::linear: ...", 1},
      {"the oracle refuses an id",
       [](Builder &b) { b.result(b.op("hymir.embedding", {0, 1}, F, {3, 4})); },
       "op 0 (hymir.embedding): hymir::oracle::embedding: ...", 0},
      {"missing attribute",
       [](Builder &b) { b.result(b.op("hymir.rms_norm", {0, 0}, F, {D, 4})); },
       "op 0 (hymir.rms_norm): has no attribute 'epsilon'", 0},
      {"result of another shape",
       [](Builder &b) { b.result(b.op("arith.negf", {0}, F, {D, 5})); },
       "op 0 (arith.negf): result 0 is f[3, 4], but its type is f[?, 5]", 0},
      {"result of another kind",
       [](Builder &b) { b.result(b.op("arith.negf", {0}, I, {D, 4})); },
       "op 0 (arith.negf): result 0 is f[3, 4], but its type is i[?, 4]", 0},
      {"result of another rank",
       [](Builder &b) { b.result(b.op("arith.negf", {0}, F, {12})); },
       "op 0 (arith.negf): result 0 is f[3, 4], but its type is f[12]", 0},
      {"undefined operand",
       [](Builder &b) {
         b.result(b.op("arith.negf", {3}, F, {D, 4}));
         b.result(b.op("arith.negf", {0}, F, {D, 4}));
       },
       "op 0 (arith.negf): operand 0 is value 3, which is not defined before "
       "it",
       0},
      {"operand out of range",
       [](Builder &b) { b.result(b.op("arith.negf", {99}, F, {D, 4})); },
       "op 0 (arith.negf): operand 0 is value 99, which is not defined before "
       "it",
       0},
      {"value defined twice",
       [](Builder &b) {
         b.result(b.op("arith.negf", {0}, F, {D, 4}));
         b.last().results[0] = 0;
       },
       "op 0 (arith.negf): result 0 is value 0, which is out of range or "
       "defined twice",
       0},
      {"result id out of range",
       [](Builder &b) {
         b.result(b.op("arith.negf", {0}, F, {D, 4}));
         b.last().results[0] = 7;
       },
       "op 0 (arith.negf): result 0 is value 7, which is out of range or "
       "defined twice",
       0},
      {"program result never defined",
       [](Builder &b) {
         b.value(F, {2});
         b.result(2);
       },
       "reference program: result 0 is value 2, which is never defined", kNoOp},
      {"constant data count",
       [](Builder &b) { b.result(b.constant({2, 3}, {1, 2, 3})); },
       "op 0 (arith.constant): has 3 values for shape [2, 3] (6 elements, or "
       "1 for a splat)",
       0},
      {"constant of dynamic shape",
       [](Builder &b) { b.result(b.constant({D}, {1})); },
       "op 0 (arith.constant): a constant needs a static shape, not [?]", 0},
      {"index constant without a value",
       [](Builder &b) {
         uint32_t i = b.op("arith.constant", {}, X, {});
         b.result(b.op("tensor.dim", {0, i}, X, {}));
       },
       "op 0 (arith.constant): an index constant has one value, not 0", 0},
      {"float constant with int data",
       [](Builder &b) {
         b.result(b.constant({1}, {1}));
         b.last().intData = {1};
       },
       "op 0 (arith.constant): a float constant has int data", 0},
      {"huge splat",
       [](Builder &b) {
         uint32_t one = b.constant({}, {1});
         uint32_t n = b.index(int64_t{1} << 20);
         b.result(b.op("tensor.splat", {one, n, n}, F, {D, D}));
       },
       "op 2 (tensor.splat): shape [1048576, 1048576] has more than 2^32 "
       "elements, more than the reference evaluator holds",
       2},
      {"negative splat size",
       [](Builder &b) {
         uint32_t one = b.constant({}, {1});
         uint32_t n = b.index(-3);
         b.result(b.op("tensor.splat", {one, n}, F, {D}));
       },
       "op 2 (tensor.splat): shape [-3] has a negative dim", 2},
      {"splat of a tensor",
       [](Builder &b) { b.result(b.op("tensor.splat", {0}, F, {3, 4})); },
       "op 0 (tensor.splat): splats f[3, 4]; it takes a single element", 0},
      {"splat sizes",
       [](Builder &b) {
         uint32_t one = b.constant({}, {1});
         b.result(b.op("tensor.splat", {one}, F, {D}));
       },
       "op 1 (tensor.splat): has 0 dynamic sizes for result type f[?]", 1},
      {"dim out of range",
       [](Builder &b) {
         uint32_t i = b.index(2);
         b.result(b.op("tensor.dim", {0, i}, X, {}));
       },
       "op 1 (tensor.dim): dim index 2 is out of range for shape [3, 4]", 1},
      {"reshape with two dynamic dims",
       [](Builder &b) {
         b.result(b.op("tensor.expand_shape", {0}, F, {D, 2, D}));
       },
       "op 0 (tensor.expand_shape): reshapes to f[?, 2, ?], which has more "
       "than one dynamic dim",
       0},
      {"reshape to another size",
       [](Builder &b) {
         b.result(b.op("tensor.collapse_shape", {0}, F, {5, D}));
       },
       "op 0 (tensor.collapse_shape): cannot reshape f[3, 4] to f[5, ?]", 0},
      {"slice out of bounds",
       [](Builder &b) {
         b.result(b.op("tensor.extract_slice", {0}, F, {3, 2},
                       {intsAttr("offsets", {0, 3}), intsAttr("sizes", {3, 2}),
                        intsAttr("strides", {1, 1})}));
       },
       "op 0 (tensor.extract_slice): slice of dim 1 out of bounds for shape "
       "[3, 4] (offset 3, size 2, stride 1)",
       0},
      {"slice past the start",
       [](Builder &b) {
         b.result(b.op("tensor.extract_slice", {0}, F, {3, 2},
                       {intsAttr("offsets", {0, 1}), intsAttr("sizes", {3, 2}),
                        intsAttr("strides", {1, -2})}));
       },
       "op 0 (tensor.extract_slice): slice of dim 1 out of bounds for shape "
       "[3, 4] (offset 1, size 2, stride -2)",
       0},
      {"slice with a huge stride",
       [](Builder &b) {
         b.result(b.op("tensor.extract_slice", {0}, F, {3, 2},
                       {intsAttr("offsets", {0, 1}), intsAttr("sizes", {3, 2}),
                        intsAttr("strides", {1, INT64_MAX})}));
       },
       "op 0 (tensor.extract_slice): slice of dim 1 out of bounds for shape "
       "[3, 4] (offset 1, size 2, stride 9223372036854775807)",
       0},
      {"slice without strides",
       [](Builder &b) {
         b.result(
             b.op("tensor.extract_slice", {0}, F, {3, 2},
                  {intsAttr("offsets", {0, 1}), intsAttr("sizes", {3, 2})}));
       },
       "op 0 (tensor.extract_slice): has no attribute 'strides'", 0},
      {"slice of another rank",
       [](Builder &b) {
         b.result(b.op("tensor.extract_slice", {0}, F, {3},
                       {intsAttr("offsets", {0}), intsAttr("sizes", {3}),
                        intsAttr("strides", {1})}));
       },
       "op 0 (tensor.extract_slice): has 1 offsets for a source of rank 2", 0},
      {"slice missing a dynamic operand",
       [](Builder &b) {
         b.result(
             b.op("tensor.extract_slice", {0}, F, {3, 1},
                  {intsAttr("offsets", {0, kRefDynamic}),
                   intsAttr("sizes", {3, 1}), intsAttr("strides", {1, 1})}));
       },
       "op 0 (tensor.extract_slice): has fewer index operands than dynamic "
       "offsets, sizes and strides",
       0},
      {"slice with a spare operand",
       [](Builder &b) {
         uint32_t i = b.index(0);
         b.result(b.op("tensor.extract_slice", {0, i}, F, {3, 1},
                       {intsAttr("offsets", {0, 0}), intsAttr("sizes", {3, 1}),
                        intsAttr("strides", {1, 1})}));
       },
       "op 1 (tensor.extract_slice): has 1 index operands more than dynamic "
       "offsets, sizes and strides",
       1},
      {"slice dropping a wide dim",
       [](Builder &b) {
         b.result(b.op("tensor.extract_slice", {0}, F, {1},
                       {intsAttr("offsets", {0, 0}), intsAttr("sizes", {3, 1}),
                        intsAttr("strides", {1, 1}),
                        intsAttr("dropped_dims", {0})}));
       },
       "op 0 (tensor.extract_slice): cannot drop dim 0 of slice sizes [3, 1]",
       0},
      {"slice dropping a dim twice",
       [](Builder &b) {
         b.result(b.op("tensor.extract_slice", {0}, F, {1},
                       {intsAttr("offsets", {0, 0}), intsAttr("sizes", {1, 1}),
                        intsAttr("strides", {1, 1}),
                        intsAttr("dropped_dims", {1, 1})}));
       },
       "op 0 (tensor.extract_slice): cannot drop dim 1 of slice sizes [1, 1]",
       0},
      {"concat of other dims",
       [](Builder &b) {
         uint32_t y = b.constant({3, 2}, {1, 2, 3, 4, 5, 6});
         b.result(
             b.op("tensor.concat", {0, y}, F, {6, 4}, {intAttr("dim", 0)}));
       },
       "op 1 (tensor.concat): operand 1 is f[3, 2], which does not "
       "concatenate with f[3, 4] along dim 0",
       1},
      {"concat along a dim out of range",
       [](Builder &b) {
         b.result(
             b.op("tensor.concat", {0, 0}, F, {3, 8}, {intAttr("dim", 2)}));
       },
       "op 0 (tensor.concat): concatenates along dim 2 of operands of rank 2",
       0},
      {"slice with a negative size",
       [](Builder &b) {
         b.result(b.op("tensor.extract_slice", {0}, F, {3, D},
                       {intsAttr("offsets", {0, 0}), intsAttr("sizes", {3, -1}),
                        intsAttr("strides", {1, 1})}));
       },
       "op 0 (tensor.extract_slice): has size -1 in dim 1", 0},
  };
}

TEST(ReferenceTest, Failures) {
  oracle::Tensor x = random({3, 4}, 71);
  oracle::IntTensor ids = ints({3}, {0, 1, 7});
  for (const ErrorCase &c : errorCases()) {
    SCOPED_TRACE(c.name);
    Builder b;
    b.arg("x", F, {D, 4});
    b.arg("ids", I, {3});
    c.build(b);
    std::string prefix = c.message;
    if (prefix.size() < 3 || prefix.substr(prefix.size() - 3) != "...") {
      expectError(b.p, {x, ids}, c.message, c.op);
      continue;
    }
    // The oracle's own words follow the op; only their start is given.
    prefix.resize(prefix.size() - 3);
    size_t failed = kNoOp;
    absl::StatusOr<std::vector<ReferenceValue>> out =
        evaluateReference(b.p, {x, ids}, &failed);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(failed, c.op);
    EXPECT_EQ(std::string(out.status().message()).rfind(prefix, 0), 0u)
        << out.status();
  }
}

TEST(ReferenceTest, ArgumentFailures) {
  Builder b;
  b.arg("x", F, {D, 4});
  b.arg("ids", I, {3});
  b.result(0);
  oracle::Tensor x = random({3, 4}, 81);
  oracle::IntTensor ids = ints({3}, {0, 1, 2});
  expectError(b.p, {x}, "reference program: takes 2 arguments, got 1", kNoOp);
  expectError(b.p, {x, x},
              "reference argument 1 'ids' is f[3, 4], but its type is i[3]",
              kNoOp);
  expectError(b.p, {random({3, 5}, 82), ids},
              "reference argument 0 'x' is f[3, 5], but its type is f[?, 4]",
              kNoOp);
  expectError(b.p, {int64_t{3}, ids},
              "reference argument 0 'x' is index, but its type is f[?, 4]",
              kNoOp);
  oracle::Tensor shortData = x;
  shortData.data.pop_back();
  expectError(b.p, {shortData, ids},
              "reference argument 0 'x' is f[3, 4] but holds 11 elements",
              kNoOp);
  oracle::Tensor negative;
  negative.shape = {-1, 4};
  expectError(b.p, {negative, ids},
              "reference argument 0 'x' is f[-1, 4]: shape [-1, 4] has a "
              "negative dim",
              kNoOp);
  Builder twice = b;
  twice.p.arguments[1] = 0;
  expectError(twice.p, {x, ids},
              "reference program: argument 1 'ids' is value 0, which is out "
              "of range or defined twice",
              kNoOp);
  Builder outOfRange = b;
  outOfRange.p.arguments[0] = 5;
  expectError(outOfRange.p, {x, ids},
              "reference program: argument 0 'x' is value 5, which is out of "
              "range or defined twice",
              kNoOp);
  // Arguments pass through untouched, and a value may be returned twice.
  b.result(0);
  std::vector<ReferenceValue> out = run(b.p, {x, ids});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(same(out[0], x));
  EXPECT_TRUE(same(out[1], x));
}

TEST(ReferenceTest, KnownOps) {
  for (const char *name : {"hymir.lightning_attention",
                           "hymir.softmax_attention",
                           "hymir.kv_cache_write",
                           "hymir.rope",
                           "hymir.rms_norm",
                           "hymir.linear",
                           "hymir.embedding",
                           "hymir.moe",
                           "hymir.cispo_loss",
                           "hymir.token_logprobs",
                           "arith.addf",
                           "arith.maximumf",
                           "math.rsqrt",
                           "arith.constant",
                           "tensor.dim",
                           "tensor.splat",
                           "tensor.expand_shape",
                           "tensor.collapse_shape",
                           "tensor.extract_slice",
                           "tensor.concat"})
    EXPECT_TRUE(isReferenceOp(name)) << name;
  for (const char *name : {"math.sin", "func.call", "func.return", "", "hymir"})
    EXPECT_FALSE(isReferenceOp(name)) << name;
}

//===----------------------------------------------------------------------===//
// Random programs
//===----------------------------------------------------------------------===//

uint64_t testSeed() {
  if (const char *env = std::getenv("HYMIR_TEST_SEED"))
    return std::strtoull(env, nullptr, 0);
  std::random_device device;
  return (uint64_t{device()} << 32) | device();
}

// Programs of random ops over random small values, with random attributes
// and types, mostly close to valid (operands defined before use, result
// types like the first operand's, the right result counts): many fail, some
// succeed; none may crash (the AddressSanitizer build runs this too).
TEST(ReferenceTest, RandomProgramsNeverCrash) {
  uint64_t seed = testSeed();
  SCOPED_TRACE(::testing::Message()
               << "seed " << seed << " (HYMIR_TEST_SEED repeats it)");
  std::mt19937_64 gen(seed);
  auto range = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen);
  };
  auto pick = [&](const auto &list) {
    return list[static_cast<size_t>(range(0, std::size(list) - 1))];
  };
  struct Op {
    const char *name;
    int operands, results;
    std::vector<const char *> attrs;
  };
  static const Op kOps[] = {
      {"hymir.lightning_attention", 4, 2, {}},
      {"hymir.softmax_attention", 3, 1, {"causal", "scale"}},
      {"hymir.softmax_attention", 4, 1, {"causal", "scale"}},
      {"hymir.kv_cache_write", 3, 1, {}},
      {"hymir.kv_cache_write", 4, 1, {"rotary_dim", "theta"}},
      {"hymir.rope", 2, 1, {"rotary_dim", "theta"}},
      {"hymir.rms_norm", 2, 1, {"epsilon"}},
      {"hymir.linear", 2, 1, {}},
      {"hymir.embedding", 2, 1, {}},
      {"hymir.moe", 5, 1, {"top_k", "renormalize"}},
      {"hymir.cispo_loss",
       6,
       4,
       {"eps_low", "eps_high", "unified_mask", "bf16_head"}},
      {"hymir.token_logprobs", 3, 1, {"bf16_head"}},
      {"arith.addf", 2, 1, {}},
      {"arith.divf", 2, 1, {}},
      {"arith.negf", 1, 1, {}},
      {"math.exp", 1, 1, {}},
      {"arith.constant", 0, 1, {}},
      {"tensor.dim", 2, 1, {}},
      {"tensor.splat", 1, 1, {}},
      {"tensor.expand_shape", 1, 1, {}},
      {"tensor.collapse_shape", 1, 1, {}},
      {"tensor.extract_slice", 1, 1, {"offsets", "sizes", "strides"}},
      {"tensor.concat", 2, 1, {"dim"}},
      {"arith.maximumf", 2, 1, {}},
      {"unknown.op", 1, 1, {}}};
  static const char *kAttrs[] = {"dropped_dims", "epsilon", "top_k", "scale",
                                 "offsets"};
  auto smallInt = [&]() {
    return range(0, 9) == 0 ? kRefDynamic : range(-1, 4);
  };
  const int kPrograms = 4000;
  int succeeded = 0;
  for (int iter = 0; iter < kPrograms; ++iter) {
    Builder b;
    std::vector<ReferenceValue> args;
    std::vector<uint32_t> defined;
    for (int64_t a = range(1, 4); a > 0; --a) {
      std::vector<int64_t> s;
      for (int64_t d = range(0, 4); d > 0; --d)
        s.push_back(range(1, 3));
      std::string name = "a" + std::to_string(a);
      if (range(0, 3) == 0) {
        oracle::IntTensor t{s, std::vector<int64_t>(static_cast<size_t>(
                                   oracle::Tensor(s).numel()))};
        for (int64_t &v : t.data)
          v = range(-1, 3);
        defined.push_back(b.arg(name, I, s));
        args.push_back(std::move(t));
      } else {
        defined.push_back(b.arg(name, F, s));
        args.push_back(random(s, gen(), 0.1, 1));
      }
    }
    for (int64_t n = range(1, 6); n > 0; --n) {
      Op info = pick(kOps);
      RefOpDesc op;
      op.name = info.name;
      int64_t operands =
          range(0, 9) ? info.operands + (range(0, 9) == 0) : range(0, 6);
      for (int64_t k = operands; k > 0; --k)
        op.operands.push_back(range(0, 30) == 0
                                  ? static_cast<uint32_t>(range(0, 40))
                                  : pick(defined));
      std::vector<const char *> names = info.attrs;
      if (range(0, 3) == 0)
        names.push_back(pick(kAttrs));
      for (const char *name : names) {
        if (range(0, 15) == 0)
          continue;
        RefAttrDesc attr{
            name, smallInt(), static_cast<double>(range(-2, 5)) / 4, {}};
        for (int64_t j = range(0, 4); j > 0; --j)
          attr.ints.push_back(smallInt());
        op.attrs.push_back(attr);
      }
      for (int64_t k = range(0, 2) * range(1, 6); k > 0; --k)
        op.data.push_back(static_cast<double>(range(-3, 3)));
      for (int64_t k = range(0, 2); k > 0; --k)
        op.intData.push_back(range(0, 5) ? range(-1, 4) : INT64_MAX);
      int results = range(0, 4) ? info.results : static_cast<int>(range(0, 3));
      for (int k = 0; k < results; ++k) {
        // Like the first operand's type, some dims made dynamic, or random.
        RefValueDesc type{static_cast<RefValueKind>(range(0, 2)), {}};
        const RefValueDesc *like =
            op.operands.empty() || op.operands[0] >= b.p.values.size()
                ? nullptr
                : &b.p.values[op.operands[0]];
        if (like && range(0, 2)) {
          type = *like;
          for (int64_t &d : type.shape)
            if (range(0, 2) == 0)
              d = D;
        } else if (type.kind != X) {
          for (int64_t d = range(0, 3); d > 0; --d)
            type.shape.push_back(range(0, 3) ? range(0, 3) : D);
        }
        op.results.push_back(b.value(type.kind, type.shape));
        defined.push_back(op.results.back());
      }
      b.p.ops.push_back(op);
    }
    for (int64_t k = range(1, 2); k > 0; --k)
      b.result(pick(defined));
    size_t failed = kNoOp;
    absl::StatusOr<std::vector<ReferenceValue>> out =
        evaluateReference(b.p, args, &failed);
    if (out.ok()) {
      ++succeeded;
      EXPECT_EQ(failed, kNoOp);
      EXPECT_EQ(out->size(), b.p.results.size());
    } else {
      EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_TRUE(failed == kNoOp || failed < b.p.ops.size());
    }
  }
  std::cout << "[   info   ] " << succeeded << " of " << kPrograms
            << " random programs evaluated without error\n";
}

//===----------------------------------------------------------------------===//
// Stored tensors as reference values
//===----------------------------------------------------------------------===//

template <typename T> std::vector<uint8_t> bytesOf(std::vector<T> values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

TEST(ReferenceTest, ValuesFromBytes) {
  struct Case {
    DType dtype;
    std::vector<uint8_t> bytes;
    std::vector<double> want;
  };
  std::vector<Case> cases = {
      {DType::F32, bytesOf<float>({1.5f, -2.0f}), {1.5, -2.0}},
      {DType::F64, bytesOf<double>({0.1, -1e300}), {0.1, -1e300}},
      // bf16: 1.0 is 0x3F80, -3.0 is 0xC040.
      {DType::BF16, bytesOf<uint16_t>({0x3F80, 0xC040}), {1.0, -3.0}},
      // f16: 1.0 is 0x3C00, the smallest subnormal 0x0001, -inf 0xFC00.
      {DType::F16, bytesOf<uint16_t>({0x3C00, 0x0001}), {1.0, 0x1p-24}},
      {DType::F16, bytesOf<uint16_t>({0xFC00, 0xC900}), {-INFINITY, -10.0}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(std::string(dtypeName(c.dtype)));
    absl::StatusOr<ReferenceValue> v = referenceValueFromBytes(
        c.dtype, {2}, c.bytes.data(), c.bytes.size(), F, "t");
    ASSERT_TRUE(v.ok()) << v.status();
    oracle::Tensor want({2});
    want.data = c.want;
    EXPECT_TRUE(same(*v, want));
  }
  std::vector<uint8_t> i32 = bytesOf<int32_t>({-7, 3, 2147483647});
  absl::StatusOr<ReferenceValue> v =
      referenceValueFromBytes(DType::I32, {3}, i32.data(), i32.size(), I, "t");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(std::get<oracle::IntTensor>(*v).data,
            (std::vector<int64_t>{-7, 3, 2147483647}));
  std::vector<uint8_t> i64 = bytesOf<int64_t>({INT64_MIN});
  v = referenceValueFromBytes(DType::I64, {}, i64.data(), i64.size(), I, "t");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(std::get<oracle::IntTensor>(*v).data,
            std::vector<int64_t>{INT64_MIN});
  std::vector<uint8_t> u8 = {255, 0};
  v = referenceValueFromBytes(DType::U8, {2, 1}, u8.data(), u8.size(), I, "t");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(std::get<oracle::IntTensor>(*v).data,
            (std::vector<int64_t>{255, 0}));

  EXPECT_EQ(referenceValueFromBytes(DType::I32, {3}, i32.data(), i32.size(), F,
                                    "input 'x'")
                .status()
                .message(),
            "input 'x' is I32, but the reference reads it as a float tensor");
  EXPECT_EQ(
      referenceValueFromBytes(DType::F32, {3}, i32.data(), i32.size(), I, "w")
          .status()
          .message(),
      "w is F32, but the reference reads it as an integer tensor");
  EXPECT_EQ(
      referenceValueFromBytes(DType::I32, {4}, i32.data(), i32.size(), I, "x")
          .status()
          .message(),
      "x holds 12 bytes, but I32[4] needs 16");
  EXPECT_EQ(referenceValueFromBytes(DType::I32, {-1}, i32.data(), 0, I, "x")
                .status()
                .message(),
            "x: shape [-1] has a negative dim");
}

} // namespace
