//===- ArtifactListing.h - an artifact's contents as text -------*- C++ -*-===//
//
// The text forms of a module: the plan listing that `hymir-compile
// --print-plan`, hymir-translate's hymir-plan-to-listing and hymir-dump all
// print, and hymir-dump's header and kernel table around it. They live in
// the runtime world (HymirArtifact) so that a tool with no LLVM can print
// them; codegen's printArtifactListing forwards here.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_ARTIFACTLISTING_H
#define HYMIR_RUNTIME_ARTIFACTLISTING_H

#include "hymir/Runtime/Artifact.h"

#include <string>
#include <vector>

namespace hymir {

/// "T*2+3", "(T*64+255)/256", "48": a size expression over an entry's
/// symbols, by name ("?" for an index out of range).
std::string sizeExprString(const SizeExprSpec &expr,
                           const std::vector<SymbolDesc> &symbols);

/// Code objects, parameters, and per entry its symbols, inputs, outputs,
/// buffers, arena and steps, one line each (the --print-plan format).
std::string artifactListing(const ModuleDesc &module);

/// What hymir-dump prints: target, chip, devices and producer, the kernel
/// table (name, code object, symbol), whether each entry carries a
/// reference program, then artifactListing.
std::string artifactDump(const ModuleDesc &module);

} // namespace hymir

#endif // HYMIR_RUNTIME_ARTIFACTLISTING_H
