//===- PlanOps.h - hymir_plan types, attributes and ops ---------*- C++ -*-===//
//
// Declares the hymir_plan types, attributes and ops (generated from
// PlanOps.td) and the size helpers shared by the plan passes and the
// artifact translation.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_PLAN_IR_PLANOPS_H
#define HYMIR_DIALECT_PLAN_IR_PLANOPS_H

#include "hymir/Dialect/Plan/IR/PlanDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <optional>
#include <utility>

#define GET_TYPEDEF_CLASSES
#include "hymir/Dialect/Plan/IR/PlanTypes.h.inc"
#define GET_ATTRDEF_CLASSES
#include "hymir/Dialect/Plan/IR/PlanAttrs.h.inc"
#define GET_OP_CLASSES
#include "hymir/Dialect/Plan/IR/PlanOps.h.inc"

namespace mlir::hymir::plan {

/// A size as the runtime holds it: (constant + sum coeff * symbol) floordiv
/// divisor, divisor > 0.
struct LinearSize {
  int64_t constant = 0;
  llvm::SmallVector<std::pair<unsigned, int64_t>> terms; // (symbol, coeff)
  int64_t divisor = 1;
};

/// `expr` (no dims) as a LinearSize: a linear expression in the symbols,
/// optionally floordiv or ceildiv a positive constant. None for anything
/// else (products of symbols, mod, nested divisions that do not simplify)
/// and for coefficients that overflow 64 bits.
std::optional<LinearSize> toLinearSize(AffineExpr expr);

/// The value of `size` with every symbol at `value` (a buffer is sized at
/// the symbols' maxima); none on overflow.
std::optional<int64_t> evaluateLinearSize(const LinearSize &size,
                                          int64_t value);

/// Checks that every result of `map` is a LinearSize over at most
/// `numSymbols` symbols with no dims; `what` names the map in the error.
LogicalResult verifySizeMap(Operation *op, AffineMap map, llvm::StringRef what,
                            std::optional<unsigned> numResults = std::nullopt);

} // namespace mlir::hymir::plan

#endif // HYMIR_DIALECT_PLAN_IR_PLANOPS_H
