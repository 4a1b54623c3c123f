//===- PlanDialect.td - the hymir_plan dialect ------------*- tablegen -*-===//
//
// The execution plan of a compiled module as IR (design decision 8): the
// storage of each entry (its inputs, outputs, module parameters and arena
// buffers), strided views of that storage, and the steps the runtime runs in
// order (kernel launches, library GEMMs, copies, collectives). Sizes are
// affine maps over the entry's symbols (the token count).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_PLAN_IR_PLANDIALECT_TD
#define HYMIR_DIALECT_PLAN_IR_PLANDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Plan_Dialect : Dialect {
  let name = "hymir_plan";
  let cppNamespace = "::mlir::hymir::plan";
  let summary = "The execution plan the hymir runtime runs";
  let description = [{
    `hymir_plan` is the last IR of `hymir-compile` before the artifact: what
    the runtime executes, step by step, and nothing else. A reader of this IR
    knows which kernels run, on which bytes, with which grid, for which token
    counts.

    A module in plan form holds one `hymir_plan.entry` per public function of
    the source, the kernels (`gpu.module`s, or after code generation
    `hymir_plan.code` objects holding PTX, cubins or a host shared object)
    and these module attributes: `hymir_plan.target` (`"cpu"` or `"cuda"`),
    `hymir_plan.chip`, `hymir_plan.devices` and `hymir_plan.params` (the
    module parameters, bound by name from safetensors).

    Sizes (grids, view sizes and strides, byte counts, scalar kernel
    arguments) are affine maps with no dims and one symbol per entry symbol:
    `affine_map<()[tokens] -> (tokens * 64)>`. The runtime holds a size as
    `(constant + sum of coeff * symbol) floordiv divisor`, so a size must be
    a linear expression, optionally floor- or ceil-divided by a constant.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Module attribute names (see the dialect description).
    static constexpr llvm::StringLiteral kTargetAttrName = "hymir_plan.target";
    static constexpr llvm::StringLiteral kChipAttrName = "hymir_plan.chip";
    static constexpr llvm::StringLiteral kDevicesAttrName = "hymir_plan.devices";
    static constexpr llvm::StringLiteral kParamsAttrName = "hymir_plan.params";
  }];
  let hasOperationAttrVerify = 1;
}

class Plan_Op<string mnemonic, list<Trait> traits = []>
    : Op<Plan_Dialect, mnemonic, traits>;

#endif // HYMIR_DIALECT_PLAN_IR_PLANDIALECT_TD
