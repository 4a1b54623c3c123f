//===- RandomWeights.cpp - the values of Module::bindRandomWeights --------===//
//
// See RandomWeights.h.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/RandomWeights.h"

#include <cmath>

namespace hymir::random_weights {

uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::vector<double> normalBlock(uint64_t seed) {
  const uint64_t base = splitmix64(seed);
  const double twoPi = 6.283185307179586476925286766559;
  const double unit = 1.0 / 9007199254740992.0; // 2^-53
  std::vector<double> block(static_cast<size_t>(kPeriod));
  for (int64_t k = 0; k < kPeriod; ++k) {
    uint64_t i = 2 * static_cast<uint64_t>(k);
    double u1 = static_cast<double>((splitmix64(base + i) >> 11) + 1) * unit;
    double u2 = static_cast<double>(splitmix64(base + i + 1) >> 11) * unit;
    block[static_cast<size_t>(k)] =
        std::sqrt(-2.0 * std::log(u1)) * std::cos(twoPi * u2);
  }
  return block;
}

int64_t offsetOf(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return static_cast<int64_t>(h % static_cast<uint64_t>(kPeriod));
}

} // namespace hymir::random_weights
