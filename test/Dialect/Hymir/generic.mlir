// RUN: hymir-opt %s -split-input-file -verify-roundtrip | FileCheck %s

// The ops written in generic form with the contract names (op name, operand
// order, attribute names; see docs/architecture.md), as tests outside the
// project write them. Each must parse, verify and print in custom form.

// CHECK-LABEL: func.func @lightning_attention
// CHECK: %{{.*}}, %{{.*}} = hymir.lightning_attention %arg0, %arg1, %arg2, %arg3 {block_size = 64 : i64} : (tensor<1x?x4x16xbf16>, tensor<1x?x4x16xbf16>, tensor<1x?x4x16xbf16>, tensor<4xf32>) -> (tensor<1x?x4x16xbf16>, tensor<1x4x16x16xf32>)
func.func @lightning_attention(%q: tensor<1x?x4x16xbf16>,
                               %k: tensor<1x?x4x16xbf16>,
                               %v: tensor<1x?x4x16xbf16>,
                               %s: tensor<4xf32>) {
  %o:2 = "hymir.lightning_attention"(%q, %k, %v, %s) {block_size = 64 : i64}
      : (tensor<1x?x4x16xbf16>, tensor<1x?x4x16xbf16>, tensor<1x?x4x16xbf16>,
         tensor<4xf32>) -> (tensor<1x?x4x16xbf16>, tensor<1x4x16x16xf32>)
  return
}

// -----

// The fifth operand is the initial state; block_size takes its default.
// CHECK-LABEL: func.func @lightning_attention_initial_state
// CHECK: %{{.*}}, %{{.*}} = hymir.lightning_attention %arg0, %arg1, %arg2, %arg3 initial_state(%arg4) : (tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>, tensor<4xf32>, tensor<1x4x16x16xf32>) -> (tensor<1x1x4x16xf32>, tensor<1x4x16x16xf32>)
func.func @lightning_attention_initial_state(%q: tensor<1x1x4x16xf32>,
                                             %k: tensor<1x1x4x16xf32>,
                                             %v: tensor<1x1x4x16xf32>,
                                             %s: tensor<4xf32>,
                                             %s0: tensor<1x4x16x16xf32>) {
  %o:2 = "hymir.lightning_attention"(%q, %k, %v, %s, %s0)
      : (tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>,
         tensor<4xf32>, tensor<1x4x16x16xf32>)
      -> (tensor<1x1x4x16xf32>, tensor<1x4x16x16xf32>)
  return
}

// -----

// Inherent attributes may also be written as properties.
// CHECK-LABEL: func.func @lightning_attention_properties
// CHECK: hymir.lightning_attention %arg0, %arg0, %arg0, %arg1 {block_size = 32 : i64} : (
func.func @lightning_attention_properties(%q: tensor<1x2x2x8xf32>,
                                          %s: tensor<2xf32>) {
  %o:2 = "hymir.lightning_attention"(%q, %q, %q, %s) <{block_size = 32 : i64}>
      : (tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>,
         tensor<2xf32>) -> (tensor<1x2x2x8xf32>, tensor<1x2x8x8xf32>)
  return
}

// -----

// CHECK-LABEL: func.func @softmax_attention
// CHECK: %{{.*}} = hymir.softmax_attention %arg0, %arg1, %arg2 {causal = true, scale = 8.838830e-02 : f32} : (tensor<1x?x8x128xbf16>, tensor<1x?x2x128xbf16>, tensor<1x?x2x128xbf16>) -> tensor<1x?x8x128xbf16>
func.func @softmax_attention(%q: tensor<1x?x8x128xbf16>,
                             %k: tensor<1x?x2x128xbf16>,
                             %v: tensor<1x?x2x128xbf16>) {
  %o = "hymir.softmax_attention"(%q, %k, %v)
      {causal = true, scale = 0.0883883 : f32}
      : (tensor<1x?x8x128xbf16>, tensor<1x?x2x128xbf16>,
         tensor<1x?x2x128xbf16>) -> tensor<1x?x8x128xbf16>
  return
}

// -----

// CHECK-LABEL: func.func @rope
// CHECK: %{{.*}} = hymir.rope %arg0, %arg1 {rotary_dim = 64 : i64, theta = 1.000000e+07 : f64} : (tensor<1x?x4x128xbf16>, tensor<1x?xi32>) -> tensor<1x?x4x128xbf16>
func.func @rope(%x: tensor<1x?x4x128xbf16>, %pos: tensor<1x?xi32>) {
  %y = "hymir.rope"(%x, %pos) {rotary_dim = 64 : i64, theta = 1.0e+07 : f64}
      : (tensor<1x?x4x128xbf16>, tensor<1x?xi32>) -> tensor<1x?x4x128xbf16>
  return
}

// -----

// CHECK-LABEL: func.func @rms_norm
// CHECK: %{{.*}} = hymir.rms_norm %arg0, %arg1 {epsilon = 9.99999974E-6 : f32} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
func.func @rms_norm(%x: tensor<?x32xf32>, %w: tensor<32xf32>) {
  %y = "hymir.rms_norm"(%x, %w) {epsilon = 1.0e-05 : f32}
      : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  return
}

// -----

// CHECK-LABEL: func.func @linear
// CHECK: %{{.*}} = hymir.linear %arg0, %arg1 {precision = "f32"} : (tensor<?x32xf32>, tensor<100x32xf32>) -> tensor<?x100xf32>
func.func @linear(%x: tensor<?x32xf32>, %w: tensor<100x32xf32>) {
  %y = "hymir.linear"(%x, %w) {precision = "f32"}
      : (tensor<?x32xf32>, tensor<100x32xf32>) -> tensor<?x100xf32>
  return
}

// -----

// Without precision, the default "bf16" applies and is not printed.
// CHECK-LABEL: func.func @linear_default_precision
// CHECK: %{{.*}} = hymir.linear %arg0, %arg1 : (tensor<2x?x32xbf16>, tensor<64x32xbf16>) -> tensor<2x?x64xbf16>
func.func @linear_default_precision(%x: tensor<2x?x32xbf16>,
                                    %w: tensor<64x32xbf16>) {
  %y = "hymir.linear"(%x, %w)
      : (tensor<2x?x32xbf16>, tensor<64x32xbf16>) -> tensor<2x?x64xbf16>
  return
}

// -----

// CHECK-LABEL: func.func @embedding
// CHECK: %{{.*}} = hymir.embedding %arg0, %arg1 : (tensor<100x32xbf16>, tensor<1x?xi32>) -> tensor<1x?x32xbf16>
func.func @embedding(%table: tensor<100x32xbf16>, %ids: tensor<1x?xi32>) {
  %y = "hymir.embedding"(%table, %ids)
      : (tensor<100x32xbf16>, tensor<1x?xi32>) -> tensor<1x?x32xbf16>
  return
}

// -----

// CHECK-LABEL: func.func @moe
// CHECK: %{{.*}} = hymir.moe %arg0, %arg1, %arg2, %arg3, %arg4 {top_k = 2 : i64} : (tensor<?x16xbf16>, tensor<4x16xf32>, tensor<4x32x16xbf16>, tensor<4x32x16xbf16>, tensor<4x16x32xbf16>) -> tensor<?x16xbf16>
func.func @moe(%x: tensor<?x16xbf16>, %router: tensor<4x16xf32>,
               %w1: tensor<4x32x16xbf16>, %w3: tensor<4x32x16xbf16>,
               %w2: tensor<4x16x32xbf16>) {
  %y = "hymir.moe"(%x, %router, %w1, %w3, %w2)
      {top_k = 2 : i64, renormalize = true}
      : (tensor<?x16xbf16>, tensor<4x16xf32>, tensor<4x32x16xbf16>,
         tensor<4x32x16xbf16>, tensor<4x16x32xbf16>) -> tensor<?x16xbf16>
  return
}

// -----

// CHECK-LABEL: func.func @moe_no_renormalize
// CHECK: %{{.*}} = hymir.moe %arg0, %arg1, %arg2, %arg3, %arg4 {renormalize = false, top_k = 1 : i64} : (
func.func @moe_no_renormalize(%x: tensor<3x8xf32>, %router: tensor<2x8xf32>,
                              %w1: tensor<2x4x8xf32>, %w3: tensor<2x4x8xf32>,
                              %w2: tensor<2x8x4xf32>) {
  %y = "hymir.moe"(%x, %router, %w1, %w3, %w2)
      {top_k = 1 : i64, renormalize = false}
      : (tensor<3x8xf32>, tensor<2x8xf32>, tensor<2x4x8xf32>,
         tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<3x8xf32>
  return
}

// -----

// CHECK-LABEL: func.func @cispo_loss
// CHECK: %{{.*}} = hymir.cispo_loss %arg0, %arg1, %arg2, %arg3, %arg4, %arg5 {eps_high = 2.000000e-01 : f32, eps_low = 1.000000e+00 : f32, unified_mask = true} : (tensor<?x32xbf16>, tensor<100x32xbf16>, tensor<?xi32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) -> (tensor<f32>, tensor<?xf32>, tensor<?x32xbf16>, tensor<100x32xbf16>)
func.func @cispo_loss(%h: tensor<?x32xbf16>, %lm: tensor<100x32xbf16>,
                      %t: tensor<?xi32>, %old: tensor<?xf32>,
                      %adv: tensor<?xf32>, %mask: tensor<?xf32>) {
  %r:4 = "hymir.cispo_loss"(%h, %lm, %t, %old, %adv, %mask)
      {eps_low = 1.0 : f32, eps_high = 0.2 : f32, unified_mask = true}
      : (tensor<?x32xbf16>, tensor<100x32xbf16>, tensor<?xi32>,
         tensor<?xf32>, tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x32xbf16>, tensor<100x32xbf16>)
  return
}

// -----

// Without unified_mask, the default (false) applies and is not printed.
// CHECK-LABEL: func.func @cispo_loss_default_mask
// CHECK: %{{.*}} = hymir.cispo_loss %arg0, %arg1, %arg2, %arg3, %arg4, %arg5 {eps_high = 2.800000e-01 : f32, eps_low = 2.000000e-01 : f32} : (
func.func @cispo_loss_default_mask(%h: tensor<4x8xf32>, %lm: tensor<10x8xf32>,
                                   %t: tensor<4xi32>, %old: tensor<4xf32>,
                                   %adv: tensor<4xf32>, %mask: tensor<4xf32>) {
  %r:4 = "hymir.cispo_loss"(%h, %lm, %t, %old, %adv, %mask)
      {eps_low = 0.2 : f32, eps_high = 0.28 : f32}
      : (tensor<4x8xf32>, tensor<10x8xf32>, tensor<4xi32>,
         tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
      -> (tensor<f32>, tensor<4xf32>, tensor<4x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// precision "bf16" is printed; the default "f32" (above) is not.
// CHECK-LABEL: func.func @cispo_loss_bf16_head
// CHECK: hymir.cispo_loss {{.*}} {eps_high = 2.800000e-01 : f32, eps_low = 2.000000e-01 : f32, precision = "bf16"} : (
func.func @cispo_loss_bf16_head(%h: tensor<4x8xf32>, %lm: tensor<10x8xf32>,
                                %t: tensor<4xi32>, %old: tensor<4xf32>,
                                %adv: tensor<4xf32>, %mask: tensor<4xf32>) {
  %r:4 = "hymir.cispo_loss"(%h, %lm, %t, %old, %adv, %mask)
      {eps_low = 0.2 : f32, eps_high = 0.28 : f32, precision = "bf16"}
      : (tensor<4x8xf32>, tensor<10x8xf32>, tensor<4xi32>,
         tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
      -> (tensor<f32>, tensor<4xf32>, tensor<4x8xf32>, tensor<10x8xf32>)
  return
}

// -----

// CHECK-LABEL: func.func @token_logprobs
// CHECK: %{{.*}} = hymir.token_logprobs %arg0, %arg1, %arg2 {precision = "bf16"} : (tensor<?x32xbf16>, tensor<100x32xbf16>, tensor<?xi32>) -> tensor<?xf32>
func.func @token_logprobs(%h: tensor<?x32xbf16>, %lm: tensor<100x32xbf16>,
                          %t: tensor<?xi32>) {
  %r = "hymir.token_logprobs"(%h, %lm, %t) {precision = "bf16"}
      : (tensor<?x32xbf16>, tensor<100x32xbf16>, tensor<?xi32>) -> tensor<?xf32>
  return
}

// CHECK-LABEL: func.func @collectives
// CHECK: hymir.all_reduce %arg0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK: hymir.all_gather %{{.*}} {dim = 0 : i64} : (tensor<4x8xf32>) -> tensor<8x8xf32>
func.func @collectives(%x: tensor<4x8xf32>) -> tensor<8x8xf32> {
  %s = "hymir.all_reduce"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %g = "hymir.all_gather"(%s) {dim = 0 : i64} : (tensor<4x8xf32>) -> tensor<8x8xf32>
  return %g : tensor<8x8xf32>
}
