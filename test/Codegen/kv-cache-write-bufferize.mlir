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

// -----

// The update's RoPE in the store loop: the position of the row, cos and sin
// of its angle in f32, the partner channel read from the update buffer, one
// rounding to bf16 before the store; no rotated copy of the update.
// CHECK-LABEL: func.func @rope
// CHECK-SAME: (%[[CACHE:.*]]: memref<2x16x2x8xbf16>, %[[UPDATE:.*]]: memref<2x3x2x8xbf16>, %[[LEN:.*]]: memref<2xi32>, %[[POS:.*]]: memref<2x3xi32>)
// CHECK-NOT: memref.alloc
// CHECK: scf.parallel (%[[B:.*]], %[[T:.*]], %[[H:.*]], %[[D:.*]]) = {{.*}} to (%c2, %c3, %c2, %c8)
// CHECK:   scf.if
// CHECK:     %[[P:.*]] = memref.load %[[POS]][%[[B]], %[[T]]]
// CHECK:     arith.sitofp %[[P]] : i32 to f32
// CHECK:     math.cos
// CHECK:     math.sin
// CHECK:     memref.load %[[UPDATE]][%[[B]], %[[T]], %[[H]], %[[D]]]
// CHECK:     memref.load %[[UPDATE]][%[[B]], %[[T]], %[[H]], %{{.*}}]
// CHECK:     %[[R:.*]] = arith.truncf %{{.*}} : f32 to bf16
// CHECK:     memref.store %[[R]], %[[CACHE]][%[[B]], %{{.*}}, %[[H]], %[[D]]]
// CHECK: return %[[CACHE]]
func.func @rope(%cache: tensor<2x16x2x8xbf16> {bufferization.writable = true},
                %u: tensor<2x3x2x8xbf16>, %len: tensor<2xi32>,
                %pos: tensor<2x3xi32>) -> tensor<2x16x2x8xbf16> {
  %r = hymir.kv_cache_write %cache, %u, %len positions(%pos)
      {rotary_dim = 4 : i64, theta = 1.0e4 : f64}
      : (tensor<2x16x2x8xbf16>, tensor<2x3x2x8xbf16>, tensor<2xi32>,
         tensor<2x3xi32>) -> tensor<2x16x2x8xbf16>
  return %r : tensor<2x16x2x8xbf16>
}
