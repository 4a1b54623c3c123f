// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.linear (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken. Cases
// marked "no error expected" check that dynamic dims are not compared.

// x must have at least one dim.
func.func @linear_x_rank(%x: tensor<f32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects x to have rank >= 1 ([..., K]), got 'tensor<f32>'}}
  %y = hymir.linear %x, %weight
      : (tensor<f32>, tensor<16x8xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// Activations are bf16 or f32.
func.func @linear_x_element(%x: tensor<2x3x8xi8>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects x to have element type bf16 or f32, got 'i8'}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xi8>, tensor<16x8xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// weight must be [N, K].
func.func @linear_weight_rank(
    %x: tensor<2x3x8xf32>, %weight: tensor<2x16x8xf32>) {
  // expected-error @+1 {{expects weight to have rank 2 ([N, K]), got 'tensor<2x16x8xf32>'}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<2x16x8xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// weight is bf16 or f32.
func.func @linear_weight_element(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf8E4M3FN>) {
  // expected-error @+1 {{expects weight to have element type bf16 or f32, got 'f8E4M3FN'}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x8xf8E4M3FN>) -> tensor<2x3x16xf32>
  return
}

// -----

// weight must match the last dim of x in K.
func.func @linear_weight_K(%x: tensor<2x3x8xf32>, %weight: tensor<16x4xf32>) {
  // expected-error @+1 {{expects weight dim 1 (K) to equal x dim 2 (8), got 4}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x4xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// precision is "bf16" or "f32".
func.func @linear_precision_unknown(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects precision to be "bf16" or "f32", got "tf32"}}
  %y = hymir.linear %x, %weight {precision = "tf32"}
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// An empty precision string is rejected.
func.func @linear_precision_empty(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects precision to be "bf16" or "f32", got ""}}
  %y = hymir.linear %x, %weight {precision = ""}
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// The result has the rank of x.
func.func @linear_result_rank(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects result to have rank 3 ([..., N]), got 'tensor<6x16xf32>'}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<6x16xf32>
  return
}

// -----

// The result is bf16 or f32.
func.func @linear_result_element(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects result to have element type bf16 or f32, got 'f16'}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<2x3x16xf16>
  return
}

// -----

// A bf16 projection may keep its f32 accumulator: no error expected.
func.func @linear_f32_result_ok(
    %x: tensor<2x3x8xbf16>, %weight: tensor<16x8xbf16>) {
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xbf16>, tensor<16x8xbf16>) -> tensor<2x3x16xf32>
  return
}

// -----

// The leading dims of the result are those of x.
func.func @linear_result_leading0(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects result dim 0 (leading dim 0) to equal x dim 0 (2), got 1}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<1x3x16xf32>
  return
}

// -----

// The leading dims of the result are those of x.
func.func @linear_result_leading1(
    %x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects result dim 1 (leading dim 1) to equal x dim 1 (3), got 4}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  return
}

// -----

// The last dim of the result is N, from weight.
func.func @linear_result_N(%x: tensor<2x3x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects result dim 2 (N) to equal weight dim 0 (16), got 8}}
  %y = hymir.linear %x, %weight
      : (tensor<2x3x8xf32>, tensor<16x8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// Dynamic dims are not compared: no error expected.
func.func @linear_dynamic_ok(%x: tensor<2x?x?xf32>, %weight: tensor<16x8xf32>) {
  %y = hymir.linear %x, %weight
      : (tensor<2x?x?xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count).
func.func @linear_static_result_dynamic_x(%x: tensor<2x?x8xf32>, %weight: tensor<16x8xf32>) {
  // expected-error @+1 {{expects result dim 1 (leading dim 1) to be dynamic, as x dim 1 is (a size known only at run time), got 3}}
  %y = hymir.linear %x, %weight
      : (tensor<2x?x8xf32>, tensor<16x8xf32>) -> tensor<2x3x16xf32>
  return
}
