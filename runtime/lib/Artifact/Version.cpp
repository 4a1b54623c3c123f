//===- Version.cpp - runtime version --------------------------------------===//

#include "hymir/Runtime/Version.h"

namespace hymir {

std::string runtimeVersion() { return "0.1.0"; }

} // namespace hymir
