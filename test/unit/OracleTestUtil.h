//===- OracleTestUtil.h - Seeds and small helpers for oracle tests -*- C++ -*-//
//
// Every oracle test draws fresh random inputs. freshSeed() takes its seed
// from std::random_device unless HYMIR_ORACLE_SEED is set, and seedTrace()
// formats it for SCOPED_TRACE so a failure says how to replay it.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TEST_UNIT_ORACLETESTUTIL_H
#define HYMIR_TEST_UNIT_ORACLETESTUTIL_H

#include "hymir/Oracle/Oracle.h"

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>

namespace hymir {
namespace oracle {
namespace test {

inline uint64_t freshSeed() {
  if (const char *env = std::getenv("HYMIR_ORACLE_SEED"))
    return std::strtoull(env, nullptr, 10);
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

inline std::string seedTrace(uint64_t seed) {
  return "seed " + std::to_string(seed) +
         " (replay with HYMIR_ORACLE_SEED=" + std::to_string(seed) + ")";
}

/// Uniform integers in [lo, hi] from a generator seeded with `seed`.
inline IntTensor randomIds(std::vector<int64_t> shape, uint64_t seed,
                           int64_t lo, int64_t hi) {
  IntTensor t{shape, {}};
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> dist(lo, hi);
  for (int64_t i = 0, e = t.numel(); i < e; ++i)
    t.data.push_back(dist(gen));
  return t;
}

/// The message of the std::invalid_argument `f` throws, or "" if it throws
/// nothing.
inline std::string invalidArgumentMessage(const std::function<void()> &f) {
  try {
    f();
  } catch (const std::invalid_argument &e) {
    return e.what();
  }
  return "";
}

} // namespace test
} // namespace oracle
} // namespace hymir

#endif // HYMIR_TEST_UNIT_ORACLETESTUTIL_H
