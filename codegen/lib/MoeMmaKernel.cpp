//===- MoeMmaKernel.cpp - MoE experts on mma.sync tensor cores ------------===//
//
// The tensor-core kernels of hymir-moe-experts-to-gpu for larger bf16 calls
// on a layout padded to 64-row tiles: blocks of 4 warps over one tile of
// one expert and 64 output columns, mma.sync m16n8k16 with fragments
// loaded from global memory, SwiGLU in the gate/up epilogue.
//
//===----------------------------------------------------------------------===//

#include "MmaFragments.h"
#include "MoeKernels.h"

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// The tensor-core form for larger calls (bf16 only): on a layout padded
/// to kTile-row tiles, each block takes one kTile-row tile of one expert's
/// group and kCols output columns; warp w computes rows 16 w .. 16 w + 15
/// of it (kNTiles m16n8 tiles per weight matrix) with mma.sync m16n8k16
/// over K, fragments loaded straight from global memory (rows of A gathered
/// through the token of each row; the four warps read the same weight
/// columns, so those come from L1), f32 accumulators. Warps whose rows are
/// all padding skip their work.
struct TensorCoreRowsBuilder : GpuBuilder {
  static constexpr int64_t kWarps = 4, kNTiles = 8, kCols = 8 * kNTiles,
                           kTile = 16 * kWarps;
  static_assert(kTile == kMoeMmaTileRows && kCols == kMoeMmaTileCols,
                "the tile hymir-fuse-moe-routing pads the layout to");
  using GpuBuilder::GpuBuilder;
  Value lane, warp, groupRow, quad;

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

} // namespace

void mlir::hymir::emitMoeMmaKernels(ImplicitLocOpBuilder &b,
                                    const MoeExpertsOperands &o) {
  using Tc = TensorCoreRowsBuilder;
  GpuBuilder g(b);
  auto c = [&](int64_t n) { return arith::ConstantIndexOp::create(b, n); };
  int64_t experts = o.experts, inter = o.inter, width = o.width;
  Value x = o.x, sorted = o.sorted, offsets = o.offsets, w1 = o.w1, w3 = o.w3,
        w2 = o.w2, act = o.act, down = o.down, rows = o.rows;
  // Larger calls: tensor cores over kTile-row tiles of the layout.
  auto launchTiles = [&](MoePart part, int64_t outputs,
                         function_ref<void(Tc &, Value, Value, Value)> body) {
    Value tiles = arith::CeilDivUIOp::create(b, rows, c(Tc::kTile));
    gpu::LaunchOp launchOp = g.launch(
        c(outputs / Tc::kCols), tiles, c(1), c(Tc::kWarps * 32), Value(),
        [&](gpu::LaunchOp launch) {
          Value tid = launch.getThreadIds().x;
          Tc t(b);
          t.lane = arith::RemUIOp::create(b, tid, c(32));
          t.warp = arith::DivUIOp::create(b, tid, c(32));
          t.groupRow = arith::DivUIOp::create(b, t.lane, c(4));
          t.quad = arith::RemUIOp::create(b, t.lane, c(4));
          Value r0 =
              arith::MulIOp::create(b, launch.getBlockIds().y, c(Tc::kTile));
          Value c0 =
              arith::MulIOp::create(b, launch.getBlockIds().x, c(Tc::kCols));
          Value rw = arith::AddIOp::create(
              b, r0, arith::MulIOp::create(b, t.warp, c(16)));
          // Rows past those in use, and padding rows (which close a group),
          // have nothing to compute.
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
        });
    setMoePart(launchOp, part);
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
    launchTiles(MoePart::GateUpTensorCore, inter,
                [&](Tc &t, Value e, Value r0, Value c0) {
                  // This lane's two rows of x, through their tokens (padding
                  // rows read row 0; their results are never used).
                  auto tokenOf = [&](Value r) {
                    Value tok = arith::MaxSIOp::create(
                        b, memref::LoadOp::create(b, sorted, ValueRange{r}),
                        arith::ConstantIntOp::create(b, b.getI32Type(), 0));
                    return arith::IndexCastOp::create(b, b.getIndexType(), tok);
                  };
                  Value lo = tokenOf(arith::AddIOp::create(b, r0, t.groupRow));
                  Value hi = tokenOf(
                      t.add(arith::AddIOp::create(b, r0, t.groupRow), 8));
                  SmallVector<Value> acc =
                      t.product({w1, w3}, e, c0, x, lo, hi, width);
                  eachElement(t, r0, c0, [&](int64_t i, Value row, Value col) {
                    memref::StoreOp::create(
                        b, o.swiglu(b, acc[i], acc[Tc::kNTiles * 4 + i]), act,
                        ValueRange{row, col});
                  });
                });
    launchTiles(MoePart::DownTensorCore, width,
                [&](Tc &t, Value e, Value r0, Value c0) {
                  Value lo = arith::AddIOp::create(b, r0, t.groupRow);
                  SmallVector<Value> acc =
                      t.product({w2}, e, c0, act, lo, t.add(lo, 8), inter);
                  eachElement(t, r0, c0, [&](int64_t i, Value row, Value col) {
                    memref::StoreOp::create(b, acc[i], down,
                                            ValueRange{row, col});
                  });
                });
  };

  emitTiles();
}
