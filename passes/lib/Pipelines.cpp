//===- Pipelines.cpp - hymir pass registration and pipelines --------------===//
//
// Registers hymir's passes and the named pipelines of each compilation stage.
//
//===----------------------------------------------------------------------===//

#include "hymir/Transforms/Passes.h"

void mlir::hymir::registerHymirPassesAndPipelines() { registerHymirPasses(); }
