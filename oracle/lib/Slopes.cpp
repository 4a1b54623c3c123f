//===- Slopes.cpp - ALiBi and lightning-attention decay slopes ------------===//
//
// The per-head slopes of hymir.lightning_attention (docs/dialect/HymirOps.md):
// ALiBi's rule (with its handling of head counts that are not a power of two)
// and MiniMax-M1's per-layer scaling.
//
//===----------------------------------------------------------------------===//

#include "Checks.h"

#include <cmath>

namespace hymir {
namespace oracle {

using namespace detail;

// 2^(-8 (h+1) / n) for h in [0, n), n a power of two.
static std::vector<double> powerOfTwoSlopes(int64_t n) {
  std::vector<double> s(static_cast<size_t>(n));
  for (int64_t h = 0; h < n; ++h)
    s[h] =
        std::exp2(-8.0 * static_cast<double>(h + 1) / static_cast<double>(n));
  return s;
}

std::vector<double> alibiSlopes(int64_t numHeads) {
  if (numHeads <= 0)
    fail("alibiSlopes",
         "expects a positive head count, got " + std::to_string(numHeads));
  int64_t p = 1;
  while (p * 2 <= numHeads)
    p *= 2;
  std::vector<double> slopes = powerOfTwoSlopes(p);
  if (p == numHeads)
    return slopes;
  // The remaining heads take every other slope of the 2p list. 2p is a power
  // of two, so that list is given by the plain rule.
  std::vector<double> twice = powerOfTwoSlopes(2 * p);
  for (int64_t i = 0; static_cast<int64_t>(slopes.size()) < numHeads; i += 2)
    slopes.push_back(twice[i]);
  return slopes;
}

std::vector<double> lightningSlopes(int64_t numHeads, int64_t layer,
                                    int64_t numLayers) {
  if (numLayers < 2)
    fail("lightningSlopes",
         "expects at least 2 layers (the factor divides by L - 1), got " +
             std::to_string(numLayers));
  if (layer < 0 || layer >= numLayers)
    fail("lightningSlopes", "expects a layer in [0, " +
                                std::to_string(numLayers) + "), got " +
                                std::to_string(layer));
  std::vector<double> slopes = alibiSlopes(numHeads);
  double factor =
      1.0 - static_cast<double>(layer) / static_cast<double>(numLayers - 1) +
      1e-5;
  for (double &s : slopes)
    s *= factor;
  return slopes;
}

} // namespace oracle
} // namespace hymir
