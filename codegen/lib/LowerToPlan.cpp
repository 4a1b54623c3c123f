//===- LowerToPlan.cpp - host functions to hymir_plan entries -------------===//
//
// hymir-lower-to-plan (PlanPasses.td). Index values of a host function are
// evaluated into affine expressions over the entry's one symbol (the token
// count); memrefs are tracked as views (storage, byte offset, sizes,
// strides). Each op of the host function either becomes a plan step or only
// feeds these evaluations.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/PlanPasses.h"
#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Dialect/Plan/IR/PlanOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRLOWERTOPLAN
#include "hymir/Codegen/PlanPasses.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;
namespace plan = mlir::hymir::plan;

namespace {

/// Bytes of one element of the types the runtime holds.
std::optional<int64_t> elementBytes(Type type) {
  if (type.isF32() || type.isInteger(32))
    return 4;
  if (type.isBF16() || type.isF16())
    return 2;
  if (type.isF64() || type.isInteger(64))
    return 8;
  if (type.isInteger(8))
    return 1;
  return std::nullopt;
}

/// Bytes of a CUtensorMap.
constexpr int64_t kTensorMapBytes = 128;

/// A memref of the host function as the plan sees it.
struct View {
  Value storage;
  AffineExpr offset; // bytes
  SmallVector<AffineExpr> sizes;
  SmallVector<AffineExpr> strides; // elements
  Type elementType;
};

class EntryLowering {
public:
  EntryLowering(func::FuncOp func, SmallVectorImpl<Attribute> &params,
                const HymirLowerToPlanOptions &options)
      : func(func), params(params), options(options),
        context(func.getContext()), builder(context) {}

  FailureOr<plan::EntryOp> lower();

private:
  AffineExpr constant(int64_t c) { return getAffineConstantExpr(c, context); }
  AffineMap map(ArrayRef<AffineExpr> exprs) {
    return AffineMap::get(0, numSymbols, exprs, context);
  }
  FailureOr<AffineExpr> size(Value v);
  FailureOr<AffineExpr> checked(std::optional<AffineExpr> e, Operation *op,
                                StringRef what);
  FailureOr<View> view(Value v, Operation *user);
  FailureOr<View> shapedView(MemRefType type, Value storage,
                             ArrayRef<AffineExpr> sizes, Operation *op);
  Value materialize(Value memref, const View &view,
                    std::optional<Location> loc = std::nullopt);
  FailureOr<AffineExpr> byteSize(const View &view, Operation *op,
                                 StringRef what);
  LogicalResult visit(Operation *op);
  LogicalResult launch(gpu::LaunchFuncOp op);
  LogicalResult guard(TokenGuardOp op);
  LogicalResult tensorMap(TensorMapOp op);
  LogicalResult gemm(linalg::GenericOp op);
  /// How a collective's source and target sizes relate.
  enum class Shape { Same, Gather, Scatter };
  template <typename CollectiveOp>
  LogicalResult collective(linalg::GenericOp op, Shape shape);
  LogicalResult allToAll(linalg::GenericOp op);
  LogicalResult finish(func::ReturnOp ret);
  LogicalResult arguments();

  func::FuncOp func;
  SmallVectorImpl<Attribute> &params;
  const HymirLowerToPlanOptions &options;
  MLIRContext *context;
  OpBuilder builder;
  plan::EntryOp entry;
  unsigned numSymbols = 0;
  int64_t numChecks = 0;
  SmallVector<Attribute> inputs, outputs, symbols;
  // Per function argument, its entry input's index (-1 for a parameter);
  // per entry input, its storage.
  SmallVector<int64_t> inputOfArg;
  SmallVector<Value> inputStorage;
  DenseMap<Value, AffineExpr> sizes;
  DenseMap<Value, View> views;
  DenseMap<Value, Value> materialized;
  // The token counts the ops being visited run for (inside scf.if on the
  // token count): [lo, hi], hi -1 for no bound.
  int64_t guardLo = 0, guardHi = -1;
  bool guarded() const { return guardLo != 0 || guardHi != -1; }
};

FailureOr<AffineExpr> EntryLowering::checked(std::optional<AffineExpr> e,
                                             Operation *op, StringRef what) {
  // Every intermediate size must be one the runtime can hold: a linear
  // expression, possibly divided by a constant at the top.
  if (e && e->isPureAffine() && plan::toLinearSize(*e))
    return *e;
  return op->emitError() << "hymir-compile: cannot express " << what
                         << " in the execution plan (sizes must be affine "
                            "in the token count)";
}

FailureOr<AffineExpr> EntryLowering::size(Value v) {
  if (auto it = sizes.find(v); it != sizes.end())
    return it->second;
  Operation *def = v.getDefiningOp();
  if (!def)
    return func.emitError("hymir-compile: index argument in an entry");
  std::optional<AffineExpr> result;
  if (auto c = dyn_cast<arith::ConstantIndexOp>(def)) {
    result = constant(c.value());
  } else if (auto c = dyn_cast<arith::ConstantIntOp>(def)) {
    // The launch's dynamic shared-memory size is an i32.
    result = constant(c.value());
  } else if (auto dim = dyn_cast<memref::DimOp>(def)) {
    std::optional<int64_t> index = dim.getConstantIndex();
    FailureOr<View> src = view(dim.getSource(), def);
    if (failed(src))
      return failure();
    if (!index || *index < 0 ||
        *index >= static_cast<int64_t>(src->sizes.size()))
      return def->emitError() << "hymir-compile: memref.dim index is not a "
                                 "constant dim of its "
                              << src->sizes.size() << "-d source";
    result = src->sizes[*index];
  } else if (auto apply = dyn_cast<affine::AffineApplyOp>(def)) {
    // Dims and symbols of the map are operands, in order.
    SmallVector<AffineExpr> operands;
    for (Value operand : apply.getMapOperands()) {
      FailureOr<AffineExpr> e = size(operand);
      if (failed(e))
        return failure();
      operands.push_back(*e);
    }
    AffineMap m = apply.getAffineMap();
    ArrayRef<AffineExpr> all(operands);
    result = m.getResult(0).replaceDimsAndSymbols(
        all.take_front(m.getNumDims()), all.drop_front(m.getNumDims()));
  } else if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::DivUIOp,
                 arith::CeilDivUIOp, arith::DivSIOp, arith::CeilDivSIOp>(def)) {
    FailureOr<AffineExpr> a = size(def->getOperand(0));
    FailureOr<AffineExpr> b = size(def->getOperand(1));
    if (failed(a) || failed(b))
      return failure();
    auto c = dyn_cast<AffineConstantExpr>(*b);
    if (isa<arith::AddIOp>(def))
      result = *a + *b;
    else if (isa<arith::SubIOp>(def))
      result = *a - *b;
    else if (isa<arith::MulIOp>(def) &&
             (isa<AffineConstantExpr>(*a) || isa<AffineConstantExpr>(*b)))
      result = *a * *b;
    else if (c && c.getValue() > 0 && isa<arith::DivUIOp, arith::DivSIOp>(def))
      result = a->floorDiv(c.getValue());
    else if (c && c.getValue() > 0 &&
             isa<arith::CeilDivUIOp, arith::CeilDivSIOp>(def))
      result = a->ceilDiv(c.getValue());
  }
  FailureOr<AffineExpr> e = checked(result, def, "this size");
  if (succeeded(e))
    sizes[v] = *e;
  return e;
}

FailureOr<View> EntryLowering::shapedView(MemRefType type, Value storage,
                                          ArrayRef<AffineExpr> shape,
                                          Operation *op) {
  if (!elementBytes(type.getElementType()))
    return op->emitError() << "hymir-compile: element type "
                           << type.getElementType() << " has no runtime dtype";
  if (!type.getLayout().isIdentity())
    return op->emitError("hymir-compile: only contiguous (identity layout) "
                         "memrefs can be planned so far");
  View v{storage,
         constant(0),
         SmallVector<AffineExpr>(shape),
         {},
         type.getElementType()};
  v.strides.resize(shape.size());
  AffineExpr running = constant(1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    v.strides[i] = running;
    if (i == 0)
      break;
    if (!isa<AffineConstantExpr>(running) && !isa<AffineConstantExpr>(shape[i]))
      return op->emitError("hymir-compile: a stride is not affine in the "
                           "token count (two dynamic dims in one tensor)");
    FailureOr<AffineExpr> next = checked(running * shape[i], op, "a stride");
    if (failed(next))
      return failure();
    running = *next;
  }
  return v;
}

FailureOr<View> EntryLowering::view(Value v, Operation *user) {
  if (auto it = views.find(v); it != views.end())
    return it->second;
  return user->emitError("hymir-compile: operand has no planned storage");
}

/// True when `v` is row-major without gaps (the layout library steps and
/// byte copies read): each stride is the product of the sizes inside it.
bool isContiguous(const View &v) {
  AffineExpr running = getAffineConstantExpr(1, v.offset.getContext());
  for (int64_t i = static_cast<int64_t>(v.sizes.size()) - 1; i >= 0; --i) {
    if (auto one = dyn_cast<AffineConstantExpr>(v.sizes[i]);
        one && one.getValue() == 1)
      continue;
    if (v.strides[i] != running)
      return false;
    if (!isa<AffineConstantExpr>(running) &&
        !isa<AffineConstantExpr>(v.sizes[i]))
      return false;
    running = running * v.sizes[i];
  }
  return true;
}

Value EntryLowering::materialize(Value memref, const View &v,
                                 std::optional<Location> loc) {
  if (auto it = memref ? materialized.find(memref) : materialized.end();
      it != materialized.end())
    return it->second;
  auto type = plan::ViewType::get(context, v.elementType, v.sizes.size());
  Value result = plan::ViewOp::create(
      builder, loc ? *loc : memref.getLoc(), type, v.storage,
      AffineMapAttr::get(map(v.offset)), AffineMapAttr::get(map(v.sizes)),
      AffineMapAttr::get(map(v.strides)));
  if (memref)
    materialized[memref] = result;
  return result;
}

FailureOr<AffineExpr> EntryLowering::byteSize(const View &v, Operation *op,
                                              StringRef what) {
  AffineExpr bytes = constant(*elementBytes(v.elementType));
  for (AffineExpr s : v.sizes) {
    if (!isa<AffineConstantExpr>(bytes) && !isa<AffineConstantExpr>(s))
      return op->emitError() << "hymir-compile: " << what
                             << " size is not affine in the token count";
    FailureOr<AffineExpr> next = checked(bytes * s, op, what);
    if (failed(next))
      return failure();
    bytes = *next;
  }
  return bytes;
}

LogicalResult EntryLowering::launch(gpu::LaunchFuncOp op) {
  // Under nested branches whose ranges exclude each other the launch never
  // runs: it is left out of the plan.
  if (guardHi >= 0 && guardHi < guardLo)
    return success();
  SmallVector<AffineExpr> grid;
  gpu::KernelDim3 g = op.getGridSizeOperandValues();
  for (Value v : {g.x, g.y, g.z}) {
    FailureOr<AffineExpr> s = size(v);
    if (failed(s))
      return failure();
    grid.push_back(*s);
  }
  SmallVector<int64_t> block;
  gpu::KernelDim3 b = op.getBlockSizeOperandValues();
  for (Value v : {b.x, b.y, b.z}) {
    FailureOr<AffineExpr> s = size(v);
    if (failed(s) || !isa<AffineConstantExpr>(*s))
      return op.emitError("hymir-compile: block sizes must be constants");
    block.push_back(cast<AffineConstantExpr>(*s).getValue());
  }
  int64_t shared = 0;
  if (Value smem = op.getDynamicSharedMemorySize()) {
    FailureOr<AffineExpr> s = size(smem);
    if (failed(s) || !isa<AffineConstantExpr>(*s))
      return op.emitError("hymir-compile: shared memory size must be "
                          "constant");
    shared = cast<AffineConstantExpr>(*s).getValue();
  }
  SmallVector<Value> args;
  for (Value arg : op.getKernelOperands()) {
    if (auto type = dyn_cast<MemRefType>(arg.getType())) {
      FailureOr<View> v = view(arg, op);
      if (failed(v))
        return failure();
      // The runtime passes a view as its first element's address with a
      // zero offset word; a kernel whose memref type has a static offset
      // adds that offset itself, so the view starts that much earlier.
      SmallVector<int64_t> strides;
      int64_t offset = 0;
      if (succeeded(type.getStridesAndOffset(strides, offset)) &&
          !ShapedType::isDynamic(offset) && offset != 0) {
        View shifted = *v;
        FailureOr<AffineExpr> start =
            checked(v->offset - offset * *elementBytes(v->elementType), op,
                    "a kernel argument's offset");
        if (failed(start))
          return failure();
        shifted.offset = *start;
        args.push_back(materialize(Value(), shifted, arg.getLoc()));
        continue;
      }
      args.push_back(materialize(arg, *v));
    } else if (arg.getType().isIndex()) {
      FailureOr<AffineExpr> s = size(arg);
      if (failed(s))
        return failure();
      args.push_back(plan::SizeOp::create(builder, op.getLoc(),
                                          builder.getIndexType(),
                                          AffineMapAttr::get(map(*s))));
    } else {
      return op.emitError() << "hymir-compile: kernel argument of type "
                            << arg.getType() << " cannot be passed";
    }
  }
  auto kernel = SymbolRefAttr::get(
      op.getKernelModuleName(), {FlatSymbolRefAttr::get(op.getKernelName())});
  auto step = plan::LaunchOp::create(
      builder, op.getLoc(), kernel, AffineMapAttr::get(map(grid)),
      builder.getDenseI64ArrayAttr(block), builder.getI64IntegerAttr(shared),
      builder.getI64IntegerAttr(guardLo), builder.getI64IntegerAttr(guardHi),
      args);
  return mlir::verify(step);
}

LogicalResult EntryLowering::tensorMap(TensorMapOp op) {
  // The map's 128 bytes are a buffer of their own, which the step fills
  // before the launches that follow it read it.
  FailureOr<View> src = view(op.getSrc(), op);
  if (failed(src))
    return failure();
  auto inner = dyn_cast<AffineConstantExpr>(src->strides.back());
  if (!inner || inner.getValue() != 1)
    return op.emitError("hymir-compile: a tensor map's source must have an "
                        "innermost stride of 1 in the plan");
  Value storage = plan::BufferOp::create(
      builder, op.getLoc(), plan::StorageType::get(context),
      builder.getI64IntegerAttr(kTensorMapBytes), IntegerAttr());
  FailureOr<View> target = shapedView(op.getMap().getType(), storage,
                                      {constant(kTensorMapBytes / 8)}, op);
  if (failed(target))
    return failure();
  views[op.getResult()] = *target;
  // Under nested guards whose ranges exclude each other nothing reads the
  // map: the step is left out, as the launches are.
  if (guardHi >= 0 && guardHi < guardLo)
    return success();
  auto step = plan::TensorMapOp::create(
      builder, op.getLoc(), materialize(op.getSrc(), *src),
      materialize(op.getResult(), *target), op.getBoxAttr(),
      op.getSwizzleAttr(), builder.getI64IntegerAttr(guardLo),
      builder.getI64IntegerAttr(guardHi));
  return mlir::verify(step);
}

LogicalResult EntryLowering::guard(TokenGuardOp op) {
  // The launches inside run for the guard's range of token counts, within
  // any range that encloses it.
  if (numSymbols == 0)
    return op.emitError("hymir-compile: a token guard in an entry without a "
                        "token count (no dynamic dim in its arguments)");
  int64_t savedLo = guardLo, savedHi = guardHi;
  auto lo = static_cast<int64_t>(op.getAtLeast());
  auto hi = static_cast<int64_t>(op.getAtMost());
  guardLo = std::max(savedLo, lo);
  guardHi = savedHi < 0 ? hi : (hi < 0 ? savedHi : std::min(savedHi, hi));
  for (Operation &inner : op.getBody().front())
    if (failed(visit(&inner)))
      return failure();
  guardLo = savedLo;
  guardHi = savedHi;
  return success();
}

LogicalResult EntryLowering::gemm(linalg::GenericOp op) {
  if (getLibraryCall(op) != LibraryCall::Gemm || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1)
    return op.emitError("hymir-compile: unknown library call");
  Value xv = op.getDpsInputs()[0], wv = op.getDpsInputs()[1],
        yv = op.getDpsInits()[0];
  FailureOr<View> x = view(xv, op), w = view(wv, op), y = view(yv, op);
  if (failed(x) || failed(w) || failed(y))
    return failure();
  if (x->sizes.size() != 2 || w->sizes.size() != 2 || y->sizes.size() != 2 ||
      !isa<AffineConstantExpr>(w->sizes[0]) ||
      !isa<AffineConstantExpr>(w->sizes[1]))
    return op.emitError("hymir-compile: a library GEMM needs 2-d operands "
                        "and a static weight");
  if (w->elementType != x->elementType)
    return op.emitError("hymir-compile: a library GEMM needs x and the "
                        "weight in one dtype");
  if (!isContiguous(*x) || !isContiguous(*w) || !isContiguous(*y))
    return op.emitError("hymir-compile: a library GEMM needs contiguous "
                        "row-major operands (a strided view reached it)");
  auto step = plan::GemmOp::create(
      builder, op.getLoc(), materialize(xv, *x), materialize(wv, *w),
      materialize(yv, *y), AffineMapAttr::get(map(x->sizes[0])),
      builder.getI64IntegerAttr(
          cast<AffineConstantExpr>(w->sizes[0]).getValue()),
      builder.getI64IntegerAttr(
          cast<AffineConstantExpr>(w->sizes[1]).getValue()),
      getGemmPrecision(op) == Precision::F32 ? builder.getUnitAttr()
                                             : UnitAttr());
  return mlir::verify(step);
}

/// A collective from hymir-lower-to-linalg: the generic's input is this
/// device's contribution and its init its result, both contiguous. `elements`
/// counts the smaller side: the source of an all_reduce or all_gather (whose
/// target stacks the devices' parts), the target of a reduce_scatter (whose
/// source stacks the parts it sums).
template <typename CollectiveOp>
LogicalResult EntryLowering::collective(linalg::GenericOp op, Shape shape) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1)
    return op.emitError("hymir-compile: a collective has one input and one "
                        "init");
  Value srcv = op.getDpsInputs()[0], dstv = op.getDpsInits()[0];
  FailureOr<View> src = view(srcv, op), dst = view(dstv, op);
  if (failed(src) || failed(dst))
    return failure();
  if (src->elementType != dst->elementType)
    return op.emitError("hymir-compile: a collective keeps its dtype");
  if (!isContiguous(*src) || !isContiguous(*dst))
    return op.emitError("hymir-compile: a collective needs contiguous "
                        "buffers (a strided view reached it)");
  AffineExpr elements = constant(1);
  for (AffineExpr s : (shape == Shape::Scatter ? dst : src)->sizes) {
    if (!isa<AffineConstantExpr>(elements) && !isa<AffineConstantExpr>(s))
      return op.emitError("hymir-compile: collective size is not affine in "
                          "the token count");
    FailureOr<AffineExpr> next = checked(elements * s, op, "collective size");
    if (failed(next))
      return failure();
    elements = *next;
  }
  if (shape != Shape::Same) {
    // The stacked side's outer dim is the device axis.
    const View &stacked = shape == Shape::Gather ? *dst : *src;
    auto axis = dyn_cast<AffineConstantExpr>(stacked.sizes.front());
    if (!axis || axis.getValue() != options.devices)
      return op.emitError()
             << "hymir-compile: "
             << (shape == Shape::Gather ? "all_gather" : "reduce_scatter")
             << " over " << (axis ? std::to_string(axis.getValue()) : "?")
             << " devices in a module compiled for " << options.devices
             << " (--devices)";
  }
  CollectiveOp::create(builder, op.getLoc(), materialize(srcv, *src),
                       materialize(dstv, *dst),
                       AffineMapAttr::get(map(elements)));
  return success();
}

/// An all_to_all from hymir-lower-to-linalg: inputs (rows, send offsets),
/// inits (received rows, receive offsets), each contiguous.
LogicalResult EntryLowering::allToAll(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 2)
    return op.emitError("hymir-compile: an all_to_all has two inputs (rows, "
                        "offsets) and two inits");
  SmallVector<Value> operands = {op.getDpsInputs()[0], op.getDpsInputs()[1],
                                 op.getDpsInits()[0], op.getDpsInits()[1]};
  SmallVector<View> v;
  for (Value operand : operands) {
    FailureOr<View> one = view(operand, op);
    if (failed(one))
      return failure();
    if (!isContiguous(*one))
      return op.emitError("hymir-compile: an all_to_all needs contiguous "
                          "buffers (a strided view reached it)");
    v.push_back(*one);
  }
  if (v[0].elementType != v[2].elementType)
    return op.emitError("hymir-compile: an all_to_all keeps its dtype");
  // Rows of static size; the row count may follow the token count.
  int64_t row = 1;
  for (AffineExpr s : ArrayRef(v[0].sizes).drop_front()) {
    auto c = dyn_cast<AffineConstantExpr>(s);
    if (!c)
      return op.emitError("hymir-compile: an all_to_all needs static row "
                          "sizes");
    row *= c.getValue();
  }
  FailureOr<AffineExpr> elements =
      checked(v[0].sizes.front() * row, op, "all_to_all size");
  if (failed(elements))
    return failure();
  auto peers = dyn_cast<AffineConstantExpr>(v[1].sizes.front());
  if (!peers || peers.getValue() != options.devices + 1)
    return op.emitError() << "hymir-compile: all_to_all offsets for "
                          << (peers ? std::to_string(peers.getValue() - 1)
                                    : "?")
                          << " devices in a module compiled for "
                          << options.devices << " (--devices)";
  plan::AllToAllOp::create(
      builder, op.getLoc(), materialize(operands[0], v[0]),
      materialize(operands[1], v[1]), materialize(operands[2], v[2]),
      materialize(operands[3], v[3]), AffineMapAttr::get(map(*elements)),
      builder.getI64IntegerAttr(row));
  return success();
}

LogicalResult EntryLowering::visit(Operation *op) {
  // Inside a token guard only launches (with the views and index arithmetic
  // they need) can be placed: they are the steps that carry a guard.
  bool indexArith =
      op->getDialect() && isa<arith::ArithDialect>(op->getDialect()) &&
      llvm::all_of(op->getResultTypes(), [](Type t) { return t.isIndex(); });
  if (guarded() &&
      !isa<gpu::LaunchFuncOp, TokenGuardOp, arith::ConstantOp, memref::DimOp,
           affine::AffineApplyOp, memref::ExpandShapeOp,
           memref::CollapseShapeOp, memref::SubViewOp, memref::CastOp,
           TensorMapOp>(op) &&
      !indexArith)
    return op->emitError("hymir-compile: only kernel launches and tensor "
                         "maps can depend on the token count (inside "
                         "hymir.token_guard)");
  if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
    MemRefType type = alloc.getType();
    SmallVector<AffineExpr> shape;
    auto dyn = alloc.getDynamicSizes().begin();
    for (int64_t d : type.getShape()) {
      if (!ShapedType::isDynamic(d)) {
        shape.push_back(constant(d));
        continue;
      }
      FailureOr<AffineExpr> s = size(*dyn++);
      if (failed(s))
        return failure();
      shape.push_back(*s);
    }
    // The buffer holds the largest value of every dim.
    std::optional<int64_t> bytes = elementBytes(type.getElementType());
    if (!bytes)
      return op->emitError()
             << "hymir-compile: element type " << type.getElementType()
             << " has no runtime dtype";
    int64_t total = *bytes;
    for (AffineExpr s : shape) {
      std::optional<int64_t> n =
          plan::evaluateLinearSize(*plan::toLinearSize(s), options.maxTokens);
      if (!n || llvm::MulOverflow(total, std::max<int64_t>(0, *n), total))
        return op->emitError("hymir-compile: buffer size overflows 64 bits "
                             "at the largest token count");
    }
    Value storage = plan::BufferOp::create(
        builder, op->getLoc(), plan::StorageType::get(context),
        builder.getI64IntegerAttr(total), IntegerAttr());
    FailureOr<View> v = shapedView(type, storage, shape, op);
    if (failed(v))
      return failure();
    views[alloc.getResult()] = *v;
    return success();
  }
  if (auto slot = dyn_cast<CheckSlotOp>(op)) {
    // A run-time check: two i64 words of the entry's check storage.
    std::string location;
    llvm::raw_string_ostream os(location);
    if (auto file = slot.getLoc()->findInstanceOf<FileLineColLoc>())
      os << file.getFilename().getValue() << ":" << file.getLine() << ":"
         << file.getColumn();
    Value storage = plan::CheckOp::create(
        builder, op->getLoc(), plan::StorageType::get(context), numChecks++,
        slot.getCheckedOp(), slot.getTensor(), slot.getValue(), location);
    FailureOr<View> v =
        shapedView(slot.getSlot().getType(), storage, {constant(2)}, op);
    if (failed(v))
      return failure();
    views[slot.getResult()] = *v;
    return success();
  }
  if (auto tensorMap = dyn_cast<TensorMapOp>(op))
    return this->tensorMap(tensorMap);
  if (auto expand = dyn_cast<memref::ExpandShapeOp>(op)) {
    FailureOr<View> src = view(expand.getSrc(), op);
    if (failed(src))
      return failure();
    SmallVector<AffineExpr> shape;
    for (OpFoldResult s : expand.getMixedOutputShape()) {
      if (auto attr = dyn_cast<Attribute>(s)) {
        shape.push_back(constant(cast<IntegerAttr>(attr).getInt()));
        continue;
      }
      FailureOr<AffineExpr> e = size(cast<Value>(s));
      if (failed(e))
        return failure();
      shape.push_back(*e);
    }
    // Each source dim splits into a group whose innermost dim keeps the
    // source stride; the outer ones step over the inner sizes.
    View v = *src;
    v.sizes = shape;
    v.strides.assign(shape.size(), constant(0));
    for (auto [i, group] : llvm::enumerate(expand.getReassociationIndices())) {
      AffineExpr running = src->strides[i];
      for (int64_t d : llvm::reverse(group)) {
        v.strides[d] = running;
        if (!isa<AffineConstantExpr>(running) &&
            !isa<AffineConstantExpr>(shape[d]))
          return op->emitError("hymir-compile: an expanded stride is not "
                               "affine in the token count");
        FailureOr<AffineExpr> next =
            checked(running * shape[d], op, "an expanded stride");
        if (failed(next))
          return failure();
        running = *next;
      }
    }
    views[expand.getResult()] = v;
    return success();
  }
  if (auto collapse = dyn_cast<memref::CollapseShapeOp>(op)) {
    // A collapsed group is contiguous (the op's verifier requires it): its
    // stride is that of its innermost dim.
    FailureOr<View> src = view(collapse.getSrc(), op);
    if (failed(src))
      return failure();
    View v = *src;
    v.sizes.clear();
    v.strides.clear();
    for (ReassociationIndices group : collapse.getReassociationIndices()) {
      AffineExpr product = constant(1);
      for (int64_t i : group) {
        if (!isa<AffineConstantExpr>(product) &&
            !isa<AffineConstantExpr>(src->sizes[i]))
          return op->emitError("hymir-compile: collapsed size is not "
                               "affine in the token count");
        FailureOr<AffineExpr> next =
            checked(product * src->sizes[i], op, "a collapsed size");
        if (failed(next))
          return failure();
        product = *next;
      }
      v.sizes.push_back(product);
      v.strides.push_back(group.empty() ? constant(1)
                                        : src->strides[group.back()]);
    }
    views[collapse.getResult()] = v;
    return success();
  }
  if (auto subview = dyn_cast<memref::SubViewOp>(op)) {
    // A window of the source: the offset moves by sum(offset_i * stride_i)
    // elements, strides scale, dims the op drops go.
    FailureOr<View> src = view(subview.getSource(), op);
    if (failed(src))
      return failure();
    auto value = [&](OpFoldResult f) -> FailureOr<AffineExpr> {
      if (auto attr = dyn_cast<Attribute>(f))
        return constant(cast<IntegerAttr>(attr).getInt());
      return size(cast<Value>(f));
    };
    SmallVector<OpFoldResult> offsets = subview.getMixedOffsets();
    SmallVector<OpFoldResult> sizesOf = subview.getMixedSizes();
    SmallVector<OpFoldResult> steps = subview.getMixedStrides();
    llvm::SmallBitVector dropped = subview.getDroppedDims();
    View v = *src;
    v.sizes.clear();
    v.strides.clear();
    AffineExpr elements = constant(0);
    for (size_t i = 0; i < src->sizes.size(); ++i) {
      FailureOr<AffineExpr> off = value(offsets[i]);
      FailureOr<AffineExpr> len = value(sizesOf[i]);
      FailureOr<AffineExpr> step = value(steps[i]);
      if (failed(off) || failed(len) || failed(step))
        return failure();
      if (!isa<AffineConstantExpr>(*off) &&
          !isa<AffineConstantExpr>(src->strides[i]))
        return op->emitError("hymir-compile: a subview offset is not affine "
                             "in the token count");
      if (!isa<AffineConstantExpr>(*step) &&
          !isa<AffineConstantExpr>(src->strides[i]))
        return op->emitError("hymir-compile: a subview stride is not affine "
                             "in the token count");
      FailureOr<AffineExpr> moved =
          checked(elements + *off * src->strides[i], op, "a subview offset");
      FailureOr<AffineExpr> stride =
          checked(*step * src->strides[i], op, "a subview stride");
      if (failed(moved) || failed(stride))
        return failure();
      elements = *moved;
      if (dropped.test(i))
        continue;
      v.sizes.push_back(*len);
      v.strides.push_back(*stride);
    }
    if (!isa<AffineConstantExpr>(elements) &&
        !isa<AffineConstantExpr>(constant(*elementBytes(v.elementType))))
      return op->emitError("hymir-compile: a subview offset is not affine");
    FailureOr<AffineExpr> offset =
        checked(src->offset + elements * *elementBytes(v.elementType), op,
                "a subview offset");
    if (failed(offset))
      return failure();
    v.offset = *offset;
    views[subview.getResult()] = v;
    return success();
  }
  if (auto cast = dyn_cast<memref::CastOp>(op)) {
    // A cast only forgets or learns static sizes; the bytes are the same.
    FailureOr<View> src = view(cast.getSource(), op);
    if (failed(src))
      return failure();
    if (!isa<MemRefType>(cast.getType()))
      return op->emitError("hymir-compile: an unranked memref cannot be "
                           "planned");
    views[cast.getResult()] = *src;
    return success();
  }
  if (auto copy = dyn_cast<memref::CopyOp>(op)) {
    FailureOr<View> src = view(copy.getSource(), op);
    FailureOr<View> dst = view(copy.getTarget(), op);
    if (failed(src) || failed(dst))
      return failure();
    if (!isContiguous(*src) || !isContiguous(*dst))
      return op->emitError("hymir-compile: a copy step moves contiguous "
                           "bytes; this copy of a strided view should have "
                           "become a kernel (hymir-linalg-to-parallel-loops)");
    FailureOr<AffineExpr> bytes = byteSize(*src, op, "copy");
    if (failed(bytes))
      return failure();
    plan::CopyOp::create(
        builder, op->getLoc(), materialize(copy.getSource(), *src),
        materialize(copy.getTarget(), *dst), AffineMapAttr::get(map(*bytes)));
    return success();
  }
  if (auto launchOp = dyn_cast<gpu::LaunchFuncOp>(op))
    return launch(launchOp);
  if (auto guardOp = dyn_cast<TokenGuardOp>(op))
    return guard(guardOp);
  if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
    if (std::optional<LibraryCall> kind = getLibraryCall(generic)) {
      if (*kind == LibraryCall::AllReduce)
        return collective<plan::AllReduceOp>(generic, Shape::Same);
      if (*kind == LibraryCall::AllGather)
        return collective<plan::AllGatherOp>(generic, Shape::Gather);
      if (*kind == LibraryCall::ReduceScatter)
        return collective<plan::ReduceScatterOp>(generic, Shape::Scatter);
      if (*kind == LibraryCall::AllToAll)
        return allToAll(generic);
      if (*kind == LibraryCall::DeviceIndex) {
        Value target = generic.getDpsInits()[0];
        FailureOr<View> v = view(target, op);
        if (failed(v))
          return failure();
        plan::DeviceIndexOp::create(builder, op->getLoc(),
                                    materialize(target, *v));
        return success();
      }
      return gemm(generic);
    }
  }
  if (auto ret = dyn_cast<func::ReturnOp>(op))
    return finish(ret);
  // Index arithmetic, shape queries and constants are evaluated on demand.
  // (A comparison of sizes feeds nothing a plan holds; a branch on it is
  // refused below.)
  if (isa<arith::ConstantOp, memref::DimOp, affine::AffineApplyOp,
          arith::CmpIOp>(op) ||
      indexArith)
    return success();
  if (isa<memref::DeallocOp>(op))
    return success();
  InFlightDiagnostic diag =
      op->emitError("hymir-compile: op cannot be placed in an execution plan");
  if (isa<linalg::LinalgOp>(op))
    diag << " (a linalg op that was not turned into a kernel launch)";
  else if (op->getNumRegions())
    diag << " (only hymir.token_guard may hold steps: a choice by token "
            "count is a guard, not a branch)";
  else
    diag << " (plans hold allocations, reshapes, casts, copies, kernel "
            "launches, library GEMMs and collectives)";
  return diag;
}

LogicalResult EntryLowering::finish(func::ReturnOp ret) {
  // An output whose value is a buffer of its own (returned once, from its
  // start) is computed in place in the caller's output tensor; anything
  // else is copied there. A tied output's storage is its input's: a value
  // that bufferization already placed there (the whole input, as the
  // argument's view) needs nothing, any other is copied there after every
  // other output has been copied (which may read the input's old bytes).
  DenseMap<Value, int> returnedBuffers;
  SmallVector<View> returned;
  for (Value v : ret.getOperands()) {
    FailureOr<View> view = this->view(v, ret);
    if (failed(view))
      return failure();
    returned.push_back(*view);
    if (view->storage.getDefiningOp<plan::BufferOp>())
      ++returnedBuffers[view->storage];
  }
  SmallVector<std::pair<unsigned, int64_t>> tiedCopies; // (result, input)
  for (auto [i, v] : llvm::enumerate(returned)) {
    StringAttr name = getResultName(func, i);
    int64_t tiedTo = -1;
    if (std::optional<unsigned> arg = getTiedArgument(func, i)) {
      tiedTo = inputOfArg[*arg];
      if (tiedTo < 0)
        return ret.emitError()
               << "hymir-compile: result " << i << " is tied to argument "
               << *arg << ", which is not an entry input";
    }
    // A tied output split across devices (its argument is: hymir-shard
    // returns each device's part into it) has its input's whole shape.
    AffineMapAttr shape = AffineMapAttr::get(map(v.sizes));
    int64_t shardDim = -1;
    if (tiedTo >= 0) {
      auto input = cast<plan::TensorSpecAttr>(inputs[tiedTo]);
      if (input.getShardDim() >= 0) {
        shape = input.getShape();
        shardDim = input.getShardDim();
      }
    }
    outputs.push_back(plan::TensorSpecAttr::get(
        context, name ? name.getValue() : "result" + std::to_string(i),
        v.elementType, shape, shardDim, tiedTo));
    if (tiedTo >= 0) {
      const View &arg = views[func.getArgument(*getTiedArgument(func, i))];
      if (v.storage == inputStorage[tiedTo] && v.offset == constant(0) &&
          v.sizes == arg.sizes && v.strides == arg.strides)
        continue; // updated in place
      if (v.storage == inputStorage[tiedTo])
        return ret.emitError()
               << "hymir-compile: tied result " << i
               << " is a moved window of its own argument; the plan cannot "
                  "copy it onto itself";
      tiedCopies.push_back({static_cast<unsigned>(i), tiedTo});
      continue;
    }
    auto buffer = v.storage.getDefiningOp<plan::BufferOp>();
    auto offset = dyn_cast<AffineConstantExpr>(v.offset);
    if (buffer && returnedBuffers[v.storage] == 1 && offset &&
        offset.getValue() == 0) {
      OpBuilder at(buffer);
      Value out = plan::OutputOp::create(at, buffer.getLoc(),
                                         plan::StorageType::get(context), i);
      buffer.getResult().replaceAllUsesWith(out);
      buffer.erase();
      continue;
    }
    if (!isContiguous(v))
      return ret.emitError() << "hymir-compile: result " << i
                             << " is a strided view; the plan copies "
                                "outputs as contiguous bytes";
    FailureOr<AffineExpr> bytes = byteSize(v, ret, "output");
    if (failed(bytes))
      return failure();
    Value out = plan::OutputOp::create(builder, ret.getLoc(),
                                       plan::StorageType::get(context), i);
    View whole = v;
    whole.storage = out;
    whole.offset = constant(0);
    Value dst = plan::ViewOp::create(
        builder, ret.getLoc(),
        plan::ViewType::get(context, v.elementType, v.sizes.size()), out,
        AffineMapAttr::get(map(whole.offset)),
        AffineMapAttr::get(map(whole.sizes)),
        AffineMapAttr::get(map(whole.strides)));
    plan::CopyOp::create(builder, ret.getLoc(),
                         materialize(ret.getOperand(i), v), dst,
                         AffineMapAttr::get(map(*bytes)));
  }
  for (auto [i, input] : tiedCopies) {
    const View &v = returned[i];
    if (!isContiguous(v))
      return ret.emitError() << "hymir-compile: tied result " << i
                             << " is a strided view; the plan copies it into "
                                "its input as contiguous bytes";
    FailureOr<AffineExpr> bytes = byteSize(v, ret, "tied output");
    if (failed(bytes))
      return failure();
    View whole = views[func.getArgument(*getTiedArgument(func, i))];
    Value dst = plan::ViewOp::create(
        builder, ret.getLoc(),
        plan::ViewType::get(context, v.elementType, v.sizes.size()),
        whole.storage, AffineMapAttr::get(map(whole.offset)),
        AffineMapAttr::get(map(whole.sizes)),
        AffineMapAttr::get(map(whole.strides)));
    plan::CopyOp::create(builder, ret.getLoc(),
                         materialize(ret.getOperand(i), v), dst,
                         AffineMapAttr::get(map(*bytes)));
  }
  return success();
}

LogicalResult EntryLowering::arguments() {
  Block &body = func.getBody().front();
  for (BlockArgument arg : body.getArguments()) {
    unsigned i = arg.getArgNumber();
    auto type = dyn_cast<MemRefType>(arg.getType());
    if (!type)
      return func.emitError()
             << "hymir-compile: entry argument " << i << " is not a tensor";
    SmallVector<AffineExpr> shape;
    for (auto [d, extent] : llvm::enumerate(type.getShape())) {
      if (!ShapedType::isDynamic(extent)) {
        shape.push_back(constant(extent));
        continue;
      }
      if (numSymbols == 0) {
        numSymbols = 1;
        symbols.push_back(plan::SymbolAttr::get(
            context, "tokens", static_cast<int64_t>(inputs.size()),
            static_cast<int64_t>(d), options.maxTokens));
      }
      shape.push_back(getAffineSymbolExpr(0, context));
    }
    StringAttr name = getArgName(func, i);
    std::string argName = name ? name.str() : "arg" + std::to_string(i);
    if (!elementBytes(type.getElementType()))
      return func.emitError()
             << "hymir-compile: argument " << i << " has element type "
             << type.getElementType() << ", which the runtime cannot hold";
    // A split argument (hymir-shard): the spec has the whole tensor's shape,
    // each device's storage holds its part.
    SmallVector<AffineExpr> whole = shape;
    int64_t shardDim = -1;
    if (std::optional<int64_t> dim = getShardDim(func, i)) {
      int64_t d = *dim;
      if (d < 0 || d >= static_cast<int64_t>(shape.size()) ||
          !isa<AffineConstantExpr>(shape[d]))
        return func.emitError()
               << "hymir-compile: argument " << i << " is split along dim " << d
               << ", which is not a static dim";
      shardDim = d;
      whole[d] = shape[d] * options.devices;
    }
    auto spec = plan::TensorSpecAttr::get(
        context, argName, type.getElementType(),
        AffineMapAttr::get(AffineMap::get(0, numSymbols, whole, context)),
        shardDim, /*tiedTo=*/-1);
    Value storage;
    if (isParam(func, i)) {
      // Parameters are bound once per module, shared by name.
      if (llvm::any_of(
              shape, [](AffineExpr e) { return !isa<AffineConstantExpr>(e); }))
        return func.emitError() << "hymir-compile: parameter " << argName
                                << " must have a static shape";
      // Parameter specs are static: no symbols in their shape.
      spec = plan::TensorSpecAttr::get(
          context, argName, type.getElementType(),
          AffineMapAttr::get(AffineMap::get(0, 0, whole, context)), shardDim,
          /*tiedTo=*/-1);
      auto it = llvm::find_if(params, [&](Attribute p) {
        return cast<plan::TensorSpecAttr>(p).getName() == argName;
      });
      if (it != params.end() && *it != spec)
        return func.emitError()
               << "hymir-compile: parameter " << argName
               << " is declared with two different types (or split "
                  "differently across devices) by two entries";
      int64_t index = it - params.begin();
      if (it == params.end())
        params.push_back(spec);
      storage = plan::ParamOp::create(builder, func.getLoc(),
                                      plan::StorageType::get(context), index);
      inputOfArg.push_back(-1);
    } else {
      storage = plan::InputOp::create(builder, func.getLoc(),
                                      plan::StorageType::get(context),
                                      static_cast<int64_t>(inputs.size()));
      inputOfArg.push_back(static_cast<int64_t>(inputs.size()));
      inputStorage.push_back(storage);
      inputs.push_back(spec);
    }
    FailureOr<View> v = shapedView(type, storage, shape, func);
    if (failed(v))
      return failure();
    views[arg] = *v;
  }
  return success();
}

FailureOr<plan::EntryOp> EntryLowering::lower() {
  OpBuilder at(func);
  entry = plan::EntryOp::create(at, func.getLoc(), func.getSymName(),
                                at.getArrayAttr({}), at.getArrayAttr({}),
                                at.getArrayAttr({}));
  builder.setInsertionPoint(entry.getBody().front().getTerminator());
  auto fail = [&]() -> FailureOr<plan::EntryOp> {
    entry.erase();
    return failure();
  };
  if (failed(arguments()))
    return fail();
  // The interface first: the steps' maps are verified against the symbols.
  entry.setInputsAttr(builder.getArrayAttr(inputs));
  entry.setSymbolsAttr(builder.getArrayAttr(symbols));
  for (Operation &op : func.getBody().front())
    if (failed(visit(&op)))
      return fail();
  entry.setInputsAttr(builder.getArrayAttr(inputs));
  entry.setOutputsAttr(builder.getArrayAttr(outputs));
  entry.setSymbolsAttr(builder.getArrayAttr(symbols));
  return entry;
}

struct LowerToPlanPass
    : public hymir::impl::HymirLowerToPlanBase<LowerToPlanPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = module.getContext();
    if (maxTokens < 1) {
      module.emitError() << "hymir-lower-to-plan: max-tokens must be "
                            "positive, got "
                         << maxTokens;
      return signalPassFailure();
    }
    SmallVector<Attribute> params;
    SmallVector<func::FuncOp> lowered;
    HymirLowerToPlanOptions options{maxTokens, devices, target, chip};
    for (auto func : module.getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal())
        continue;
      if (failed(EntryLowering(func, params, options).lower()))
        return signalPassFailure();
      lowered.push_back(func);
    }
    // The host code is the plan now; private helpers went with inlining.
    for (auto func : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      func.erase();
    Builder b(context);
    module->setAttr(plan::PlanDialect::kTargetAttrName,
                    b.getStringAttr(target));
    module->setAttr(plan::PlanDialect::kChipAttrName, b.getStringAttr(chip));
    module->setAttr(plan::PlanDialect::kDevicesAttrName,
                    b.getI64IntegerAttr(devices));
    module->setAttr(plan::PlanDialect::kParamsAttrName, b.getArrayAttr(params));
  }
};

} // namespace
