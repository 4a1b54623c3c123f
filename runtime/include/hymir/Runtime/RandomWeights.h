//===- RandomWeights.h - weights made on the device from a seed -*- C++ -*-===//
//
// The values Module::bindRandomWeights gives a module's parameters, for
// benchmarks of models too large to ship (a 95 GB checkpoint made where it
// runs, from nothing but a seed). They follow transformers' initialisation
// of a MiniMax model: parameters of rank 1 (RMSNorm weights) are ones, every
// other parameter is normal(0, stddev). So that gigabytes take no time to
// make and no host memory, the normal values come from one block of
// kPeriod draws, made on the host and copied to the device once; element j
// of a parameter called NAME is
//
//   (float)(stddev * block[(offsetOf(NAME) + j) % kPeriod])
//
// rounded to the parameter's dtype (bf16: to nearest, ties to even), where
// block[k] = sqrt(-2 ln u1) cos(2 pi u2) (Box-Muller, in double) with
// u1 = ((r(2k) >> 11) + 1) 2^-53, u2 = (r(2k+1) >> 11) 2^-53 and
// r(i) = splitmix64(splitmix64(seed) + i); offsetOf(NAME) is the 64-bit
// FNV-1a hash of NAME modulo kPeriod. The rule is simple on purpose: a
// Python script can build the same values (bench/model_bench.py builds
// transformers' model from it). kPeriod is odd and not a multiple of 3, so
// that experts and rows of power-of-two-ish sizes do not repeat each other.
// A parameter split across devices gets, on each device, the values of its
// part's elements in the whole parameter (j counted in the whole): a sharded
// module has the weights the unsharded one gets from the same seed.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_RANDOMWEIGHTS_H
#define HYMIR_RUNTIME_RANDOMWEIGHTS_H

#include <cstdint>
#include <string_view>
#include <vector>

namespace hymir::random_weights {

/// Values in one block (2^22 - 3).
constexpr int64_t kPeriod = 4194301;

uint64_t splitmix64(uint64_t x);

/// The kPeriod standard normal values of `seed` (block[k] above).
std::vector<double> normalBlock(uint64_t seed);

/// Where parameter `name`'s values start in the block.
int64_t offsetOf(std::string_view name);

} // namespace hymir::random_weights

#endif // HYMIR_RUNTIME_RANDOMWEIGHTS_H
