//===- Names.h - names from files, fit for messages -------------*- C++ -*-===//
//
// Tensor, entry and kernel names come from artifacts and safetensors files,
// which may hold any bytes (a tab or an escape sequence is a legal name).
// Messages and listings show them through printableName, so a name never
// moves the terminal's cursor or hides the rest of a line.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_SUPPORT_NAMES_H
#define HYMIR_SUPPORT_NAMES_H

#include "absl/strings/escaping.h"

#include <string>
#include <string_view>

namespace hymir {

/// `name` with control characters, quotes and backslashes C-escaped
/// ("a\tb" prints as a\tb); printable bytes, UTF-8 included, stay as they are.
inline std::string printableName(std::string_view name) {
  return absl::Utf8SafeCEscape(absl::string_view(name.data(), name.size()));
}

} // namespace hymir

#endif // HYMIR_SUPPORT_NAMES_H
