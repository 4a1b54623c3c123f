//===- PlanOps.cpp - hymir_plan op verifiers and builders -----------------===//
//
// Verifiers name the operand or attribute at fault and the value found.
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Plan/IR/PlanOps.h"
#include "hymir/Dialect/TensorMapRules.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::hymir::plan;

#define GET_OP_CLASSES
#include "hymir/Dialect/Plan/IR/PlanOps.cpp.inc"

//===----------------------------------------------------------------------===//
// EntryOp
//===----------------------------------------------------------------------===//

void EntryOp::build(OpBuilder &builder, OperationState &state, StringRef name,
                    ArrayAttr inputs, ArrayAttr outputs, ArrayAttr symbols) {
  state.addAttribute(getSymNameAttrName(state.name),
                     builder.getStringAttr(name));
  state.addAttribute(getInputsAttrName(state.name), inputs);
  state.addAttribute(getOutputsAttrName(state.name), outputs);
  state.addAttribute(getSymbolsAttrName(state.name), symbols);
  Region *body = state.addRegion();
  body->push_back(new Block);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(&body->front());
  ReturnOp::create(builder, state.location);
}

LogicalResult EntryOp::verify() {
  for (auto [what, list] :
       {std::pair<StringRef, ArrayAttr>{"inputs", getInputs()},
        {"outputs", getOutputs()}})
    for (Attribute a : list)
      if (!isa<TensorSpecAttr>(a))
        return emitOpError()
               << what << " must be #hymir_plan.tensor specs, got " << a;
  for (Attribute a : getSymbols()) {
    auto symbol = dyn_cast<SymbolAttr>(a);
    if (!symbol)
      return emitOpError() << "symbols must be #hymir_plan.symbol, got " << a;
    if (symbol.getInput() < 0 ||
        symbol.getInput() >= static_cast<int64_t>(getInputs().size()))
      return emitOpError() << "symbol '" << symbol.getName() << "' reads input "
                           << symbol.getInput() << ", but the entry has "
                           << getInputs().size();
    if (symbol.getMax() < 1)
      return emitOpError() << "symbol '" << symbol.getName()
                           << "' needs a positive maximum, got "
                           << symbol.getMax();
  }
  for (Attribute list : {getInputs(), getOutputs()})
    for (Attribute a : cast<ArrayAttr>(list)) {
      auto spec = cast<TensorSpecAttr>(a);
      if (failed(verifySizeMap(*this, spec.getShape().getValue(),
                               "shape of '" + spec.getName().str() + "'")))
        return failure();
    }
  // Checks are numbered in order: the runtime's check words are an array.
  int64_t checks = 0;
  for (auto check : getBody().front().getOps<CheckOp>()) {
    if (static_cast<int64_t>(check.getIndex()) != checks)
      return check.emitOpError()
             << "is check " << static_cast<int64_t>(check.getIndex())
             << " of its entry, but checks are numbered 0, 1, ... in order "
                "(expected "
             << checks << ")";
    ++checks;
  }
  // Ties: an output tied to an input is that input's storage.
  SmallVector<int64_t> tiedBy(getInputs().size(), -1);
  for (auto [i, a] : llvm::enumerate(getInputs()))
    if (cast<TensorSpecAttr>(a).getTiedTo() != -1)
      return emitOpError() << "input " << i << " ('"
                           << cast<TensorSpecAttr>(a).getName()
                           << "') is tied; only outputs are tied to inputs";
  for (auto [i, a] : llvm::enumerate(getOutputs())) {
    auto out = cast<TensorSpecAttr>(a);
    int64_t k = out.getTiedTo();
    if (k == -1)
      continue;
    if (k >= static_cast<int64_t>(tiedBy.size()))
      return emitOpError() << "output " << i << " ('" << out.getName()
                           << "') is tied to input " << k
                           << ", but the entry has " << tiedBy.size();
    auto in = cast<TensorSpecAttr>(getInputs()[k]);
    if (in.getElementType() != out.getElementType() ||
        in.getShape() != out.getShape())
      return emitOpError() << "output " << i << " ('" << out.getName()
                           << "') is tied to input " << k << " ('"
                           << in.getName()
                           << "') of another element type or shape";
    // A split input's tied output is split the same way (each device
    // updates its part).
    if (in.getShardDim() != out.getShardDim())
      return emitOpError() << "output " << i << " ('" << out.getName()
                           << "') is tied to input " << k << " ('"
                           << in.getName() << "') split along dim "
                           << in.getShardDim() << ", but has shard_dim "
                           << out.getShardDim();
    if (tiedBy[k] != -1)
      return emitOpError() << "outputs " << tiedBy[k] << " and " << i
                           << " are tied to input " << k << " ('"
                           << in.getName() << "')";
    tiedBy[k] = static_cast<int64_t>(i);
  }
  for (auto output : getBody().front().getOps<OutputOp>()) {
    int64_t i = output.getIndex();
    if (i >= 0 && i < static_cast<int64_t>(getOutputs().size()))
      if (int64_t k = cast<TensorSpecAttr>(getOutputs()[i]).getTiedTo();
          k != -1)
        return output.emitOpError()
               << "refers to output " << i << ", which is tied to input " << k
               << ": its storage is the input's";
  }
  if (getArenaBytes() && static_cast<int64_t>(*getArenaBytes()) < 0)
    return emitOpError() << "arena size must not be negative, got "
                         << static_cast<int64_t>(*getArenaBytes());
  return success();
}

//===----------------------------------------------------------------------===//
// CodeOp
//===----------------------------------------------------------------------===//

LogicalResult CodeOp::verify() {
  StringRef format = getFormat();
  if (format != "host_shared_object" && format != "ptx" && format != "cubin")
    return emitOpError() << "format must be host_shared_object, ptx or cubin, "
                            "got '"
                         << format << "'";
  if (getPtxFallback() && format != "cubin")
    return emitOpError() << "only a cubin carries a PTX fallback";
  return success();
}

//===----------------------------------------------------------------------===//
// Storage, views and sizes
//===----------------------------------------------------------------------===//

LogicalResult ViewOp::verify() {
  unsigned rank = getView().getType().getRank();
  if (failed(verifySizeMap(*this, getOffset(), "offset", 1)) ||
      failed(verifySizeMap(*this, getSizes(), "sizes", rank)) ||
      failed(verifySizeMap(*this, getStrides(), "strides", rank)))
    return failure();
  return success();
}

LogicalResult SizeOp::verify() {
  return verifySizeMap(*this, getValue(), "value", 1);
}

//===----------------------------------------------------------------------===//
// Steps
//===----------------------------------------------------------------------===//

LogicalResult LaunchOp::verify() {
  if (getKernel().getNestedReferences().size() != 1)
    return emitOpError() << "kernel must be @gpu_module::@kernel, got "
                         << getKernel();
  if (failed(verifySizeMap(*this, getGrid(), "grid", 3)))
    return failure();
  if (getBlock().size() != 3)
    return emitOpError() << "block must have 3 sizes, got "
                         << getBlock().size();
  int64_t threads = 1;
  for (int64_t b : getBlock()) {
    if (b < 1 || b > 1024)
      return emitOpError() << "block sizes must be in [1, 1024], got " << b;
    threads *= b;
  }
  if (threads > 1024)
    return emitOpError() << "a block holds at most 1024 threads, got "
                         << threads;
  // I64Attr getters return the bits unsigned.
  auto shared = static_cast<int64_t>(getSharedMemoryBytes());
  auto lo = static_cast<int64_t>(getTokensAtLeast());
  auto hi = static_cast<int64_t>(getTokensAtMost());
  if (shared < 0 || shared > UINT32_MAX)
    return emitOpError() << "shared memory bytes out of range: " << shared;
  if (lo < 0 || hi < -1 || (hi >= 0 && hi < lo))
    return emitOpError() << "token range [" << lo << ", " << hi
                         << "] is empty or negative";
  return success();
}

LogicalResult GemmOp::verify() {
  for (auto [what, type] :
       {std::pair<StringRef, ViewType>{"x", getX().getType()},
        {"w", getW().getType()},
        {"y", getY().getType()}})
    if (type.getRank() != 2)
      return emitOpError() << what << " must be a 2-d view, got rank "
                           << type.getRank();
  if (getX().getType().getElementType() != getW().getType().getElementType())
    return emitOpError() << "x and w must have one element type, got "
                         << getX().getType().getElementType() << " and "
                         << getW().getType().getElementType();
  auto n = static_cast<int64_t>(getN()), k = static_cast<int64_t>(getK());
  if (n < 1 || k < 1)
    return emitOpError() << "n and k must be positive, got " << n << " and "
                         << k;
  return verifySizeMap(*this, getM(), "m", 1);
}

LogicalResult CopyOp::verify() {
  return verifySizeMap(*this, getBytes(), "bytes", 1);
}

template <typename Op> static LogicalResult verifyCollective(Op op) {
  if (op.getSource().getType().getElementType() !=
      op.getTarget().getType().getElementType())
    return op.emitOpError() << "source and target must have one element type";
  return verifySizeMap(op, op.getElements(), "elements", 1);
}

LogicalResult AllReduceOp::verify() { return verifyCollective(*this); }
LogicalResult AllGatherOp::verify() { return verifyCollective(*this); }
LogicalResult ReduceScatterOp::verify() { return verifyCollective(*this); }

LogicalResult DeviceIndexOp::verify() {
  if (getTarget().getType().getElementType() !=
      IntegerType::get(getContext(), 32))
    return emitOpError() << "target must be an i32 view";
  return success();
}

LogicalResult AllToAllOp::verify() {
  if (failed(verifyCollective(*this)))
    return failure();
  Type i32 = IntegerType::get(getContext(), 32);
  if (getSourceOffsets().getType().getElementType() != i32 ||
      getTargetOffsets().getType().getElementType() != i32)
    return emitOpError() << "offsets must be i32 views";
  if (getRow() < 1)
    return emitOpError() << "row must be positive, got " << getRow();
  return success();
}

LogicalResult TensorMapOp::verify() {
  ViewType source = getSource().getType(), target = getTarget().getType();
  std::optional<int64_t> elementBytes =
      hymir::tensorMapElementBytes(source.getElementType());
  if (!elementBytes)
    return emitOpError() << "expects a source of bf16, f16, f32, f64, i8, "
                            "i32 or i64 elements, got "
                         << source.getElementType();
  // I64Attr getters return the bits unsigned.
  if (std::optional<std::string> error =
          hymir::tensorMapBoxError(source.getRank(), getBox(), *elementBytes,
                                   static_cast<int64_t>(getSwizzle())))
    return emitOpError() << "expects " << *error;
  if (!target.getElementType().isInteger(64) || target.getRank() != 1)
    return emitOpError() << "expects a target of 16 i64 words, got " << target;
  if (auto view = getTarget().getDefiningOp<ViewOp>()) {
    auto words = dyn_cast<AffineConstantExpr>(view.getSizes().getResult(0));
    auto stride = dyn_cast<AffineConstantExpr>(view.getStrides().getResult(0));
    if (!words || words.getValue() != 16 || !stride || stride.getValue() != 1)
      return emitOpError() << "expects a target of 16 i64 words, got sizes "
                           << view.getSizesAttr() << " and strides "
                           << view.getStridesAttr();
  }
  auto lo = static_cast<int64_t>(getTokensAtLeast());
  auto hi = static_cast<int64_t>(getTokensAtMost());
  if (lo < 0 || hi < -1 || (hi >= 0 && hi < lo))
    return emitOpError() << "token range [" << lo << ", " << hi
                         << "] is empty or negative";
  return success();
}
