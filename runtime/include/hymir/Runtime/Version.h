//===- Version.h - runtime version and build facts --------------*- C++ -*-===//
//
// The runtime library's version and the artifact schema versions it reads.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_VERSION_H
#define HYMIR_RUNTIME_VERSION_H

#include <string>

namespace hymir {

/// The runtime's version as "major.minor.patch".
std::string runtimeVersion();

} // namespace hymir

#endif // HYMIR_RUNTIME_VERSION_H
