//===- HymirOps.h - hymir op declarations -----------------------*- C++ -*-===//
//
// Declares the hymir ops (generated from HymirOps.td).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_HYMIR_IR_HYMIROPS_H
#define HYMIR_DIALECT_HYMIR_IR_HYMIROPS_H

#include "hymir/Dialect/Hymir/IR/HymirDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "hymir/Dialect/Hymir/IR/HymirOps.h.inc"

#endif // HYMIR_DIALECT_HYMIR_IR_HYMIROPS_H
