//===- OracleSlopesTest.cpp - ALiBi and lightning slopes ------------------===//
//
// Tests of alibiSlopes (power-of-two and other head counts) and of the
// MiniMax-M1 per-layer lightning slopes.
//
//===----------------------------------------------------------------------===//

#include "OracleTestUtil.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace hymir::oracle;
using namespace hymir::oracle::test;

TEST(OracleSlopes, SixtyFourHeads) {
  std::vector<double> s = alibiSlopes(64);
  ASSERT_EQ(s.size(), 64u);
  for (int h = 0; h < 64; ++h)
    EXPECT_NEAR(s[h], std::pow(2.0, -(h + 1) / 8.0), 1e-15 * s[h]) << h;
  EXPECT_DOUBLE_EQ(s[7], 0.5);
  EXPECT_DOUBLE_EQ(s[63], 1.0 / 256);
}

TEST(OracleSlopes, PowerOfTwoRuleMatchesAlibiRecurrence) {
  // ALiBi writes the power-of-two list as start * ratio^i with
  // start = ratio = 2^(-2^-(log2(n) - 3)).
  for (int n : {1, 2, 4, 8, 16, 32, 128}) {
    std::vector<double> s = alibiSlopes(n);
    ASSERT_EQ(s.size(), static_cast<size_t>(n));
    double start = std::pow(2.0, -std::pow(2.0, -(std::log2(n) - 3)));
    for (int i = 0; i < n; ++i)
      EXPECT_NEAR(s[i], start * std::pow(start, i), 1e-14 * s[i])
          << "n=" << n << " i=" << i;
  }
}

TEST(OracleSlopes, TwelveHeads) {
  // 8 from the 8-head rule, then every other slope of the 16-head list.
  std::vector<double> want;
  for (int h = 0; h < 8; ++h)
    want.push_back(std::pow(2.0, -(h + 1)));
  for (int h : {0, 2, 4, 6})
    want.push_back(std::pow(2.0, -(h + 1) / 2.0));
  std::vector<double> s = alibiSlopes(12);
  ASSERT_EQ(s.size(), 12u);
  for (int h = 0; h < 12; ++h)
    EXPECT_NEAR(s[h], want[h], 1e-15) << h;
  EXPECT_DOUBLE_EQ(s[8], std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(s[9], std::pow(2.0, -1.5));
}

TEST(OracleSlopes, OtherNonPowerOfTwoCounts) {
  // 6 heads: the 4-head list, then slopes 0 and 2 of the 8-head list.
  std::vector<double> s6 = alibiSlopes(6);
  std::vector<double> want6 = {0.25, 1.0 / 16, 1.0 / 64, 1.0 / 256, 0.5, 0.125};
  ASSERT_EQ(s6.size(), 6u);
  for (int h = 0; h < 6; ++h)
    EXPECT_DOUBLE_EQ(s6[h], want6[h]) << h;
  // 3 heads: [2^-4, 2^-8] then slope 0 of the 4-head list.
  std::vector<double> s3 = alibiSlopes(3);
  ASSERT_EQ(s3.size(), 3u);
  EXPECT_DOUBLE_EQ(s3[0], 1.0 / 16);
  EXPECT_DOUBLE_EQ(s3[1], 1.0 / 256);
  EXPECT_DOUBLE_EQ(s3[2], 0.25);
  // 48 heads: the first 32 are the 32-head list, the tail every other of 64.
  std::vector<double> s48 = alibiSlopes(48), s32 = alibiSlopes(32),
                      s64 = alibiSlopes(64);
  ASSERT_EQ(s48.size(), 48u);
  for (int h = 0; h < 32; ++h)
    EXPECT_EQ(s48[h], s32[h]);
  for (int h = 32; h < 48; ++h)
    EXPECT_EQ(s48[h], s64[2 * (h - 32)]);
  EXPECT_THROW(alibiSlopes(0), std::invalid_argument);
}

TEST(OracleSlopes, LightningSlopesFollowM1) {
  const int64_t heads = 64, layers = 80;
  std::vector<double> base = alibiSlopes(heads);
  for (int64_t l : {0, 1, 6, 40, 78, 79}) {
    std::vector<double> s = lightningSlopes(heads, l, layers);
    ASSERT_EQ(s.size(), 64u);
    double factor = 1.0 - static_cast<double>(l) / (layers - 1) + 1e-5;
    for (int h = 0; h < heads; ++h)
      EXPECT_NEAR(s[h], std::pow(2.0, -(h + 1) / 8.0) * factor,
                  1e-14 * std::abs(s[h]))
          << "l=" << l << " h=" << h;
  }
  // The first layer is barely scaled, the last keeps only the 1e-5 term.
  // Head 7 has s_h = 1/2.
  EXPECT_DOUBLE_EQ(lightningSlopes(heads, 0, layers)[7], 0.5 * (1 + 1e-5));
  EXPECT_NEAR(lightningSlopes(heads, 79, layers)[7], 0.5 * 1e-5, 1e-19);
  // Non-power-of-two head counts use the ALiBi rule underneath.
  std::vector<double> s12 = lightningSlopes(12, 3, 8);
  std::vector<double> b12 = alibiSlopes(12);
  for (int h = 0; h < 12; ++h)
    EXPECT_NEAR(s12[h], b12[h] * (1 - 3.0 / 7 + 1e-5), 1e-16);
  EXPECT_THROW(lightningSlopes(64, 80, 80), std::invalid_argument);
  EXPECT_THROW(lightningSlopes(64, -1, 80), std::invalid_argument);
  EXPECT_THROW(lightningSlopes(64, 0, 1), std::invalid_argument);
}
