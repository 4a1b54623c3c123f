//===- HymirDialect.cpp - the hymir dialect -------------------------------===//
//
// Registers the hymir ops with the dialect.
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirDialect.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"

using namespace mlir;
using namespace mlir::hymir;

#include "hymir/Dialect/Hymir/IR/HymirDialect.cpp.inc"

void HymirDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "hymir/Dialect/Hymir/IR/HymirOps.cpp.inc"
      >();
}
