// RUN: hymir-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// hymir.reduce_scatter: the round trip, then one case per verifier branch
// (HymirOps.cpp), each a valid op with one type or attribute broken.

// CHECK-LABEL: func.func @reduce_scatter
// CHECK: hymir.reduce_scatter %arg0 {dim = 1 : i64} : (tensor<?x64xbf16>) -> tensor<?x16xbf16>
func.func @reduce_scatter(%x: tensor<?x64xbf16>) -> tensor<?x16xbf16> {
  %y = hymir.reduce_scatter %x {dim = 1 : i64} : (tensor<?x64xbf16>) -> tensor<?x16xbf16>
  return %y : tensor<?x16xbf16>
}

// -----

func.func @reduce_scatter_element(%x: tensor<8xi32>) {
  // expected-error @+1 {{'hymir.reduce_scatter' op expects x to have element type bf16 or f32, got 'i32'}}
  %y = hymir.reduce_scatter %x {dim = 0 : i64} : (tensor<8xi32>) -> tensor<4xi32>
  return
}

// -----

func.func @reduce_scatter_dim(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.reduce_scatter' op expects dim to be in [0, 2), got 2}}
  %y = hymir.reduce_scatter %x {dim = 2 : i64} : (tensor<4x8xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @reduce_scatter_multiple(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.reduce_scatter' op expects x dim 1 to be a positive multiple (the device count) of result dim 1 (3), got 8}}
  %y = hymir.reduce_scatter %x {dim = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @reduce_scatter_dynamic(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{'hymir.reduce_scatter' op expects x and the result to have static sizes along the scattered dim 0}}
  %y = hymir.reduce_scatter %x {dim = 0 : i64} : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @reduce_scatter_other_dim(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.reduce_scatter' op expects result dim 0 (dim 0) to equal x dim 0 (4), got 5}}
  %y = hymir.reduce_scatter %x {dim = 1 : i64} : (tensor<4x8xf32>) -> tensor<5x4xf32>
  return
}

// -----

func.func @reduce_scatter_rank(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.reduce_scatter' op expects result to have rank 2 (the rank of x), got 'tensor<16xf32>'}}
  %y = hymir.reduce_scatter %x {dim = 0 : i64} : (tensor<4x8xf32>) -> tensor<16xf32>
  return
}

// -----

func.func @reduce_scatter_result_element(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'hymir.reduce_scatter' op expects result to have the element type of x ('f32'), got 'bf16'}}
  %y = hymir.reduce_scatter %x {dim = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x4xbf16>
  return
}
