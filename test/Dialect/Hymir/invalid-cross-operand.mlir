// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// Dimensions are unified across all operands and results, not only against
// one reference operand: when the reference's dim is dynamic, two other
// static dims that disagree are still an error. Also the signed check of
// block_size.

// The generated accessor is unsigned: a negative block_size must still fail.
func.func @lightning_attention_block_size_negative(
    %q: tensor<2x3x4x8xf32>, %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects block_size to be positive, got -64}}
  %out, %state = hymir.lightning_attention %q, %q, %q, %slopes
      {block_size = -64 : i64}
      : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<4xf32>) -> (tensor<2x3x4x8xf32>, tensor<2x4x8x8xf32>)
  return
}

// -----

// Dims are compared with q's only. With q's H dynamic, k and v say H = 4,
// slopes and final_state say H = 3: both static, never compared.
func.func @lightning_attention_head_count_through_dynamic_q(
    %q: tensor<2x3x?x8xf32>, %k: tensor<2x3x4x8xf32>, %slopes: tensor<3xf32>) {
  // expected-error @+1 {{expects slopes dim 0 (H) to equal k dim 2 (4), got 3}}
  %out, %state = hymir.lightning_attention %q, %k, %k, %slopes
      : (tensor<2x3x?x8xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>,
         tensor<3xf32>) -> (tensor<2x3x?x8xf32>, tensor<2x3x8x8xf32>)
  return
}

// -----

// With q's D dynamic, k has D = 8, v D = 16 and the final state D = 32.
func.func @lightning_attention_head_dim_through_dynamic_q(
    %q: tensor<2x3x4x?xf32>, %k: tensor<2x3x4x8xf32>,
    %v: tensor<2x3x4x16xf32>, %slopes: tensor<4xf32>) {
  // expected-error @+1 {{expects v dim 3 (D) to equal k dim 3 (8), got 16}}
  %out, %state = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<2x3x4x?xf32>, tensor<2x3x4x8xf32>, tensor<2x3x4x16xf32>,
         tensor<4xf32>) -> (tensor<2x3x4x?xf32>, tensor<2x4x32x32xf32>)
  return
}

// -----

// With q's D dynamic, k and v have D = 8 but out has D = 16.
func.func @softmax_attention_head_dim_through_dynamic_q(
    %q: tensor<2x3x4x?xf32>, %k: tensor<2x5x2x8xf32>) {
  // expected-error @+1 {{expects result out dim 3 (D) to equal k dim 3 (8), got 16}}
  %out = hymir.softmax_attention %q, %k, %k {causal = false, scale = 1.0 : f32}
      : (tensor<2x3x4x?xf32>, tensor<2x5x2x8xf32>, tensor<2x5x2x8xf32>)
      -> tensor<2x3x4x16xf32>
  return
}

// -----

// E is compared with the router's only. With the router's E dynamic, w1 and
// w3 have E = 4, w2 has E = 2, and top_k = 9 exceeds both.
func.func @moe_expert_count_through_dynamic_router(
    %x: tensor<3x8xf32>, %router: tensor<?x8xf32>, %w1: tensor<4x6x8xf32>,
    %w2: tensor<2x8x6xf32>) {
  // expected-error @+1 {{expects w2 dim 0 (E) to equal w1 dim 0 (4), got 2}}
  %y = hymir.moe %x, %router, %w1, %w1, %w2 {top_k = 9 : i64}
      : (tensor<3x8xf32>, tensor<?x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<2x8x6xf32>) -> tensor<3x8xf32>
  return
}
