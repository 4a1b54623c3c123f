//===- PlanPasses.h - passes into and on the plan dialect -------*- C++ -*-===//
//
// Declares hymir-lower-to-plan and hymir-plan-memory (generated from
// PlanPasses.td).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_PLANPASSES_H
#define HYMIR_CODEGEN_PLANPASSES_H

#include "hymir/Dialect/Plan/IR/PlanDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir::hymir {

#define GEN_PASS_DECL
#include "hymir/Codegen/PlanPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "hymir/Codegen/PlanPasses.h.inc"

struct PlanPipelineOptions : public PassPipelineOptions<PlanPipelineOptions> {
  Option<int64_t> maxTokens{*this, "max-tokens",
                            llvm::cl::desc("largest token count of an entry"),
                            llvm::cl::init(4096)};
  Option<int64_t> devices{*this, "devices",
                          llvm::cl::desc("devices the module runs on"),
                          llvm::cl::init(1)};
  Option<std::string> target{*this, "target", llvm::cl::desc("cpu or cuda"),
                             llvm::cl::init("cpu")};
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("GPU architecture (cuda)"),
                           llvm::cl::init("")};
  Option<int64_t> alignment{*this, "alignment",
                            llvm::cl::desc("byte alignment of arena buffers"),
                            llvm::cl::init(256)};
};

/// hymir-lower-to-plan, then hymir-plan-memory.
void buildPlanPipeline(OpPassManager &pm, const PlanPipelineOptions &options);

/// Registers the plan passes and the hymir-plan pipeline with the pass
/// registry (hymir-opt).
void registerHymirPlanPassesAndPipeline();

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_PLANPASSES_H
