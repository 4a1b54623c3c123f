//===- FuseElementwise.cpp - splat inputs and multi-use producers ---------===//
//
// Fuses what linalg-fuse-elementwise-ops leaves as separate kernels: splat
// inputs become scalars inside the consumer's body, and producers with
// several users fuse into their all-parallel users (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Transforms/Passes.h"

#include "ElementwisePayload.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRFUSEELEMENTWISE
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;

namespace {

/// The scalar every element of `value` equals, where `value` is a splat.
Value splatScalar(Value value) {
  if (auto splat = value.getDefiningOp<tensor::SplatOp>())
    return splat.getInput();
  if (auto fill = value.getDefiningOp<linalg::FillOp>())
    if (fill.getOutputs()[0].getDefiningOp<tensor::EmptyOp>())
      return fill.getInputs()[0];
  return {};
}

/// Drops splat inputs of a linalg.generic: their block argument becomes the
/// scalar, which is defined above the op.
struct InlineSplatInputs : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (hymir::getLibraryCall(op) || !op.hasPureTensorSemantics())
      return failure();
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    SmallVector<std::pair<unsigned, Value>> inlined;
    for (OpOperand *input : op.getDpsInputOperands()) {
      Value scalar = splatScalar(input->get());
      if (scalar && isa<ShapedType>(input->get().getType())) {
        inlined.emplace_back(input->getOperandNumber(), scalar);
        continue;
      }
      inputs.push_back(input->get());
      maps.push_back(op.getMatchingIndexingMap(input));
    }
    if (inlined.empty())
      return failure();
    for (OpOperand &init : op.getDpsInitsMutable())
      maps.push_back(op.getMatchingIndexingMap(&init));

    auto fused = linalg::GenericOp::create(
        rewriter, op.getLoc(), op.getResultTypes(), inputs, op.getOutputs(),
        maps, op.getIteratorTypesArray());
    fused->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    Block *body = op.getBody();
    // The block arguments of the inlined inputs become their scalars; the
    // others move to the new op in order.
    for (auto [number, scalar] : inlined)
      rewriter.replaceAllUsesWith(body->getArgument(number), scalar);
    for (auto [number, scalar] : llvm::reverse(inlined))
      body->eraseArgument(number);
    rewriter.inlineRegionBefore(op.getRegion(), fused.getRegion(),
                                fused.getRegion().begin());
    rewriter.replaceOp(op, fused->getResults());
    return success();
  }
};

/// The one vector.store into `buffer` inside `launch`, where `buffer` has no
/// other use there; null otherwise.
vector::StoreOp soleVectorStore(gpu::LaunchOp launch, Value buffer) {
  vector::StoreOp store;
  for (Operation *user : buffer.getUsers()) {
    if (!launch->isProperAncestor(user))
      continue;
    auto candidate = dyn_cast<vector::StoreOp>(user);
    if (!candidate || store || candidate.getBase() != buffer)
      return {};
    store = candidate;
  }
  return store;
}

/// An elementwise consumer of a kernel's result computed in the kernel's
/// epilogue: where a hand-written kernel (the MoE combine) writes its
/// [rows, cols] result with one vector.store per thread and the result's
/// only user is an all-parallel generic, the generic's payload runs on that
/// vector before it is stored (its other operands loaded at the same
/// place), and the kernel stores the generic's result instead.
struct FuseIntoKernelEpilogue : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (hymir::getLibraryCall(op) || !op.hasPureTensorSemantics() ||
        op.getNumLoops() != 2 || op.getNumReductionLoops() != 0 ||
        op.getNumDpsInits() != 1 || !hymir::hasElementwisePayload(op))
      return failure();
    OpOperand &init = op.getDpsInitsMutable()[0];
    if (!op.getMatchingIndexingMap(&init).isIdentity() ||
        !op.getMatchingBlockArgument(&init).use_empty())
      return failure();
    // The operand the kernel writes.
    OpOperand *fused = nullptr;
    bufferization::ToTensorOp result;
    for (OpOperand *input : op.getDpsInputOperands()) {
      auto toTensor = input->get().getDefiningOp<bufferization::ToTensorOp>();
      if (toTensor && toTensor->hasOneUse() &&
          op.getMatchingIndexingMap(input).isIdentity()) {
        fused = input;
        result = toTensor;
        break;
      }
    }
    if (!fused)
      return failure();
    auto alloc = result.getBuffer().getDefiningOp<memref::AllocOp>();
    if (!alloc || alloc.getType().getRank() != 2 ||
        !alloc.getType().getLayout().isIdentity())
      return failure();
    gpu::LaunchOp launch;
    for (Operation *user : alloc->getUsers()) {
      if (user == result.getOperation())
        continue;
      auto owner = user->getParentOfType<gpu::LaunchOp>();
      if (!owner || (launch && owner != launch))
        return failure();
      launch = owner;
    }
    if (!launch || launch->getBlock() != op->getBlock())
      return failure();
    vector::StoreOp store = soleVectorStore(launch, alloc);
    if (!store || store.getVectorType().getRank() != 1 || !store.getAlignment())
      return failure();
    int64_t width = store.getVectorType().getNumElements();
    int64_t storeBytes = alloc.getType().getElementTypeBitWidth() / 8;
    // Elements from the row's start that a stored vector begins at a
    // multiple of (from the store's alignment).
    int64_t step = *store.getAlignment() / storeBytes;
    auto outType = cast<RankedTensorType>(op.getResultTypes()[0]);
    if (outType.getShape() != alloc.getType().getShape() ||
        !isa<FloatType, IntegerType>(outType.getElementType()))
      return failure();
    int64_t cols = outType.getShape()[1];
    // The other operands: whole tensors, rows or columns of one, scalars,
    // all defined before the kernel.
    AffineMap identity = op.getMatchingIndexingMap(fused);
    AffineMap rowMap =
        AffineMap::get(2, 0, {rewriter.getAffineDimExpr(0)}, getContext());
    AffineMap colMap =
        AffineMap::get(2, 0, {rewriter.getAffineDimExpr(1)}, getContext());
    for (OpOperand *input : op.getDpsInputOperands()) {
      if (input == fused)
        continue;
      Operation *def = input->get().getDefiningOp();
      if (def && (def->getBlock() != launch->getBlock() ||
                  !def->isBeforeInBlock(launch)))
        return failure();
      auto type = dyn_cast<RankedTensorType>(input->get().getType());
      AffineMap map = op.getMatchingIndexingMap(input);
      if (!type || !isa<FloatType, IntegerType>(type.getElementType()) ||
          type.getElementTypeBitWidth() < 8 ||
          (map != identity && map != rowMap && map != colMap))
        return failure();
    }

    // Buffers of the other operands, read inside the kernel.
    rewriter.setInsertionPoint(launch);
    Location loc = op.getLoc();
    SmallVector<Value> buffers;
    for (OpOperand *input : op.getDpsInputOperands()) {
      if (input == fused) {
        buffers.push_back(Value());
        continue;
      }
      auto type = cast<RankedTensorType>(input->get().getType());
      buffers.push_back(bufferization::ToBufferOp::create(
          rewriter, loc,
          MemRefType::get(type.getShape(), type.getElementType()), input->get(),
          /*read_only=*/true));
    }
    auto outBufferType =
        MemRefType::get(outType.getShape(), outType.getElementType());
    Value out = memref::AllocOp::create(rewriter, loc, outBufferType,
                                        alloc.getDynamicSizes());

    // The epilogue, before the kernel's store.
    rewriter.setInsertionPoint(store);
    Value row = store.getIndices()[0], col = store.getIndices()[1];
    auto alignFor = [&](Type element, bool wholeRows) -> llvm::MaybeAlign {
      int64_t bytes = element.getIntOrFloatBitWidth() / 8;
      if (!wholeRows || (!ShapedType::isDynamic(cols) && cols % step == 0))
        return llvm::Align(std::min<int64_t>(step * bytes, width * bytes));
      return std::nullopt;
    };
    SmallVector<Value> args;
    for (auto [input, buffer] : llvm::zip(op.getDpsInputOperands(), buffers)) {
      if (input == fused) {
        args.push_back(store.getValueToStore());
        continue;
      }
      auto type = cast<MemRefType>(buffer.getType());
      auto vectorType = VectorType::get({width}, type.getElementType());
      AffineMap map = op.getMatchingIndexingMap(input);
      if (map == rowMap)
        args.push_back(
            memref::LoadOp::create(rewriter, loc, buffer, ValueRange{row}));
      else if (map == colMap)
        // A column operand starts at col, a multiple of step when every
        // row is.
        args.push_back(vector::LoadOp::create(
            rewriter, loc, vectorType, buffer, ValueRange{col},
            /*nontemporal=*/false,
            alignFor(type.getElementType(), /*wholeRows=*/true)));
      else
        args.push_back(vector::LoadOp::create(
            rewriter, loc, vectorType, buffer, ValueRange{row, col},
            /*nontemporal=*/false,
            alignFor(type.getElementType(), /*wholeRows=*/false)));
    }
    args.push_back(Value()); // the output's block argument, unused
    SmallVector<Value> values =
        hymir::emitElementwisePayload(rewriter, loc, op, args, width);
    vector::StoreOp::create(
        rewriter, loc, values[0], out, ValueRange{row, col},
        /*nontemporal=*/false,
        alignFor(outType.getElementType(), /*wholeRows=*/false));
    rewriter.eraseOp(store);

    rewriter.setInsertionPoint(op);
    Value tensor = bufferization::ToTensorOp::create(
        rewriter, loc, outType, out, /*restrict=*/true, /*writable=*/true);
    rewriter.replaceOp(op, tensor);
    rewriter.eraseOp(result);
    if (alloc->use_empty())
      rewriter.eraseOp(alloc);
    return success();
  }
};

/// Whether a multi-use producer may fuse into `fusedOperand`'s owner: the
/// owner is all parallel and every other user comes after it.
bool mayFuse(OpOperand *fusedOperand) {
  Operation *producer = fusedOperand->get().getDefiningOp();
  Operation *consumer = fusedOperand->getOwner();
  if (!producer || hymir::getLibraryCall(producer) ||
      hymir::getLibraryCall(consumer))
    return false;
  if (producer->hasOneUse())
    return true;
  auto generic = dyn_cast<linalg::GenericOp>(consumer);
  if (!generic || generic.getNumReductionLoops() != 0)
    return false;
  for (Operation *user : producer->getUsers()) {
    // Shape queries are resolved to the producer's operands.
    if (user == consumer || isa<tensor::DimOp>(user))
      continue;
    if (user->getBlock() != consumer->getBlock() ||
        !consumer->isBeforeInBlock(user))
      return false;
  }
  return true;
}

/// Whether `op` is an all-parallel generic on tensors that may be merged
/// with a sibling.
bool isMergeable(linalg::GenericOp op) {
  // A body with side effects (a run-time check's generic, which has no
  // results) stays where it is.
  bool pure =
      llvm::all_of(op.getBody()->without_terminator(),
                   [](Operation &inner) { return isMemoryEffectFree(&inner); });
  return pure && op.getNumResults() > 0 && op.hasPureTensorSemantics() &&
         !hymir::getLibraryCall(op) && op.getNumReductionLoops() == 0 &&
         op.getNumLoops() > 0 &&
         llvm::all_of(
             op.getIndexingMapsArray(),
             [](AffineMap map) { return map.isProjectedPermutation(); }) &&
         llvm::all_of(op.getDpsInitsMutable(), [&](OpOperand &init) {
           return op.getMatchingIndexingMap(&init).isIdentity() &&
                  init.get().getDefiningOp<tensor::EmptyOp>();
         });
}

/// The shape of the iteration domain of a mergeable op: its first init's
/// tensor.empty (static sizes and the SSA values of the dynamic ones).
std::pair<ArrayRef<int64_t>, SmallVector<Value>>
domainOf(linalg::GenericOp op) {
  auto empty = op.getDpsInits()[0].getDefiningOp<tensor::EmptyOp>();
  return {empty.getType().getShape(),
          SmallVector<Value>(empty.getDynamicSizes())};
}

/// Whether every operand of `later` is defined before `earlier` (so `later`
/// does not depend on it and may move up to it).
bool canMergeAtEarlier(linalg::GenericOp earlier, linalg::GenericOp later) {
  // (The inits are tensor.empty of the same sizes as `earlier`'s: made
  // anew at the merged op.)
  for (Value operand : later.getDpsInputs()) {
    Operation *def = operand.getDefiningOp();
    if (def && def->getBlock() == earlier->getBlock() &&
        !def->isBeforeInBlock(earlier))
      return false;
  }
  // Values the body of `later` captures must exist at `earlier` too.
  bool capturesLater = false;
  later.getRegion().walk([&](Operation *inner) {
    for (Value operand : inner->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (def && def->getBlock() == earlier->getBlock() &&
          !def->isBeforeInBlock(earlier))
        capturesLater = true;
    }
  });
  return !capturesLater;
}

/// Where the merged op of two siblings goes: at `earlier`'s place when every
/// operand of `later` is defined before `earlier`, else at `later`'s place
/// when every user of `earlier` comes after `later` (and `later` does not
/// read `earlier`).
enum class Placement { None, AtEarlier, AtLater };

/// Whether every use of `op`'s results is after `point` in `op`'s block.
bool usedOnlyAfter(Operation *op, Operation *point) {
  Block *block = op->getBlock();
  for (Operation *user : op->getUsers()) {
    Operation *ancestor = block->findAncestorOpInBlock(*user);
    if (!ancestor || !point->isBeforeInBlock(ancestor))
      return false;
  }
  return true;
}

/// Same domain and a shared input, and a place for the merged op.
Placement placementOf(linalg::GenericOp earlier, linalg::GenericOp later) {
  if (domainOf(earlier) != domainOf(later))
    return Placement::None;
  bool shares = llvm::any_of(later.getDpsInputs(), [&](Value input) {
    return llvm::is_contained(earlier.getDpsInputs(), input);
  });
  if (!shares)
    return Placement::None;
  if (canMergeAtEarlier(earlier, later))
    return Placement::AtEarlier;
  bool readsEarlier = llvm::any_of(later->getOperands(), [&](Value operand) {
    return operand.getDefiningOp() == earlier.getOperation();
  });
  if (!readsEarlier && usedOnlyAfter(earlier, later))
    return Placement::AtLater;
  return Placement::None;
}
/// One generic computing both ops' results, at `earlier`'s place; CSE then
/// shares what their bodies compute alike.
void merge(RewriterBase &rewriter, linalg::GenericOp earlier,
           linalg::GenericOp later, Placement placement) {
  SmallVector<Value> inputs(earlier.getDpsInputs());
  llvm::append_range(inputs, later.getDpsInputs());
  rewriter.setInsertionPoint(placement == Placement::AtEarlier ? earlier
                                                               : later);
  SmallVector<Value> inits(earlier.getDpsInits());
  auto [shape, sizes] = domainOf(earlier);
  for (Value init : later.getDpsInits())
    inits.push_back(tensor::EmptyOp::create(
        rewriter, later.getLoc(),
        cast<RankedTensorType>(init.getType()).getShape(),
        getElementTypeOrSelf(init.getType()), sizes));
  SmallVector<AffineMap> maps;
  for (OpOperand *input : earlier.getDpsInputOperands())
    maps.push_back(earlier.getMatchingIndexingMap(input));
  for (OpOperand *input : later.getDpsInputOperands())
    maps.push_back(later.getMatchingIndexingMap(input));
  for (OpOperand &init : earlier.getDpsInitsMutable())
    maps.push_back(earlier.getMatchingIndexingMap(&init));
  for (OpOperand &init : later.getDpsInitsMutable())
    maps.push_back(later.getMatchingIndexingMap(&init));
  SmallVector<Type> types(earlier.getResultTypes());
  llvm::append_range(types, later.getResultTypes());

  auto merged =
      linalg::GenericOp::create(rewriter, earlier.getLoc(), types, inputs,
                                inits, maps, earlier.getIteratorTypesArray());
  SmallVector<Type> argTypes;
  SmallVector<Location> argLocs;
  auto addArgs = [&](linalg::GenericOp op, bool ins) {
    for (BlockArgument arg : op.getBody()->getArguments()) {
      bool isInput = arg.getArgNumber() < op.getNumDpsInputs();
      if (isInput == ins) {
        argTypes.push_back(arg.getType());
        argLocs.push_back(arg.getLoc());
      }
    }
  };
  addArgs(earlier, true);
  addArgs(later, true);
  addArgs(earlier, false);
  addArgs(later, false);
  Block *body =
      rewriter.createBlock(&merged.getRegion(), {}, argTypes, argLocs);
  // Block arguments of each op in the merged order.
  unsigned earlierIns = earlier.getNumDpsInputs();
  unsigned laterIns = later.getNumDpsInputs();
  unsigned earlierOuts = earlier.getNumDpsInits();
  IRMapping mapping;
  for (unsigned i = 0; i < earlierIns; ++i)
    mapping.map(earlier.getBody()->getArgument(i), body->getArgument(i));
  for (unsigned i = 0; i < laterIns; ++i)
    mapping.map(later.getBody()->getArgument(i),
                body->getArgument(earlierIns + i));
  for (unsigned i = 0; i < earlierOuts; ++i)
    mapping.map(earlier.getBody()->getArgument(earlierIns + i),
                body->getArgument(earlierIns + laterIns + i));
  for (unsigned i = 0; i < later.getNumDpsInits(); ++i)
    mapping.map(later.getBody()->getArgument(laterIns + i),
                body->getArgument(earlierIns + laterIns + earlierOuts + i));
  SmallVector<Value> yields;
  for (linalg::GenericOp op : {earlier, later}) {
    for (Operation &inner : op.getBody()->without_terminator())
      rewriter.clone(inner, mapping);
    for (Value value : op.getBody()->getTerminator()->getOperands())
      yields.push_back(mapping.lookupOrDefault(value));
  }
  linalg::YieldOp::create(rewriter, earlier.getLoc(), yields);
  rewriter.replaceOp(earlier,
                     merged->getResults().take_front(earlier.getNumResults()));
  rewriter.replaceOp(later,
                     merged->getResults().drop_front(earlier.getNumResults()));
}

/// Merges all-parallel siblings (see isMergeable and canMerge) until none
/// are left; returns whether anything changed.
bool mergeSiblings(func::FuncOp func) {
  IRRewriter rewriter(func.getContext());
  bool changed = false;
  bool again = true;
  while (again) {
    again = false;
    SmallVector<linalg::GenericOp> generics;
    func.walk([&](linalg::GenericOp op) {
      if (isMergeable(op))
        generics.push_back(op);
    });
    for (auto [i, later] : llvm::enumerate(generics)) {
      for (linalg::GenericOp earlier : ArrayRef(generics).take_front(i)) {
        if (earlier->getBlock() != later->getBlock())
          continue;
        Placement placement = placementOf(earlier, later);
        if (placement == Placement::None)
          continue;
        merge(rewriter, earlier, later, placement);
        again = changed = true;
        break;
      }
      if (again)
        break;
    }
  }
  return changed;
}

struct HymirFuseElementwisePass
    : hymir::impl::HymirFuseElementwiseBase<HymirFuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<InlineSplatInputs, FuseIntoKernelEpilogue>(&getContext());
    // Shape queries of fused values ask the operands instead: they would
    // count as users and keep producers apart.
    memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
    linalg::populateElementwiseOpsFusionPatterns(patterns, mayFuse);
    FrozenRewritePatternSet frozen(std::move(patterns));
    // As upstream's fusion pass: what did not converge within the driver's
    // iterations stays as it is (correct, only less fused).
    (void)applyPatternsGreedily(getOperation(), frozen);
    // A producer fused into several users leaves siblings that compute it
    // alike: one kernel for all of them. (CSE first, so that the sizes of
    // their domains are the same values.)
    IRRewriter rewriter(&getContext());
    DominanceInfo dominance;
    eliminateCommonSubExpressions(rewriter, dominance, getOperation());
    if (mergeSiblings(getOperation()))
      (void)applyPatternsGreedily(getOperation(), frozen);
  }
};

} // namespace
