// RUN: hymir-opt %s --split-input-file --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --canonicalize | FileCheck %s

// A writable cache argument is written in place: no allocation, no copy;
// only the rows at lengths[b] - T + t inside [0, C) are stored.
// CHECK-LABEL: func.func @in_place
// CHECK-SAME: (%[[CACHE:.*]]: memref<2x16x2x4xf32>, %[[UPDATE:.*]]: memref<2x3x2x4xf32>, %[[LEN:.*]]: memref<2xi32>)
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: scf.parallel (%[[B:.*]], %[[T:.*]], %[[H:.*]], %[[D:.*]]) = {{.*}} to (%c2, %c3, %c2, %c4)
// CHECK:   %[[L:.*]] = memref.load %[[LEN]][%[[B]]]
// CHECK:   arith.cmpi sge
// CHECK:   arith.cmpi slt
// CHECK:   scf.if
// CHECK:     %[[X:.*]] = memref.load %[[UPDATE]][%[[B]], %[[T]], %[[H]], %[[D]]]
// CHECK:     memref.store %[[X]], %[[CACHE]][%[[B]], %{{.*}}, %[[H]], %[[D]]]
// CHECK: return %[[CACHE]]
func.func @in_place(%cache: tensor<2x16x2x4xf32> {bufferization.writable = true},
                    %u: tensor<2x3x2x4xf32>, %len: tensor<2xi32>)
    -> tensor<2x16x2x4xf32> {
  %r = hymir.kv_cache_write %cache, %u, %len
      : (tensor<2x16x2x4xf32>, tensor<2x3x2x4xf32>, tensor<2xi32>)
      -> tensor<2x16x2x4xf32>
  return %r : tensor<2x16x2x4xf32>
}

// -----

// A read-only cache is copied first, then written: the argument keeps its
// value.
// CHECK-LABEL: func.func @copied
// CHECK: %[[NEW:.*]] = memref.alloc() {{.*}} : memref<2x16x2x4xf32>
// CHECK: memref.copy %arg0, %[[NEW]]
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %[[NEW]]
func.func @copied(%cache: tensor<2x16x2x4xf32> {bufferization.writable = false},
                  %u: tensor<2x3x2x4xf32>, %len: tensor<2xi32>)
    -> tensor<2x16x2x4xf32> {
  %r = hymir.kv_cache_write %cache, %u, %len
      : (tensor<2x16x2x4xf32>, tensor<2x3x2x4xf32>, tensor<2xi32>)
      -> tensor<2x16x2x4xf32>
  return %r : tensor<2x16x2x4xf32>
}
