// RUN: hymir-opt %s -split-input-file -verify-diagnostics

// One case per verifier branch of hymir.all_reduce (HymirOps.cpp): each case is
// a valid op with one operand type, result type or attribute broken.

func.func @all_reduce_int(%x: tensor<4xi32>) {
  // expected-error @+1 {{'hymir.all_reduce' op expects x to have element type bf16 or f32, got 'i32'}}
  %y = hymir.all_reduce %x : (tensor<4xi32>) -> tensor<4xi32>
  return
}

// -----

func.func @all_reduce_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.all_reduce' op expects the result to have the type of x ('tensor<4x8xf32>'), got 'tensor<4x8xbf16>'}}
  %y = hymir.all_reduce %x : (tensor<4x8xf32>) -> tensor<4x8xbf16>
  return
}
