//===- HymirDialect.td - the hymir dialect ----------------*- tablegen -*-===//
//
// The hymir dialect holds the graph of a MiniMax-M1-style model: the domain ops
// (lightning and softmax attention, RoPE, RMSNorm, linear, embedding, MoE and
// the CISPO loss) on tensors with value semantics. Generic elementwise math
// stays in the upstream arith, math, linalg and tensor dialects.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_HYMIR_IR_HYMIRDIALECT_TD
#define HYMIR_DIALECT_HYMIR_IR_HYMIRDIALECT_TD

include "mlir/IR/OpBase.td"

def Hymir_Dialect : Dialect {
  let name = "hymir";
  let cppNamespace = "::mlir::hymir";
  let summary = "Domain ops of hybrid-attention Mixture-of-Experts models";
  let description = [{
    The `hymir` dialect describes models of the MiniMax-M1 family at the level
    of their building blocks. Every op takes and returns tensors. Shapes use
    the names of `model-math.md`: `B` batch, `T` and `S` tokens, `H` heads, `D`
    head dim, `N` hidden width, `E` experts, `I` expert width, `V` vocabulary.
    Token counts may be dynamic (`?`); every other relation between operand
    shapes is checked by the op verifiers wherever both sides are static.

    Activations are `bf16` or `f32`; products accumulate in `f32`. Recurrent
    state (the lightning attention state) and per-token scalars of the loss are
    always `f32`.
  }];
}

class Hymir_Op<string mnemonic, list<Trait> traits = []>
    : Op<Hymir_Dialect, mnemonic, traits>;

#endif // HYMIR_DIALECT_HYMIR_IR_HYMIRDIALECT_TD
