//===- MapParallelLoopsToGrid.cpp - scf.parallel to a 1-d grid ------------===//
//
// Each outermost scf.parallel becomes a gpu.launch over a 1-d grid in which
// every thread owns one point of the linearised iteration space (see
// Passes.td). Trip counts are computed on the host side of the launch, so the
// kernel receives them as arguments after outlining.
//
// With warp-reductions, a point whose body is a reduction along the
// contiguous dim (an scf.for that loads accumulators, combines them with one
// associative op and stores them back, as linalg's reductions lower) is
// owned by a warp instead: its 32 lanes stride over the reduced dim with
// the partial results in registers, combine them with shuffles, and lane 0
// combines the total with the accumulator's initial value and stores it.
// One thread walking 8192 values with a load and a store of the accumulator
// per value (an RMSNorm over a decode step's row) took 360 us on an H200.
//
//===----------------------------------------------------------------------===//

#include "hymir/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

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

/// The trip count of each of `loop`'s dims and their product (the points).
Value pointsOf(OpBuilder &b, Location loc, scf::ParallelOp loop,
               SmallVectorImpl<Value> &trips) {
  Value points = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    trips.push_back(tripCount(b, loc, lb, ub, step));
    points = b.createOrFold<arith::MulIOp>(loc, points, trips.back());
  }
  return points;
}

/// Maps `loop`'s ivs to point `gid` of the linearised space, innermost dim
/// fastest.
void mapPoint(OpBuilder &b, Location loc, scf::ParallelOp loop, Value gid,
              ArrayRef<Value> trips, IRMapping &mapping) {
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
}

/// One accumulator of a warp reduction: loaded, combined and stored back
/// at indices that do not depend on the reduced dim.
struct Accumulator {
  // (Op handles are mutable: their accessors are not const.)
  mutable memref::LoadOp load;
  Operation *combine;
  mutable memref::StoreOp store;
};

/// The identity of `combine` for `type`, or null for ops not handled.
TypedAttr identityOf(Operation *combine, Type type) {
  auto fType = dyn_cast<FloatType>(type);
  if (fType && fType.isF32()) {
    const llvm::fltSemantics &sem = fType.getFloatSemantics();
    if (isa<arith::AddFOp>(combine))
      return FloatAttr::get(fType, llvm::APFloat::getZero(sem, true));
    if (isa<arith::MulFOp>(combine))
      return FloatAttr::get(fType, 1.0);
    if (isa<arith::MaximumFOp, arith::MaxNumFOp>(combine))
      return FloatAttr::get(fType, llvm::APFloat::getInf(sem, true));
    if (isa<arith::MinimumFOp, arith::MinNumFOp>(combine))
      return FloatAttr::get(fType, llvm::APFloat::getInf(sem, false));
  }
  if (type.isInteger(32) && isa<arith::AddIOp>(combine))
    return IntegerAttr::get(type, 0);
  return {};
}

/// Whether `v` is computed from `iv` inside `loop`'s body.
bool dependsOn(Value v, Value iv, scf::ForOp loop) {
  if (v == iv)
    return true;
  Operation *def = v.getDefiningOp();
  if (!def || !loop->isProperAncestor(def))
    return false;
  return llvm::any_of(def->getOperands(),
                      [&](Value o) { return dependsOn(o, iv, loop); });
}

/// Two index lists that name the same element: the same values, or
/// affine.apply ops of one map on the same operands.
bool sameIndices(ValueRange a, ValueRange b) {
  if (a.size() != b.size())
    return false;
  for (auto [x, y] : llvm::zip(a, b)) {
    if (x == y)
      continue;
    auto ax = x.getDefiningOp<affine::AffineApplyOp>();
    auto ay = y.getDefiningOp<affine::AffineApplyOp>();
    if (!ax || !ay || ax.getAffineMap() != ay.getAffineMap() ||
        ax.getOperands() != ay.getOperands())
      return false;
  }
  return true;
}

/// The reduction loop of `loop`'s body and its accumulators, when the body
/// is one scf.for reduction along the contiguous dim of everything it reads
/// (see the file comment); nothing otherwise.
std::optional<std::pair<scf::ForOp, SmallVector<Accumulator>>>
matchWarpReduction(scf::ParallelOp loop) {
  scf::ForOp reduction;
  for (Operation &op : loop.getBody()->without_terminator()) {
    if (auto f = dyn_cast<scf::ForOp>(op)) {
      if (reduction)
        return std::nullopt;
      reduction = f;
    } else if (!isPure(&op)) {
      return std::nullopt;
    }
  }
  if (!reduction || reduction.getNumResults() != 0)
    return std::nullopt;
  // Short static reductions stay one thread per point.
  std::optional<int64_t> lo = getConstantIntValue(reduction.getLowerBound()),
                         hi = getConstantIntValue(reduction.getUpperBound()),
                         st = getConstantIntValue(reduction.getStep());
  if (lo && hi && st && *st > 0 && (*hi - *lo + *st - 1) / *st < 32)
    return std::nullopt;
  Value iv = reduction.getInductionVar();
  SmallVector<Accumulator> accs;
  SmallVector<memref::LoadOp> reads;
  for (Operation &op : reduction.getBody()->without_terminator()) {
    if (auto store = dyn_cast<memref::StoreOp>(op)) {
      Operation *combine = store.getValue().getDefiningOp();
      if (!combine || combine->getNumOperands() != 2 || !combine->hasOneUse() ||
          !reduction->isProperAncestor(combine) ||
          !identityOf(combine, store.getValue().getType()))
        return std::nullopt;
      memref::LoadOp load;
      for (Value operand : combine->getOperands())
        if (auto l = operand.getDefiningOp<memref::LoadOp>())
          if (l.getMemRef() == store.getMemRef() &&
              sameIndices(l.getIndices(), store.getIndices()))
            load = l;
      if (!load || !load->hasOneUse() ||
          llvm::any_of(store.getIndices(),
                       [&](Value i) { return dependsOn(i, iv, reduction); }))
        return std::nullopt;
      accs.push_back({load, combine, store});
      continue;
    }
    if (auto read = dyn_cast<memref::LoadOp>(op)) {
      reads.push_back(read);
      continue;
    }
    if (!isPure(&op))
      return std::nullopt;
  }
  if (accs.empty())
    return std::nullopt;
  // Every other read walks the reduced dim in its last index (lanes read
  // neighbours) and reads no accumulator.
  bool walks = false;
  for (memref::LoadOp read : reads) {
    if (llvm::any_of(accs,
                     [&](const Accumulator &a) { return a.load == read; }))
      continue;
    if (llvm::any_of(accs, [&](const Accumulator &a) {
          return a.store.getMemRef() == read.getMemRef();
        }))
      return std::nullopt;
    ValueRange indices = read.getIndices();
    for (auto [i, index] : llvm::enumerate(indices)) {
      if (!dependsOn(index, iv, reduction))
        continue;
      if (i + 1 != indices.size())
        return std::nullopt;
      walks = true;
    }
  }
  if (!walks)
    return std::nullopt;
  return std::make_pair(reduction, accs);
}

/// Clones into `b` the computation of `v` (which must not depend on the
/// reduction's iv), reusing what `mapping` has.
Value cloneChain(OpBuilder &b, Value v, IRMapping &mapping) {
  if (Value mapped = mapping.lookupOrNull(v))
    return mapped;
  Operation *def = v.getDefiningOp();
  if (!def)
    return v;
  for (Value operand : def->getOperands())
    cloneChain(b, operand, mapping);
  Operation *copy = b.clone(*def, mapping);
  return copy->getResult(cast<OpResult>(v).getResultNumber());
}

/// The scf.parallel as warps (see the file comment): `blockSize / 32` points
/// a block, one a warp.
void mapToWarps(scf::ParallelOp loop, scf::ForOp reduction,
                ArrayRef<Accumulator> accs, int64_t blockSize) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  SmallVector<Value> trips;
  Value points = pointsOf(b, loc, loop, trips);
  int64_t warps = blockSize / 32;
  Value block = arith::ConstantIndexOp::create(b, loc, warps * 32);
  Value perBlock = arith::ConstantIndexOp::create(b, loc, warps);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value grid = b.createOrFold<arith::CeilDivUIOp>(loc, points, perBlock);
  auto launch = gpu::LaunchOp::create(b, loc, grid, one, one, block, one, one);

  b.setInsertionPointToStart(&launch.getBody().front());
  Value c32 = arith::ConstantIndexOp::create(b, loc, 32);
  Value tid = launch.getThreadIds().x;
  Value lane = arith::RemUIOp::create(b, loc, tid, c32);
  Value gid = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, perBlock),
      arith::DivUIOp::create(b, loc, tid, c32));
  // gid is the same in every lane of a warp, so whole warps take the branch
  // and the shuffles below see all 32 lanes.
  Value inRange =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, gid, points);
  auto guard = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
  gpu::TerminatorOp::create(b, loc);

  b.setInsertionPointToStart(&guard.getThenRegion().front());
  IRMapping mapping;
  mapPoint(b, loc, loop, gid, trips, mapping);
  for (Operation &op : loop.getBody()->without_terminator())
    if (&op != reduction.getOperation())
      b.clone(op, mapping);

  // The lanes stride over the reduced dim, partials in iter_args.
  Value lb = mapping.lookupOrDefault(reduction.getLowerBound());
  Value ub = mapping.lookupOrDefault(reduction.getUpperBound());
  Value step = mapping.lookupOrDefault(reduction.getStep());
  Value start = arith::AddIOp::create(
      b, loc, lb, arith::MulIOp::create(b, loc, lane, step));
  Value stride = arith::MulIOp::create(b, loc, step, c32);
  SmallVector<Value> inits;
  for (const Accumulator &a : accs)
    inits.push_back(arith::ConstantOp::create(
        b, loc, identityOf(a.combine, a.store.getValue().getType())));
  auto lanes = scf::ForOp::create(b, loc, start, ub, stride, inits);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(lanes.getBody());
    IRMapping inner = mapping;
    inner.map(reduction.getInductionVar(), lanes.getInductionVar());
    for (auto [a, partial] : llvm::zip(accs, lanes.getRegionIterArgs()))
      inner.map(a.load.getResult(), partial);
    for (Operation &op : reduction.getBody()->without_terminator()) {
      bool skip = llvm::any_of(accs, [&](const Accumulator &a) {
        return &op == a.load.getOperation() || &op == a.store.getOperation();
      });
      if (!skip)
        b.clone(op, inner);
    }
    SmallVector<Value> next;
    for (const Accumulator &a : accs)
      next.push_back(inner.lookup(a.combine->getResult(0)));
    scf::YieldOp::create(b, loc, next);
  }

  // Butterfly over the warp, then lane 0 folds in the initial value.
  Value width = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 32);
  SmallVector<Value> totals;
  for (auto [a, partial] : llvm::zip(accs, lanes.getResults())) {
    Value v = partial;
    for (int64_t offset = 16; offset >= 1; offset /= 2) {
      Value off = arith::ConstantIntOp::create(b, loc, b.getI32Type(), offset);
      Value other =
          gpu::ShuffleOp::create(b, loc, v, off, width, gpu::ShuffleMode::XOR)
              .getShuffleResult();
      IRMapping combineMap;
      combineMap.map(a.combine->getOperand(0), v);
      combineMap.map(a.combine->getOperand(1), other);
      v = b.clone(*a.combine, combineMap)->getResult(0);
    }
    totals.push_back(v);
  }
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, zero);
  auto leader = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&leader.getThenRegion().front());
  for (auto [a, total] : llvm::zip(accs, totals)) {
    SmallVector<Value> indices;
    for (Value index : a.store.getIndices())
      indices.push_back(cloneChain(b, index, mapping));
    Value init = memref::LoadOp::create(b, loc, a.store.getMemRef(), indices);
    IRMapping combineMap;
    combineMap.map(a.combine->getOperand(0), init);
    combineMap.map(a.combine->getOperand(1), total);
    Value result = b.clone(*a.combine, combineMap)->getResult(0);
    memref::StoreOp::create(b, loc, result, a.store.getMemRef(), indices);
  }
  loop.erase();
}

LogicalResult mapToGrid(scf::ParallelOp loop, int64_t blockSize) {
  if (loop.getNumResults() != 0)
    return loop.emitOpError(
        "with reductions cannot be mapped to a grid by this pass");
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  SmallVector<Value> trips;
  Value points = pointsOf(b, loc, loop, trips);
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

  b.setInsertionPointToStart(&guard.getThenRegion().front());
  IRMapping mapping;
  mapPoint(b, loc, loop, gid, trips, mapping);
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
    for (scf::ParallelOp loop : outermost) {
      if (warpReductions && blockSize >= 32) {
        if (auto match = matchWarpReduction(loop)) {
          mapToWarps(loop, match->first, match->second, blockSize);
          continue;
        }
      }
      if (failed(mapToGrid(loop, blockSize)))
        return signalPassFailure();
    }
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
