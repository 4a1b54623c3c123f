//===- ArtifactLoader.cpp - reading and checking .hymir files -------------===//
//
// Artifact::load and Artifact::fromBytes: the loader reads FlatBuffers data
// only after the verifier has accepted it, copies it into the plain structs of
// Artifact.h (ModuleDecoder.cpp) and checks them with validateModule
// (ModuleValidator.cpp) before anything else may use them.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"

#include "ModuleDecoder.h"
#include "hymir/Runtime/artifact_generated.h"
#include "hymir/Support/Status.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hymir {

namespace fb = flatbuffers;
namespace ar = hymir::artifact;

const EntryDesc *Artifact::findEntry(std::string_view name) const {
  for (const EntryDesc &e : module_.entries)
    if (e.name == name)
      return &e;
  return nullptr;
}

absl::StatusOr<Artifact> Artifact::load(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errnoStatus(errno, path, "cannot open the artifact");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return errnoStatus(err, path, "cannot read the artifact");
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory, not a hymir artifact"));
  }
  // Read to the end (the file may not be a regular one), stopping once it is
  // larger than any FlatBuffer can be.
  constexpr size_t kLimit = FLATBUFFERS_MAX_BUFFER_SIZE;
  std::vector<uint8_t> bytes(
      S_ISREG(st.st_mode) && st.st_size > 0
          ? std::min<size_t>(static_cast<size_t>(st.st_size), kLimit) + 1
          : 65536);
  size_t size = 0;
  while (true) {
    if (size == bytes.size()) {
      if (size > kLimit)
        break;
      bytes.resize(std::min<size_t>(2 * size, kLimit + 1));
    }
    ssize_t n = ::read(fd, bytes.data() + size, bytes.size() - size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return errnoStatus(err, path, "cannot read the artifact");
    }
    if (n == 0)
      break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  if (size > kLimit)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is larger than 2 GiB; not a hymir artifact"));
  bytes.resize(size);
  return fromBytes(std::move(bytes), path);
}

absl::StatusOr<Artifact> Artifact::fromBytes(std::vector<uint8_t> bytes,
                                             std::string label) {
  // 1. Size and file identifier.
  if (bytes.size() < 8)
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": not a hymir artifact (", bytes.size(),
                     " bytes; too short to hold the file identifier)"));
  if (!ar::ArtifactBufferHasIdentifier(bytes.data()))
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": not a hymir artifact (file identifier '",
                     absl::CHexEscape(absl::string_view(
                         reinterpret_cast<const char *>(bytes.data()) + 4, 4)),
                     "', expected '", ar::ArtifactIdentifier(), "')"));
  if (bytes.size() >= FLATBUFFERS_MAX_BUFFER_SIZE)
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": is larger than 2 GiB; not a hymir artifact"));

  // 2. The outer table alone: the payload is checked after the version and
  // the checksum, so that a newer or damaged payload is reported as such.
  fb::Verifier::Options outerOptions;
  outerOptions.check_nested_flatbuffers = false;
  fb::Verifier outer(bytes.data(), bytes.size(), outerOptions);
  if (!ar::VerifyArtifactBuffer(outer))
    return absl::DataLossError(absl::StrCat(
        label, ": the artifact's outer table is malformed (the file is corrupt "
               "or truncated)"));
  const ar::Artifact *artifact = ar::GetArtifact(bytes.data());

  // 3. Schema version.
  if (artifact->schema_version() != kArtifactSchemaVersion)
    return absl::FailedPreconditionError(absl::StrCat(
        label, ": artifact schema version ", artifact->schema_version(),
        " is not supported; this runtime reads version ",
        kArtifactSchemaVersion));

  // 4. Payload and checksum.
  const fb::Vector<uint8_t> *payload = artifact->payload();
  if (!payload || payload->size() == 0)
    return absl::DataLossError(
        absl::StrCat(label, ": the artifact has no payload"));
  absl::Span<const uint8_t> payloadBytes(payload->data(), payload->size());
  uint64_t checksum = fnv1a64(payloadBytes);
  if (checksum != artifact->checksum())
    return absl::DataLossError(absl::StrFormat(
        "%s: checksum mismatch: the file is corrupt (stored %#018x, payload "
        "hashes to %#018x)",
        label, artifact->checksum(), checksum));

  // 5. The Module. Its 8-byte fields must be aligned in memory; the writer
  // aligns the payload, and an oddly placed one is copied.
  std::vector<uint8_t> aligned;
  if (reinterpret_cast<uintptr_t>(payloadBytes.data()) % 8 != 0) {
    aligned.assign(payloadBytes.begin(), payloadBytes.end());
    payloadBytes = aligned;
  }
  fb::Verifier inner(payloadBytes.data(), payloadBytes.size());
  if (!inner.VerifyBuffer<ar::Module>(nullptr))
    return absl::DataLossError(absl::StrCat(
        label, ": the module payload is malformed although its checksum "
               "matches (was it written by a broken writer?)"));
  const ar::Module *module = fb::GetRoot<ar::Module>(payloadBytes.data());

  // 6. Every index and size.
  absl::StatusOr<ModuleDesc> desc =
      decodeModule(*module, payloadBytes.size(), label);
  if (!desc.ok())
    return desc.status();
  HYMIR_RETURN_IF_ERROR(validateModule(*desc, label));
  return Artifact(std::move(label), *std::move(desc));
}

} // namespace hymir
