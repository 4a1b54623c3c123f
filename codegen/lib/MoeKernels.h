//===- MoeKernels.h - the GPU kernels of the routed MoE experts -*- C++ -*-===//
//
// The kernel families hymir-moe-experts-to-gpu (MoeExpertsToGpu.cpp)
// chooses from for one hymir.moe_experts, one family a file:
//
//   wave       (MoeWaveKernel.cpp)      decode-sized calls: a one-wave grid,
//              each warp a pair of weight rows at a time
//   warp rows  (MoeWarpRowsKernel.cpp)  decode-sized calls (the previous
//              form): one warp per weight row
//   mma        (MoeMmaKernel.cpp)       larger bf16 calls: mma.sync
//              m16n8k16 over 64-row tiles of the layout
//   wgmma      (MoeWgmmaKernel.cpp)     larger bf16 calls on sm_90a: wgmma
//              over 128-row tiles (WgmmaTiles.h)
//   combine    (MoeCombineKernel.cpp)   y[t] = sum_j weights[t, j]
//              down[slots[t, j]]
//
// and the routing of hymir.moe_route (MoeRouteKernel.cpp) and the grouped
// layout of hymir.moe_route / hymir.moe_layout (MoeLayoutKernel.cpp), which
// hymir-moe-layout-to-gpu (MoeLayoutToGpu.cpp) emits. Each emit function writes
// its gpu.launch ops at the builder's insertion point.
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
  /// The tile counters of the persistent wgmma kernels in the experts'
  /// order (i32 [2]: gate/up, down); null elsewhere.
  Value tileCounters;
  /// The tensor maps (box [1, 64, 64], 128-byte swizzle) of w1, w3 and w2
  /// for the wgmma kernels with TMA multicast; null elsewhere.
  Value w1Map, w3Map, w2Map;
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

/// How many of the rows before `end` (down to `start`) of a grouped
/// layout's `sorted` tokens are padding (token -1), the same in every lane
/// of the warp (`lane` its lane). With the layout's `tile` known (padding
/// rows fewer than a tile), the lanes look at the last tile - 1 rows at
/// once and sum across the warp; otherwise one row at a time from the end.
Value moePaddingRows(ImplicitLocOpBuilder &b, Value sorted, Value lane,
                     int64_t tile, Value start, Value end);

/// kMoeVector elements at [indices...] (16 or 32 bytes, aligned), as f32.
Value loadMoeVector(ImplicitLocOpBuilder &b, Value memref, ValueRange indices);

/// The warp-per-row kernels (gate/up, then down) over a grid of `slots`
/// rows: block row y takes the experts with tokens of rank y modulo
/// `slots`. `layoutTile` is the layout's tile when known, else 0.
void emitMoeWarpRowsKernels(ImplicitLocOpBuilder &b,
                            const MoeExpertsOperands &o, int64_t slots,
                            int64_t layoutTile);

/// The decode kernels in one wave (gate/up, then down): a fixed grid of
/// `blocks` blocks whose warps stride over (expert with tokens, weight
/// row); the experts are ranked and their groups trimmed of padding once
/// per block. `layoutTile` as above.
void emitMoeWaveKernels(ImplicitLocOpBuilder &b, const MoeExpertsOperands &o,
                        int64_t blocks, int64_t layoutTile);

/// The mma.sync kernels (bf16 experts, a layout of kMoeMmaTileRows tiles,
/// widths multiples of kMoeMmaTileCols; see Target.h).
void emitMoeMmaKernels(ImplicitLocOpBuilder &b, const MoeExpertsOperands &o);

/// The wgmma kernels (bf16 experts, sm_90a), their tiles numbered in
/// groups of `group` row tiles. With `persistent` 0 one block per tile on a
/// layout of WgmmaTiles::kRows tiles; else a grid of `persistent` blocks
/// walking all tiles, each expert's group (`layoutTile` 64 or 128) cut into
/// WgmmaTiles::kRows-row tiles from its start.
///
/// With `multicast` (the grid form in the experts' order: group and
/// persistent 0; o's tensor maps set) the blocks run in clusters of two
/// CTAs over two row tiles of one expert and one column block, each
/// weight tile loaded once by TMA multicast (WgmmaTiles::productMulticast).
void emitMoeWgmmaKernels(ImplicitLocOpBuilder &b, const MoeExpertsOperands &o,
                         int64_t group, int64_t persistent = 0,
                         int64_t layoutTile = 0, bool multicast = false);

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

/// The buffers of one grouped layout (MoeLayoutKernel.cpp): sorted tokens
/// [rows], offsets [E + 1] and slots [T, K], with their sizes.
struct MoeLayoutBuffers {
  Value sorted, offsets, slots;
  Value rows, tokens;
  int64_t experts = 0, tile = 1, topK = 1;
  SmallVector<RankedTensorType> bufferTypes;
};

/// Allocates the layout's buffers for `tokens` tokens (the sorted rows of
/// `resultTypes[0]`'s size when static).
MoeLayoutBuffers allocMoeLayout(ImplicitLocOpBuilder &b, Value tokens,
                                int64_t topK, int64_t experts, int64_t tile,
                                ArrayRef<RankedTensorType> resultTypes);

/// The dynamic shared memory the layout phases use (counts and cursors).
Value moeLayoutSharedBytes(ImplicitLocOpBuilder &b, const MoeLayoutBuffers &l);

/// Inside a one-block launch of `threads` threads (thread `tid`): the layout
/// of the picks in `picks` [T, K] i32 (a buffer the block may have written
/// itself before a barrier): counts, group starts, placement.
void emitMoeLayoutPhases(ImplicitLocOpBuilder &b, Value tid, int64_t threads,
                         Value picks, const MoeLayoutBuffers &l);

/// The layout phases as their own one-block launch.
void emitMoeLayoutKernel(ImplicitLocOpBuilder &b, Value picks,
                         const MoeLayoutBuffers &l);

/// The layout's buffers as tensors of `resultTypes`.
SmallVector<Value> moeLayoutResults(ImplicitLocOpBuilder &b,
                                    const MoeLayoutBuffers &l,
                                    ArrayRef<RankedTensorType> resultTypes);

/// Tokens up to which hymir.moe_route is one kernel on cuda (one block
/// routes every token, then lays the picks out); above, a routing kernel
/// over all SMs and then the layout kernel.
constexpr int64_t kMoeRouteOneBlockTokens = 64;

/// hymir.moe_route on `logits` [T, E] f32 as GPU kernels (MoeRouteKernel.cpp):
/// softmax, top-k and renormalisation with the same arithmetic as the cpu
/// lowering (buildMoeRouting), then the grouped layout; the results
/// (sorted, offsets, slots, weights) as tensors of `resultTypes`. A
/// static token count gets the variant for its size, a dynamic one both
/// under token guards.
SmallVector<Value> buildMoeGpuRoute(ImplicitLocOpBuilder &b, Value logits,
                                    int64_t topK, bool renormalize,
                                    int64_t tile,
                                    ArrayRef<RankedTensorType> resultTypes);

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_LIB_MOEKERNELS_H
