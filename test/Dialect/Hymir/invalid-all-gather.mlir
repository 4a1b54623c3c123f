// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.all_gather (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken.

func.func @all_gather_dim(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.all_gather' op expects dim to be in [0, 2), got 2}}
  %y = hymir.all_gather %x {dim = 2 : i64} : (tensor<4x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @all_gather_multiple(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.all_gather' op expects result dim 1 to be a positive multiple (the device count) of x dim 1 (8), got 12}}
  %y = hymir.all_gather %x {dim = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x12xf32>
  return
}

// -----

func.func @all_gather_dynamic(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{'hymir.all_gather' op expects x and the result to have static sizes along the gathered dim 0}}
  %y = hymir.all_gather %x {dim = 0 : i64} : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @all_gather_other_dim(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.all_gather' op expects result dim 0 (dim 0) to equal x dim 0 (4), got 5}}
  %y = hymir.all_gather %x {dim = 1 : i64} : (tensor<4x8xf32>) -> tensor<5x16xf32>
  return
}

// -----

func.func @all_gather_rank(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.all_gather' op expects result to have rank 2 (the rank of x), got 'tensor<64xf32>'}}
  %y = hymir.all_gather %x {dim = 0 : i64} : (tensor<4x8xf32>) -> tensor<64xf32>
  return
}

// -----

// A result cannot fix a size the operands leave to run time (the token
// count): the verifier says so at the op.

func.func @all_gather_static_result_dynamic_dim(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{expects result dim 0 (dim 0) to be dynamic, as x dim 0 is (a size known only at run time), got 4}}
  %y = hymir.all_gather %x {dim = 1 : i64} : (tensor<?x8xf32>) -> tensor<4x16xf32>
  return
}
