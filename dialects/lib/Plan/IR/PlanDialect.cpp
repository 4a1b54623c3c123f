//===- PlanDialect.cpp - the hymir_plan dialect ---------------------------===//
//
// Registers the hymir_plan types, attributes and ops, and verifies the
// module attributes the dialect defines (see PlanDialect.td).
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Plan/IR/PlanDialect.h"
#include "hymir/Dialect/Plan/IR/PlanOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::hymir::plan;

#include "hymir/Dialect/Plan/IR/PlanDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "hymir/Dialect/Plan/IR/PlanTypes.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "hymir/Dialect/Plan/IR/PlanAttrs.cpp.inc"

void PlanDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "hymir/Dialect/Plan/IR/PlanTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "hymir/Dialect/Plan/IR/PlanAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "hymir/Dialect/Plan/IR/PlanOps.cpp.inc"
      >();
}

LogicalResult PlanDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (!isa<ModuleOp>(op))
    return op->emitError() << "'" << name
                           << "' is a module attribute of a plan";
  if (name == kTargetAttrName) {
    auto target = dyn_cast<StringAttr>(attr.getValue());
    if (!target || (target.getValue() != "cpu" && target.getValue() != "cuda"))
      return op->emitError()
             << "'" << name << "' must be \"cpu\" or \"cuda\", got "
             << attr.getValue();
    return success();
  }
  if (name == kChipAttrName) {
    if (!isa<StringAttr>(attr.getValue()))
      return op->emitError()
             << "'" << name << "' must be a string, got " << attr.getValue();
    return success();
  }
  if (name == kDevicesAttrName) {
    auto devices = dyn_cast<IntegerAttr>(attr.getValue());
    if (!devices || devices.getInt() < 1 || devices.getInt() > 64)
      return op->emitError()
             << "'" << name << "' must be an integer in [1, 64], got "
             << attr.getValue();
    return success();
  }
  if (name == kParamsAttrName) {
    auto params = dyn_cast<ArrayAttr>(attr.getValue());
    if (!params || !llvm::all_of(params, [](Attribute a) {
          return isa<TensorSpecAttr>(a);
        }))
      return op->emitError()
             << "'" << name << "' must be an array of #hymir_plan.tensor";
    for (Attribute a : params) {
      AffineMap shape = cast<TensorSpecAttr>(a).getShape().getValue();
      if (shape.getNumSymbols() != 0 || shape.getNumDims() != 0 ||
          !llvm::all_of(shape.getResults(), [](AffineExpr e) {
            return isa<AffineConstantExpr>(e);
          }))
        return op->emitError()
               << "parameter '" << cast<TensorSpecAttr>(a).getName()
               << "' must have a static shape";
      if (cast<TensorSpecAttr>(a).getTiedTo() != -1)
        return op->emitError()
               << "parameter '" << cast<TensorSpecAttr>(a).getName()
               << "' is tied to an input; only entry outputs are tied";
    }
    return success();
  }
  return op->emitError() << "unknown hymir_plan attribute '" << name << "'";
}

LogicalResult
TensorSpecAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       StringRef name, Type elementType, AffineMapAttr shape,
                       int64_t shardDim, int64_t tiedTo) {
  if (name.empty())
    return emitError() << "a tensor spec needs a name";
  if (shape.getValue().getNumDims() != 0)
    return emitError() << "the shape of '" << name
                       << "' must be a map of symbols only";
  if (shardDim < -1 ||
      shardDim >= static_cast<int64_t>(shape.getValue().getNumResults()))
    return emitError() << "shard dim " << shardDim << " of '" << name
                       << "' is not a dim of its "
                       << shape.getValue().getNumResults() << "-d shape";
  if (tiedTo < -1)
    return emitError() << "'" << name << "' is tied to input " << tiedTo
                       << "; an input index or -1 (not tied)";
  return success();
}
