//===- Shard.cpp - split a graph across devices (hymir-shard) -------------===//
//
// Turns each public function into the SPMD program every device of a group
// runs on its own part of the data. The pass walks the function's ops in
// order and tracks, per tensor value, whether every device holds all of it
// (replicated), part r of n along one dim (split), or a summand of it
// (partial). Each op either keeps its operands' parts (and gets result types
// of the part's shape) or has them made whole first with hymir.all_gather /
// hymir.all_reduce. The rules are listed in Passes.td.
//
// hymir.moe has two forms: tensor parallel (every device computes every
// expert on its slice of the intermediate dim) and expert parallel (each
// device holds E / N whole experts and its own tokens, which hymir.all_to_all
// sends to the devices of the experts they picked and brings back).
//
// Tied arguments (lightning states, KV caches) are split by heads with the
// attention that updates them: each device holds and updates its part, and
// returns it as the tied result (the runtime keeps each device's part in
// its device values).
//
//===----------------------------------------------------------------------===//

#include "LinalgBuilders.h"

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/MoeLowering.h"
#include "hymir/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRSHARD
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// How the devices hold a tensor value.
struct Layout {
  enum Kind { Replicated, Split, Partial } kind = Replicated;
  int64_t dim = -1; // for Split

  static Layout replicated() { return {}; }
  static Layout split(int64_t dim) { return {Split, dim}; }
  static Layout partial() { return {Partial, -1}; }
  bool isSplit(int64_t d) const { return kind == Split && dim == d; }
};

/// How hymir.moe ops are split (the pass's `moe` option).
enum class MoeMode { Auto, Expert, Tensor };

/// Each parameter's layout as the entries sharded so far left it, by name:
/// -1 whole, d >= 0 split along d. A parameter is bound once for the whole
/// module, so a later entry takes the layout an earlier one chose (and
/// gathers the parameter where it needs it whole).
using ParamLayouts = llvm::StringMap<int64_t>;

class Sharder {
public:
  Sharder(func::FuncOp func, int64_t devices, MoeMode moeMode,
          ParamLayouts &params, ParamLayouts &states)
      : func(func), devices(devices), moeMode(moeMode), params(params),
        states(states), builder(func.getContext()) {}

  LogicalResult run();

private:
  LogicalResult visit(Operation *op);
  LogicalResult visitLinear(LinearOp op);
  LogicalResult visitElementwise(Operation *op);
  LogicalResult visitExpand(tensor::ExpandShapeOp op);
  LogicalResult visitCollapse(tensor::CollapseShapeOp op);
  LogicalResult visitExtractSlice(tensor::ExtractSliceOp op);
  LogicalResult visitDim(tensor::DimOp op);
  LogicalResult visitHeads(Operation *op, ArrayRef<Value> headOperands);
  LogicalResult visitLightning(LightningAttentionOp op);
  LogicalResult visitGeneric(linalg::GenericOp op);
  LogicalResult visitReturn(func::ReturnOp op);
  /// The dim of tied argument `arg` that holds heads: the state of a
  /// lightning attention (dim 1 of [B, H, Dk, Dv]) or a KV cache written by
  /// hymir.kv_cache_write (dim 2 of [B, C, H, D]), found through the
  /// element-wise generics between the argument and that use; -1 if none.
  static int64_t headDimOf(Value arg);
  LogicalResult visitMoe(MoeOp op);
  /// Why `op`'s experts cannot be split across the devices, or "".
  std::string whyNotSplitExperts(MoeOp op) const;
  /// Whether `op`'s tokens can be split across the devices without
  /// communication.
  bool canSplitTokens(MoeOp op) const;
  LogicalResult expertParallel(MoeOp op);
  LogicalResult expertParallelReplicated(MoeOp op);
  LogicalResult visitRmsNorm(RmsNormOp op);
  /// RMSNorm of an x split along the normalised (last) dim: each device's
  /// sums of squares, one all_reduce of them, its part normalised.
  LogicalResult distributedRmsNorm(RmsNormOp op, Value x);
  LogicalResult visitEmbedding(EmbeddingOp op);
  LogicalResult visitTokenLogprobs(TokenLogprobsOp op);
  LogicalResult visitCispoLoss(CispoLossOp op);
  /// Log-probs of `tokens` under an LM head split by rows (this device's
  /// `part`), with the logits of its rows and the whole log-sum-exp.
  struct VocabLogprobs {
    Value z, lse, logp;
  };
  VocabLogprobs vocabLogprobs(Value hidden, Value part, Value tokens,
                              StringAttr precision, Location loc);
  /// This device's index, [1] i32 (one hymir.device_index per function).
  Value deviceIndex();
  /// Part r of replicated `v` along static `dim`, read on device r at offset
  /// r * part (no communication).
  Value localPart(Value v, int64_t dim, Operation *user);
  /// Partial `v` summed over the devices, each keeping its part along `dim`.
  Value reduceScatter(Value v, int64_t dim, Operation *user);
  /// Every tensor operand (and every value its regions use from outside)
  /// made whole; results replicated.
  void wholeOperands(Operation *op);

  Layout layout(Value v) const {
    auto it = layouts.find(v);
    return it == layouts.end() ? Layout::replicated() : it->second;
  }
  RankedTensorType partType(RankedTensorType type, int64_t dim) const {
    SmallVector<int64_t> shape(type.getShape());
    shape[dim] /= devices;
    return RankedTensorType::get(shape, type.getElementType(),
                                 type.getEncoding());
  }
  bool divisible(Type type, int64_t dim) const {
    auto t = dyn_cast<RankedTensorType>(type);
    if (!t || dim < 0 || dim >= t.getRank() || t.isDynamicDim(dim))
      return false;
    return t.getDimSize(dim) > 0 && t.getDimSize(dim) % devices == 0;
  }
  static bool isUniform(Value v);
  /// A constant whose elements differ (each device reads its part).
  static bool isDenseConstant(Value v) {
    auto c = v.getDefiningOp<arith::ConstantOp>();
    return c && isa<DenseElementsAttr>(c.getValue()) && !isUniform(v);
  }
  /// Whether `v`'s part along `dim` can be had without communication: it is
  /// split so already, a splat, or an argument no use has needed whole.
  bool canPart(Value v, int64_t dim) const;
  /// `v` as a stack of arguments: a tensor.concat along dim 0 (its only use)
  /// of arguments each given a leading unit dim by an expand_shape (their
  /// only use), as hymir-import stacks experts stored one tensor each; null
  /// otherwise.
  static tensor::ConcatOp paramStack(Value v);
  /// A stack whose visit is deferred (its arguments still undecided).
  tensor::ConcatOp deferredStack(Value v) const {
    auto stack = v.getDefiningOp<tensor::ConcatOp>();
    return stack && stacks.contains(stack) ? stack : tensor::ConcatOp();
  }
  /// `v`'s part along `dim` (canPart must hold); splits an argument.
  Value partOf(Value v, int64_t dim, Operation *user);
  /// `v` whole on every device, inserted before `user` when communication is
  /// needed.
  Value wholeOf(Value v, Operation *user);
  void setPart(Value result, int64_t dim) {
    result.setType(partType(cast<RankedTensorType>(result.getType()), dim));
    layouts[result] = Layout::split(dim);
  }

  /// The name of parameter argument `index`, or "" for an input.
  StringRef paramName(unsigned index) {
    if (!isParam(func, index))
      return "";
    auto name = func.getArgAttrOfType<StringAttr>(index, "hymir.name");
    return name ? name.getValue() : "";
  }

  func::FuncOp func;
  int64_t devices;
  MoeMode moeMode;
  ParamLayouts &params;
  // The same for tied arguments (lightning states, KV caches) by name: the
  // entries sharing a cache (prefill, decode) agree on its split.
  ParamLayouts &states;
  OpBuilder builder;
  llvm::DenseMap<Value, Layout> layouts;
  llvm::DenseMap<Value, Value> wholes;
  llvm::DenseMap<std::pair<Value, int64_t>, Value> uniformParts;
  llvm::DenseMap<std::pair<Value, int64_t>, Value> localParts;
  llvm::DenseMap<std::pair<Value, int64_t>, Value> scattered;
  Value index;
  // Entry arguments: -2 undecided, -1 needed whole, d >= 0 split along d.
  llvm::DenseMap<Value, int64_t> argDecisions;
  // Parameter stacks (paramStack) whose visit was deferred: their arguments
  // were undecided, and a use that takes a part along an inner dim gets the
  // stack of the arguments' parts (partOf), with no communication. Those
  // left whole keep their arguments whole; those taken in parts are erased.
  llvm::SetVector<Operation *> stacks;
  llvm::DenseMap<std::pair<Value, int64_t>, Value> stackParts;
};

bool Sharder::isUniform(Value v) {
  if (v.getDefiningOp<tensor::SplatOp>())
    return true;
  if (auto c = v.getDefiningOp<arith::ConstantOp>())
    if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue()))
      return dense.isSplat();
  return false;
}

tensor::ConcatOp Sharder::paramStack(Value v) {
  auto stack = v.getDefiningOp<tensor::ConcatOp>();
  if (!stack || stack.getDim() != 0 || !stack->hasOneUse())
    return {};
  for (Value in : stack.getInputs()) {
    auto expand = in.getDefiningOp<tensor::ExpandShapeOp>();
    if (!expand || !expand->hasOneUse() ||
        !isa<BlockArgument>(expand.getSrc()) || !expand.getSrc().hasOneUse())
      return {};
    SmallVector<ReassociationIndices> groups = expand.getReassociationIndices();
    if (expand.getResultType().getDimSize(0) != 1 ||
        groups.front() != ReassociationIndices{0, 1} ||
        llvm::any_of(
            ArrayRef(groups).drop_front(),
            [](const ReassociationIndices &g) { return g.size() != 1; }))
      return {};
  }
  return stack;
}

bool Sharder::canPart(Value v, int64_t dim) const {
  if (layout(v).isSplit(dim))
    return true;
  if (layout(v).kind != Layout::Replicated)
    return false;
  if (isUniform(v) || isDenseConstant(v))
    return divisible(v.getType(), dim);
  // A stack's dim d > 0 is dim d - 1 of each of its arguments.
  if (tensor::ConcatOp stack = deferredStack(v))
    return dim > 0 && llvm::all_of(stack.getInputs(), [&](Value in) {
             return canPart(in.getDefiningOp<tensor::ExpandShapeOp>().getSrc(),
                            dim - 1);
           });
  auto it = argDecisions.find(v);
  if (it == argDecisions.end())
    return false;
  return (it->second == -2 && divisible(v.getType(), dim)) || it->second == dim;
}

Value Sharder::partOf(Value v, int64_t dim, Operation *user) {
  if (layout(v).isSplit(dim))
    return v;
  if (isUniform(v)) {
    Value &part = uniformParts[{v, dim}];
    if (part)
      return part;
    builder.setInsertionPoint(user);
    auto type = partType(cast<RankedTensorType>(v.getType()), dim);
    if (auto splat = v.getDefiningOp<tensor::SplatOp>()) {
      part = tensor::SplatOp::create(builder, splat.getLoc(), type,
                                     splat.getInput(), splat.getDynamicSizes());
    } else {
      auto c = v.getDefiningOp<arith::ConstantOp>();
      auto dense = cast<DenseElementsAttr>(c.getValue());
      part = arith::ConstantOp::create(
          builder, c.getLoc(),
          SplatElementsAttr::get(type, dense.getSplatValue<Attribute>()));
    }
    layouts[part] = Layout::split(dim);
    return part;
  }
  if (isDenseConstant(v))
    return localPart(v, dim, user);
  if (tensor::ConcatOp stack = deferredStack(v)) {
    // The stack of its arguments' parts: each device holds its part of
    // every stacked parameter.
    Value &part = stackParts[{v, dim}];
    if (part)
      return part;
    SmallVector<Value> parts;
    for (Value in : stack.getInputs()) {
      auto expand = in.getDefiningOp<tensor::ExpandShapeOp>();
      Value src = partOf(expand.getSrc(), dim - 1, user);
      builder.setInsertionPoint(user);
      parts.push_back(tensor::ExpandShapeOp::create(
          builder, expand.getLoc(), partType(expand.getResultType(), dim), src,
          expand.getReassociationIndices()));
    }
    part = tensor::ConcatOp::create(builder, stack.getLoc(), 0, parts);
    layouts[part] = Layout::split(dim);
    return part;
  }
  // An undecided argument: every device receives its part.
  auto arg = cast<BlockArgument>(v);
  argDecisions[v] = dim;
  setPart(v, dim);
  setShardDim(func, arg.getArgNumber(), dim);
  return v;
}

Value Sharder::wholeOf(Value v, Operation *user) {
  if (tensor::ConcatOp stack = deferredStack(v)) {
    // The stack of its arguments made whole (gathered where an earlier
    // entry split them).
    Value &whole = wholes[v];
    if (whole)
      return whole;
    SmallVector<Value> parts;
    for (Value in : stack.getInputs()) {
      auto expand = in.getDefiningOp<tensor::ExpandShapeOp>();
      Value src = wholeOf(expand.getSrc(), user);
      builder.setInsertionPoint(user);
      parts.push_back(tensor::ExpandShapeOp::create(
          builder, expand.getLoc(), expand.getResultType(), src,
          expand.getReassociationIndices()));
    }
    whole = tensor::ConcatOp::create(builder, stack.getLoc(), 0, parts);
    return whole;
  }
  Layout l = layout(v);
  if (l.kind == Layout::Replicated) {
    if (auto it = argDecisions.find(v);
        it != argDecisions.end() && it->second == -2)
      it->second = -1;
    return v;
  }
  Value &whole = wholes[v];
  if (whole)
    return whole;
  builder.setInsertionPoint(user);
  auto type = cast<RankedTensorType>(v.getType());
  if (l.kind == Layout::Partial) {
    whole = AllReduceOp::create(builder, v.getLoc(), type, v);
  } else {
    SmallVector<int64_t> shape(type.getShape());
    shape[l.dim] *= devices;
    auto wholeType =
        RankedTensorType::get(shape, type.getElementType(), type.getEncoding());
    whole = AllGatherOp::create(builder, v.getLoc(), wholeType, v,
                                builder.getI64IntegerAttr(l.dim));
  }
  return whole;
}

Value Sharder::deviceIndex() {
  if (index)
    return index;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&func.getBody().front());
  index = DeviceIndexOp::create(
      builder, func.getLoc(), RankedTensorType::get({1}, builder.getI32Type()));
  return index;
}

Value Sharder::localPart(Value v, int64_t dim, Operation *user) {
  Value &part = localParts[{v, dim}];
  if (part)
    return part;
  Value rank = deviceIndex();
  builder.setInsertionPoint(user);
  Location loc = v.getLoc();
  auto type = cast<RankedTensorType>(v.getType());
  auto partTy = partType(type, dim);
  int64_t size = partTy.getDimSize(dim);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(builder, loc, v);
  sizes[dim] = builder.getIndexAttr(size);
  Value init =
      tensor::EmptyOp::create(builder, loc, sizes, type.getElementType());
  int64_t r = type.getRank();
  SmallVector<utils::IteratorType> iters(r, utils::IteratorType::parallel);
  part =
      linalg::GenericOp::create(
          builder, loc, partTy, ValueRange{}, ValueRange{init},
          ArrayRef<AffineMap>{
              AffineMap::getMultiDimIdentityMap(r, builder.getContext())},
          iters,
          [&](OpBuilder &b, Location l, ValueRange) {
            SmallVector<Value> at;
            for (int64_t d = 0; d < r; ++d)
              at.push_back(linalg::IndexOp::create(b, l, d));
            Value device = arith::IndexCastOp::create(
                b, l, b.getIndexType(),
                tensor::ExtractOp::create(
                    b, l, rank,
                    ValueRange{arith::ConstantIndexOp::create(b, l, 0)}));
            at[dim] = arith::AddIOp::create(
                b, l, at[dim],
                arith::MulIOp::create(
                    b, l, device, arith::ConstantIndexOp::create(b, l, size)));
            linalg::YieldOp::create(
                b, l, ValueRange{tensor::ExtractOp::create(b, l, v, at)});
          })
          .getResult(0);
  layouts[part] = Layout::split(dim);
  return part;
}

Value Sharder::reduceScatter(Value v, int64_t dim, Operation *user) {
  Value &part = scattered[{v, dim}];
  if (part)
    return part;
  builder.setInsertionPoint(user);
  auto type = cast<RankedTensorType>(v.getType());
  part = ReduceScatterOp::create(builder, v.getLoc(), partType(type, dim), v,
                                 builder.getI64IntegerAttr(dim));
  layouts[part] = Layout::split(dim);
  return part;
}

void Sharder::wholeOperands(Operation *op) {
  for (OpOperand &operand : op->getOpOperands())
    if (isa<RankedTensorType>(operand.get().getType()))
      operand.set(wholeOf(operand.get(), op));
  if (op->getNumRegions() == 0)
    return;
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  for (Value v : captured) {
    Value whole = wholeOf(v, op);
    if (whole != v)
      v.replaceUsesWithIf(whole, [&](OpOperand &use) {
        return op->isProperAncestor(use.getOwner());
      });
  }
}

LogicalResult Sharder::visitLinear(LinearOp op) {
  Value x = op.getX(), w = op.getWeight();
  int64_t last = cast<RankedTensorType>(x.getType()).getRank() - 1;
  Layout lx = layout(x);
  if (lx.kind == Layout::Replicated && canPart(w, 0)) {
    // Column parallel: each device computes its rows of the weight from the
    // whole x (which pins an undecided argument x as whole).
    op.getXMutable().assign(wholeOf(x, op));
    op.getWeightMutable().assign(partOf(w, 0, op));
    setPart(op.getResult(), last);
    return success();
  }
  auto wType = cast<RankedTensorType>(w.getType());
  // The result reshaped into heads (its last dim expanded: the q, k or v of
  // an attention).
  bool intoHeads = llvm::any_of(op.getResult().getUsers(), [&](Operation *u) {
    auto expand = dyn_cast<tensor::ExpandShapeOp>(u);
    return expand && expand.getReassociationIndices()[last].size() > 1;
  });
  // The whole weight's dims (an earlier entry may have split it).
  int64_t rows = wType.getDimSize(0), cols = wType.getDimSize(1);
  if (layout(w).isSplit(0))
    rows *= devices;
  if (layout(w).isSplit(1))
    cols *= devices;
  if (lx.isSplit(last) && canPart(w, 0) && (rows > cols || intoHeads)) {
    // A widening product of a split x, or one that becomes heads (the
    // q/k/v projection of a distributed norm's output): gathering x moves
    // less than summing the partial product (an all_reduce of a result at
    // least as wide), and the result splits by heads, as the attention
    // and the caches it writes are.
    op.getXMutable().assign(wholeOf(x, op));
    op.getWeightMutable().assign(partOf(w, 0, op));
    setPart(op.getResult(), last);
    return success();
  }
  if (lx.isSplit(last) && canPart(w, 1)) {
    // Row parallel: each device's product is a summand of the whole.
    op.getWeightMutable().assign(partOf(w, 1, op));
    layouts[op.getResult()] = Layout::partial();
    return success();
  }
  if (lx.kind == Layout::Split && lx.dim != last && canPart(w, 0)) {
    // Rows split (by an expert-parallel MoE) meeting a weight that can be
    // split: gathered, so that the weight is split by its rows as the
    // entries whose rows are whole split it (a parameter has one layout).
    op.getXMutable().assign(wholeOf(x, op));
    op.getWeightMutable().assign(partOf(w, 0, op));
    setPart(op.getResult(), last);
    return success();
  }
  if (lx.kind == Layout::Split && lx.dim != last) {
    // Rows are independent: split rows stay split.
    op.getWeightMutable().assign(wholeOf(w, op));
    setPart(op.getResult(), lx.dim);
    return success();
  }
  wholeOperands(op);
  return success();
}

LogicalResult Sharder::visitElementwise(Operation *op) {
  // A partial operand: summed by a reduce_scatter along the last dim, so that
  // the op (and the consumers that keep the split: a residual, an RMSNorm)
  // runs on 1 / N of it; the other operands take their parts there (a
  // replicated value's by reading it at the device's offset). Moves the
  // bytes of an all_reduce when the value is gathered later.
  if (llvm::any_of(op->getOperands(), [&](Value v) {
        return layout(v).kind == Layout::Partial;
      })) {
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    int64_t last = type.getRank() - 1;
    bool fits = last >= 0 && llvm::all_of(op->getOperands(), [&](Value v) {
                  Layout l = layout(v);
                  return divisible(v.getType(), last) &&
                         (l.kind != Layout::Split || l.dim == last);
                });
    if (!fits) {
      wholeOperands(op);
      return success();
    }
    for (OpOperand &operand : op->getOpOperands()) {
      Value v = operand.get();
      Layout l = layout(v);
      if (l.kind == Layout::Partial)
        operand.set(reduceScatter(v, last, op));
      else if (l.kind == Layout::Replicated)
        operand.set(canPart(v, last) ? partOf(v, last, op)
                                     : localPart(v, last, op));
    }
    for (Value r : op->getResults())
      setPart(r, last);
    return success();
  }
  // The common split of the non-uniform operands, if there is one.
  std::optional<int64_t> dim;
  bool anySplit = false;
  for (Value v : op->getOperands()) {
    Layout l = layout(v);
    if (l.kind == Layout::Split) {
      anySplit = true;
      if (dim && *dim != l.dim) {
        wholeOperands(op);
        return success();
      }
      dim = l.dim;
    } else if (l.kind == Layout::Partial) {
      wholeOperands(op);
      return success();
    }
  }
  // A replicated operand that cannot be split as an argument or a splat is
  // read in parts at the device's offset: no communication.
  auto local = [&](Value v) {
    return layout(v).kind == Layout::Replicated && !canPart(v, *dim) &&
           divisible(v.getType(), *dim);
  };
  if (!anySplit || !llvm::all_of(op->getOperands(), [&](Value v) {
        return canPart(v, *dim) || local(v);
      })) {
    wholeOperands(op);
    return success();
  }
  for (OpOperand &operand : op->getOpOperands())
    operand.set(local(operand.get()) ? localPart(operand.get(), *dim, op)
                                     : partOf(operand.get(), *dim, op));
  for (Value r : op->getResults())
    setPart(r, *dim);
  return success();
}

LogicalResult Sharder::visitExpand(tensor::ExpandShapeOp op) {
  Layout l = layout(op.getSrc());
  if (l.kind != Layout::Split) {
    wholeOperands(op);
    return success();
  }
  // The split dim's part is contiguous in the outermost dim of its group.
  SmallVector<ReassociationIndices> groups = op.getReassociationIndices();
  int64_t outer = groups[l.dim].front();
  if (!divisible(op.getResult().getType(), outer)) {
    wholeOperands(op);
    return success();
  }
  SmallVector<OpFoldResult> shape = op.getMixedOutputShape();
  auto resultType = partType(op.getResultType(), outer);
  shape[outer] = builder.getIndexAttr(resultType.getDimSize(outer));
  builder.setInsertionPoint(op);
  auto part = tensor::ExpandShapeOp::create(builder, op.getLoc(), resultType,
                                            op.getSrc(), groups, shape);
  op.getResult().replaceAllUsesWith(part.getResult());
  op.erase();
  layouts[part.getResult()] = Layout::split(outer);
  return success();
}

LogicalResult Sharder::visitCollapse(tensor::CollapseShapeOp op) {
  Layout l = layout(op.getSrc());
  if (l.kind != Layout::Split) {
    wholeOperands(op);
    return success();
  }
  SmallVector<ReassociationIndices> groups = op.getReassociationIndices();
  auto group = llvm::find_if(groups, [&](const ReassociationIndices &g) {
    return llvm::is_contained(g, l.dim);
  });
  if (group->front() != l.dim) {
    // An inner dim's part is not contiguous once collapsed.
    wholeOperands(op);
    return success();
  }
  builder.setInsertionPoint(op);
  auto part = tensor::CollapseShapeOp::create(builder, op.getLoc(), op.getSrc(),
                                              groups);
  op.getResult().replaceAllUsesWith(part.getResult());
  op.erase();
  layouts[part.getResult()] = Layout::split(group - groups.begin());
  return success();
}

LogicalResult Sharder::visitExtractSlice(tensor::ExtractSliceOp op) {
  Layout l = layout(op.getSource());
  if (l.kind != Layout::Split) {
    wholeOperands(op);
    return success();
  }
  // The slice must take the split dim whole (offset 0, stride 1) and keep it.
  int64_t whole = op.getSourceType().getDimSize(l.dim) * devices;
  std::optional<int64_t> offset =
      getConstantIntValue(op.getMixedOffsets()[l.dim]);
  std::optional<int64_t> size = getConstantIntValue(op.getMixedSizes()[l.dim]);
  std::optional<int64_t> stride =
      getConstantIntValue(op.getMixedStrides()[l.dim]);
  llvm::SmallBitVector dropped = op.getDroppedDims();
  if (!offset || *offset != 0 || !size || *size != whole || !stride ||
      *stride != 1 || dropped.test(l.dim)) {
    wholeOperands(op);
    return success();
  }
  int64_t resultDim = l.dim;
  for (int64_t d = 0; d < l.dim; ++d)
    resultDim -= dropped.test(d);
  SmallVector<OpFoldResult> sizes = op.getMixedSizes();
  sizes[l.dim] = builder.getIndexAttr(whole / devices);
  builder.setInsertionPoint(op);
  auto resultType = partType(op.getResultType(), resultDim);
  auto part = tensor::ExtractSliceOp::create(
      builder, op.getLoc(), resultType, op.getSource(), op.getMixedOffsets(),
      sizes, op.getMixedStrides());
  op.getResult().replaceAllUsesWith(part.getResult());
  op.erase();
  layouts[part.getResult()] = Layout::split(resultDim);
  return success();
}

LogicalResult Sharder::visitDim(tensor::DimOp op) {
  Layout l = layout(op.getSource());
  std::optional<int64_t> index = op.getConstantIndex();
  auto type = cast<RankedTensorType>(op.getSource().getType());
  if (!index) {
    if (l.kind == Layout::Split)
      wholeOperands(op);
    return success();
  }
  // A dynamic dim is never split: the op stays. A static one is the whole
  // size, which stays true if the value (or an argument not decided yet) is
  // split later.
  if (*index < 0 || *index >= type.getRank() || type.isDynamicDim(*index))
    return success();
  builder.setInsertionPoint(op);
  int64_t whole = type.getDimSize(*index) * (l.isSplit(*index) ? devices : 1);
  Value c = arith::ConstantIndexOp::create(builder, op.getLoc(), whole);
  op.getResult().replaceAllUsesWith(c);
  op.erase();
  return success();
}

/// Attention-like ops whose heads (dim 2 of [B, T, H, D]) are independent:
/// the results split over heads when every head operand can be.
LogicalResult Sharder::visitHeads(Operation *op, ArrayRef<Value> headOperands) {
  bool split =
      llvm::all_of(headOperands, [&](Value v) { return canPart(v, 2); });
  if (!split) {
    wholeOperands(op);
    return success();
  }
  for (OpOperand &operand : op->getOpOperands()) {
    if (llvm::is_contained(headOperands, operand.get()))
      operand.set(partOf(operand.get(), 2, op));
    else if (isa<RankedTensorType>(operand.get().getType()))
      operand.set(wholeOf(operand.get(), op));
  }
  setPart(op->getResult(0), 2);
  return success();
}

LogicalResult Sharder::visitLightning(LightningAttentionOp op) {
  Value q = op.getQ(), k = op.getK(), v = op.getV(), slopes = op.getSlopes();
  Value state = op.getInitialState();
  bool split = canPart(q, 2) && canPart(k, 2) && canPart(v, 2) &&
               canPart(slopes, 0) && (!state || canPart(state, 1));
  if (!split) {
    wholeOperands(op);
    return success();
  }
  op.getQMutable().assign(partOf(q, 2, op));
  op.getKMutable().assign(partOf(k, 2, op));
  op.getVMutable().assign(partOf(v, 2, op));
  op.getSlopesMutable().assign(partOf(slopes, 0, op));
  if (state)
    op.getInitialStateMutable().assign(partOf(state, 1, op));
  setPart(op.getOut(), 2);
  setPart(op.getFinalState(), 1);
  return success();
}

/// A linalg.generic whose maps are projected permutations keeps a split
/// along one of its parallel loops: the operands that index that loop take
/// their parts there (split already, an undecided argument, a new
/// tensor.empty, or a replicated value read at the device's offset), the
/// others are whole. The payload must not read that loop's index (it would
/// count within the part) nor a split tensor from above.
LogicalResult Sharder::visitGeneric(linalg::GenericOp op) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto whole = [&] {
    wholeOperands(op);
    return success();
  };
  if (!llvm::all_of(maps,
                    [](AffineMap m) { return m.isProjectedPermutation(); }))
    return whole();
  std::optional<unsigned> loop;
  for (OpOperand &operand : op->getOpOperands()) {
    Layout l = layout(operand.get());
    if (l.kind == Layout::Partial)
      return whole();
    if (l.kind != Layout::Split)
      continue;
    auto d = dyn_cast<AffineDimExpr>(
        maps[operand.getOperandNumber()].getResult(l.dim));
    if (!d || (loop && *loop != d.getPosition()))
      return whole();
    loop = d.getPosition();
  }
  if (!loop ||
      op.getIteratorTypesArray()[*loop] != utils::IteratorType::parallel)
    return whole();
  bool readsIndex = false;
  op.getRegion().walk(
      [&](linalg::IndexOp index) { readsIndex |= index.getDim() == *loop; });
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  if (readsIndex || llvm::any_of(captured, [&](Value v) {
        return layout(v).kind != Layout::Replicated;
      }))
    return whole();
  // Each operand's dim along the loop (-1: it does not index it).
  AffineExpr loopExpr = getAffineDimExpr(*loop, op.getContext());
  SmallVector<int64_t> dims;
  for (OpOperand &operand : op->getOpOperands()) {
    std::optional<unsigned> k =
        maps[operand.getOperandNumber()].getResultPosition(loopExpr);
    int64_t dim = k ? static_cast<int64_t>(*k) : -1;
    dims.push_back(dim);
    Value v = operand.get();
    bool isInit = op.isDpsInit(&operand);
    if (dim < 0) {
      if (isInit)
        return whole();
      continue;
    }
    if (layout(v).isSplit(dim) || canPart(v, dim))
      continue;
    if (layout(v).kind != Layout::Replicated || !divisible(v.getType(), dim))
      return whole();
  }
  for (OpOperand &operand : op->getOpOperands()) {
    int64_t dim = dims[operand.getOperandNumber()];
    Value v = operand.get();
    if (dim < 0) {
      operand.set(wholeOf(v, op));
      continue;
    }
    if (layout(v).isSplit(dim))
      continue;
    if (auto empty = v.getDefiningOp<tensor::EmptyOp>()) {
      builder.setInsertionPoint(op);
      Value part = tensor::EmptyOp::create(
          builder, empty.getLoc(),
          partType(cast<RankedTensorType>(v.getType()), dim),
          empty.getDynamicSizes());
      layouts[part] = Layout::split(dim);
      operand.set(part);
      continue;
    }
    operand.set(canPart(v, dim) ? partOf(v, dim, op) : localPart(v, dim, op));
  }
  for (auto [i, result] : llvm::enumerate(op->getResults()))
    setPart(result, dims[op.getNumDpsInputs() + i]);
  return success();
}

int64_t Sharder::headDimOf(Value arg) {
  SmallVector<Value> work{arg};
  llvm::SmallPtrSet<Operation *, 8> seen;
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (auto l = dyn_cast<LightningAttentionOp>(user);
          l && l.getInitialState() == v)
        return 1;
      if (auto w = dyn_cast<KvCacheWriteOp>(user); w && w.getCache() == v)
        return 2;
      // A generic reading v as it writes its result (a mask of slots).
      auto g = dyn_cast<linalg::GenericOp>(user);
      if (!g || g.getNumDpsInits() != 1 || !g.isDpsInput(&use) ||
          g.getNumParallelLoops() != g.getNumLoops() ||
          g.getMatchingIndexingMap(&use) !=
              g.getMatchingIndexingMap(g.getDpsInitOperand(0)))
        continue;
      if (seen.insert(g).second)
        work.push_back(g->getResult(0));
    }
  }
  return -1;
}

/// Results are whole on every device, except a tied result whose argument
/// is split: each device returns its part, into its part of the argument.
LogicalResult Sharder::visitReturn(func::ReturnOp op) {
  Block &body = func.getBody().front();
  for (OpOperand &operand : op->getOpOperands()) {
    Value v = operand.get();
    if (!isa<RankedTensorType>(v.getType()))
      continue;
    std::optional<unsigned> arg =
        getTiedArgument(func, operand.getOperandNumber());
    auto it =
        arg ? argDecisions.find(body.getArgument(*arg)) : argDecisions.end();
    if (it == argDecisions.end() || it->second < 0) {
      operand.set(wholeOf(v, op));
      continue;
    }
    int64_t dim = it->second;
    Layout l = layout(v);
    if (l.isSplit(dim))
      continue;
    if (l.kind == Layout::Partial)
      operand.set(reduceScatter(v, dim, op));
    else if (l.kind == Layout::Replicated && canPart(v, dim))
      operand.set(partOf(v, dim, op));
    else
      operand.set(localPart(wholeOf(v, op), dim, op));
  }
  return success();
}

std::string Sharder::whyNotSplitExperts(MoeOp op) const {
  if (deferredStack(op.getW1()))
    return "its experts are separate parameters (one tensor each, stacked "
           "in the graph), and a device holds a part of each parameter, not "
           "a subset of them: stack them in one parameter (hymir-import "
           "--weight-layout=stacked over a checkpoint with stacked experts, "
           "as scripts/stack-experts.py writes it) or split each expert "
           "(--shard-moe=tensor)";
  auto w1Type = cast<RankedTensorType>(op.getW1().getType());
  // (Split by an earlier entry, w1 has the part's type.)
  if (!layout(op.getW1()).isSplit(0) && !divisible(w1Type, 0))
    return "the expert count (" + std::to_string(w1Type.getDimSize(0)) +
           ") is not a multiple of the device count";
  if (!canPart(op.getW1(), 0) || !canPart(op.getW3(), 0) ||
      !canPart(op.getW2(), 0))
    return "its expert weights cannot be split by expert";
  return "";
}

bool Sharder::canSplitTokens(MoeOp op) const {
  return canPart(op.getX(), 0) &&
         layout(op.getRouter()).kind != Layout::Partial;
}

LogicalResult Sharder::visitMoe(MoeOp op) {
  // The rule: expert parallel when the op's tokens can be split across the
  // devices without communication (they are split by rows already, or x is
  // an argument of a static token count divisible by the device count) and
  // the experts divide evenly; otherwise tensor parallel (with replicated
  // tokens it moves as much as expert parallelism without all_to_all, one
  // all_reduce, and loads the devices evenly). Forced modes skip the
  // choice; forced experts with replicated tokens take the form without
  // all_to_all, and experts that cannot be split are an error.
  if (moeMode != MoeMode::Tensor) {
    std::string why = whyNotSplitExperts(op);
    if (why.empty() && canSplitTokens(op))
      return expertParallel(op);
    // Forced experts on tokens of a static count that divides: each device
    // reads its rows of the whole x (no communication beyond making x
    // whole) and exchanges them.
    if (moeMode == MoeMode::Expert && why.empty() &&
        divisible(op.getX().getType(), 0) &&
        layout(op.getRouter()).kind != Layout::Partial)
      return expertParallel(op);
    if (moeMode == MoeMode::Expert) {
      if (!why.empty())
        return op.emitError() << "hymir-shard: hymir.moe cannot be expert "
                                 "parallel over "
                              << devices << " devices: " << why;
      return expertParallelReplicated(op);
    }
  }
  // Each device computes every expert on its slice of the intermediate dim;
  // the down projections of the slices sum to the whole.
  if (layout(op.getX()).kind == Layout::Partial || !canPart(op.getW1(), 1) ||
      !canPart(op.getW3(), 1) || !canPart(op.getW2(), 2)) {
    wholeOperands(op);
    return success();
  }
  op.getXMutable().assign(wholeOf(op.getX(), op));
  op.getRouterMutable().assign(wholeOf(op.getRouter(), op));
  op.getW1Mutable().assign(partOf(op.getW1(), 1, op));
  op.getW3Mutable().assign(partOf(op.getW3(), 1, op));
  op.getW2Mutable().assign(partOf(op.getW2(), 2, op));
  layouts[op.getResult()] = Layout::partial();
  return success();
}

/// Device r holds tokens [r T/N, (r + 1) T/N) and experts [r E/N, (r + 1)
/// E/N). It routes its tokens, lays their (token, pick) pairs out grouped by
/// expert (hymir.moe_route with tile 1), so that the pairs for device p are
/// rows [offsets[p E/N], offsets[(p + 1) E/N]) and sends them there with
/// hymir.all_to_all (with each row's expert, as an index among the
/// receiver's experts). Each device runs its experts on the rows it
/// received (hymir.routed_experts with one pick of weight 1 per row, in
/// f32), the results go back by the same counts, in the order they left,
/// and each device combines its tokens' picks with their routing weights.
/// Every capacity is the T * top_k pairs of all devices: no device can
/// receive more.
LogicalResult Sharder::expertParallel(MoeOp op) {
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  bool localRows = !canPart(op.getX(), 0);
  Value x = localRows ? localPart(wholeOf(op.getX(), op), 0, op)
                      : partOf(op.getX(), 0, op);
  Value router = wholeOf(op.getRouter(), op);
  Value w1 = partOf(op.getW1(), 0, op), w3 = partOf(op.getW3(), 0, op),
        w2 = partOf(op.getW2(), 0, op);
  builder.setInsertionPoint(op);
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t tokens = xType.getDimSize(0), width = xType.getDimSize(1);
  int64_t experts = cast<RankedTensorType>(router.getType()).getDimSize(0);
  int64_t local = experts / devices, topK = op.getTopK();
  int64_t pairs = tokens * topK, capacity = pairs * devices;
  Type f32 = builder.getF32Type(), i32 = builder.getI32Type();
  auto tensor = [](ArrayRef<int64_t> shape, Type t) {
    return RankedTensorType::get(shape, t);
  };
  auto toF32 = [&](Value v) -> Value {
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getElementType().isF32())
      return v;
    return arith::ExtFOp::create(builder, loc, type.clone(f32), v);
  };
  auto par = utils::IteratorType::parallel;
  auto red = utils::IteratorType::reduction;
  auto idx = [&](OpBuilder &b, Location l, int64_t c) -> Value {
    return arith::ConstantIndexOp::create(b, l, c);
  };
  auto i32c = [&](OpBuilder &b, Location l, int64_t c) -> Value {
    return arith::ConstantIntOp::create(b, l, c, 32);
  };
  auto toIndex = [](OpBuilder &b, Location l, Value v) -> Value {
    return arith::IndexCastOp::create(b, l, b.getIndexType(), v);
  };
  auto empty = [&](ArrayRef<int64_t> shape, Type t) -> Value {
    return tensor::EmptyOp::create(builder, loc, shape, t);
  };
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);

  // Routing of this device's tokens, as the one-device lowering computes it.
  Value logits = LinearOp::create(
      builder, loc, tensor({tokens, experts}, f32), toF32(x), toF32(router),
      builder.getStringAttr(stringifyPrecision(Precision::F32)));
  auto route = MoeRouteOp::create(
      builder, loc,
      TypeRange{tensor({pairs}, i32), tensor({experts + 1}, i32),
                tensor({tokens, topK}, i32), tensor({tokens, topK}, f32)},
      logits, op.getTopKAttr(), op.getRenormalizeAttr(),
      builder.getI64IntegerAttr(1));
  Value sorted = route.getSortedTokens(), offsets = route.getOffsets();

  // Where each peer's rows start: the offsets of its first expert.
  Value sendOffsets =
      linalg::GenericOp::create(
          builder, loc, tensor({devices + 1}, i32), ValueRange{},
          ValueRange{empty({devices + 1}, i32)},
          ArrayRef<AffineMap>{AffineMap::get(1, 0, d0, ctx)},
          ArrayRef<utils::IteratorType>{par},
          [&](OpBuilder &b, Location l, ValueRange) {
            Value p = linalg::IndexOp::create(b, l, 0);
            Value e = arith::MulIOp::create(b, l, p, idx(b, l, local));
            linalg::YieldOp::create(
                b, l, ValueRange{tensor::ExtractOp::create(b, l, offsets, e)});
          })
          .getResult(0);

  // The rows to send: x's row of each pair (zero past the pairs).
  Value rows =
      linalg::GenericOp::create(
          builder, loc, tensor({capacity, width}, xType.getElementType()),
          ValueRange{},
          ValueRange{empty({capacity, width}, xType.getElementType())},
          ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(2, ctx)},
          ArrayRef<utils::IteratorType>{par, par},
          [&](OpBuilder &b, Location l, ValueRange) {
            Value r = linalg::IndexOp::create(b, l, 0);
            Value c = linalg::IndexOp::create(b, l, 1);
            Value inPairs = arith::CmpIOp::create(
                b, l, arith::CmpIPredicate::ult, r, idx(b, l, pairs));
            Value at = arith::MinUIOp::create(b, l, r, idx(b, l, pairs - 1));
            Value tok = tensor::ExtractOp::create(b, l, sorted, at);
            Value valid = arith::AndIOp::create(
                b, l, inPairs,
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, tok,
                                      i32c(b, l, 0)));
            Value safe =
                toIndex(b, l, arith::MaxSIOp::create(b, l, tok, i32c(b, l, 0)));
            Value v = tensor::ExtractOp::create(b, l, x, ValueRange{safe, c});
            Value zero = arith::ConstantOp::create(
                b, l, b.getZeroAttr(xType.getElementType()));
            linalg::YieldOp::create(
                b, l,
                ValueRange{arith::SelectOp::create(b, l, valid, v, zero)});
          })
          .getResult(0);

  // Each row's expert among its receiver's: the number of groups that end
  // at or before it, modulo E / N.
  Value zeros32 =
      linalg::FillOp::create(builder, loc, ValueRange{i32c(builder, loc, 0)},
                             ValueRange{empty({capacity}, i32)})
          .getResult(0);
  Value rowExpert =
      linalg::GenericOp::create(
          builder, loc, tensor({capacity}, i32), ValueRange{offsets},
          ValueRange{zeros32},
          ArrayRef<AffineMap>{AffineMap::get(2, 0, d1, ctx),
                              AffineMap::get(2, 0, d0, ctx)},
          ArrayRef<utils::IteratorType>{par, red},
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value r = arith::IndexCastOp::create(
                b, l, b.getI32Type(), linalg::IndexOp::create(b, l, 0));
            Value g = linalg::IndexOp::create(b, l, 1);
            Value ended = arith::AndIOp::create(
                b, l,
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::uge, g,
                                      idx(b, l, 1)),
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::sle, a[0],
                                      r));
            Value next = arith::AddIOp::create(
                b, l, a[1],
                arith::ExtUIOp::create(b, l, b.getI32Type(), ended));
            linalg::YieldOp::create(b, l, ValueRange{next});
          })
          .getResult(0);
  Value localExpert =
      linalg::GenericOp::create(
          builder, loc, tensor({capacity}, i32), ValueRange{rowExpert},
          ValueRange{empty({capacity}, i32)},
          ArrayRef<AffineMap>{AffineMap::get(1, 0, d0, ctx),
                              AffineMap::get(1, 0, d0, ctx)},
          ArrayRef<utils::IteratorType>{par},
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value clamped =
                arith::MinSIOp::create(b, l, a[0], i32c(b, l, experts - 1));
            linalg::YieldOp::create(b, l,
                                    ValueRange{arith::RemSIOp::create(
                                        b, l, clamped, i32c(b, l, local))});
          })
          .getResult(0);

  // Dispatch.
  auto dispatch = AllToAllOp::create(builder, loc, rows.getType(),
                                     sendOffsets.getType(), rows, sendOffsets);
  auto dispatchExperts =
      AllToAllOp::create(builder, loc, localExpert.getType(),
                         sendOffsets.getType(), localExpert, sendOffsets);
  Value received = dispatchExperts.getRecvOffsets();
  // Rows past the received ones pick no expert.
  Value picks =
      linalg::GenericOp::create(
          builder, loc, tensor({capacity, 1}, i32),
          ValueRange{dispatchExperts.getResult()},
          ValueRange{empty({capacity, 1}, i32)},
          ArrayRef<AffineMap>{AffineMap::get(2, 0, d0, ctx),
                              AffineMap::getMultiDimIdentityMap(2, ctx)},
          ArrayRef<utils::IteratorType>{par, par},
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value r = arith::IndexCastOp::create(
                b, l, b.getI32Type(), linalg::IndexOp::create(b, l, 0));
            Value end =
                tensor::ExtractOp::create(b, l, received, idx(b, l, devices));
            Value in =
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, r, end);
            linalg::YieldOp::create(b, l,
                                    ValueRange{arith::SelectOp::create(
                                        b, l, in, a[0], i32c(b, l, -1))});
          })
          .getResult(0);
  Value ones = arith::ConstantOp::create(
      builder, loc,
      DenseElementsAttr::get(tensor({capacity, 1}, f32),
                             builder.getF32FloatAttr(1.0f)));
  // This device's experts on the rows it received, in f32.
  Value expertRows = RoutedExpertsOp::create(
      builder, loc, tensor({capacity, width}, f32), toF32(dispatch.getResult()),
      picks, ones, w1, w3, w2);
  // Combine: the rows go back by the counts they came with, landing in the
  // order they left; each token sums its picks.
  auto back = AllToAllOp::create(builder, loc, expertRows.getType(),
                                 dispatch.getRecvOffsets().getType(),
                                 expertRows, dispatch.getRecvOffsets());
  Value y = buildMoeCombine(builder, loc, route.getWeights(), route.getSlots(),
                            back.getResult(), x,
                            tensor({tokens, width}, xType.getElementType()));
  layouts[y] = Layout::split(0);
  // Rows read from a replicated x go back replicated: the entries whose
  // tokens cannot be split (a prefill's) see a whole (partial) result here,
  // and the same layouts downstream keep every parameter's split the same.
  if (localRows)
    y = wholeOf(y, op);
  op.getResult().replaceAllUsesWith(y);
  op.erase();
  return success();
}

/// Expert parallel with replicated tokens: every device routes every token
/// (as the one-device lowering does), keeps the picks of its own experts
/// (expert - r E/N for device r, from hymir.device_index; the others -1,
/// which hymir.routed_experts skips) and computes them on x, which it has:
/// no rows move, and the result is partial (an all_reduce sums it).
LogicalResult Sharder::expertParallelReplicated(MoeOp op) {
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  Value x = wholeOf(op.getX(), op);
  Value router = wholeOf(op.getRouter(), op);
  Value w1 = partOf(op.getW1(), 0, op), w3 = partOf(op.getW3(), 0, op),
        w2 = partOf(op.getW2(), 0, op);
  builder.setInsertionPoint(op);
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t experts = cast<RankedTensorType>(router.getType()).getDimSize(0);
  int64_t local = experts / devices, topK = op.getTopK();
  Type f32 = builder.getF32Type(), i32 = builder.getI32Type();
  auto toF32 = [&](Value v) -> Value {
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getElementType().isF32())
      return v;
    return arith::ExtFOp::create(builder, loc, type.clone(f32), v);
  };
  Value logits = LinearOp::create(
      builder, loc, RankedTensorType::get({xType.getDimSize(0), experts}, f32),
      toF32(x), toF32(router),
      builder.getStringAttr(stringifyPrecision(Precision::F32)));
  auto [picks, weights] =
      buildMoeRouting(builder, loc, logits, topK, op.getRenormalize());
  Value rank =
      DeviceIndexOp::create(builder, loc, RankedTensorType::get({1}, i32));
  auto picksType = cast<RankedTensorType>(picks.getType());
  Value init = tensor::EmptyOp::create(
      builder, loc, tensor::getMixedSizes(builder, loc, picks), i32);
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  Value own = linalg::GenericOp::create(
                  builder, loc, picksType, ValueRange{picks}, ValueRange{init},
                  ArrayRef<AffineMap>{id, id},
                  ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                                utils::IteratorType::parallel},
                  [&](OpBuilder &b, Location l, ValueRange a) {
                    Value r = tensor::ExtractOp::create(
                        b, l, rank,
                        ValueRange{arith::ConstantIndexOp::create(b, l, 0)});
                    Value first = arith::MulIOp::create(
                        b, l, r, arith::ConstantIntOp::create(b, l, local, 32));
                    Value e = arith::SubIOp::create(b, l, a[0], first);
                    Value mine = arith::AndIOp::create(
                        b, l,
                        arith::CmpIOp::create(
                            b, l, arith::CmpIPredicate::sge, e,
                            arith::ConstantIntOp::create(b, l, 0, 32)),
                        arith::CmpIOp::create(
                            b, l, arith::CmpIPredicate::slt, e,
                            arith::ConstantIntOp::create(b, l, local, 32)));
                    linalg::YieldOp::create(
                        b, l,
                        ValueRange{arith::SelectOp::create(
                            b, l, mine, e,
                            arith::ConstantIntOp::create(b, l, -1, 32))});
                  })
                  .getResult(0);
  Value y = RoutedExpertsOp::create(builder, loc, op.getResult().getType(), x,
                                    own, weights, w1, w3, w2);
  op.getResult().replaceAllUsesWith(y);
  op.erase();
  layouts[y] = Layout::partial();
  return success();
}

LogicalResult Sharder::visitRmsNorm(RmsNormOp op) {
  Layout l = layout(op.getX());
  int64_t last = cast<RankedTensorType>(op.getX().getType()).getRank() - 1;
  // The normalised dim split (or a partial x, summed so): each device
  // normalises its part with the whole rows' sums of squares.
  if ((l.isSplit(last) ||
       (l.kind == Layout::Partial && divisible(op.getX().getType(), last))) &&
      divisible(op.getWeight().getType(), 0)) {
    Value x = l.kind == Layout::Partial ? reduceScatter(op.getX(), last, op)
                                        : op.getX();
    return distributedRmsNorm(op, x);
  }
  if (l.kind != Layout::Split || l.dim == last) {
    wholeOperands(op);
    return success();
  }
  // Rows are normalised independently.
  op.getWeightMutable().assign(wholeOf(op.getWeight(), op));
  setPart(op.getResult(), l.dim);
  return success();
}

/// The arithmetic of hymir.rms_norm's lowering (hymir-lower-to-linalg) on
/// a part: the sums of squares (and of x 2^-100, used where the first
/// overflows) of each device's columns, added over the devices by one
/// all_reduce of [rows, 2] f32, then each device's columns normalised by the
/// whole width's mean with its part of the (whole) weight. The sums add in
/// another order than on one device (per device, then over the devices): within
/// f32 rounding of them.
LogicalResult Sharder::distributedRmsNorm(RmsNormOp op, Value x) {
  // The weight stays whole (N elements) and each device reads its part: a
  // parameter is split the same way by every entry, and another entry's
  // norm of the same weight may need it whole.
  Value weight = localPart(wholeOf(op.getWeight(), op), 0, op);
  builder.setInsertionPoint(op);
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t r = xType.getRank(), width = xType.getDimSize(r - 1) * devices;
  Type f32 = builder.getF32Type();
  // [rows..., 2]: the sums.
  SmallVector<OpFoldResult> sumSizes = tensor::getMixedSizes(builder, loc, x);
  sumSizes.back() = builder.getIndexAttr(2);
  Value zero =
      arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(0.0f));
  Value sums =
      linalg::FillOp::create(
          builder, loc, ValueRange{zero},
          ValueRange{tensor::EmptyOp::create(builder, loc, sumSizes, f32)})
          .getResult(0);
  // Loops (rows..., which sum, columns): x reads (rows, column); the sums
  // (rows, which). The reduced columns are the innermost loop, so that each
  // (row, which) point is a reduction along x's contiguous dim (a warp's on
  // cuda with warp-reductions; outside, one thread walked a whole row).
  SmallVector<AffineExpr> rows;
  for (int64_t d = 0; d < r - 1; ++d)
    rows.push_back(getAffineDimExpr(d, ctx));
  AffineExpr which = getAffineDimExpr(r - 1, ctx),
             col = getAffineDimExpr(r, ctx);
  SmallVector<AffineExpr> xExprs(rows), sumExprs(rows);
  xExprs.push_back(col);
  sumExprs.push_back(which);
  SmallVector<utils::IteratorType> iters(r + 1, utils::IteratorType::parallel);
  iters[r] = utils::IteratorType::reduction;
  Value down = arith::ConstantOp::create(
      builder, loc, builder.getF32FloatAttr(std::ldexp(1.0f, -100)));
  Value one =
      arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(1.0f));
  sums = linalg::GenericOp::create(
             builder, loc, sums.getType(), ValueRange{x}, ValueRange{sums},
             ArrayRef<AffineMap>{AffineMap::get(r + 1, 0, xExprs, ctx),
                                 AffineMap::get(r + 1, 0, sumExprs, ctx)},
             iters,
             [&](OpBuilder &b, Location l, ValueRange a) {
               Value v = extToF32(b, l, a[0]);
               Value scaled = arith::CmpIOp::create(
                   b, l, arith::CmpIPredicate::eq,
                   linalg::IndexOp::create(b, l, r - 1),
                   arith::ConstantIndexOp::create(b, l, 1));
               v = arith::MulFOp::create(
                   b, l, v, arith::SelectOp::create(b, l, scaled, down, one));
               linalg::YieldOp::create(
                   b, l,
                   ValueRange{arith::AddFOp::create(
                       b, l, a[1], arith::MulFOp::create(b, l, v, v))});
             })
             .getResult(0);
  sums = AllReduceOp::create(builder, loc, sums.getType(), sums);
  // y = x * rsqrt(ss / N + eps) * w; x 2^-100 * rsqrt(ssScaled / N) * w
  // where ss overflowed.
  Value widthF = arith::ConstantOp::create(
      builder, loc, builder.getF32FloatAttr(static_cast<float>(width)));
  Value eps = arith::ConstantOp::create(builder, loc, op.getEpsilonAttr());
  Value inf = arith::ConstantOp::create(
      builder, loc,
      builder.getF32FloatAttr(std::numeric_limits<float>::infinity()));
  Type outElt = op.getResult().getType().getElementType();
  Value init = tensor::EmptyOp::create(
      builder, loc, tensor::getMixedSizes(builder, loc, x), outElt);
  AffineMap id = AffineMap::getMultiDimIdentityMap(r, ctx);
  SmallVector<AffineExpr> rowExprs;
  for (int64_t d = 0; d < r - 1; ++d)
    rowExprs.push_back(getAffineDimExpr(d, ctx));
  SmallVector<AffineExpr> ssExprs(rowExprs), scaledExprs(rowExprs);
  ssExprs.push_back(getAffineConstantExpr(0, ctx));
  scaledExprs.push_back(getAffineConstantExpr(1, ctx));
  SmallVector<utils::IteratorType> par(r, utils::IteratorType::parallel);
  Value y =
      linalg::GenericOp::create(
          builder, loc, init.getType(), ValueRange{x, sums, sums, weight},
          ValueRange{init},
          ArrayRef<AffineMap>{
              id, AffineMap::get(r, 0, ssExprs, ctx),
              AffineMap::get(r, 0, scaledExprs, ctx),
              AffineMap::get(r, 0, getAffineDimExpr(r - 1, ctx), ctx), id},
          par,
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value xv = extToF32(b, l, a[0]);
            Value mean = arith::DivFOp::create(b, l, a[1], widthF);
            Value v = arith::MulFOp::create(
                b, l, xv,
                math::RsqrtOp::create(b, l,
                                      arith::AddFOp::create(b, l, mean, eps)));
            Value meanScaled = arith::DivFOp::create(b, l, a[2], widthF);
            Value vScaled = arith::MulFOp::create(
                b, l, arith::MulFOp::create(b, l, xv, down),
                math::RsqrtOp::create(b, l, meanScaled));
            Value overflowed = arith::CmpFOp::create(
                b, l, arith::CmpFPredicate::OEQ, a[1], inf);
            v = arith::SelectOp::create(b, l, overflowed, vScaled, v);
            v = arith::MulFOp::create(b, l, v, extToF32(b, l, a[3]));
            linalg::YieldOp::create(b, l, truncFromF32(b, l, v, outElt));
          })
          .getResult(0);
  op.getResult().replaceAllUsesWith(y);
  op.erase();
  layouts[y] = Layout::split(r - 1);
  return success();
}

/// A table split by vocabulary rows: device r holds ids [r V/N, (r + 1)
/// V/N), looks up the ids in its range (others read row 0 and are zeroed):
/// a partial result, the whole rows once summed. Ids outside [0, V) read
/// zeros instead of failing the call (each device's check sees ids clamped
/// into its part).
LogicalResult Sharder::visitEmbedding(EmbeddingOp op) {
  Value table = op.getTable(), ids = op.getIds();
  if (layout(ids).kind != Layout::Replicated || !canPart(table, 0) ||
      isUniform(table)) {
    wholeOperands(op);
    return success();
  }
  Value part = partOf(table, 0, op);
  Value rank = deviceIndex();
  builder.setInsertionPoint(op);
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  int64_t rows = cast<RankedTensorType>(part.getType()).getDimSize(0);
  auto idsType = cast<RankedTensorType>(ids.getType());
  int64_t r = idsType.getRank();
  AffineMap id = AffineMap::getMultiDimIdentityMap(r, ctx);
  SmallVector<utils::IteratorType> par(r, utils::IteratorType::parallel);
  auto i32c = [](OpBuilder &b, Location l, int64_t c) -> Value {
    return arith::ConstantIntOp::create(b, l, c, 32);
  };
  // Each id relative to this device's first row; -1 where it is not here.
  Value local =
      linalg::GenericOp::create(
          builder, loc, idsType, ValueRange{ids},
          ValueRange{tensor::EmptyOp::create(
              builder, loc, tensor::getMixedSizes(builder, loc, ids),
              idsType.getElementType())},
          ArrayRef<AffineMap>{id, id}, par,
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value device = tensor::ExtractOp::create(
                b, l, rank,
                ValueRange{arith::ConstantIndexOp::create(b, l, 0)});
            Value at = arith::SubIOp::create(
                b, l, a[0],
                arith::MulIOp::create(b, l, device, i32c(b, l, rows)));
            Value here = arith::AndIOp::create(
                b, l,
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, at,
                                      i32c(b, l, 0)),
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, at,
                                      i32c(b, l, rows)));
            linalg::YieldOp::create(b, l,
                                    ValueRange{arith::SelectOp::create(
                                        b, l, here, at, i32c(b, l, -1))});
          })
          .getResult(0);
  Value clamped =
      linalg::GenericOp::create(
          builder, loc, idsType, ValueRange{local},
          ValueRange{tensor::EmptyOp::create(
              builder, loc, tensor::getMixedSizes(builder, loc, ids),
              idsType.getElementType())},
          ArrayRef<AffineMap>{id, id}, par,
          [&](OpBuilder &b, Location l, ValueRange a) {
            linalg::YieldOp::create(
                b, l,
                ValueRange{arith::MaxSIOp::create(b, l, a[0], i32c(b, l, 0))});
          })
          .getResult(0);
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  Value rowsOut = EmbeddingOp::create(builder, loc, resultType, part, clamped);
  // Rows of ids that are not here: zero.
  SmallVector<AffineExpr> idExprs;
  for (int64_t d = 0; d < r; ++d)
    idExprs.push_back(getAffineDimExpr(d, ctx));
  AffineMap outMap = AffineMap::getMultiDimIdentityMap(r + 1, ctx);
  SmallVector<utils::IteratorType> par1(r + 1, utils::IteratorType::parallel);
  Type elt = resultType.getElementType();
  Value y =
      linalg::GenericOp::create(
          builder, loc, resultType, ValueRange{rowsOut, local},
          ValueRange{tensor::EmptyOp::create(
              builder, loc, tensor::getMixedSizes(builder, loc, rowsOut), elt)},
          ArrayRef<AffineMap>{outMap, AffineMap::get(r + 1, 0, idExprs, ctx),
                              outMap},
          par1,
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value here = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge,
                                               a[1], i32c(b, l, 0));
            Value zero = arith::ConstantOp::create(b, l, b.getZeroAttr(elt));
            linalg::YieldOp::create(
                b, l,
                ValueRange{arith::SelectOp::create(b, l, here, a[0], zero)});
          })
          .getResult(0);
  op.getResult().replaceAllUsesWith(y);
  op.erase();
  layouts[y] = Layout::partial();
  return success();
}

/// An LM head split by vocabulary rows: each device forms its [T, V / N]
/// logits, their max and sum of exponentials (its part's log-sum-exp), and
/// the target's logit where the target is among its rows (else 0). One
/// all_gather of the parts' log-sum-exps ([T, N]) and one all_reduce of the
/// target logits make the result on every device: the log-sum-exp of the
/// parts' log-sum-exps (max first), subtracted from the target's logit.
/// Tokens outside [0, V) are on no device: their log-prob is -lse instead of
/// a run-time error.
Sharder::VocabLogprobs Sharder::vocabLogprobs(Value hidden, Value part,
                                              Value tokens,
                                              StringAttr precision,
                                              Location loc) {
  Value rank = deviceIndex();
  MLIRContext *ctx = builder.getContext();
  Type f32 = builder.getF32Type();
  int64_t rows = cast<RankedTensorType>(part.getType()).getDimSize(0);
  int64_t t = cast<RankedTensorType>(hidden.getType()).getDimSize(0);
  OpFoldResult tSize = tensor::getMixedSize(builder, loc, hidden, 0);
  auto tensor = [&](ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, f32);
  };
  auto filled = [&](ArrayRef<OpFoldResult> sizes, float v) -> Value {
    Value c =
        arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(v));
    return linalg::FillOp::create(
               builder, loc, ValueRange{c},
               ValueRange{tensor::EmptyOp::create(builder, loc, sizes, f32)})
        .getResult(0);
  };
  AffineExpr d0 = getAffineDimExpr(0, ctx);
  auto par = utils::IteratorType::parallel;
  auto red = utils::IteratorType::reduction;
  AffineMap rowsMap = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap rowMap = AffineMap::get(2, 0, d0, ctx);
  AffineMap id1 = AffineMap::getMultiDimIdentityMap(1, ctx);

  // Under precision "bf16" the operands enter the product rounded to bf16,
  // as the one-device lowering reads them (f32 ones rounded here).
  auto rounded = [&](Value v) -> Value {
    auto type = cast<RankedTensorType>(v.getType());
    if (precision.getValue() != "bf16" || !type.getElementType().isF32())
      return v;
    Value b16 = arith::TruncFOp::create(builder, loc,
                                        type.clone(builder.getBF16Type()), v);
    return arith::ExtFOp::create(builder, loc, type, b16);
  };
  Value z = LinearOp::create(builder, loc, tensor({t, rows}), rounded(hidden),
                             rounded(part), precision);
  float inf = std::numeric_limits<float>::infinity();
  // [T]: the max of each row of x [T, n], and the sum of exp(x - max).
  auto rowMax = [&](Value x) -> Value {
    return linalg::GenericOp::create(
               builder, loc, tensor({t}), ValueRange{x},
               ValueRange{filled({tSize}, -inf)},
               ArrayRef<AffineMap>{rowsMap, rowMap},
               ArrayRef<utils::IteratorType>{par, red},
               [&](OpBuilder &b, Location l, ValueRange a) {
                 linalg::YieldOp::create(
                     b, l,
                     ValueRange{arith::MaximumFOp::create(b, l, a[0], a[1])});
               })
        .getResult(0);
  };
  auto rowSumExp = [&](Value x, Value max) -> Value {
    return linalg::GenericOp::create(
               builder, loc, tensor({t}), ValueRange{x, max},
               ValueRange{filled({tSize}, 0.0f)},
               ArrayRef<AffineMap>{rowsMap, rowMap, rowMap},
               ArrayRef<utils::IteratorType>{par, red},
               [&](OpBuilder &b, Location l, ValueRange a) {
                 Value e = math::ExpOp::create(
                     b, l, arith::SubFOp::create(b, l, a[0], a[1]));
                 linalg::YieldOp::create(
                     b, l, ValueRange{arith::AddFOp::create(b, l, a[2], e)});
               })
        .getResult(0);
  };
  // This part's max, then its sum of exponentials.
  Value m = rowMax(z);
  Value sum = rowSumExp(z, m);
  // [T, 1]: this part's log-sum-exp, gathered to [T, N].
  Value lse =
      linalg::GenericOp::create(
          builder, loc, tensor({t, 1}), ValueRange{m, sum},
          ValueRange{tensor::EmptyOp::create(
              builder, loc,
              ArrayRef<OpFoldResult>{tSize, builder.getIndexAttr(1)}, f32)},
          ArrayRef<AffineMap>{rowMap, rowMap, rowsMap},
          ArrayRef<utils::IteratorType>{par, par},
          [&](OpBuilder &b, Location l, ValueRange a) {
            linalg::YieldOp::create(
                b, l,
                ValueRange{arith::AddFOp::create(
                    b, l, a[0], math::LogOp::create(b, l, a[1]))});
          })
          .getResult(0);
  Value parts = AllGatherOp::create(builder, loc, tensor({t, devices}), lse,
                                    builder.getI64IntegerAttr(1));
  // The target's logit on the device that holds its row, 0 elsewhere.
  Value target =
      linalg::GenericOp::create(
          builder, loc, tensor({t}), ValueRange{tokens},
          ValueRange{tensor::EmptyOp::create(
              builder, loc, ArrayRef<OpFoldResult>{tSize}, f32)},
          ArrayRef<AffineMap>{id1, id1}, ArrayRef<utils::IteratorType>{par},
          [&](OpBuilder &b, Location l, ValueRange a) {
            auto i32c = [&](int64_t c) -> Value {
              return arith::ConstantIntOp::create(b, l, c, 32);
            };
            Value device = tensor::ExtractOp::create(
                b, l, rank,
                ValueRange{arith::ConstantIndexOp::create(b, l, 0)});
            Value at = arith::SubIOp::create(
                b, l, a[0], arith::MulIOp::create(b, l, device, i32c(rows)));
            Value here = arith::AndIOp::create(
                b, l,
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, at,
                                      i32c(0)),
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, at,
                                      i32c(rows)));
            Value safe = arith::IndexCastOp::create(
                b, l, b.getIndexType(),
                arith::MaxSIOp::create(
                    b, l, arith::MinSIOp::create(b, l, at, i32c(rows - 1)),
                    i32c(0)));
            Value v = tensor::ExtractOp::create(
                b, l, z, ValueRange{linalg::IndexOp::create(b, l, 0), safe});
            Value zero =
                arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0f));
            linalg::YieldOp::create(
                b, l, ValueRange{arith::SelectOp::create(b, l, here, v, zero)});
          })
          .getResult(0);
  target = AllReduceOp::create(builder, loc, target.getType(), target);
  // The whole log-sum-exp from the parts', then the log-prob.
  Value gm = rowMax(parts);
  Value gs = rowSumExp(parts, gm);
  auto empty1 = [&]() -> Value {
    return tensor::EmptyOp::create(builder, loc, ArrayRef<OpFoldResult>{tSize},
                                   f32);
  };
  Value whole = linalg::GenericOp::create(
                    builder, loc, tensor({t}), ValueRange{gm, gs},
                    ValueRange{empty1()}, ArrayRef<AffineMap>{id1, id1, id1},
                    ArrayRef<utils::IteratorType>{par},
                    [&](OpBuilder &b, Location l, ValueRange a) {
                      linalg::YieldOp::create(
                          b, l,
                          ValueRange{arith::AddFOp::create(
                              b, l, a[0], math::LogOp::create(b, l, a[1]))});
                    })
                    .getResult(0);
  Value y =
      linalg::GenericOp::create(
          builder, loc, tensor({t}), ValueRange{target, whole},
          ValueRange{empty1()}, ArrayRef<AffineMap>{id1, id1, id1},
          ArrayRef<utils::IteratorType>{par},
          [&](OpBuilder &b, Location l, ValueRange a) {
            linalg::YieldOp::create(
                b, l, ValueRange{arith::SubFOp::create(b, l, a[0], a[1])});
          })
          .getResult(0);
  return {z, whole, y};
}

LogicalResult Sharder::visitTokenLogprobs(TokenLogprobsOp op) {
  Value head = op.getLmHead();
  if (!canPart(head, 0) || isUniform(head)) {
    wholeOperands(op);
    return success();
  }
  Value hidden = wholeOf(op.getHidden(), op);
  Value tokens = wholeOf(op.getTokens(), op);
  Value part = partOf(head, 0, op);
  deviceIndex();
  builder.setInsertionPoint(op);
  VocabLogprobs lp =
      vocabLogprobs(hidden, part, tokens, op.getPrecisionAttr(), op.getLoc());
  op.getResult().replaceAllUsesWith(lp.logp);
  op.erase();
  return success();
}

/// hymir.cispo_loss with an LM head split by vocabulary rows: logp_new as
/// hymir.token_logprobs' (a distributed log-sum-exp), the loss and every
/// token's gradient coefficient on every device (the arithmetic of
/// hymir-tile-cispo-loss: mask count, loss and coefficients through f64),
/// then each device's dz = coef (1[v == y] - exp(z - lse)) over its rows:
/// d_lm_head is its rows' dz^T h (split by rows, as the head), d_hidden the
/// sum over the devices of dz W (an all_reduce of f32 [T, N]). Operands
/// enter the gradient products rounded to bf16 under precision "bf16".
LogicalResult Sharder::visitCispoLoss(CispoLossOp op) {
  Value head = op.getLmHead();
  if (!canPart(head, 0) || isUniform(head)) {
    wholeOperands(op);
    return success();
  }
  Value hidden = wholeOf(op.getHidden(), op);
  Value targets = wholeOf(op.getTargets(), op);
  Value logpOld = wholeOf(op.getLogpOld(), op);
  Value advantages = wholeOf(op.getAdvantages(), op);
  Value mask = wholeOf(op.getMask(), op);
  Value part = partOf(head, 0, op);
  Value rank = deviceIndex();
  builder.setInsertionPoint(op);
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  StringAttr precision = builder.getStringAttr(op.getPrecision());
  VocabLogprobs lp = vocabLogprobs(hidden, part, targets, precision, loc);
  Type f32 = builder.getF32Type(), f64 = builder.getF64Type();
  int64_t t = cast<RankedTensorType>(hidden.getType()).getDimSize(0);
  int64_t width = cast<RankedTensorType>(hidden.getType()).getDimSize(1);
  int64_t rows = cast<RankedTensorType>(part.getType()).getDimSize(0);
  OpFoldResult tSize = tensor::getMixedSize(builder, loc, hidden, 0);
  auto par = utils::IteratorType::parallel;
  auto red = utils::IteratorType::reduction;
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
             d2 = getAffineDimExpr(2, ctx);
  AffineMap id1 = AffineMap::getMultiDimIdentityMap(1, ctx);
  // Scalars are [1] tensors: a reduction over the tokens is a loop of one
  // point (d0) over the tokens (d1).
  AffineMap one = AffineMap::get(2, 0, d0, ctx),
            token = AffineMap::get(2, 0, d1, ctx);
  AffineMap first = AffineMap::get(1, 0, getAffineConstantExpr(0, ctx), ctx);
  auto scalar = [&](Type type, double init) -> Value {
    Value c =
        arith::ConstantOp::create(builder, loc, FloatAttr::get(type, init));
    return linalg::FillOp::create(
               builder, loc, ValueRange{c},
               ValueRange{tensor::EmptyOp::create(builder, loc,
                                                  ArrayRef<int64_t>{1}, type)})
        .getResult(0);
  };
  // sum(mask) in f64.
  Value count =
      linalg::GenericOp::create(
          builder, loc, RankedTensorType::get({1}, f64), ValueRange{mask},
          ValueRange{scalar(f64, 0)}, ArrayRef<AffineMap>{token, one},
          ArrayRef<utils::IteratorType>{par, red},
          [&](OpBuilder &b, Location l, ValueRange a) {
            linalg::YieldOp::create(
                b, l,
                ValueRange{arith::AddFOp::create(
                    b, l, a[1], arith::ExtFOp::create(b, l, f64, a[0]))});
          })
          .getResult(0);
  double epsLow = op.getEpsLow().convertToDouble();
  double epsHigh = op.getEpsHigh().convertToDouble();
  bool unified = op.getUnifiedMask();
  // A token's weight mask M r^ A (r^ clipped, M the unified mask) in f32,
  // and 1 / sum(mask) (0 when nothing is masked in).
  auto weight = [&](OpBuilder &b, Location l, Value lpv, Value old, Value a,
                    Value m) {
    auto c32 = [&](double v) -> Value {
      return arith::ConstantOp::create(b, l, b.getF32FloatAttr(v));
    };
    Value low = c32(1.0 - epsLow), high = c32(1.0 + epsHigh), zero = c32(0);
    Value r = math::ExpOp::create(b, l, arith::SubFOp::create(b, l, lpv, old));
    Value rHat = arith::MinimumFOp::create(
        b, l, arith::MaximumFOp::create(b, l, r, low), high);
    Value w =
        arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, m, rHat), a);
    if (unified) {
      auto cmp = [&](arith::CmpFPredicate p, Value x, Value y) -> Value {
        return arith::CmpFOp::create(b, l, p, x, y);
      };
      Value up =
          arith::AndIOp::create(b, l, cmp(arith::CmpFPredicate::OGT, a, zero),
                                cmp(arith::CmpFPredicate::OGT, r, high));
      Value down =
          arith::AndIOp::create(b, l, cmp(arith::CmpFPredicate::OLT, a, zero),
                                cmp(arith::CmpFPredicate::OLT, r, low));
      w = arith::SelectOp::create(b, l, arith::OrIOp::create(b, l, up, down),
                                  zero, w);
    }
    return w;
  };
  auto inverse = [&](OpBuilder &b, Location l, Value n) -> Value {
    Value zero = arith::ConstantOp::create(b, l, b.getF64FloatAttr(0));
    Value none =
        arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, n, zero);
    Value one = arith::ConstantOp::create(b, l, b.getF64FloatAttr(1));
    return arith::SelectOp::create(b, l, none, zero,
                                   arith::DivFOp::create(b, l, one, n));
  };
  SmallVector<Value> inputs{lp.logp, logpOld, advantages, mask};
  // loss = -(sum_t w_t logp_t) / sum(mask).
  Value weighted =
      linalg::GenericOp::create(
          builder, loc, RankedTensorType::get({1}, f64), inputs,
          ValueRange{scalar(f64, 0)},
          ArrayRef<AffineMap>{token, token, token, token, one},
          ArrayRef<utils::IteratorType>{par, red},
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value w = weight(b, l, a[0], a[1], a[2], a[3]);
            Value w64 = arith::ExtFOp::create(b, l, f64, w);
            Value lp64 = arith::ExtFOp::create(b, l, f64, a[0]);
            linalg::YieldOp::create(
                b, l, ValueRange{math::FmaOp::create(b, l, w64, lp64, a[4])});
          })
          .getResult(0);
  Value loss =
      linalg::GenericOp::create(
          builder, loc, RankedTensorType::get({1}, f32),
          ValueRange{weighted, count},
          ValueRange{
              tensor::EmptyOp::create(builder, loc, ArrayRef<int64_t>{1}, f32)},
          ArrayRef<AffineMap>{id1, id1, id1},
          ArrayRef<utils::IteratorType>{par},
          [&](OpBuilder &b, Location l, ValueRange a) {
            Value v = arith::NegFOp::create(
                b, l, arith::MulFOp::create(b, l, a[0], inverse(b, l, a[1])));
            linalg::YieldOp::create(
                b, l, ValueRange{arith::TruncFOp::create(b, l, f32, v)});
          })
          .getResult(0);
  loss =
      tensor::CollapseShapeOp::create(builder, loc, op.getLoss().getType(),
                                      loss, ArrayRef<ReassociationIndices>{});
  op.getLoss().replaceAllUsesWith(loss);
  op.getLogpNew().replaceAllUsesWith(lp.logp);
  bool wantHidden = !op.getDHidden().use_empty();
  bool wantHead = !op.getDLmHead().use_empty();
  if (wantHidden || wantHead) {
    // coef_t = -w_t / sum(mask).
    Value coef =
        linalg::GenericOp::create(
            builder, loc, RankedTensorType::get({t}, f32),
            ValueRange{lp.logp, logpOld, advantages, mask, count},
            ValueRange{tensor::EmptyOp::create(
                builder, loc, ArrayRef<OpFoldResult>{tSize}, f32)},
            ArrayRef<AffineMap>{id1, id1, id1, id1, first, id1},
            ArrayRef<utils::IteratorType>{par},
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value w = weight(b, l, a[0], a[1], a[2], a[3]);
              Value c = arith::NegFOp::create(
                  b, l,
                  arith::MulFOp::create(b, l,
                                        arith::ExtFOp::create(b, l, f64, w),
                                        inverse(b, l, a[4])));
              linalg::YieldOp::create(
                  b, l, ValueRange{arith::TruncFOp::create(b, l, f32, c)});
            })
            .getResult(0);
    // dz [T, rows] over this device's rows.
    AffineMap rowsMap = AffineMap::getMultiDimIdentityMap(2, ctx);
    AffineMap rowMap = AffineMap::get(2, 0, d0, ctx);
    Value dz =
        linalg::GenericOp::create(
            builder, loc, RankedTensorType::get({t, rows}, f32),
            ValueRange{lp.z, lp.lse, coef, targets},
            ValueRange{tensor::EmptyOp::create(
                builder, loc,
                ArrayRef<OpFoldResult>{tSize, builder.getIndexAttr(rows)},
                f32)},
            ArrayRef<AffineMap>{rowsMap, rowMap, rowMap, rowMap, rowsMap},
            ArrayRef<utils::IteratorType>{par, par},
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value device = arith::IndexCastOp::create(
                  b, l, b.getIndexType(),
                  tensor::ExtractOp::create(
                      b, l, rank,
                      ValueRange{arith::ConstantIndexOp::create(b, l, 0)}));
              Value v = arith::AddIOp::create(
                  b, l, linalg::IndexOp::create(b, l, 1),
                  arith::MulIOp::create(
                      b, l, device,
                      arith::ConstantIndexOp::create(b, l, rows)));
              Value y =
                  arith::IndexCastOp::create(b, l, b.getIndexType(), a[3]);
              Value isTarget =
                  arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, v, y);
              Value onehot = arith::SelectOp::create(
                  b, l, isTarget,
                  arith::ConstantOp::create(b, l, b.getF32FloatAttr(1)),
                  arith::ConstantOp::create(b, l, b.getF32FloatAttr(0)));
              Value p = math::ExpOp::create(
                  b, l, arith::SubFOp::create(b, l, a[0], a[1]));
              linalg::YieldOp::create(
                  b, l,
                  ValueRange{arith::MulFOp::create(
                      b, l, a[2], arith::SubFOp::create(b, l, onehot, p))});
            })
            .getResult(0);
    bool bf16 = op.getPrecision() == "bf16";
    // An operand of a gradient product in f32 (rounded to bf16 first under
    // precision "bf16").
    auto operand = [&](OpBuilder &b, Location l, Value x) -> Value {
      if (bf16 && !x.getType().isBF16())
        x = arith::TruncFOp::create(b, l, b.getBF16Type(), x);
      return x.getType().isF32() ? x : arith::ExtFOp::create(b, l, f32, x);
    };
    auto zeros = [&](ArrayRef<OpFoldResult> sizes) -> Value {
      Value c = arith::ConstantOp::create(builder, loc,
                                          builder.getF32FloatAttr(0.0f));
      return linalg::FillOp::create(
                 builder, loc, ValueRange{c},
                 ValueRange{tensor::EmptyOp::create(builder, loc, sizes, f32)})
          .getResult(0);
    };
    // The result's element type from an f32 accumulation.
    auto convert = [&](Value v, RankedTensorType type) -> Value {
      if (type.getElementType().isF32())
        return v;
      return arith::TruncFOp::create(
          builder, loc,
          cast<RankedTensorType>(v.getType()).clone(type.getElementType()), v);
    };
    // out[i, k] (i < m) = sum_j dz[dzIndex] operand(x[j, k]) over the loops
    // (i, k, j), f32: the two gradient products.
    auto gradProduct = [&](Value x, int64_t m, OpFoldResult mSize,
                           ArrayRef<AffineExpr> dzIndex) -> Value {
      return linalg::GenericOp::create(
                 builder, loc, RankedTensorType::get({m, width}, f32),
                 ValueRange{dz, x},
                 ValueRange{zeros({mSize, builder.getIndexAttr(width)})},
                 ArrayRef<AffineMap>{AffineMap::get(3, 0, dzIndex, ctx),
                                     AffineMap::get(3, 0, {d2, d1}, ctx),
                                     AffineMap::get(3, 0, {d0, d1}, ctx)},
                 ArrayRef<utils::IteratorType>{par, par, red},
                 [&](OpBuilder &b, Location l, ValueRange a) {
                   linalg::YieldOp::create(
                       b, l,
                       ValueRange{math::FmaOp::create(
                           b, l, a[0], operand(b, l, a[1]), a[2])});
                 })
          .getResult(0);
    };
    if (wantHidden) {
      // (t, k, v): d_hidden[t, k] = sum_v dz[t, v] W[v, k], this device's
      // rows; summed over the devices.
      Value dh = gradProduct(part, t, tSize, {d0, d2});
      dh = AllReduceOp::create(builder, loc, dh.getType(), dh);
      dh = convert(dh, op.getDHidden().getType());
      op.getDHidden().replaceAllUsesWith(dh);
    }
    if (wantHead) {
      // (v, k, t): d_lm_head[v, k] = sum_t dz[t, v] h[t, k], this device's
      // rows (split as the head is).
      Value dw =
          gradProduct(hidden, rows, builder.getIndexAttr(rows), {d2, d0});
      dw = convert(dw, cast<RankedTensorType>(part.getType()));
      layouts[dw] = Layout::split(0);
      op.getDLmHead().replaceAllUsesWith(dw);
    }
  }
  op.erase();
  return success();
}

LogicalResult Sharder::visit(Operation *op) {
  if (isa<AllReduceOp, AllGatherOp, ReduceScatterOp, AllToAllOp, DeviceIndexOp>(
          op) &&
      op->getResult(0) != index)
    return op->emitError("hymir-shard: the graph already has collectives; "
                         "shard a single-device graph");
  if (auto linear = dyn_cast<LinearOp>(op))
    return visitLinear(linear);
  // A stack of undecided arguments (and the expand_shapes feeding it) is
  // left for its use to take whole or in parts.
  // (Or of arguments an earlier entry split alike: its use takes the same
  // parts, or gathers them.)
  auto undecided = [&](tensor::ConcatOp stack) {
    if (!stack)
      return false;
    std::optional<int64_t> common;
    return llvm::all_of(stack.getInputs(), [&](Value in) {
      auto it =
          argDecisions.find(in.getDefiningOp<tensor::ExpandShapeOp>().getSrc());
      if (it == argDecisions.end() || it->second == -1 ||
          (common && *common != it->second))
        return false;
      common = it->second;
      return true;
    });
  };
  if (auto stack = dyn_cast<tensor::ConcatOp>(op);
      stack && undecided(paramStack(stack.getResult()))) {
    stacks.insert(stack);
    return success();
  }
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    if (expand->hasOneUse())
      if (auto stack = dyn_cast<tensor::ConcatOp>(*expand->user_begin());
          stack && undecided(paramStack(stack.getResult())))
        return success();
    return visitExpand(expand);
  }
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op))
    return visitCollapse(collapse);
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op))
    return visitExtractSlice(slice);
  if (auto dim = dyn_cast<tensor::DimOp>(op))
    return visitDim(dim);
  if (auto lightning = dyn_cast<LightningAttentionOp>(op))
    return visitLightning(lightning);
  if (auto rope = dyn_cast<RopeOp>(op))
    return visitHeads(op, {rope.getX()});
  if (auto softmax = dyn_cast<SoftmaxAttentionOp>(op))
    return visitHeads(op, {softmax.getQ(), softmax.getK(), softmax.getV()});
  if (auto write = dyn_cast<KvCacheWriteOp>(op))
    return visitHeads(op, {write.getCache(), write.getUpdate()});
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    return visitGeneric(generic);
  if (auto ret = dyn_cast<func::ReturnOp>(op))
    return visitReturn(ret);
  if (auto moe = dyn_cast<MoeOp>(op))
    return visitMoe(moe);
  if (auto norm = dyn_cast<RmsNormOp>(op))
    return visitRmsNorm(norm);
  if (auto embedding = dyn_cast<EmbeddingOp>(op))
    return visitEmbedding(embedding);
  if (auto logprobs = dyn_cast<TokenLogprobsOp>(op))
    return visitTokenLogprobs(logprobs);
  if (auto cispo = dyn_cast<CispoLossOp>(op))
    return visitCispoLoss(cispo);
  if (op->hasTrait<OpTrait::Elementwise>() && op->getNumResults() > 0 &&
      llvm::all_of(op->getOperandTypes(),
                   [](Type t) { return isa<RankedTensorType>(t); }) &&
      llvm::all_of(op->getResultTypes(),
                   [](Type t) { return isa<RankedTensorType>(t); }))
    return visitElementwise(op);
  wholeOperands(op);
  return success();
}

LogicalResult Sharder::run() {
  Block &body = func.getBody().front();
  for (BlockArgument arg : body.getArguments())
    if (isa<RankedTensorType>(arg.getType()))
      argDecisions[arg] = -2;
  // An argument updated in place (a lightning state, a KV cache) is split
  // by heads when it holds them and they divide (each device updates its
  // part, returned as its part of the tied result), as an earlier entry
  // sharing it by name decided; otherwise whole on every device.
  for (unsigned r = 0; r < func.getNumResults(); ++r) {
    std::optional<unsigned> a = getTiedArgument(func, r);
    if (!a)
      continue;
    BlockArgument arg = body.getArgument(*a);
    StringAttr name = func.getArgAttrOfType<StringAttr>(*a, "hymir.name");
    auto it = name ? states.find(name.getValue()) : states.end();
    int64_t dim = it != states.end() ? it->second : headDimOf(arg);
    if (dim >= 0 && !divisible(arg.getType(), dim))
      dim = -1;
    argDecisions[arg] = dim;
    if (dim >= 0) {
      setPart(arg, dim);
      setShardDim(func, *a, dim);
    }
    if (name)
      states.try_emplace(name.getValue(), dim);
  }
  // Parameters an earlier entry decided keep that layout.
  for (BlockArgument arg : body.getArguments()) {
    StringRef name = paramName(arg.getArgNumber());
    auto it = name.empty() ? params.end() : params.find(name);
    if (it == params.end() || !argDecisions.count(arg))
      continue;
    argDecisions[arg] = it->second;
    if (it->second >= 0) {
      setPart(arg, it->second);
      setShardDim(func, arg.getArgNumber(), it->second);
    }
  }
  // Ops are visited in order; a visit may replace the op or insert
  // collectives before it, never after.
  SmallVector<Operation *> ops;
  for (Operation &op : body)
    ops.push_back(&op);
  for (Operation *op : ops)
    if (failed(visit(op)))
      return failure();
  // Deferred stacks go: every use took them in parts or whole (partOf,
  // wholeOf), which built their replacements. One still used (not through
  // either) keeps its arguments whole.
  for (Operation *stack : stacks) {
    SmallVector<Operation *> expands;
    for (Value in : stack->getOperands())
      expands.push_back(in.getDefiningOp());
    if (stack->use_empty()) {
      stack->erase();
      for (Operation *expand : expands)
        expand->erase();
      continue;
    }
    for (Operation *expand : expands) {
      auto it = argDecisions.find(expand->getOperand(0));
      if (it != argDecisions.end() && it->second == -2)
        it->second = -1;
    }
  }
  // What this entry decided for the parameters later entries share.
  for (BlockArgument arg : body.getArguments()) {
    StringRef name = paramName(arg.getArgNumber());
    auto it = argDecisions.find(arg);
    if (name.empty() || it == argDecisions.end() || it->second == -2)
      continue;
    params.try_emplace(name, it->second);
  }
  SmallVector<Type> inputs(body.getArgumentTypes());
  Operation *terminator = body.getTerminator();
  func.setFunctionType(FunctionType::get(func.getContext(), inputs,
                                         terminator->getOperandTypes()));
  return success();
}

struct HymirShard : hymir::impl::HymirShardBase<HymirShard> {
  using HymirShardBase::HymirShardBase;

  void runOnOperation() override {
    if (devices < 1) {
      getOperation().emitError() << "hymir-shard: devices must be at least 1, "
                                    "got "
                                 << static_cast<int64_t>(devices);
      return signalPassFailure();
    }
    MoeMode mode;
    if (moe == "auto")
      mode = MoeMode::Auto;
    else if (moe == "expert")
      mode = MoeMode::Expert;
    else if (moe == "tensor")
      mode = MoeMode::Tensor;
    else {
      getOperation().emitError()
          << "hymir-shard: moe must be auto, expert or tensor, got '" << moe
          << "'";
      return signalPassFailure();
    }
    if (devices == 1 && !single)
      return;
    ParamLayouts params, states;
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal())
        continue;
      if (!func.getBody().hasOneBlock()) {
        func.emitError("hymir-shard: functions of one block only");
        return signalPassFailure();
      }
      if (failed(Sharder(func, devices, mode, params, states).run()))
        return signalPassFailure();
    }
  }
};

} // namespace
