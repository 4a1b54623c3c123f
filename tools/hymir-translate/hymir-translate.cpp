//===- hymir-translate.cpp - mlir-translate for hymir plans ---------------===//
//
// Translations out of the plan dialect, mlir-translate style:
//   --hymir-plan-to-artifact   the .hymir artifact (FlatBuffers) of a plan
//   --hymir-plan-to-listing    what that artifact would hold, as text (the
//                              format of hymir-compile --print-plan)
// The input is a module in plan form with its code objects
// (hymir_plan.code), as hymir-compile builds it before writing.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/PlanToArtifact.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  mlir::hymir::registerPlanTranslations();
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "hymir translation driver\n"));
}
