// RUN: hymir-opt %s --hymir-lower-to-linalg=collectives=true | FileCheck %s
// RUN: hymir-opt %s --hymir-lower-to-linalg | FileCheck %s --check-prefix=KEEP

// hymir.reduce_scatter becomes x with the scattered dim cut into
// [devices, part], the device axis moved outermost (device r's block is
// then contiguous, as the collective reads it) and a generic marked
// "reduce_scatter" summing over that axis (one device's meaning).

// CHECK-DAG: #[[STACK:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[PART:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @scatter_inner
// CHECK: %[[E:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[E]] : tensor<?x4x16xf32>) outs(%{{.*}} : tensor<4x?x16xf32>) permutation = [1, 0, 2]
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[STACK]], #[[PART]]], iterator_types = ["reduction", "parallel", "parallel"]} ins(%[[T]] : tensor<4x?x16xf32>) outs(%{{.*}} : tensor<?x16xf32>) attrs = {hymir.library_call = "reduce_scatter"}
// CHECK: return %[[R]]
// KEEP: hymir.reduce_scatter
func.func @scatter_inner(%x: tensor<?x64xf32>) -> tensor<?x16xf32> {
  %y = hymir.reduce_scatter %x {dim = 1 : i64} : (tensor<?x64xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// Scattering the outermost dim needs no transpose.
// CHECK-LABEL: func.func @scatter_outer
// CHECK: %[[E:.*]] = tensor.expand_shape %arg0 {{\[\[}}0, 1], [2]] output_shape [2, 4, 8] : tensor<8x8xbf16> into tensor<2x4x8xbf16>
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic {{.*}} ins(%[[E]] : tensor<2x4x8xbf16>) outs(%{{.*}} : tensor<4x8xbf16>) attrs = {hymir.library_call = "reduce_scatter"}
func.func @scatter_outer(%x: tensor<8x8xbf16>) -> tensor<4x8xbf16> {
  %y = hymir.reduce_scatter %x {dim = 0 : i64} : (tensor<8x8xbf16>) -> tensor<4x8xbf16>
  return %y : tensor<4x8xbf16>
}

// A slice (a view that may be strided) is copied before a collective reads
// it.
// CHECK-LABEL: func.func @gather_slice
// CHECK: %[[S:.*]] = tensor.extract_slice
// CHECK: %[[C:.*]] = linalg.copy ins(%[[S]] : tensor<4x2x16xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[C]] : tensor<4x2x16xf32>) {{.*}} attrs = {hymir.library_call = "all_gather"}
func.func @gather_slice(%x: tensor<4x2x48xf32>) -> tensor<4x4x16xf32> {
  %s = tensor.extract_slice %x[0, 0, 16] [4, 2, 16] [1, 1, 1] : tensor<4x2x48xf32> to tensor<4x2x16xf32>
  %g = hymir.all_gather %s {dim = 1 : i64} : (tensor<4x2x16xf32>) -> tensor<4x4x16xf32>
  return %g : tensor<4x4x16xf32>
}
