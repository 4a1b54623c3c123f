//===- ArtifactSupport.h - helpers of the artifact library ------*- C++ -*-===//
//
// Small helpers that the validator, the decoder and the size-expression
// evaluator share; private to runtime/lib/Artifact.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_LIB_ARTIFACT_ARTIFACTSUPPORT_H
#define HYMIR_RUNTIME_LIB_ARTIFACT_ARTIFACTSUPPORT_H

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

#include <cstdint>
#include <string>

namespace hymir::artifact_detail {

/// A name as it appears in messages: quoted, with odd bytes escaped.
inline std::string quote(absl::string_view s) {
  return absl::StrCat("'", absl::CHexEscape(s), "'");
}

/// Whether an enum value read from a file lies in [0, last].
template <typename E> bool inRange(E value, E last) {
  int v = static_cast<int>(value);
  return v >= 0 && v <= static_cast<int>(last);
}

/// floor(sum / divisor) for divisor >= 1, which cannot overflow.
inline int64_t floorDiv(int64_t sum, int64_t divisor) {
  int64_t quotient = sum / divisor;
  return sum % divisor != 0 && sum < 0 ? quotient - 1 : quotient;
}

} // namespace hymir::artifact_detail

#endif // HYMIR_RUNTIME_LIB_ARTIFACT_ARTIFACTSUPPORT_H
