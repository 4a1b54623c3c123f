//===- VectorizeElementwise.cpp - elementwise ops as vector loops ---------===//
//
// Lowers all-parallel linalg ops on buffers with an elementwise payload to an
// scf.parallel whose innermost dimension steps by a vector width: each
// iteration loads V contiguous elements per operand, computes the payload on
// vectors and stores V results, with a scalar tail where a row has fewer
// than V elements left (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Transforms/Passes.h"

#include "ElementwisePayload.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRVECTORIZEELEMENTWISE
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;

namespace {

/// A scalar type a vector lane can hold and memory can store.
bool isLaneType(Type type) {
  if (!isa<FloatType, IntegerType>(type))
    return false;
  return type.getIntOrFloatBitWidth() >= 8;
}

/// How an operand is read (or an output written) by one iteration.
enum class Access {
  Value,  // not a buffer: the value itself (a linalg.fill's scalar)
  Vector, // V contiguous elements along the innermost loop
  Scalar, // one element, the same for the whole vector (broadcast)
};

/// What the rewrite of one op needs: its vector width and each operand's
/// access (operands in op order, inputs then outputs).
struct VectorForm {
  int64_t width = 0;
  SmallVector<Access> access;
  SmallVector<bool> aligned;
};

/// Whether `vector<width x T>` at a multiple of `width` along the innermost
/// dim of `type` starts at a multiple of its size in bytes, given buffers
/// aligned to at least that (allocations and the arena are).
bool isAlignedAccess(MemRefType type, int64_t width) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return false;
  if (ShapedType::isDynamic(offset) || offset % width != 0)
    return false;
  for (int64_t stride : ArrayRef<int64_t>(strides).drop_back())
    if (ShapedType::isDynamic(stride) || stride % width != 0)
      return false;
  return true;
}

/// The vector form of `op`, or failure where it stays with the scalar
/// lowering.
FailureOr<VectorForm> analyse(linalg::GenericOp op, int64_t vectorBytes) {
  if (hymir::getLibraryCall(op) || !op.hasPureBufferSemantics())
    return failure();
  int64_t loops = op.getNumLoops();
  if (loops == 0 || op.getNumReductionLoops() != 0)
    return failure();
  if (!hymir::hasElementwisePayload(op))
    return failure();

  VectorForm form;
  unsigned innermost = loops - 1;
  int64_t minBytes = 0;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type) {
      if (!isa<FloatType, IntegerType>(operand.get().getType()))
        return failure();
      form.access.push_back(Access::Value);
      continue;
    }
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (!isLaneType(type.getElementType()) || !map.isProjectedPermutation())
      return failure();
    std::optional<unsigned> position =
        map.getResultPosition(getAffineDimExpr(innermost, op.getContext()));
    bool isOutput = op.isDpsInit(&operand);
    if (!position) {
      if (isOutput)
        return failure();
      form.access.push_back(Access::Scalar);
      continue;
    }
    if (*position != map.getNumResults() - 1)
      return failure();
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)) ||
        strides.back() != 1)
      return failure();
    int64_t bytes = type.getElementTypeBitWidth() / 8;
    minBytes = minBytes == 0 ? bytes : std::min(minBytes, bytes);
    form.access.push_back(Access::Vector);
  }
  if (minBytes == 0)
    return failure();
  form.width = std::clamp<int64_t>(vectorBytes / minBytes, 2, 8);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  // A dynamic innermost extent (a [T] vector) would make the grid a
  // ceildiv of a ceildiv of the token count, which the plan cannot size.
  if (ShapedType::isDynamic(ranges.back()) || ranges.back() < form.width)
    return failure();
  for (auto [operand, access] : llvm::zip(op->getOpOperands(), form.access))
    form.aligned.push_back(
        access == Access::Vector &&
        isAlignedAccess(cast<MemRefType>(operand.get().getType()), form.width));
  return form;
}

/// Emits one iteration of `op`'s payload at `ivs`: on vectors of `width`
/// lanes when `width` > 0, else on scalars.
void emitPayload(OpBuilder &b, Location loc, linalg::GenericOp op,
                 const VectorForm &form, ValueRange ivs, int64_t width) {
  auto vectorOf = [&](Type type) -> Type {
    return width > 0 ? VectorType::get({width}, type) : type;
  };
  auto indicesOf = [&](OpOperand &operand) {
    SmallVector<Value> indices;
    for (AffineExpr expr : op.getMatchingIndexingMap(&operand).getResults())
      indices.push_back(ivs[cast<AffineDimExpr>(expr).getPosition()]);
    return indices;
  };
  auto alignmentOf = [&](OpOperand &operand) -> llvm::MaybeAlign {
    if (!form.aligned[operand.getOperandNumber()])
      return std::nullopt;
    auto type = cast<MemRefType>(operand.get().getType());
    return llvm::Align(width * type.getElementTypeBitWidth() / 8);
  };

  SmallVector<Value> args;
  for (OpOperand &operand : op->getOpOperands()) {
    BlockArgument arg = op.getMatchingBlockArgument(&operand);
    Access access = form.access[operand.getOperandNumber()];
    Value value;
    if (arg.use_empty()) {
      value = Value();
    } else if (access == Access::Value) {
      value = operand.get();
    } else if (access == Access::Vector && width > 0) {
      value = vector::LoadOp::create(
          b, loc, cast<VectorType>(vectorOf(arg.getType())), operand.get(),
          indicesOf(operand),
          /*nontemporal=*/false, alignmentOf(operand));
    } else {
      value = memref::LoadOp::create(b, loc, operand.get(), indicesOf(operand));
    }
    args.push_back(value);
  }
  SmallVector<Value> results =
      hymir::emitElementwisePayload(b, loc, op, args, width);
  for (auto [result, init] : llvm::zip(results, op.getDpsInitsMutable())) {
    if (width > 0)
      vector::StoreOp::create(b, loc, result, init.get(), indicesOf(init),
                              /*nontemporal=*/false, alignmentOf(init));
    else
      memref::StoreOp::create(b, loc, result, init.get(), indicesOf(init));
  }
}

/// Replaces `op` by its vector loop nest.
void rewrite(RewriterBase &rewriter, linalg::GenericOp op,
             const VectorForm &form) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<Range> ranges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc);
  SmallVector<Value> lbs, ubs, steps;
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  for (Range range : ranges) {
    lbs.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, range.offset));
    ubs.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, range.size));
    steps.push_back(one);
  }
  Value width = arith::ConstantIndexOp::create(rewriter, loc, form.width);
  steps.back() = width;
  int64_t extent = op.getStaticLoopRanges().back();
  bool needsTail = extent % form.width != 0;

  scf::ParallelOp::create(
      rewriter, loc, lbs, ubs, steps,
      [&](OpBuilder &b, Location nested, ValueRange ivs) {
        if (!needsTail) {
          emitPayload(b, nested, op, form, ivs, form.width);
          return;
        }
        Value last = ubs.back();
        Value end = arith::AddIOp::create(b, nested, ivs.back(), width);
        Value full = arith::CmpIOp::create(b, nested, arith::CmpIPredicate::ule,
                                           end, last);
        scf::IfOp::create(
            b, nested, full,
            [&](OpBuilder &tb, Location tl) {
              emitPayload(tb, tl, op, form, ivs, form.width);
              scf::YieldOp::create(tb, tl);
            },
            [&](OpBuilder &eb, Location el) {
              // The tail: fewer than V elements left in this row.
              scf::ForOp::create(
                  eb, el, ivs.back(), last, one, ValueRange(),
                  [&](OpBuilder &fb, Location fl, Value k, ValueRange) {
                    SmallVector<Value> point(ivs);
                    point.back() = k;
                    emitPayload(fb, fl, op, form, point, /*width=*/0);
                    scf::YieldOp::create(fb, fl);
                  });
              scf::YieldOp::create(eb, el);
            });
      });
  rewriter.eraseOp(op);
}

struct HymirVectorizeElementwisePass
    : hymir::impl::HymirVectorizeElementwiseBase<
          HymirVectorizeElementwisePass> {
  using Base::Base;
  void runOnOperation() override {
    if (vectorBytes != 4 && vectorBytes != 8 && vectorBytes != 16 &&
        vectorBytes != 32) {
      getOperation().emitError() << "vector-bytes must be 4, 8, 16 or 32, got "
                                 << vectorBytes.getValue();
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    // Named elementwise ops (fills, maps, copies) in their generic form.
    SmallVector<linalg::LinalgOp> named;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!isa<linalg::GenericOp>(op) && op.hasPureBufferSemantics() &&
          !hymir::getLibraryCall(op) &&
          op.getNumLoops() == op.getNumParallelLoops() &&
          isa<linalg::FillOp, linalg::MapOp, linalg::CopyOp,
              linalg::ElementwiseOp>(op) &&
          !op->getParentOfType<gpu::LaunchOp>())
        named.push_back(op);
    });
    for (linalg::LinalgOp op : named) {
      rewriter.setInsertionPoint(op);
      (void)linalg::generalizeNamedOp(rewriter, op);
    }
    SmallVector<std::pair<linalg::GenericOp, VectorForm>> ops;
    getOperation().walk([&](linalg::GenericOp op) {
      // Kernels written by hand keep their own loops.
      if (op->getParentOfType<gpu::LaunchOp>())
        return;
      FailureOr<VectorForm> form = analyse(op, vectorBytes);
      if (succeeded(form))
        ops.emplace_back(op, *form);
    });
    for (auto &[op, form] : ops)
      rewrite(rewriter, op, form);
  }
};

} // namespace

bool mlir::hymir::hasElementwisePayload(linalg::GenericOp op) {
  for (Operation &inner : op.getBody()->without_terminator()) {
    if (inner.getNumRegions() != 0)
      return false;
    if (!isa<arith::ConstantOp>(inner) &&
        !(inner.hasTrait<OpTrait::Elementwise>() &&
          inner.hasTrait<OpTrait::Vectorizable>()))
      return false;
    for (Type type :
         llvm::concat<Type>(inner.getOperandTypes(), inner.getResultTypes()))
      if (!isa<FloatType, IntegerType>(type))
        return false;
  }
  // Values from above the op enter as broadcasts: scalars only.
  bool capturesOther = false;
  op.getRegion().walk([&](Operation *inner) {
    for (Value operand : inner->getOperands())
      if (!op.getRegion().isAncestor(operand.getParentRegion()) &&
          !isa<FloatType, IntegerType>(operand.getType()))
        capturesOther = true;
  });
  return !capturesOther;
}

SmallVector<Value> mlir::hymir::emitElementwisePayload(OpBuilder &b,
                                                       Location loc,
                                                       linalg::GenericOp op,
                                                       ValueRange args,
                                                       int64_t width) {
  auto vectorOf = [&](Type type) -> Type {
    return width > 0 ? VectorType::get({width}, type) : type;
  };
  auto widen = [&](Value value) -> Value {
    if (width == 0 || isa<VectorType>(value.getType()))
      return value;
    return vector::BroadcastOp::create(b, loc, vectorOf(value.getType()),
                                       value);
  };
  IRMapping mapping;
  Block *body = op.getBody();
  for (auto [arg, value] : llvm::zip(body->getArguments(), args))
    if (value)
      mapping.map(arg, widen(value));
  for (Operation &inner : body->without_terminator()) {
    if (auto constant = dyn_cast<arith::ConstantOp>(inner)) {
      Value scalar = b.clone(inner)->getResult(0);
      mapping.map(constant.getResult(), widen(scalar));
      continue;
    }
    OperationState state(inner.getLoc(), inner.getName());
    for (Value operand : inner.getOperands())
      state.addOperands(widen(mapping.lookupOrDefault(operand)));
    for (Type type : inner.getResultTypes())
      state.addTypes(vectorOf(type));
    state.addAttributes(inner.getAttrs());
    Operation *widened = b.create(state);
    mapping.map(inner.getResults(), widened->getResults());
  }
  SmallVector<Value> results;
  for (Value value : body->getTerminator()->getOperands())
    results.push_back(widen(mapping.lookupOrDefault(value)));
  return results;
}
