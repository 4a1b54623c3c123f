//===- Serialize.cpp - hymir IR functions as reference programs -----------===//
//
// See Serialize.h. Every SSA value gets an id when it is defined (call
// results and callee arguments reuse the ids of what they stand for); ops
// with attributes or constants the evaluator needs are written by their own
// cases, every other op the evaluator knows by its operands and results.
//
//===----------------------------------------------------------------------===//

#include "Serialize.h"

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Runtime/Reference.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
namespace hy = ::mlir::hymir;
namespace rt = ::hymir;

namespace hymir::reference {
namespace {

/// Calls nested deeper than this are refused (the IR would have to be
/// generated that way; recursion is caught separately).
constexpr int kMaxCallDepth = 64;

rt::RefAttrDesc intAttr(StringRef name, int64_t value) {
  return {name.str(), value, 0, {}};
}
rt::RefAttrDesc floatAttr(StringRef name, double value) {
  return {name.str(), 0, value, {}};
}
rt::RefAttrDesc intsAttr(StringRef name, std::vector<int64_t> values) {
  return {name.str(), 0, 0, std::move(values)};
}

/// An integer attribute's value: i1 as 0 or 1, wider types sign-extended.
int64_t integerValue(const APInt &v) {
  return v.getBitWidth() == 1 ? static_cast<int64_t>(v.getZExtValue())
                              : v.getSExtValue();
}

class Serializer {
public:
  explicit Serializer(std::vector<Location> *locations)
      : locations(locations) {}

  FailureOr<rt::RefProgramDesc> run(func::FuncOp func) {
    if (func.isExternal())
      return func.emitError()
             << "reference: @" << func.getSymName() << " is a declaration";
    Frame frame;
    current = &frame;
    for (BlockArgument arg : func.getArguments()) {
      FailureOr<uint32_t> id = define(arg, func);
      if (failed(id))
        return failure();
      if (program.values[*id].kind == rt::RefValueKind::Index)
        return func.emitError() << "reference: argument " << arg.getArgNumber()
                                << " is an index; entry arguments are tensors";
      program.arguments.push_back(*id);
      program.argumentNames.push_back(
          entryValueName(func, arg.getArgNumber(), false));
    }
    SmallVector<uint32_t> results;
    if (failed(body(func, frame, results, std::nullopt)))
      return failure();
    for (auto [i, id] : llvm::enumerate(results)) {
      if (program.values[id].kind == rt::RefValueKind::Index)
        return func.emitError() << "reference: result " << i
                                << " is an index; entry results are tensors";
      program.results.push_back(id);
    }
    return std::move(program);
  }

private:
  using Frame = llvm::DenseMap<Value, uint32_t>;

  /// The kind and static shape of a value of `type`, or an error at `at`.
  FailureOr<rt::RefValueDesc> valueType(Type type, Operation *at) {
    auto kindOf = [](Type element) -> std::optional<rt::RefValueKind> {
      if (isa<FloatType>(element))
        return rt::RefValueKind::Float;
      if (isa<IntegerType>(element))
        return rt::RefValueKind::Int;
      return std::nullopt;
    };
    if (isa<IndexType>(type))
      return rt::RefValueDesc{rt::RefValueKind::Index, {}};
    if (auto ranked = dyn_cast<RankedTensorType>(type)) {
      if (std::optional<rt::RefValueKind> kind =
              kindOf(ranked.getElementType())) {
        rt::RefValueDesc desc{*kind, {}};
        for (int64_t d : ranked.getShape())
          desc.shape.push_back(ShapedType::isDynamic(d) ? rt::kRefDynamicDim
                                                        : d);
        return desc;
      }
    } else if (std::optional<rt::RefValueKind> kind = kindOf(type)) {
      return rt::RefValueDesc{*kind, {}};
    }
    return at->emitError() << "reference: values of type " << type
                           << " are not supported by the oracle evaluator";
  }

  /// A new id for `v` in the current frame.
  FailureOr<uint32_t> define(Value v, Operation *at) {
    FailureOr<rt::RefValueDesc> type = valueType(v.getType(), at);
    if (failed(type))
      return failure();
    auto id = static_cast<uint32_t>(program.values.size());
    program.values.push_back(std::move(*type));
    current->try_emplace(v, id);
    return id;
  }

  /// Serializes the ops of `func`'s body into the program, with the
  /// arguments already bound in `frame`; `results` receives the ids it
  /// returns. `callSite` is the location of the call being inlined.
  LogicalResult body(func::FuncOp func, Frame &frame,
                     SmallVectorImpl<uint32_t> &results,
                     std::optional<Location> callSite) {
    Frame *saved = current;
    current = &frame;
    llvm::scope_exit restore([&] { current = saved; });
    if (!llvm::hasSingleElement(func.getBody()))
      return func.emitError()
             << "reference: functions of more than one block are not "
                "supported by the oracle evaluator";
    for (Operation &op : func.getBody().front()) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        for (Value v : ret.getOperands())
          results.push_back(frame.lookup(v));
        return success();
      }
      Location loc = callSite
                         ? Location(CallSiteLoc::get(op.getLoc(), *callSite))
                         : op.getLoc();
      if (auto call = dyn_cast<func::CallOp>(op)) {
        if (failed(inlineCall(call, loc)))
          return failure();
        continue;
      }
      if (failed(serialize(&op, loc)))
        return failure();
    }
    return func.emitError() << "reference: function has no return";
  }

  LogicalResult inlineCall(func::CallOp call, Location loc) {
    auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
        call, call.getCalleeAttr());
    if (!callee)
      return call.emitError()
             << "reference: unknown callee " << call.getCalleeAttr();
    if (callee.isExternal())
      return call.emitError()
             << "reference: cannot inline @" << callee.getSymName()
             << ", which is a declaration";
    if (llvm::is_contained(callStack, callee.getOperation()))
      return call.emitError() << "reference: recursive call to @"
                              << callee.getSymName() << " cannot be inlined";
    if (callStack.size() >= kMaxCallDepth)
      return call.emitError()
             << "reference: calls nest deeper than " << kMaxCallDepth;
    Frame inner;
    for (auto [arg, operand] :
         llvm::zip(callee.getArguments(), call.getOperands()))
      inner[arg] = current->lookup(operand);
    callStack.push_back(callee.getOperation());
    SmallVector<uint32_t> returned;
    LogicalResult result = body(callee, inner, returned, loc);
    callStack.pop_back();
    if (failed(result))
      return failure();
    for (auto [r, id] : llvm::zip(call.getResults(), returned))
      (*current)[r] = id;
    return success();
  }

  /// Appends `op` with its operands and new result ids; the caller adds
  /// attributes and data to the returned op.
  FailureOr<rt::RefOpDesc *> append(Operation *op, Location loc,
                                    ValueRange operands) {
    rt::RefOpDesc desc;
    desc.name = op->getName().getStringRef().str();
    for (Value v : operands)
      desc.operands.push_back(current->lookup(v));
    for (Value r : op->getResults()) {
      FailureOr<uint32_t> id = define(r, op);
      if (failed(id))
        return failure();
      desc.results.push_back(*id);
    }
    program.ops.push_back(std::move(desc));
    if (locations)
      locations->push_back(loc);
    return &program.ops.back();
  }

  LogicalResult serialize(Operation *op, Location loc) {
    if (!rt::isReferenceOp(op->getName().getStringRef().str()))
      return op->emitError() << "reference: '" << op->getName()
                             << "' is not supported by the oracle evaluator";
    // Only the source: the result type gives the shape.
    ValueRange operands = op->getOperands();
    if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(op))
      operands = operands.take_front();
    FailureOr<rt::RefOpDesc *> desc = append(op, loc, operands);
    if (failed(desc))
      return failure();
    rt::RefOpDesc &out = **desc;
    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case([&](arith::ConstantOp c) { return constant(c, out); })
        .Case([&](tensor::ExtractSliceOp s) {
          auto list = [](ArrayRef<int64_t> values) {
            std::vector<int64_t> out;
            for (int64_t v : values)
              out.push_back(ShapedType::isDynamic(v) ? rt::kRefDynamic : v);
            return out;
          };
          out.attrs = {intsAttr("offsets", list(s.getStaticOffsets())),
                       intsAttr("sizes", list(s.getStaticSizes())),
                       intsAttr("strides", list(s.getStaticStrides()))};
          llvm::SmallBitVector dropped = s.getDroppedDims();
          if (dropped.any()) {
            std::vector<int64_t> dims;
            for (int d : dropped.set_bits())
              dims.push_back(d);
            out.attrs.push_back(intsAttr("dropped_dims", dims));
          }
          return success();
        })
        .Case([&](tensor::ConcatOp concat) {
          out.attrs = {intAttr("dim", concat.getDim())};
          return success();
        })
        .Case([&](hy::LightningAttentionOp la) {
          out.attrs = {intAttr("block_size", la.getBlockSize())};
          return success();
        })
        .Case([&](hy::SoftmaxAttentionOp sa) {
          out.attrs = {intAttr("causal", sa.getCausal()),
                       floatAttr("scale", sa.getScale().convertToDouble())};
          return success();
        })
        .Case([&](hy::KvCacheWriteOp write) {
          if (write.getPositions())
            out.attrs = {
                intAttr("rotary_dim",
                        static_cast<int64_t>(*write.getRotaryDim())),
                floatAttr("theta", write.getTheta()->convertToDouble())};
          return success();
        })
        .Case([&](hy::RopeOp rope) {
          out.attrs = {intAttr("rotary_dim", rope.getRotaryDim()),
                       floatAttr("theta", rope.getTheta().convertToDouble())};
          return success();
        })
        .Case([&](hy::RmsNormOp norm) {
          out.attrs = {
              floatAttr("epsilon", norm.getEpsilon().convertToDouble())};
          return success();
        })
        .Case([&](hy::MoeOp moe) {
          out.attrs = {intAttr("top_k", moe.getTopK()),
                       intAttr("renormalize", moe.getRenormalize())};
          return success();
        })
        .Case([&](hy::TopKOp topK) {
          out.attrs = {intAttr("k", topK.getK())};
          return success();
        })
        .Case([&](hy::CispoLossOp loss) {
          out.attrs = {
              floatAttr("eps_low", loss.getEpsLow().convertToDouble()),
              floatAttr("eps_high", loss.getEpsHigh().convertToDouble()),
              intAttr("unified_mask", loss.getUnifiedMask()),
              intAttr("bf16_head", loss.getPrecision() == "bf16")};
          return success();
        })
        .Case([&](hy::TokenLogprobsOp logprobs) {
          out.attrs = {intAttr("bf16_head", logprobs.getPrecision() == "bf16")};
          return success();
        })
        .Default([](Operation *) { return success(); });
  }

  LogicalResult constant(arith::ConstantOp op, rt::RefOpDesc &out) {
    Attribute attr = op.getValue();
    if (auto i = dyn_cast<IntegerAttr>(attr)) {
      out.intData = {integerValue(i.getValue())};
      return success();
    }
    if (auto f = dyn_cast<FloatAttr>(attr)) {
      out.data = {f.getValueAsDouble()};
      return success();
    }
    auto dense = dyn_cast<DenseElementsAttr>(attr);
    if (!dense)
      return op.emitError() << "reference: constants like " << attr
                            << " are not supported by the oracle evaluator";
    if (isa<FloatType>(dense.getElementType())) {
      if (dense.isSplat()) {
        out.data = {dense.getSplatValue<APFloat>().convertToDouble()};
      } else {
        for (APFloat v : dense.getValues<APFloat>())
          out.data.push_back(v.convertToDouble());
      }
    } else if (dense.isSplat()) {
      out.intData = {integerValue(dense.getSplatValue<APInt>())};
    } else {
      for (APInt v : dense.getValues<APInt>())
        out.intData.push_back(integerValue(v));
    }
    return success();
  }

  rt::RefProgramDesc program;
  std::vector<Location> *locations;
  Frame *current = nullptr;
  SmallVector<Operation *> callStack;
};

} // namespace

FailureOr<rt::RefProgramDesc>
serializeReference(func::FuncOp func, std::vector<Location> *opLocations) {
  if (opLocations)
    opLocations->clear();
  return Serializer(opLocations).run(func);
}

std::string entryValueName(func::FuncOp func, unsigned index, bool isResult) {
  StringAttr name = isResult ? mlir::hymir::getResultName(func, index)
                             : mlir::hymir::getArgName(func, index);
  if (name)
    return name.str();
  return (isResult ? "result" : "arg") + std::to_string(index);
}

} // namespace hymir::reference
