//===- ModuleDecoder.h - FlatBuffers Module to ModuleDesc -------*- C++ -*-===//
//
// The step of the loader that copies a verified payload into the plain
// structs of Artifact.h. Private to runtime/lib/Artifact.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_LIB_ARTIFACT_MODULEDECODER_H
#define HYMIR_RUNTIME_LIB_ARTIFACT_MODULEDECODER_H

#include "hymir/Runtime/Artifact.h"

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include <cstddef>

namespace hymir {
namespace artifact {
struct Module;
} // namespace artifact

/// Copies `module`, which the FlatBuffers verifier has accepted and which
/// came from a payload of `payloadBytes` bytes, into a ModuleDesc. Data
/// referenced from many places is copied only while the copies stay within
/// the payload's size (DataLoss otherwise), so a crafted file cannot make the
/// loader allocate far more than it read. The result is not yet validated.
absl::StatusOr<ModuleDesc> decodeModule(const artifact::Module &module,
                                        size_t payloadBytes,
                                        absl::string_view label);

} // namespace hymir

#endif // HYMIR_RUNTIME_LIB_ARTIFACT_MODULEDECODER_H
