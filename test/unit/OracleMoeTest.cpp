//===- OracleMoeTest.cpp - Routed mixture of experts ----------------------===//
//
// moe and moeRoute against a direct per-token loop, exact ties (the lower
// expert index wins) and raw (not renormalised) routing weights.
//
//===----------------------------------------------------------------------===//

#include "OracleTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace hymir::oracle;
using namespace hymir::oracle::test;

namespace {

struct Weights {
  Tensor router, w1, w3, w2;
};

Weights randomWeights(int64_t e, int64_t n, int64_t i, uint64_t seed) {
  return {randomTensor({e, n}, seed), randomTensor({e, i, n}, seed + 1),
          randomTensor({e, i, n}, seed + 2), randomTensor({e, n, i}, seed + 3)};
}

// The per-token loop of hymir.moe (docs/dialect/HymirOps.md), written
// independently: top-k by repeated arg-max where only a strictly larger
// probability replaces the current pick.
Tensor directMoe(const Tensor &x, const Weights &w, int64_t topK,
                 bool renormalize, std::vector<std::vector<int64_t>> *picked) {
  int64_t nt = x.dim(0), n = x.dim(1), ne = w.router.dim(0), ni = w.w1.dim(1);
  Tensor y({nt, n});
  for (int64_t t = 0; t < nt; ++t) {
    std::vector<double> p(ne);
    double total = 0.0;
    for (int64_t e = 0; e < ne; ++e) {
      double logit = 0.0;
      for (int64_t c = 0; c < n; ++c)
        logit += x.data[t * n + c] * w.router.data[e * n + c];
      p[e] = std::exp(logit);
      total += p[e];
    }
    for (double &v : p)
      v /= total;
    std::vector<int64_t> idx;
    std::vector<bool> used(ne, false);
    for (int64_t j = 0; j < topK; ++j) {
      int64_t best = -1;
      for (int64_t e = 0; e < ne; ++e)
        if (!used[e] && (best < 0 || p[e] > p[best]))
          best = e;
      used[best] = true;
      idx.push_back(best);
    }
    double wsum = 0.0;
    for (int64_t e : idx)
      wsum += p[e];
    for (int64_t e : idx) {
      double gate = renormalize ? p[e] / wsum : p[e];
      std::vector<double> h(ni);
      for (int64_t r = 0; r < ni; ++r) {
        double a = 0.0, b = 0.0;
        for (int64_t c = 0; c < n; ++c) {
          a += x.data[t * n + c] * w.w1.data[(e * ni + r) * n + c];
          b += x.data[t * n + c] * w.w3.data[(e * ni + r) * n + c];
        }
        h[r] = a / (1.0 + std::exp(-a)) * b;
      }
      for (int64_t c = 0; c < n; ++c) {
        double acc = 0.0;
        for (int64_t r = 0; r < ni; ++r)
          acc += h[r] * w.w2.data[(e * n + c) * ni + r];
        y.data[t * n + c] += gate * acc;
      }
    }
    if (picked)
      picked->push_back(idx);
  }
  return y;
}

} // namespace

TEST(OracleMoe, MatchesDirectLoop) {
  const int64_t nt = 6, n = 8, ne = 6, ni = 7;
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Tensor x = randomTensor({nt, n}, seed);
  Weights w = randomWeights(ne, n, ni, seed + 10);
  for (int64_t topK : {int64_t{1}, int64_t{2}, int64_t{3}, ne}) {
    for (bool renormalize : {true, false}) {
      SCOPED_TRACE("top_k " + std::to_string(topK) +
                   (renormalize ? " renormalised" : " raw"));
      std::vector<std::vector<int64_t>> picked;
      Tensor want = directMoe(x, w, topK, renormalize, &picked);
      Tensor got = moe(x, w.router, w.w1, w.w3, w.w2, topK, renormalize);
      ASSERT_EQ(got.shape, (std::vector<int64_t>{nt, n}));
      EXPECT_LT(relativeError(got, want), 1e-13);

      MoeRouting r = moeRoute(x, w.router, topK, renormalize);
      ASSERT_EQ(r.experts.shape, (std::vector<int64_t>{nt, topK}));
      ASSERT_EQ(r.weights.shape, (std::vector<int64_t>{nt, topK}));
      for (int64_t t = 0; t < nt; ++t) {
        double sum = 0.0;
        for (int64_t j = 0; j < topK; ++j) {
          EXPECT_EQ(r.experts.data[t * topK + j], picked[t][j]);
          if (j > 0) {
            EXPECT_GE(r.weights.data[t * topK + j - 1],
                      r.weights.data[t * topK + j]);
          }
          sum += r.weights.data[t * topK + j];
        }
        if (renormalize || topK == ne)
          EXPECT_NEAR(sum, 1.0, 1e-14);
        else
          EXPECT_LT(sum, 1.0);
      }
    }
  }
}

TEST(OracleMoe, RawWeightsAreRouterProbabilities) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Tensor x = randomTensor({3, 4}, seed);
  Tensor router = randomTensor({5, 4}, seed + 1);
  MoeRouting raw = moeRoute(x, router, 2, false);
  MoeRouting norm = moeRoute(x, router, 2, true);
  Tensor logits = linear(x, router);
  for (int64_t t = 0; t < 3; ++t) {
    double total = 0.0;
    for (int64_t e = 0; e < 5; ++e)
      total += std::exp(logits.data[t * 5 + e]);
    for (int64_t j = 0; j < 2; ++j) {
      int64_t e = raw.experts.data[t * 2 + j];
      EXPECT_NEAR(raw.weights.data[t * 2 + j],
                  std::exp(logits.data[t * 5 + e]) / total, 1e-15);
      EXPECT_EQ(norm.experts.data[t * 2 + j], e);
    }
    double s = raw.weights.data[t * 2] + raw.weights.data[t * 2 + 1];
    EXPECT_NEAR(norm.weights.data[t * 2], raw.weights.data[t * 2] / s, 1e-15);
  }
}

TEST(OracleMoe, TiesPickTheLowerExpert) {
  const int64_t nt = 4, n = 5, ne = 6, ni = 3;
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  // Positive inputs; experts 1, 3 and 4 share the all-ones router row, every
  // other row is below 1 everywhere, so 1, 3 and 4 tie for the top.
  Tensor x = randomTensor({nt, n}, seed, 0.5, 1.0);
  Weights w = randomWeights(ne, n, ni, seed + 10);
  w.router = randomTensor({ne, n}, seed + 20, -1.0, 0.5);
  for (int64_t e : {1, 3, 4})
    for (int64_t c = 0; c < n; ++c)
      w.router.data[e * n + c] = 1.0;

  MoeRouting r1 = moeRoute(x, w.router, 1, true);
  MoeRouting r2 = moeRoute(x, w.router, 2, true);
  MoeRouting r3 = moeRoute(x, w.router, 3, false);
  for (int64_t t = 0; t < nt; ++t) {
    EXPECT_EQ(r1.experts.data[t], 1);
    EXPECT_EQ(r1.weights.data[t], 1.0);
    EXPECT_EQ(r2.experts.data[t * 2], 1);
    EXPECT_EQ(r2.experts.data[t * 2 + 1], 3);
    EXPECT_EQ(r2.weights.data[t * 2], 0.5);
    EXPECT_EQ(r2.weights.data[t * 2 + 1], 0.5);
    EXPECT_EQ(r3.experts.data[t * 3], 1);
    EXPECT_EQ(r3.experts.data[t * 3 + 1], 3);
    EXPECT_EQ(r3.experts.data[t * 3 + 2], 4);
  }
  for (int64_t topK : {1, 2}) {
    std::vector<std::vector<int64_t>> picked;
    Tensor want = directMoe(x, w, topK, true, &picked);
    EXPECT_EQ(picked[0][0], 1);
    Tensor got = moe(x, w.router, w.w1, w.w3, w.w2, topK, true);
    EXPECT_LT(relativeError(got, want), 1e-13);
  }
}

TEST(OracleTopK, DescendingWithLowerColumnOnTies) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  const int64_t nt = 5, width = 7;
  Tensor in = randomTensor({nt, width}, seed, -2.0, 2.0);
  // Row 0: columns 2, 5 and 6 tie at the top.
  for (int64_t c : {2, 5, 6})
    in.data[c] = 3.0;
  TopK r = topK(in, 4);
  ASSERT_EQ(r.values.shape, (std::vector<int64_t>{nt, 4}));
  EXPECT_EQ(r.indices.data[0], 2);
  EXPECT_EQ(r.indices.data[1], 5);
  EXPECT_EQ(r.indices.data[2], 6);
  for (int64_t t = 0; t < nt; ++t) {
    // Each pick is the largest entry not picked yet (strictly larger than
    // every later column), and its value is the entry.
    std::vector<bool> used(width, false);
    for (int64_t j = 0; j < 4; ++j) {
      int64_t e = r.indices.data[t * 4 + j];
      EXPECT_EQ(r.values.data[t * 4 + j], in.data[t * width + e]);
      for (int64_t c = 0; c < width; ++c)
        if (!used[c] && c != e) {
          double v = in.data[t * width + c], best = in.data[t * width + e];
          EXPECT_TRUE(v < best || (v == best && c > e))
              << "row " << t << " pick " << j << " column " << c;
        }
      used[e] = true;
    }
  }
  EXPECT_THROW(topK(in, 0), std::exception);
  EXPECT_THROW(topK(in, width + 1), std::exception);
}

TEST(OracleRoutedExperts, ComposesToMoeAndSkipsOutOfRangePicks) {
  const int64_t nt = 6, n = 8, ne = 5, ni = 4;
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Tensor x = randomTensor({nt, n}, seed);
  Weights w = randomWeights(ne, n, ni, seed + 10);
  for (bool renormalize : {false, true}) {
    MoeRouting r = moeRoute(x, w.router, 2, renormalize);
    Tensor want = moe(x, w.router, w.w1, w.w3, w.w2, 2, renormalize);
    Tensor got = routedExperts(x, r.experts, r.weights, w.w1, w.w3, w.w2);
    EXPECT_LT(relativeError(got, want), 1e-14);
  }
  // Picks at -1 and E contribute nothing: the same as a zero weight.
  MoeRouting r = moeRoute(x, w.router, 2, true);
  IntTensor bad = r.experts;
  Tensor zeroed = r.weights;
  for (int64_t t : {1, 4}) {
    bad.data[t * 2 + 1] = t == 1 ? -1 : ne;
    zeroed.data[t * 2 + 1] = 0.0;
  }
  Tensor got = routedExperts(x, bad, r.weights, w.w1, w.w3, w.w2);
  Tensor want = routedExperts(x, r.experts, zeroed, w.w1, w.w3, w.w2);
  EXPECT_LT(relativeError(got, want), 1e-14);
}

TEST(OracleTopK, NaNIsNeverPicked) {
  Tensor in({2, 3});
  in.data = {std::nan(""), 1.0, 2.0, std::nan(""), std::nan(""), 0.5};
  TopK r = topK(in, 2);
  EXPECT_EQ(r.indices.data[0], 2);
  EXPECT_EQ(r.indices.data[1], 1);
  // Row 1 has one non-NaN entry: the second pick lies past the end.
  EXPECT_EQ(r.indices.data[2], 2);
  EXPECT_EQ(r.indices.data[3], 3);
  EXPECT_TRUE(std::isinf(r.values.data[3]) && r.values.data[3] < 0);
}
