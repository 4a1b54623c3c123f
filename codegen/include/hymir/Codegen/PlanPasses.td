//===- PlanPasses.td - passes into and on the plan dialect -*- tablegen -*-===//
//
// The execution plan stage of hymir-compile: the bufferized host functions
// become hymir_plan entries, then their buffers get places in the arena.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_PLANPASSES_TD
#define HYMIR_CODEGEN_PLANPASSES_TD

include "mlir/Pass/PassBase.td"

def HymirLowerToPlan : Pass<"hymir-lower-to-plan", "::mlir::ModuleOp"> {
  let summary = "Turn each public host function into a hymir_plan.entry";
  let description = [{
    Runs on the kernel form (bufferized host functions: memref arguments,
    `memref.alloc`, reshapes and casts, `gpu.launch_func`, library GEMMs and
    collectives marked `hymir.library_call`, `memref.copy`, `hymir.token_guard`,
    `hymir.check_slot`, `hymir.tensor_map`, return). Index values are evaluated into affine maps
    over the entry's one symbol, `tokens` (every `?` of the arguments, bounded
    by `max-tokens`); memrefs become views of a storage (an input, a module
    parameter for arguments marked `hymir.param`, an output, an arena
    buffer, or a run-time check's words, `hymir_plan.check`, numbered in
    order). A `hymir.tensor_map` becomes a 128-byte arena buffer and a
    `hymir_plan.tensor_map` step, where the op stands, that fills it from
    the view of its source. A launch or tensor map inside
    `hymir.token_guard` gets the guard's range of token counts (intersected
    with any enclosing guard's). A returned buffer that is
    returned once, from its start, becomes the output's own storage (the
    kernel writes the caller's tensor); any other returned value is copied
    into its output. Public functions are replaced by their entries; the
    `gpu.module`s stay. An op that cannot be planned is an error at that op
    saying why.
  }];
  let options = [
    Option<"maxTokens", "max-tokens", "int64_t", "4096",
           "largest token count an entry accepts">,
    Option<"devices", "devices", "int64_t", "1",
           "devices the module runs on (the span of every collective)">,
    Option<"target", "target", "std::string", "\"cpu\"",
           "cpu or cuda, recorded as hymir_plan.target">,
    Option<"chip", "chip", "std::string", "\"\"",
           "GPU architecture, recorded as hymir_plan.chip (cuda)">,
  ];
  let dependentDialects = ["::mlir::hymir::plan::PlanDialect"];
}

def HymirPlanMemory : Pass<"hymir-plan-memory", "::mlir::ModuleOp"> {
  let summary = "Place every arena buffer of every entry (offsets and reuse)";
  let description = [{
    For each `hymir_plan.entry`: a buffer is live from the step after its
    definition to the last step that uses a view of it. Buffers are placed
    first fit by decreasing size (ties in program order) at offsets that are
    multiples of `alignment`; two buffers share bytes only when their live
    ranges do not overlap. A tensor map's buffer (the target of a
    `hymir_plan.tensor_map`) shares bytes with no other buffer, since the
    runtime may leave its bytes from one call to the next, and the buffer
    its map reads stays live through the last step that uses the map. Sets
    each buffer's `offset` and the entry's `arena`.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", "256",
           "byte alignment of every buffer in the arena">,
  ];
}

#endif // HYMIR_CODEGEN_PLANPASSES_TD
