// RUN: hymir-opt %s -split-input-file | hymir-opt -split-input-file | FileCheck %s

// The discardable attributes of the hymir dialect (HymirDialect.td) where they
// belong: each verifies and prints back unchanged.

// CHECK-LABEL: func.func @entry
// CHECK-SAME: %arg0: tensor<?x16xf32> {hymir.name = "x"}
// CHECK-SAME: %arg1: tensor<32x16xf32> {hymir.name = "w", hymir.param, hymir.shard_dim = 1 : i64}
// CHECK-SAME: -> (tensor<?x32xf32> {hymir.name = "y"})
func.func @entry(%x: tensor<?x16xf32> {hymir.name = "x"},
                 %w: tensor<32x16xf32> {hymir.name = "w", hymir.param,
                                        hymir.shard_dim = 1 : i64})
    -> (tensor<?x32xf32> {hymir.name = "y"}) {
  %y = hymir.linear %x, %w : (tensor<?x16xf32>, tensor<32x16xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// A result tied to an argument (updated in place).
// CHECK-LABEL: func.func @step
// CHECK-SAME: -> (tensor<4x16xf32> {hymir.name = "y"}, tensor<2x4x16xf32> {hymir.name = "state_out", hymir.tied = 1 : i64})
func.func @step(%x: tensor<4x16xf32> {hymir.name = "x"},
                %state: tensor<2x4x16xf32> {hymir.name = "state"})
    -> (tensor<4x16xf32> {hymir.name = "y"},
        tensor<2x4x16xf32> {hymir.name = "state_out", hymir.tied = 1 : i64}) {
  return %x, %state : tensor<4x16xf32>, tensor<2x4x16xf32>
}

// -----

#map_x = affine_map<(m, n, k) -> (m, k)>
#map_w = affine_map<(m, n, k) -> (n, k)>
#map_y = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @gemm
// CHECK: linalg.generic
// CHECK-SAME: attrs = {hymir.library_call = "gemm", hymir.precision = "f32"}
func.func @gemm(%x: tensor<4x8xf32>, %w: tensor<6x8xf32>,
                %init: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %y = linalg.generic {indexing_maps = [#map_x, #map_w, #map_y],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x8xf32>, tensor<6x8xf32>)
      outs(%init : tensor<4x6xf32>)
      attrs = {hymir.library_call = "gemm", hymir.precision = "f32"} {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func.func @markers
// CHECK-SAME: attributes {hymir.kernel}
// CHECK: scf.for
// CHECK: } {hymir.lightning = "blocks"}
// CHECK: scf.for
// CHECK: } {hymir.moe = "gate-up-wgmma"}
func.func @markers(%n: index) attributes {hymir.kernel} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
  } {hymir.lightning = "blocks"}
  scf.for %i = %c0 to %n step %c1 {
  } {hymir.moe = "gate-up-wgmma"}
  return
}
