//===- Serialize.h - hymir IR functions as reference programs ---*- C++ -*-===//
//
// Turns a function of hymir IR, as the user wrote it, into the reference
// program that the runtime's oracle evaluator runs (RefProgramDesc in
// hymir/Runtime/Artifact.h, evaluated by hymir/Runtime/Reference.h):
// hymir-reference serializes and evaluates at once, and hymir-compile stores
// one program per entry for `hymir-run --check`. Calls are inlined, so the
// program is one straight list of ops. Only ops the evaluator knows are
// accepted; anything else is an error at the op.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TOOLS_HYMIR_REFERENCE_SERIALIZE_H
#define HYMIR_TOOLS_HYMIR_REFERENCE_SERIALIZE_H

#include "hymir/Runtime/Artifact.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Location.h"

#include <string>
#include <vector>

namespace hymir::reference {

/// The program computing `func`: its arguments in order (all of them, params
/// included, named like the entry's inputs and params: `hymir.name`, else
/// `arg<i>`), its results in order, and every op of its body with the bodies
/// of the functions it calls inlined. Emits an error "reference: ..." at the
/// first op or value the evaluator cannot take (an unknown op, a declaration
/// or a recursive call, an unsupported type or constant) and fails. When
/// `opLocations` is given it receives each program op's location (a call
/// site location for an inlined op), for reporting evaluation errors.
mlir::FailureOr<::hymir::RefProgramDesc>
serializeReference(mlir::func::FuncOp func,
                   std::vector<mlir::Location> *opLocations = nullptr);

/// The name an argument or result of an entry has: its `hymir.name`
/// attribute, else `arg<i>` or `result<i>`.
std::string entryValueName(mlir::func::FuncOp func, unsigned index,
                           bool isResult);

} // namespace hymir::reference

#endif // HYMIR_TOOLS_HYMIR_REFERENCE_SERIALIZE_H
