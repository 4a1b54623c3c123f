//===- OracleCispoTest.cpp - CISPO loss and gradients ---------------------===//
//
// cispoLoss against a direct computation of log-probs and loss, and its
// gradients against central finite differences of the surrogate in which the
// clipped IS weight and the unified mask are frozen (stop-gradient).
//
//===----------------------------------------------------------------------===//

#include "OracleTestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace hymir::oracle;
using namespace hymir::oracle::test;

namespace {

const double kEpsLow = 0.2, kEpsHigh = 0.28;

// log p(y_t) straight from the definition log(exp(z_y) / sum_v exp(z_v)).
std::vector<double> directLogp(const Tensor &hidden, const Tensor &lmHead,
                               const IntTensor &targets) {
  int64_t nt = hidden.dim(0), n = hidden.dim(1), nv = lmHead.dim(0);
  std::vector<double> logp(nt);
  for (int64_t t = 0; t < nt; ++t) {
    double total = 0.0, zy = 0.0;
    for (int64_t v = 0; v < nv; ++v) {
      double z = 0.0;
      for (int64_t c = 0; c < n; ++c)
        z += hidden.data[t * n + c] * lmHead.data[v * n + c];
      total += std::exp(z);
      if (v == targets.data[t])
        zy = z;
    }
    logp[t] = std::log(std::exp(zy) / total);
  }
  return logp;
}

struct Problem {
  Tensor hidden, lmHead, logpOld, advantages, mask;
  IntTensor targets;
};

// T = 16 tokens: advantage signs alternate, and the IS ratio r cycles through
// above the clip range, below it and two values inside, so every (sign,
// region) pair occurs twice; tokens 9 and 14 are masked out.
Problem makeProblem(uint64_t seed) {
  const int64_t nt = 16, n = 6, nv = 10;
  Problem p;
  p.hidden = randomTensor({nt, n}, seed);
  p.lmHead = randomTensor({nv, n}, seed + 1, -1.5, 1.5);
  p.targets = randomIds({nt}, seed + 2, 0, nv - 1);
  Tensor magnitude = randomTensor({nt}, seed + 3, 0.3, 1.5);
  std::vector<double> logp = directLogp(p.hidden, p.lmHead, p.targets);
  const double ratios[4] = {1.6, 0.4, 1.05, 0.9};
  p.logpOld = Tensor({nt});
  p.advantages = Tensor({nt});
  p.mask = Tensor({nt}, 1.0);
  for (int64_t t = 0; t < nt; ++t) {
    p.advantages.data[t] = (t % 2 ? -1.0 : 1.0) * magnitude.data[t];
    p.logpOld.data[t] = logp[t] - std::log(ratios[(t / 2) % 4]);
  }
  p.mask.data[9] = 0.0;
  p.mask.data[14] = 0.0;
  return p;
}

// The stop-gradient factors at the base point: rhat_t * M_t.
std::vector<double> frozenFactors(const Problem &p, const Tensor &logpNew,
                                  bool unified) {
  std::vector<double> f;
  for (int64_t t = 0; t < logpNew.numel(); ++t) {
    double r = std::exp(logpNew.data[t] - p.logpOld.data[t]);
    double rHat = std::clamp(r, 1.0 - kEpsLow, 1.0 + kEpsHigh);
    double a = p.advantages.data[t];
    bool drop = unified &&
                ((a > 0 && r > 1.0 + kEpsHigh) || (a < 0 && r < 1.0 - kEpsLow));
    f.push_back(drop ? 0.0 : rHat);
  }
  return f;
}

// -(1/N) sum_t mask_t (rhat_t M_t) A_t logp_t(hidden, lmHead) with the
// factors held fixed.
double surrogate(const Problem &p, const Tensor &hidden, const Tensor &lmHead,
                 const std::vector<double> &factors) {
  std::vector<double> logp = directLogp(hidden, lmHead, p.targets);
  double nMask = 0.0, sum = 0.0;
  for (size_t t = 0; t < logp.size(); ++t) {
    nMask += p.mask.data[t];
    sum += p.mask.data[t] * factors[t] * p.advantages.data[t] * logp[t];
  }
  return -sum / nMask;
}

// Central differences of the surrogate with respect to every entry of
// `param` (hidden when wrtHidden, else the LM head).
Tensor finiteDifferences(const Problem &p, const std::vector<double> &factors,
                         bool wrtHidden) {
  const double h = 1e-5;
  Tensor grad(wrtHidden ? p.hidden.shape : p.lmHead.shape);
  for (int64_t i = 0; i < grad.numel(); ++i) {
    Tensor hid = p.hidden, head = p.lmHead;
    double &x = wrtHidden ? hid.data[i] : head.data[i];
    double x0 = x;
    x = x0 + h;
    double up = surrogate(p, hid, head, factors);
    x = x0 - h;
    double down = surrogate(p, hid, head, factors);
    grad.data[i] = (up - down) / (2 * h);
  }
  return grad;
}

} // namespace

TEST(OracleCispo, LogProbsAndLossMatchDirectComputation) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Problem p = makeProblem(seed);
  std::vector<double> logp = directLogp(p.hidden, p.lmHead, p.targets);
  for (bool unified : {false, true}) {
    SCOPED_TRACE(unified ? "unified mask" : "no unified mask");
    CispoResult r = cispoLoss(p.hidden, p.lmHead, p.targets, p.logpOld,
                              p.advantages, p.mask, kEpsLow, kEpsHigh, unified);
    ASSERT_EQ(r.logpNew.shape, (std::vector<int64_t>{16}));
    for (int64_t t = 0; t < 16; ++t)
      EXPECT_NEAR(r.logpNew.data[t], logp[t], 1e-13) << "token " << t;

    // The terms have both signs; the sum can cancel, so the rounding bound is
    // relative to the sum of magnitudes, not to the (possibly tiny) result.
    double sum = 0.0, sumAbs = 0.0, nMask = 0.0;
    int clippedHigh = 0, clippedLow = 0, dropped = 0;
    for (int64_t t = 0; t < 16; ++t) {
      double r_t = std::exp(logp[t] - p.logpOld.data[t]);
      double rHat = std::min(std::max(r_t, 1 - kEpsLow), 1 + kEpsHigh);
      double a = p.advantages.data[t];
      double m = 1.0;
      if (unified &&
          ((a > 0 && r_t > 1 + kEpsHigh) || (a < 0 && r_t < 1 - kEpsLow)))
        m = 0.0;
      clippedHigh += r_t > 1 + kEpsHigh;
      clippedLow += r_t < 1 - kEpsLow;
      dropped += m == 0.0 && p.mask.data[t] != 0.0;
      sum += p.mask.data[t] * m * rHat * a * logp[t];
      sumAbs += std::abs(p.mask.data[t] * m * rHat * a * logp[t]);
      nMask += p.mask.data[t];
    }
    EXPECT_EQ(clippedHigh, 4);
    EXPECT_EQ(clippedLow, 4);
    EXPECT_EQ(dropped, unified ? 4 : 0);
    EXPECT_NEAR(r.loss, -sum / nMask, 1e-13 * sumAbs / nMask);
  }
}

TEST(OracleCispo, GradientsMatchFiniteDifferences) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Problem p = makeProblem(seed);
  for (bool unified : {false, true}) {
    SCOPED_TRACE(unified ? "unified mask" : "no unified mask");
    CispoResult r = cispoLoss(p.hidden, p.lmHead, p.targets, p.logpOld,
                              p.advantages, p.mask, kEpsLow, kEpsHigh, unified);
    std::vector<double> factors = frozenFactors(p, r.logpNew, unified);
    EXPECT_NEAR(surrogate(p, p.hidden, p.lmHead, factors), r.loss, 1e-13);
    Tensor fdHidden = finiteDifferences(p, factors, true);
    Tensor fdHead = finiteDifferences(p, factors, false);
    ASSERT_EQ(r.dHidden.shape, p.hidden.shape);
    ASSERT_EQ(r.dLmHead.shape, p.lmHead.shape);
    EXPECT_LT(relativeError(r.dHidden, fdHidden), 1e-8);
    EXPECT_LT(relativeError(r.dLmHead, fdHead), 1e-8);

    // Masked tokens get no gradient; clipped tokens keep theirs unless the
    // unified mask drops them.
    const int64_t n = p.hidden.dim(1);
    for (int64_t t = 0; t < 16; ++t) {
      double norm = 0.0;
      for (int64_t c = 0; c < n; ++c)
        norm += std::abs(r.dHidden.data[t * n + c]);
      bool zero = p.mask.data[t] == 0.0 || factors[t] == 0.0;
      if (zero)
        EXPECT_EQ(norm, 0.0) << "token " << t;
      else
        EXPECT_GT(norm, 0.0) << "token " << t;
    }
  }
}

TEST(OracleCispo, EmptyMaskGivesZeroLossAndGradients) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Problem p = makeProblem(seed);
  p.mask = Tensor({16}, 0.0);
  CispoResult r = cispoLoss(p.hidden, p.lmHead, p.targets, p.logpOld,
                            p.advantages, p.mask, kEpsLow, kEpsHigh, true);
  EXPECT_EQ(r.loss, 0.0);
  EXPECT_EQ(r.dHidden.data, std::vector<double>(r.dHidden.data.size(), 0.0));
  EXPECT_EQ(r.dLmHead.data, std::vector<double>(r.dLmHead.data.size(), 0.0));
  std::vector<double> logp = directLogp(p.hidden, p.lmHead, p.targets);
  for (int64_t t = 0; t < 16; ++t)
    EXPECT_NEAR(r.logpNew.data[t], logp[t], 1e-13);
}

TEST(OracleCispo, NoLowerBoundWhenEpsLowIsLarge) {
  // eps_low >= 1 puts the lower clip at or below 0: small ratios are kept.
  Tensor hidden({1, 1}, 1.0), head({2, 1});
  head.data = {0.0, 1.0};
  IntTensor targets{{1}, {0}};
  double logp = -std::log(1.0 + std::exp(1.0));
  Tensor logpOld({1}, logp - std::log(0.1)); // r = 0.1
  Tensor adv({1}, -2.0), mask({1}, 1.0);
  CispoResult r =
      cispoLoss(hidden, head, targets, logpOld, adv, mask, 1.0, 0.28, true);
  EXPECT_NEAR(r.loss, -(0.1 * -2.0 * logp), 1e-14);
  // The same ratio with eps_low = 0.2 is clipped to 0.8 and, with A < 0,
  // dropped by the unified mask.
  CispoResult clipped =
      cispoLoss(hidden, head, targets, logpOld, adv, mask, 0.2, 0.28, false);
  EXPECT_NEAR(clipped.loss, -(0.8 * -2.0 * logp), 1e-14);
  CispoResult dropped =
      cispoLoss(hidden, head, targets, logpOld, adv, mask, 0.2, 0.28, true);
  EXPECT_EQ(dropped.loss, 0.0);
}

TEST(OracleCispo, Bf16HeadIsTheLossOfRoundedOperands) {
  // precision "bf16": the same loss, log-probs and gradients as the f32 head
  // on hidden and lm_head rounded to bf16; random f32 operands are not bf16
  // values, so the log-probs differ from the f32 head's.
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Problem p = makeProblem(seed);
  CispoResult bf16 =
      cispoLoss(p.hidden, p.lmHead, p.targets, p.logpOld, p.advantages, p.mask,
                kEpsLow, kEpsHigh, true, /*bf16Head=*/true);
  CispoResult rounded =
      cispoLoss(roundToBf16(p.hidden), roundToBf16(p.lmHead), p.targets,
                p.logpOld, p.advantages, p.mask, kEpsLow, kEpsHigh, true);
  CispoResult f32 = cispoLoss(p.hidden, p.lmHead, p.targets, p.logpOld,
                              p.advantages, p.mask, kEpsLow, kEpsHigh, true);
  EXPECT_EQ(bf16.loss, rounded.loss);
  EXPECT_EQ(bf16.logpNew.data, rounded.logpNew.data);
  EXPECT_EQ(bf16.dHidden.data, rounded.dHidden.data);
  EXPECT_EQ(bf16.dLmHead.data, rounded.dLmHead.data);
  EXPECT_NE(bf16.logpNew.data, f32.logpNew.data);
}

TEST(OracleCispo, TokenLogprobsAreLogpNew) {
  // hymir.token_logprobs is cispo_loss's logp_new alone, in both precisions.
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Problem p = makeProblem(seed);
  for (bool bf16Head : {false, true}) {
    CispoResult r =
        cispoLoss(p.hidden, p.lmHead, p.targets, p.logpOld, p.advantages,
                  p.mask, kEpsLow, kEpsHigh, false, bf16Head);
    EXPECT_EQ(tokenLogprobs(p.hidden, p.lmHead, p.targets, bf16Head).data,
              r.logpNew.data);
  }
}
