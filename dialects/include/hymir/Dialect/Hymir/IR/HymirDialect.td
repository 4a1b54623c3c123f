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
  // hymir.kv_cache_write bufferizes to scf.parallel, with math for the RoPE
  // it may apply (registerHymirBufferization in hymir/Codegen/Passes.h).
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::math::MathDialect"];
  let summary = "Domain ops of hybrid-attention Mixture-of-Experts models";
  let description = [{
    The `hymir` dialect describes models of the MiniMax-M1 family at the level
    of their building blocks. Every op takes and returns tensors. Shapes use
    the model's usual names: `B` batch, `T` and `S` tokens, `H` heads, `D`
    head dim, `N` hidden width, `E` experts, `I` expert width, `V` vocabulary.
    Token counts may be dynamic (`?`); every other relation between operand
    shapes is checked by the op verifiers wherever both sides are static,
    and a result may not give a static size to a dim its operands leave
    dynamic (that size is only known at run time).

    Activations are `bf16` or `f32`; products accumulate in `f32`. Recurrent
    state (the lightning attention state) and per-token scalars of the loss are
    always `f32`.

    ### Discardable attributes

    The stages of the compiler hand facts to each other through these
    attributes. Each is declared here (`discardableAttrs`: C++ code reaches it
    through `HymirDialect::<Name>AttrHelper` and the accessors of
    `HymirAttributes.h`) and checked by the dialect's verifier wherever it
    appears; any other `hymir.` attribute is an error.

    | attribute | on | value | set by | read by |
    |---|---|---|---|---|
    | `hymir.name` | function argument or result | string: the name of the tensor in safetensors files (default `arg<i>`, `result<i>`) | the graph's author | the plan lowering (entry specs), `hymir-reference` |
    | `hymir.param` | function argument | unit: the argument is a parameter, bound from weights | the graph's author | the plan lowering (parameter specs), `hymir-reference` |
    | `hymir.tied` | result of a public function | integer: the index of the argument this result is tied to (updated in place): the result has the argument's type, at most one result ties each argument, and a parameter cannot be tied | the graph's author | the kernel-form pipeline (argument writability for bufferization), the plan lowering (the output's storage is the argument's) |
    | `hymir.shard_dim` | function argument | integer in `[0, rank)`: each device holds a slice of the argument along this dim | `hymir-shard` | the plan lowering (sharded parameters) |
    | `hymir.library_call` | `linalg.generic` | `"gemm"`, `"all_reduce"`, `"all_gather"`, `"all_to_all"` or `"device_index"`: the step runs as a library call (cuBLASLt, NCCL, the cpu driver) | `hymir-lower-to-linalg` | `hymir-linalg-to-parallel-loops` (skips the op), the plan lowering (a library step) |
    | `hymir.precision` | a `hymir.library_call = "gemm"` op | `"bf16"` or `"f32"`: the `precision` of the `hymir.linear` it came from | `hymir-lower-to-linalg` | the plan lowering (the GEMM's compute type) |
    | `hymir.lightning` | any op | which part of lightning attention the op is: `"heads"` (the forall over batch and heads), `"blocks"` (the loop over token blocks, or the launch of the blocked SIMT kernel), `"intra"`, `"inter"`, `"state"` (the three products of a block), `"decode"`, `"tensor-core"` (kernel launches) | `hymir-tile-lightning-attention`, `hymir-lightning-to-gpu` | readers and lit tests |
    | `hymir.moe` | any op | which part of an MoE layer the op is: `"route"` (the fused routing forall), `"layout"`, `"gate-up"`, `"down"` (warp-per-row kernels), `"gate-up-tc"`, `"down-tc"` (mma.sync kernels), `"gate-up-wgmma"`, `"down-wgmma"` (wgmma kernels), `"combine"` (kernel launches) | `hymir-lower-to-linalg`, `hymir-moe-experts-to-gpu` | readers and lit tests |
    | `hymir.pipeline` | any op | which piece of the Hopper pipeline layer the op holds: `"ring"` (the barrier initialisation of the shared-memory rings), `"roles"` (the split into warp roles), `"producer"`, `"consumer"` (each role's register budget) | the sm_90a kernels of `hymir-softmax-attention-to-kernels` | readers and lit tests |
    | `hymir.tile_block_size` | `hymir.lightning_attention` | positive integer: tokens per block of the op's tiling, chosen for the kernel a target will map it to (wins over the tiling's option and the op's `block_size`) | `hymir-choose-lightning-blocks` (cuda) | `hymir-tile-lightning-attention` |
    | `hymir.kernel` | function | unit: an outlined host (cpu) kernel | `hymir-extract-host-kernels` | `hymir-add-packed-kernel-entries` |

    ### Tied arguments

    A result of an entry (a public function) may be tied to an argument with
    `hymir.tied = <argument index> : i64`: the result is the argument's new
    value and lives in the argument's storage, computed in place where the
    graph allows it (else, when the old value is still read after the
    update, computed aside and copied there at the end of the call). A
    decode step keeps its KV caches and recurrent states on the device this
    way, across calls, and copies only its tokens; the runtime passes such
    an argument as a device value (docs/running.md). Called with a host
    tensor instead, the argument is copied in and the result comes back as
    an ordinary output.

    ```mlir
    func.func @step(%state: tensor<4x16xf32> {hymir.name = "state"},
                    %x: tensor<4x16xf32> {hymir.name = "x"})
        -> (tensor<4x16xf32> {hymir.name = "state_out", hymir.tied = 0 : i64},
            tensor<4x16xf32> {hymir.name = "y"}) {
      %s = arith.addf %state, %x : tensor<4x16xf32>
      %y = arith.mulf %s, %x : tensor<4x16xf32>
      return %s, %y : tensor<4x16xf32>, tensor<4x16xf32>
    }
    ```
  }];

  let discardableAttrs = (ins
    "::mlir::StringAttr":$name,
    "::mlir::UnitAttr":$param,
    "::mlir::IntegerAttr":$shard_dim,
    "::mlir::IntegerAttr":$tied,
    "::mlir::StringAttr":$library_call,
    "::mlir::StringAttr":$precision,
    "::mlir::StringAttr":$lightning,
    "::mlir::StringAttr":$moe,
    "::mlir::StringAttr":$pipeline,
    "::mlir::IntegerAttr":$tile_block_size,
    "::mlir::UnitAttr":$kernel
  );
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
}

// Every hymir op's tensors hold fewer than 2^63 bytes counting their static
// dims (HymirOps.h), so size arithmetic on them cannot overflow.
def Hymir_StaticSizesFit : NativeOpTrait<"StaticSizesFit"> {
  let cppNamespace = "::mlir::hymir";
}

class Hymir_Op<string mnemonic, list<Trait> traits = []>
    : Op<Hymir_Dialect, mnemonic, !listconcat(traits, [Hymir_StaticSizesFit])>;

#endif // HYMIR_DIALECT_HYMIR_IR_HYMIRDIALECT_TD
