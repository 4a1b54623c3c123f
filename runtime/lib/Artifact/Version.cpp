//===- Version.cpp - runtime version --------------------------------------===//

// HYMIR_RUNTIME_VERSION comes from runtime/CMakeLists.txt, which also writes
// it into the CMake package and hymir.pc.

#include "hymir/Runtime/Version.h"

namespace hymir {

std::string runtimeVersion() { return HYMIR_RUNTIME_VERSION; }

} // namespace hymir
