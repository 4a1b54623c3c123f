// RUN: hymir-opt %s --hymir-lower-to-linalg=collectives=true | FileCheck %s
// RUN: hymir-opt %s --hymir-lower-to-linalg | FileCheck %s --check-prefix=KEEP

// Collectives become generics marked for the plan, read as one device's
// meaning over an outer device axis: all_reduce sums a [1, ...] stack of
// the contribution; all_gather stacks [devices, ...] copies, then moves the
// device axis next to the gathered dim and merges the two.

// CHECK-DAG: #[[STACK:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[SUM:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @collectives
// CHECK: %[[E:.*]] = tensor.expand_shape %arg0 {{\[\[}}0, 1], [2]] output_shape [1, %{{.*}}, 16] : tensor<?x16xbf16> into tensor<1x?x16xbf16>
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[STACK]], #[[SUM]]], iterator_types = ["reduction", "parallel", "parallel"]} ins(%[[E]] : tensor<1x?x16xbf16>) outs(%{{.*}} : tensor<?x16xbf16>) attrs = {hymir.library_call = "all_reduce"}
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<1x2x4x4xf32>) outs(%{{.*}} : tensor<2x1x2x4x4xf32>) attrs = {hymir.library_call = "all_gather"}
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[G]] : tensor<2x1x2x4x4xf32>) {{.*}} permutation = [1, 0, 2, 3, 4]
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[T]] {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x2x2x4x4xf32> into tensor<1x4x4x4xf32>
// CHECK: return %[[R]], %[[C]]
// KEEP: hymir.all_reduce
// KEEP: hymir.all_gather
func.func @collectives(%x: tensor<?x16xbf16>, %s: tensor<1x2x4x4xf32>) -> (tensor<?x16xbf16>, tensor<1x4x4x4xf32>) {
  %y = hymir.all_reduce %x : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  %g = hymir.all_gather %s {dim = 1 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %y, %g : tensor<?x16xbf16>, tensor<1x4x4x4xf32>
}

// Gathering the outermost dim needs no transpose.
// CHECK-LABEL: func.func @gather_outer
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x3x8xf32>) attrs = {hymir.library_call = "all_gather"}
// CHECK-NOT: linalg.transpose
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<4x3x8xf32> into tensor<12x8xf32>
func.func @gather_outer(%x: tensor<3x8xf32>) -> tensor<12x8xf32> {
  %g = hymir.all_gather %x {dim = 0 : i64} : (tensor<3x8xf32>) -> tensor<12x8xf32>
  return %g : tensor<12x8xf32>
}
