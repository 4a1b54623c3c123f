//===- HymirDialect.h - the hymir dialect -----------------------*- C++ -*-===//
//
// Declares the hymir dialect class (generated from HymirDialect.td), with the
// helpers of its discardable attributes (typed accessors over them are in
// HymirAttributes.h).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_HYMIR_IR_HYMIRDIALECT_H
#define HYMIR_DIALECT_HYMIR_IR_HYMIRDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/Operation.h"

#include "hymir/Dialect/Hymir/IR/HymirDialect.h.inc"

#endif // HYMIR_DIALECT_HYMIR_IR_HYMIRDIALECT_H
