//===- LightningBlockedKernel.cpp - lightning attention on SIMT threads ---===//
//
// The blocked kernel of hymir-lightning-to-gpu for any activation type: the
// forall of the tiled IR is the grid, its block loop stays a loop, and each
// of its contractions (scores, intra-block output, inter-block output,
// state update) is a register-tiled outer-product loop shared by the
// block's threads, on f32 tiles in dynamic shared memory.
//
//===----------------------------------------------------------------------===//

#include "LightningKernels.h"

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

/// Byte offsets of the f32 tiles in dynamic shared memory.
struct Layout {
  int64_t qdt, kdt, kd, vs, state, scores, powers, total;
  static Layout of(const LightningBlockedShape &s) {
    Layout l;
    int64_t at = 0;
    auto take = [&](int64_t elements) {
      int64_t here = at;
      at += (elements * 4 + 15) / 16 * 16;
      return here;
    };
    l.qdt = take(s.keyDim * s.block);
    l.kdt = take(s.keyDim * s.block);
    l.kd = take(s.block * s.keyDim);
    l.vs = take(s.block * s.valueTile);
    l.state = take(s.keyDim * s.valueTile);
    l.scores = take(s.block * s.block);
    l.powers = take(s.block + 1);
    l.total = at;
    return l;
  }
};

/// Emits the kernel body. Every tile is f32; names follow the tiled IR:
///   QdT[d][i] = q[i][d] * lambda^(i+1)         (inter-block queries)
///   Kd[j][d]  = k[j][d] * lambda^(m-1-j), KdT its transpose
///   Vs[j][e]  = v[j][vOff + e]
///   S[d][e]   = the carried state tile
///   AT[j][i]  = (Q K^T (.) M)[i][j] = (QdT^T KdT)[i][j] / lambda^m, j <= i
struct BlockedKernelBuilder : LightningKernel {
  BlockedKernelBuilder(ImplicitLocOpBuilder &b,
                       const LightningOperands &operands,
                       const LightningBlockedShape &shape, Type elt)
      : LightningKernel(b, operands), shape(shape), elt(elt) {}
  LightningBlockedShape shape;
  Type elt;
  Value qdt, kdt, kd, vs, state, scores, powers;
  Value slope;

  void strided(Value n, function_ref<void(Value)> body) {
    forEachThread(n, shape.threads, body);
  }

  /// Distributes the (rows/tr) x (cols/tc) register tiles of a rows x cols
  /// output over the threads: body(r0, c0).
  void tiles(int64_t rows, int64_t cols, int64_t tr, int64_t tc,
             function_ref<void(Value, Value)> body) {
    int64_t across = cols / tc;
    strided(idx((rows / tr) * across), [&](Value t) {
      body(mul(div(t, across), idx(tr)), mul(rem(t, across), idx(tc)));
    });
  }

  /// acc[r][c] += sum_{k in [lo, hi)} X[k][r0 + r] * Y[k][c0 + c] with X and
  /// Y f32 tiles in shared memory; acc is tr vectors of tc lanes.
  SmallVector<Value> outer(Value x, Value y, Value lo, Value hi, Value r0,
                           Value c0, int64_t tr, int64_t tc, ValueRange acc) {
    auto loop = scf::ForOp::create(b, lo, hi, idx(1), acc);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kk = loop.getInductionVar();
    auto xv = vector::LoadOp::create(
        b, VectorType::get({tr}, b.getF32Type()), x, ValueRange{kk, r0},
        /*nontemporal=*/false, llvm::MaybeAlign(tr * 4));
    auto yv = vector::LoadOp::create(
        b, VectorType::get({tc}, b.getF32Type()), y, ValueRange{kk, c0},
        /*nontemporal=*/false, llvm::MaybeAlign(tc * 4));
    SmallVector<Value> next;
    for (int64_t r = 0; r < tr; ++r) {
      Value xs = vector::ExtractOp::create(b, xv, r);
      Value xb = vector::BroadcastOp::create(b, yv.getType(), xs);
      next.push_back(
          vector::FMAOp::create(b, xb, yv, loop.getRegionIterArgs()[r]));
    }
    scf::YieldOp::create(b, next);
    return SmallVector<Value>(loop.getResults());
  }

  SmallVector<Value> zeros(int64_t tr, int64_t tc) {
    auto type = VectorType::get({tc}, b.getF32Type());
    Value z = arith::ConstantOp::create(
        b, type, DenseElementsAttr::get(type, b.getF32FloatAttr(0)));
    return SmallVector<Value>(tr, z);
  }

  void barrier() { gpu::BarrierOp::create(b); }

  /// The n-th of this thread's `per` unrolled slots over `total` vector
  /// positions: tid + threads * u, clamped to the last position (a clamped
  /// slot repeats work another slot does: same value, same place).
  Value slot(int64_t u, int64_t total) {
    Value n = add(tid, idx(shape.threads * u));
    return arith::MinUIOp::create(b, n, idx(total - 1));
  }
  int64_t slotsPerThread(int64_t total) {
    return (total + shape.threads - 1) / shape.threads;
  }
  VectorType vec4(Type t) { return VectorType::get({4}, t); }
  llvm::MaybeAlign align4(Type t) {
    return llvm::MaybeAlign(4 * t.getIntOrFloatBitWidth() / 8);
  }

  /// Copies the f32 state tile between global memory (`global`, indexed
  /// [batch, head, d, vOff + e]) and shared memory, 4 lanes per access; all
  /// of a thread's loads are issued before its stores.
  void copyState(Value global, bool toShared);
  void loadBlockFull(Value t0);

  void build();
  void loadBlock(Value t0, Value m);
  void computeScores(Value m);
  void computeOutput(Value t0, Value m);
  void updateState(Value m);
};

void BlockedKernelBuilder::build() {
  const LightningBlockedShape &s = shape;
  Layout layout = Layout::of(s);
  Value smem = sharedBytes();
  qdt = view(smem, layout.qdt, {s.keyDim, s.block});
  kdt = view(smem, layout.kdt, {s.keyDim, s.block});
  kd = view(smem, layout.kd, {s.block, s.keyDim});
  vs = view(smem, layout.vs, {s.block, s.valueTile});
  state = view(smem, layout.state, {s.keyDim, s.valueTile});
  scores = view(smem, layout.scores, {s.block, s.block});
  powers = view(smem, layout.powers, {s.block + 1});

  slope = memref::LoadOp::create(b, slopes, ValueRange{head});
  fillDecayPowers(powers, slope, s.block + 1, s.threads);
  // The state tile: the initial state's, or zeros.
  strided(idx(s.keyDim * s.valueTile), [&](Value n) {
    Value d = div(n, s.valueTile), e = rem(n, s.valueTile);
    Value x =
        initialState
            ? Value(memref::LoadOp::create(
                  b, initialState, ValueRange{batch, head, d, add(vOff, e)}))
            : f32(0);
    memref::StoreOp::create(b, x, state, ValueRange{d, e});
  });
  barrier();

  auto loop = scf::ForOp::create(b, idx(0), tokens, idx(s.block));
  setLightningPart(loop, LightningPart::Blocks);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t0 = loop.getInductionVar();
    Value m = arith::MinUIOp::create(b, idx(s.block), sub(tokens, t0));
    loadBlock(t0, m);
    barrier();
    computeScores(m);
    barrier();
    computeOutput(t0, m);
    barrier();
    updateState(m);
    barrier();
  }

  copyState(finalState, /*toShared=*/false);
}

void BlockedKernelBuilder::copyState(Value global, bool toShared) {
  const LightningBlockedShape &s = shape;
  int64_t quads = s.valueTile / 4, total = s.keyDim * quads;
  Type f32Type = b.getF32Type();
  SmallVector<std::pair<Value, Value>> where;
  SmallVector<Value> values;
  for (int64_t u = 0, e = slotsPerThread(total); u < e; ++u) {
    Value n = slot(u, total);
    Value d = div(n, quads), col = mul(rem(n, quads), idx(4));
    where.push_back({d, col});
    if (toShared)
      values.push_back(vector::LoadOp::create(
          b, vec4(f32Type), global, ValueRange{batch, head, d, add(vOff, col)},
          false, align4(f32Type)));
    else
      values.push_back(vector::LoadOp::create(
          b, vec4(f32Type), state, ValueRange{d, col}, false, align4(f32Type)));
  }
  for (auto [x, at] : llvm::zip(values, where)) {
    if (toShared)
      vector::StoreOp::create(b, x, state, ValueRange{at.first, at.second},
                              false, align4(f32Type));
    else
      vector::StoreOp::create(
          b, x, global, ValueRange{batch, head, at.first, add(vOff, at.second)},
          false, align4(f32Type));
  }
}

void BlockedKernelBuilder::loadBlockFull(Value t0) {
  const LightningBlockedShape &s = shape;
  Type f32Type = b.getF32Type();
  // q and k: 4 consecutive d per access, every load issued first.
  int64_t quads = s.keyDim / 4, total = s.block * quads;
  struct Item {
    Value i, d, q, k;
  };
  SmallVector<Item> items;
  for (int64_t u = 0, e = slotsPerThread(total); u < e; ++u) {
    Value n = slot(u, total);
    Value i = div(n, quads), d = mul(rem(n, quads), idx(4));
    SmallVector<Value, 4> at = {batch, add(t0, i), head, d};
    items.push_back(
        {i, d, vector::LoadOp::create(b, vec4(elt), q, at, false, align4(elt)),
         vector::LoadOp::create(b, vec4(elt), k, at, false, align4(elt))});
  }
  int64_t vquads = s.valueTile / 4, vtotal = s.block * vquads;
  SmallVector<std::pair<Value, Value>> vwhere;
  SmallVector<Value> vvals;
  for (int64_t u = 0, e = slotsPerThread(vtotal); u < e; ++u) {
    Value n = slot(u, vtotal);
    Value i = div(n, vquads), col = mul(rem(n, vquads), idx(4));
    vwhere.push_back({i, col});
    vvals.push_back(vector::LoadOp::create(
        b, vec4(elt), v, ValueRange{batch, add(t0, i), head, add(vOff, col)},
        false, align4(elt)));
  }
  auto widen = [&](Value x) -> Value {
    return elt.isF32() ? x : Value(arith::ExtFOp::create(b, vec4(f32Type), x));
  };
  Value m = idx(s.block);
  for (const Item &it : items) {
    Value qPow =
        memref::LoadOp::create(b, powers, ValueRange{add(it.i, idx(1))});
    Value kPow = memref::LoadOp::create(b, powers,
                                        ValueRange{sub(sub(m, it.i), idx(1))});
    Value qd = arith::MulFOp::create(
        b, widen(it.q), vector::BroadcastOp::create(b, vec4(f32Type), qPow));
    Value kdv = arith::MulFOp::create(
        b, widen(it.k), vector::BroadcastOp::create(b, vec4(f32Type), kPow));
    vector::StoreOp::create(b, kdv, kd, ValueRange{it.i, it.d}, false,
                            align4(f32Type));
    for (int64_t c = 0; c < 4; ++c) {
      Value dc = add(it.d, idx(c));
      memref::StoreOp::create(b, vector::ExtractOp::create(b, qd, c), qdt,
                              ValueRange{dc, it.i});
      memref::StoreOp::create(b, vector::ExtractOp::create(b, kdv, c), kdt,
                              ValueRange{dc, it.i});
    }
  }
  for (auto [x, at] : llvm::zip(vvals, vwhere))
    vector::StoreOp::create(b, widen(x), vs, ValueRange{at.first, at.second},
                            false, align4(f32Type));
}

void BlockedKernelBuilder::loadBlock(Value t0, Value m) {
  const LightningBlockedShape &s = shape;
  // Whole blocks take the unrolled, vectorised copy; the last partial block
  // (and decode steps) the loop below.
  auto full = scf::IfOp::create(
      b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, m, idx(s.block)),
      /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&full.getThenRegion().front());
  loadBlockFull(t0);
  b.setInsertionPointToStart(&full.getElseRegion().front());
  // Only the block's m rows are loaded: rows past m keep stale values, which
  // reach no stored result (the phases below skip or mask them).
  strided(mul(m, idx(s.keyDim)), [&](Value n) {
    Value i = div(n, s.keyDim), d = rem(n, s.keyDim);
    Value t = add(t0, i);
    Value qx =
        toF32(memref::LoadOp::create(b, q, ValueRange{batch, t, head, d}));
    Value kx =
        toF32(memref::LoadOp::create(b, k, ValueRange{batch, t, head, d}));
    Value qPow = memref::LoadOp::create(b, powers, ValueRange{add(i, idx(1))});
    Value kPow =
        memref::LoadOp::create(b, powers, ValueRange{sub(sub(m, i), idx(1))});
    Value kdv = arith::MulFOp::create(b, kx, kPow);
    memref::StoreOp::create(b, arith::MulFOp::create(b, qx, qPow), qdt,
                            ValueRange{d, i});
    memref::StoreOp::create(b, kdv, kdt, ValueRange{d, i});
    memref::StoreOp::create(b, kdv, kd, ValueRange{i, d});
  });
  strided(mul(m, idx(s.valueTile)), [&](Value n) {
    Value i = div(n, s.valueTile), e = rem(n, s.valueTile);
    Value vx = toF32(memref::LoadOp::create(
        b, v, ValueRange{batch, add(t0, i), head, add(vOff, e)}));
    memref::StoreOp::create(b, vx, vs, ValueRange{i, e});
  });
}

void BlockedKernelBuilder::computeScores(Value m) {
  const LightningBlockedShape &s = shape;
  constexpr int64_t tr = 2, tc = 2;
  Value invPow = arith::DivFOp::create(
      b, f32(1), memref::LoadOp::create(b, powers, ValueRange{m}));
  tiles(s.block, s.block, tr, tc, [&](Value i0, Value j0) {
    // Tiles wholly above the diagonal and rows from m on are never read
    // (the output phase stops at key j = i and at row m).
    Value live = arith::AndIOp::create(
        b,
        arith::CmpIOp::create(b, arith::CmpIPredicate::ule, j0,
                              add(i0, idx(tr - 1))),
        ult(i0, m));
    auto branch = scf::IfOp::create(b, live, /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&branch.getThenRegion().front());
      SmallVector<Value> dots =
          outer(qdt, kdt, idx(0), idx(s.keyDim), i0, j0, tr, tc, zeros(tr, tc));
      for (int64_t r = 0; r < tr; ++r) {
        Value i = add(i0, idx(r));
        for (int64_t c = 0; c < tc; ++c) {
          Value j = add(j0, idx(c));
          Value x = arith::MulFOp::create(
              b, vector::ExtractOp::create(b, dots[r], c), invPow);
          Value causal =
              arith::CmpIOp::create(b, arith::CmpIPredicate::ule, j, i);
          memref::StoreOp::create(b,
                                  arith::SelectOp::create(b, causal, x, f32(0)),
                                  scores, ValueRange{j, i});
        }
      }
    }
  });
}

void BlockedKernelBuilder::computeOutput(Value t0, Value m) {
  const LightningBlockedShape &s = shape;
  constexpr int64_t tr = 2, tc = 4;
  tiles(s.block, s.valueTile, tr, tc, [&](Value i0, Value e0) {
    auto rowsLeft = scf::IfOp::create(b, ult(i0, m), /*withElseRegion=*/false);
    OpBuilder::InsertionGuard rowsGuard(b);
    b.setInsertionPointToStart(&rowsLeft.getThenRegion().front());
    // Intra block: rows i0..i0+tr-1 see keys j <= i only.
    Value jEnd = arith::MinUIOp::create(b, m, add(i0, idx(tr)));
    SmallVector<Value> acc =
        outer(scores, vs, idx(0), jEnd, i0, e0, tr, tc, zeros(tr, tc));
    // Inter block: the decayed queries times the carried state.
    acc = outer(qdt, state, idx(0), idx(s.keyDim), i0, e0, tr, tc, acc);
    auto outVec = VectorType::get({tc}, elt);
    for (int64_t r = 0; r < tr; ++r) {
      Value i = add(i0, idx(r));
      auto inside = scf::IfOp::create(b, ult(i, m), /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&inside.getThenRegion().front());
      Value x = acc[r];
      if (!elt.isF32())
        x = arith::TruncFOp::create(b, outVec, x);
      int64_t bytes = tc * elt.getIntOrFloatBitWidth() / 8;
      vector::StoreOp::create(
          b, x, out, ValueRange{batch, add(t0, i), head, add(vOff, e0)},
          /*nontemporal=*/false, llvm::MaybeAlign(bytes));
    }
  });
}

void BlockedKernelBuilder::updateState(Value m) {
  const LightningBlockedShape &s = shape;
  constexpr int64_t tr = 4, tc = 4;
  Value decay = memref::LoadOp::create(b, powers, ValueRange{m});
  auto vecType = VectorType::get({tc}, b.getF32Type());
  Value decayVec = vector::BroadcastOp::create(b, vecType, decay);
  tiles(s.keyDim, s.valueTile, tr, tc, [&](Value d0, Value e0) {
    SmallVector<Value> acc;
    for (int64_t r = 0; r < tr; ++r) {
      Value row = vector::LoadOp::create(b, vecType, state,
                                         ValueRange{add(d0, idx(r)), e0}, false,
                                         llvm::MaybeAlign(tc * 4));
      acc.push_back(arith::MulFOp::create(b, row, decayVec));
    }
    acc = outer(kd, vs, idx(0), m, d0, e0, tr, tc, acc);
    for (int64_t r = 0; r < tr; ++r)
      vector::StoreOp::create(b, acc[r], state, ValueRange{add(d0, idx(r)), e0},
                              false, llvm::MaybeAlign(tc * 4));
  });
}

} // namespace

int64_t
mlir::hymir::lightningBlockedSharedBytes(const LightningBlockedShape &shape) {
  return Layout::of(shape).total;
}

void mlir::hymir::buildLightningBlockedKernel(
    ImplicitLocOpBuilder &b, const LightningOperands &operands,
    const LightningBlockedShape &shape, Type elt) {
  BlockedKernelBuilder(b, operands, shape, elt).build();
}
