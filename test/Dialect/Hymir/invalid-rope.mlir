// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.rope (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken. Cases
// marked "no error expected" check that dynamic dims are not compared.

// x must be [B, T, H, D].
func.func @rope_x_rank(%x: tensor<2x3x32xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects x to have rank 4 ([B, T, H, D]), got 'tensor<2x3x32xf32>'}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x32xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// Activations are bf16 or f32.
func.func @rope_x_element(
    %x: tensor<2x3x4x8xf16>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects x to have element type bf16 or f32, got 'f16'}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf16>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// positions must be [B, T].
func.func @rope_positions_rank(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<6xi32>) {
  // expected-error @+1 {{expects positions to have rank 2 ([B, T]), got 'tensor<6xi32>'}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<6xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// positions are i32.
func.func @rope_positions_element(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi64>) {
  // expected-error @+1 {{expects positions to have element type 'i32', got 'i64'}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi64>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// positions must match x in B.
func.func @rope_positions_B(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<1x3xi32>) {
  // expected-error @+1 {{expects positions dim 0 (B) to equal x dim 0 (2), got 1}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<1x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// positions must match x in T.
func.func @rope_positions_T(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x4xi32>) {
  // expected-error @+1 {{expects positions dim 1 (T) to equal x dim 1 (3), got 4}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x4xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// rotary_dim pairs channels, so it is even.
func.func @rope_rotary_dim_odd(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects rotary_dim to be positive and even, got 7}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 7 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// rotary_dim must be positive.
func.func @rope_rotary_dim_zero(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects rotary_dim to be positive and even, got 0}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 0 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// rotary_dim must be positive.
func.func @rope_rotary_dim_negative(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects rotary_dim to be positive and even, got -2}}
  %y = hymir.rope %x, %positions
      {rotary_dim = -2 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// rotary_dim is at most D.
func.func @rope_rotary_dim_too_large(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects rotary_dim to be at most the head dim D (8), got 10}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 10 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// theta must be positive.
func.func @rope_theta_zero(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects theta to be positive and finite, got 0.000000e+00}}
  %y = hymir.rope %x, %positions {rotary_dim = 8 : i64, theta = 0.0 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// theta must be positive.
func.func @rope_theta_negative(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects theta to be positive and finite, got -1.000000e+04}}
  %y = hymir.rope %x, %positions {rotary_dim = 8 : i64, theta = -1.0e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// theta must be finite.
func.func @rope_theta_inf(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects theta to be positive and finite, got INF}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 0x7FF0000000000000 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// theta must not be NaN.
func.func @rope_theta_nan(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects theta to be positive and finite, got nan}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 0x7FF8000000000000 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// The result has the shape of x.
func.func @rope_result_rank(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result to have rank 4 ([B, T, H, D]), got 'tensor<2x3x32xf32>'}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x32xf32>
  return
}

// -----

// The result has the element type of x.
func.func @rope_result_element(
    %x: tensor<2x3x4x8xbf16>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result to have the element type of x ('bf16'), got 'f32'}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xbf16>, tensor<2x3xi32>) -> tensor<2x3x4x8xf32>
  return
}

// -----

// The result dim 0 must equal x dim 0.
func.func @rope_result_dim0(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result dim 0 (B) to equal x dim 0 (2), got 1}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<1x3x4x8xf32>
  return
}

// -----

// The result dim 1 must equal x dim 1.
func.func @rope_result_dim1(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result dim 1 (T) to equal x dim 1 (3), got 4}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x4x4x8xf32>
  return
}

// -----

// The result dim 2 must equal x dim 2.
func.func @rope_result_dim2(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result dim 2 (H) to equal x dim 2 (4), got 2}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x2x8xf32>
  return
}

// -----

// The result dim 3 must equal x dim 3.
func.func @rope_result_dim3(
    %x: tensor<2x3x4x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{expects result dim 3 (D) to equal x dim 3 (8), got 16}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x3x4x8xf32>, tensor<2x3xi32>) -> tensor<2x3x4x16xf32>
  return
}

// -----

// With a dynamic D, rotary_dim is checked at run time: no error expected.
func.func @rope_dynamic_ok(
    %x: tensor<2x?x4x?xf32>, %positions: tensor<?x5xi32>) {
  %y = hymir.rope %x, %positions
      {rotary_dim = 64 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x?x4x?xf32>, tensor<?x5xi32>) -> tensor<2x5x4x?xf32>
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count): the verifier says so at the op.

func.func @rope_static_result_dynamic_tokens(
    %x: tensor<2x?x4x8xf32>, %positions: tensor<2x?xi32>) {
  // expected-error @+1 {{expects result dim 1 (T) to be dynamic, as x dim 1 is (a size known only at run time), got 5}}
  %y = hymir.rope %x, %positions
      {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
      : (tensor<2x?x4x8xf32>, tensor<2x?xi32>) -> tensor<2x5x4x8xf32>
  return
}
