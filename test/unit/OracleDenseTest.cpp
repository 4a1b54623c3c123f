//===- OracleDenseTest.cpp - RMSNorm, linear and embedding ----------------===//
//
// Hand-checked cases and property checks of the dense oracle ops.
//
//===----------------------------------------------------------------------===//

#include "OracleTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace hymir::oracle;
using namespace hymir::oracle::test;

TEST(OracleRmsNorm, HandChecked) {
  Tensor x({2}), w({2});
  x.data = {3.0, 4.0};
  w.data = {1.0, 2.0};
  // mean(x^2) = 12.5.
  Tensor y = rmsNorm(x, w, 0.0);
  EXPECT_NEAR(y.data[0], 3.0 / std::sqrt(12.5), 1e-15);
  EXPECT_NEAR(y.data[1], 8.0 / std::sqrt(12.5), 1e-15);
  Tensor ye = rmsNorm(x, w, 0.5);
  EXPECT_NEAR(ye.data[0], 3.0 / std::sqrt(13.0), 1e-15);
  // epsilon keeps a zero row finite.
  Tensor z = rmsNorm(Tensor({2}), w, 1e-5);
  EXPECT_EQ(z.data, (std::vector<double>{0.0, 0.0}));
}

TEST(OracleRmsNorm, RowsAreIndependentAndScaleFree) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  const int64_t n = 24;
  Tensor x = randomTensor({2, 3, n}, seed);
  Tensor w = randomTensor({n}, seed + 1, 0.5, 1.5);
  Tensor y = rmsNorm(x, w, 1e-6);
  ASSERT_EQ(y.shape, x.shape);
  for (int64_t r = 0; r < 6; ++r) {
    Tensor row({n});
    for (int64_t c = 0; c < n; ++c)
      row.data[c] = x.data[r * n + c];
    Tensor yr = rmsNorm(row, w, 1e-6);
    double meanSq = 0.0;
    for (int64_t c = 0; c < n; ++c)
      meanSq += row.data[c] * row.data[c] / n;
    for (int64_t c = 0; c < n; ++c) {
      EXPECT_EQ(y.data[r * n + c], yr.data[c]);
      EXPECT_NEAR(yr.data[c],
                  row.data[c] / std::sqrt(meanSq + 1e-6) * w.data[c], 1e-14);
    }
  }
  // With epsilon 0 the output does not depend on the row's scale.
  Tensor scaled = x;
  for (double &v : scaled.data)
    v *= 37.5;
  EXPECT_LT(maxAbsDiff(rmsNorm(scaled, w, 0.0), rmsNorm(x, w, 0.0)), 1e-13);
}

TEST(OracleLinear, HandChecked) {
  Tensor x({3}), w({2, 3});
  x.data = {1.0, 2.0, 3.0};
  w.data = {1.0, 0.0, -1.0, 2.0, 1.0, 0.5};
  Tensor y = linear(x, w);
  ASSERT_EQ(y.shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(y.data, (std::vector<double>{-2.0, 5.5}));
}

TEST(OracleLinear, LeadingDimsAndLinearity) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Tensor x = randomTensor({2, 3, 7}, seed);
  Tensor w = randomTensor({5, 7}, seed + 1);
  Tensor y = linear(x, w);
  ASSERT_EQ(y.shape, (std::vector<int64_t>{2, 3, 5}));
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t o = 0; o < 5; ++o) {
      double acc = 0.0;
      for (int64_t c = 0; c < 7; ++c)
        acc += x.data[r * 7 + c] * w.data[o * 7 + c];
      EXPECT_NEAR(y.data[r * 5 + o], acc, 1e-15);
    }
  // linear(2x, w) == 2 linear(x, w) exactly (scaling by 2 is exact).
  Tensor x2 = x;
  for (double &v : x2.data)
    v *= 2.0;
  Tensor y2 = linear(x2, w);
  for (size_t i = 0; i < y.data.size(); ++i)
    EXPECT_EQ(y2.data[i], 2.0 * y.data[i]);
}

TEST(OracleEmbedding, GathersRows) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  const int64_t vocab = 11, n = 6;
  Tensor table = randomTensor({vocab, n}, seed);
  IntTensor ids = randomIds({2, 3}, seed + 1, 0, vocab - 1);
  ids.data[0] = 0;
  ids.data[5] = vocab - 1;
  Tensor e = embedding(table, ids);
  ASSERT_EQ(e.shape, (std::vector<int64_t>{2, 3, n}));
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t c = 0; c < n; ++c)
      EXPECT_EQ(e.data[i * n + c], table.data[ids.data[i] * n + c]);

  IntTensor one{{}, {4}};
  Tensor row = embedding(table, one);
  ASSERT_EQ(row.shape, (std::vector<int64_t>{n}));
  EXPECT_EQ(row.data[2], table.data[4 * n + 2]);

  IntTensor bad{{3}, {1, vocab, 2}};
  EXPECT_THROW(embedding(table, bad), std::invalid_argument);
  bad.data[1] = -1;
  EXPECT_THROW(embedding(table, bad), std::invalid_argument);
}
