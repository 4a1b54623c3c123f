//===- HostObject.h - host kernels to a shared object -----------*- C++ -*-===//
//
// Turns a module of host kernels in the LLVM dialect into the bytes of an
// ELF shared object for the cpu driver: LLVM IR, -O2, an object file for a
// baseline x86-64 CPU (the artifact runs on other machines), then a link by
// the system's C compiler driver.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_HOSTOBJECT_H
#define HYMIR_CODEGEN_HOSTOBJECT_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <vector>

namespace mlir::hymir {

/// Compiles and links `module`. Errors (no linker found, a failed link with
/// its output) are reported as diagnostics at the module.
FailureOr<std::vector<uint8_t>> compileHostSharedObject(ModuleOp module);

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_HOSTOBJECT_H
