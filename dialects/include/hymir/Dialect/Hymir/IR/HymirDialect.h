//===- HymirDialect.h - the hymir dialect -----------------------*- C++ -*-===//
//
// Declares the hymir dialect class (generated from HymirDialect.td).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_HYMIR_IR_HYMIRDIALECT_H
#define HYMIR_DIALECT_HYMIR_IR_HYMIRDIALECT_H

#include "mlir/IR/Dialect.h"

#include "hymir/Dialect/Hymir/IR/HymirDialect.h.inc"

#endif // HYMIR_DIALECT_HYMIR_IR_HYMIRDIALECT_H
