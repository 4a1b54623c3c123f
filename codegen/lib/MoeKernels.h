//===- MoeKernels.h - the GPU kernels of the routed MoE experts -*- C++ -*-===//
//
// The kernel families hymir-moe-experts-to-gpu (MoeExpertsToGpu.cpp)
// chooses from for one hymir.moe_experts, one family a file:
//
//   warp rows  (MoeWarpRowsKernel.cpp)  decode-sized calls: one warp per
//              weight row, each selected expert's weights streamed once
//   mma        (MoeMmaKernel.cpp)       larger bf16 calls: mma.sync
//              m16n8k16 over 64-row tiles of the layout
//   wgmma      (MoeWgmmaKernel.cpp)     larger bf16 calls on sm_90a: wgmma
//              over 128-row tiles (WgmmaTiles.h)
//   combine    (MoeCombineKernel.cpp)   y[t] = sum_j weights[t, j]
//              down[slots[t, j]]
//
// and the grouped layout of hymir.moe_route / hymir.moe_layout
// (MoeLayoutKernel.cpp), which hymir-moe-layout-to-gpu (MoeLayoutToGpu.cpp)
// emits. Each emit function writes its gpu.launch ops at the builder's
// insertion point.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_LIB_MOEKERNELS_H
#define HYMIR_CODEGEN_LIB_MOEKERNELS_H

#include "GpuBuilder.h"

#include "hymir/Codegen/Target.h"
#include "hymir/Transforms/MoeLowering.h"

namespace mlir::hymir {

/// Elements a thread loads at once in the warp-row and combine kernels:
/// the experts' widths must be multiples of it.
constexpr int64_t kMoeVector = 8;

/// What the experts kernels read and write, as buffers: x [T, N], the
/// grouped layout (sorted tokens [rows], offsets [E + 1]), the weights
/// w1, w3 [E, I, N] and w2 [E, N, I], the intermediate act [rows, I] (of
/// actType) and the down projections down [rows, N] (f32); with the row and
/// token counts and the static expert shapes.
struct MoeExpertsOperands {
  Value x, sorted, offsets, w1, w3, w2, act, down;
  Value rows, tokens;
  int64_t experts, inter, width;
  Type actType;

  /// SiLU(g) * u, rounded to the intermediate's type.
  Value swiglu(ImplicitLocOpBuilder &b, Value g, Value u) const {
    Value v = buildSwiGlu(b, b.getLoc(), g, u);
    return actType.isF32() ? v : Value(arith::TruncFOp::create(b, actType, v));
  }
};

/// The expert whose group (in `offsets` [E + 1] of a grouped layout) holds
/// row r0: how many groups end at or before it.
inline Value expertOfRow(ImplicitLocOpBuilder &b, Value offsets,
                         int64_t experts, Value r0) {
  auto c = [&](int64_t n) { return arith::ConstantIndexOp::create(b, n); };
  auto loop = scf::ForOp::create(b, c(0), c(experts), c(1), ValueRange{c(0)});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value end = arith::IndexCastOp::create(
      b, b.getIndexType(),
      memref::LoadOp::create(
          b, offsets,
          ValueRange{arith::AddIOp::create(b, loop.getInductionVar(), c(1))}));
  Value ended = arith::CmpIOp::create(b, arith::CmpIPredicate::ule, end, r0);
  Value count = loop.getRegionIterArgs()[0];
  Value next = arith::SelectOp::create(
      b, ended, arith::AddIOp::create(b, count, c(1)), count);
  scf::YieldOp::create(b, ValueRange{next});
  b.setInsertionPointAfter(loop);
  return arith::MinUIOp::create(b, loop.getResult(0), c(experts - 1));
}

/// The rows of a grouped layout in use: offsets[E], as an index.
inline Value rowsInUse(ImplicitLocOpBuilder &b, Value offsets,
                       int64_t experts) {
  return arith::IndexCastOp::create(
      b, b.getIndexType(),
      memref::LoadOp::create(
          b, offsets, ValueRange{arith::ConstantIndexOp::create(b, experts)}));
}

/// The warp-per-row kernels (gate/up, then down) over a grid of `slots`
/// rows: block row y takes the experts with tokens of rank y modulo
/// `slots`. `layoutTile` is the layout's tile when known, else 0.
void emitMoeWarpRowsKernels(ImplicitLocOpBuilder &b,
                            const MoeExpertsOperands &o, int64_t slots,
                            int64_t layoutTile);

/// The mma.sync kernels (bf16 experts, a layout of kMoeMmaTileRows tiles,
/// widths multiples of kMoeMmaTileCols; see Target.h).
void emitMoeMmaKernels(ImplicitLocOpBuilder &b, const MoeExpertsOperands &o);

/// The wgmma kernels (bf16 experts, a layout of WgmmaTiles::kRows tiles,
/// sm_90a), their blocks numbered in groups of `group` row tiles.
void emitMoeWgmmaKernels(ImplicitLocOpBuilder &b, const MoeExpertsOperands &o,
                         int64_t group);

/// The combine as one kernel (top_k static): the result of type
/// `resultType` from `weights` [T, K] f32 and `slots` [T, K] i32 (tensors).
Value emitMoeCombineKernel(ImplicitLocOpBuilder &b, const MoeExpertsOperands &o,
                           Value weights, Value slots,
                           RankedTensorType resultType);

/// The grouped layout of `chosen` [T, K] i32 experts (padded to `tile`
/// rows per group) as one kernel: sorted tokens, offsets and slots as
/// tensors of `resultTypes`.
SmallVector<Value> buildMoeGpuLayout(ImplicitLocOpBuilder &b, Value chosen,
                                     int64_t experts, int64_t tile,
                                     ArrayRef<RankedTensorType> resultTypes);

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_LIB_MOEKERNELS_H
