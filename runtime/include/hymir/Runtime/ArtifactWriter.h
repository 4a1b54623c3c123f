//===- ArtifactWriter.h - writing .hymir artifacts --------------*- C++ -*-===//
//
// Encodes a ModuleDesc (Artifact.h) as a .hymir file: the Module FlatBuffer
// becomes the payload of an outer Artifact table (file identifier "HYMR",
// schema version kArtifactSchemaVersion, FNV-1a 64 checksum of the
// payload). Plain C++ on top of flatbuffers::FlatBufferBuilder, so
// hymir-compile can use it without the runtime needing anything from MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_ARTIFACTWRITER_H
#define HYMIR_RUNTIME_ARTIFACTWRITER_H

#include "hymir/Runtime/Artifact.h"

#include "absl/status/status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hymir {

/// The bytes of a .hymir file holding `module`, encoded as given: nothing is
/// checked, so a module that breaks validateModule's rules is written as is
/// (and rejected by the loader). Enum values outside their enums are stored
/// truncated to the schema's 8 bits.
std::vector<uint8_t> serializeArtifact(const ModuleDesc &module);

/// Checks `module` with validateModule (labelled with `path`), then writes
/// serializeArtifact(module) to `path`, replacing any file there. Errors name
/// the path.
absl::Status writeArtifact(const ModuleDesc &module, const std::string &path);

} // namespace hymir

#endif // HYMIR_RUNTIME_ARTIFACTWRITER_H
