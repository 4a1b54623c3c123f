//===- RuntimeDepsProbe.cpp - links the runtime world ---------------------===//
//
// A program that links the runtime and the oracle and nothing else, so that
// check-no-llvm-deps.sh can inspect what they pull in.
//
//===----------------------------------------------------------------------===//

#include "hymir/Oracle/Oracle.h"
#include "hymir/Runtime/Version.h"

#include <cstdio>

int main() {
  std::vector<double> slopes = hymir::oracle::alibiSlopes(8);
  std::printf("hymir runtime %s, first slope %g\n",
              hymir::runtimeVersion().c_str(), slopes[0]);
  return 0;
}
