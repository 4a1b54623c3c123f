//===- Passes.td - hymir codegen passes -------------------*- tablegen -*-===//
//
// Passes that turn the target-neutral kernel form (gpu.launch_func plus
// gpu.module kernels) into code for one target.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_PASSES_TD
#define HYMIR_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def HymirExtractHostKernels
    : Pass<"hymir-extract-host-kernels", "::mlir::ModuleOp"> {
  let summary = "Replace a module by its GPU kernels rewritten as host functions";
  let description = [{
    For the cpu target. Each `gpu.func` kernel `@K` of `gpu.module @M`
    becomes `func.func @M__K(%block_x: index, <kernel args>)` marked
    `hymir.kernel`, whose body loops over the block's threads
    (`known_block_size` x 1 x 1) and runs the kernel body for each, with
    `gpu.thread_id x` the loop index and `gpu.block_id x` the new argument.
    Everything else in the module (the host functions that launched the
    kernels, which the plan builder has read already) is erased. Kernels with
    barriers, shared memory, several blocks or 2-d or 3-d blocks are rejected.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def HymirAddPackedKernelEntries
    : Pass<"hymir-add-packed-kernel-entries", "::mlir::ModuleOp"> {
  let summary = "Give every host kernel a uniform (block, words) entry point";
  let description = [{
    For the cpu target, after lowering to the LLVM dialect. For each
    `llvm.func @K` marked `hymir.kernel` (first parameter the block index,
    then the expanded kernel arguments: for a memref the allocated and aligned
    pointers, the offset, the sizes and the strides; for an index an i64), adds
    `llvm.func @K.packed(%block: i64, %words: !llvm.ptr)` which reads every
    other parameter from consecutive 8-byte words and calls `@K`. The runtime
    fills the same word list for the cpu and the cuda drivers.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // HYMIR_CODEGEN_PASSES_TD
