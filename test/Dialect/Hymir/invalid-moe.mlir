// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.moe (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken. Cases
// marked "no error expected" check that dynamic dims are not compared.

// x must be [T, N].
func.func @moe_x_rank(
    %x: tensor<1x3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects x to have rank 2 ([T, N]), got 'tensor<1x3x8xf32>'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<1x3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// Activations are bf16 or f32.
func.func @moe_x_element(
    %x: tensor<3x8xf16>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects x to have element type bf16 or f32, got 'f16'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf16>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// router must be [E, N].
func.func @moe_router_rank(
    %x: tensor<3x8xf32>, %router: tensor<32xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects router to have rank 2 ([E, N]), got 'tensor<32xf32>'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<32xf32>, tensor<4x6x8xf32>, tensor<4x6x8xf32>,
         tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// router is bf16 or f32.
func.func @moe_router_element(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf64>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects router to have element type bf16 or f32, got 'f64'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf64>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// router must match x in N.
func.func @moe_router_N(
    %x: tensor<3x8xf32>, %router: tensor<4x16xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects router dim 1 (N) to equal x dim 1 (8), got 16}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x16xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w1 must be [E, I, N].
func.func @moe_w1_rank(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<24x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w1 to have rank 3 ([E, I, N]), got 'tensor<24x8xf32>'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<24x8xf32>, tensor<4x6x8xf32>,
         tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// Expert weights are bf16 or f32.
func.func @moe_w1_element(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf16>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w1 to have element type bf16 or f32, got 'f16'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf16>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w1 must match router in E.
func.func @moe_w1_E(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<2x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w1 dim 0 (E) to equal router dim 0 (4), got 2}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<2x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w1 must match x in N.
func.func @moe_w1_N(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x16xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w1 dim 2 (N) to equal x dim 1 (8), got 16}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x16xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w3 must be [E, I, N].
func.func @moe_w3_rank(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<24x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w3 to have rank 3 ([E, I, N]), got 'tensor<24x8xf32>'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<24x8xf32>,
         tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w3 must have the element type of w1.
func.func @moe_w3_element(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xbf16>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xbf16>) {
  // expected-error @+1 {{expects w3 to have the element type of w1 ('bf16'), got 'f32'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xbf16>,
         tensor<4x6x8xf32>, tensor<4x8x6xbf16>)
      -> tensor<3x8xf32>
  return
}

// -----

// w3 must match w1 in E.
func.func @moe_w3_E(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<2x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w3 dim 0 (E) to equal router dim 0 (4), got 2}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<2x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w3 must match w1 in I.
func.func @moe_w3_I(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x5x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w3 dim 1 (I) to equal w1 dim 1 (6), got 5}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x5x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w3 must match w1 in N.
func.func @moe_w3_N(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x16xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w3 dim 2 (N) to equal x dim 1 (8), got 16}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x16xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w2 must be [E, N, I].
func.func @moe_w2_rank(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x48xf32>) {
  // expected-error @+1 {{expects w2 to have rank 3 ([E, N, I]), got 'tensor<4x48xf32>'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x48xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w2 must have the element type of w1.
func.func @moe_w2_element(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xbf16>,
    %w3: tensor<4x6x8xbf16>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects w2 to have the element type of w1 ('bf16'), got 'f32'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xbf16>,
         tensor<4x6x8xbf16>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w2 must match router in E.
func.func @moe_w2_E(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<2x8x6xf32>) {
  // expected-error @+1 {{expects w2 dim 0 (E) to equal router dim 0 (4), got 2}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<2x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w2 must match x in N.
func.func @moe_w2_N(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x6x6xf32>) {
  // expected-error @+1 {{expects w2 dim 1 (N) to equal x dim 1 (8), got 6}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x6x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// w2 must match w1 in I.
func.func @moe_w2_I(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x8xf32>) {
  // expected-error @+1 {{expects w2 dim 2 (I) to equal w1 dim 1 (6), got 8}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x8xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// top_k is at least 1.
func.func @moe_top_k_zero(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects top_k in [1, E] with E = 4 experts, got 0}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 0 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// top_k is at least 1.
func.func @moe_top_k_negative(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects top_k in [1, E] with E = 4 experts, got -1}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = -1 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// top_k is at most E.
func.func @moe_top_k_too_large(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects top_k in [1, E] with E = 4 experts, got 5}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 5 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// top_k = 0 is rejected even when E is dynamic.
func.func @moe_top_k_zero_dynamic_e(
    %x: tensor<3x8xf32>, %router: tensor<?x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects top_k in [1, E] with E = 4 experts, got 0}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 0 : i64}
      : (tensor<3x8xf32>, tensor<?x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// The result has the shape of x.
func.func @moe_result_rank(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects result to have rank 2 ([T, N]), got 'tensor<24xf32>'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<24xf32>
  return
}

// -----

// The result has the element type of x.
func.func @moe_result_element(
    %x: tensor<3x8xbf16>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects result to have the element type of x ('bf16'), got 'f32'}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xbf16>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}

// -----

// The result dim 0 must equal x dim 0.
func.func @moe_result_T(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects result dim 0 (T) to equal x dim 0 (3), got 5}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<5x8xf32>
  return
}

// -----

// The result dim 1 must equal x dim 1.
func.func @moe_result_N(
    %x: tensor<3x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects result dim 1 (N) to equal x dim 1 (8), got 16}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x16xf32>
  return
}

// -----

// With a dynamic E, top_k is checked at run time: no error expected.
func.func @moe_dynamic_ok(
    %x: tensor<?x8xf32>, %router: tensor<?x8xf32>, %w1: tensor<?x6x8xf32>,
    %w3: tensor<?x6x8xf32>, %w2: tensor<?x8x6xf32>) {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 8 : i64}
      : (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x6x8xf32>,
         tensor<?x6x8xf32>, tensor<?x8x6xf32>)
      -> tensor<?x8xf32>
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count).
func.func @moe_static_result_dynamic_tokens(
    %x: tensor<?x8xf32>, %router: tensor<4x8xf32>, %w1: tensor<4x6x8xf32>,
    %w3: tensor<4x6x8xf32>, %w2: tensor<4x8x6xf32>) {
  // expected-error @+1 {{expects result dim 0 (T) to be dynamic, as x dim 0 is (a size known only at run time), got 3}}
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>,
         tensor<4x6x8xf32>, tensor<4x8x6xf32>)
      -> tensor<3x8xf32>
  return
}
