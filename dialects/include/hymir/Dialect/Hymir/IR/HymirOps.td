//===- HymirOps.td - hymir op definitions -----------------*- tablegen -*-===//
//
// The public surface of the hymir dialect. Op names, operand order and
// attribute names are a contract (see docs/architecture.md): tests outside the
// project write these ops in generic form.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_HYMIR_IR_HYMIROPS_TD
#define HYMIR_DIALECT_HYMIR_IR_HYMIROPS_TD

include "hymir/Dialect/Hymir/IR/HymirDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"

// Element types and shapes are checked by the C++ verifiers, which name the
// operand and the dimension at fault; ODS only requires ranked tensors.
def Hymir_Tensor : RankedTensorOf<[AnyType]>;

//===----------------------------------------------------------------------===//
// lightning_attention
//===----------------------------------------------------------------------===//

def Hymir_LightningAttentionOp : Hymir_Op<"lightning_attention", [Pure]> {
  let summary = "Lightning attention: decayed linear attention with a carried state";
  let description = [{
    Per batch element and head, with per-step decay `lambda_h = exp(-slopes[h])`
    and an fp32 state `S` of shape `[D, D]` (zero unless `initial_state` is
    given):

    ```
    S_t = lambda_h * S_{t-1} + k_t^T v_t
    o_t = q_t S_t
    ```

    There is no softmax, no normaliser and no `1/sqrt(D)` scale. `out` has the
    shape and element type of `q`; `final_state` is `S_T`, the state to resume
    the same sequence from (a decode step is this op with `T = 1` and an
    initial state).

    `block_size` is a tiling hint for the blocked (intra-block / inter-block)
    algorithm; the result does not depend on it.

    Operands: `q`, `k`, `v` `[B, T, H, D]` (bf16 or f32, all alike), `slopes`
    `[H]` f32, optional `initial_state` `[B, H, D, D]` f32.

    Example:

    ```mlir
    %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 64 : i64}
        : (tensor<1x?x4x64xbf16>, tensor<1x?x4x64xbf16>, tensor<1x?x4x64xbf16>,
           tensor<4xf32>) -> (tensor<1x?x4x64xbf16>, tensor<1x4x64x64xf32>)
    ```
  }];
  let arguments = (ins Hymir_Tensor:$q, Hymir_Tensor:$k, Hymir_Tensor:$v,
                       Hymir_Tensor:$slopes,
                       Optional<Hymir_Tensor>:$initial_state,
                       DefaultValuedAttr<I64Attr, "256">:$block_size);
  let results = (outs Hymir_Tensor:$out, Hymir_Tensor:$final_state);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $slopes (`initial_state` `(` $initial_state^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// softmax_attention
//===----------------------------------------------------------------------===//

def Hymir_SoftmaxAttentionOp : Hymir_Op<"softmax_attention", [Pure]> {
  let summary = "Scaled dot-product softmax attention with grouped KV heads";
  let description = [{
    `out[b, t, g] = softmax_s(scale * q[b, t, g] . k[b, s, g / (Hq / Hkv)]) v[...]`
    over the keys `s` that query `t` of sequence `b` sees. Query head `g` reads
    KV head `g / (Hq / Hkv)` (grouped-query attention), so `Hq` must be a
    multiple of `Hkv`.

    Sequence `b` has `L_b` valid keys: `lengths[b]` when the optional
    `lengths` operand is given (a KV cache holding sequences of different
    lengths), else `S`. Query `t` sees the keys `s < L_b`, and with `causal`
    only `s <= L_b - T + t`: the queries are the last `T` of the sequence's
    `L_b` positions, as in a decode step against a KV cache. A query that sees
    no key yields zeros. A length outside `[0, S]` fails the call: a run-time
    check reports the first such sequence, its length and the range.

    Operands: `q` `[B, T, Hq, D]`, `k` and `v` `[B, S, Hkv, D]`, one element
    type (bf16 or f32); optional `lengths` `[B]` i32. Result:
    `[B, T, Hq, D]` of the element type of `q`.

    Example (one decode step of two sequences against a cache of 4096
    positions, 8 query heads sharing 2 KV heads):

    ```mlir
    %o = hymir.softmax_attention %q, %kc, %vc lengths(%len)
        {causal = true, scale = 0.125 : f32}
        : (tensor<2x1x8x64xbf16>, tensor<2x4096x2x64xbf16>,
           tensor<2x4096x2x64xbf16>, tensor<2xi32>) -> tensor<2x1x8x64xbf16>
    ```
  }];
  let arguments = (ins Hymir_Tensor:$q, Hymir_Tensor:$k, Hymir_Tensor:$v,
                       Optional<Hymir_Tensor>:$lengths,
                       BoolAttr:$causal, F32Attr:$scale);
  let results = (outs Hymir_Tensor:$out);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`lengths` `(` $lengths^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// kv_cache_write
//===----------------------------------------------------------------------===//

def Hymir_KvCacheWriteOp : Hymir_Op<"kv_cache_write", [Pure]> {
  let summary = "Writes a step's keys or values into a KV cache";
  let description = [{
    Returns `cache` with the `T` rows of `update` written at the end of each
    sequence's valid length: row `t` of sequence `b` goes to position
    `lengths[b] - T + t`, so after the write sequence `b` holds `lengths[b]`
    valid positions and the step's tokens are its last `T`. Rows whose
    position is negative (left padding of a shorter prompt) are not written;
    the other positions of the cache keep their values.

    A length outside `[0, C]` (`C` the cache capacity) fails the call: a
    run-time check reports the first such sequence, its length and the
    range. No row is ever written outside the cache.

    Operands: `cache` `[B, C, H, D]`, `update` `[B, T, H, D]` of the same
    element type (bf16 or f32), `lengths` `[B]` i32. Result: the shape and type
    of `cache`. With the cache an entry argument tied to this result
    (`hymir.tied`), the write happens in place.

    Optionally the write applies RoPE to the update first: with `positions`
    `[B, T]` i32 and the attributes `rotary_dim` and `theta` (all three or
    none), the rows written are `hymir.rope(update, positions)` with those
    attributes, computed exactly as `hymir.rope` computes them (f32 angles
    and rotation, one rounding to the element type), so a decode step's
    keys are rotated as they are stored and run no RoPE kernel of their own.
    `rotary_dim` must be even, positive and at most `D`; `theta` positive.
    hymir-fuse-kv-cache-rope makes this form from a `hymir.rope` whose only
    use is the update.

    Example (the keys of one decode step, the cache then attended over):

    ```mlir
    %kc1 = hymir.kv_cache_write %kc, %k, %len
        : (tensor<2x4096x2x64xbf16>, tensor<2x1x2x64xbf16>, tensor<2xi32>)
        -> tensor<2x4096x2x64xbf16>
    ```

    The same keys rotated on the first 64 channels of each head as they are
    written:

    ```mlir
    %kc1 = hymir.kv_cache_write %kc, %k, %len positions(%pos)
        {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
        : (tensor<2x4096x2x128xbf16>, tensor<2x1x2x128xbf16>, tensor<2xi32>,
           tensor<2x1xi32>) -> tensor<2x4096x2x128xbf16>
    ```
  }];
  let arguments = (ins Hymir_Tensor:$cache, Hymir_Tensor:$update,
                       Hymir_Tensor:$lengths,
                       Optional<Hymir_Tensor>:$positions,
                       OptionalAttr<I64Attr>:$rotary_dim,
                       OptionalAttr<F64Attr>:$theta);
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{
    $cache `,` $update `,` $lengths (`positions` `(` $positions^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

def Hymir_RopeOp : Hymir_Op<"rope", [Pure]> {
  let summary = "Rotary position embedding on the first rotary_dim dims of each head";
  let description = [{
    Rotates the first `rotary_dim` channels of every head of `x` by the angle
    `positions[b, t] * theta^(-2i / rotary_dim)`, pairing channel `i` with
    `i + rotary_dim / 2` (rotate-half style); the channels past `rotary_dim`
    pass through. The angles and the rotation are computed in f32 and the
    result is cast back to the element type of `x`.

    Operands: `x` `[B, T, H, D]` (bf16 or f32), `positions` `[B, T]` i32.
    `rotary_dim` must be even, positive and at most `D`; `theta` positive.
  }];
  let arguments = (ins Hymir_Tensor:$x, Hymir_Tensor:$positions,
                       I64Attr:$rotary_dim, F64Attr:$theta);
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{
    $x `,` $positions attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// rms_norm
//===----------------------------------------------------------------------===//

def Hymir_RmsNormOp : Hymir_Op<"rms_norm", [Pure]> {
  let summary = "Root-mean-square normalisation over the last dimension";
  let description = [{
    `y = x / sqrt(mean(x^2 over the last dim) + epsilon) * weight`, computed in
    f32 and cast to the element type of `x`.

    Operands: `x` `[..., N]` (bf16 or f32), `weight` `[N]` (bf16 or f32).
    `N` must be static in both: a dynamic dim of an entry is the token count,
    and the normalized width is a property of the model. `epsilon` must be
    positive.
  }];
  let arguments = (ins Hymir_Tensor:$x, Hymir_Tensor:$weight, F32Attr:$epsilon);
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{
    $x `,` $weight attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// linear
//===----------------------------------------------------------------------===//

def Hymir_LinearOp : Hymir_Op<"linear", [Pure]> {
  let summary = "Dense projection y = x W^T";
  let description = [{
    `y[..., n] = sum_k x[..., k] * weight[n, k]`, accumulated in f32.

    `precision` chooses how the products are formed: `"bf16"` allows the
    inputs to be rounded to bf16 for tensor cores; `"f32"` computes every
    product in true fp32 (no TF32), as the LM head of the CISPO path needs.

    Operands: `x` `[..., K]`, `weight` `[N, K]`, each bf16 or f32. The result
    is `[..., N]`, bf16 or f32: an f32 result keeps the f32 accumulator (the
    router logits and the LM head use this).
  }];
  let arguments = (ins Hymir_Tensor:$x, Hymir_Tensor:$weight,
                       DefaultValuedStrAttr<StrAttr, "bf16">:$precision);
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{
    $x `,` $weight attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// embedding
//===----------------------------------------------------------------------===//

def Hymir_EmbeddingOp : Hymir_Op<"embedding", [Pure]> {
  let summary = "Row gather from an embedding table";
  let description = [{
    `result[i..., n] = table[ids[i...], n]`. An id outside `[0, V)` is a
    runtime error.

    Operands: `table` `[V, N]` (bf16 or f32), `ids` of any rank, i32. The
    result has shape `ids.shape + [N]` and the element type of `table`.
  }];
  let arguments = (ins Hymir_Tensor:$table, Hymir_Tensor:$ids);
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{
    $table `,` $ids attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// moe
//===----------------------------------------------------------------------===//

def Hymir_MoeOp : Hymir_Op<"moe", [Pure]> {
  let summary = "Top-k routed Mixture-of-Experts block with SwiGLU experts";
  let description = [{
    ```
    p      = softmax(x @ router^T)        # [T, E], f32
    w, idx = topk(p, top_k)               # ties: the lower expert index wins
    w      = w / sum(w)                   # only when renormalize
    y_t    = sum_j w_tj * (SiLU(x_t W1_e^T) * (x_t W3_e^T)) W2_e^T,  e = idx_tj
    ```

    Operands: `x` `[T, N]`, `router` `[E, N]`, `w1` and `w3` `[E, I, N]`, `w2`
    `[E, N, I]`; all bf16 or f32 (the router may be f32 with bf16 experts). The
    result is `[T, N]` with the element type of `x`. `top_k` is in `[1, E]`.
  }];
  let arguments = (ins Hymir_Tensor:$x, Hymir_Tensor:$router, Hymir_Tensor:$w1,
                       Hymir_Tensor:$w3, Hymir_Tensor:$w2, I64Attr:$top_k,
                       DefaultValuedAttr<BoolAttr, "true">:$renormalize);
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{
    $x `,` $router `,` $w1 `,` $w3 `,` $w2 attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// cispo_loss
//===----------------------------------------------------------------------===//

def Hymir_CispoLossOp : Hymir_Op<"cispo_loss", [Pure]> {
  let summary = "CISPO policy loss over the LM head, with its gradients";
  let description = [{
    With `z = hidden @ lm_head^T`, `logp_new_t = z_t[targets_t] - logsumexp(z_t)`,
    `r_t = exp(logp_new_t - logp_old_t)` and `r^_t = clip(r_t, 1 - eps_low,
    1 + eps_high)`:

    ```
    loss = -(1 / sum(mask)) * sum_t mask_t * M_t * sg(r^_t) * advantages_t * logp_new_t
    ```

    `sg` stops the gradient. `M_t` is 1 unless `unified_mask` is set; then it is
    0 for tokens with `A > 0, r > 1 + eps_high` or `A < 0, r < 1 - eps_low`.
    Results: the scalar `loss`, `logp_new` `[T]`, and the gradients
    `d_hidden` `[T, N]` and `d_lm_head` `[V, N]`. Results without uses are
    not computed (a forward-only call pays for no gradients). A target
    outside `[0, V)` is a run-time error.

    `precision` chooses how the head's products are formed: `"f32"` (the
    default, M1's FP32 head) in true fp32; `"bf16"` with `hidden` and
    `lm_head` rounded to bf16 (to nearest even) where they enter a product,
    accumulation in f32. The meaning (and the oracle) is the op on the
    rounded operands; the gradients are taken with respect to them.

    Operands: `hidden` `[T, N]`, `lm_head` `[V, N]` (bf16 or f32),
    `targets` `[T]` i32, `logp_old`, `advantages`, `mask` `[T]` f32.
    `eps_low` and `eps_high` must be positive.
  }];
  let arguments = (ins Hymir_Tensor:$hidden, Hymir_Tensor:$lm_head,
                       Hymir_Tensor:$targets, Hymir_Tensor:$logp_old,
                       Hymir_Tensor:$advantages, Hymir_Tensor:$mask,
                       F32Attr:$eps_low, F32Attr:$eps_high,
                       DefaultValuedAttr<BoolAttr, "false">:$unified_mask,
                       DefaultValuedStrAttr<StrAttr, "f32">:$precision);
  let results = (outs Hymir_Tensor:$loss, Hymir_Tensor:$logp_new,
                      Hymir_Tensor:$d_hidden, Hymir_Tensor:$d_lm_head);
  let assemblyFormat = [{
    $hidden `,` $lm_head `,` $targets `,` $logp_old `,` $advantages `,` $mask
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// token_logprobs
//===----------------------------------------------------------------------===//

def Hymir_TokenLogprobsOp : Hymir_Op<"token_logprobs", [Pure]> {
  let summary = "Log-probabilities of given tokens under the LM head";
  let description = [{
    With `z = hidden @ lm_head^T`,
    `result_t = z_t[tokens_t] - logsumexp(z_t)`: the log-probability of token
    `tokens_t` after the hidden state `hidden_t`, without the `[T, V]` logits.

    This is `logp_new` of `hymir.cispo_loss` on its own, lowered by the same
    forward kernel (`hymir-tile-cispo-loss`): for the same `hidden`,
    `lm_head`, `tokens` and `precision` the two are bitwise equal, so log-probs
    taken while generating agree exactly with those a training step sees.
    `precision` has the meaning it has for `hymir.cispo_loss` (`"f32"`, the
    default, or `"bf16"`: operands rounded to bf16 for the products, f32
    accumulation). A token outside `[0, V)` is a run-time error.

    Operands: `hidden` `[T, N]`, `lm_head` `[V, N]` (bf16 or f32), `tokens`
    `[T]` i32. Result `[T]` f32.
  }];
  let arguments = (ins Hymir_Tensor:$hidden, Hymir_Tensor:$lm_head,
                       Hymir_Tensor:$tokens,
                       DefaultValuedStrAttr<StrAttr, "f32">:$precision);
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{
    $hidden `,` $lm_head `,` $tokens attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Decomposed MoE: top_k and routed_experts
//===----------------------------------------------------------------------===//

def Hymir_TopKOp : Hymir_Op<"top_k", [Pure]> {
  let summary = "The k largest entries of each row, with their column indices";
  let description = [{
    For each row `t` of `input` `[T, E]`, `values[t, :]` holds its `k`
    largest entries in descending order and `indices[t, :]` their columns
    (i32). Of equal entries the lower column comes first. `k` is in `[1, E]`.
    NaN entries are never picked; a row with fewer than `k` other entries
    gets picks outside `[0, E)` (which `hymir.routed_experts` ignores).
    With `hymir.routed_experts` and a softmax this writes MoE routing out
    step by step; `hymir-fuse-moe-routing` fuses such a chain.

    ```
    %probs = linalg.softmax dimension(1) ins(%logits : tensor<?x32xf32>)
               outs(%init : tensor<?x32xf32>) -> tensor<?x32xf32>
    %w, %idx = hymir.top_k %probs {k = 2 : i64}
               : (tensor<?x32xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
    ```
  }];
  let arguments = (ins Hymir_Tensor:$input, I64Attr:$k);
  let results = (outs Hymir_Tensor:$values, Hymir_Tensor:$indices);
  let assemblyFormat = [{
    $input attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hymir_RoutedExpertsOp : Hymir_Op<"routed_experts", [Pure]> {
  let summary = "SwiGLU experts picked per token, weighted and summed";
  let description = [{
    The expert half of an MoE block, given each token's picks:

    ```
    y_t = sum_j weights[t, j] * (SiLU(x_t W1_e^T) * (x_t W3_e^T)) W2_e^T,
          e = indices[t, j]
    ```

    A pick whose index lies outside `[0, E)` adds nothing.

    Operands: `x` `[T, N]`, `indices` `[T, K]` i32, `weights` `[T, K]` f32,
    `w1`, `w3` `[E, I, N]` and `w2` `[E, N, I]`, bf16 or f32. The result is
    `[T, N]`
    with the element type of `x`. `hymir-fuse-moe-routing` fuses it with the
    routing that made `indices` and `weights` when that is a softmax, a
    `hymir.top_k` and optionally a renormalisation; otherwise it lays the
    picks out for the grouped expert GEMMs with `hymir.moe_layout`.
  }];
  let arguments = (ins Hymir_Tensor:$x, Hymir_Tensor:$indices,
                       Hymir_Tensor:$weights, Hymir_Tensor:$w1,
                       Hymir_Tensor:$w3, Hymir_Tensor:$w2);
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{
    $x `,` $indices `,` $weights `,` $w1 `,` $w3 `,` $w2 attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// MoE building blocks (hymir-fuse-moe-routing)
//===----------------------------------------------------------------------===//

def Hymir_MoeRouteOp : Hymir_Op<"moe_route", [Pure]> {
  let summary = "Fused MoE routing: softmax, top-k, weights and the token permutation";
  let description = [{
    The routing half of `hymir.moe` after the router projection, fused into
    one step that also lays the tokens out for grouped expert GEMMs:

    ```
    p       = softmax(logits)              # [T, E], f32
    w, idx  = topk(p, top_k)               # ties: the lower expert index wins
    w       = w / sum(w)                   # only when renormalize
    ```

    Every (token, choice) pair gets one row of a grouped layout in which the
    rows of expert e form the group `[offsets[e], offsets[e + 1])`, whose
    size is the expert's pair count rounded up to a multiple of `tile` (a
    GEMM tile never straddles two experts). The padding rows close each
    group. The order of the pairs within a group is not specified (the cpu
    lowering orders them by token, then by choice; the cuda one places them
    with atomics); nothing computed from the layout depends on it.

    Results:
    - `sorted_tokens` `[T * top_k + E * (tile - 1)]` i32: the token of each
      row of the layout, -1 for padding and for the unused tail;
    - `offsets` `[E + 1]` i32: where each expert's group starts;
      `offsets[E]` is the number of rows used;
    - `slots` `[T, top_k]` i32: the row of each (token, choice): the inverse
      permutation;
    - `weights` `[T, top_k]` f32: the routing weights.

    Operand: the router scores `logits` `[T, E]` in f32 (`x @ router^T`,
    products in true fp32). `top_k` is in `[1, E]`, `tile` in `[1, 1024]`.
  }];
  let arguments = (ins Hymir_Tensor:$logits, I64Attr:$top_k,
                       DefaultValuedAttr<BoolAttr, "true">:$renormalize,
                       DefaultValuedAttr<I64Attr, "64">:$tile);
  let results = (outs Hymir_Tensor:$sorted_tokens, Hymir_Tensor:$offsets,
                      Hymir_Tensor:$slots, Hymir_Tensor:$weights);
  let assemblyFormat = [{
    $logits attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hymir_MoeLayoutOp : Hymir_Op<"moe_layout", [Pure]> {
  let summary = "The grouped layout of given expert picks";
  let description = [{
    The layout half of `hymir.moe_route` for picks made elsewhere: from
    `indices` `[T, K]` i32, the same `sorted_tokens`
    `[T * K + E * (tile - 1)]`, `offsets` `[E + 1]` and `slots` `[T, K]` as
    `hymir.moe_route` (see there). `num_experts` is E, in `[1, 2^31 - 2]`
    (the offsets are i32), and `tile` is in `[1, 1024]`. A pick whose index
    lies outside `[0, E)` gets no row: its slot is -1.
  }];
  let arguments = (ins Hymir_Tensor:$indices, I64Attr:$num_experts,
                       DefaultValuedAttr<I64Attr, "64">:$tile);
  let results = (outs Hymir_Tensor:$sorted_tokens, Hymir_Tensor:$offsets,
                      Hymir_Tensor:$slots);
  let assemblyFormat = [{
    $indices attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hymir_MoeExpertsOp : Hymir_Op<"moe_experts", [Pure]> {
  let summary = "Grouped SwiGLU experts over a routed layout, with the weighted combine";
  let description = [{
    The expert half of `hymir.moe`, on the layout `hymir.moe_route` makes:
    for each row `r` of expert `e`'s group with `t = sorted_tokens[r] >= 0`,

    ```
    o_r = (SiLU(x_t W1_e^T) * (x_t W3_e^T)) W2_e^T
    y_t = sum_j weights[t, j] * o_{slots[t, j]}
    ```

    i.e. a grouped GEMM for W1 and W3 with the SwiGLU in its epilogue, a
    grouped GEMM for W2, and the weighted combine of each token's `top_k`
    rows.

    Operands: `x` `[T, N]`; `sorted_tokens` `[P]`, `offsets` `[E + 1]`,
    `slots` `[T, K]` i32 and `weights` `[T, K]` f32 from `hymir.moe_route`;
    `w1`, `w3` `[E, I, N]` and `w2` `[E, N, I]`, bf16 or f32. The result is
    `[T, N]` with the element type of `x`.
  }];
  let arguments = (ins Hymir_Tensor:$x, Hymir_Tensor:$sorted_tokens,
                       Hymir_Tensor:$offsets, Hymir_Tensor:$slots,
                       Hymir_Tensor:$weights, Hymir_Tensor:$w1,
                       Hymir_Tensor:$w3, Hymir_Tensor:$w2);
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{
    $x `,` $sorted_tokens `,` $offsets `,` $slots `,` $weights `,` $w1 `,` $w3
    `,` $w2 attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

// The ops below appear in SPMD programs: one program runs on every device of
// a group, each on its own shard of the data. hymir-shard inserts them; on a
// single device they are the identity.

def Hymir_AllReduceOp : Hymir_Op<"all_reduce", [Pure]> {
  let summary = "Element-wise sum of a tensor over the devices of the group";
  let description = [{
    Every device contributes its `x`; every device receives the element-wise
    sum of all of them. A bf16 sum may be rounded after each addition, in an
    order the collective library chooses.

    Operands: `x`, bf16 or f32. The result has the type of `x`.
  }];
  let arguments = (ins Hymir_Tensor:$x);
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{
    $x attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hymir_AllGatherOp : Hymir_Op<"all_gather", [Pure]> {
  let summary = "Concatenation of every device's tensor along one dimension";
  let description = [{
    Device `r` contributes `x`; every device receives the concatenation of all
    the contributions in device order along `dim`, so `result` dim `dim` is
    `devices * x.shape[dim]` and every other dimension equals `x`'s.

    Operands: `x`, bf16 or f32, with a static size along `dim`. The result has
    the element type of `x`.
  }];
  let arguments = (ins Hymir_Tensor:$x, I64Attr:$dim);
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{
    $x attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hymir_ReduceScatterOp : Hymir_Op<"reduce_scatter", [Pure]> {
  let summary = "Element-wise sum over the devices, each keeping its part along one dimension";
  let description = [{
    Every device contributes its whole `x`; device `r` of `n` receives part
    `r` of the element-wise sum along `dim`: `result` dim `dim` is
    `x.shape[dim] / n` and every other dimension equals `x`'s. It is
    `hymir.all_reduce` followed by each device taking its part, moving half
    the bytes: `hymir-shard` inserts it where a partial value (a
    row-parallel product) feeds a consumer that keeps a split. A bf16 sum
    may be rounded after each addition, in an order the collective library
    chooses.

    Operands: `x`, bf16 or f32, with a static size along `dim`. The result
    has the element type of `x`.
  }];
  let arguments = (ins Hymir_Tensor:$x, I64Attr:$dim);
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{
    $x attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hymir_AllToAllOp : Hymir_Op<"all_to_all", [Pure]> {
  let summary = "Rows of a tensor exchanged between the devices, a variable count per peer";
  let description = [{
    Device `r` sends rows `[send_offsets[p], send_offsets[p + 1])` of `x`
    (dim 0) to device `p`, for every `p` of the `n` devices
    (`send_offsets` has `n + 1` entries, non-decreasing, starting at 0). The
    `result` of device `r` holds the rows received, in device order: those
    of device `p` at `[recv_offsets[p], recv_offsets[p + 1])`, where
    `recv_offsets[0] = 0` and `recv_offsets[p + 1] - recv_offsets[p]` is the
    count device `p` sent to `r`. Rows past `recv_offsets[n]` are zero.

    The result has the type of `x`: its dim 0 is the capacity of both sides.
    A device that sends rows past the end of `x` or receives more rows than
    the capacity gets a run-time error. On one device rows
    `[0, send_offsets[1])` come back in place and the rest are zero.
    `hymir-shard` uses it for the token dispatch and combine of expert
    parallelism, with the offsets taken from the routing's per-expert
    offsets (`hymir.moe_route`).

    Operands: `x` of rank >= 1 with static dims after dim 0, bf16, f32 or
    i32; `send_offsets` `[n + 1]` i32 with a static size. Results: `result`
    (the type of `x`) and `recv_offsets` (the type of `send_offsets`).
  }];
  let arguments = (ins Hymir_Tensor:$x, Hymir_Tensor:$send_offsets);
  let results = (outs Hymir_Tensor:$result, Hymir_Tensor:$recv_offsets);
  let assemblyFormat = [{
    $x `,` $send_offsets attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hymir_DeviceIndexOp : Hymir_Op<"device_index", [Pure]> {
  let summary = "The index of the device running the SPMD program";
  let description = [{
    `result` `[1]` i32 holds the index of the device in its group (0 to
    N - 1; in a job of several processes, the global index): the one value
    that differs between the devices running the same program.
    `hymir-shard` uses it where a device must pick its own part of a
    replicated value (its experts among all the routing's picks). On one
    device it is 0.
  }];
  let results = (outs Hymir_Tensor:$result);
  let assemblyFormat = [{ attr-dict `:` type($result) }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// token_guard (internal)
//===----------------------------------------------------------------------===//

def Hymir_TokenGuardOp : Hymir_Op<"token_guard", [RecursiveMemoryEffects,
                                                   NoTerminator, SingleBlock]> {
  let summary = "Work that runs only for a range of token counts";
  let description = [{
    Internal: emitted by the kernel passes that pick a kernel per call
    (`hymir-lightning-to-gpu`, `hymir-moe-experts-to-gpu`) around the launches
    of one choice. The body runs only when the entry's token count (its one
    dynamic size) lies in `[at_least, at_most]`, `at_most = -1` meaning no
    upper bound. `hymir-lower-to-plan` gives each launch inside the range as
    its guard; the runtime skips the launch for other token counts.

    ```mlir
    hymir.token_guard tokens in [0, 16] {
      gpu.launch_func @decode::@kernel ...
    }
    ```
  }];
  let arguments = (ins I64Attr:$at_least,
                       DefaultValuedAttr<I64Attr, "-1">:$at_most);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `tokens` `in` ` ` `[` $at_least `,` $at_most `]` attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// check_slot (internal)
//===----------------------------------------------------------------------===//

def Hymir_CheckSlotOp : Hymir_Op<"check_slot", []> {
  let summary = "The status words of a run-time check that kernels flag";
  let description = [{
    Internal: made by a lowering whose op has a condition on values that only
    the run can see (`hymir-lower-to-linalg`: every id of `hymir.embedding`
    lies in `[0, V)`). `slot` is two i64 words, which `hymir-lower-to-plan`
    turns into a `hymir_plan.check` of the entry: the runtime sets them to
    `(INT64_MAX, 0)` before a call, reads them after it and turns a flagged
    check into the call's error. A kernel that finds a bad `value` (an i32) at
    flat position `p` of the checked tensor, valid values being
    `[0, bound)`, flags the check through `flagRunCheck`
    (`hymir/Transforms/RunChecks.h`): word 0 becomes the minimum of itself
    and `min(p, 2^31 - 2) << 32 | (value as u32)`, word 1 the maximum of
    itself and `bound`, both by atomics, so the error names the lowest bad
    position whatever order the threads run in.

    `checked_op` names the op whose condition it is, `tensor` the checked
    tensor (an entry argument's name, or empty when the tensor is computed:
    the message then gives the op's location), `value` what one element of
    it is (`"id"`).

    ```mlir
    %slot = hymir.check_slot "hymir.embedding" tensor "ids" value "id" : memref<2xi64>
    ```
  }];
  let arguments = (ins StrAttr:$checked_op, StrAttr:$tensor, StrAttr:$value);
  let results = (outs Res<MemRefRankOf<[I64], [1]>, "", [MemAlloc]>:$slot);
  let assemblyFormat = [{
    $checked_op `tensor` $tensor `value` $value attr-dict `:` type($slot)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// tensor_map (internal)
//===----------------------------------------------------------------------===//

def Hymir_TensorMapOp : Hymir_Op<"tensor_map", []> {
  let summary = "A TMA tensor map of a global tensor, encoded by the runtime";
  let description = [{
    Internal: made by the Hopper kernel lowerings for a tensor that a kernel
    reads with TMA (`cp.async.bulk.tensor`). `map` is 128 bytes of device
    memory (16 i64 words, 64-byte aligned) that will hold the `CUtensorMap`
    of `src`; the kernel receives the buffer as an ordinary argument and uses
    its address as the TMA descriptor.

    `hymir-lower-to-plan` turns the op into an arena buffer and a
    `hymir_plan.tensor_map` step placed before every launch that follows it.
    At each call the runtime encodes, with `cuTensorMapEncodeTiled`, a tiled
    map of `src` as the call's buffers place it: the dims and byte strides
    of the view at run time (given to the driver innermost first), element
    strides 1, no interleave, the given `swizzle`, L2 promotion of 128 bytes
    and out-of-bounds elements filled with zeros; it copies the 128 bytes
    into `map` on the call's stream before the launches (and skips the copy
    when they equal the bytes last written there). Only the cuda target
    runs tensor maps.

    `box` is the box a TMA load moves, one extent per dim of `src` in its
    order (outermost first), each in `[1, 256]`. The innermost extent times
    the element size must be a multiple of 16 bytes and, with a swizzle, at
    most the swizzle span. `swizzle` is 0 (none), 32, 64 or 128 bytes. `src`
    has rank 1 to 5 and an innermost stride of 1; the runtime also requires
    its address and outer byte strides to be multiples of 16.

    ```mlir
    %map = hymir.tensor_map %q box [1, 16, 8, 64] swizzle 128
        : memref<?x?x8x64xbf16> -> memref<16xi64>
    ```
  }];
  let arguments = (ins AnyNon0RankedMemRef:$src,
                       DenseI64ArrayAttr:$box, I64Attr:$swizzle);
  let results = (outs Res<MemRefRankOf<[I64], [1]>, "", [MemAlloc]>:$map);
  let assemblyFormat = [{
    $src `box` $box `swizzle` $swizzle attr-dict `:` type($src) `->`
    type($map)
  }];
  let hasVerifier = 1;
}

#endif // HYMIR_DIALECT_HYMIR_IR_HYMIROPS_TD
