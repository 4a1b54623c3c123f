//===- hymir-opt.cpp - mlir-opt with the hymir dialect --------------------===//
//
// The pass driver for hymir: every upstream dialect, extension and pass, plus
// the hymir dialect (and, as they land, hymir's passes and pipelines). The
// standard mlir-opt flags work: -split-input-file, -verify-diagnostics,
// --mlir-print-ir-after-all, --mlir-timing, crash reproducers.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Codegen/Pipelines.h"
#include "hymir/Codegen/PlanPasses.h"
#include "hymir/Dialect/Hymir/IR/HymirDialect.h"
#include "hymir/Dialect/Plan/IR/PlanDialect.h"
#include "hymir/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::hymir::registerHymirPassesAndPipelines();
  mlir::hymir::registerHymirCodegenPasses();
  mlir::hymir::registerHymirPipelines();
  mlir::hymir::registerHymirPlanPassesAndPipeline();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::hymir::HymirDialect, mlir::hymir::plan::PlanDialect>();
  mlir::hymir::registerHymirBufferization(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "hymir optimizer driver\n", registry));
}
