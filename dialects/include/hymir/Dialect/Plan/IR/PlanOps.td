//===- PlanOps.td - hymir_plan types, attributes and ops --*- tablegen -*-===//
//
// The execution plan as IR: see PlanDialect.td. Each op below maps onto one
// thing of the artifact (runtime/schema/artifact.fbs): storage ops onto a
// Ref's kind and index, views onto the tensor arguments of a launch, step
// ops onto the Step union, entry onto Entry, code onto CodeObject.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_PLAN_IR_PLANOPS_TD
#define HYMIR_DIALECT_PLAN_IR_PLANOPS_TD

include "hymir/Dialect/Plan/IR/PlanDialect.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

def Plan_StorageType : TypeDef<Plan_Dialect, "Storage"> {
  let mnemonic = "storage";
  let summary = "the bytes of an input, output, parameter, arena buffer or check";
}

def Plan_ViewType : TypeDef<Plan_Dialect, "View"> {
  let mnemonic = "view";
  let summary = "a strided window of elements into a storage";
  let parameters = (ins "Type":$elementType, "unsigned":$rank);
  let assemblyFormat = "`<` $elementType `,` $rank `>`";
}

def Plan_SizeOrView : AnyTypeOf<[Plan_ViewType, Index]>;

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Plan_TensorSpecAttr : AttrDef<Plan_Dialect, "TensorSpec"> {
  let mnemonic = "tensor";
  let summary = "an entry input or output, or a module parameter";
  let description = [{
    `name` is the safetensors name the caller uses; `shape` has one result
    per dim (over the entry's symbols; parameters are static); `shard_dim`
    is the dim split across devices (-1: whole on every device), in which
    case `shape` is the whole tensor's. `tiedTo` (entry outputs only) is the
    index of the entry input this output is tied to: the output has no
    storage of its own, the steps update the input's storage in place
    (-1: an output of its own).
  }];
  let parameters = (ins StringRefParameter<>:$name, "Type":$elementType,
                        "AffineMapAttr":$shape,
                        DefaultValuedParameter<"int64_t", "-1">:$shardDim,
                        DefaultValuedParameter<"int64_t", "-1">:$tiedTo);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Plan_SymbolAttr : AttrDef<Plan_Dialect, "Symbol"> {
  let mnemonic = "symbol";
  let summary = "a size bound at call time from an input's dim";
  let parameters = (ins StringRefParameter<>:$name, "int64_t":$input,
                        "int64_t":$dim, "int64_t":$max);
  let assemblyFormat = "`<` struct(params) `>`";
}

//===----------------------------------------------------------------------===//
// Entries and code
//===----------------------------------------------------------------------===//

def Plan_EntryOp : Plan_Op<"entry", [Symbol, IsolatedFromAbove,
                                     SingleBlockImplicitTerminator<"ReturnOp">]> {
  let summary = "one entry point: its interface and its steps, in order";
  let description = [{
    `inputs` and `outputs` are `#hymir_plan.tensor` specs, `symbols` the
    `#hymir_plan.symbol`s the sizes of the body use (symbol `i` of every
    affine map is `symbols[i]`). `arena_bytes`, set by
    `hymir-plan-memory`, is the size of the scratch arena the buffers live
    in. The body runs top to bottom; only step ops (launch, gemm, copy,
    all_reduce, all_gather) do work. An output tied to an input (`tiedTo`)
    has the input's element type and shape, the input is not split across
    devices, each input has one tied output at most, and the body refers to
    the input's storage only (no `hymir_plan.output` of a tied output).
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, ArrayAttr:$inputs,
                       ArrayAttr:$outputs, ArrayAttr:$symbols,
                       OptionalAttr<I64Attr>:$arena_bytes);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $sym_name `inputs` $inputs `outputs` $outputs `symbols` $symbols
    (`arena` $arena_bytes^)? attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [OpBuilder<(ins "StringRef":$name, "ArrayAttr":$inputs,
                                 "ArrayAttr":$outputs, "ArrayAttr":$symbols)>];
}

def Plan_ReturnOp : Plan_Op<"return", [Pure, Terminator, HasParent<"EntryOp">]> {
  let summary = "the end of an entry";
  let assemblyFormat = "attr-dict";
}

def Plan_CodeOp : Plan_Op<"code", [Symbol]> {
  let summary = "a compiled code object holding kernels";
  let description = [{
    `format` is `"host_shared_object"` (cpu: every kernel of the module, as
    packed entries), `"ptx"` or `"cubin"` (cuda: one per gpu.module);
    `kernels` lists the kernels it holds (`@gpu_module::@kernel`, the names
    launches use); `data` holds the bytes and `ptx_fallback` the PTX a cubin
    was assembled from.
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, StrAttr:$format,
                       SymbolRefArrayAttr:$kernels, StrAttr:$data,
                       OptionalAttr<StrAttr>:$ptx_fallback);
  let assemblyFormat = [{
    $sym_name $format `kernels` $kernels `data` $data
    (`fallback` $ptx_fallback^)? attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Storage and views
//===----------------------------------------------------------------------===//

class Plan_StorageOp<string mnemonic, string what>
    : Plan_Op<mnemonic, [Pure, HasParent<"EntryOp">]> {
  let summary = "the storage of " # what;
  let arguments = (ins I64Attr:$index);
  let results = (outs Plan_StorageType:$storage);
  let assemblyFormat = "$index attr-dict";
}

def Plan_InputOp : Plan_StorageOp<"input", "an entry input (its index)">;
def Plan_OutputOp : Plan_StorageOp<"output", "an entry output (its index)">;
def Plan_ParamOp
    : Plan_StorageOp<"param", "a module parameter (index into hymir_plan.params)">;

def Plan_BufferOp : Plan_Op<"buffer", [HasParent<"EntryOp">,
                                       MemoryEffects<[MemAlloc]>]> {
  let summary = "a scratch buffer in the entry's arena";
  let description = [{
    `bytes` is the size at the largest value of every symbol.
    `hymir-plan-memory` sets `offset`, its place in the arena; two buffers
    share bytes only when no step between the first and the last use of one
    uses the other.
  }];
  let arguments = (ins I64Attr:$bytes, OptionalAttr<I64Attr>:$offset);
  let results = (outs Plan_StorageType:$storage);
  let assemblyFormat = "$bytes (`at` $offset^)? attr-dict";
}

def Plan_CheckOp : Plan_Op<"check", [Pure, HasParent<"EntryOp">]> {
  let summary = "the two status words of a run-time check kernels flag";
  let description = [{
    Check `index` of the entry (numbered from 0 in the order they appear),
    from a `hymir.check_slot`: two i64 words the runtime sets to
    `(INT64_MAX, 0)` before a call and reads after it. A kernel that finds
    a bad element of the checked tensor leaves in word 0 its position
    (bits 32 to 62) and value (bits 0 to 31), in word 1 the bound of the
    valid range `[0, bound)`; the runtime turns that into the call's error,
    naming `checked_op`, `tensor` (or, when it is empty, `location`) and
    `value`:
    `entry 'f': hymir.embedding 'ids': id 70000 at position 13 is outside
    [0, 65536)`.
  }];
  let arguments = (ins I64Attr:$index, StrAttr:$checked_op, StrAttr:$tensor,
                       StrAttr:$value, StrAttr:$location);
  let results = (outs Plan_StorageType:$storage);
  let assemblyFormat = [{
    $index $checked_op `tensor` $tensor `value` $value `at` $location attr-dict
  }];
}

def Plan_ViewOp : Plan_Op<"view", [Pure]> {
  let summary = "a strided window of a storage";
  let description = [{
    Element `(i0, ..., in)` of the view lives at byte
    `offset + (sum_k i_k * strides[k]) * sizeof(element)` of `source`.
  }];
  let arguments = (ins Plan_StorageType:$source, AffineMapAttr:$offset,
                       AffineMapAttr:$sizes, AffineMapAttr:$strides);
  let results = (outs Plan_ViewType:$view);
  let assemblyFormat = [{
    $source `offset` $offset `sizes` $sizes `strides` $strides attr-dict
    `:` type($view)
  }];
  let hasVerifier = 1;
}

def Plan_SizeOp : Plan_Op<"size", [Pure]> {
  let summary = "a size over the entry's symbols, as a kernel argument";
  let arguments = (ins AffineMapAttr:$value);
  let results = (outs Index:$result);
  let assemblyFormat = "$value attr-dict";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Steps
//===----------------------------------------------------------------------===//

def Plan_LaunchOp : Plan_Op<"launch", [HasParent<"EntryOp">]> {
  let summary = "a kernel launch";
  let description = [{
    Launches `kernel` (`@gpu_module::@kernel`) over `grid` (three sizes)
    with `block` threads and `shared_memory_bytes` of dynamic shared memory.
    Each argument is a view (passed as pointer, pointer, 0, sizes, strides)
    or a size. The launch runs only for token counts in
    `[tokens_at_least, tokens_at_most]` (-1: no upper bound): kernel passes
    pick a kernel per call this way.
  }];
  let arguments = (ins SymbolRefAttr:$kernel, AffineMapAttr:$grid,
                       DenseI64ArrayAttr:$block,
                       DefaultValuedAttr<I64Attr, "0">:$shared_memory_bytes,
                       DefaultValuedAttr<I64Attr, "0">:$tokens_at_least,
                       DefaultValuedAttr<I64Attr, "-1">:$tokens_at_most,
                       Variadic<Plan_SizeOrView>:$args);
  let assemblyFormat = [{
    $kernel `grid` $grid `block` $block `(` ($args^ `:` type($args))? `)`
    attr-dict
  }];
  let hasVerifier = 1;
}

def Plan_GemmOp : Plan_Op<"gemm", [HasParent<"EntryOp">]> {
  let summary = "a library GEMM: y[m, n] = x[m, k] w[n, k]^T";
  let description = [{
    Runs on the target's BLAS (cuBLASLt on cuda). `f32_precision` asks for
    true fp32 products (no TF32).
  }];
  let arguments = (ins Plan_ViewType:$x, Plan_ViewType:$w, Plan_ViewType:$y,
                       AffineMapAttr:$m, I64Attr:$n, I64Attr:$k,
                       UnitAttr:$f32_precision);
  let assemblyFormat = [{
    $x `,` $w `->` $y `m` $m `n` $n `k` $k attr-dict `:` type($x) `,`
    type($w) `->` type($y)
  }];
  let hasVerifier = 1;
}

def Plan_CopyOp : Plan_Op<"copy", [HasParent<"EntryOp">]> {
  let summary = "copies `bytes` bytes from the start of one view to another";
  let arguments = (ins Plan_ViewType:$source, Plan_ViewType:$target,
                       AffineMapAttr:$bytes);
  let assemblyFormat = [{
    $source `->` $target `bytes` $bytes attr-dict `:` type($source) `->`
    type($target)
  }];
  let hasVerifier = 1;
}

def Plan_TensorMapOp : Plan_Op<"tensor_map", [HasParent<"EntryOp">]> {
  let summary = "encodes a TMA tensor map of a view into 128 bytes of a buffer";
  let description = [{
    From a `hymir.tensor_map`. At each call the runtime encodes a tiled
    `CUtensorMap` of `source` with `cuTensorMapEncodeTiled`: the view's
    address, its sizes and byte strides at this call (innermost first for
    the driver), the `box` (one extent per dim, outermost first as here),
    element strides 1, no interleave, the `swizzle` span in bytes (0, 32, 64
    or 128), L2 promotion of 128 bytes, out-of-bounds elements read as
    zeros. It writes the 128 bytes at the start of `target` (a view of 16
    i64 words of a buffer that nothing else writes) before the steps that
    follow, which pass `target` to the kernels reading `source` with TMA.
    The address and the outer byte strides of `source` must be multiples of
    16 at run time. Like a launch, the step runs only for token counts in
    `[tokens_at_least, tokens_at_most]`. Only the cuda target runs it.
  }];
  let arguments = (ins Plan_ViewType:$source, Plan_ViewType:$target,
                       DenseI64ArrayAttr:$box, I64Attr:$swizzle,
                       DefaultValuedAttr<I64Attr, "0">:$tokens_at_least,
                       DefaultValuedAttr<I64Attr, "-1">:$tokens_at_most);
  let assemblyFormat = [{
    $source `into` $target `box` $box `swizzle` $swizzle attr-dict `:`
    type($source) `into` type($target)
  }];
  let hasVerifier = 1;
}

class Plan_CollectiveOp<string mnemonic, string what>
    : Plan_Op<mnemonic, [HasParent<"EntryOp">]> {
  let summary = what;
  let arguments = (ins Plan_ViewType:$source, Plan_ViewType:$target,
                       AffineMapAttr:$elements);
  let assemblyFormat = [{
    $source `->` $target `elements` $elements attr-dict `:` type($source)
    `->` type($target)
  }];
  let hasVerifier = 1;
}

def Plan_AllReduceOp : Plan_CollectiveOp<"all_reduce",
    "sums `elements` elements of `source` over the devices into `target`">;
def Plan_AllGatherOp : Plan_CollectiveOp<"all_gather",
    "stacks every device's `elements` elements of `source` into `target`">;
def Plan_ReduceScatterOp : Plan_CollectiveOp<"reduce_scatter",
    "sums every device's `source` (devices x `elements` elements) and leaves "
    "device r block r of the sum (`elements` elements) in `target`">;

def Plan_AllToAllOp : Plan_Op<"all_to_all", [HasParent<"EntryOp">]> {
  let summary = "exchanges rows of `source` between the devices, variable counts per peer";
  let description = [{
    `hymir.all_to_all` as a step. `source` and `target` hold `elements`
    elements each (the capacity), in rows of `row` elements; the
    `source_offsets` and `target_offsets` views hold `devices + 1` i32
    entries each. Each device sends rows `[source_offsets[p],
    source_offsets[p + 1])` to device `p`; `target` receives every peer's
    rows in device order, `target_offsets` where each peer's rows start,
    and zeros past them. Offsets that leave the capacity are a run-time
    error.
  }];
  let arguments = (ins Plan_ViewType:$source, Plan_ViewType:$source_offsets,
                       Plan_ViewType:$target, Plan_ViewType:$target_offsets,
                       AffineMapAttr:$elements, I64Attr:$row);
  let assemblyFormat = [{
    $source `,` $source_offsets `->` $target `,` $target_offsets `elements`
    $elements `row` $row attr-dict `:` type($source) `,` type($source_offsets)
    `->` type($target) `,` type($target_offsets)
  }];
  let hasVerifier = 1;
}

def Plan_DeviceIndexOp : Plan_Op<"device_index", [HasParent<"EntryOp">]> {
  let summary = "writes each device's index into `target` (one i32)";
  let arguments = (ins Plan_ViewType:$target);
  let assemblyFormat = [{ $target attr-dict `:` type($target) }];
  let hasVerifier = 1;
}

#endif // HYMIR_DIALECT_PLAN_IR_PLANOPS_TD
