//===- PlanListing.cpp - an artifact's contents as text -------------------===//
//
// The text `hymir-compile --print-plan` and hymir-plan-to-listing print. The
// listing itself lives in the runtime world (hymir/Runtime/ArtifactListing.h)
// so that hymir-dump, which links no LLVM, prints the same text; this is the
// raw_ostream face the compiler uses.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/PlanToArtifact.h"
#include "hymir/Runtime/ArtifactListing.h"

#include "llvm/Support/raw_ostream.h"

void mlir::hymir::printArtifactListing(const ::hymir::ModuleDesc &desc,
                                       llvm::raw_ostream &os) {
  os << ::hymir::artifactListing(desc);
}
