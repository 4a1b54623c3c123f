//===- BFloat16.h - bf16 <-> float conversions for the runtime world -*- C++
//-*-===//
//
// The one conversion between bfloat16 bit patterns and float used by the
// runtime, the reference evaluator and the runtime-world tools. (The oracle
// rounds on its own, in double: it shares no code with what it checks.)
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_SUPPORT_BFLOAT16_H
#define HYMIR_SUPPORT_BFLOAT16_H

#include <cstdint>
#include <cstring>

namespace hymir {

/// A bf16 is the high half of a float, so widening is exact.
inline float bf16ToFloat(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, sizeof f);
  return f;
}

/// Rounds to the nearest bf16, ties to even, as the GPU's cvt.rn.bf16.f32
/// does; infinities stay infinite and a NaN stays a (quiet) NaN, which plain
/// rounding could turn into an infinity.
inline uint16_t floatToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

} // namespace hymir

#endif // HYMIR_SUPPORT_BFLOAT16_H
