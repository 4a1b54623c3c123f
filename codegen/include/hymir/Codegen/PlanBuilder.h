//===- PlanBuilder.h - execution plans from host IR -------------*- C++ -*-===//
//
// Reads an entry function in kernel form (memref arguments, memref.alloc,
// reshapes, gpu.launch_func, memref.copy, return) and writes the flat plan
// the runtime executes: buffers with arena offsets from a liveness-based
// planner, kernel launches with symbolic grid sizes and argument layouts,
// copies, and the entry's input and output specs.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_PLANBUILDER_H
#define HYMIR_CODEGEN_PLANBUILDER_H

#include "hymir/Runtime/Artifact.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <functional>
#include <map>
#include <string>

namespace mlir::hymir {

/// Module-wide tables the plans of all entries share.
struct ModuleTables {
  /// Kernel index for "gpu_module::kernel_symbol"; filled by the caller.
  std::map<std::string, uint32_t> kernels;
  /// Parameters (arguments marked `hymir.param`), shared by name.
  std::vector<::hymir::TensorSpecDesc> params;
};

struct PlanOptions {
  /// The bound of the dynamic token count (every `?` of an entry's arguments
  /// is that one symbol).
  int64_t maxTokens = 4096;
  /// Byte alignment of every buffer in the arena.
  uint64_t alignment = 256;
  /// The devices the module runs on (the span of every collective).
  int64_t devices = 1;
};

/// Builds the plan of `func`. `original` is the entry as the user wrote it
/// (tensor types, `hymir.name` attributes), used for names and specs.
/// Failures are reported as diagnostics at the op that cannot be planned.
FailureOr<::hymir::EntryDesc> buildEntryPlan(func::FuncOp func,
                                             func::FuncOp original,
                                             ModuleTables &tables,
                                             const PlanOptions &options);

/// The runtime dtype of an MLIR element type, if it has one.
std::optional<::hymir::DType> toDType(Type type);

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_PLANBUILDER_H
