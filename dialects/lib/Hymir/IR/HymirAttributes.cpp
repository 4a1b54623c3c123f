//===- HymirAttributes.cpp - hymir's discardable attributes ---------------===//
//
// The accessors of the discardable attributes declared in HymirDialect.td and
// the dialect's verifier hooks for them. A wrong attribute is reported where
// it sits, naming the attribute, what it must be and what was found, so a
// stage that writes a bad marker fails at the next verification instead of
// being silently ignored by the stage that reads it.
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

using namespace mlir;
using namespace mlir::hymir;

#include "hymir/Dialect/Hymir/IR/HymirAttributes.cpp.inc"

using LibraryCallAttr = HymirDialect::LibraryCallAttrHelper;
using PrecisionAttr = HymirDialect::PrecisionAttrHelper;
using LightningAttr = HymirDialect::LightningAttrHelper;
using MoeAttr = HymirDialect::MoeAttrHelper;
using PipelineAttr = HymirDialect::PipelineAttrHelper;
using KernelAttr = HymirDialect::KernelAttrHelper;
using TileBlockSizeAttr = HymirDialect::TileBlockSizeAttrHelper;
using NameAttr = HymirDialect::NameAttrHelper;
using ParamAttr = HymirDialect::ParamAttrHelper;
using ShardDimAttr = HymirDialect::ShardDimAttrHelper;
using TiedAttr = HymirDialect::TiedAttrHelper;

//===----------------------------------------------------------------------===//
// Accessors
//===----------------------------------------------------------------------===//

namespace {

/// Reads a string-valued attribute of `op` as the enum it spells.
template <typename EnumT, typename Helper>
std::optional<EnumT> getKind(Operation *op) {
  StringAttr value = Helper(op->getContext()).getAttr(op);
  if (!value)
    return std::nullopt;
  return symbolizeEnum<EnumT>(value.getValue());
}

template <typename EnumT, typename Helper>
void setKind(Operation *op, EnumT kind) {
  MLIRContext *ctx = op->getContext();
  Helper(ctx).setAttr(op, StringAttr::get(ctx, stringifyEnum(kind)));
}

} // namespace

void hymir::setLibraryCall(Operation *op, LibraryCall kind) {
  setKind<LibraryCall, LibraryCallAttr>(op, kind);
}
std::optional<LibraryCall> hymir::getLibraryCall(Operation *op) {
  return getKind<LibraryCall, LibraryCallAttr>(op);
}

void hymir::setGemmPrecision(Operation *op, Precision precision) {
  setKind<Precision, PrecisionAttr>(op, precision);
}
std::optional<Precision> hymir::getGemmPrecision(Operation *op) {
  return getKind<Precision, PrecisionAttr>(op);
}

void hymir::setLightningPart(Operation *op, LightningPart part) {
  setKind<LightningPart, LightningAttr>(op, part);
}
std::optional<LightningPart> hymir::getLightningPart(Operation *op) {
  return getKind<LightningPart, LightningAttr>(op);
}

void hymir::setMoePart(Operation *op, MoePart part) {
  setKind<MoePart, MoeAttr>(op, part);
}
std::optional<MoePart> hymir::getMoePart(Operation *op) {
  return getKind<MoePart, MoeAttr>(op);
}

void hymir::setPipelinePart(Operation *op, PipelinePart part) {
  setKind<PipelinePart, PipelineAttr>(op, part);
}
std::optional<PipelinePart> hymir::getPipelinePart(Operation *op) {
  return getKind<PipelinePart, PipelineAttr>(op);
}

void hymir::setHostKernel(Operation *func) {
  KernelAttr(func->getContext())
      .setAttr(func, UnitAttr::get(func->getContext()));
}
bool hymir::isHostKernel(Operation *func) {
  return KernelAttr(func->getContext()).isAttrPresent(func);
}

StringAttr hymir::getArgName(FunctionOpInterface func, unsigned index) {
  return func.getArgAttrOfType<StringAttr>(index, NameAttr::getNameStr());
}
StringAttr hymir::getResultName(FunctionOpInterface func, unsigned index) {
  return func.getResultAttrOfType<StringAttr>(index, NameAttr::getNameStr());
}

bool hymir::isParam(FunctionOpInterface func, unsigned index) {
  return static_cast<bool>(
      func.getArgAttrOfType<UnitAttr>(index, ParamAttr::getNameStr()));
}

void hymir::setShardDim(FunctionOpInterface func, unsigned index, int64_t dim) {
  Builder b(func.getContext());
  func.setArgAttr(index, ShardDimAttr::getNameStr(), b.getI64IntegerAttr(dim));
}
std::optional<int64_t> hymir::getShardDim(FunctionOpInterface func,
                                          unsigned index) {
  auto dim =
      func.getArgAttrOfType<IntegerAttr>(index, ShardDimAttr::getNameStr());
  if (!dim)
    return std::nullopt;
  return dim.getInt();
}

std::optional<unsigned> hymir::getTiedArgument(FunctionOpInterface func,
                                               unsigned index) {
  auto arg =
      func.getResultAttrOfType<IntegerAttr>(index, TiedAttr::getNameStr());
  if (!arg || arg.getValue().isNegative() ||
      arg.getValue().uge(func.getNumArguments()))
    return std::nullopt;
  return static_cast<unsigned>(arg.getValue().getZExtValue());
}

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

namespace {

/// The strings an enum allows, quoted, for a diagnostic. The cases of every
/// hymir enum are numbered 0 .. maxValue.
template <typename EnumT> std::string allowedValues(unsigned maxValue) {
  std::string text;
  llvm::raw_string_ostream os(text);
  for (unsigned i = 0; i <= maxValue; ++i)
    os << (i ? ", " : "") << '"' << stringifyEnum(static_cast<EnumT>(i)) << '"';
  return text;
}

/// A string attribute must spell one case of `EnumT`.
template <typename EnumT>
LogicalResult verifyKind(Operation *op, NamedAttribute attr,
                         unsigned maxValue) {
  auto value = dyn_cast<StringAttr>(attr.getValue());
  if (value && symbolizeEnum<EnumT>(value.getValue()))
    return success();
  return op->emitOpError() << "expects '" << attr.getName().getValue()
                           << "' to be one of "
                           << allowedValues<EnumT>(maxValue) << ", got "
                           << attr.getValue();
}

/// True if `name` is one of the attributes that belong on function arguments
/// or results rather than on ops.
bool isValueAttr(StringRef name) {
  return name == NameAttr::getNameStr() || name == ParamAttr::getNameStr() ||
         name == ShardDimAttr::getNameStr() || name == TiedAttr::getNameStr();
}

bool isOpAttr(StringRef name) {
  return name == LibraryCallAttr::getNameStr() ||
         name == PrecisionAttr::getNameStr() ||
         name == LightningAttr::getNameStr() || name == MoeAttr::getNameStr() ||
         name == PipelineAttr::getNameStr() ||
         name == KernelAttr::getNameStr() ||
         name == TileBlockSizeAttr::getNameStr();
}

InFlightDiagnostic unknownAttr(Operation *op, StringRef name) {
  return op->emitOpError() << "has '" << name
                           << "', which the hymir dialect does not declare";
}

/// `hymir.tied` on result `index` (of type `type`) of the function `op`: an
/// argument index of a public function, an argument of the result's type
/// that is not a parameter, and no other result tied to it.
LogicalResult verifyTied(Operation *op, unsigned index, Type type,
                         Attribute value) {
  StringRef name = TiedAttr::getNameStr();
  auto func = cast<FunctionOpInterface>(op);
  auto arg = dyn_cast<IntegerAttr>(value);
  if (!arg || !isa<IntegerType>(arg.getType()))
    return op->emitOpError()
           << "expects '" << name << "' of result " << index
           << " to be an integer (an argument index), got " << value;
  int64_t n = func.getNumArguments();
  const APInt &v = arg.getValue();
  if (v.isNegative() || v.sge(n))
    return op->emitOpError() << "expects '" << name << "' of result " << index
                             << " to be an argument index in [0, " << n
                             << "), got " << v.getSExtValue();
  auto i = static_cast<unsigned>(v.getZExtValue());
  if (!func.isPublic())
    return op->emitOpError()
           << "ties result " << index << " to argument " << i
           << ", but only an entry (a public function) has tied results";
  if (func.getArgumentTypes()[i] != type)
    return op->emitOpError()
           << "ties result " << index << " of type " << type << " to argument "
           << i << " of type " << func.getArgumentTypes()[i]
           << "; a tied result has its argument's type";
  if (isParam(func, i))
    return op->emitOpError() << "ties result " << index << " to argument " << i
                             << ", a parameter ('" << ParamAttr::getNameStr()
                             << "'); parameters are bound once and read only";
  for (unsigned r = 0; r < index; ++r)
    if (getTiedArgument(func, r) == i)
      return op->emitOpError()
             << "ties results " << r << " and " << index << " to argument " << i
             << "; an argument is tied to one result at most";
  return success();
}

/// Verifies a hymir attribute of argument (or, with `result`, result) `index`
/// of the function `op`, whose type is `type`.
LogicalResult verifyValueAttr(Operation *op, bool result, unsigned index,
                              Type type, NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  StringRef what = result ? "result" : "argument";
  if (name == NameAttr::getNameStr()) {
    auto str = dyn_cast<StringAttr>(value);
    if (!str || str.getValue().empty())
      return op->emitOpError()
             << "expects '" << name << "' of " << what << " " << index
             << " to be a non-empty string, got " << value;
    return success();
  }
  if (name == TiedAttr::getNameStr())
    return result ? verifyTied(op, index, type, value)
                  : op->emitOpError()
                        << "expects '" << name
                        << "' on a result, found it on argument " << index;
  if (result &&
      (name == ParamAttr::getNameStr() || name == ShardDimAttr::getNameStr()))
    return op->emitOpError()
           << "expects '" << name << "' on an argument, found it on result "
           << index;
  if (name == ParamAttr::getNameStr()) {
    if (!isa<UnitAttr>(value))
      return op->emitOpError()
             << "expects '" << name << "' of argument " << index
             << " to be a unit attribute, got " << value;
    return success();
  }
  if (name == ShardDimAttr::getNameStr()) {
    auto dim = dyn_cast<IntegerAttr>(value);
    if (!dim || !isa<IntegerType>(dim.getType()))
      return op->emitOpError() << "expects '" << name << "' of argument "
                               << index << " to be an integer, got " << value;
    auto shaped = dyn_cast<ShapedType>(type);
    if (!shaped || !shaped.hasRank())
      return op->emitOpError() << "expects argument " << index << " with '"
                               << name << "' to be ranked, got " << type;
    int64_t d = dim.getValue().getSExtValue();
    if (d < 0 || d >= shaped.getRank())
      return op->emitOpError() << "expects '" << name << "' of argument "
                               << index << " to be in [0, " << shaped.getRank()
                               << ") (its rank), got " << d;
    return success();
  }
  if (isOpAttr(name))
    return op->emitOpError()
           << "expects '" << name << "' on an op, found it on " << what << " "
           << index;
  return unknownAttr(op, name);
}

} // namespace

LogicalResult HymirDialect::verifyOperationAttribute(Operation *op,
                                                     NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (name == LibraryCallAttr::getNameStr()) {
    if (failed(
            verifyKind<LibraryCall>(op, attr, getMaxEnumValForLibraryCall())))
      return failure();
    if (!isa<linalg::GenericOp>(op))
      return op->emitOpError()
             << "expects '" << name << "' only on a linalg.generic";
    return success();
  }
  if (name == PrecisionAttr::getNameStr()) {
    if (failed(verifyKind<Precision>(op, attr, getMaxEnumValForPrecision())))
      return failure();
    if (getLibraryCall(op) != LibraryCall::Gemm)
      return op->emitOpError()
             << "expects '" << name << "' only beside '"
             << LibraryCallAttr::getNameStr() << "' = \""
             << stringifyLibraryCall(LibraryCall::Gemm) << "\"";
    return success();
  }
  if (name == LightningAttr::getNameStr())
    return verifyKind<LightningPart>(op, attr, getMaxEnumValForLightningPart());
  if (name == MoeAttr::getNameStr())
    return verifyKind<MoePart>(op, attr, getMaxEnumValForMoePart());
  if (name == PipelineAttr::getNameStr())
    return verifyKind<PipelinePart>(op, attr, getMaxEnumValForPipelinePart());
  if (name == KernelAttr::getNameStr()) {
    if (!isa<UnitAttr>(attr.getValue()))
      return op->emitOpError()
             << "expects '" << name << "' to be a unit attribute, got "
             << attr.getValue();
    if (!isa<FunctionOpInterface>(op))
      return op->emitOpError() << "expects '" << name << "' only on a function";
    return success();
  }
  if (name == TileBlockSizeAttr::getNameStr()) {
    auto value = dyn_cast<IntegerAttr>(attr.getValue());
    if (!value || !value.getType().isSignlessInteger(64) || value.getInt() < 1)
      return op->emitOpError()
             << "expects '" << name << "' to be a positive i64, got "
             << attr.getValue();
    if (op->getName().getStringRef() != "hymir.lightning_attention")
      return op->emitOpError()
             << "expects '" << name << "' only on a hymir.lightning_attention";
    return success();
  }
  if (isValueAttr(name))
    return op->emitOpError() << "expects '" << name
                             << "' on a function argument or result, found it "
                                "on the op";
  return unknownAttr(op, name);
}

LogicalResult HymirDialect::verifyRegionArgAttribute(Operation *op,
                                                     unsigned regionIndex,
                                                     unsigned argIndex,
                                                     NamedAttribute attr) {
  // Only functions (function_interface_impl::verifyTrait) call this hook.
  auto func = cast<FunctionOpInterface>(op);
  return verifyValueAttr(op, /*result=*/false, argIndex,
                         func.getArgumentTypes()[argIndex], attr);
}

LogicalResult HymirDialect::verifyRegionResultAttribute(Operation *op,
                                                        unsigned regionIndex,
                                                        unsigned resultIndex,
                                                        NamedAttribute attr) {
  // Only functions (function_interface_impl::verifyTrait) call this hook.
  auto func = cast<FunctionOpInterface>(op);
  return verifyValueAttr(op, /*result=*/true, resultIndex,
                         func.getResultTypes()[resultIndex], attr);
}
