//===- OracleAttentionTest.cpp - Softmax attention and RoPE ---------------===//
//
// Softmax attention against a naive loop (GQA; causal with T < S, T == S and
// T > S; non-causal) and RoPE hand-checked values and invariants.
//
//===----------------------------------------------------------------------===//

#include "OracleTestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace hymir::oracle;
using namespace hymir::oracle::test;

namespace {

// Straight from the definition: weights exp(score) / sum exp(score) over the
// visible keys, no max subtraction (scores are small here).
Tensor naiveAttention(const Tensor &q, const Tensor &k, const Tensor &v,
                      bool causal, double scale) {
  int64_t nb = q.dim(0), nt = q.dim(1), hq = q.dim(2), d = q.dim(3);
  int64_t ns = k.dim(1), hkv = k.dim(2), dv = v.dim(3);
  Tensor out({nb, nt, hq, dv});
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t i = 0; i < nt; ++i)
      for (int64_t g = 0; g < hq; ++g) {
        int64_t kvh = g / (hq / hkv);
        std::vector<double> w(ns, 0.0);
        double total = 0.0;
        for (int64_t j = 0; j < ns; ++j) {
          if (causal && j > i + (ns - nt))
            continue;
          double dot = 0.0;
          for (int64_t c = 0; c < d; ++c)
            dot += q.data[((b * nt + i) * hq + g) * d + c] *
                   k.data[((b * ns + j) * hkv + kvh) * d + c];
          w[j] = std::exp(scale * dot);
          total += w[j];
        }
        for (int64_t c = 0; c < dv; ++c) {
          double acc = 0.0;
          for (int64_t j = 0; j < ns; ++j)
            acc += w[j] * v.data[((b * ns + j) * hkv + kvh) * dv + c];
          out.data[((b * nt + i) * hq + g) * dv + c] =
              total > 0.0 ? acc / total : 0.0;
        }
      }
  return out;
}

// Repeats each KV head `group` times so that Hkv == Hq.
Tensor repeatHeads(const Tensor &x, int64_t group) {
  int64_t nb = x.dim(0), ns = x.dim(1), nh = x.dim(2), d = x.dim(3);
  Tensor r({nb, ns, nh * group, d});
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t s = 0; s < ns; ++s)
      for (int64_t g = 0; g < nh * group; ++g)
        for (int64_t c = 0; c < d; ++c)
          r.data[((b * ns + s) * nh * group + g) * d + c] =
              x.data[((b * ns + s) * nh + g / group) * d + c];
  return r;
}

struct AttentionCase {
  int64_t queries, keys;
  bool causal;
};

} // namespace

TEST(OracleSoftmaxAttention, MatchesNaive) {
  const int64_t nb = 2, hq = 8, hkv = 2, d = 16, dv = 12;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  for (AttentionCase c :
       {AttentionCase{5, 9, true}, AttentionCase{7, 7, true},
        AttentionCase{5, 9, false}, AttentionCase{1, 9, true},
        AttentionCase{6, 3, true}, AttentionCase{6, 3, false}}) {
    SCOPED_TRACE("T=" + std::to_string(c.queries) + " S=" +
                 std::to_string(c.keys) + (c.causal ? " causal" : " full"));
    Tensor q = randomTensor({nb, c.queries, hq, d}, seed);
    Tensor k = randomTensor({nb, c.keys, hkv, d}, seed + 1);
    Tensor v = randomTensor({nb, c.keys, hkv, dv}, seed + 2);
    Tensor got = softmaxAttention(q, k, v, c.causal, scale);
    Tensor want = naiveAttention(q, k, v, c.causal, scale);
    ASSERT_EQ(got.shape, (std::vector<int64_t>{nb, c.queries, hq, dv}));
    EXPECT_LT(relativeError(got, want), 1e-13);
    // GQA equals plain multi-head attention on repeated KV heads.
    Tensor mha = softmaxAttention(q, repeatHeads(k, hq / hkv),
                                  repeatHeads(v, hq / hkv), c.causal, scale);
    EXPECT_LT(relativeError(got, mha), 1e-15);
  }
}

TEST(OracleSoftmaxAttention, RowsWithoutKeysAreZero) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  // T = 6 queries against S = 3 keys, end-aligned: query i sees j <= i - 3.
  Tensor q = randomTensor({1, 6, 2, 4}, seed);
  Tensor k = randomTensor({1, 3, 1, 4}, seed + 1);
  Tensor v = randomTensor({1, 3, 1, 4}, seed + 2);
  Tensor out = softmaxAttention(q, k, v, true, 0.5);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t c = 0; c < 2 * 4; ++c) {
      double x = out.data[i * 8 + c];
      if (i < 3)
        EXPECT_EQ(x, 0.0) << "query " << i;
      else
        EXPECT_NE(x, 0.0) << "query " << i;
    }
  // Query 3 sees only key 0, so it copies v_0.
  for (int64_t c = 0; c < 4; ++c)
    EXPECT_NEAR(out.data[3 * 8 + c], v.data[c], 1e-15);
}

namespace {

/// The first `len` keys of sequence b alone, as a batch of one.
Tensor sliceSequence(const Tensor &x, int64_t b, int64_t begin, int64_t len) {
  int64_t ns = x.shape[1], row = x.shape[2] * x.shape[3];
  Tensor out({1, len, x.shape[2], x.shape[3]});
  std::copy_n(&x.data[(b * ns + begin) * row], len * row, out.data.begin());
  return out;
}

} // namespace

TEST(OracleSoftmaxAttention, LengthsEqualEachSequenceAlone) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  const int64_t nb = 3, nt = 2, ns = 9, hq = 4, hkv = 2, d = 8;
  Tensor q = randomTensor({nb, nt, hq, d}, seed);
  Tensor k = randomTensor({nb, ns, hkv, d}, seed + 1);
  Tensor v = randomTensor({nb, ns, hkv, d}, seed + 2);
  IntTensor lengths{{nb}, {2, 9, 5}};
  for (bool causal : {true, false}) {
    Tensor got = softmaxAttention(q, k, v, causal, 0.3, &lengths);
    for (int64_t b = 0; b < nb; ++b) {
      int64_t len = lengths.data[b];
      Tensor want = softmaxAttention(sliceSequence(q, b, 0, nt),
                                     sliceSequence(k, b, 0, len),
                                     sliceSequence(v, b, 0, len), causal, 0.3);
      Tensor gotB = sliceSequence(got, b, 0, nt);
      EXPECT_LT(relativeError(gotB, want), 1e-15) << "sequence " << b;
    }
  }
  IntTensor bad{{nb}, {2, 10, 5}};
  EXPECT_THROW(softmaxAttention(q, k, v, true, 0.3, &bad), std::exception);
}

TEST(OracleKvCacheWrite, WritesTheLastRowsOfEachSequence) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  const int64_t nb = 3, nc = 6, nt = 3, h = 2, d = 2;
  Tensor cache = randomTensor({nb, nc, h, d}, seed);
  Tensor update = randomTensor({nb, nt, h, d}, seed + 1);
  // Sequence 0 ends at 2 (its first update row is left padding), 1 at 6
  // (the cache is full), 2 at 3.
  IntTensor lengths{{nb}, {2, 6, 3}};
  Tensor out = kvCacheWrite(cache, update, lengths);
  int64_t row = h * d;
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t p = 0; p < nc; ++p) {
      int64_t t = p - (lengths.data[b] - nt);
      const double *want = t >= 0 && t < nt ? &update.data[(b * nt + t) * row]
                                            : &cache.data[(b * nc + p) * row];
      for (int64_t c = 0; c < row; ++c)
        EXPECT_EQ(out.data[(b * nc + p) * row + c], want[c])
            << "b " << b << " position " << p;
    }
  IntTensor bad{{nb}, {2, 7, 3}};
  EXPECT_THROW(kvCacheWrite(cache, update, bad), std::exception);
}

TEST(OracleSoftmaxAttention, LargeScoresAreStable) {
  // Scores near 1e3 would overflow exp() without the max subtraction.
  Tensor q({1, 1, 1, 1}, 40.0), k({1, 2, 1, 1}), v({1, 2, 1, 1});
  k.data = {30.0, 30.0 - std::log(3.0) / 40.0};
  v.data = {1.0, 5.0};
  Tensor out = softmaxAttention(q, k, v, false, 1.0);
  // Weights 3/4 and 1/4.
  EXPECT_NEAR(out.data[0], 0.75 * 1.0 + 0.25 * 5.0, 1e-9);
}

TEST(OracleRope, HandChecked) {
  // D = 4, rotary_dim = 4, theta = 100: inv_freq = [1, 0.1]; pairs (0, 2) and
  // (1, 3).
  Tensor x({1, 1, 1, 4});
  x.data = {1.0, 2.0, 3.0, 4.0};
  IntTensor pos{{1, 1}, {3}};
  Tensor r = rope(x, pos, 4, 100.0);
  double c0 = std::cos(3.0), s0 = std::sin(3.0);
  double c1 = std::cos(0.3), s1 = std::sin(0.3);
  EXPECT_NEAR(r.data[0], 1.0 * c0 - 3.0 * s0, 1e-15);
  EXPECT_NEAR(r.data[2], 3.0 * c0 + 1.0 * s0, 1e-15);
  EXPECT_NEAR(r.data[1], 2.0 * c1 - 4.0 * s1, 1e-15);
  EXPECT_NEAR(r.data[3], 4.0 * c1 + 2.0 * s1, 1e-15);

  // rotary_dim = 2 of D = 4: one pair (0, 1) at inv_freq 1; dims 2, 3 pass.
  Tensor r2 = rope(x, pos, 2, 100.0);
  EXPECT_NEAR(r2.data[0], 1.0 * c0 - 2.0 * s0, 1e-15);
  EXPECT_NEAR(r2.data[1], 2.0 * c0 + 1.0 * s0, 1e-15);
  EXPECT_EQ(r2.data[2], 3.0);
  EXPECT_EQ(r2.data[3], 4.0);
}

TEST(OracleRope, Invariants) {
  // M1's layout: rotate 64 of 128 dims with theta 1e7.
  const int64_t nb = 2, nt = 5, nh = 3, d = 128, rot = 64, half = rot / 2;
  const double theta = 1e7;
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Tensor x = randomTensor({nb, nt, nh, d}, seed);
  IntTensor pos = randomIds({nb, nt}, seed + 1, 0, 100000);
  pos.data[0] = 0; // Position 0 of batch 0 is the identity.
  Tensor r = rope(x, pos, rot, theta);
  ASSERT_EQ(r.shape, x.shape);
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t t = 0; t < nt; ++t)
      for (int64_t h = 0; h < nh; ++h) {
        int64_t base = ((b * nt + t) * nh + h) * d;
        for (int64_t i = 0; i < half; ++i) {
          double x1 = x.data[base + i], x2 = x.data[base + i + half];
          double r1 = r.data[base + i], r2 = r.data[base + i + half];
          EXPECT_NEAR(r1 * r1 + r2 * r2, x1 * x1 + x2 * x2, 1e-14);
          if (b == 0 && t == 0) {
            EXPECT_EQ(r1, x1);
            EXPECT_EQ(r2, x2);
          }
        }
        for (int64_t c = rot; c < d; ++c)
          EXPECT_EQ(r.data[base + c], x.data[base + c]);
      }
  // The slowest pair turns by position * theta^(-(rot-2)/rot).
  double angle = pos.data[1] * std::pow(theta, -(rot - 2.0) / rot);
  int64_t base = nh * d; // batch 0, token 1, head 0
  EXPECT_NEAR(r.data[base + half - 1],
              x.data[base + half - 1] * std::cos(angle) -
                  x.data[base + rot - 1] * std::sin(angle),
              1e-14);
}

TEST(OracleRope, RotationsCompose) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Tensor x = randomTensor({1, 4, 2, 12}, seed);
  IntTensor p1 = randomIds({1, 4}, seed + 1, 0, 1000);
  IntTensor p2 = randomIds({1, 4}, seed + 2, 0, 1000);
  IntTensor sum = p1;
  for (size_t i = 0; i < sum.data.size(); ++i)
    sum.data[i] += p2.data[i];
  Tensor twice = rope(rope(x, p1, 8, 1e4), p2, 8, 1e4);
  Tensor once = rope(x, sum, 8, 1e4);
  EXPECT_LT(maxAbsDiff(twice, once), 1e-12);
}
