//===- LightningToGpu.cpp - lightning attention as cooperative CTAs -------===//
//
// Rewrites hymir.lightning_attention into one gpu.launch that runs the
// blocked algorithm of the tiling pass with a whole thread block per
// (value chunk, head, batch): the forall of the tiled IR becomes the grid,
// its block loop stays a loop, and each of its contractions (scores,
// intra-block output, inter-block output, state update) becomes a
// register-tiled outer-product loop shared by the block's threads, on f32
// tiles in dynamic shared memory. See Passes.td for the layout.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "MmaFragments.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRLIGHTNINGTOGPU
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// The longest sequence the decode kernel takes (speculative decoding
/// verifies up to 16 tokens).
constexpr int64_t kDecodeTokens = 16;

/// Usable shared memory per block on sm_90 (227 KiB).
constexpr int64_t kMaxSharedBytes = 232448;

/// The kernel's static shape: tokens per block (C), key dim (D), value
/// chunk (VT), threads per block.
struct Shape {
  int64_t block, keyDim, valueDim, valueTile, valueSplit, threads;
};

/// Byte offsets of the f32 tiles in dynamic shared memory.
struct Layout {
  int64_t qdt, kdt, kd, vs, state, scores, powers, total;
  static Layout of(const Shape &s) {
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
/// What every kernel body works with: the launch's operands, this thread's
/// coordinates, and small builders for index math and shared memory.
struct KernelContext {
  explicit KernelContext(ImplicitLocOpBuilder &b) : b(b) {}
  ImplicitLocOpBuilder &b;
  Value q, k, v, slopes, initialState, out, finalState, tokens;
  Value tid, vOff, head, batch;

  Value idx(int64_t n) { return arith::ConstantIndexOp::create(b, n); }
  Value f32(float x) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(x));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value add(Value x, int64_t n) { return n ? add(x, idx(n)) : x; }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value mul(Value x, int64_t n) { return mul(x, idx(n)); }
  Value toF32(Value x) {
    return x.getType().isF32()
               ? x
               : Value(arith::ExtFOp::create(b, b.getF32Type(), x));
  }

  /// for (i = tid; i < n; i += threads) body(i)
  void forEachThread(Value n, int64_t threads, function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(b, tid, n, idx(threads));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVar());
  }
  /// The launch's dynamic shared memory, as bytes.
  Value sharedBytes() {
    auto type = MemRefType::get(
        {ShapedType::kDynamic}, b.getI8Type(), MemRefLayoutAttrInterface(),
        gpu::AddressSpaceAttr::get(b.getContext(),
                                   gpu::AddressSpace::Workgroup));
    return gpu::DynamicSharedMemoryOp::create(b, type);
  }
  /// A `dims` view of `type` (f32 by default) at byte `offset` of `smem`.
  Value view(Value smem, int64_t offset, ArrayRef<int64_t> dims,
             Type type = nullptr) {
    auto space = gpu::AddressSpaceAttr::get(b.getContext(),
                                            gpu::AddressSpace::Workgroup);
    auto memrefType = MemRefType::get(dims, type ? type : b.getF32Type(),
                                      MemRefLayoutAttrInterface(), space);
    return memref::ViewOp::create(b, memrefType, smem, idx(offset),
                                  ValueRange{});
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

struct KernelBuilder : KernelContext {
  KernelBuilder(ImplicitLocOpBuilder &b, const Shape &shape, Type elt)
      : KernelContext(b), shape(shape), elt(elt) {}
  Shape shape;
  Type elt;
  Value qdt, kdt, kd, vs, state, scores, powers;
  Value slope;

  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value div(Value x, int64_t n) { return arith::DivUIOp::create(b, x, idx(n)); }
  Value rem(Value x, int64_t n) { return arith::RemUIOp::create(b, x, idx(n)); }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, x, y);
  }
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

void KernelBuilder::build() {
  const Shape &s = shape;
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
  loop->setAttr("hymir.lightning", b.getStringAttr("blocks"));
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

void KernelBuilder::copyState(Value global, bool toShared) {
  const Shape &s = shape;
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

void KernelBuilder::loadBlockFull(Value t0) {
  const Shape &s = shape;
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

void KernelBuilder::loadBlock(Value t0, Value m) {
  const Shape &s = shape;
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

void KernelBuilder::computeScores(Value m) {
  const Shape &s = shape;
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

void KernelBuilder::computeOutput(Value t0, Value m) {
  const Shape &s = shape;
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

void KernelBuilder::updateState(Value m) {
  const Shape &s = shape;
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

/// The decode kernel (a short static sequence, T <= 16): the token
/// recurrence with the state in registers, read and written once. A thread
/// block covers 64 value columns (all of a narrower value dim) of one head with
/// `kGroups` groups of threads over the key dim; thread t holds S[g R + r][e]
/// for r < R = D / 4 with e = (t / 32) * 8 + t % 8 and g = (t / 8) % 4, so the
/// 4 groups of a column sit in one warp and o = q S is summed with two
/// shuffles.
struct DecodeBuilder : KernelContext {
  static constexpr int64_t kGroups = 4;
  DecodeBuilder(ImplicitLocOpBuilder &b, int64_t keyDim, Type elt)
      : KernelContext(b), keyDim(keyDim), elt(elt) {}
  int64_t keyDim;
  Type elt;

  void build() {
    int64_t rows = keyDim / kGroups;
    Value lane = arith::RemUIOp::create(b, tid, idx(32));
    Value e = add(mul(arith::DivUIOp::create(b, tid, idx(32)), idx(8)),
                  arith::RemUIOp::create(b, lane, idx(8)));
    Value g = arith::DivUIOp::create(b, lane, idx(8));
    Value col = add(vOff, e);
    Value d0 = mul(g, idx(rows));
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
    SmallVector<Value> state;
    for (int64_t r = 0; r < rows; ++r)
      state.push_back(initialState
                          ? Value(memref::LoadOp::create(
                                b, initialState,
                                ValueRange{batch, head, add(d0, idx(r)), col}))
                          : zero);
    Value slope = memref::LoadOp::create(b, slopes, ValueRange{head});
    Value lambda = math::ExpOp::create(b, arith::NegFOp::create(b, slope));
    auto loop = scf::ForOp::create(b, idx(0), tokens, idx(1), state);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value t = loop.getInductionVar();
      Value vx =
          toF32(memref::LoadOp::create(b, v, ValueRange{batch, t, head, col}));
      SmallVector<Value> next;
      Value partial = zero;
      for (int64_t r = 0; r < rows; ++r) {
        Value d = add(d0, idx(r));
        Value kx =
            toF32(memref::LoadOp::create(b, k, ValueRange{batch, t, head, d}));
        Value qx =
            toF32(memref::LoadOp::create(b, q, ValueRange{batch, t, head, d}));
        // S = lambda S + k^T v, then o = q S with the updated state.
        Value sr = math::FmaOp::create(b, lambda, loop.getRegionIterArgs()[r],
                                       arith::MulFOp::create(b, kx, vx));
        next.push_back(sr);
        partial = math::FmaOp::create(b, qx, sr, partial);
      }
      for (int32_t offset : {8, 16}) {
        auto shuffle = gpu::ShuffleOp::create(b, partial, offset, 32,
                                              gpu::ShuffleMode::XOR);
        partial = arith::AddFOp::create(b, partial, shuffle.getShuffleResult());
      }
      auto first = scf::IfOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, g, idx(0)),
          /*withElseRegion=*/false);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&first.getThenRegion().front());
        Value o = elt.isF32() ? partial
                              : Value(arith::TruncFOp::create(b, elt, partial));
        memref::StoreOp::create(b, o, out, ValueRange{batch, t, head, col});
      }
      scf::YieldOp::create(b, next);
    }
    for (int64_t r = 0; r < rows; ++r)
      memref::StoreOp::create(b, loop.getResult(r), finalState,
                              ValueRange{batch, head, add(d0, idx(r)), col});
  }
};

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
struct TensorCoreBuilder : KernelContext {
  static constexpr int64_t kBlock = 32, kWarps = 8, kPad = 8;
  static_assert(kBlock == 32, "stash() moves one token row per lane");
  TensorCoreBuilder(ImplicitLocOpBuilder &b, int64_t keyDim, int64_t valueTile)
      : KernelContext(b), keyDim(keyDim), valueTile(valueTile) {}
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
// 32 lanes on consecutive halfwords (no bank conflicts).
SmallVector<Value> TensorCoreBuilder::fetch(Value t0) {
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

void TensorCoreBuilder::stash(ValueRange values, Value m) {
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

void TensorCoreBuilder::build() {
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
  loop->setAttr("hymir.lightning", b.getStringAttr("blocks"));
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

struct HymirLightningToGpuPass
    : hymir::impl::HymirLightningToGpuBase<HymirLightningToGpuPass> {
  using Base::Base;

  LogicalResult rewrite(LightningAttentionOp op);

  void runOnOperation() override {
    SmallVector<LightningAttentionOp> ops;
    getOperation().walk([&](LightningAttentionOp op) { ops.push_back(op); });
    for (LightningAttentionOp op : ops)
      if (failed(rewrite(op)))
        return signalPassFailure();
  }
};

LogicalResult HymirLightningToGpuPass::rewrite(LightningAttentionOp op) {
  auto qType = op.getQ().getType();
  auto vType = op.getV().getType();
  int64_t heads = qType.getDimSize(2), d = qType.getDimSize(3),
          dv = vType.getDimSize(3), batchDim = qType.getDimSize(0),
          tokensDim = qType.getDimSize(1);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(d) ||
      ShapedType::isDynamic(dv) || ShapedType::isDynamic(batchDim))
    return op.emitOpError("needs static batch, head count and head dims for "
                          "its GPU kernel");
  // Short static sequences (decode, speculative verification) take the
  // recurrence kernel; everything else the blocked one.
  // A dynamic token count gets both kernels, chosen per call by the plan
  // (a launch guarded by the token count).
  bool decodeShapes = blockSize == 0 && d % DecodeBuilder::kGroups == 0 &&
                      (dv % 64 == 0 || (dv < 64 && dv % 8 == 0));
  bool decode = decodeShapes && !ShapedType::isDynamic(tokensDim) &&
                tokensDim <= kDecodeTokens;
  bool runtimeChoice = decodeShapes && ShapedType::isDynamic(tokensDim);
  int64_t decodeColumns = std::min<int64_t>(dv, 64);
  Shape s;
  s.keyDim = d;
  s.valueDim = dv;
  s.threads = threads;
  // Tokens per block: the option, else 32, or the next even power of two
  // covering a short static sequence (decode).
  s.block = blockSize;
  if (s.block == 0) {
    s.block = 32;
    if (!ShapedType::isDynamic(tokensDim) && tokensDim < 32)
      s.block = std::max<int64_t>(2, llvm::PowerOf2Ceil(tokensDim));
  }
  // Value chunks: the option, else 64-wide chunks where that divides.
  s.valueSplit = valueSplit;
  // (Measured on an H100 at B = 1, H = 64: 32-wide chunks for the
  // tensor-core kernel, 256 blocks, were 28% slower than 64-wide ones.)
  if (s.valueSplit == 0)
    s.valueSplit = (dv > 64 && dv % 64 == 0) ? dv / 64 : 1;
  // The blocked kernels' limits (a decode-only op needs none of them).
  if (dv % std::max<int64_t>(s.valueSplit, 1) == 0)
    s.valueTile = dv / s.valueSplit;
  Layout layout = Layout::of(s);
  if (!decode) {
    if (s.block < 2 || s.block % 2 != 0 || s.block > 64)
      return op.emitOpError() << "GPU block size must be even and in [2, 64] "
                                 "(the decay powers stay normal in f32), got "
                              << s.block;
    if (dv % s.valueSplit != 0)
      return op.emitOpError() << "value-split " << s.valueSplit
                              << " does not divide the value dim " << dv;
    if (s.valueTile % 4 != 0 || d % 4 != 0)
      return op.emitOpError() << "GPU kernel needs the key dim (" << d
                              << ") and the value chunk (" << s.valueTile
                              << ") to be multiples of 4";
    if (s.threads < 32 || s.threads > 1024 || s.threads % 32 != 0)
      return op.emitOpError() << "threads must be a multiple of 32 in [32, "
                                 "1024], got "
                              << s.threads;
    if (layout.total > kMaxSharedBytes)
      return op.emitOpError()
             << "GPU kernel tiles need " << layout.total
             << " B of shared memory, more than the " << kMaxSharedBytes
             << " B a block may have: use a smaller block size or a larger "
                "value split";
  }

  ImplicitLocOpBuilder b(op.getLoc(), op);
  auto buffer = [&](Value tensor) -> Value {
    auto type = cast<RankedTensorType>(tensor.getType());
    return bufferization::ToBufferOp::create(
        b, MemRefType::get(type.getShape(), type.getElementType()), tensor,
        /*read_only=*/true);
  };
  Value qm = buffer(op.getQ()), km = buffer(op.getK()), vm = buffer(op.getV()),
        sm = buffer(op.getSlopes());
  Value init = op.getInitialState() ? buffer(op.getInitialState()) : Value();
  Value tokens = memref::DimOp::create(b, qm, 1);
  auto outType = cast<RankedTensorType>(op.getOut().getType());
  auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
  SmallVector<Value> dynSizes;
  if (outType.isDynamicDim(1))
    dynSizes.push_back(tokens);
  Value outBuf = memref::AllocOp::create(
      b, MemRefType::get(outType.getShape(), outType.getElementType()),
      dynSizes);
  Value stateBuf = memref::AllocOp::create(
      b, MemRefType::get(stateType.getShape(), stateType.getElementType()));

  auto c = [&](int64_t n) { return arith::ConstantIndexOp::create(b, n); };
  // One launch per kernel, over (value chunks, heads, batch): the kernel gets
  // the operands and its thread's coordinates, then `build` writes the body.
  auto emitLaunch = [&](KernelContext &kernel, StringRef kind, int64_t chunks,
                        int64_t chunkWidth, int64_t threads,
                        int64_t sharedBytes, function_ref<void()> build) {
    Value bytes = sharedBytes ? Value(arith::ConstantIntOp::create(
                                    b, b.getI32Type(), sharedBytes))
                              : Value();
    auto launch = gpu::LaunchOp::create(b, c(chunks), c(heads), c(batchDim),
                                        c(threads), c(1), c(1), bytes);
    launch->setAttr("hymir.lightning", b.getStringAttr(kind));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    kernel.q = qm;
    kernel.k = km;
    kernel.v = vm;
    kernel.slopes = sm;
    kernel.initialState = init;
    kernel.out = outBuf;
    kernel.finalState = stateBuf;
    kernel.tokens = tokens;
    kernel.tid = launch.getThreadIds().x;
    kernel.vOff = kernel.mul(launch.getBlockIds().x, chunkWidth);
    kernel.head = launch.getBlockIds().y;
    kernel.batch = launch.getBlockIds().z;
    build();
    gpu::TerminatorOp::create(b);
  };
  auto emitDecode = [&]() {
    DecodeBuilder db(b, d, qType.getElementType());
    emitLaunch(db, "decode", dv / decodeColumns, decodeColumns,
               DecodeBuilder::kGroups * decodeColumns, 0, [&] { db.build(); });
  };
  auto emitBlocked = [&]() {
    // bf16 prefill on tensor cores where the shapes allow.
    // (A static empty sequence takes the SIMT kernel, which reads nothing.)
    bool tensorCore =
        tokensDim != 0 && tensorCores && qType.getElementType().isBF16() &&
        (blockSize == 0 || blockSize == TensorCoreBuilder::kBlock) &&
        s.threads == TensorCoreBuilder::kWarps * 32 &&
        TensorCoreBuilder::applies(d, s.valueTile);
    if (tensorCore) {
      TensorCoreBuilder tb(b, d, s.valueTile);
      emitLaunch(tb, "tensor-core", s.valueSplit, s.valueTile, s.threads,
                 TensorCoreBuilder::layout(d, s.valueTile).total,
                 [&] { tb.build(); });
    } else {
      KernelBuilder kb(b, s, qType.getElementType());
      emitLaunch(kb, "blocks", s.valueSplit, s.valueTile, s.threads,
                 layout.total, [&] { kb.build(); });
    }
  };
  if (decode) {
    emitDecode();
  } else if (runtimeChoice) {
    auto choice =
        scf::IfOp::create(b,
                          arith::CmpIOp::create(b, arith::CmpIPredicate::ule,
                                                tokens, c(kDecodeTokens)),
                          /*withElseRegion=*/true);
    choice->setAttr("hymir.lightning", b.getStringAttr("choose-kernel"));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(choice.thenBlock()->getTerminator());
    emitDecode();
    b.setInsertionPoint(choice.elseBlock()->getTerminator());
    emitBlocked();
  } else {
    emitBlocked();
  }
  Value outTensor = bufferization::ToTensorOp::create(
      b, outType, outBuf, /*restrict=*/true, /*writable=*/true);
  Value stateTensor = bufferization::ToTensorOp::create(
      b, stateType, stateBuf, /*restrict=*/true, /*writable=*/true);
  op.getOut().replaceAllUsesWith(outTensor);
  op.getFinalState().replaceAllUsesWith(stateTensor);
  op.erase();
  return success();
}

} // namespace
