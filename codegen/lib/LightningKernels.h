//===- LightningKernels.h - the GPU kernels of lightning attention -*- C++ -*-//
//
// The three kernels hymir-lightning-to-gpu (LightningToGpu.cpp) chooses
// from, each built inside a gpu.launch over (value chunk, head, batch):
//
//   blocked SIMT   (LightningBlockedKernel.cpp)     any dtype, f32 outer
//                  products over tiles in shared memory
//   decode         (LightningDecodeKernel.cpp)      short sequences: the
//                  token recurrence with the state in registers
//   tensor-core    (LightningTensorCoreKernel.cpp)  bf16 prefill on
//                  mma.sync m16n8k16
//
// The pass decides which kernels apply and emits the launches; a kernel
// builder writes the body of one launch from its operands and this
// thread's coordinates (LightningOperands).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_LIB_LIGHTNINGKERNELS_H
#define HYMIR_CODEGEN_LIB_LIGHTNINGKERNELS_H

#include "GpuBuilder.h"

#include "mlir/Dialect/Math/IR/Math.h"

namespace mlir::hymir {

/// What every lightning kernel body works with: the launch's buffers (q, k,
/// v [B, T, H, D]; slopes [H]; the initial state when given and the final
/// state [B, H, D, Dv]; out [B, T, H, Dv]), the token count, and this
/// thread's coordinates: its thread id, the first value column of its
/// block's chunk, its head and its batch row.
struct LightningOperands {
  Value q, k, v, slopes, initialState, out, finalState, tokens;
  Value tid, vOff, head, batch;
};

/// The base of the lightning kernel builders: the operands plus the helpers
/// more than one of the kernels needs.
struct LightningKernel : GpuBuilder, LightningOperands {
  LightningKernel(ImplicitLocOpBuilder &b, const LightningOperands &operands)
      : GpuBuilder(b), LightningOperands(operands) {}

  /// for (i = tid; i < n; i += threads) body(i)
  void forEachThread(Value n, int64_t threads, function_ref<void(Value)> body) {
    stridedLoop(tid, n, threads, body);
  }
  /// powers[n] = lambda^n = exp(-slope n) for n < count, shared out over
  /// `threads` threads.
  void fillDecayPowers(Value powers, Value slope, int64_t count,
                       int64_t threads) {
    forEachThread(idx(count), threads, [&](Value n) {
      Value nf = arith::UIToFPOp::create(
          b, b.getF32Type(),
          arith::IndexCastUIOp::create(b, b.getI64Type(), n));
      Value p = math::ExpOp::create(
          b, arith::MulFOp::create(b, arith::NegFOp::create(b, slope), nf));
      memref::StoreOp::create(b, p, powers, ValueRange{n});
    });
  }
};

//===----------------------------------------------------------------------===//
// Blocked SIMT kernel
//===----------------------------------------------------------------------===//

/// The blocked kernel's static shape: tokens per block (C), key dim (D),
/// value dim, value chunk (VT) and chunks per head, threads per block.
struct LightningBlockedShape {
  int64_t block, keyDim, valueDim, valueTile, valueSplit, threads;
};

/// The dynamic shared memory the blocked kernel's f32 tiles take.
int64_t lightningBlockedSharedBytes(const LightningBlockedShape &shape);

/// Writes the blocked kernel's body; `elt` is the activations' type.
void buildLightningBlockedKernel(ImplicitLocOpBuilder &b,
                                 const LightningOperands &operands,
                                 const LightningBlockedShape &shape, Type elt);

//===----------------------------------------------------------------------===//
// Decode kernel
//===----------------------------------------------------------------------===//

/// Thread groups over the key dim in the decode kernel: a block has
/// kLightningDecodeGroups threads per value column.
constexpr int64_t kLightningDecodeGroups = 4;

/// Writes the decode kernel's body (its block covers the launch's value
/// columns, min(Dv, 64) unless asked otherwise, with kLightningDecodeGroups
/// threads each).
void buildLightningDecodeKernel(ImplicitLocOpBuilder &b,
                                const LightningOperands &operands,
                                int64_t keyDim, Type elt);

/// The layout of the vector decode kernel: a block covers `columns` value
/// columns of one head as quads of 4 (16-byte state accesses); the
/// columns / 4 lanes of a state row are consecutive lanes of a warp, so a
/// warp reads 32 / (columns / 4) whole row segments per instruction; each
/// thread holds `rows` consecutive key rows of its quad (q and k read as one
/// vector of `rows` each), and `warps` warps cover the key dim.
struct LightningDecodeVectorShape {
  int64_t keyDim, columns, rows, warps;
  /// The layout for `columns` value columns per block with at most
  /// `maxRows` key rows per thread, or nullopt where it does not apply:
  /// columns / 4 must divide 32 and columns the value dim, and the key dim
  /// must split into whole rows of the block's threads (at most 1024).
  static std::optional<LightningDecodeVectorShape>
  get(int64_t keyDim, int64_t valueDim, int64_t columns, int64_t maxRows = 8);
  int64_t threads() const { return warps * 32; }
  /// The shared memory summing the warps' partial outputs (none for one
  /// warp).
  int64_t sharedBytes() const { return warps > 1 ? warps * columns * 4 : 0; }
};

/// Writes the vector decode kernel's body (same arithmetic per state
/// element as buildLightningDecodeKernel; the output's sums in another
/// order).
void buildLightningDecodeVectorKernel(ImplicitLocOpBuilder &b,
                                      const LightningOperands &operands,
                                      const LightningDecodeVectorShape &shape,
                                      Type elt);

//===----------------------------------------------------------------------===//
// Tensor-core kernel
//===----------------------------------------------------------------------===//

struct LightningTensorCoreShape {
  /// Tokens per block and warps per block (fixed by the kernel's layout).
  static constexpr int64_t kBlock = 32, kWarps = 8;
  /// Whether the kernel's warp tiling covers key dim `d` and value chunk
  /// `vt`.
  static bool applies(int64_t d, int64_t vt);
  /// The dynamic shared memory its bf16 tiles take.
  static int64_t sharedBytes(int64_t d, int64_t vt);
};

/// Writes the tensor-core kernel's body (bf16 activations).
void buildLightningTensorCoreKernel(ImplicitLocOpBuilder &b,
                                    const LightningOperands &operands,
                                    int64_t keyDim, int64_t valueTile);

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_LIB_LIGHTNINGKERNELS_H
