//===- OracleLightningTest.cpp - Lightning attention ----------------------===//
//
// The recurrent and blocked lightning attention agree for many block sizes
// (including partial last blocks), with and without an initial state, and
// both match a direct closed-form sum; prefill followed by decode steps
// equals one long prefill.
//
//===----------------------------------------------------------------------===//

#include "OracleTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace hymir::oracle;
using namespace hymir::oracle::test;

namespace {

Tensor slopesTensor(const std::vector<double> &s) {
  Tensor t({static_cast<int64_t>(s.size())});
  t.data = s;
  return t;
}

// o_t = sum_{j<=t} lambda^(t-j) (q_t . k_j) v_j + lambda^(t+1) q_t S_0 and
// S_T = lambda^T S_0 + sum_j lambda^(T-1-j) k_j^T v_j, summed directly.
LightningResult closedForm(const Tensor &q, const Tensor &k, const Tensor &v,
                           const Tensor &slopes, const Tensor *init) {
  int64_t nb = q.dim(0), nt = q.dim(1), nh = q.dim(2), d = q.dim(3),
          dv = v.dim(3);
  LightningResult r{Tensor({nb, nt, nh, dv}), Tensor({nb, nh, d, dv})};
  auto at = [&](const Tensor &x, int64_t b, int64_t t, int64_t h, int64_t c) {
    return x.data[((b * nt + t) * nh + h) * x.dim(3) + c];
  };
  auto s0 = [&](int64_t b, int64_t h, int64_t i, int64_t j) {
    return init ? init->data[((b * nh + h) * d + i) * dv + j] : 0.0;
  };
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t h = 0; h < nh; ++h) {
      double lambda = std::exp(-slopes.data[h]);
      for (int64_t t = 0; t < nt; ++t) {
        for (int64_t c = 0; c < dv; ++c) {
          double acc = 0.0;
          for (int64_t j = 0; j <= t; ++j) {
            double dot = 0.0;
            for (int64_t i = 0; i < d; ++i)
              dot += at(q, b, t, h, i) * at(k, b, j, h, i);
            acc += std::pow(lambda, t - j) * dot * at(v, b, j, h, c);
          }
          for (int64_t i = 0; i < d; ++i)
            acc += std::pow(lambda, t + 1) * at(q, b, t, h, i) * s0(b, h, i, c);
          r.out.data[((b * nt + t) * nh + h) * dv + c] = acc;
        }
      }
      for (int64_t i = 0; i < d; ++i) {
        for (int64_t c = 0; c < dv; ++c) {
          double acc = std::pow(lambda, nt) * s0(b, h, i, c);
          for (int64_t j = 0; j < nt; ++j)
            acc += std::pow(lambda, nt - 1 - j) * at(k, b, j, h, i) *
                   at(v, b, j, h, c);
          r.finalState.data[((b * nh + h) * d + i) * dv + c] = acc;
        }
      }
    }
  }
  return r;
}

// Tokens [begin, end) of a [B, T, H, D] tensor.
Tensor tokenSlice(const Tensor &x, int64_t begin, int64_t end) {
  int64_t nb = x.dim(0), nt = x.dim(1), row = x.dim(2) * x.dim(3);
  Tensor s({nb, end - begin, x.dim(2), x.dim(3)});
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t t = begin; t < end; ++t)
      for (int64_t c = 0; c < row; ++c)
        s.data[((b * (end - begin)) + t - begin) * row + c] =
            x.data[(b * nt + t) * row + c];
  return s;
}

struct BlockCase {
  int64_t tokens;
  int64_t blockSize;
};

class OracleLightningBlocks : public ::testing::TestWithParam<BlockCase> {};

} // namespace

TEST_P(OracleLightningBlocks, BlockedMatchesRecurrence) {
  const BlockCase c = GetParam();
  // One sequence keeps this quick; MatchesClosedForm covers batches.
  const int64_t nb = 1, nh = 4, d = 16, layers = 80;
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Tensor q = randomTensor({nb, c.tokens, nh, d}, seed);
  Tensor k = randomTensor({nb, c.tokens, nh, d}, seed + 1);
  Tensor v = randomTensor({nb, c.tokens, nh, d}, seed + 2);
  Tensor init = randomTensor({nb, nh, d, d}, seed + 3);
  // Layer 0 decays fastest; layer 78 is the last lightning layer of M1 and
  // decays slowly, so long-range terms matter.
  for (int64_t layer : {0, 78}) {
    Tensor slopes = slopesTensor(lightningSlopes(nh, layer, layers));
    for (const Tensor *state : {static_cast<const Tensor *>(nullptr),
                                static_cast<const Tensor *>(&init)}) {
      SCOPED_TRACE("layer " + std::to_string(layer) +
                   (state ? " with" : " without") + " initial state");
      LightningResult rec = lightningAttentionRecurrent(q, k, v, slopes, state);
      LightningResult blk =
          lightningAttentionBlocked(q, k, v, slopes, state, c.blockSize);
      ASSERT_EQ(blk.out.shape, rec.out.shape);
      ASSERT_EQ(blk.finalState.shape, rec.finalState.shape);
      EXPECT_LT(relativeError(blk.out, rec.out), 1e-12);
      EXPECT_LT(relativeError(blk.finalState, rec.finalState), 1e-12);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    BlockSizes, OracleLightningBlocks,
    ::testing::Values(BlockCase{256, 1}, BlockCase{256, 16}, BlockCase{256, 64},
                      BlockCase{256, 256}, BlockCase{100, 32},
                      BlockCase{100, 256}, BlockCase{37, 16}, BlockCase{1, 64}),
    [](const ::testing::TestParamInfo<BlockCase> &info) {
      return "T" + std::to_string(info.param.tokens) + "_Block" +
             std::to_string(info.param.blockSize);
    });

TEST(OracleLightning, MatchesClosedForm) {
  const int64_t nb = 2, nt = 40, nh = 3, d = 8, dv = 5;
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Tensor q = randomTensor({nb, nt, nh, d}, seed);
  Tensor k = randomTensor({nb, nt, nh, d}, seed + 1);
  Tensor v = randomTensor({nb, nt, nh, dv}, seed + 2);
  Tensor init = randomTensor({nb, nh, d, dv}, seed + 3);
  Tensor slopes = slopesTensor(lightningSlopes(nh, 2, 8));
  for (const Tensor *state : {static_cast<const Tensor *>(nullptr),
                              static_cast<const Tensor *>(&init)}) {
    LightningResult want = closedForm(q, k, v, slopes, state);
    LightningResult rec = lightningAttentionRecurrent(q, k, v, slopes, state);
    LightningResult blk = lightningAttentionBlocked(q, k, v, slopes, state, 16);
    ASSERT_EQ(rec.out.shape, (std::vector<int64_t>{nb, nt, nh, dv}));
    ASSERT_EQ(rec.finalState.shape, (std::vector<int64_t>{nb, nh, d, dv}));
    EXPECT_LT(relativeError(rec.out, want.out), 1e-12);
    EXPECT_LT(relativeError(rec.finalState, want.finalState), 1e-12);
    EXPECT_LT(relativeError(blk.out, want.out), 1e-12);
    EXPECT_LT(relativeError(blk.finalState, want.finalState), 1e-12);
  }
}

TEST(OracleLightning, HandCheckedSingleHead) {
  // D = 1: S_t = lambda S_{t-1} + k_t v_t, o_t = q_t S_t.
  Tensor q({1, 3, 1, 1}), k({1, 3, 1, 1}), v({1, 3, 1, 1});
  q.data = {1.0, 2.0, -1.0};
  k.data = {0.5, 1.0, 2.0};
  v.data = {2.0, -1.0, 0.25};
  Tensor slopes = slopesTensor({std::log(2.0)}); // lambda = 1/2
  Tensor init({1, 1, 1, 1}, 4.0);
  // S: 4 -> 0.5*4 + 1 = 3 -> 1.5 - 1 = 0.5 -> 0.25 + 0.5 = 0.75.
  for (int64_t block : {1, 2, 3}) {
    LightningResult r =
        lightningAttentionBlocked(q, k, v, slopes, &init, block);
    EXPECT_NEAR(r.out.data[0], 3.0, 1e-15);
    EXPECT_NEAR(r.out.data[1], 1.0, 1e-15);
    EXPECT_NEAR(r.out.data[2], -0.75, 1e-15);
    EXPECT_NEAR(r.finalState.data[0], 0.75, 1e-15);
  }
}

TEST(OracleLightning, PrefillThenDecodeEqualsLongPrefill) {
  const int64_t nb = 1, nt = 48, prefill = 30, nh = 4, d = 16;
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Tensor q = randomTensor({nb, nt, nh, d}, seed);
  Tensor k = randomTensor({nb, nt, nh, d}, seed + 1);
  Tensor v = randomTensor({nb, nt, nh, d}, seed + 2);
  Tensor slopes = slopesTensor(lightningSlopes(nh, 5, 80));
  LightningResult whole = lightningAttentionRecurrent(q, k, v, slopes, nullptr);

  LightningResult part = lightningAttentionBlocked(
      tokenSlice(q, 0, prefill), tokenSlice(k, 0, prefill),
      tokenSlice(v, 0, prefill), slopes, nullptr, 16);
  EXPECT_LT(relativeError(part.out, tokenSlice(whole.out, 0, prefill)), 1e-12);
  Tensor state = part.finalState;
  for (int64_t t = prefill; t < nt; ++t) {
    LightningResult step = lightningAttentionRecurrent(
        tokenSlice(q, t, t + 1), tokenSlice(k, t, t + 1),
        tokenSlice(v, t, t + 1), slopes, &state);
    EXPECT_LT(relativeError(step.out, tokenSlice(whole.out, t, t + 1)), 1e-12)
        << "token " << t;
    state = step.finalState;
  }
  EXPECT_LT(relativeError(state, whole.finalState), 1e-12);
}

TEST(OracleLightning, NoTokensPassesStateThrough) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Tensor none({2, 0, 4, 8});
  Tensor init = randomTensor({2, 4, 8, 8}, seed);
  Tensor slopes = slopesTensor(alibiSlopes(4));
  for (bool blocked : {false, true}) {
    LightningResult r =
        blocked ? lightningAttentionBlocked(none, none, none, slopes, &init, 8)
                : lightningAttentionRecurrent(none, none, none, slopes, &init);
    EXPECT_EQ(r.out.numel(), 0);
    EXPECT_EQ(r.finalState.data, init.data);
  }
}
