//===- Passes.h - hymir passes ----------------------------------*- C++ -*-===//
//
// Declares hymir's passes (generated from Passes.td) and their registration.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TRANSFORMS_PASSES_H
#define HYMIR_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::hymir {

#define GEN_PASS_DECL
#include "hymir/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hymir/Transforms/Passes.h.inc"

/// Registers every hymir pass and pipeline with the global registry.
void registerHymirPassesAndPipelines();

} // namespace mlir::hymir

#endif // HYMIR_TRANSFORMS_PASSES_H
