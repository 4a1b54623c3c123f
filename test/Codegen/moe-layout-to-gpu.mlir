// RUN: hymir-opt %s -split-input-file --hymir-moe-layout-to-gpu=fused-routing=false | FileCheck %s

// With fused-routing=false (the fused kernel: moe-route-kernel.mlir)
// hymir.moe_route has its routing as linalg (softmax, top-k), then the
// grouped layout from one block of 1024 threads with 2 E i32 of shared
// memory (counts, cursors): counts and cursors by shared-memory atomics,
// the group starts (rounded up to the tile, 4 here) by a scan in warp 0. The offsets
// [E + 1] and slots [T, K] are allocated static and cast to the result
// types.
// CHECK-LABEL: func.func @route
// CHECK: linalg.generic
// CHECK: %[[PICKS:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<?x2xi32> to memref<?x2xi32>
// CHECK: %[[SORTED:.*]] = memref.alloc(%{{.*}}) : memref<?xi32>
// CHECK: %[[OFFSETS:.*]] = memref.alloc() : memref<5xi32>
// CHECK: %[[SLOTS:.*]] = memref.alloc(%{{.*}}) : memref<?x2xi32>
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c1024{{.*}}) dynamic_shared_memory_size %c32_i32
// CHECK: memref.atomic_rmw addi
// CHECK: arith.constant 3 : i32
// CHECK: memref.atomic_rmw addi
// CHECK: } {hymir.moe = "layout"}
// CHECK: bufferization.to_tensor %[[OFFSETS]]
// CHECK-NOT: hymir.moe_route
func.func @route(%logits: tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>) {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 4 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  return %s, %o, %l, %w : tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>
}

// -----

// hymir.moe_layout of given picks: the same kernel, no routing.
// CHECK-LABEL: func.func @layout
// CHECK-NOT: linalg.generic
// CHECK: gpu.launch
// CHECK: } {hymir.moe = "layout"}
// CHECK-NOT: hymir.moe_layout
func.func @layout(%picks: tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>) {
  %s, %o, %l = hymir.moe_layout %picks {num_experts = 4 : i64, tile = 1 : i64}
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
  return %s, %o, %l : tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>
}
