//===- OracleTensorTest.cpp - Tensor basics and helper functions ----------===//
//
// Tests of the oracle's Tensor type, error measures, random tensors and
// bfloat16 rounding.
//
//===----------------------------------------------------------------------===//

#include "OracleTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace hymir::oracle;
using namespace hymir::oracle::test;

TEST(OracleTensor, ShapeAccessors) {
  Tensor t({2, 3, 4}, 1.5);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.data.size(), 24u);
  EXPECT_EQ(t.data[17], 1.5);
  EXPECT_EQ(t.dim(0), 2);
  EXPECT_EQ(t.dim(2), 4);
  EXPECT_EQ(t.dim(-1), 4);
  EXPECT_EQ(t.dim(-3), 2);
  EXPECT_EQ(t.rank(), 3);
  EXPECT_THROW(t.dim(3), std::invalid_argument);
  EXPECT_THROW(t.dim(-4), std::invalid_argument);

  Tensor scalar(std::vector<int64_t>{});
  EXPECT_EQ(scalar.numel(), 1);
  Tensor empty({3, 0});
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_THROW(Tensor({2, -1}), std::invalid_argument);

  IntTensor ids{{2, 5}, {}};
  EXPECT_EQ(ids.numel(), 10);
}

TEST(OracleTensor, ErrorMeasures) {
  Tensor want({4});
  want.data = {3.0, 0.0, -4.0, 0.0};
  Tensor got = want;
  got.data[1] = 0.5;
  got.data[2] = -4.25;
  EXPECT_DOUBLE_EQ(maxAbsDiff(got, want), 0.5);
  EXPECT_DOUBLE_EQ(relativeError(got, want), std::sqrt(0.25 + 0.0625) / 5.0);
  EXPECT_EQ(relativeError(want, want), 0.0);
  // A zero reference divides by a tiny positive number instead of zero.
  Tensor zero({4});
  EXPECT_EQ(relativeError(zero, zero), 0.0);
  EXPECT_GT(relativeError(got, zero), 1e300);
  EXPECT_THROW(maxAbsDiff(Tensor({4}), Tensor({2, 2})), std::invalid_argument);
  EXPECT_THROW(relativeError(Tensor({4}), Tensor({5})), std::invalid_argument);
}

TEST(OracleTensor, RandomTensorIsSeededAndInRange) {
  uint64_t seed = freshSeed();
  SCOPED_TRACE(seedTrace(seed));
  Tensor a = randomTensor({3, 50}, seed, -2.0, 3.0);
  Tensor b = randomTensor({3, 50}, seed, -2.0, 3.0);
  Tensor c = randomTensor({3, 50}, seed + 1, -2.0, 3.0);
  ASSERT_EQ(a.shape, (std::vector<int64_t>{3, 50}));
  EXPECT_EQ(a.data, b.data);
  EXPECT_NE(a.data, c.data);
  double lo = 1e9, hi = -1e9;
  for (double x : a.data) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  EXPECT_GE(lo, -2.0);
  EXPECT_LT(hi, 3.0);
  EXPECT_LT(lo, hi);
  EXPECT_THROW(randomTensor({2}, seed, 1.0, 1.0), std::invalid_argument);
}

TEST(OracleTensor, RoundToBf16) {
  // Representable values are unchanged.
  EXPECT_EQ(roundToBf16(1.0), 1.0);
  EXPECT_EQ(roundToBf16(-0.15625), -0.15625);
  EXPECT_EQ(roundToBf16(1.0 + 1.0 / 128), 1.0 + 1.0 / 128);
  // bf16 has 7 fraction bits: halfway cases go to the even neighbour.
  EXPECT_EQ(roundToBf16(1.0 + 1.0 / 256), 1.0);
  EXPECT_EQ(roundToBf16(1.0 + 3.0 / 256), 1.0 + 4.0 / 256);
  EXPECT_EQ(roundToBf16(-(1.0 + 3.0 / 256)), -(1.0 + 4.0 / 256));
  // Just past halfway rounds up.
  EXPECT_EQ(roundToBf16(1.0 + 1.0 / 256 + 1.0 / 4096), 1.0 + 1.0 / 128);
  EXPECT_EQ(roundToBf16(3.14159265), 3.140625);
  // Specials.
  double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(roundToBf16(inf), inf);
  EXPECT_EQ(roundToBf16(-inf), -inf);
  EXPECT_TRUE(std::isnan(roundToBf16(std::nan(""))));
  EXPECT_EQ(roundToBf16(std::numeric_limits<float>::max()), inf);
  EXPECT_EQ(roundToBf16(0.0), 0.0);

  Tensor t({3});
  t.data = {1.0 + 1.0 / 256, 2.0, 1.0 + 3.0 / 256};
  Tensor r = roundToBf16(t);
  EXPECT_EQ(r.data, (std::vector<double>{1.0, 2.0, 1.0 + 4.0 / 256}));
}
