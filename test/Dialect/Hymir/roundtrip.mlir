// RUN: hymir-opt %s | hymir-opt | FileCheck %s
// RUN: hymir-opt %s --mlir-print-op-generic | hymir-opt | FileCheck %s

// Every hymir op in its custom form, with and without its optional operand
// and default-valued attributes. An attribute equal to its default is not
// printed back, so those checks end the operand list with ` : (`.

//===----------------------------------------------------------------------===//
// lightning_attention
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @lightning_attention_default
// CHECK: %{{.*}}, %{{.*}} = hymir.lightning_attention %arg0, %arg1, %arg2, %arg3 : (tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<4xf32>) -> (tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>)
func.func @lightning_attention_default(
    %q: tensor<2x?x4x16xbf16>, %k: tensor<2x?x4x16xbf16>,
    %v: tensor<2x?x4x16xbf16>, %slopes: tensor<4xf32>)
    -> (tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>) {
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>,
         tensor<4xf32>) -> (tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>)
  return %out, %state : tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>
}

// CHECK-LABEL: func.func @lightning_attention_initial_state
// CHECK: %{{.*}}, %{{.*}} = hymir.lightning_attention %arg0, %arg1, %arg2, %arg3 initial_state(%arg4) {block_size = 64 : i64} : (tensor<2x8x4x16xf32>, tensor<2x8x4x16xf32>, tensor<2x8x4x16xf32>, tensor<4xf32>, tensor<2x4x16x16xf32>) -> (tensor<2x8x4x16xf32>, tensor<2x4x16x16xf32>)
func.func @lightning_attention_initial_state(
    %q: tensor<2x8x4x16xf32>, %k: tensor<2x8x4x16xf32>,
    %v: tensor<2x8x4x16xf32>, %slopes: tensor<4xf32>,
    %s0: tensor<2x4x16x16xf32>)
    -> (tensor<2x8x4x16xf32>, tensor<2x4x16x16xf32>) {
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      initial_state(%s0) {block_size = 64 : i64}
      : (tensor<2x8x4x16xf32>, tensor<2x8x4x16xf32>, tensor<2x8x4x16xf32>,
         tensor<4xf32>, tensor<2x4x16x16xf32>)
      -> (tensor<2x8x4x16xf32>, tensor<2x4x16x16xf32>)
  return %out, %state : tensor<2x8x4x16xf32>, tensor<2x4x16x16xf32>
}

// A decode step: one token, resumed from a state, default block size.
// CHECK-LABEL: func.func @lightning_attention_decode
// CHECK: %{{.*}}, %{{.*}} = hymir.lightning_attention %arg0, %arg1, %arg2, %arg3 initial_state(%arg4) : (tensor<1x1x4x16xbf16>, tensor<1x1x4x16xbf16>, tensor<1x1x4x16xbf16>, tensor<4xf32>, tensor<1x4x16x16xf32>) -> (tensor<1x1x4x16xbf16>, tensor<1x4x16x16xf32>)
func.func @lightning_attention_decode(
    %q: tensor<1x1x4x16xbf16>, %k: tensor<1x1x4x16xbf16>,
    %v: tensor<1x1x4x16xbf16>, %slopes: tensor<4xf32>,
    %s0: tensor<1x4x16x16xf32>)
    -> (tensor<1x1x4x16xbf16>, tensor<1x4x16x16xf32>) {
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      initial_state(%s0)
      : (tensor<1x1x4x16xbf16>, tensor<1x1x4x16xbf16>, tensor<1x1x4x16xbf16>,
         tensor<4xf32>, tensor<1x4x16x16xf32>)
      -> (tensor<1x1x4x16xbf16>, tensor<1x4x16x16xf32>)
  return %out, %state : tensor<1x1x4x16xbf16>, tensor<1x4x16x16xf32>
}

// block_size spelled at its default value (256) is elided when printed.
// CHECK-LABEL: func.func @lightning_attention_explicit_default
// CHECK: hymir.lightning_attention %arg0, %arg0, %arg0, %arg1 : (
func.func @lightning_attention_explicit_default(
    %q: tensor<1x?x2x8xf32>, %slopes: tensor<2xf32>)
    -> (tensor<1x?x2x8xf32>, tensor<1x2x8x8xf32>) {
  %out, %state = hymir.lightning_attention %q, %q, %q, %slopes
      {block_size = 256 : i64}
      : (tensor<1x?x2x8xf32>, tensor<1x?x2x8xf32>, tensor<1x?x2x8xf32>,
         tensor<2xf32>) -> (tensor<1x?x2x8xf32>, tensor<1x2x8x8xf32>)
  return %out, %state : tensor<1x?x2x8xf32>, tensor<1x2x8x8xf32>
}

//===----------------------------------------------------------------------===//
// softmax_attention
//===----------------------------------------------------------------------===//

// Grouped-query attention (Hq = 8, Hkv = 2) with dynamic token counts.
// CHECK-LABEL: func.func @softmax_attention_causal_gqa
// CHECK: %{{.*}} = hymir.softmax_attention %arg0, %arg1, %arg2 {causal = true, scale = 2.500000e-01 : f32} : (tensor<2x?x8x16xbf16>, tensor<2x?x2x16xbf16>, tensor<2x?x2x16xbf16>) -> tensor<2x?x8x16xbf16>
func.func @softmax_attention_causal_gqa(
    %q: tensor<2x?x8x16xbf16>, %k: tensor<2x?x2x16xbf16>,
    %v: tensor<2x?x2x16xbf16>) -> tensor<2x?x8x16xbf16> {
  %out = hymir.softmax_attention %q, %k, %v {causal = true, scale = 0.25 : f32}
      : (tensor<2x?x8x16xbf16>, tensor<2x?x2x16xbf16>, tensor<2x?x2x16xbf16>)
      -> tensor<2x?x8x16xbf16>
  return %out : tensor<2x?x8x16xbf16>
}

// CHECK-LABEL: func.func @softmax_attention_non_causal
// CHECK: %{{.*}} = hymir.softmax_attention %arg0, %arg1, %arg2 {causal = false, scale = 8.838830e-02 : f32} : (tensor<1x6x4x128xf32>, tensor<1x3x4x128xf32>, tensor<1x3x4x128xf32>) -> tensor<1x6x4x128xf32>
func.func @softmax_attention_non_causal(
    %q: tensor<1x6x4x128xf32>, %k: tensor<1x3x4x128xf32>,
    %v: tensor<1x3x4x128xf32>) -> tensor<1x6x4x128xf32> {
  %out = hymir.softmax_attention %q, %k, %v
      {causal = false, scale = 0.0883883 : f32}
      : (tensor<1x6x4x128xf32>, tensor<1x3x4x128xf32>, tensor<1x3x4x128xf32>)
      -> tensor<1x6x4x128xf32>
  return %out : tensor<1x6x4x128xf32>
}

// A decode step against a KV cache: T = 1, S dynamic.
// CHECK-LABEL: func.func @softmax_attention_decode
// CHECK: %{{.*}} = hymir.softmax_attention %arg0, %arg1, %arg2 {causal = true, scale = 1.250000e-01 : f32} : (tensor<1x1x4x64xbf16>, tensor<1x?x4x64xbf16>, tensor<1x?x4x64xbf16>) -> tensor<1x1x4x64xbf16>
func.func @softmax_attention_decode(
    %q: tensor<1x1x4x64xbf16>, %k: tensor<1x?x4x64xbf16>,
    %v: tensor<1x?x4x64xbf16>) -> tensor<1x1x4x64xbf16> {
  %out = hymir.softmax_attention %q, %k, %v {causal = true, scale = 0.125 : f32}
      : (tensor<1x1x4x64xbf16>, tensor<1x?x4x64xbf16>, tensor<1x?x4x64xbf16>)
      -> tensor<1x1x4x64xbf16>
  return %out : tensor<1x1x4x64xbf16>
}

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @rope_full_f32
// CHECK: %{{.*}} = hymir.rope %arg0, %arg1 {rotary_dim = 16 : i64, theta = 1.000000e+04 : f64} : (tensor<1x4x2x16xf32>, tensor<1x4xi32>) -> tensor<1x4x2x16xf32>
func.func @rope_full_f32(%x: tensor<1x4x2x16xf32>, %pos: tensor<1x4xi32>)
    -> tensor<1x4x2x16xf32> {
  %y = hymir.rope %x, %pos {rotary_dim = 16 : i64, theta = 10000.0 : f64}
      : (tensor<1x4x2x16xf32>, tensor<1x4xi32>) -> tensor<1x4x2x16xf32>
  return %y : tensor<1x4x2x16xf32>
}

// Only the first half of each head rotates; T is dynamic.
// CHECK-LABEL: func.func @rope_partial_bf16
// CHECK: %{{.*}} = hymir.rope %arg0, %arg1 {rotary_dim = 32 : i64, theta = 1.000000e+07 : f64} : (tensor<2x?x4x64xbf16>, tensor<2x?xi32>) -> tensor<2x?x4x64xbf16>
func.func @rope_partial_bf16(%x: tensor<2x?x4x64xbf16>, %pos: tensor<2x?xi32>)
    -> tensor<2x?x4x64xbf16> {
  %y = hymir.rope %x, %pos {rotary_dim = 32 : i64, theta = 1.0e+07 : f64}
      : (tensor<2x?x4x64xbf16>, tensor<2x?xi32>) -> tensor<2x?x4x64xbf16>
  return %y : tensor<2x?x4x64xbf16>
}

//===----------------------------------------------------------------------===//
// rms_norm
//===----------------------------------------------------------------------===//

// bf16 activations with an f32 weight, rank 3, dynamic T.
// CHECK-LABEL: func.func @rms_norm_bf16
// CHECK: %{{.*}} = hymir.rms_norm %arg0, %arg1 {epsilon = 9.99999974E-6 : f32} : (tensor<2x?x32xbf16>, tensor<32xf32>) -> tensor<2x?x32xbf16>
func.func @rms_norm_bf16(%x: tensor<2x?x32xbf16>, %w: tensor<32xf32>)
    -> tensor<2x?x32xbf16> {
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f32}
      : (tensor<2x?x32xbf16>, tensor<32xf32>) -> tensor<2x?x32xbf16>
  return %y : tensor<2x?x32xbf16>
}

// CHECK-LABEL: func.func @rms_norm_rank1_f32
// CHECK: %{{.*}} = hymir.rms_norm %arg0, %arg1 {epsilon = 1.000000e-01 : f32} : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
func.func @rms_norm_rank1_f32(%x: tensor<8xf32>, %w: tensor<8xf32>)
    -> tensor<8xf32> {
  %y = hymir.rms_norm %x, %w {epsilon = 0.1 : f32}
      : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

//===----------------------------------------------------------------------===//
// linear
//===----------------------------------------------------------------------===//

// precision defaults to "bf16" and is not printed.
// CHECK-LABEL: func.func @linear_default
// CHECK: %{{.*}} = hymir.linear %arg0, %arg1 : (tensor<2x?x16xbf16>, tensor<32x16xbf16>) -> tensor<2x?x32xbf16>
func.func @linear_default(%x: tensor<2x?x16xbf16>, %w: tensor<32x16xbf16>)
    -> tensor<2x?x32xbf16> {
  %y = hymir.linear %x, %w
      : (tensor<2x?x16xbf16>, tensor<32x16xbf16>) -> tensor<2x?x32xbf16>
  return %y : tensor<2x?x32xbf16>
}

// CHECK-LABEL: func.func @linear_f32_precision
// CHECK: %{{.*}} = hymir.linear %arg0, %arg1 {precision = "f32"} : (tensor<?x16xf32>, tensor<100x16xf32>) -> tensor<?x100xf32>
func.func @linear_f32_precision(%x: tensor<?x16xf32>, %w: tensor<100x16xf32>)
    -> tensor<?x100xf32> {
  %y = hymir.linear %x, %w {precision = "f32"}
      : (tensor<?x16xf32>, tensor<100x16xf32>) -> tensor<?x100xf32>
  return %y : tensor<?x100xf32>
}

// An explicit "bf16" is the default and is elided; x and weight may differ
// in element type.
// CHECK-LABEL: func.func @linear_explicit_default_mixed
// CHECK: %{{.*}} = hymir.linear %arg0, %arg1 : (tensor<16xf32>, tensor<8x16xbf16>) -> tensor<8xf32>
func.func @linear_explicit_default_mixed(%x: tensor<16xf32>,
                                         %w: tensor<8x16xbf16>)
    -> tensor<8xf32> {
  %y = hymir.linear %x, %w {precision = "bf16"}
      : (tensor<16xf32>, tensor<8x16xbf16>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// A bf16 projection may return its f32 accumulator (router logits, LM head).
// CHECK-LABEL: func.func @linear_f32_result
// CHECK: %{{.*}} = hymir.linear %arg0, %arg1 {precision = "f32"} : (tensor<4x16xbf16>, tensor<100x16xbf16>) -> tensor<4x100xf32>
func.func @linear_f32_result(%x: tensor<4x16xbf16>, %w: tensor<100x16xbf16>)
    -> tensor<4x100xf32> {
  %y = hymir.linear %x, %w {precision = "f32"}
      : (tensor<4x16xbf16>, tensor<100x16xbf16>) -> tensor<4x100xf32>
  return %y : tensor<4x100xf32>
}

//===----------------------------------------------------------------------===//
// embedding
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @embedding_bf16
// CHECK: %{{.*}} = hymir.embedding %arg0, %arg1 : (tensor<100x16xbf16>, tensor<2x?xi32>) -> tensor<2x?x16xbf16>
func.func @embedding_bf16(%table: tensor<100x16xbf16>, %ids: tensor<2x?xi32>)
    -> tensor<2x?x16xbf16> {
  %y = hymir.embedding %table, %ids
      : (tensor<100x16xbf16>, tensor<2x?xi32>) -> tensor<2x?x16xbf16>
  return %y : tensor<2x?x16xbf16>
}

// CHECK-LABEL: func.func @embedding_f32_rank1
// CHECK: %{{.*}} = hymir.embedding %arg0, %arg1 : (tensor<10x4xf32>, tensor<3xi32>) -> tensor<3x4xf32>
func.func @embedding_f32_rank1(%table: tensor<10x4xf32>, %ids: tensor<3xi32>)
    -> tensor<3x4xf32> {
  %y = hymir.embedding %table, %ids
      : (tensor<10x4xf32>, tensor<3xi32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// A single id (rank-0 ids) gathers a single row.
// CHECK-LABEL: func.func @embedding_scalar_id
// CHECK: %{{.*}} = hymir.embedding %arg0, %arg1 : (tensor<10x4xf32>, tensor<i32>) -> tensor<4xf32>
func.func @embedding_scalar_id(%table: tensor<10x4xf32>, %ids: tensor<i32>)
    -> tensor<4xf32> {
  %y = hymir.embedding %table, %ids
      : (tensor<10x4xf32>, tensor<i32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

//===----------------------------------------------------------------------===//
// moe
//===----------------------------------------------------------------------===//

// renormalize defaults to true; an f32 router with bf16 experts.
// CHECK-LABEL: func.func @moe_default
// CHECK: %{{.*}} = hymir.moe %arg0, %arg1, %arg2, %arg3, %arg4 {top_k = 2 : i64} : (tensor<?x16xbf16>, tensor<4x16xf32>, tensor<4x32x16xbf16>, tensor<4x32x16xbf16>, tensor<4x16x32xbf16>) -> tensor<?x16xbf16>
func.func @moe_default(%x: tensor<?x16xbf16>, %router: tensor<4x16xf32>,
                       %w1: tensor<4x32x16xbf16>, %w3: tensor<4x32x16xbf16>,
                       %w2: tensor<4x16x32xbf16>) -> tensor<?x16xbf16> {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x16xbf16>, tensor<4x16xf32>, tensor<4x32x16xbf16>,
         tensor<4x32x16xbf16>, tensor<4x16x32xbf16>) -> tensor<?x16xbf16>
  return %y : tensor<?x16xbf16>
}

// CHECK-LABEL: func.func @moe_no_renormalize
// CHECK: %{{.*}} = hymir.moe %arg0, %arg1, %arg2, %arg3, %arg4 {renormalize = false, top_k = 4 : i64} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x6x8xf32>, tensor<4x8x6xf32>) -> tensor<3x8xf32>
func.func @moe_no_renormalize(%x: tensor<3x8xf32>, %router: tensor<4x8xf32>,
                              %w1: tensor<4x6x8xf32>, %w3: tensor<4x6x8xf32>,
                              %w2: tensor<4x8x6xf32>) -> tensor<3x8xf32> {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 4 : i64, renormalize = false}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// renormalize = true is the default and is elided.
// CHECK-LABEL: func.func @moe_explicit_default
// CHECK: %{{.*}} = hymir.moe %arg0, %arg1, %arg2, %arg3, %arg4 {top_k = 1 : i64} : (
func.func @moe_explicit_default(%x: tensor<3x8xf32>, %router: tensor<4x8xf32>,
                                %w1: tensor<4x6x8xf32>, %w3: tensor<4x6x8xf32>,
                                %w2: tensor<4x8x6xf32>) -> tensor<3x8xf32> {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 1 : i64, renormalize = true}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

//===----------------------------------------------------------------------===//
// cispo_loss
//===----------------------------------------------------------------------===//

// unified_mask defaults to false; bf16 activations, dynamic T.
// CHECK-LABEL: func.func @cispo_loss_default
// CHECK: %{{.*}} = hymir.cispo_loss %arg0, %arg1, %arg2, %arg3, %arg4, %arg5 {eps_high = 2.000000e-01 : f32, eps_low = 1.000000e+00 : f32} : (tensor<?x16xbf16>, tensor<100x16xbf16>, tensor<?xi32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) -> (tensor<f32>, tensor<?xf32>, tensor<?x16xbf16>, tensor<100x16xbf16>)
func.func @cispo_loss_default(
    %hidden: tensor<?x16xbf16>, %lm_head: tensor<100x16xbf16>,
    %targets: tensor<?xi32>, %logp_old: tensor<?xf32>,
    %adv: tensor<?xf32>, %mask: tensor<?xf32>)
    -> (tensor<f32>, tensor<?xf32>, tensor<?x16xbf16>, tensor<100x16xbf16>) {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask {eps_low = 1.0 : f32, eps_high = 0.2 : f32}
      : (tensor<?x16xbf16>, tensor<100x16xbf16>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x16xbf16>, tensor<100x16xbf16>)
  return %loss, %logp, %dh, %dw
      : tensor<f32>, tensor<?xf32>, tensor<?x16xbf16>, tensor<100x16xbf16>
}

// CHECK-LABEL: func.func @cispo_loss_unified_mask
// CHECK: %{{.*}} = hymir.cispo_loss %arg0, %arg1, %arg2, %arg3, %arg4, %arg5 {eps_high = 2.800000e-01 : f32, eps_low = 2.000000e-01 : f32, unified_mask = true} : (tensor<5x8xf32>, tensor<10x8xf32>, tensor<5xi32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) -> (tensor<f32>, tensor<5xf32>, tensor<5x8xf32>, tensor<10x8xf32>)
func.func @cispo_loss_unified_mask(
    %hidden: tensor<5x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<5xi32>, %logp_old: tensor<5xf32>,
    %adv: tensor<5xf32>, %mask: tensor<5xf32>)
    -> (tensor<f32>, tensor<5xf32>, tensor<5x8xf32>, tensor<10x8xf32>) {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 0.2 : f32, eps_high = 0.28 : f32, unified_mask = true}
      : (tensor<5x8xf32>, tensor<10x8xf32>, tensor<5xi32>, tensor<5xf32>,
         tensor<5xf32>, tensor<5xf32>)
      -> (tensor<f32>, tensor<5xf32>, tensor<5x8xf32>, tensor<10x8xf32>)
  return %loss, %logp, %dh, %dw
      : tensor<f32>, tensor<5xf32>, tensor<5x8xf32>, tensor<10x8xf32>
}

// unified_mask = false is the default and is elided.
// CHECK-LABEL: func.func @cispo_loss_explicit_default
// CHECK: %{{.*}} = hymir.cispo_loss %arg0, %arg1, %arg2, %arg3, %arg4, %arg5 {eps_high = 2.000000e-01 : f32, eps_low = 2.000000e-01 : f32} : (
func.func @cispo_loss_explicit_default(
    %hidden: tensor<5x8xf32>, %lm_head: tensor<10x8xf32>,
    %targets: tensor<5xi32>, %logp_old: tensor<5xf32>,
    %adv: tensor<5xf32>, %mask: tensor<5xf32>)
    -> (tensor<f32>, tensor<5xf32>, tensor<5x8xf32>, tensor<10x8xf32>) {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask
      {eps_low = 0.2 : f32, eps_high = 0.2 : f32, unified_mask = false}
      : (tensor<5x8xf32>, tensor<10x8xf32>, tensor<5xi32>, tensor<5xf32>,
         tensor<5xf32>, tensor<5xf32>)
      -> (tensor<f32>, tensor<5xf32>, tensor<5x8xf32>, tensor<10x8xf32>)
  return %loss, %logp, %dh, %dw
      : tensor<f32>, tensor<5xf32>, tensor<5x8xf32>, tensor<10x8xf32>
}

// CHECK-LABEL: func.func @all_reduce
// CHECK: %{{.*}} = hymir.all_reduce %arg0 : (tensor<?x64xbf16>) -> tensor<?x64xbf16>
func.func @all_reduce(%x: tensor<?x64xbf16>) -> tensor<?x64xbf16> {
  %y = hymir.all_reduce %x : (tensor<?x64xbf16>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// CHECK-LABEL: func.func @all_gather
// CHECK: %{{.*}} = hymir.all_gather %arg0 {dim = 1 : i64} : (tensor<?x16xf32>) -> tensor<?x64xf32>
func.func @all_gather(%x: tensor<?x16xf32>) -> tensor<?x64xf32> {
  %y = hymir.all_gather %x {dim = 1 : i64} : (tensor<?x16xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @top_k_and_routed_experts
// CHECK: %[[V:.*]], %[[I:.*]] = hymir.top_k %arg1 {k = 2 : i64} : (tensor<?x4xbf16>) -> (tensor<?x2xbf16>, tensor<?x2xi32>)
// CHECK: %{{.*}}, %{{.*}}, %{{.*}} = hymir.moe_layout %[[I]] {num_experts = 4 : i64} : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
// CHECK: hymir.routed_experts %arg0, %[[I]], %arg5, %arg2, %arg3, %arg4 : (tensor<?x32xbf16>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<4x16x32xbf16>, tensor<4x16x32xbf16>, tensor<4x32x16xbf16>) -> tensor<?x32xbf16>
func.func @top_k_and_routed_experts(%x: tensor<?x32xbf16>, %scores: tensor<?x4xbf16>,
    %w1: tensor<4x16x32xbf16>, %w3: tensor<4x16x32xbf16>, %w2: tensor<4x32x16xbf16>,
    %gates: tensor<?x2xf32>) -> tensor<?x32xbf16> {
  %v, %i = hymir.top_k %scores {k = 2 : i64} : (tensor<?x4xbf16>) -> (tensor<?x2xbf16>, tensor<?x2xi32>)
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64, tile = 64 : i64}
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
  %y = hymir.routed_experts %x, %i, %gates, %w1, %w3, %w2
      : (tensor<?x32xbf16>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<4x16x32xbf16>, tensor<4x16x32xbf16>, tensor<4x32x16xbf16>)
      -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// CHECK-LABEL: func.func @moe_route_and_experts
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} = hymir.moe_route %arg5 {tile = 4 : i64, top_k = 2 : i64} : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
// CHECK: hymir.moe_experts %arg0, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %arg2, %arg3, %arg4 :
func.func @moe_route_and_experts(%x: tensor<?x32xbf16>, %router: tensor<4x32xf32>,
    %w1: tensor<4x16x32xbf16>, %w3: tensor<4x16x32xbf16>, %w2: tensor<4x32x16xbf16>,
    %logits: tensor<?x4xf32>) -> tensor<?x32xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 4 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x32xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xbf16>, tensor<4x16x32xbf16>, tensor<4x32x16xbf16>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// kv_cache_write, and softmax_attention over sequences of different lengths

// CHECK-LABEL: func.func @decode_through_cache
// CHECK: %[[C:.*]] = hymir.kv_cache_write %arg1, %arg2, %arg3 : (tensor<2x64x2x16xbf16>, tensor<2x1x2x16xbf16>, tensor<2xi32>) -> tensor<2x64x2x16xbf16>
// CHECK: hymir.softmax_attention %arg0, %[[C]], %[[C]] lengths(%arg3) {causal = true, scale = 2.500000e-01 : f32} : (tensor<2x1x8x16xbf16>, tensor<2x64x2x16xbf16>, tensor<2x64x2x16xbf16>, tensor<2xi32>) -> tensor<2x1x8x16xbf16>
func.func @decode_through_cache(%q: tensor<2x1x8x16xbf16>,
    %cache: tensor<2x64x2x16xbf16>, %kv: tensor<2x1x2x16xbf16>,
    %len: tensor<2xi32>) -> tensor<2x1x8x16xbf16> {
  %c = hymir.kv_cache_write %cache, %kv, %len
      : (tensor<2x64x2x16xbf16>, tensor<2x1x2x16xbf16>, tensor<2xi32>)
      -> tensor<2x64x2x16xbf16>
  %o = hymir.softmax_attention %q, %c, %c lengths(%len)
      {causal = true, scale = 0.25 : f32}
      : (tensor<2x1x8x16xbf16>, tensor<2x64x2x16xbf16>,
         tensor<2x64x2x16xbf16>, tensor<2xi32>) -> tensor<2x1x8x16xbf16>
  return %o : tensor<2x1x8x16xbf16>
}

// kv_cache_write that applies RoPE to its update (positions, rotary_dim,
// theta)

// CHECK-LABEL: func.func @cache_write_with_rope
// CHECK: hymir.kv_cache_write %arg0, %arg1, %arg2 positions(%arg3) {rotary_dim = 8 : i64, theta = 1.000000e+07 : f64} : (tensor<2x64x2x16xbf16>, tensor<2x1x2x16xbf16>, tensor<2xi32>, tensor<2x1xi32>) -> tensor<2x64x2x16xbf16>
func.func @cache_write_with_rope(%cache: tensor<2x64x2x16xbf16>,
    %k: tensor<2x1x2x16xbf16>, %len: tensor<2xi32>, %pos: tensor<2x1xi32>)
    -> tensor<2x64x2x16xbf16> {
  %c = hymir.kv_cache_write %cache, %k, %len positions(%pos)
      {rotary_dim = 8 : i64, theta = 1.0e7 : f64}
      : (tensor<2x64x2x16xbf16>, tensor<2x1x2x16xbf16>, tensor<2xi32>,
         tensor<2x1xi32>) -> tensor<2x64x2x16xbf16>
  return %c : tensor<2x64x2x16xbf16>
}
