//===- MapParallelLoopsToGrid.cpp - scf.parallel to a 1-d grid ------------===//
//
// Each outermost scf.parallel becomes a gpu.launch over a 1-d grid in which
// every thread owns one point of the linearised iteration space (see
// Passes.td). Trip counts are computed on the host side of the launch, so the
// kernel receives them as arguments after outlining.
//
//===----------------------------------------------------------------------===//

#include "hymir/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRMAPPARALLELLOOPSTOGRID
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;

namespace {

/// ceil((ub - lb) / step), folded where the operands are constants.
Value tripCount(OpBuilder &b, Location loc, Value lb, Value ub, Value step) {
  Value span = b.createOrFold<arith::SubIOp>(loc, ub, lb);
  return b.createOrFold<arith::CeilDivUIOp>(loc, span, step);
}

LogicalResult mapToGrid(scf::ParallelOp loop, int64_t blockSize) {
  if (loop.getNumResults() != 0)
    return loop.emitOpError(
        "with reductions cannot be mapped to a grid by this pass");
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  SmallVector<Value> trips;
  Value points = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    trips.push_back(tripCount(b, loc, lb, ub, step));
    points = b.createOrFold<arith::MulIOp>(loc, points, trips.back());
  }
  Value block = arith::ConstantIndexOp::create(b, loc, blockSize);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value grid = b.createOrFold<arith::CeilDivUIOp>(loc, points, block);
  auto launch = gpu::LaunchOp::create(b, loc, grid, one, one, block, one, one);

  b.setInsertionPointToStart(&launch.getBody().front());
  Value gid = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, block),
      launch.getThreadIds().x);
  Value inRange =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, gid, points);
  auto guard = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
  gpu::TerminatorOp::create(b, loc);

  // Delinearise gid, innermost dimension fastest, into the loop's ivs.
  b.setInsertionPointToStart(&guard.getThenRegion().front());
  IRMapping mapping;
  Value rest = gid;
  for (int64_t i = loop.getNumLoops() - 1; i >= 0; --i) {
    Value idx = i == 0 ? rest : arith::RemUIOp::create(b, loc, rest, trips[i]);
    if (i > 0)
      rest = arith::DivUIOp::create(b, loc, rest, trips[i]);
    Value iv = arith::AddIOp::create(
        b, loc, loop.getLowerBound()[i],
        arith::MulIOp::create(b, loc, idx, loop.getStep()[i]));
    mapping.map(loop.getInductionVars()[i], iv);
  }
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, mapping);
  loop.erase();
  return success();
}

struct HymirMapParallelLoopsToGridPass
    : hymir::impl::HymirMapParallelLoopsToGridBase<
          HymirMapParallelLoopsToGridPass> {
  using Base::Base;
  void runOnOperation() override {
    if (blockSize <= 0 || blockSize > 1024) {
      getOperation().emitError()
          << "block-size must be in [1, 1024], got " << blockSize.getValue();
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>() &&
          !loop->getParentOfType<gpu::LaunchOp>())
        outermost.push_back(loop);
    });
    for (scf::ParallelOp loop : outermost)
      if (failed(mapToGrid(loop, blockSize)))
        return signalPassFailure();
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// scf.forall to a grid of single-thread blocks
//===----------------------------------------------------------------------===//

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRMAPFORALLTOGRID
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

namespace {

LogicalResult mapForallToGrid(scf::ForallOp forall) {
  if (!forall.getOutputs().empty())
    return forall.emitOpError(
        "with shared outputs must be bufferized before mapping to a grid");
  OpBuilder b(forall);
  Location loc = forall.getLoc();
  SmallVector<Value> lbs =
      getValueOrCreateConstantIndexOp(b, loc, forall.getMixedLowerBound());
  SmallVector<Value> ubs =
      getValueOrCreateConstantIndexOp(b, loc, forall.getMixedUpperBound());
  SmallVector<Value> steps =
      getValueOrCreateConstantIndexOp(b, loc, forall.getMixedStep());
  SmallVector<Value> trips;
  Value points = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto [lb, ub, step] : llvm::zip(lbs, ubs, steps)) {
    trips.push_back(tripCount(b, loc, lb, ub, step));
    points = b.createOrFold<arith::MulIOp>(loc, points, trips.back());
  }
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto launch = gpu::LaunchOp::create(b, loc, points, one, one, one, one, one);
  b.setInsertionPointToStart(&launch.getBody().front());
  IRMapping mapping;
  Value rest = launch.getBlockIds().x;
  for (int64_t i = static_cast<int64_t>(trips.size()) - 1; i >= 0; --i) {
    Value idx = i == 0 ? rest : arith::RemUIOp::create(b, loc, rest, trips[i]);
    if (i > 0)
      rest = arith::DivUIOp::create(b, loc, rest, trips[i]);
    mapping.map(
        forall.getInductionVars()[i],
        arith::AddIOp::create(b, loc, lbs[i],
                              arith::MulIOp::create(b, loc, idx, steps[i])));
  }
  for (Operation &op : forall.getBody()->without_terminator())
    b.clone(op, mapping);
  gpu::TerminatorOp::create(b, loc);
  forall.erase();
  // Scratch buffers of the body live on the thread's stack.
  SmallVector<memref::AllocOp> allocs;
  launch.walk([&](memref::AllocOp alloc) { allocs.push_back(alloc); });
  for (memref::AllocOp alloc : allocs) {
    OpBuilder ab(alloc);
    auto alloca = memref::AllocaOp::create(ab, alloc.getLoc(), alloc.getType(),
                                           alloc.getDynamicSizes(),
                                           alloc.getAlignmentAttr());
    alloc.replaceAllUsesWith(alloca.getResult());
    alloc.erase();
  }
  launch.walk([](memref::DeallocOp d) { d.erase(); });
  // Copies inside the kernel become linalg copies, lowered to loops later.
  SmallVector<memref::CopyOp> copies;
  launch.walk([&](memref::CopyOp copy) { copies.push_back(copy); });
  for (memref::CopyOp copy : copies) {
    OpBuilder cb(copy);
    linalg::CopyOp::create(cb, copy.getLoc(), copy.getSource(),
                           copy.getTarget());
    copy.erase();
  }
  return success();
}

struct HymirMapForallToGridPass
    : hymir::impl::HymirMapForallToGridBase<HymirMapForallToGridPass> {
  void runOnOperation() override {
    SmallVector<scf::ForallOp> outermost;
    getOperation().walk([&](scf::ForallOp forall) {
      if (!forall->getParentOfType<scf::ForallOp>() &&
          !forall->getParentOfType<gpu::LaunchOp>())
        outermost.push_back(forall);
    });
    for (scf::ForallOp forall : outermost)
      if (failed(mapForallToGrid(forall)))
        return signalPassFailure();
  }
};

} // namespace
