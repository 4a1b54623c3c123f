// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.top_k (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken.

func.func @top_k_k(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.top_k' op expects k in [1, E] with E = 4, got 5}}
  %v, %i = hymir.top_k %x {k = 5 : i64} : (tensor<?x4xf32>) -> (tensor<?x5xf32>, tensor<?x5xi32>)
  return
}

// -----

func.func @top_k_rank(%x: tensor<4xf32>) {
  // expected-error @+1 {{'hymir.top_k' op expects input to have rank 2 ([T, E]), got 'tensor<4xf32>'}}
  %v, %i = hymir.top_k %x {k = 1 : i64} : (tensor<4xf32>) -> (tensor<1xf32>, tensor<1xi32>)
  return
}

// -----

func.func @top_k_values_element(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.top_k' op expects values to have the element type of input ('f32'), got 'bf16'}}
  %v, %i = hymir.top_k %x {k = 2 : i64} : (tensor<?x4xf32>) -> (tensor<?x2xbf16>, tensor<?x2xi32>)
  return
}

// -----

func.func @top_k_indices_element(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.top_k' op expects indices to have element type 'i32', got 'i64'}}
  %v, %i = hymir.top_k %x {k = 2 : i64} : (tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xi64>)
  return
}

// -----

func.func @top_k_width(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'hymir.top_k' op expects indices dim 1 to be k (2), got 3}}
  %v, %i = hymir.top_k %x {k = 2 : i64} : (tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x3xi32>)
  return
}

// -----

func.func @top_k_tokens(%x: tensor<6x4xf32>) {
  // expected-error @+1 {{'hymir.top_k' op expects values dim 0 (T) to equal input dim 0 (6), got 5}}
  %v, %i = hymir.top_k %x {k = 2 : i64} : (tensor<6x4xf32>) -> (tensor<5x2xf32>, tensor<6x2xi32>)
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count): the verifier says so at the op.

func.func @top_k_static_result_dynamic_tokens(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{expects values dim 0 (T) to be dynamic, as input dim 0 is (a size known only at run time), got 3}}
  %v, %i = hymir.top_k %x {k = 2 : i64} : (tensor<?x4xf32>) -> (tensor<3x2xf32>, tensor<?x2xi32>)
  return
}
