// RUN: hymir-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// hymir.all_to_all: the round trip, then one case per verifier branch.

// CHECK-LABEL: func.func @all_to_all
// CHECK: %{{.*}}, %{{.*}} = hymir.all_to_all %arg0, %arg1 : (tensor<8x16xbf16>, tensor<3xi32>) -> (tensor<8x16xbf16>, tensor<3xi32>)
func.func @all_to_all(%x: tensor<8x16xbf16>, %o: tensor<3xi32>) -> tensor<8x16xbf16> {
  %y, %r = hymir.all_to_all %x, %o : (tensor<8x16xbf16>, tensor<3xi32>) -> (tensor<8x16xbf16>, tensor<3xi32>)
  return %y : tensor<8x16xbf16>
}

// -----

func.func @all_to_all_element(%x: tensor<8xf16>, %o: tensor<3xi32>) {
  // expected-error @+1 {{'hymir.all_to_all' op expects x to have element type bf16, f32 or i32, got 'f16'}}
  %y, %r = hymir.all_to_all %x, %o : (tensor<8xf16>, tensor<3xi32>) -> (tensor<8xf16>, tensor<3xi32>)
  return
}

// -----

func.func @all_to_all_rank(%x: tensor<f32>, %o: tensor<3xi32>) {
  // expected-error @+1 {{'hymir.all_to_all' op expects x to have rank >= 1 ([rows, ...]), got 'tensor<f32>'}}
  %y, %r = hymir.all_to_all %x, %o : (tensor<f32>, tensor<3xi32>) -> (tensor<f32>, tensor<3xi32>)
  return
}

// -----

func.func @all_to_all_row(%x: tensor<8x?xf32>, %o: tensor<3xi32>) {
  // expected-error @+1 {{'hymir.all_to_all' op expects x to have static dims after dim 0, got 'tensor<8x?xf32>'}}
  %y, %r = hymir.all_to_all %x, %o : (tensor<8x?xf32>, tensor<3xi32>) -> (tensor<8x?xf32>, tensor<3xi32>)
  return
}

// -----

func.func @all_to_all_offsets_type(%x: tensor<8xi32>, %o: tensor<3xi64>) {
  // expected-error @+1 {{'hymir.all_to_all' op expects send_offsets to have element type 'i32', got 'i64'}}
  %y, %r = hymir.all_to_all %x, %o : (tensor<8xi32>, tensor<3xi64>) -> (tensor<8xi32>, tensor<3xi64>)
  return
}

// -----

func.func @all_to_all_offsets_size(%x: tensor<8xi32>, %o: tensor<1xi32>) {
  // expected-error @+1 {{'hymir.all_to_all' op expects send_offsets to have a static size of at least 2 (devices + 1), got 'tensor<1xi32>'}}
  %y, %r = hymir.all_to_all %x, %o : (tensor<8xi32>, tensor<1xi32>) -> (tensor<8xi32>, tensor<1xi32>)
  return
}

// -----

func.func @all_to_all_result(%x: tensor<8x4xf32>, %o: tensor<3xi32>) {
  // expected-error @+1 {{'hymir.all_to_all' op expects the result to have the type of x ('tensor<8x4xf32>'), got 'tensor<16x4xf32>'}}
  %y, %r = hymir.all_to_all %x, %o : (tensor<8x4xf32>, tensor<3xi32>) -> (tensor<16x4xf32>, tensor<3xi32>)
  return
}

// -----

func.func @all_to_all_recv(%x: tensor<8x4xf32>, %o: tensor<3xi32>) {
  // expected-error @+1 {{'hymir.all_to_all' op expects recv_offsets to have the type of send_offsets ('tensor<3xi32>'), got 'tensor<5xi32>'}}
  %y, %r = hymir.all_to_all %x, %o : (tensor<8x4xf32>, tensor<3xi32>) -> (tensor<8x4xf32>, tensor<5xi32>)
  return
}
