//===- KernelNames.h - names of compiled kernels ----------------*- C++ -*-===//
//
// The names under which a kernel of `gpu.module @M`, `gpu.func @K` is found
// in compiled code. The cpu target turns it into a host function (made by
// hymir-extract-host-kernels) with a packed entry (made by
// hymir-add-packed-kernel-entries) that the runtime looks up; the artifact
// translation records that entry's name. All three read it from here.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_KERNELNAMES_H
#define HYMIR_CODEGEN_KERNELNAMES_H

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"

#include <string>

namespace mlir::hymir {

/// The host function of kernel @K of gpu.module @M: "M__K".
inline std::string hostKernelName(llvm::StringRef module,
                                  llvm::StringRef kernel) {
  return (module + "__" + kernel).str();
}

/// The packed (block, words) entry of host function `function`.
inline std::string packedEntryName(llvm::StringRef function) {
  return (function + ".packed").str();
}

/// The name a kernel has in the artifact's kernel table: "M::K".
inline std::string artifactKernelName(llvm::StringRef module,
                                      llvm::StringRef kernel) {
  return (module + "::" + kernel).str();
}

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_KERNELNAMES_H
