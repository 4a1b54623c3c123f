//===- PlanToArtifact.h - the plan IR as an artifact ------------*- C++ -*-===//
//
// The translation from a module in plan form (hymir_plan entries, code
// objects and module attributes; see PlanDialect.td) to the artifact's
// module description, which the artifact writer serializes. Nothing is
// decided here: every number comes from the IR.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_PLANTOARTIFACT_H
#define HYMIR_CODEGEN_PLANTOARTIFACT_H

#include "hymir/Runtime/Artifact.h"

#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <string>

namespace mlir::hymir {

/// The artifact description of `module`. Launches must name kernels held by
/// a `hymir_plan.code` op, and buffers must have offsets
/// (hymir-plan-memory). `references` gives each entry (by name) the
/// reference program `hymir-run --check` evaluates; entries without one go
/// without. Errors are diagnostics at the offending op.
FailureOr<::hymir::ModuleDesc> translatePlanToArtifact(
    ModuleOp module,
    const std::map<std::string, ::hymir::RefProgramDesc> &references = {});

/// The runtime dtype of an MLIR element type, if it has one.
std::optional<::hymir::DType> toDType(Type type);

/// Registers the hymir-plan-to-artifact translation (binary artifact) and
/// hymir-plan-to-listing (the --print-plan text of the same module) for
/// hymir-translate.
void registerPlanTranslations();

/// Prints what an artifact holds (code objects, parameters, each entry's
/// interface, buffers and steps) in the --print-plan format.
void printArtifactListing(const ::hymir::ModuleDesc &module,
                          llvm::raw_ostream &os);

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_PLANTOARTIFACT_H
