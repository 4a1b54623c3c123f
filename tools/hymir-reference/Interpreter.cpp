//===- Interpreter.cpp - evaluate hymir IR with the oracle ----------------===//
//
// See Interpreter.h. Values live in a map from SSA values; each op is handled
// by one small function. Shapes are checked against the static parts of the
// IR types as values flow, so a wrong dynamic size is reported at its op.
//
//===----------------------------------------------------------------------===//

#include "Interpreter.h"

#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <functional>
#include <random>

using namespace mlir;
namespace oracle = ::hymir::oracle;

namespace hymir::reference {
namespace {

std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<int64_t> shapeOf(const Value &v) {
  if (auto *t = std::get_if<oracle::Tensor>(&v))
    return t->shape;
  if (auto *t = std::get_if<oracle::IntTensor>(&v))
    return t->shape;
  return {};
}

class Frame {
public:
  explicit Frame(int depth) : depth(depth) {}

  LogicalResult run(func::FuncOp func, llvm::ArrayRef<Value> args,
                    std::vector<Value> &results);

private:
  LogicalResult set(mlir::Value ssa, Value v, Operation *op) {
    if (auto ranked = dyn_cast<RankedTensorType>(ssa.getType())) {
      std::vector<int64_t> shape = shapeOf(v);
      bool ok = shape.size() == static_cast<size_t>(ranked.getRank());
      for (size_t i = 0; ok && i < shape.size(); ++i)
        ok = ranked.isDynamicDim(i) || ranked.getDimSize(i) == shape[i];
      if (!ok)
        return op->emitError()
               << "reference: value of shape " << shapeString(shape)
               << " does not fit its type " << ranked;
    }
    values[ssa] = std::move(v);
    return success();
  }
  const oracle::Tensor &f(mlir::Value v) {
    return std::get<oracle::Tensor>(values[v]);
  }
  const oracle::IntTensor &i(mlir::Value v) {
    return std::get<oracle::IntTensor>(values[v]);
  }
  int64_t index(mlir::Value v) { return std::get<int64_t>(values[v]); }

  LogicalResult step(Operation *op, std::vector<Value> &results, bool &done);
  LogicalResult elementwise(Operation *op);
  LogicalResult constant(arith::ConstantOp op);
  LogicalResult slice(tensor::ExtractSliceOp op);
  LogicalResult hymirOp(Operation *op);

  int depth;
  llvm::DenseMap<mlir::Value, Value> values;
};

LogicalResult Frame::run(func::FuncOp func, llvm::ArrayRef<Value> args,
                         std::vector<Value> &results) {
  if (func.isExternal())
    return func.emitError() << "reference: cannot evaluate a declaration";
  if (depth > 64)
    return func.emitError() << "reference: call depth above 64";
  Block &entry = func.getBody().front();
  if (args.size() != entry.getNumArguments())
    return func.emitError() << "reference: expected " << entry.getNumArguments()
                            << " arguments, got " << args.size();
  for (auto [arg, v] : llvm::zip(entry.getArguments(), args))
    if (failed(set(arg, v, func)))
      return failure();
  for (Operation &op : entry) {
    bool done = false;
    if (failed(step(&op, results, done)))
      return failure();
    if (done)
      return success();
  }
  return func.emitError() << "reference: function has no return";
}

LogicalResult Frame::step(Operation *op, std::vector<Value> &results,
                          bool &done) {
  if (auto ret = dyn_cast<func::ReturnOp>(op)) {
    for (mlir::Value v : ret.getOperands())
      results.push_back(values[v]);
    done = true;
    return success();
  }
  if (auto call = dyn_cast<func::CallOp>(op)) {
    auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
        op, call.getCalleeAttr());
    if (!callee)
      return op->emitError() << "reference: unknown callee";
    std::vector<Value> args, out;
    for (mlir::Value v : call.getOperands())
      args.push_back(values[v]);
    if (failed(Frame(depth + 1).run(callee, args, out)))
      return failure();
    for (auto [r, v] : llvm::zip(call.getResults(), out))
      if (failed(set(r, std::move(v), op)))
        return failure();
    return success();
  }
  if (auto c = dyn_cast<arith::ConstantOp>(op))
    return constant(c);
  if (auto dim = dyn_cast<tensor::DimOp>(op)) {
    std::vector<int64_t> shape = shapeOf(values[dim.getSource()]);
    int64_t d = index(dim.getIndex());
    if (d < 0 || d >= static_cast<int64_t>(shape.size()))
      return op->emitError() << "reference: dim index " << d << " out of range";
    return set(dim.getResult(), shape[d], op);
  }
  if (auto splat = dyn_cast<tensor::SplatOp>(op)) {
    auto type = splat.getType();
    std::vector<int64_t> shape;
    auto dyn = splat.getDynamicSizes().begin();
    for (int64_t d : type.getShape())
      shape.push_back(ShapedType::isDynamic(d) ? index(*dyn++) : d);
    return set(splat.getResult(),
               oracle::Tensor(shape, f(splat.getInput()).data.at(0)), op);
  }
  if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(op)) {
    // Row-major reshapes keep the data; only the shape changes.
    oracle::Tensor t = f(op->getOperand(0));
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    std::vector<int64_t> shape(type.getShape());
    int64_t known = 1, dynamicAt = -1;
    for (auto [k, d] : llvm::enumerate(shape)) {
      if (ShapedType::isDynamic(d)) {
        if (dynamicAt >= 0)
          return op->emitError()
                 << "reference: reshape with more than one dynamic dim";
        dynamicAt = k;
      } else {
        known *= d;
      }
    }
    if (dynamicAt >= 0)
      shape[dynamicAt] = known ? t.numel() / known : 0;
    t.shape = shape;
    return set(op->getResult(0), std::move(t), op);
  }
  if (auto s = dyn_cast<tensor::ExtractSliceOp>(op))
    return slice(s);
  if (op->getDialect() && op->getDialect()->getNamespace() == "hymir")
    return hymirOp(op);
  if (isa<arith::ArithDialect, math::MathDialect>(op->getDialect()))
    return elementwise(op);
  return op->emitError() << "reference: op not supported by the evaluator";
}

LogicalResult Frame::constant(arith::ConstantOp op) {
  Attribute attr = op.getValue();
  if (auto i = dyn_cast<IntegerAttr>(attr)) {
    if (isa<IndexType>(i.getType()))
      return set(op.getResult(), i.getInt(), op);
    return set(op.getResult(), oracle::IntTensor{{}, {i.getInt()}}, op);
  }
  if (auto fl = dyn_cast<FloatAttr>(attr))
    return set(op.getResult(), oracle::Tensor({}, fl.getValueAsDouble()), op);
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return op.emitError() << "reference: unsupported constant";
  std::vector<int64_t> shape(dense.getType().getShape());
  if (isa<FloatType>(dense.getElementType())) {
    oracle::Tensor t(shape);
    size_t k = 0;
    for (APFloat v : dense.getValues<APFloat>())
      t.data[k++] = v.convertToDouble();
    return set(op.getResult(), std::move(t), op);
  }
  oracle::IntTensor t{shape, {}};
  for (APInt v : dense.getValues<APInt>())
    t.data.push_back(v.getSExtValue());
  return set(op.getResult(), std::move(t), op);
}

LogicalResult Frame::elementwise(Operation *op) {
  using Fn = std::function<double(double, double)>;
  Fn fn = llvm::TypeSwitch<Operation *, Fn>(op)
              .Case([](arith::AddFOp) {
                return [](double a, double b) { return a + b; };
              })
              .Case([](arith::SubFOp) {
                return [](double a, double b) { return a - b; };
              })
              .Case([](arith::MulFOp) {
                return [](double a, double b) { return a * b; };
              })
              .Case([](arith::DivFOp) {
                return [](double a, double b) { return a / b; };
              })
              .Case([](arith::MaximumFOp) {
                return [](double a, double b) { return std::fmax(a, b); };
              })
              .Case([](arith::MinimumFOp) {
                return [](double a, double b) { return std::fmin(a, b); };
              })
              .Case([](arith::NegFOp) {
                return [](double a, double) { return -a; };
              })
              .Case([](arith::ExtFOp) {
                return [](double a, double) { return a; };
              })
              .Case([](arith::TruncFOp) {
                return [](double a, double) { return a; };
              })
              .Case([](math::ExpOp) {
                return [](double a, double) { return std::exp(a); };
              })
              .Case([](math::LogOp) {
                return [](double a, double) { return std::log(a); };
              })
              .Case([](math::TanhOp) {
                return [](double a, double) { return std::tanh(a); };
              })
              .Case([](math::SqrtOp) {
                return [](double a, double) { return std::sqrt(a); };
              })
              .Case([](math::RsqrtOp) {
                return [](double a, double) { return 1 / std::sqrt(a); };
              })
              .Default([](Operation *) { return Fn(); });
  if (!fn || op->getNumResults() != 1 || op->getNumOperands() < 1 ||
      op->getNumOperands() > 2)
    return op->emitError() << "reference: op not supported by the evaluator";
  const oracle::Tensor &a = f(op->getOperand(0));
  const oracle::Tensor &b =
      op->getNumOperands() == 2 ? f(op->getOperand(1)) : a;
  if (a.shape != b.shape)
    return op->emitError() << "reference: operand shapes "
                           << shapeString(a.shape) << " and "
                           << shapeString(b.shape) << " differ";
  oracle::Tensor out(a.shape);
  for (int64_t k = 0; k < a.numel(); ++k)
    out.data[k] = fn(a.data[k], b.data[k]);
  return set(op->getResult(0), std::move(out), op);
}

LogicalResult Frame::slice(tensor::ExtractSliceOp op) {
  const oracle::Tensor &src = f(op.getSource());
  auto resolve = [&](ArrayRef<OpFoldResult> mixed) {
    std::vector<int64_t> out;
    for (OpFoldResult r : mixed) {
      if (auto attr = dyn_cast<Attribute>(r))
        out.push_back(cast<IntegerAttr>(attr).getInt());
      else
        out.push_back(index(cast<mlir::Value>(r)));
    }
    return out;
  };
  std::vector<int64_t> offsets = resolve(op.getMixedOffsets()),
                       sizes = resolve(op.getMixedSizes()),
                       strides = resolve(op.getMixedStrides());
  int64_t rank = src.rank();
  for (int64_t d = 0; d < rank; ++d)
    if (offsets[d] < 0 || sizes[d] < 0 ||
        (sizes[d] > 0 &&
         offsets[d] + (sizes[d] - 1) * strides[d] >= src.shape[d]))
      return op.emitError()
             << "reference: slice of dim " << d << " out of bounds for shape "
             << shapeString(src.shape);
  oracle::Tensor out(sizes);
  std::vector<int64_t> idx(rank, 0);
  for (int64_t k = 0; k < out.numel(); ++k) {
    int64_t srcOffset = 0;
    for (int64_t d = 0; d < rank; ++d)
      srcOffset = srcOffset * src.shape[d] + offsets[d] + idx[d] * strides[d];
    out.data[k] = src.data[srcOffset];
    for (int64_t d = rank - 1; d >= 0 && ++idx[d] == sizes[d]; --d)
      idx[d] = 0;
  }
  // Rank-reducing slices drop unit dims.
  auto type = op.getResultType();
  std::vector<int64_t> shape;
  if (type.getRank() != rank) {
    for (int64_t s : sizes)
      if (s != 1)
        shape.push_back(s);
    out.shape = shape;
  }
  return set(op.getResult(), std::move(out), op);
}

LogicalResult Frame::hymirOp(Operation *op) {
  using namespace mlir::hymir;
  try {
    if (auto la = dyn_cast<LightningAttentionOp>(op)) {
      const oracle::Tensor *init =
          la.getInitialState() ? &f(la.getInitialState()) : nullptr;
      oracle::LightningResult r = oracle::lightningAttentionRecurrent(
          f(la.getQ()), f(la.getK()), f(la.getV()), f(la.getSlopes()), init);
      if (failed(set(la.getOut(), std::move(r.out), op)))
        return failure();
      return set(la.getFinalState(), std::move(r.finalState), op);
    }
    if (auto sa = dyn_cast<SoftmaxAttentionOp>(op))
      return set(sa.getOut(),
                 oracle::softmaxAttention(f(sa.getQ()), f(sa.getK()),
                                          f(sa.getV()), sa.getCausal(),
                                          sa.getScale().convertToDouble()),
                 op);
    if (auto rope = dyn_cast<RopeOp>(op))
      return set(rope.getResult(),
                 oracle::rope(f(rope.getX()), i(rope.getPositions()),
                              rope.getRotaryDim(),
                              rope.getTheta().convertToDouble()),
                 op);
    if (auto norm = dyn_cast<RmsNormOp>(op))
      return set(norm.getResult(),
                 oracle::rmsNorm(f(norm.getX()), f(norm.getWeight()),
                                 norm.getEpsilon().convertToDouble()),
                 op);
    if (auto lin = dyn_cast<LinearOp>(op))
      return set(lin.getResult(),
                 oracle::linear(f(lin.getX()), f(lin.getWeight())), op);
    if (auto emb = dyn_cast<EmbeddingOp>(op))
      return set(emb.getResult(),
                 oracle::embedding(f(emb.getTable()), i(emb.getIds())), op);
    if (auto moe = dyn_cast<MoeOp>(op))
      return set(moe.getResult(),
                 oracle::moe(f(moe.getX()), f(moe.getRouter()), f(moe.getW1()),
                             f(moe.getW3()), f(moe.getW2()), moe.getTopK(),
                             moe.getRenormalize()),
                 op);
    if (auto loss = dyn_cast<CispoLossOp>(op)) {
      oracle::CispoResult r = oracle::cispoLoss(
          f(loss.getHidden()), f(loss.getLmHead()), i(loss.getTargets()),
          f(loss.getLogpOld()), f(loss.getAdvantages()), f(loss.getMask()),
          loss.getEpsLow().convertToDouble(),
          loss.getEpsHigh().convertToDouble(), loss.getUnifiedMask());
      if (failed(set(loss.getLoss(), oracle::Tensor({}, r.loss), op)) ||
          failed(set(loss.getLogpNew(), std::move(r.logpNew), op)) ||
          failed(set(loss.getDHidden(), std::move(r.dHidden), op)))
        return failure();
      return set(loss.getDLmHead(), std::move(r.dLmHead), op);
    }
  } catch (const std::exception &e) {
    return op->emitError() << "reference: " << e.what();
  }
  return op->emitError() << "reference: op not supported by the evaluator";
}

/// The first use of `arg` that is not a call: calls are followed into their
/// callee. Returns null when the argument has no such use.
OpOperand *firstRealUse(BlockArgument arg) {
  for (OpOperand &use : arg.getUses()) {
    auto call = dyn_cast<func::CallOp>(use.getOwner());
    if (!call)
      return &use;
    auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
        call, call.getCalleeAttr());
    if (callee && !callee.isExternal())
      if (OpOperand *inner =
              firstRealUse(callee.getArgument(use.getOperandNumber())))
        return inner;
  }
  return nullptr;
}

/// The size of the table an integer argument indexes, from its first use.
int64_t indexBound(BlockArgument arg, bool &isPositions) {
  isPositions = false;
  OpOperand *use = firstRealUse(arg);
  Operation *user = use ? use->getOwner() : nullptr;
  if (auto emb = dyn_cast_or_null<mlir::hymir::EmbeddingOp>(user))
    return emb.getTable().getType().getDimSize(0);
  if (auto loss = dyn_cast_or_null<mlir::hymir::CispoLossOp>(user))
    return loss.getLmHead().getType().getDimSize(0);
  isPositions = isa_and_nonnull<mlir::hymir::RopeOp>(user);
  return 16;
}

} // namespace

FailureOr<std::vector<Value>> evaluate(func::FuncOp func,
                                       llvm::ArrayRef<Value> args) {
  std::vector<Value> results;
  if (failed(Frame(0).run(func, args, results)))
    return failure();
  return results;
}

Value randomArgument(BlockArgument arg, int64_t tokens, uint64_t seed) {
  auto type = cast<RankedTensorType>(arg.getType());
  std::vector<int64_t> shape;
  for (int64_t d : type.getShape())
    shape.push_back(ShapedType::isDynamic(d) ? tokens : d);
  if (isa<FloatType>(type.getElementType())) {
    // Values follow the argument's role so that activations stay O(1):
    // slopes are the model's positive decay rates, norm weights are near 1,
    // projection weights are scaled by 1/sqrt(fan-in); the rest is uniform
    // in [-1, 1).
    oracle::Tensor t = oracle::randomTensor(shape, seed, -1.0, 1.0);
    OpOperand *use = firstRealUse(arg);
    Operation *user = use ? use->getOwner() : nullptr;
    unsigned n = use ? use->getOperandNumber() : 0;
    if (isa_and_nonnull<mlir::hymir::LightningAttentionOp>(user) && n == 3) {
      std::vector<double> s = oracle::lightningSlopes(shape[0], 0, 8);
      t.data.assign(s.begin(), s.end());
    } else if (isa_and_nonnull<mlir::hymir::RmsNormOp>(user) && n == 1) {
      for (double &v : t.data)
        v = 1.0 + 0.1 * v;
    } else if (user && n > 0 && !t.shape.empty() &&
               isa<mlir::hymir::LinearOp, mlir::hymir::MoeOp,
                   mlir::hymir::CispoLossOp>(user)) {
      double scale = 1.0 / std::sqrt(static_cast<double>(t.shape.back()));
      for (double &v : t.data)
        v *= scale;
    }
    return t;
  }
  bool isPositions = false;
  int64_t bound = indexBound(arg, isPositions);
  oracle::IntTensor t{shape,
                      std::vector<int64_t>(oracle::Tensor(shape).numel())};
  std::mt19937_64 rng(seed);
  int64_t inner = shape.empty() ? 1 : shape.back();
  for (size_t k = 0; k < t.data.size(); ++k)
    t.data[k] = isPositions ? static_cast<int64_t>(k) % inner
                            : static_cast<int64_t>(rng() % bound);
  return t;
}

} // namespace hymir::reference
