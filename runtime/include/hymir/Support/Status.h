//===- Status.h - absl::Status helpers shared by the runtime world -*- C++
//-*-===//
//
// The early-return macro and the errno wording that the artifact loader and
// writer, the reference evaluator and the runtime share.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_SUPPORT_STATUS_H
#define HYMIR_SUPPORT_STATUS_H

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

#include <string>
#include <system_error>

/// Returns the absl::Status that `expr` yields from the enclosing function
/// unless it is OK.
#define HYMIR_RETURN_IF_ERROR(expr)                                            \
  do {                                                                         \
    ::absl::Status hymirStatus = (expr);                                       \
    if (!hymirStatus.ok())                                                     \
      return hymirStatus;                                                      \
  } while (false)

namespace hymir {

/// "<path>: <what>: <strerror text>" with the status code of `err` (e.g.
/// NotFound for ENOENT), for a failed system call on a file.
inline absl::Status errnoStatus(int err, absl::string_view path,
                                absl::string_view what) {
  return absl::Status(
      absl::ErrnoToStatusCode(err),
      absl::StrCat(path, ": ", what, ": ",
                   std::error_code(err, std::generic_category()).message()));
}

} // namespace hymir

#endif // HYMIR_SUPPORT_STATUS_H
