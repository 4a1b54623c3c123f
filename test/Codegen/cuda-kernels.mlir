// The cuda target: kernels become PTX for sm_90a through NVVM.
// RUN: hymir-opt %s -hymir-kernel-form -hymir-cuda-kernels | FileCheck %s

// CHECK:       gpu.binary @rope_kernel
// CHECK-SAME:    #nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">
// CHECK-SAME:    .target sm_90a
// CHECK-SAME:    .visible .entry rope_kernel(
func.func @rope(%x: tensor<1x?x2x16xbf16>, %p: tensor<1x?xi32>) -> tensor<1x?x2x16xbf16> {
  %y = hymir.rope %x, %p {rotary_dim = 8 : i64, theta = 1.0e+04 : f64} : (tensor<1x?x2x16xbf16>, tensor<1x?xi32>) -> tensor<1x?x2x16xbf16>
  return %y : tensor<1x?x2x16xbf16>
}

// An embedding flags its run-time check with 64-bit atomics on the check
// words (the lowest position wins; the bound is the table size).
// CHECK:       gpu.binary @embedding_kernel
// CHECK-SAME:    atom.global.min.s64
// CHECK-SAME:    atom.global.max.s64
func.func @embedding(%t: tensor<100x16xf32>, %ids: tensor<?xi32>) -> tensor<?x16xf32> {
  %y = hymir.embedding %t, %ids : (tensor<100x16xf32>, tensor<?xi32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
