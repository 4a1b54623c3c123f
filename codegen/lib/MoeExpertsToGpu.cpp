//===- MoeExpertsToGpu.cpp - routed experts as GPU kernels ----------------===//
//
// hymir.moe_experts on the grouped layout of hymir.moe_route or
// hymir.moe_layout, as kernels chosen per call by the token count, then the
// combine as one kernel:
//
//   decode calls (at most kDecodeTokensWgmma tokens beside the wgmma
//   kernels, else kDecodeTokens): one warp per weight row. Gate/up warp
//   (e, i) streams W1[e, i, :] and W3[e, i, :] (8 elements per lane per
//   step, 16- or 32-byte loads) once per batch of kRows rows of e's group
//   (the remainder one row per pass), dots them with the routed rows of x,
//   reduces across the warp and stores act[r, i] = SiLU(g) * u; down warp
//   (e, n) does the same over W2[e, n, :] and act. Grid rows take the
//   experts that have tokens by rank, and a group's closing padding rows
//   are left out, so a call reads the selected experts' weights, each row
//   once while a group has at most kRows rows.
//
//   larger calls on sm_90a (bf16, a layout padded to 128-row tiles): wgmma
//   over 128 x 256 tiles of one expert (WgmmaTiles.h), SwiGLU in the
//   gate/up epilogue, a bf16 intermediate; elsewhere (a layout padded to
//   64-row tiles) mma.sync m16n8k16 over 64-row tiles
//   (TensorCoreRowsBuilder).
//
// Then the layouts themselves: one block of kLayoutThreads threads
// (buildGpuLayout).
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/MoeLowering.h"

#include "MmaFragments.h"
#include "WgmmaTiles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRMOEEXPERTSTOGPU
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

constexpr int64_t kWarps = 8;  // warps per block, one output row each
constexpr int64_t kVector = 8; // elements per lane per step
constexpr int64_t kRows = 4;   // routed rows per pass over a weight row
// Calls of at most this many tokens take the warp-per-row kernels; larger
// ones the tensor-core kernels (where they apply).
constexpr int64_t kDecodeTokens = 64;
// With the wgmma kernels from this many tokens on: their 128-row tiles
// stream each selected expert's weights once too, faster than the warp
// kernels once an expert has a few rows (H100: T = 64 took 7.0 ms on the
// warp kernels, about 4.3 on wgmma; T = 16 is even).
constexpr int64_t kDecodeTokensWgmma = 16;

/// Builds one warp's work: out[r, o] = epilogue(sum_k in[r, k] w[e, o, k])
/// for the rows r of expert e's group, over one or two weight matrices.
struct WarpRowsBuilder {
  ImplicitLocOpBuilder &b;
  Value lane, sorted, offsets, expert, row; // row: o
  int64_t width;                            // K
  int64_t tile = 0; // the layout's tile when known (padding < tile rows)

  Value idx(int64_t n) { return arith::ConstantIndexOp::create(b, n); }

  /// Loads 8 elements at [prefix..., k] as f32 (16- or 32-byte aligned).
  Value load8(Value memref, ValueRange indices) {
    auto type = cast<MemRefType>(memref.getType());
    Type elt = type.getElementType();
    int64_t bytes = kVector * (elt.getIntOrFloatBitWidth() / 8);
    Value v = vector::LoadOp::create(b, VectorType::get({kVector}, elt), memref,
                                     indices, /*nontemporal=*/false,
                                     llvm::MaybeAlign(bytes));
    if (elt.isF32())
      return v;
    return arith::ExtFOp::create(b, VectorType::get({kVector}, b.getF32Type()),
                                 v);
  }

  /// The rows of expert e's group in batches of kRows, then one by one: a
  /// pass over the weight rows `weights` (each [E, O, K]) per batch, dotting
  /// with the input rows `inputRow(r)` of `input`; then `store(r, sums)`.
  void build(ArrayRef<Value> weights, Value input,
             function_ref<Value(Value)> inputRow,
             function_ref<void(Value, ArrayRef<Value>)> store) {
    Value start = arith::IndexCastOp::create(
        b, b.getIndexType(),
        memref::LoadOp::create(b, offsets, ValueRange{expert}));
    Value end = arith::IndexCastOp::create(
        b, b.getIndexType(),
        memref::LoadOp::create(
            b, offsets, ValueRange{arith::AddIOp::create(b, expert, idx(1))}));
    // Padding rows (token -1) close a group: leave them out.
    end = arith::SubIOp::create(b, end, paddingRows(start, end));
    // [start, full) in whole batches, [full, end) one row at a time.
    Value count = arith::SubIOp::create(b, end, start);
    Value full = arith::AddIOp::create(
        b, start,
        arith::MulIOp::create(b, arith::DivUIOp::create(b, count, idx(kRows)),
                              idx(kRows)));
    passes(kRows, start, full, weights, input, inputRow, store);
    passes(1, full, end, weights, input, inputRow, store);
  }

  /// How many of the rows before `end` (down to `start`) are padding. With
  /// the layout's tile known, the lanes look at the last tile - 1 rows at
  /// once and sum across the warp; otherwise one row at a time from the
  /// end.
  Value paddingRows(Value start, Value end) {
    Value zero32 = arith::ConstantIntOp::create(b, b.getI32Type(), 0);
    if (tile > 0) {
      Value count = arith::SubIOp::create(b, end, start);
      Value pads = zero32;
      for (int64_t j = 0; j * 32 < tile - 1; ++j) {
        // Row end - back, back = 1 + lane + 32 j, when back <= count.
        Value back = arith::AddIOp::create(b, lane, idx(1 + 32 * j));
        Value inGroup =
            arith::CmpIOp::create(b, arith::CmpIPredicate::ule, back, count);
        Value r = arith::SelectOp::create(
            b, inGroup, arith::SubIOp::create(b, end, back), start);
        Value tok = memref::LoadOp::create(b, sorted, ValueRange{r});
        Value pad = arith::AndIOp::create(
            b, inGroup,
            arith::CmpIOp::create(b, arith::CmpIPredicate::slt, tok, zero32));
        pads = arith::AddIOp::create(
            b, pads, arith::ExtUIOp::create(b, b.getI32Type(), pad));
      }
      for (int32_t offset : {16, 8, 4, 2, 1})
        pads = arith::AddIOp::create(
            b, pads,
            gpu::ShuffleOp::create(b, pads, offset, 32, gpu::ShuffleMode::XOR)
                .getShuffleResult());
      return arith::IndexCastOp::create(b, b.getIndexType(), pads);
    }
    auto trim = scf::WhileOp::create(
        b, TypeRange{b.getIndexType()}, ValueRange{end},
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value r = args[0];
          Value more =
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ugt, r, start);
          auto check = scf::IfOp::create(
              nb, l, more,
              [&](OpBuilder &tb, Location tl) {
                Value prev = arith::SubIOp::create(
                    tb, tl, r, arith::ConstantIndexOp::create(tb, tl, 1));
                Value tok =
                    memref::LoadOp::create(tb, tl, sorted, ValueRange{prev});
                Value padding = arith::CmpIOp::create(
                    tb, tl, arith::CmpIPredicate::slt, tok,
                    arith::ConstantIntOp::create(tb, tl, tb.getI32Type(), 0));
                scf::YieldOp::create(tb, tl, ValueRange{padding});
              },
              [&](OpBuilder &eb, Location el) {
                scf::YieldOp::create(eb, el, ValueRange{more});
              });
          scf::ConditionOp::create(nb, l, check.getResult(0), args);
        },
        [&](OpBuilder &nb, Location l, ValueRange args) {
          scf::YieldOp::create(
              nb, l,
              ValueRange{arith::SubIOp::create(
                  nb, l, args[0], arith::ConstantIndexOp::create(nb, l, 1))});
        });
    return arith::SubIOp::create(b, end, trim.getResult(0));
  }

  void passes(int64_t batch, Value from, Value to, ArrayRef<Value> weights,
              Value input, function_ref<Value(Value)> inputRow,
              function_ref<void(Value, ArrayRef<Value>)> store) {
    auto batches = scf::ForOp::create(b, from, to, idx(batch));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(batches.getBody());
    Value r0 = batches.getInductionVar();
    SmallVector<Value> rows, inputs;
    for (int64_t q = 0; q < batch; ++q) {
      rows.push_back(arith::AddIOp::create(b, r0, idx(q)));
      inputs.push_back(inputRow(rows.back()));
    }
    auto vecType = VectorType::get({kVector}, b.getF32Type());
    Value zero = arith::ConstantOp::create(
        b, DenseElementsAttr::get(vecType, b.getF32FloatAttr(0)));
    size_t nw = weights.size();
    SmallVector<Value> init(nw * batch, zero);
    // Steps of 32 lanes x kVector elements, `unroll` of them per iteration
    // where the width allows (the loads of an iteration are independent, so
    // more of them are in flight).
    int64_t unroll = 1;
    for (int64_t u : {4, 2})
      if (width % (32 * kVector * u) == 0) {
        unroll = u;
        break;
      }
    auto steps =
        scf::ForOp::create(b, arith::MulIOp::create(b, lane, idx(kVector)),
                           idx(width), idx(32 * kVector * unroll), init);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(steps.getBody());
      SmallVector<Value> w, x;
      for (int64_t u = 0; u < unroll; ++u) {
        Value k = arith::AddIOp::create(b, steps.getInductionVar(),
                                        idx(u * 32 * kVector));
        for (Value m : weights)
          w.push_back(load8(m, ValueRange{expert, row, k}));
        for (int64_t q = 0; q < batch; ++q)
          x.push_back(load8(input, ValueRange{inputs[q], k}));
      }
      SmallVector<Value> next(steps.getRegionIterArgs());
      for (int64_t u = 0; u < unroll; ++u)
        for (size_t m = 0; m < nw; ++m)
          for (int64_t q = 0; q < batch; ++q)
            next[m * batch + q] = vector::FMAOp::create(
                b, w[u * nw + m], x[u * batch + q], next[m * batch + q]);
      scf::YieldOp::create(b, next);
    }
    // Sums across the lanes, then lane 0 stores.
    SmallVector<Value> sums;
    for (Value acc : steps.getResults()) {
      Value s = vector::ReductionOp::create(b, vector::CombiningKind::ADD, acc);
      for (int32_t offset : {16, 8, 4, 2, 1})
        s = arith::AddFOp::create(
            b, s,
            gpu::ShuffleOp::create(b, s, offset, 32, gpu::ShuffleMode::XOR)
                .getShuffleResult());
      sums.push_back(s);
    }
    auto lane0 = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, idx(0)),
        /*withElseRegion=*/false);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(&lane0.getThenRegion().front());
    for (int64_t q = 0; q < batch; ++q) {
      SmallVector<Value> mine;
      for (size_t m = 0; m < nw; ++m)
        mine.push_back(sums[m * batch + q]);
      store(rows[q], mine);
    }
  }
};

/// The expert whose group (in `offsets` [E + 1] of a grouped layout) holds
/// row r0: how many groups end at or before it.
Value expertOfRow(ImplicitLocOpBuilder &b, Value offsets, int64_t experts,
                  Value r0) {
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
Value rowsInUse(ImplicitLocOpBuilder &b, Value offsets, int64_t experts) {
  return arith::IndexCastOp::create(
      b, b.getIndexType(),
      memref::LoadOp::create(
          b, offsets, ValueRange{arith::ConstantIndexOp::create(b, experts)}));
}

/// The tensor-core form for larger calls (bf16 only): on a layout padded
/// to kTile-row tiles, each block takes one kTile-row tile of one expert's
/// group and kCols output columns; warp w computes rows 16 w .. 16 w + 15
/// of it (kNTiles m16n8 tiles per weight matrix) with mma.sync m16n8k16
/// over K, fragments loaded straight from global memory (rows of A gathered
/// through the token of each row; the four warps read the same weight
/// columns, so those come from L1), f32 accumulators. Warps whose rows are
/// all padding skip their work.
struct TensorCoreRowsBuilder {
  static constexpr int64_t kWarps = 4, kNTiles = 8, kCols = 8 * kNTiles,
                           kTile = 16 * kWarps;
  ImplicitLocOpBuilder &b;
  Value lane, warp, groupRow, quad;

  Value idx(int64_t n) { return arith::ConstantIndexOp::create(b, n); }
  Value add(Value x, int64_t n) {
    return n ? Value(arith::AddIOp::create(b, x, idx(n))) : x;
  }

  /// acc[m][4 j + r]: the slice's product with weight matrix m over K, A
  /// rows `rowLo` / `rowHi` (this lane's two rows) of `a`.
  SmallVector<Value> product(ArrayRef<Value> weights, Value e, Value c0,
                             Value a, Value rowLo, Value rowHi, int64_t k) {
    size_t nw = weights.size();
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
    SmallVector<Value> init(nw * kNTiles * 4, zero);
    auto loop = scf::ForOp::create(b, idx(0), idx(k), idx(16), init);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = loop.getInductionVar();
    Value col =
        arith::AddIOp::create(b, k0, arith::MulIOp::create(b, quad, idx(2)));
    SmallVector<Value> fa = {
        loadBf16Pair(b, a, ValueRange{rowLo, col}),
        loadBf16Pair(b, a, ValueRange{rowHi, col}),
        loadBf16Pair(b, a, ValueRange{rowLo, add(col, 8)}),
        loadBf16Pair(b, a, ValueRange{rowHi, add(col, 8)})};
    SmallVector<Value> acc(loop.getRegionIterArgs());
    for (size_t m = 0; m < nw; ++m)
      for (int64_t j = 0; j < kNTiles; ++j) {
        Value n = arith::AddIOp::create(b, add(c0, 8 * j), groupRow);
        SmallVector<Value> fb = {
            loadBf16Pair(b, weights[m], ValueRange{e, n, col}),
            loadBf16Pair(b, weights[m], ValueRange{e, n, add(col, 8)})};
        int64_t at = (m * kNTiles + j) * 4;
        ArrayRef<Value> c(acc.data() + at, 4);
        SmallVector<Value> d = mmaBf16(b, fa, fb, c);
        for (int64_t r = 0; r < 4; ++r)
          acc[at + r] = d[r];
      }
    scf::YieldOp::create(b, acc);
    b.setInsertionPointAfter(loop);
    return SmallVector<Value>(loop.getResults());
  }
};

/// The grouped layout of `chosen` [T, K] i32 experts in one block of
/// kLayoutThreads threads: per-expert counts by shared-memory atomics, the
/// group starts (counts rounded up to `tile`) by thread 0, then every pair
/// placed at its expert's cursor, again by atomics, so the order of the
/// pairs within a group is not fixed (each row's results do not depend on
/// where it lies). Picks outside [0, E) get slot -1 and no row.
constexpr int64_t kLayoutThreads = 1024;

SmallVector<Value> buildGpuLayout(ImplicitLocOpBuilder &b, Value chosen,
                                  int64_t experts, int64_t tile,
                                  ArrayRef<RankedTensorType> resultTypes) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  auto c = [&](int64_t n) { return arith::ConstantIndexOp::create(b, n); };
  auto c32 = [&](int64_t n) { return arith::ConstantIntOp::create(b, i32, n); };
  auto chosenType = cast<RankedTensorType>(chosen.getType());
  int64_t k = chosenType.getDimSize(1);
  Value picks = bufferization::ToBufferOp::create(
      b, MemRefType::get(chosenType.getShape(), i32), chosen,
      /*read_only=*/true);
  Value tokens = memref::DimOp::create(b, picks, 0);
  Value pairs = arith::MulIOp::create(b, tokens, c(k));
  // Buffers of the result types; the layout's row count is
  // T * K + E * (tile - 1) when not static.
  // Buffers of static [E + 1] offsets and [T, K] slots (cast to the result
  // types at the end); the layout's row count is T * K + E * (tile - 1)
  // unless the result type has it.
  SmallVector<RankedTensorType> bufferTypes = {
      resultTypes[0], RankedTensorType::get({experts + 1}, i32),
      RankedTensorType::get({ShapedType::kDynamic, k}, i32)};
  auto alloc = [&](RankedTensorType type, ValueRange dyn) -> Value {
    return memref::AllocOp::create(
        b, MemRefType::get(type.getShape(), type.getElementType()), dyn);
  };
  SmallVector<Value> rowsDyn;
  Value rows;
  if (resultTypes[0].isDynamicDim(0)) {
    rows = arith::AddIOp::create(b, pairs, c(experts * (tile - 1)));
    rowsDyn.push_back(rows);
  } else {
    rows = c(resultTypes[0].getDimSize(0));
  }
  Value sorted = alloc(bufferTypes[0], rowsDyn),
        offsets = alloc(bufferTypes[1], {}),
        slots = alloc(bufferTypes[2], {tokens});

  Value smemBytes = arith::ConstantIntOp::create(b, i32, 2 * experts * 4);
  auto launch = gpu::LaunchOp::create(b, c(1), c(1), c(1), c(kLayoutThreads),
                                      c(1), c(1), smemBytes);
  launch->setAttr("hymir.moe", b.getStringAttr("layout"));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    Value tid = launch.getThreadIds().x;
    auto space = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    Value bytes = gpu::DynamicSharedMemoryOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                           MemRefLayoutAttrInterface(), space));
    auto view = [&](int64_t offset) -> Value {
      return memref::ViewOp::create(
          b,
          MemRefType::get({experts}, i32, MemRefLayoutAttrInterface(), space),
          bytes, c(offset), ValueRange{});
    };
    Value counts = view(0), cursor = view(experts * 4);
    auto strided = [&](Value n, function_ref<void(Value)> body) {
      auto loop = scf::ForOp::create(b, tid, n, c(kLayoutThreads));
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(loop.getBody());
      body(loop.getInductionVar());
    };
    // Each pair's expert, when in range.
    auto eachPick = [&](function_ref<void(Value, Value, Value)> inRange,
                        function_ref<void(Value, Value)> outOfRange) {
      strided(pairs, [&](Value p) {
        Value t = arith::DivUIOp::create(b, p, c(k));
        Value j = arith::RemUIOp::create(b, p, c(k));
        Value e = memref::LoadOp::create(b, picks, ValueRange{t, j});
        Value ok = arith::AndIOp::create(
            b, arith::CmpIOp::create(b, arith::CmpIPredicate::sge, e, c32(0)),
            arith::CmpIOp::create(b, arith::CmpIPredicate::slt, e,
                                  c32(experts)));
        auto branch = scf::IfOp::create(b, ok, /*withElseRegion=*/true);
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&branch.getThenRegion().front());
        inRange(t, j, arith::IndexCastOp::create(b, b.getIndexType(), e));
        b.setInsertionPointToStart(&branch.getElseRegion().front());
        outOfRange(t, j);
      });
    };
    strided(c(experts), [&](Value e) {
      memref::StoreOp::create(b, c32(0), counts, ValueRange{e});
    });
    strided(rows, [&](Value r) {
      memref::StoreOp::create(b, c32(-1), sorted, ValueRange{r});
    });
    gpu::BarrierOp::create(b);
    eachPick(
        [&](Value, Value, Value e) {
          memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, c32(1),
                                      counts, ValueRange{e});
        },
        [&](Value, Value) {});
    gpu::BarrierOp::create(b);
    // Group starts, each group's size rounded up to the tile.
    auto first = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, c(0)),
        /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(&first.getThenRegion().front());
      auto prefix =
          scf::ForOp::create(b, c(0), c(experts), c(1), ValueRange{c32(0)});
      {
        OpBuilder::InsertionGuard body(b);
        b.setInsertionPointToStart(prefix.getBody());
        Value e = prefix.getInductionVar(), run = prefix.getRegionIterArgs()[0];
        memref::StoreOp::create(b, run, offsets, ValueRange{e});
        memref::StoreOp::create(b, run, cursor, ValueRange{e});
        Value n = memref::LoadOp::create(b, counts, ValueRange{e});
        Value padded = arith::MulIOp::create(
            b,
            arith::DivUIOp::create(
                b, arith::AddIOp::create(b, n, c32(tile - 1)), c32(tile)),
            c32(tile));
        scf::YieldOp::create(b,
                             ValueRange{arith::AddIOp::create(b, run, padded)});
      }
      memref::StoreOp::create(b, prefix.getResult(0), offsets,
                              ValueRange{c(experts)});
    }
    gpu::BarrierOp::create(b);
    eachPick(
        [&](Value t, Value j, Value e) {
          Value row = memref::AtomicRMWOp::create(
              b, arith::AtomicRMWKind::addi, c32(1), cursor, ValueRange{e});
          memref::StoreOp::create(
              b, arith::IndexCastOp::create(b, i32, t), sorted,
              ValueRange{arith::IndexCastOp::create(b, b.getIndexType(), row)});
          memref::StoreOp::create(b, row, slots, ValueRange{t, j});
        },
        [&](Value t, Value j) {
          memref::StoreOp::create(b, c32(-1), slots, ValueRange{t, j});
        });
    gpu::TerminatorOp::create(b);
  }
  SmallVector<Value> results, buffers = {sorted, offsets, slots};
  for (auto [bufferType, type, buffer] :
       llvm::zip(bufferTypes, resultTypes, buffers)) {
    Value t = bufferization::ToTensorOp::create(
        b, bufferType, buffer, /*restrict=*/true, /*writable=*/true);
    results.push_back(
        t.getType() == type ? t : Value(tensor::CastOp::create(b, type, t)));
  }
  return results;
}

/// hymir.moe_route and hymir.moe_layout on cuda: the routing as linalg (for
/// the generic kernels), the layout by buildGpuLayout.
void rewriteLayout(Operation *op) {
  ImplicitLocOpBuilder b(op->getLoc(), op);
  SmallVector<RankedTensorType> types;
  for (Value r : op->getResults().take_front(3))
    types.push_back(cast<RankedTensorType>(r.getType()));
  SmallVector<Value> results;
  if (auto route = dyn_cast<MoeRouteOp>(op)) {
    int64_t experts =
        cast<RankedTensorType>(route.getLogits().getType()).getDimSize(1);
    auto [chosen, weights] =
        buildMoeRouting(b, b.getLoc(), route.getLogits(), route.getTopK(),
                        route.getRenormalize());
    results = buildGpuLayout(b, chosen, experts, route.getTile(), types);
    Type weightsType = route.getWeights().getType();
    results.push_back(
        weights.getType() == weightsType
            ? weights
            : Value(tensor::CastOp::create(b, weightsType, weights)));
  } else {
    auto layout = cast<MoeLayoutOp>(op);
    results = buildGpuLayout(b, layout.getIndices(), layout.getNumExperts(),
                             layout.getTile(), types);
  }
  op->replaceAllUsesWith(results);
  op->erase();
}

struct HymirMoeExpertsToGpuPass
    : hymir::impl::HymirMoeExpertsToGpuBase<HymirMoeExpertsToGpuPass> {
  using Base::Base;

  LogicalResult rewrite(MoeExpertsOp op);

  void runOnOperation() override {
    SmallVector<MoeExpertsOp> ops;
    getOperation().walk([&](MoeExpertsOp op) { ops.push_back(op); });
    for (MoeExpertsOp op : ops)
      if (failed(rewrite(op)))
        return signalPassFailure();
    // Then the layouts (the experts read their tile first).
    SmallVector<Operation *> layouts;
    getOperation().walk([&](Operation *op) {
      auto route = dyn_cast<MoeRouteOp>(op);
      if ((route && !cast<RankedTensorType>(route.getLogits().getType())
                         .isDynamicDim(1)) ||
          isa<MoeLayoutOp>(op))
        layouts.push_back(op);
    });
    for (Operation *op : layouts)
      rewriteLayout(op);
  }
};

LogicalResult HymirMoeExpertsToGpuPass::rewrite(MoeExpertsOp op) {
  auto w1Type = cast<RankedTensorType>(op.getW1().getType());
  auto xType = cast<RankedTensorType>(op.getX().getType());
  int64_t experts = w1Type.getDimSize(0), inter = w1Type.getDimSize(1),
          width = w1Type.getDimSize(2);
  // The kernels need static expert shapes in whole vectors (bf16 or f32, as
  // the verifier allows); anything else keeps the generic lowering.
  if (ShapedType::isDynamic(experts) || ShapedType::isDynamic(inter) ||
      ShapedType::isDynamic(width) || inter % kVector != 0 ||
      width % kVector != 0)
    return success();
  // The tensor-core kernels: bf16, 16-row tiles of one expert (the layout's
  // tile), whole blocks of columns.
  using Tc = TensorCoreRowsBuilder;
  // The layout's tile (hymir.moe_route or hymir.moe_layout).
  std::optional<int64_t> layoutTile;
  if (auto route = op.getSortedTokens().getDefiningOp<MoeRouteOp>())
    layoutTile = route.getTile();
  else if (auto layout = op.getSortedTokens().getDefiningOp<MoeLayoutOp>())
    layoutTile = layout.getTile();
  bool bf16 =
      xType.getElementType().isBF16() && w1Type.getElementType().isBF16();
  bool tensorCores = bf16 && layoutTile == Tc::kTile &&
                     inter % Tc::kCols == 0 && width % Tc::kCols == 0;
  // The wgmma kernels (sm_90a): 128-row tiles, 128-column chunks, K in
  // whole stages.
  using Wg = WgmmaTiles;
  bool wgmmaTiles =
      wgmma && bf16 && layoutTile == Wg::kRows && inter % Wg::kChunkRows == 0 &&
      width % Wg::kChunkRows == 0 && inter % Wg::kK == 0 && width % Wg::kK == 0;

  ImplicitLocOpBuilder b(op.getLoc(), op);
  auto buffer = [&](Value tensor) -> Value {
    auto type = cast<RankedTensorType>(tensor.getType());
    return bufferization::ToBufferOp::create(
        b, MemRefType::get(type.getShape(), type.getElementType()), tensor,
        /*read_only=*/true);
  };
  Value x = buffer(op.getX()), sorted = buffer(op.getSortedTokens()),
        offsets = buffer(op.getOffsets()), w1 = buffer(op.getW1()),
        w3 = buffer(op.getW3()), w2 = buffer(op.getW2());
  Value rows = memref::DimOp::create(b, sorted, 0);
  Value tokens = memref::DimOp::create(b, x, 0);
  auto c = [&](int64_t n) { return arith::ConstantIndexOp::create(b, n); };
  auto f32 = b.getF32Type();
  // The intermediate keeps the experts' precision (bf16 is what the tensor
  // cores read).
  Type actType = bf16 ? b.getBF16Type() : f32;
  Value act = memref::AllocOp::create(
      b, MemRefType::get({ShapedType::kDynamic, inter}, actType),
      ValueRange{rows});
  Value down = memref::AllocOp::create(
      b, MemRefType::get({ShapedType::kDynamic, width}, f32), ValueRange{rows});
  auto swiglu = [&](Value g, Value u) {
    Value v = buildSwiGlu(b, b.getLoc(), g, u);
    return actType.isF32() ? v : Value(arith::TruncFOp::create(b, actType, v));
  };

  // Decode-sized calls: one warp per weight row, weights streamed once.
  auto gridRows = [](int64_t n) { return (n + kWarps - 1) / kWarps * kWarps; };
  // The grid's height: top_k when static (the experts of a one-token call;
  // larger calls put several experts in each block, one after another),
  // else one per expert.
  auto slotsType = cast<RankedTensorType>(op.getSlots().getType());
  int64_t slotsPerRow =
      decodeSlots > 0             ? std::min<int64_t>(experts, decodeSlots)
      : slotsType.isDynamicDim(1) ? experts
                                  : std::min(experts, slotsType.getDimSize(1));
  // One launch: grid (outputs / kWarps rounded up, experts), kWarps warps
  // per block, one output row per warp.
  auto launchRows = [&](StringRef kind, int64_t outputs,
                        function_ref<void(WarpRowsBuilder &)> body) {
    auto launch =
        gpu::LaunchOp::create(b, c(gridRows(outputs) / kWarps), c(slotsPerRow),
                              c(1), c(kWarps * 32), c(1), c(1));
    launch->setAttr("hymir.moe", b.getStringAttr(kind));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    Value tid = launch.getThreadIds().x;
    WarpRowsBuilder w{b};
    w.lane = arith::RemUIOp::create(b, tid, c(32));
    w.row = arith::AddIOp::create(
        b, arith::MulIOp::create(b, launch.getBlockIds().x, c(kWarps)),
        arith::DivUIOp::create(b, tid, c(32)));
    // Block y takes the experts with tokens whose rank among them is y
    // modulo the grid's height: a decode call's few experts are spread over
    // the grid, and no block is spent on an expert without tokens. Every
    // warp ranks the experts 32 at a time: lane l loads whether expert
    // 32 q + l has tokens, a shuffle scan counts the busy ones before it.
    Value slot = launch.getBlockIds().y;
    Type i32 = b.getI32Type();
    auto c32 = [&](int64_t n) {
      return arith::ConstantIntOp::create(b, i32, n);
    };
    auto shuffle = [&](Value v, Value lane, gpu::ShuffleMode mode) {
      return gpu::ShuffleOp::create(b, v, lane, c32(32), mode)
          .getShuffleResult();
    };
    Value carry = c32(0);
    SmallVector<std::pair<Value, Value>> ranked; // per chunk: busy, rank
    for (int64_t q = 0; q * 32 < experts; ++q) {
      Value mineE = arith::AddIOp::create(b, w.lane, c(32 * q));
      Value valid = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, mineE,
                                          c(experts));
      Value at = arith::MinUIOp::create(b, mineE, c(experts - 1));
      Value lo = memref::LoadOp::create(b, offsets, ValueRange{at});
      Value hi = memref::LoadOp::create(
          b, offsets, ValueRange{arith::AddIOp::create(b, at, c(1))});
      Value busy = arith::ExtUIOp::create(
          b, i32,
          arith::AndIOp::create(
              b, valid,
              arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, hi, lo)));
      Value lane32 = arith::IndexCastOp::create(b, i32, w.lane);
      Value incl = busy;
      for (int64_t d : {1, 2, 4, 8, 16}) {
        Value up = shuffle(incl, c32(d), gpu::ShuffleMode::UP);
        Value has =
            arith::CmpIOp::create(b, arith::CmpIPredicate::uge, lane32, c32(d));
        incl = arith::AddIOp::create(
            b, incl, arith::SelectOp::create(b, has, up, c32(0)));
      }
      ranked.push_back(
          {busy, arith::AddIOp::create(b, carry,
                                       arith::SubIOp::create(b, incl, busy))});
      carry = arith::AddIOp::create(
          b, carry, shuffle(incl, c32(31), gpu::ShuffleMode::IDX));
    }
    Value slot32 = arith::IndexCastOp::create(b, i32, slot);
    scf::ForOp experts_;
    Value e;
    auto eachChunk = [&](int64_t q) {
      experts_ = scf::ForOp::create(
          b, c(0), c(std::min<int64_t>(32, experts - 32 * q)), c(1));
      b.setInsertionPointToStart(experts_.getBody());
      Value i = arith::IndexCastOp::create(b, i32, experts_.getInductionVar());
      e = arith::AddIOp::create(b, experts_.getInductionVar(), c(32 * q));
      Value busy = shuffle(ranked[q].first, i, gpu::ShuffleMode::IDX);
      Value rank = shuffle(ranked[q].second, i, gpu::ShuffleMode::IDX);
      return arith::AndIOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::ne, busy, c32(0)),
          arith::CmpIOp::create(
              b, arith::CmpIPredicate::eq,
              arith::RemUIOp::create(b, rank, c32(slotsPerRow)), slot32));
    };
    w.sorted = sorted;
    w.offsets = offsets;
    w.tile = layoutTile.value_or(0);
    for (int64_t q = 0; q * 32 < experts; ++q) {
      Value mine = eachChunk(q);
      // The grid rounds the outputs up to whole blocks.
      auto take = scf::IfOp::create(
          b,
          arith::AndIOp::create(b, mine,
                                arith::CmpIOp::create(b,
                                                      arith::CmpIPredicate::ult,
                                                      w.row, c(outputs))),
          /*withElseRegion=*/false);
      b.setInsertionPointToStart(&take.getThenRegion().front());
      w.expert = e;
      body(w);
      b.setInsertionPointAfter(experts_);
    }
    gpu::TerminatorOp::create(b);
  };
  auto emitRows = [&]() {
    launchRows("gate-up", inter, [&](WarpRowsBuilder &w) {
      w.width = width;
      w.build(
          {w1, w3}, x,
          [&](Value r) {
            Value tok = memref::LoadOp::create(b, sorted, ValueRange{r});
            return arith::IndexCastOp::create(b, b.getIndexType(), tok);
          },
          [&](Value r, ArrayRef<Value> s) {
            memref::StoreOp::create(b, swiglu(s[0], s[1]), act,
                                    ValueRange{r, w.row});
          });
    });
    launchRows("down", width, [&](WarpRowsBuilder &w) {
      w.width = inter;
      w.build(
          {w2}, act, [&](Value r) { return r; },
          [&](Value r, ArrayRef<Value> s) {
            memref::StoreOp::create(b, s[0], down, ValueRange{r, w.row});
          });
    });
  };

  // Larger calls: tensor cores over kTile-row tiles of the layout.
  auto launchTiles = [&](StringRef kind, int64_t outputs,
                         function_ref<void(Tc &, Value, Value, Value)> body) {
    Value tiles = arith::CeilDivUIOp::create(b, rows, c(Tc::kTile));
    auto launch = gpu::LaunchOp::create(b, c(outputs / Tc::kCols), tiles, c(1),
                                        c(Tc::kWarps * 32), c(1), c(1));
    launch->setAttr("hymir.moe", b.getStringAttr(kind));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    Value tid = launch.getThreadIds().x;
    Tc t{b};
    t.lane = arith::RemUIOp::create(b, tid, c(32));
    t.warp = arith::DivUIOp::create(b, tid, c(32));
    t.groupRow = arith::DivUIOp::create(b, t.lane, c(4));
    t.quad = arith::RemUIOp::create(b, t.lane, c(4));
    Value r0 = arith::MulIOp::create(b, launch.getBlockIds().y, c(Tc::kTile));
    Value c0 = arith::MulIOp::create(b, launch.getBlockIds().x, c(Tc::kCols));
    Value rw =
        arith::AddIOp::create(b, r0, arith::MulIOp::create(b, t.warp, c(16)));
    // Rows past those in use, and padding rows (which close a group), have
    // nothing to compute.
    Value used = rowsInUse(b, offsets, experts);
    auto inUse = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, rw, used),
        /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(&inUse.getThenRegion().front());
      Value first = memref::LoadOp::create(b, sorted, ValueRange{rw});
      auto real = scf::IfOp::create(
          b,
          arith::CmpIOp::create(
              b, arith::CmpIPredicate::sge, first,
              arith::ConstantIntOp::create(b, b.getI32Type(), 0)),
          /*withElseRegion=*/false);
      b.setInsertionPointToStart(&real.getThenRegion().front());
      body(t, expertOfRow(b, offsets, experts, r0), rw, c0);
    }
    gpu::TerminatorOp::create(b);
  };
  // Accumulator element r of n-tile j: row r0 + groupRow (+ 8), column
  // c0 + 8 j + 2 quad (+ 1).
  auto eachElement = [&](Tc &t, Value r0, Value c0,
                         function_ref<void(int64_t, Value, Value)> fn) {
    for (int64_t j = 0; j < Tc::kNTiles; ++j)
      for (int64_t r = 0; r < 4; ++r) {
        Value row =
            t.add(arith::AddIOp::create(b, r0, t.groupRow), r >= 2 ? 8 : 0);
        Value col =
            t.add(arith::AddIOp::create(b, t.add(c0, 8 * j),
                                        arith::MulIOp::create(b, t.quad, c(2))),
                  r % 2);
        fn(j * 4 + r, row, col);
      }
  };
  auto emitTiles = [&]() {
    launchTiles("gate-up-tc", inter, [&](Tc &t, Value e, Value r0, Value c0) {
      // This lane's two rows of x, through their tokens (padding rows read
      // row 0; their results are never used).
      auto tokenOf = [&](Value r) {
        Value tok = arith::MaxSIOp::create(
            b, memref::LoadOp::create(b, sorted, ValueRange{r}),
            arith::ConstantIntOp::create(b, b.getI32Type(), 0));
        return arith::IndexCastOp::create(b, b.getIndexType(), tok);
      };
      Value lo = tokenOf(arith::AddIOp::create(b, r0, t.groupRow));
      Value hi = tokenOf(t.add(arith::AddIOp::create(b, r0, t.groupRow), 8));
      SmallVector<Value> acc = t.product({w1, w3}, e, c0, x, lo, hi, width);
      eachElement(t, r0, c0, [&](int64_t i, Value row, Value col) {
        memref::StoreOp::create(b, swiglu(acc[i], acc[Tc::kNTiles * 4 + i]),
                                act, ValueRange{row, col});
      });
    });
    launchTiles("down-tc", width, [&](Tc &t, Value e, Value r0, Value c0) {
      Value lo = arith::AddIOp::create(b, r0, t.groupRow);
      SmallVector<Value> acc =
          t.product({w2}, e, c0, act, lo, t.add(lo, 8), inter);
      eachElement(t, r0, c0, [&](int64_t i, Value row, Value col) {
        memref::StoreOp::create(b, acc[i], down, ValueRange{row, col});
      });
    });
  };

  // Larger calls on sm_90a: wgmma over 128-row tiles. Blocks are numbered
  // in groups of kGroup row tiles: a group's tiles (mostly one expert's)
  // run side by side over the column blocks, so each weight chunk is read
  // from memory about once and the group's rows stay in L2.
  const int64_t kGroup = std::max<int64_t>(1, wgmmaGroup);
  auto launchWgmma =
      [&](StringRef kind, int64_t colBlocks,
          function_ref<void(WgmmaTiles &, Value, Value, Value)> body,
          int64_t chunks) {
        // Grid (kGroup x column blocks, groups): blocks start in the order of
        // their linear index, x fastest.
        Value groups =
            arith::CeilDivUIOp::create(b, rows, c(Wg::kRows * kGroup));
        Value smem = arith::ConstantIntOp::create(b, b.getI32Type(),
                                                  Wg::sharedBytes(chunks));
        auto launch =
            gpu::LaunchOp::create(b, c(kGroup * colBlocks), groups, c(1),
                                  c(Wg::kThreads), c(1), c(1), smem);
        launch->setAttr("hymir.moe", b.getStringAttr(kind));
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&launch.getBody().front());
        Value inGroup = launch.getBlockIds().x;
        Value tile = arith::AddIOp::create(
            b, arith::MulIOp::create(b, launch.getBlockIds().y, c(kGroup)),
            arith::RemUIOp::create(b, inGroup, c(kGroup)));
        Value colBlock = arith::DivUIOp::create(b, inGroup, c(kGroup));
        Value r0 = arith::MulIOp::create(b, tile, c(Wg::kRows));
        // Tiles past the rows in use have nothing to compute (the layout's
        // groups are whole tiles, so a tile is all in use or not at all).
        Value used = rowsInUse(b, offsets, experts);
        auto inUse = scf::IfOp::create(
            b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, r0, used),
            /*withElseRegion=*/false);
        {
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPointToStart(&inUse.getThenRegion().front());
          WgmmaTiles w{b, launch.getThreadIds().x};
          // A warpgroup whose 64 rows start with padding has only padding
          // (padding closes a group): it skips its products.
          Value half = arith::MulIOp::create(
              b, arith::DivUIOp::create(b, w.tid, c(128)), c(Wg::kRows / 2));
          w.active = arith::CmpIOp::create(
              b, arith::CmpIPredicate::sge,
              memref::LoadOp::create(
                  b, sorted, ValueRange{arith::AddIOp::create(b, r0, half)}),
              arith::ConstantIntOp::create(b, b.getI32Type(), 0));
          body(w, expertOfRow(b, offsets, experts, r0), r0, colBlock);
        }
        gpu::TerminatorOp::create(b);
      };
  auto emitWgmma = [&]() {
    // gate/up: W1 and W3 rows c0 .. c0 + 127 of the tile's expert; A the
    // rows of x through their tokens (padding rows read row 0; their
    // results are never used).
    launchWgmma(
        "gate-up-wgmma", inter / Wg::kChunkRows,
        [&](WgmmaTiles &w, Value e, Value r0, Value colBlock) {
          Value c0 = arith::MulIOp::create(b, colBlock, c(Wg::kChunkRows));
          SmallVector<Value> aRows;
          for (int64_t i = 0; i < Wg::kRowsPerThread; ++i) {
            Value tok = arith::MaxSIOp::create(
                b,
                memref::LoadOp::create(b, sorted,
                                       ValueRange{w.add(r0, w.copyRow(i))}),
                arith::ConstantIntOp::create(b, b.getI32Type(), 0));
            aRows.push_back(
                arith::IndexCastOp::create(b, b.getIndexType(), tok));
          }
          SmallVector<Value> acc =
              w.product(x, aRows, {{w1, e, c0}, {w3, e, c0}}, width, w.active);
          w.forEachAccumulator([&](int64_t i, Value row, Value col) {
            if (i % 2)
              return;
            SmallVector<Value> pair;
            for (int64_t q = 0; q < 2; ++q) {
              Value g = LLVM::ExtractValueOp::create(b, acc[0], i + q);
              Value u = LLVM::ExtractValueOp::create(b, acc[1], i + q);
              pair.push_back(swiglu(g, u));
            }
            Value v = vector::FromElementsOp::create(
                b, VectorType::get({2}, actType), pair);
            vector::StoreOp::create(b, v, act,
                                    ValueRange{w.add(r0, row), w.add(c0, col)});
          });
        },
        2);
    // down: W2 rows c0 .. c0 + 255 (two chunks) of the tile's expert; A
    // the tile's rows of act.
    int64_t downChunks = width % (2 * Wg::kChunkRows) == 0 ? 2 : 1;
    launchWgmma(
        "down-wgmma", width / (downChunks * Wg::kChunkRows),
        [&](WgmmaTiles &w, Value e, Value r0, Value colBlock) {
          Value c0 = arith::MulIOp::create(b, colBlock,
                                           c(downChunks * Wg::kChunkRows));
          SmallVector<Value> aRows;
          for (int64_t i = 0; i < Wg::kRowsPerThread; ++i)
            aRows.push_back(w.add(r0, w.copyRow(i)));
          SmallVector<WgmmaTiles::Chunk> chunks;
          for (int64_t m = 0; m < downChunks; ++m)
            chunks.push_back({w2, e, w.add(c0, m * Wg::kChunkRows)});
          SmallVector<Value> acc =
              w.product(act, aRows, chunks, inter, w.active);
          w.forEachAccumulator([&](int64_t i, Value row, Value col) {
            if (i % 2)
              return;
            for (int64_t m = 0; m < downChunks; ++m) {
              SmallVector<Value> pair = {
                  LLVM::ExtractValueOp::create(b, acc[m], i),
                  LLVM::ExtractValueOp::create(b, acc[m], i + 1)};
              Value v = vector::FromElementsOp::create(
                  b, VectorType::get({2}, f32), pair);
              vector::StoreOp::create(
                  b, v, down,
                  ValueRange{w.add(r0, row),
                             w.add(w.add(c0, m * Wg::kChunkRows), col)});
            }
          });
        },
        downChunks);
  };

  if (wgmmaTiles || tensorCores) {
    // The plan turns this into launches guarded by the token count.
    auto choice = scf::IfOp::create(
        b,
        arith::CmpIOp::create(
            b, arith::CmpIPredicate::ule, tokens,
            c(wgmmaTiles ? kDecodeTokensWgmma : kDecodeTokens)),
        /*withElseRegion=*/true);
    choice->setAttr("hymir.moe", b.getStringAttr("choose-kernels"));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(choice.thenBlock()->getTerminator());
    emitRows();
    b.setInsertionPoint(choice.elseBlock()->getTerminator());
    if (wgmmaTiles)
      emitWgmma();
    else
      emitTiles();
  } else {
    emitRows();
  }
  Value y;
  if (!slotsType.isDynamicDim(1)) {
    // The combine as one kernel: thread i sums 8 columns of a token's rows,
    // y[t, n..n+7] = sum_j weights[t, j] down[slots[t, j], n..n+7] (a pick
    // without a row, slot -1, adds nothing), rounded once and stored.
    int64_t picks = slotsType.getDimSize(1), perRow = width / kVector;
    Value weightsBuf = buffer(op.getWeights()),
          slotsBuf = buffer(op.getSlots());
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    Type outElt = resultType.getElementType();
    Value out = memref::AllocOp::create(
        b, MemRefType::get({ShapedType::kDynamic, width}, outElt),
        ValueRange{tokens});
    Value items = arith::MulIOp::create(b, tokens, c(perRow));
    auto launch =
        gpu::LaunchOp::create(b, arith::CeilDivUIOp::create(b, items, c(256)),
                              c(1), c(1), c(256), c(1), c(1));
    launch->setAttr("hymir.moe", b.getStringAttr("combine"));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&launch.getBody().front());
      Value item = arith::AddIOp::create(
          b, arith::MulIOp::create(b, launch.getBlockIds().x, c(256)),
          launch.getThreadIds().x);
      auto inRange = scf::IfOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, item, items),
          /*withElseRegion=*/false);
      b.setInsertionPointToStart(&inRange.getThenRegion().front());
      Value t = arith::DivUIOp::create(b, item, c(perRow));
      Value n = arith::MulIOp::create(
          b, arith::RemUIOp::create(b, item, c(perRow)), c(kVector));
      auto vecType = VectorType::get({kVector}, f32);
      Value acc = arith::ConstantOp::create(
          b, DenseElementsAttr::get(vecType, b.getF32FloatAttr(0)));
      for (int64_t j = 0; j < picks; ++j) {
        Value slot = memref::LoadOp::create(b, slotsBuf, ValueRange{t, c(j)});
        Value w = memref::LoadOp::create(b, weightsBuf, ValueRange{t, c(j)});
        auto has = scf::IfOp::create(
            b, TypeRange{vecType},
            arith::CmpIOp::create(
                b, arith::CmpIPredicate::sge, slot,
                arith::ConstantIntOp::create(b, b.getI32Type(), 0)),
            /*withElseRegion=*/true);
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&has.getThenRegion().front());
        Value row = vector::LoadOp::create(
            b, vecType, down,
            ValueRange{arith::IndexCastOp::create(b, b.getIndexType(), slot),
                       n},
            /*nontemporal=*/false, llvm::MaybeAlign(kVector * 4));
        scf::YieldOp::create(
            b, ValueRange{vector::FMAOp::create(
                   b, vector::BroadcastOp::create(b, vecType, w), row, acc)});
        b.setInsertionPointToStart(&has.getElseRegion().front());
        scf::YieldOp::create(b, ValueRange{acc});
        acc = has.getResult(0);
      }
      if (!outElt.isF32())
        acc =
            arith::TruncFOp::create(b, VectorType::get({kVector}, outElt), acc);
      vector::StoreOp::create(
          b, acc, out, ValueRange{t, n}, /*nontemporal=*/false,
          llvm::MaybeAlign(kVector * outElt.getIntOrFloatBitWidth() / 8));
      b.setInsertionPointAfter(inRange);
      gpu::TerminatorOp::create(b);
    }
    y = bufferization::ToTensorOp::create(
        b, RankedTensorType::get({ShapedType::kDynamic, width}, outElt), out,
        /*restrict=*/true, /*writable=*/true);
    if (y.getType() != resultType)
      y = tensor::CastOp::create(b, resultType, y);
  } else {
    Value downTensor = bufferization::ToTensorOp::create(
        b, RankedTensorType::get({ShapedType::kDynamic, width}, f32), down,
        /*restrict=*/true, /*writable=*/true);
    y = buildMoeCombine(b, b.getLoc(), op.getWeights(), op.getSlots(),
                        downTensor, op.getX(), op.getResult().getType());
  }
  op.getResult().replaceAllUsesWith(y);
  op.erase();
  return success();
}

} // namespace
