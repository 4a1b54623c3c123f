//===- PlanBuilder.cpp - execution plans from host IR ---------------------===//
//
// See PlanBuilder.h. Index values of the host function are evaluated into
// SizeExprs over the entry's one dynamic symbol (the token count); memrefs
// are tracked as views (storage, byte offset, sizes, strides). Each op of the
// host function either becomes a plan step or only feeds these evaluations.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/PlanBuilder.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/DenseMap.h"

#include <algorithm>

using namespace mlir;
namespace rt = ::hymir;
using rt::SizeExprSpec;

namespace mlir::hymir {

std::optional<rt::DType> toDType(Type type) {
  if (type.isF32())
    return rt::DType::F32;
  if (type.isBF16())
    return rt::DType::BF16;
  if (type.isF16())
    return rt::DType::F16;
  if (type.isF64())
    return rt::DType::F64;
  if (type.isInteger(32))
    return rt::DType::I32;
  if (type.isInteger(64))
    return rt::DType::I64;
  if (type.isInteger(8))
    return rt::DType::U8;
  return std::nullopt;
}

namespace {

//===----------------------------------------------------------------------===//
// Size expressions over the token symbol
//===----------------------------------------------------------------------===//

bool isConstant(const SizeExprSpec &e) {
  return e.terms.empty() && e.divisor == 1;
}

SizeExprSpec constant(int64_t c) { return SizeExprSpec::of(c); }

std::optional<SizeExprSpec> add(const SizeExprSpec &a, const SizeExprSpec &b,
                                int64_t sign = 1) {
  if (a.divisor != 1 || b.divisor != 1)
    return std::nullopt;
  SizeExprSpec r = a;
  r.constant += sign * b.constant;
  for (auto [sym, coeff] : b.terms) {
    uint32_t symbol = sym;
    auto it =
        llvm::find_if(r.terms, [&](auto &t) { return t.first == symbol; });
    if (it == r.terms.end())
      r.terms.push_back({sym, sign * coeff});
    else
      it->second += sign * coeff;
  }
  llvm::erase_if(r.terms, [](auto &t) { return t.second == 0; });
  return r;
}

std::optional<SizeExprSpec> mul(const SizeExprSpec &a, const SizeExprSpec &b) {
  if (!isConstant(a) && !isConstant(b))
    return std::nullopt;
  const SizeExprSpec &e = isConstant(a) ? b : a;
  int64_t c = isConstant(a) ? a.constant : b.constant;
  if (e.divisor != 1)
    return std::nullopt;
  SizeExprSpec r = e;
  r.constant *= c;
  for (auto &t : r.terms)
    t.second *= c;
  llvm::erase_if(r.terms, [](auto &t) { return t.second == 0; });
  return r;
}

std::optional<SizeExprSpec> floorDiv(const SizeExprSpec &a, int64_t c) {
  if (c <= 0 || a.divisor != 1)
    return std::nullopt;
  if (isConstant(a))
    return constant(a.constant >= 0 ? a.constant / c
                                    : -((-a.constant + c - 1) / c));
  bool exact = a.constant % c == 0 && llvm::all_of(a.terms, [&](auto &t) {
                 return t.second % c == 0;
               });
  SizeExprSpec r = a;
  if (exact) {
    r.constant /= c;
    for (auto &t : r.terms)
      t.second /= c;
  } else {
    r.divisor = c;
  }
  return r;
}

std::optional<SizeExprSpec> ceilDiv(const SizeExprSpec &a, int64_t c) {
  std::optional<SizeExprSpec> biased = add(a, constant(c - 1));
  if (!biased)
    return std::nullopt;
  return floorDiv(*biased, c);
}

/// The value of `e` with every symbol at `value`.
int64_t evaluateAt(const SizeExprSpec &e, int64_t value) {
  int64_t sum = e.constant;
  for (auto [sym, coeff] : e.terms)
    sum += coeff * value;
  return sum >= 0 ? sum / e.divisor : -((-sum + e.divisor - 1) / e.divisor);
}

//===----------------------------------------------------------------------===//
// Views of memrefs
//===----------------------------------------------------------------------===//

struct View {
  rt::RefDesc ref;
  rt::DType dtype;
  std::vector<SizeExprSpec> sizes;
  std::vector<SizeExprSpec> strides; // in elements
};

class Builder {
public:
  Builder(func::FuncOp func, func::FuncOp original, ModuleTables &tables,
          const PlanOptions &options)
      : func(func), original(original), tables(tables), options(options) {}

  FailureOr<rt::EntryDesc> build();

private:
  FailureOr<SizeExprSpec> size(Value v);
  FailureOr<View> view(Value v, Operation *user);
  FailureOr<std::vector<SizeExprSpec>>
  rowMajorStrides(ArrayRef<SizeExprSpec> sizes, Operation *op);
  FailureOr<View> shapedView(MemRefType type, rt::RefDesc ref,
                             ArrayRef<SizeExprSpec> sizes, Operation *op);
  LogicalResult visit(Operation *op);
  LogicalResult launch(gpu::LaunchFuncOp op);
  LogicalResult branch(scf::IfOp op);
  LogicalResult gemm(linalg::GenericOp op);
  LogicalResult collective(linalg::GenericOp op, rt::CollectiveKind kind);
  LogicalResult finish(func::ReturnOp ret);
  void planArena();
  void touch(const rt::RefDesc &ref) {
    if (ref.kind == rt::StorageKind::Buffer)
      lastUse[ref.index] = entry.plan.size();
  }

  func::FuncOp func, original;
  ModuleTables &tables;
  const PlanOptions &options;
  rt::EntryDesc entry;
  llvm::DenseMap<Value, SizeExprSpec> sizes;
  llvm::DenseMap<Value, View> views;
  // Buffer index -> plan positions of its allocation and last use.
  std::vector<size_t> firstUse, lastUse;
  std::vector<uint64_t> bufferBytes;
  // The token counts the ops being visited run for (inside scf.if on the
  // token count): [lo, hi], hi -1 for no bound.
  int64_t guardLo = 0, guardHi = -1;
  bool guarded() const { return guardLo != 0 || guardHi != -1; }
};

FailureOr<SizeExprSpec> Builder::size(Value v) {
  if (auto it = sizes.find(v); it != sizes.end())
    return it->second;
  Operation *def = v.getDefiningOp();
  auto fail = [&]() -> FailureOr<SizeExprSpec> {
    if (def)
      return def->emitError("hymir-compile: cannot express this size in the "
                            "execution plan (sizes must be affine in the "
                            "token count)");
    return func.emitError("hymir-compile: index argument in an entry");
  };
  if (!def)
    return fail();
  std::optional<SizeExprSpec> result;
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
    if (index && *index >= 0 &&
        *index < static_cast<int64_t>(src->sizes.size()))
      result = src->sizes[*index];
  } else if (auto apply = dyn_cast<affine::AffineApplyOp>(def)) {
    // Dims and symbols of the map are operands, in order.
    std::vector<SizeExprSpec> operands;
    for (Value operand : apply.getMapOperands()) {
      FailureOr<SizeExprSpec> e = size(operand);
      if (failed(e))
        return failure();
      operands.push_back(*e);
    }
    unsigned numDims = apply.getAffineMap().getNumDims();
    std::function<std::optional<SizeExprSpec>(AffineExpr)> eval =
        [&](AffineExpr e) -> std::optional<SizeExprSpec> {
      if (auto c = dyn_cast<AffineConstantExpr>(e))
        return constant(c.getValue());
      if (auto d = dyn_cast<AffineDimExpr>(e))
        return operands[d.getPosition()];
      if (auto s = dyn_cast<AffineSymbolExpr>(e))
        return operands[numDims + s.getPosition()];
      auto bin = cast<AffineBinaryOpExpr>(e);
      std::optional<SizeExprSpec> l = eval(bin.getLHS()),
                                  r = eval(bin.getRHS());
      if (!l || !r)
        return std::nullopt;
      switch (e.getKind()) {
      case AffineExprKind::Add:
        return add(*l, *r);
      case AffineExprKind::Mul:
        return mul(*l, *r);
      case AffineExprKind::FloorDiv:
        return isConstant(*r) ? floorDiv(*l, r->constant) : std::nullopt;
      case AffineExprKind::CeilDiv:
        return isConstant(*r) ? ceilDiv(*l, r->constant) : std::nullopt;
      default:
        return std::nullopt;
      }
    };
    result = eval(apply.getAffineMap().getResult(0));
  } else if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::DivUIOp,
                 arith::CeilDivUIOp, arith::DivSIOp, arith::CeilDivSIOp>(def)) {
    FailureOr<SizeExprSpec> a = size(def->getOperand(0));
    FailureOr<SizeExprSpec> b = size(def->getOperand(1));
    if (failed(a) || failed(b))
      return failure();
    if (isa<arith::AddIOp>(def))
      result = add(*a, *b);
    else if (isa<arith::SubIOp>(def))
      result = add(*a, *b, -1);
    else if (isa<arith::MulIOp>(def))
      result = mul(*a, *b);
    else if (isConstant(*b) && isa<arith::DivUIOp, arith::DivSIOp>(def))
      result = floorDiv(*a, b->constant);
    else if (isConstant(*b))
      result = ceilDiv(*a, b->constant);
  }
  if (!result)
    return fail();
  sizes[v] = *result;
  return *result;
}

FailureOr<std::vector<SizeExprSpec>>
Builder::rowMajorStrides(ArrayRef<SizeExprSpec> shape, Operation *op) {
  std::vector<SizeExprSpec> strides(shape.size());
  SizeExprSpec running = constant(1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = running;
    std::optional<SizeExprSpec> next = mul(running, shape[i]);
    if (!next && i > 0)
      return op->emitError("hymir-compile: a stride is not affine in the "
                           "token count (two dynamic dims in one tensor)");
    if (next)
      running = *next;
  }
  return strides;
}

FailureOr<View> Builder::shapedView(MemRefType type, rt::RefDesc ref,
                                    ArrayRef<SizeExprSpec> shape,
                                    Operation *op) {
  std::optional<rt::DType> dtype = toDType(type.getElementType());
  if (!dtype)
    return op->emitError() << "hymir-compile: element type "
                           << type.getElementType() << " has no runtime dtype";
  if (!type.getLayout().isIdentity())
    return op->emitError("hymir-compile: only contiguous (identity layout) "
                         "memrefs can be planned so far");
  FailureOr<std::vector<SizeExprSpec>> strides = rowMajorStrides(shape, op);
  if (failed(strides))
    return failure();
  return View{ref, *dtype,
              std::vector<SizeExprSpec>(shape.begin(), shape.end()), *strides};
}

FailureOr<View> Builder::view(Value v, Operation *user) {
  if (auto it = views.find(v); it != views.end())
    return it->second;
  return user->emitError("hymir-compile: operand has no planned storage");
}

LogicalResult Builder::launch(gpu::LaunchFuncOp op) {
  // Under nested branches whose ranges exclude each other the launch never
  // runs: it is left out of the plan.
  if (guardHi >= 0 && guardHi < guardLo)
    return success();
  std::string key = (op.getKernelModuleName().getValue() +
                     "::" + op.getKernelName().getValue())
                        .str();
  auto kernel = tables.kernels.find(key);
  if (kernel == tables.kernels.end())
    return op.emitError() << "hymir-compile: unknown kernel " << key;
  rt::LaunchKernelDesc step;
  step.kernel = kernel->second;
  gpu::KernelDim3 grid = op.getGridSizeOperandValues();
  gpu::KernelDim3 block = op.getBlockSizeOperandValues();
  for (Value g : {grid.x, grid.y, grid.z}) {
    FailureOr<SizeExprSpec> s = size(g);
    if (failed(s))
      return failure();
    step.grid.push_back(*s);
  }
  for (Value b : {block.x, block.y, block.z}) {
    FailureOr<SizeExprSpec> s = size(b);
    if (failed(s) || !isConstant(*s))
      return op.emitError("hymir-compile: block sizes must be constants");
    step.block.push_back(static_cast<uint32_t>(s->constant));
  }
  if (Value smem = op.getDynamicSharedMemorySize()) {
    FailureOr<SizeExprSpec> s = size(smem);
    if (failed(s) || !isConstant(*s))
      return op.emitError("hymir-compile: shared memory size must be "
                          "constant");
    step.sharedMemoryBytes = static_cast<uint32_t>(s->constant);
  }
  for (Value arg : op.getKernelOperands()) {
    rt::KernelArgDesc desc;
    if (isa<MemRefType>(arg.getType())) {
      FailureOr<View> v = view(arg, op);
      if (failed(v))
        return failure();
      desc.isTensor = true;
      desc.ref = v->ref;
      desc.dtype = v->dtype;
      desc.sizes = v->sizes;
      desc.strides = v->strides;
      touch(v->ref);
    } else if (arg.getType().isIndex()) {
      FailureOr<SizeExprSpec> s = size(arg);
      if (failed(s))
        return failure();
      desc.scalar = *s;
    } else {
      return op.emitError() << "hymir-compile: kernel argument of type "
                            << arg.getType() << " cannot be passed";
    }
    step.args.push_back(std::move(desc));
  }
  step.tokensAtLeast = guardLo;
  step.tokensAtMost = guardHi;
  entry.plan.push_back(std::move(step));
  return success();
}

LogicalResult Builder::branch(scf::IfOp op) {
  // scf.if (tokens <op> constant): the then-branch's launches run for one
  // range of token counts, the else-branch's for the rest.
  auto fail = [&]() {
    return op.emitError("hymir-compile: a branch in an entry must compare "
                        "the token count with a constant and yield nothing");
  };
  auto cmp = op.getCondition().getDefiningOp<arith::CmpIOp>();
  if (!cmp || op.getNumResults() != 0)
    return fail();
  FailureOr<SizeExprSpec> lhs = size(cmp.getLhs());
  FailureOr<SizeExprSpec> rhs = size(cmp.getRhs());
  if (failed(lhs) || failed(rhs))
    return failure();
  auto isTokens = [](const SizeExprSpec &e) {
    return e.constant == 0 && e.divisor == 1 && e.terms.size() == 1 &&
           e.terms[0].first == 0 && e.terms[0].second == 1;
  };
  arith::CmpIPredicate pred = cmp.getPredicate();
  int64_t c;
  if (isTokens(*lhs) && isConstant(*rhs)) {
    c = rhs->constant;
  } else if (isConstant(*lhs) && isTokens(*rhs)) {
    c = lhs->constant;
    // c < tokens is tokens > c, and so on.
    switch (pred) {
    case arith::CmpIPredicate::ult:
      pred = arith::CmpIPredicate::ugt;
      break;
    case arith::CmpIPredicate::ule:
      pred = arith::CmpIPredicate::uge;
      break;
    case arith::CmpIPredicate::ugt:
      pred = arith::CmpIPredicate::ult;
      break;
    case arith::CmpIPredicate::uge:
      pred = arith::CmpIPredicate::ule;
      break;
    case arith::CmpIPredicate::slt:
      pred = arith::CmpIPredicate::sgt;
      break;
    case arith::CmpIPredicate::sle:
      pred = arith::CmpIPredicate::sge;
      break;
    case arith::CmpIPredicate::sgt:
      pred = arith::CmpIPredicate::slt;
      break;
    case arith::CmpIPredicate::sge:
      pred = arith::CmpIPredicate::sle;
      break;
    default:
      break;
    }
  } else {
    return fail();
  }
  // The then-range [lo, hi] (hi -1: unbounded) of token counts >= 0.
  int64_t lo = 0, hi = -1;
  switch (pred) {
  case arith::CmpIPredicate::ule:
  case arith::CmpIPredicate::sle:
    hi = c;
    break;
  case arith::CmpIPredicate::ult:
  case arith::CmpIPredicate::slt:
    hi = c - 1;
    break;
  case arith::CmpIPredicate::uge:
  case arith::CmpIPredicate::sge:
    lo = c;
    break;
  case arith::CmpIPredicate::ugt:
  case arith::CmpIPredicate::sgt:
    lo = c + 1;
    break;
  default:
    return fail();
  }
  if (c < 0 || hi < -1 || (lo == 0 && hi == -1))
    return fail();
  int64_t savedLo = guardLo, savedHi = guardHi;
  auto within = [&](int64_t l, int64_t h) -> LogicalResult {
    guardLo = std::max(savedLo, l);
    guardHi = savedHi < 0 ? h : (h < 0 ? savedHi : std::min(savedHi, h));
    return success();
  };
  auto visitBlock = [&](Block *block) -> LogicalResult {
    for (Operation &inner : *block)
      if (failed(visit(&inner)))
        return failure();
    return success();
  };
  (void)within(lo, hi);
  if (failed(visitBlock(op.thenBlock())))
    return failure();
  if (op.elseBlock()) {
    // The complement of [lo, hi] within the token counts, one range.
    if (lo == 0)
      (void)within(hi + 1, -1);
    else
      (void)within(0, lo - 1);
    if (failed(visitBlock(op.elseBlock())))
      return failure();
  }
  guardLo = savedLo;
  guardHi = savedHi;
  return success();
}

LogicalResult Builder::gemm(linalg::GenericOp op) {
  auto kind = op->getAttrOfType<StringAttr>("hymir.library_call");
  if (!kind || kind.getValue() != "gemm" || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1)
    return op.emitError("hymir-compile: unknown library call");
  FailureOr<View> x = view(op.getDpsInputs()[0], op);
  FailureOr<View> w = view(op.getDpsInputs()[1], op);
  FailureOr<View> y = view(op.getDpsInits()[0], op);
  if (failed(x) || failed(w) || failed(y))
    return failure();
  if (x->sizes.size() != 2 || w->sizes.size() != 2 || y->sizes.size() != 2 ||
      !isConstant(w->sizes[0]) || !isConstant(w->sizes[1]))
    return op.emitError("hymir-compile: a library GEMM needs 2-d operands "
                        "and a static weight");
  rt::GemmDesc g;
  g.x = x->ref;
  g.w = w->ref;
  g.y = y->ref;
  g.m = x->sizes[0];
  g.n = w->sizes[0].constant;
  g.k = w->sizes[1].constant;
  g.dtype = x->dtype;
  g.outDtype = y->dtype;
  if (w->dtype != x->dtype)
    return op.emitError("hymir-compile: a library GEMM needs x and the "
                        "weight in one dtype");
  auto precision = op->getAttrOfType<StringAttr>("hymir.precision");
  g.f32Precision = precision && precision.getValue() == "f32";
  touch(x->ref);
  touch(w->ref);
  touch(y->ref);
  entry.plan.push_back(g);
  return success();
}

/// A collective from hymir-lower-to-linalg: the generic's input is this
/// device's contribution and its init the whole result, both contiguous.
LogicalResult Builder::collective(linalg::GenericOp op,
                                  rt::CollectiveKind kind) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1)
    return op.emitError("hymir-compile: a collective has one input and one "
                        "init");
  FailureOr<View> src = view(op.getDpsInputs()[0], op);
  FailureOr<View> dst = view(op.getDpsInits()[0], op);
  if (failed(src) || failed(dst))
    return failure();
  if (src->dtype != dst->dtype)
    return op.emitError("hymir-compile: a collective keeps its dtype");
  SizeExprSpec elements = constant(1);
  for (const SizeExprSpec &s : src->sizes) {
    std::optional<SizeExprSpec> next = mul(elements, s);
    if (!next)
      return op.emitError("hymir-compile: collective size is not affine in "
                          "the token count");
    elements = *next;
  }
  if (kind == rt::CollectiveKind::AllGather) {
    // The stacked result's outer dim is the device axis.
    const SizeExprSpec &axis = dst->sizes.front();
    if (!isConstant(axis) || axis.constant != options.devices)
      return op.emitError()
             << "hymir-compile: all_gather over "
             << (isConstant(axis) ? std::to_string(axis.constant) : "?")
             << " devices in a module compiled for " << options.devices
             << " (--devices)";
  }
  touch(src->ref);
  touch(dst->ref);
  entry.plan.push_back(
      rt::CollectiveDesc{kind, src->ref, dst->ref, src->dtype, elements});
  return success();
}

LogicalResult Builder::visit(Operation *op) {
  if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
    MemRefType type = alloc.getType();
    std::vector<SizeExprSpec> shape;
    auto dyn = alloc.getDynamicSizes().begin();
    for (int64_t d : type.getShape()) {
      if (!ShapedType::isDynamic(d)) {
        shape.push_back(constant(d));
        continue;
      }
      FailureOr<SizeExprSpec> s = size(*dyn++);
      if (failed(s))
        return failure();
      shape.push_back(*s);
    }
    rt::RefDesc ref{rt::StorageKind::Buffer,
                    static_cast<uint32_t>(bufferBytes.size()), constant(0)};
    FailureOr<View> v = shapedView(type, ref, shape, op);
    if (failed(v))
      return failure();
    uint64_t elements = 1;
    for (const SizeExprSpec &s : shape)
      elements *= static_cast<uint64_t>(
          std::max<int64_t>(0, evaluateAt(s, options.maxTokens)));
    bufferBytes.push_back(elements * rt::dtypeSize(v->dtype));
    firstUse.push_back(entry.plan.size());
    lastUse.push_back(entry.plan.size());
    views[alloc.getResult()] = *v;
    return success();
  }
  if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(op)) {
    FailureOr<View> src = view(op->getOperand(0), op);
    if (failed(src))
      return failure();
    auto type = cast<MemRefType>(op->getResult(0).getType());
    std::vector<SizeExprSpec> shape;
    if (auto expand = dyn_cast<memref::ExpandShapeOp>(op)) {
      for (OpFoldResult s : expand.getMixedOutputShape()) {
        if (auto attr = dyn_cast<Attribute>(s)) {
          shape.push_back(constant(cast<IntegerAttr>(attr).getInt()));
          continue;
        }
        FailureOr<SizeExprSpec> e = size(cast<Value>(s));
        if (failed(e))
          return failure();
        shape.push_back(*e);
      }
    } else {
      auto collapse = cast<memref::CollapseShapeOp>(op);
      for (ReassociationIndices group : collapse.getReassociationIndices()) {
        SizeExprSpec product = constant(1);
        for (int64_t i : group) {
          std::optional<SizeExprSpec> next = mul(product, src->sizes[i]);
          if (!next)
            return op->emitError("hymir-compile: collapsed size is not affine "
                                 "in the token count");
          product = *next;
        }
        shape.push_back(product);
      }
    }
    FailureOr<View> v = shapedView(type, src->ref, shape, op);
    if (failed(v))
      return failure();
    views[op->getResult(0)] = *v;
    return success();
  }
  if (auto copy = dyn_cast<memref::CopyOp>(op)) {
    FailureOr<View> src = view(copy.getSource(), op);
    FailureOr<View> dst = view(copy.getTarget(), op);
    if (failed(src) || failed(dst))
      return failure();
    SizeExprSpec bytes = constant(rt::dtypeSize(src->dtype));
    for (const SizeExprSpec &s : src->sizes) {
      std::optional<SizeExprSpec> next = mul(bytes, s);
      if (!next)
        return op->emitError("hymir-compile: copy size is not affine in the "
                             "token count");
      bytes = *next;
    }
    touch(src->ref);
    touch(dst->ref);
    entry.plan.push_back(rt::CopyDesc{src->ref, dst->ref, bytes});
    return success();
  }
  if (auto launchOp = dyn_cast<gpu::LaunchFuncOp>(op))
    return launch(launchOp);
  if (auto ifOp = dyn_cast<scf::IfOp>(op))
    return branch(ifOp);
  // Inside a branch on the token count only launches (and index arithmetic)
  // can be placed: they are the steps that carry a guard.
  if (guarded() &&
      !isa<arith::ConstantOp, memref::DimOp, affine::AffineApplyOp,
           arith::CmpIOp, scf::YieldOp>(op) &&
      !(op->getDialect() && isa<arith::ArithDialect>(op->getDialect()) &&
        llvm::all_of(op->getResultTypes(), [](Type t) { return t.isIndex(); })))
    return op->emitError("hymir-compile: only kernel launches can depend on "
                         "the token count (inside scf.if)");
  if (auto generic = dyn_cast<linalg::GenericOp>(op);
      generic && generic->hasAttr("hymir.library_call")) {
    auto kind = generic->getAttrOfType<StringAttr>("hymir.library_call");
    if (kind && kind.getValue() == "all_reduce")
      return collective(generic, rt::CollectiveKind::AllReduceSum);
    if (kind && kind.getValue() == "all_gather")
      return collective(generic, rt::CollectiveKind::AllGather);
    return gemm(generic);
  }
  if (auto ret = dyn_cast<func::ReturnOp>(op))
    return finish(ret);
  // Index arithmetic, shape queries and constants are evaluated on demand.
  // (A comparison is read by the scf.if it decides: see branch().)
  if (isa<arith::ConstantOp, memref::DimOp, affine::AffineApplyOp,
          arith::CmpIOp>(op) ||
      (op->getDialect() && isa<arith::ArithDialect>(op->getDialect()) &&
       llvm::all_of(op->getResultTypes(), [](Type t) { return t.isIndex(); })))
    return success();
  if (isa<memref::DeallocOp, scf::YieldOp>(op))
    return success();
  return op->emitError("hymir-compile: op cannot be placed in an execution "
                       "plan");
}

LogicalResult Builder::finish(func::ReturnOp ret) {
  // An output whose value is a buffer of its own (returned once) is computed
  // in place in the caller's output tensor; anything else is copied there.
  llvm::DenseMap<uint32_t, int> returnedBuffers;
  for (Value v : ret.getOperands()) {
    FailureOr<View> view = this->view(v, ret);
    if (failed(view))
      return failure();
    if (view->ref.kind == rt::StorageKind::Buffer)
      ++returnedBuffers[view->ref.index];
  }
  std::map<uint32_t, uint32_t> bufferToOutput;
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    View view = views[v];
    rt::TensorSpecDesc spec;
    auto name = original.getResultAttrOfType<StringAttr>(i, "hymir.name");
    spec.name = name ? name.str() : "result" + std::to_string(i);
    spec.dtype = view.dtype;
    spec.shape = view.sizes;
    entry.outputs.push_back(spec);
    bool inPlace = view.ref.kind == rt::StorageKind::Buffer &&
                   returnedBuffers[view.ref.index] == 1 &&
                   isConstant(view.ref.offsetBytes) &&
                   view.ref.offsetBytes.constant == 0;
    if (inPlace) {
      bufferToOutput[view.ref.index] = i;
      continue;
    }
    SizeExprSpec bytes = constant(rt::dtypeSize(view.dtype));
    for (const SizeExprSpec &s : view.sizes) {
      std::optional<SizeExprSpec> next = mul(bytes, s);
      if (!next)
        return ret.emitError("hymir-compile: output size is not affine in the "
                             "token count");
      bytes = *next;
    }
    touch(view.ref);
    entry.plan.push_back(
        rt::CopyDesc{view.ref,
                     rt::RefDesc{rt::StorageKind::Output,
                                 static_cast<uint32_t>(i), constant(0)},
                     bytes});
  }
  // Retarget in-place outputs, then renumber the remaining buffers.
  std::vector<int64_t> renumber(bufferBytes.size(), -1);
  std::vector<uint64_t> keptBytes;
  std::vector<size_t> keptFirst, keptLast;
  for (size_t b = 0; b < bufferBytes.size(); ++b) {
    if (bufferToOutput.count(b))
      continue;
    renumber[b] = keptBytes.size();
    keptBytes.push_back(bufferBytes[b]);
    keptFirst.push_back(firstUse[b]);
    keptLast.push_back(lastUse[b]);
  }
  auto fix = [&](rt::RefDesc &ref) {
    if (ref.kind != rt::StorageKind::Buffer)
      return;
    if (auto it = bufferToOutput.find(ref.index); it != bufferToOutput.end()) {
      ref.kind = rt::StorageKind::Output;
      ref.index = it->second;
    } else {
      ref.index = static_cast<uint32_t>(renumber[ref.index]);
    }
  };
  for (rt::StepDesc &step : entry.plan) {
    if (auto *l = std::get_if<rt::LaunchKernelDesc>(&step)) {
      for (rt::KernelArgDesc &a : l->args)
        if (a.isTensor)
          fix(a.ref);
    } else if (auto *c = std::get_if<rt::CopyDesc>(&step)) {
      fix(c->src);
      fix(c->dst);
    } else if (auto *g = std::get_if<rt::GemmDesc>(&step)) {
      fix(g->x);
      fix(g->w);
      fix(g->y);
    } else if (auto *c = std::get_if<rt::CollectiveDesc>(&step)) {
      fix(c->src);
      fix(c->dst);
    }
  }
  bufferBytes = std::move(keptBytes);
  firstUse = std::move(keptFirst);
  lastUse = std::move(keptLast);
  planArena();
  return success();
}

/// First-fit placement of buffers by decreasing size: two buffers share
/// bytes only if their plan intervals [first use, last use] are disjoint.
void Builder::planArena() {
  size_t n = bufferBytes.size();
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return bufferBytes[a] > bufferBytes[b];
  });
  entry.buffers.assign(n, rt::BufferSlotDesc{});
  std::vector<bool> placed(n, false);
  uint64_t arena = 0;
  auto alignUp = [&](uint64_t x) {
    return (x + options.alignment - 1) / options.alignment * options.alignment;
  };
  for (size_t b : order) {
    uint64_t size = alignUp(std::max<uint64_t>(bufferBytes[b], 1));
    // Candidate offsets: 0 and the end of every live-overlapping buffer.
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (size_t o = 0; o < n; ++o) {
      if (!placed[o])
        continue;
      bool overlap = !(lastUse[o] < firstUse[b] || lastUse[b] < firstUse[o]);
      if (overlap)
        busy.push_back(
            {entry.buffers[o].arenaOffset,
             entry.buffers[o].arenaOffset +
                 alignUp(std::max<uint64_t>(entry.buffers[o].sizeBytes, 1))});
    }
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0;
    for (auto [lo, hi] : busy) {
      if (offset + size <= lo)
        break;
      offset = std::max(offset, hi);
    }
    entry.buffers[b] = rt::BufferSlotDesc{offset, bufferBytes[b]};
    placed[b] = true;
    arena = std::max(arena, offset + size);
  }
  entry.arenaBytes = arena;
}

FailureOr<rt::EntryDesc> Builder::build() {
  entry.name = func.getSymName().str();
  Block &body = func.getBody().front();
  bool hasSymbol = false;
  for (BlockArgument arg : body.getArguments()) {
    auto type = dyn_cast<MemRefType>(arg.getType());
    if (!type)
      return func.emitError() << "hymir-compile: entry argument "
                              << arg.getArgNumber() << " is not a tensor";
    std::vector<SizeExprSpec> shape;
    for (auto [d, extent] : llvm::enumerate(type.getShape())) {
      if (!ShapedType::isDynamic(extent)) {
        shape.push_back(constant(extent));
        continue;
      }
      if (!hasSymbol) {
        hasSymbol = true;
        entry.symbols.push_back(
            rt::SymbolDesc{"tokens", static_cast<uint32_t>(entry.inputs.size()),
                           static_cast<uint32_t>(d), options.maxTokens});
      }
      shape.push_back(SizeExprSpec::ofSymbol(0));
    }
    unsigned i = arg.getArgNumber();
    auto name = original.getArgAttrOfType<StringAttr>(i, "hymir.name");
    rt::TensorSpecDesc spec;
    spec.name = name ? name.str() : "arg" + std::to_string(i);
    std::optional<rt::DType> dtype = toDType(type.getElementType());
    if (!dtype)
      return func.emitError()
             << "hymir-compile: argument " << i << " has element type "
             << type.getElementType() << ", which the runtime cannot hold";
    spec.dtype = *dtype;
    spec.shape = shape;
    // A split argument (hymir-shard): the spec has the whole tensor's shape,
    // each device's storage holds its part.
    if (auto dim = func.getArgAttrOfType<IntegerAttr>(i, "hymir.shard_dim")) {
      int64_t d = dim.getInt();
      if (d < 0 || d >= static_cast<int64_t>(shape.size()) ||
          !isConstant(shape[d]))
        return func.emitError()
               << "hymir-compile: argument " << i << " is split along dim " << d
               << ", which is not a static dim";
      spec.shardDim = static_cast<int32_t>(d);
      spec.shape[d] = constant(shape[d].constant * options.devices);
    }
    rt::RefDesc ref{rt::StorageKind::Input,
                    static_cast<uint32_t>(entry.inputs.size()), constant(0)};
    if (original.getArgAttr(i, "hymir.param")) {
      // Parameters are bound once per module, shared by name.
      if (hasSymbol &&
          llvm::any_of(shape, [](auto &s) { return !isConstant(s); }))
        return func.emitError() << "hymir-compile: parameter " << spec.name
                                << " must have a static shape";
      auto it = llvm::find_if(tables.params,
                              [&](auto &p) { return p.name == spec.name; });
      if (it != tables.params.end() && *it != spec)
        return func.emitError()
               << "hymir-compile: parameter " << spec.name
               << " is declared with two different types (or split "
                  "differently across devices) by two entries";
      ref.kind = rt::StorageKind::Param;
      ref.index = it != tables.params.end()
                      ? static_cast<uint32_t>(it - tables.params.begin())
                      : static_cast<uint32_t>(tables.params.size());
      if (it == tables.params.end())
        tables.params.push_back(spec);
    } else {
      entry.inputs.push_back(spec);
    }
    FailureOr<View> v = shapedView(type, ref, shape, func);
    if (failed(v))
      return failure();
    views[arg] = *v;
  }
  for (Operation &op : body)
    if (failed(visit(&op)))
      return failure();
  return entry;
}

} // namespace

FailureOr<rt::EntryDesc> buildEntryPlan(func::FuncOp func,
                                        func::FuncOp original,
                                        ModuleTables &tables,
                                        const PlanOptions &options) {
  return Builder(func, original, tables, options).build();
}

} // namespace mlir::hymir
