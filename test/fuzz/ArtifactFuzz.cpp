//===- ArtifactFuzz.cpp - libFuzzer target: the artifact loader -----------===//
//
// Any byte string is handed to Artifact::fromBytes, which runs the identifier
// check, both FlatBuffers verifiers, the checksum and validateModule (every
// index, count and size, and each entry's reference program) before it
// decodes anything. A crash, a hang or a sanitizer report is a finding;
// a seed corpus of real artifacts (scripts/fuzz writes one) gets the fuzzer
// past the checksum.
// The checksum stops most mutations of a seed early; the validator itself
// is fuzzed without that barrier by ReferenceProgramFuzz.cpp.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"

#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  absl::StatusOr<hymir::Artifact> artifact =
      hymir::Artifact::fromBytes(std::move(bytes), "fuzz");
  if (!artifact.ok())
    return 0;
  // A module that loads can be walked: every entry by name.
  for (const hymir::EntryDesc &entry : artifact->module().entries)
    if (artifact->findEntry(entry.name) == nullptr)
      __builtin_trap();
  return 0;
}
