//===- HymirAttributes.td - hymir attribute values ------*- tablegen -*-===//
//
// The values that the string-valued discardable attributes of the hymir
// dialect may take. The attributes stay plain strings in the IR (so the text
// of every stage reads as before); these enums name the allowed strings once,
// for the verifier (HymirAttributes.cpp) and for the passes that set or read
// them (stringify*/symbolize* in HymirAttributes.h).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_HYMIR_IR_HYMIRATTRIBUTES_TD
#define HYMIR_DIALECT_HYMIR_IR_HYMIRATTRIBUTES_TD

include "mlir/IR/EnumAttr.td"

// `hymir.library_call`: the step a linalg.generic stands for, executed by a
// library (cuBLASLt, NCCL, the cpu driver) instead of generated code.
def Hymir_LibraryCall : I32Enum<"LibraryCall",
    "kind of library call a linalg.generic stands for", [
      I32EnumCase<"Gemm", 0, "gemm">,
      I32EnumCase<"AllReduce", 1, "all_reduce">,
      I32EnumCase<"AllGather", 2, "all_gather">,
      I32EnumCase<"AllToAll", 3, "all_to_all">,
      I32EnumCase<"DeviceIndex", 4, "device_index">,
      I32EnumCase<"ReduceScatter", 5, "reduce_scatter">
    ]> {
  let cppNamespace = "::mlir::hymir";
}

// `hymir.precision` of a library GEMM, and the `precision` of hymir.linear.
def Hymir_Precision : I32Enum<"Precision",
    "how the products of a projection are formed", [
      I32EnumCase<"BF16", 0, "bf16">,
      I32EnumCase<"F32", 1, "f32">
    ]> {
  let cppNamespace = "::mlir::hymir";
}

// `hymir.lightning`: which part of tiled lightning attention an op is.
def Hymir_LightningPart : I32Enum<"LightningPart",
    "part of tiled lightning attention", [
      I32EnumCase<"Heads", 0, "heads">,
      I32EnumCase<"Blocks", 1, "blocks">,
      I32EnumCase<"Intra", 2, "intra">,
      I32EnumCase<"Inter", 3, "inter">,
      I32EnumCase<"State", 4, "state">,
      I32EnumCase<"Decode", 5, "decode">,
      I32EnumCase<"TensorCore", 6, "tensor-core">
    ]> {
  let cppNamespace = "::mlir::hymir";
}

// `hymir.moe`: which part of a lowered MoE layer an op is.
def Hymir_MoePart : I32Enum<"MoePart",
    "part of a lowered MoE layer", [
      I32EnumCase<"Route", 0, "route">,
      I32EnumCase<"Layout", 1, "layout">,
      I32EnumCase<"GateUp", 2, "gate-up">,
      I32EnumCase<"Down", 3, "down">,
      I32EnumCase<"GateUpTensorCore", 4, "gate-up-tc">,
      I32EnumCase<"DownTensorCore", 5, "down-tc">,
      I32EnumCase<"GateUpWgmma", 6, "gate-up-wgmma">,
      I32EnumCase<"DownWgmma", 7, "down-wgmma">,
      I32EnumCase<"Combine", 8, "combine">
    ]> {
  let cppNamespace = "::mlir::hymir";
}

// `hymir.pipeline`: which piece of the Hopper pipeline layer an op holds.
def Hymir_PipelinePart : I32Enum<"PipelinePart",
    "piece of the Hopper pipeline layer", [
      I32EnumCase<"Ring", 0, "ring">,
      I32EnumCase<"Roles", 1, "roles">,
      I32EnumCase<"Producer", 2, "producer">,
      I32EnumCase<"Consumer", 3, "consumer">
    ]> {
  let cppNamespace = "::mlir::hymir";
}

#endif // HYMIR_DIALECT_HYMIR_IR_HYMIRATTRIBUTES_TD
