//===- MoeWarpRowsKernel.cpp - MoE experts, one warp per weight row ------===//
//
// The decode kernels of hymir-moe-experts-to-gpu: one warp per weight row.
// Gate/up warp (e, i) streams W1[e, i, :] and W3[e, i, :] (8 elements per
// lane per step, 16- or 32-byte loads) once per batch of kRows rows of e's
// group (the remainder one row per pass), dots them with the routed rows
// of x, reduces across the warp and stores act[r, i] = SiLU(g) * u; down
// warp (e, n) does the same over W2[e, n, :] and act. Grid rows take the
// experts that have tokens by rank, and a group's closing padding rows are
// left out, so a call reads the selected experts' weights, each row once
// while a group has at most kRows rows.
//
//===----------------------------------------------------------------------===//

#include "MoeKernels.h"

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::hymir;

namespace {

constexpr int64_t kWarps = 8; // warps per block, one output row each
constexpr int64_t kRows = 4;  // routed rows per pass over a weight row

/// Builds one warp's work: out[r, o] = epilogue(sum_k in[r, k] w[e, o, k])
/// for the rows r of expert e's group, over one or two weight matrices.
struct WarpRowsBuilder : GpuBuilder {
  using GpuBuilder::GpuBuilder;
  Value lane, sorted, offsets, expert, row; // row: o
  int64_t width;                            // K
  int64_t tile = 0; // the layout's tile when known (padding < tile rows)

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
    end = arith::SubIOp::create(
        b, end, moePaddingRows(b, sorted, lane, tile, start, end));
    // [start, full) in whole batches, [full, end) one row at a time.
    Value count = arith::SubIOp::create(b, end, start);
    Value full = arith::AddIOp::create(
        b, start,
        arith::MulIOp::create(b, arith::DivUIOp::create(b, count, idx(kRows)),
                              idx(kRows)));
    passes(kRows, start, full, weights, input, inputRow, store);
    passes(1, full, end, weights, input, inputRow, store);
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
    auto vecType = VectorType::get({kMoeVector}, b.getF32Type());
    Value zero = arith::ConstantOp::create(
        b, DenseElementsAttr::get(vecType, b.getF32FloatAttr(0)));
    size_t nw = weights.size();
    SmallVector<Value> init(nw * batch, zero);
    // Steps of 32 lanes x kMoeVector elements, `unroll` of them per iteration
    // where the width allows (the loads of an iteration are independent, so
    // more of them are in flight).
    int64_t unroll = 1;
    for (int64_t u : {4, 2})
      if (width % (32 * kMoeVector * u) == 0) {
        unroll = u;
        break;
      }
    auto steps =
        scf::ForOp::create(b, arith::MulIOp::create(b, lane, idx(kMoeVector)),
                           idx(width), idx(32 * kMoeVector * unroll), init);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(steps.getBody());
      SmallVector<Value> w, x;
      for (int64_t u = 0; u < unroll; ++u) {
        Value k = arith::AddIOp::create(b, steps.getInductionVar(),
                                        idx(u * 32 * kMoeVector));
        for (Value m : weights)
          w.push_back(loadMoeVector(b, m, ValueRange{expert, row, k}));
        for (int64_t q = 0; q < batch; ++q)
          x.push_back(loadMoeVector(b, input, ValueRange{inputs[q], k}));
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

} // namespace

Value mlir::hymir::moePaddingRows(ImplicitLocOpBuilder &b, Value sorted,
                                  Value lane, int64_t tile, Value start,
                                  Value end) {
  Value zero32 = arith::ConstantIntOp::create(b, b.getI32Type(), 0);
  if (tile > 0) {
    Value count = arith::SubIOp::create(b, end, start);
    Value pads = zero32;
    for (int64_t j = 0; j * 32 < tile - 1; ++j) {
      // Row end - back, back = 1 + lane + 32 j, when back <= count.
      Value back = arith::AddIOp::create(
          b, lane, arith::ConstantIndexOp::create(b, 1 + 32 * j));
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

Value mlir::hymir::loadMoeVector(ImplicitLocOpBuilder &b, Value memref,
                                 ValueRange indices) {
  auto type = cast<MemRefType>(memref.getType());
  Type elt = type.getElementType();
  int64_t bytes = kMoeVector * (elt.getIntOrFloatBitWidth() / 8);
  Value v = vector::LoadOp::create(b, VectorType::get({kMoeVector}, elt),
                                   memref, indices, /*nontemporal=*/false,
                                   llvm::MaybeAlign(bytes));
  if (elt.isF32())
    return v;
  return arith::ExtFOp::create(b, VectorType::get({kMoeVector}, b.getF32Type()),
                               v);
}

void mlir::hymir::emitMoeWarpRowsKernels(ImplicitLocOpBuilder &b,
                                         const MoeExpertsOperands &o,
                                         int64_t slotsPerRow,
                                         int64_t layoutTile) {
  GpuBuilder g(b);
  auto c = [&](int64_t n) { return arith::ConstantIndexOp::create(b, n); };
  int64_t experts = o.experts, inter = o.inter, width = o.width;
  Value x = o.x, sorted = o.sorted, offsets = o.offsets, w1 = o.w1, w3 = o.w3,
        w2 = o.w2, act = o.act, down = o.down;
  auto gridRows = [](int64_t n) { return (n + kWarps - 1) / kWarps * kWarps; };
  // One launch: grid (outputs / kWarps rounded up, experts), kWarps warps
  // per block, one output row per warp.
  auto launchRows = [&](MoePart part, int64_t outputs,
                        function_ref<void(WarpRowsBuilder &)> body) {
    gpu::LaunchOp launchOp = g.launch(
        c(gridRows(outputs) / kWarps), c(slotsPerRow), c(1), c(kWarps * 32),
        Value(), [&](gpu::LaunchOp launch) {
          Value tid = launch.getThreadIds().x;
          WarpRowsBuilder w(b);
          w.lane = arith::RemUIOp::create(b, tid, c(32));
          w.row = arith::AddIOp::create(
              b, arith::MulIOp::create(b, launch.getBlockIds().x, c(kWarps)),
              arith::DivUIOp::create(b, tid, c(32)));
          // Block y takes the experts with tokens whose rank among them is y
          // modulo the grid's height: a decode call's few experts are spread
          // over the grid, and no block is spent on an expert without tokens.
          // Every warp ranks the experts 32 at a time: lane l loads whether
          // expert 32 q + l has tokens, a shuffle scan counts the busy ones
          // before it.
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
            Value valid = arith::CmpIOp::create(b, arith::CmpIPredicate::ult,
                                                mineE, c(experts));
            Value at = arith::MinUIOp::create(b, mineE, c(experts - 1));
            Value lo = memref::LoadOp::create(b, offsets, ValueRange{at});
            Value hi = memref::LoadOp::create(
                b, offsets, ValueRange{arith::AddIOp::create(b, at, c(1))});
            Value busy = arith::ExtUIOp::create(
                b, i32,
                arith::AndIOp::create(
                    b, valid,
                    arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, hi,
                                          lo)));
            Value lane32 = arith::IndexCastOp::create(b, i32, w.lane);
            Value incl = busy;
            for (int64_t d : {1, 2, 4, 8, 16}) {
              Value up = shuffle(incl, c32(d), gpu::ShuffleMode::UP);
              Value has = arith::CmpIOp::create(b, arith::CmpIPredicate::uge,
                                                lane32, c32(d));
              incl = arith::AddIOp::create(
                  b, incl, arith::SelectOp::create(b, has, up, c32(0)));
            }
            ranked.push_back(
                {busy, arith::AddIOp::create(
                           b, carry, arith::SubIOp::create(b, incl, busy))});
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
            Value i =
                arith::IndexCastOp::create(b, i32, experts_.getInductionVar());
            e = arith::AddIOp::create(b, experts_.getInductionVar(), c(32 * q));
            Value busy = shuffle(ranked[q].first, i, gpu::ShuffleMode::IDX);
            Value rank = shuffle(ranked[q].second, i, gpu::ShuffleMode::IDX);
            return arith::AndIOp::create(
                b,
                arith::CmpIOp::create(b, arith::CmpIPredicate::ne, busy,
                                      c32(0)),
                arith::CmpIOp::create(
                    b, arith::CmpIPredicate::eq,
                    arith::RemUIOp::create(b, rank, c32(slotsPerRow)), slot32));
          };
          w.sorted = sorted;
          w.offsets = offsets;
          w.tile = layoutTile;
          for (int64_t q = 0; q * 32 < experts; ++q) {
            Value mine = eachChunk(q);
            // The grid rounds the outputs up to whole blocks.
            auto take = scf::IfOp::create(
                b,
                arith::AndIOp::create(
                    b, mine,
                    arith::CmpIOp::create(b, arith::CmpIPredicate::ult, w.row,
                                          c(outputs))),
                /*withElseRegion=*/false);
            b.setInsertionPointToStart(&take.getThenRegion().front());
            w.expert = e;
            body(w);
            b.setInsertionPointAfter(experts_);
          }
        });
    setMoePart(launchOp, part);
  };
  auto emitRows = [&]() {
    launchRows(MoePart::GateUp, inter, [&](WarpRowsBuilder &w) {
      w.width = width;
      w.build(
          {w1, w3}, x,
          [&](Value r) {
            Value tok = memref::LoadOp::create(b, sorted, ValueRange{r});
            return arith::IndexCastOp::create(b, b.getIndexType(), tok);
          },
          [&](Value r, ArrayRef<Value> s) {
            memref::StoreOp::create(b, o.swiglu(b, s[0], s[1]), act,
                                    ValueRange{r, w.row});
          });
    });
    launchRows(MoePart::Down, width, [&](WarpRowsBuilder &w) {
      w.width = inter;
      w.build(
          {w2}, act, [&](Value r) { return r; },
          [&](Value r, ArrayRef<Value> s) {
            memref::StoreOp::create(b, s[0], down, ValueRange{r, w.row});
          });
    });
  };

  emitRows();
}
