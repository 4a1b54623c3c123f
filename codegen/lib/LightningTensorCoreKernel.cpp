//===- LightningTensorCoreKernel.cpp - lightning attention on mma.sync ----===//
//
// The tensor-core kernel of hymir-lightning-to-gpu: bf16 prefill with every
// contraction of the blocked algorithm as mma.sync m16n8k16 (bf16
// operands, f32 accumulators), the state in the warps' registers.
//
//===----------------------------------------------------------------------===//

#include "LightningKernels.h"
#include "MmaFragments.h"

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// The tensor-core form of the blocked kernel, for bf16 activations:
/// 32-token blocks, 8 warps, every contraction as mma.sync m16n8k16 (bf16
/// operands, f32 accumulators). Shared tiles (bf16, rows padded by 8
/// elements so that the 8 rows a fragment load touches fall in different
/// banks):
///   Qs[i][d] = q, Ks[j][d] = k            scores A and B, inter A
///   KdT[d][j] = k[j][d] lambda^(m-1-j)    state-update A
///   VsT[e][j] = v[j][e]                   intra and state-update B
///   SbT[e][d] = S[d][e]                   inter B (the state, rounded)
///   Ab[i][j]  = (Q K^T)[i][j] lambda^(i-j), j <= i   intra A
/// The f32 state lives in accumulator registers: warp w owns the m16n8
/// tiles w, w + 8, ... of S [D, chunk].
struct TensorCoreKernelBuilder : LightningKernel {
  static constexpr int64_t kBlock = LightningTensorCoreShape::kBlock,
                           kWarps = LightningTensorCoreShape::kWarps, kPad = 8;
  static_assert(kBlock == 32, "stash() moves one token row per lane");
  TensorCoreKernelBuilder(ImplicitLocOpBuilder &b,
                          const LightningOperands &operands, int64_t keyDim,
                          int64_t valueTile)
      : LightningKernel(b, operands), keyDim(keyDim), valueTile(valueTile) {}
  int64_t keyDim, valueTile;
  Value lane, warp, groupRow, quad; // groupRow = lane / 4, quad = lane % 4
  Value qs, ks, kdt, vst, sbt, ab, powers;

  Type bf16() { return b.getBF16Type(); }

  static int64_t stateTiles(int64_t d, int64_t vt) { return d / 16 * (vt / 8); }
  static int64_t outputTiles(int64_t vt) { return kBlock / 16 * (vt / 8); }
  /// Each warp's state tiles and output tiles must lie in one row of tiles
  /// (so that it loads each A fragment once for all of them).
  static bool applies(int64_t d, int64_t vt) {
    if (d % 16 != 0 || vt % 8 != 0 || stateTiles(d, vt) % kWarps != 0 ||
        outputTiles(vt) % kWarps != 0)
      return false;
    int64_t across = vt / 8;
    return across % (stateTiles(d, vt) / kWarps) == 0 &&
           across % (outputTiles(vt) / kWarps) == 0;
  }
  struct Offsets {
    int64_t qs, ks, kdt, vst, sbt, ab, powers, total;
  };
  static Offsets layout(int64_t d, int64_t vt) {
    Offsets o;
    int64_t at = 0;
    auto take = [&](int64_t bytes) {
      int64_t here = at;
      at += (bytes + 15) / 16 * 16;
      return here;
    };
    o.qs = take(kBlock * (d + kPad) * 2);
    o.ks = take(kBlock * (d + kPad) * 2);
    o.kdt = take(d * (kBlock + kPad) * 2);
    o.vst = take(vt * (kBlock + kPad) * 2);
    o.sbt = take(vt * (d + kPad) * 2);
    o.ab = take(kBlock * (kBlock + kPad) * 2);
    o.powers = take((kBlock + 1) * 4);
    o.total = at;
    return o;
  }

  /// Two adjacent bf16 of a shared tile as one 32-bit register.
  Value pair(Value tile, Value row, Value col) {
    return loadBf16Pair(b, tile, ValueRange{row, col});
  }
  /// The A fragment of the 16x16 tile at (r0, k0) of row-major `tile`.
  SmallVector<Value> fragA(Value tile, Value r0, Value k0) {
    Value r = add(r0, groupRow), c = add(k0, mul(quad, 2));
    return {pair(tile, r, c), pair(tile, add(r, 8), c),
            pair(tile, r, add(c, 8)), pair(tile, add(r, 8), add(c, 8))};
  }
  /// The B fragment of the 16x8 tile at (k0, n0) of B, stored transposed.
  SmallVector<Value> fragB(Value tileT, Value k0, Value n0) {
    Value n = add(n0, groupRow), c = add(k0, mul(quad, 2));
    return {pair(tileT, n, c), pair(tileT, n, add(c, 8))};
  }
  SmallVector<Value> mma(ArrayRef<Value> a, ArrayRef<Value> bb,
                         ArrayRef<Value> c) {
    return mmaBf16(b, a, bb, c);
  }
  SmallVector<Value> zeros4() { return SmallVector<Value>(4, f32(0)); }
  /// acc += A(tile a, rows r0) * B(tileT bt, cols n0) over k in [0, kEnd),
  /// alternating between two accumulator sets (summed at the end) so that
  /// consecutive mma.sync do not wait on each other.
  SmallVector<Value> contract(Value a, Value bt, Value r0, Value n0,
                              int64_t kEnd, SmallVector<Value> acc) {
    SmallVector<Value> other = zeros4();
    for (int64_t k0 = 0; k0 < kEnd; k0 += 16) {
      SmallVector<Value> &into = (k0 / 16) % 2 ? other : acc;
      into = mma(fragA(a, r0, idx(k0)), fragB(bt, idx(k0), n0), into);
    }
    for (int64_t r = 0; r < 4; ++r)
      acc[r] = arith::AddFOp::create(b, acc[r], other[r]);
    return acc;
  }
  /// (row, col) of accumulator element r of the tile at (r0, n0).
  std::pair<Value, Value> accAt(Value r0, Value n0, int64_t r) {
    return {add(add(r0, groupRow), r >= 2 ? 8 : 0),
            add(add(n0, mul(quad, 2)), r % 2)};
  }
  Value toBf16(Value x) { return arith::TruncFOp::create(b, bf16(), x); }

  /// for (t = warp; t < n; t += warps) body(t)
  void warpTiles(int64_t n, function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(b, warp, idx(n), idx(kWarps));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVar());
  }

  /// Warp w's `per` consecutive m16n8 tiles of an output with `across`
  /// tiles per row: (row, col) origins; all in one row (see applies()).
  SmallVector<std::pair<Value, Value>> warpRow(int64_t per, int64_t across) {
    Value first = mul(warp, per);
    Value r0 = mul(arith::DivUIOp::create(b, first, idx(across)), 16);
    Value c0 = mul(arith::RemUIOp::create(b, first, idx(across)), 8);
    SmallVector<std::pair<Value, Value>> tiles;
    for (int64_t u = 0; u < per; ++u)
      tiles.push_back({r0, add(c0, 8 * u)});
    return tiles;
  }
  SmallVector<std::pair<Value, Value>> ownTiles() {
    return warpRow(stateTiles(keyDim, valueTile) / kWarps, valueTile / 8);
  }
  /// acc[u] += A(a, rows r0) * B(bt, tile u's cols) over k in [0, kEnd):
  /// each A fragment loaded once for all of the row's tiles.
  void contractRow(Value a, Value bt, ArrayRef<std::pair<Value, Value>> tiles,
                   int64_t kEnd, SmallVector<SmallVector<Value>> &acc) {
    for (int64_t k0 = 0; k0 < kEnd; k0 += 16) {
      SmallVector<Value> fa = fragA(a, tiles[0].first, idx(k0));
      for (auto [u, tile] : llvm::enumerate(tiles))
        acc[u] = mma(fa, fragB(bt, idx(k0), tile.second), acc[u]);
    }
  }

  void writeStateCopy(ArrayRef<Value> state) {
    auto tiles = ownTiles();
    for (auto [u, tile] : llvm::enumerate(tiles))
      for (int64_t r = 0; r < 4; ++r) {
        auto [d, e] = accAt(tile.first, tile.second, r);
        memref::StoreOp::create(b, toBf16(state[u * 4 + r]), sbt,
                                ValueRange{e, d});
      }
  }

  /// Chunks of 8 elements per warp over a row of `width`, and the element
  /// offset of this warp's u-th (clamped to the row: a repeat is harmless).
  int64_t chunkSlots(int64_t width) {
    return (width / 8 + kWarps - 1) / kWarps;
  }
  Value chunk(int64_t u, int64_t width) {
    Value c = add(mul(warp, chunkSlots(width)), u);
    return mul(arith::MinUIOp::create(b, c, idx(width / 8 - 1)), 8);
  }
  /// Issues this thread's global loads of q, k and v for the block at t0.
  SmallVector<Value> fetch(Value t0);
  /// Writes fetched chunks into the shared tiles (rows from m on as zeros).
  void stash(ValueRange values, Value m);
  void build();
};

// Lane l of warp w moves token row l of the block, chunks (8 elements)
// w * per + u of q and k and of v: the global loads read whole 32-byte
// sectors per thread, and the transposed stores into KdT and VsT put the

SmallVector<Value> TensorCoreKernelBuilder::fetch(Value t0) {
  auto vec8 = VectorType::get({8}, bf16());
  Value row = arith::MinUIOp::create(b, add(t0, lane), add(tokens, -1));
  // Rows past the sequence read its last row; stash() zeroes them.
  SmallVector<Value> values;
  for (int64_t u = 0; u < chunkSlots(keyDim); ++u) {
    SmallVector<Value, 4> at = {batch, row, head, chunk(u, keyDim)};
    values.push_back(
        vector::LoadOp::create(b, vec8, q, at, false, llvm::MaybeAlign(16)));
    values.push_back(
        vector::LoadOp::create(b, vec8, k, at, false, llvm::MaybeAlign(16)));
  }
  for (int64_t u = 0; u < chunkSlots(valueTile); ++u)
    values.push_back(vector::LoadOp::create(
        b, vec8, v,
        ValueRange{batch, row, head, add(vOff, chunk(u, valueTile))}, false,
        llvm::MaybeAlign(16)));
  return values;
}

void TensorCoreKernelBuilder::stash(ValueRange values, Value m) {
  Type f32Type = b.getF32Type();
  auto vec8 = VectorType::get({8}, bf16());
  Value zero8 = arith::ConstantOp::create(
      b, vec8, DenseElementsAttr::get(vec8, b.getFloatAttr(bf16(), 0.0)));
  Value i = lane;
  Value valid = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, m);
  Value exp = arith::SelectOp::create(
      b, valid, add(arith::SubIOp::create(b, m, i), -1), idx(0));
  Value pw = memref::LoadOp::create(b, powers, ValueRange{exp});
  int64_t at = 0;
  for (int64_t u = 0; u < chunkSlots(keyDim); ++u) {
    Value d = chunk(u, keyDim);
    Value qv = arith::SelectOp::create(b, valid, values[at++], zero8);
    Value kv = arith::SelectOp::create(b, valid, values[at++], zero8);
    vector::StoreOp::create(b, qv, qs, ValueRange{i, d}, false,
                            llvm::MaybeAlign(16));
    vector::StoreOp::create(b, kv, ks, ValueRange{i, d}, false,
                            llvm::MaybeAlign(16));
    for (int64_t c = 0; c < 8; ++c) {
      Value x = arith::ExtFOp::create(
          b, f32Type, Value(vector::ExtractOp::create(b, kv, c)));
      memref::StoreOp::create(b, toBf16(arith::MulFOp::create(b, x, pw)), kdt,
                              ValueRange{add(d, c), i});
    }
  }
  for (int64_t u = 0; u < chunkSlots(valueTile); ++u) {
    Value e = chunk(u, valueTile);
    Value vv = arith::SelectOp::create(b, valid, values[at++], zero8);
    for (int64_t c = 0; c < 8; ++c)
      memref::StoreOp::create(b, vector::ExtractOp::create(b, vv, c), vst,
                              ValueRange{add(e, c), i});
  }
}

void TensorCoreKernelBuilder::build() {
  Offsets o = layout(keyDim, valueTile);
  Value smem = sharedBytes();
  qs = view(smem, o.qs, {kBlock, keyDim + kPad}, bf16());
  ks = view(smem, o.ks, {kBlock, keyDim + kPad}, bf16());
  kdt = view(smem, o.kdt, {keyDim, kBlock + kPad}, bf16());
  vst = view(smem, o.vst, {valueTile, kBlock + kPad}, bf16());
  sbt = view(smem, o.sbt, {valueTile, keyDim + kPad}, bf16());
  ab = view(smem, o.ab, {kBlock, kBlock + kPad}, bf16());
  powers = view(smem, o.powers, {kBlock + 1});
  lane = arith::RemUIOp::create(b, tid, idx(32));
  warp = arith::DivUIOp::create(b, tid, idx(32));
  groupRow = arith::DivUIOp::create(b, lane, idx(4));
  quad = arith::RemUIOp::create(b, lane, idx(4));

  Value slope = memref::LoadOp::create(b, slopes, ValueRange{head});
  fillDecayPowers(powers, slope, kBlock + 1, kWarps * 32);
  // The state, in this warp's accumulator registers.
  SmallVector<Value> state;
  auto tiles = ownTiles();
  for (auto tile : tiles)
    for (int64_t r = 0; r < 4; ++r) {
      auto [d, e] = accAt(tile.first, tile.second, r);
      state.push_back(
          initialState
              ? Value(memref::LoadOp::create(
                    b, initialState, ValueRange{batch, head, d, add(vOff, e)}))
              : f32(0));
    }
  writeStateCopy(state);
  gpu::BarrierOp::create(b);

  // The loop carries the state registers and the next block's q, k and v,
  // fetched while the current block computes.
  SmallVector<Value> carried(state);
  size_t stateCount = state.size();
  carried.append(fetch(idx(0)));
  auto loop = scf::ForOp::create(b, idx(0), tokens, idx(kBlock), carried);
  setLightningPart(loop, LightningPart::Blocks);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t0 = loop.getInductionVar();
    Value m = arith::MinUIOp::create(b, idx(kBlock),
                                     arith::SubIOp::create(b, tokens, t0));
    stash(loop.getRegionIterArgs().drop_front(stateCount), m);
    gpu::BarrierOp::create(b);
    SmallVector<Value> prefetched = fetch(add(t0, kBlock));

    // Scores: Ab = (Qs Ks^T) (.) lambda^(i-j) below the diagonal.
    int64_t scoreCols = kBlock / 8;
    warpTiles((kBlock / 16) * scoreCols, [&](Value t) {
      Value r0 = mul(arith::DivUIOp::create(b, t, idx(scoreCols)), 16);
      Value n0 = mul(arith::RemUIOp::create(b, t, idx(scoreCols)), 8);
      // Tiles wholly above the diagonal are zeros (the output phase runs
      // every k step over Ab).
      auto live = scf::IfOp::create(
          b,
          arith::CmpIOp::create(b, arith::CmpIPredicate::ule, n0, add(r0, 15)),
          /*withElseRegion=*/true);
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(&live.getElseRegion().front());
      for (int64_t r = 0; r < 4; ++r) {
        auto [i, j] = accAt(r0, n0, r);
        memref::StoreOp::create(b, toBf16(f32(0)), ab, ValueRange{i, j});
      }
      b.setInsertionPointToStart(&live.getThenRegion().front());
      SmallVector<Value> acc = contract(qs, ks, r0, n0, keyDim, zeros4());
      for (int64_t r = 0; r < 4; ++r) {
        auto [i, j] = accAt(r0, n0, r);
        Value causal =
            arith::CmpIOp::create(b, arith::CmpIPredicate::ule, j, i);
        Value gap = arith::SelectOp::create(
            b, causal, arith::SubIOp::create(b, i, j), idx(0));
        Value x = arith::MulFOp::create(
            b, acc[r], memref::LoadOp::create(b, powers, ValueRange{gap}));
        memref::StoreOp::create(
            b, toBf16(arith::SelectOp::create(b, causal, x, f32(0))), ab,
            ValueRange{i, j});
      }
    });
    gpu::BarrierOp::create(b);

    // Output: O = lambda^(i+1) (Qs S) + Ab V, rows below m. (Ab is zero
    // above the diagonal and past m, so every k step may run.)
    auto outTiles = warpRow(outputTiles(valueTile) / kWarps, valueTile / 8);
    SmallVector<SmallVector<Value>> inter(outTiles.size(), zeros4());
    SmallVector<SmallVector<Value>> intra(outTiles.size(), zeros4());
    contractRow(qs, sbt, outTiles, keyDim, inter);
    contractRow(ab, vst, outTiles, kBlock, intra);
    for (auto [u, tile] : llvm::enumerate(outTiles)) {
      auto [r0, n0] = tile;
      for (int64_t r = 0; r < 4; r += 2) {
        auto [i, e] = accAt(r0, n0, r);
        Value pw = memref::LoadOp::create(b, powers, ValueRange{add(i, 1)});
        Value o0 = arith::AddFOp::create(
            b, intra[u][r], arith::MulFOp::create(b, inter[u][r], pw));
        Value o1 = arith::AddFOp::create(
            b, intra[u][r + 1], arith::MulFOp::create(b, inter[u][r + 1], pw));
        auto pairType = VectorType::get({2}, bf16());
        Value v2 = vector::FromElementsOp::create(
            b, pairType, ValueRange{toBf16(o0), toBf16(o1)});
        auto inside = scf::IfOp::create(
            b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, m),
            /*withElseRegion=*/false);
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&inside.getThenRegion().front());
        vector::StoreOp::create(
            b, v2, out, ValueRange{batch, add(t0, i), head, add(vOff, e)},
            false, llvm::MaybeAlign(4));
      }
    }

    // State: S = lambda^m S + KdT V, in registers (KdT and VsT are zero
    // past m).
    Value decay = memref::LoadOp::create(b, powers, ValueRange{m});
    SmallVector<SmallVector<Value>> acc;
    for (size_t u = 0; u < tiles.size(); ++u) {
      SmallVector<Value> scaled;
      for (int64_t r = 0; r < 4; ++r)
        scaled.push_back(arith::MulFOp::create(
            b, loop.getRegionIterArgs()[u * 4 + r], decay));
      acc.push_back(scaled);
    }
    contractRow(kdt, vst, tiles, kBlock, acc);
    SmallVector<Value> next;
    for (auto &a : acc)
      next.append(a);
    gpu::BarrierOp::create(b);
    writeStateCopy(next);
    gpu::BarrierOp::create(b);
    next.append(prefetched);
    scf::YieldOp::create(b, next);
  }
  for (auto [u, tile] : llvm::enumerate(tiles))
    for (int64_t r = 0; r < 4; ++r) {
      auto [d, e] = accAt(tile.first, tile.second, r);
      memref::StoreOp::create(b, loop.getResult(u * 4 + r), finalState,
                              ValueRange{batch, head, d, add(vOff, e)});
    }
}

} // namespace

bool LightningTensorCoreShape::applies(int64_t d, int64_t vt) {
  return TensorCoreKernelBuilder::applies(d, vt);
}

int64_t LightningTensorCoreShape::sharedBytes(int64_t d, int64_t vt) {
  return TensorCoreKernelBuilder::layout(d, vt).total;
}

void mlir::hymir::buildLightningTensorCoreKernel(
    ImplicitLocOpBuilder &b, const LightningOperands &operands, int64_t keyDim,
    int64_t valueTile) {
  TensorCoreKernelBuilder(b, operands, keyDim, valueTile).build();
}
