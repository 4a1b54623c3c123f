// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.routed_experts (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken.

func.func @routed_experts_indices(%x: tensor<?x32xf32>, %i: tensor<?x2xf32>, %w: tensor<?x2xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.routed_experts' op expects indices to have element type 'i32', got 'f32'}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<?x32xf32>
  return
}

// -----

func.func @routed_experts_weights(%x: tensor<?x32xf32>, %i: tensor<?x2xi32>, %w: tensor<?x3xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.routed_experts' op expects weights dim 1 (K) to equal indices dim 1 (2), got 3}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?x2xi32>, tensor<?x3xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<?x32xf32>
  return
}

// -----

func.func @routed_experts_tokens(%x: tensor<5x32xf32>, %i: tensor<6x2xi32>, %w: tensor<6x2xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.routed_experts' op expects indices dim 0 (T) to equal x dim 0 (5), got 6}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<5x32xf32>, tensor<6x2xi32>, tensor<6x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<5x32xf32>
  return
}

// -----

func.func @routed_experts_w2(%x: tensor<?x32xf32>, %i: tensor<?x2xi32>, %w: tensor<?x2xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x8xf32>) {
  // expected-error @+1 {{'hymir.routed_experts' op expects w2 dim 2 (I) to equal w1 dim 1 (16), got 8}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x8xf32>)
      -> tensor<?x32xf32>
  return
}

// -----

func.func @routed_experts_result(%x: tensor<?x32xf32>, %i: tensor<?x2xi32>, %w: tensor<?x2xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.routed_experts' op expects result to have the element type of x ('f32'), got 'bf16'}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<?x32xbf16>
  return
}

// -----

func.func @routed_experts_dynamic_k(%x: tensor<?x32xf32>, %i: tensor<?x?xi32>, %w: tensor<?x?xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.routed_experts' op expects indices dim 1 (K, the picks per token) to be static, got 'tensor<?x?xi32>'}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?x?xi32>, tensor<?x?xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<?x32xf32>
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count): the verifier says so at the op.

func.func @routed_experts_static_result_dynamic_tokens(%x: tensor<?x32xf32>, %i: tensor<?x2xi32>, %w: tensor<?x2xf32>,
    %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{expects result dim 0 (T) to be dynamic, as x dim 0 is (a size known only at run time), got 3}}
  %y = hymir.routed_experts %x, %i, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<3x32xf32>
  return
}
