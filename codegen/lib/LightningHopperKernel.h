//===- LightningHopperKernel.h - tiled lightning attention on sm_90a -*- C++
//-*-===//
//
// The sm_90a mapping of lightning attention's tiled form (hymir-lightning-
// to-gpu{hopper}) on the Hopper pipeline layer (HopperPipeline.h): 64-token
// blocks, q/k/v boxes by TMA into a ring, wgmma for the contractions. See
// LightningHopperKernel.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_LIB_LIGHTNINGHOPPERKERNEL_H
#define HYMIR_CODEGEN_LIB_LIGHTNINGHOPPERKERNEL_H

#include "LightningKernels.h"

namespace mlir::hymir {

/// The kernel's form: consumer warpgroups (2: an output and a state
/// warpgroup side by side; 1: one doing both in sequence), ring stages (2
/// to 4), and (two consumers only) whether o goes through shared memory to
/// be written in 16-byte stores of whole rows.
struct LightningHopperForm {
  int64_t consumers = 2, stages = 3;
  bool stagedOutput = true;
};

struct LightningHopperShape {
  /// Tokens per block, value columns per thread block.
  static constexpr int64_t kBlock = 64, kColumns = 64;
  /// Threads: the producer warpgroup and `consumers` consumer warpgroups.
  static int64_t threads(int64_t consumers) { return 128 * (1 + consumers); }
  /// Whether the kernel covers key dim `d` and value chunk `vt` (bf16).
  static bool applies(int64_t d, int64_t vt) {
    return (d == 64 || d == 128) && vt == kColumns;
  }
  /// The dynamic shared memory it takes at key dim `d` (two consumers: a
  /// second bf16 state copy).
  static int64_t sharedBytes(int64_t d, const LightningHopperForm &form);
};

/// The tensor map of q, k or v ([B, T, H, D] bf16) the kernel reads: boxes
/// of 64 tokens x 64 columns of one head, 128-byte swizzle. Built outside
/// the launch (the plan encodes it on the host).
Value buildLightningHopperTensorMap(ImplicitLocOpBuilder &b, Value buffer);

/// Writes the kernel's body (LightningHopperShape::threads(form.consumers)
/// threads; the block's value chunk at operands.vOff).
void buildLightningHopperKernel(ImplicitLocOpBuilder &b,
                                const LightningOperands &operands,
                                int64_t keyDim, const LightningHopperForm &form,
                                Value qMap, Value kMap, Value vMap);

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_LIB_LIGHTNINGHOPPERKERNEL_H
