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
  /// The dynamic shared memory of a sequence split's state pass (one state
  /// warpgroup; a ring of k and v boxes only).
  static int64_t statePassSharedBytes(int64_t d, int64_t stages);
  /// Threads of the state pass: the producer and the state warpgroup.
  static constexpr int64_t kStatePassThreads = 256;
};

/// A sequence split (hymir-lightning-to-gpu{sequence-split}): the tokens in
/// `chunks` chunks of L = 64 ceil(T / (64 chunks)) tokens (chunk c: tokens
/// [c L, min((c + 1) L, T)), empty past T), each run by its own thread
/// blocks. Two kernels take part:
/// - the state pass (`statePass`): one state warpgroup per (value chunk,
///   head, batch, chunk c < chunks - 1) computes the chunk's own state from
///   zero, Delta_c = sum_j lambda^(n_c - 1 - j) k_j^T v_j over its n_c
///   tokens (k and v only), into `deltas`;
/// - the output pass: the kernel above per (value chunk, head, batch, chunk
///   c) over chunk c's tokens, from the state entering it, S_in(0) = S_0
///   (the initial state or zeros) and S_in(c + 1) = lambda^(n_c) S_in(c) +
///   Delta_c, which its state warpgroup carries from S_0 and Delta_0 ..
///   Delta_(c-1) before its first block; the last chunk's blocks write the
///   final state.
/// `deltas` is f32 scratch in the accumulators' order: tile (b (chunks - 1)
/// + c, head, value chunk), then 16-byte group g of thread t at (g 128 + t)
/// (registers 4 (g % 8) .. of box g / 8), so that each warp reads and
/// writes whole 512-byte rows. `chunk` is the thread block's chunk.
struct LightningHopperSplit {
  /// The most chunks hymir-lightning-to-gpu{sequence-split} takes.
  static constexpr int64_t kMaxChunks = 32;
  int64_t chunks = 1;
  bool statePass = false;
  Value chunk, deltas;
  /// The deltas' shape for `batch` x `heads`, key dim `d`, `valueChunks`
  /// value chunks of 64: [B (chunks - 1) H valueChunks, 128 (d / 8), 4]
  /// (d / 8 groups of 4 registers a thread).
  static SmallVector<int64_t> deltasShape(int64_t chunks, int64_t batch,
                                          int64_t heads, int64_t d,
                                          int64_t valueChunks) {
    return {batch * (chunks - 1) * heads * valueChunks, 16 * d, 4};
  }
};

/// The tensor map of q, k or v ([B, T, H, D] bf16) the kernel reads: boxes
/// of 64 tokens x 64 columns of one head, 128-byte swizzle. Built outside
/// the launch (the plan encodes it on the host).
Value buildLightningHopperTensorMap(ImplicitLocOpBuilder &b, Value buffer);

/// Writes the kernel's body (LightningHopperShape::threads(form.consumers)
/// threads; the block's value chunk at operands.vOff), or with `split` one
/// of a sequence split's two kernels (the state pass:
/// LightningHopperShape::kStatePassThreads threads; `qMap` unused).
void buildLightningHopperKernel(ImplicitLocOpBuilder &b,
                                const LightningOperands &operands,
                                int64_t keyDim, const LightningHopperForm &form,
                                Value qMap, Value kMap, Value vMap,
                                const LightningHopperSplit &split = {});

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_LIB_LIGHTNINGHOPPERKERNEL_H
