//===- MoeExpertsToGpu.cpp - routed experts as GPU kernels ----------------===//
//
// hymir.moe_experts on the grouped layout of hymir.moe_route, as two
// kernels and the combine:
//
//   gate/up  one warp per (expert e, intermediate row i): for the rows of
//            e's group, in batches of kRows, streams W1[e, i, :] and
//            W3[e, i, :] once per batch (8 bf16 per lane per step, 16-byte
//            loads), dots them with the routed rows of x, reduces across
//            the warp and writes act[r, i] = SiLU(g) * u in f32;
//   down     one warp per (expert e, output column n): the same over
//            W2[e, n, :] and the rows of act, writing down[r, n] in f32;
//   combine  y[t] = sum_j weights[t, j] down[slots[t, j]] (linalg, shared
//            with the cpu lowering).
//
// A warp whose expert received no tokens returns at once, so a call reads
// the weights of the selected experts only. Rows go in batches of kRows
// (one pass over the weight row per batch), the remainder one row per pass,
// so a single routed row costs one pass of one row's work: each weight row
// is read once while a group has at most kRows rows (decode-sized calls:
// T k / E rows per expert on average). Larger groups re-read the weight
// rows per batch; grouped GEMMs on tensor cores are the path those calls
// need (not built yet).
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/MoeLowering.h"

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

/// Builds one warp's work: out[r, o] = epilogue(sum_k in[r, k] w[e, o, k])
/// for the rows r of expert e's group, over one or two weight matrices.
struct WarpRowsBuilder {
  ImplicitLocOpBuilder &b;
  Value lane, sorted, offsets, expert, row; // row: o
  int64_t width;                            // K

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
  }
};

LogicalResult HymirMoeExpertsToGpuPass::rewrite(MoeExpertsOp op) {
  auto w1Type = cast<RankedTensorType>(op.getW1().getType());
  int64_t experts = w1Type.getDimSize(0), inter = w1Type.getDimSize(1),
          width = w1Type.getDimSize(2);
  // The kernels need static expert shapes in whole vectors (bf16 or f32, as
  // the verifier allows); anything else keeps the generic lowering.
  if (ShapedType::isDynamic(experts) || ShapedType::isDynamic(inter) ||
      ShapedType::isDynamic(width) || inter % kVector != 0 ||
      width % kVector != 0)
    return success();

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
  auto c = [&](int64_t n) { return arith::ConstantIndexOp::create(b, n); };
  auto f32 = b.getF32Type();
  Value act = memref::AllocOp::create(
      b, MemRefType::get({ShapedType::kDynamic, inter}, f32), ValueRange{rows});
  Value down = memref::AllocOp::create(
      b, MemRefType::get({ShapedType::kDynamic, width}, f32), ValueRange{rows});

  // One launch: grid (outputs / kWarps, experts), kWarps warps per block.
  auto launchRows = [&](StringRef kind, int64_t outputs,
                        function_ref<void(WarpRowsBuilder &)> body) {
    auto launch = gpu::LaunchOp::create(b, c(outputs / kWarps), c(experts),
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
    w.expert = launch.getBlockIds().y;
    w.sorted = sorted;
    w.offsets = offsets;
    body(w);
    gpu::TerminatorOp::create(b);
  };
  auto gridRows = [](int64_t n) { return (n + kWarps - 1) / kWarps * kWarps; };
  launchRows("gate-up", gridRows(inter), [&](WarpRowsBuilder &w) {
    w.width = width;
    auto inRange = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, w.row, c(inter)),
        /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&inRange.getThenRegion().front());
    w.build(
        {w1, w3}, x,
        [&](Value r) {
          // Padding rows (token -1) read row 0; their sums are never used.
          Value tok = arith::MaxSIOp::create(
              b, memref::LoadOp::create(b, sorted, ValueRange{r}),
              arith::ConstantIntOp::create(b, b.getI32Type(), 0));
          return arith::IndexCastOp::create(b, b.getIndexType(), tok);
        },
        [&](Value r, ArrayRef<Value> s) {
          Value one = arith::ConstantOp::create(b, b.getF32FloatAttr(1));
          Value sig = arith::DivFOp::create(
              b, one,
              arith::AddFOp::create(
                  b, one,
                  math::ExpOp::create(b, arith::NegFOp::create(b, s[0]))));
          Value v = arith::MulFOp::create(
              b, arith::MulFOp::create(b, s[0], sig), s[1]);
          memref::StoreOp::create(b, v, act, ValueRange{r, w.row});
        });
  });
  launchRows("down", gridRows(width), [&](WarpRowsBuilder &w) {
    w.width = inter;
    auto inRange = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, w.row, c(width)),
        /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&inRange.getThenRegion().front());
    w.build(
        {w2}, act, [&](Value r) { return r; },
        [&](Value r, ArrayRef<Value> s) {
          memref::StoreOp::create(b, s[0], down, ValueRange{r, w.row});
        });
  });
  Value downTensor = bufferization::ToTensorOp::create(
      b, RankedTensorType::get({ShapedType::kDynamic, width}, f32), down,
      /*restrict=*/true, /*writable=*/true);
  Value y = buildMoeCombine(b, b.getLoc(), op.getWeights(), op.getSlots(),
                            downTensor, op.getX(), op.getResult().getType());
  op.getResult().replaceAllUsesWith(y);
  op.erase();
  return success();
}

} // namespace
