// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.moe_experts (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken.

func.func @moe_experts_offsets(%x: tensor<?x32xf32>, %s: tensor<?xi32>, %o: tensor<4xi32>, %l: tensor<?x2xi32>,
    %w: tensor<?x2xf32>, %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.moe_experts' op expects offsets to have E + 1 = 5 entries, got 4}}
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?xi32>, tensor<4xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @moe_experts_weights_shape(%x: tensor<?x32xf32>, %s: tensor<?xi32>, %o: tensor<5xi32>, %l: tensor<?x2xi32>,
    %w: tensor<?x1xf32>, %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.moe_experts' op expects weights dim 1 (K) to equal slots dim 1 (2), got 1}}
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x1xf32>,
         tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @moe_experts_w2(%x: tensor<?x32xf32>, %s: tensor<?xi32>, %o: tensor<5xi32>, %l: tensor<?x2xi32>,
    %w: tensor<?x2xf32>, %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x8xf32>) {
  // expected-error @+1 {{'hymir.moe_experts' op expects w2 dim 2 (I) to equal w1 dim 1 (16), got 8}}
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x8xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @moe_experts_dynamic_offsets(%x: tensor<?x32xf32>, %s: tensor<?xi32>, %o: tensor<?xi32>, %l: tensor<?x2xi32>,
    %w: tensor<?x2xf32>, %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{'hymir.moe_experts' op expects offsets to have a static size (E + 1), got 'tensor<?xi32>'}}
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?xi32>, tensor<?xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>) -> tensor<?x32xf32>
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count): the verifier says so at the op.

func.func @moe_experts_static_result_dynamic_tokens(%x: tensor<?x32xf32>, %s: tensor<?xi32>, %o: tensor<5xi32>, %l: tensor<?x2xi32>,
    %w: tensor<?x2xf32>, %w1: tensor<4x16x32xf32>, %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) {
  // expected-error @+1 {{expects result dim 0 (T) to be dynamic, as x dim 0 is (a size known only at run time), got 3}}
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>) -> tensor<3x32xf32>
  return
}
