//===- PlanDialect.h - the hymir_plan dialect -------------------*- C++ -*-===//
//
// Declares the hymir_plan dialect class (generated from PlanDialect.td).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_PLAN_IR_PLANDIALECT_H
#define HYMIR_DIALECT_PLAN_IR_PLANDIALECT_H

#include "mlir/IR/Dialect.h"

#include "hymir/Dialect/Plan/IR/PlanDialect.h.inc"

#endif // HYMIR_DIALECT_PLAN_IR_PLANDIALECT_H
