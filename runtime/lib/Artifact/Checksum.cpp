//===- Checksum.cpp - the artifact's payload checksum ---------------------===//
//
// 64-bit FNV-1a over the payload; the writer stores it and the loader checks
// it before it reads the payload.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"

namespace hymir {

uint64_t fnv1a64(absl::Span<const uint8_t> bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (uint8_t byte : bytes) {
    hash ^= byte;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

} // namespace hymir
