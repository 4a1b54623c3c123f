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

/// The value split hymir-tile-lightning-attention uses for a value dim `dv`
/// when asked for `requested` (0: 64-wide chunks where they divide a value dim
/// above 64, else 1; any other request is returned as is).
int64_t lightningValueSplit(int64_t dv, int64_t requested);

/// Registers every hymir pass and pipeline with the global registry.
void registerHymirPassesAndPipelines();

} // namespace mlir::hymir

#endif // HYMIR_TRANSFORMS_PASSES_H
