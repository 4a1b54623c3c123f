//===- PlanPipeline.cpp - the plan stage as one named pipeline ------------===//
//
// hymir-plan: hymir-lower-to-plan, cse, then hymir-plan-memory, the stage of
// hymir-compile between the kernel form and the artifact translation.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/PlanPasses.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::hymir::buildPlanPipeline(OpPassManager &pm,
                                    const PlanPipelineOptions &options) {
  HymirLowerToPlanOptions lower;
  lower.maxTokens = options.maxTokens;
  lower.devices = options.devices;
  lower.target = options.target;
  lower.chip = options.chip;
  pm.addPass(createHymirLowerToPlan(lower));
  // One size or view op per distinct value keeps the plan readable.
  pm.addPass(createCSEPass());
  HymirPlanMemoryOptions memory;
  memory.alignment = options.alignment;
  pm.addPass(createHymirPlanMemory(memory));
}

void mlir::hymir::registerHymirPlanPassesAndPipeline() {
  registerHymirPlanPasses();
  PassPipelineRegistration<PlanPipelineOptions>(
      "hymir-plan",
      "kernel form -> hymir_plan entries with arena offsets "
      "(hymir-lower-to-plan, hymir-plan-memory)",
      buildPlanPipeline);
}
