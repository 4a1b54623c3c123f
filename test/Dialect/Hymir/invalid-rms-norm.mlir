// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.rms_norm (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken. Cases
// marked "no error expected" check that dynamic dims are not compared.

// x must have at least one dim.
func.func @rms_norm_x_rank(%x: tensor<f32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects x to have rank >= 1 ([..., N]), got 'tensor<f32>'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<f32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// Activations are bf16 or f32.
func.func @rms_norm_x_element(%x: tensor<2x3x8xf16>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects x to have element type bf16 or f32, got 'f16'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf16>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// weight must be [N].
func.func @rms_norm_weight_rank(
    %x: tensor<2x3x8xf32>, %weight: tensor<1x8xf32>) {
  // expected-error @+1 {{expects weight to have rank 1 ([N]), got 'tensor<1x8xf32>'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<1x8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// weight is bf16 or f32.
func.func @rms_norm_weight_element(
    %x: tensor<2x3x8xf32>, %weight: tensor<8xf16>) {
  // expected-error @+1 {{expects weight to have element type bf16 or f32, got 'f16'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf16>) -> tensor<2x3x8xf32>
  return
}

// -----

// weight must match the last dim of x.
func.func @rms_norm_weight_N(%x: tensor<2x3x8xf32>, %weight: tensor<4xf32>) {
  // expected-error @+1 {{expects weight dim 0 (N) to equal x dim 2 (8), got 4}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<4xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// epsilon must be positive.
func.func @rms_norm_epsilon_zero(
    %x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects epsilon to be positive and finite, got 0.000000e+00}}
  %y = hymir.rms_norm %x, %weight {epsilon = 0.0 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// epsilon must be positive.
func.func @rms_norm_epsilon_negative(
    %x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects epsilon to be positive and finite, got -1.000000e+00}}
  %y = hymir.rms_norm %x, %weight {epsilon = -1.0 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// epsilon must be finite.
func.func @rms_norm_epsilon_inf(%x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects epsilon to be positive and finite, got INF}}
  %y = hymir.rms_norm %x, %weight {epsilon = 0x7F800000 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// epsilon must not be NaN.
func.func @rms_norm_epsilon_nan(%x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects epsilon to be positive and finite, got nan}}
  %y = hymir.rms_norm %x, %weight {epsilon = 0x7FC00000 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// The result has the shape of x.
func.func @rms_norm_result_rank(%x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects result to have rank 3 ([..., N]), got 'tensor<6x8xf32>'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<6x8xf32>
  return
}

// -----

// The result has the element type of x, not of weight.
func.func @rms_norm_result_element(
    %x: tensor<2x3x8xbf16>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects result to have the element type of x ('bf16'), got 'f32'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xbf16>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

// The result dim 0 must equal x dim 0.
func.func @rms_norm_result_dim0(%x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects result dim 0 (dim 0) to equal x dim 0 (2), got 1}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<1x3x8xf32>
  return
}

// -----

// The result dim 1 must equal x dim 1.
func.func @rms_norm_result_dim1(%x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects result dim 1 (dim 1) to equal x dim 1 (3), got 4}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  return
}

// -----

// The result dim 2 must equal x dim 2.
func.func @rms_norm_result_dim2(%x: tensor<2x3x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects result dim 2 (N) to equal x dim 2 (8), got 16}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x16xf32>
  return
}

// -----

// Dynamic dims are not compared: no error expected.
func.func @rms_norm_dynamic_ok(%x: tensor<2x?x8xf32>, %weight: tensor<8xf32>) {
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x?x8xf32>, tensor<8xf32>) -> tensor<?x?x?xf32>
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count).
func.func @rms_norm_static_result_dynamic_x(%x: tensor<2x?x8xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects result dim 1 (dim 1) to be dynamic, as x dim 1 is (a size known only at run time), got 5}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<2x?x8xf32>, tensor<8xf32>) -> tensor<2x5x8xf32>
  return
}

// -----

// N, the normalized width, is static: a dynamic dim of an entry is the
// token count, and a weight of `?` elements was read as T wide.
func.func @rms_norm_weight_dynamic(%x: tensor<?x8xf32>, %weight: tensor<?xf32>) {
  // expected-error @+1 {{expects weight dim 0 (N, the normalized width) to be static, got 'tensor<?xf32>'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<?x8xf32>, tensor<?xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @rms_norm_x_width_dynamic(%x: tensor<?x?xf32>, %weight: tensor<8xf32>) {
  // expected-error @+1 {{expects x dim 1 (N, the normalized width) to be static, got 'tensor<?x?xf32>'}}
  %y = hymir.rms_norm %x, %weight {epsilon = 9.99999974E-6 : f32}
      : (tensor<?x?xf32>, tensor<8xf32>) -> tensor<?x?xf32>
  return
}
