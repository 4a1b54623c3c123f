// RUN: hymir-opt %s -split-input-file --hymir-moe-layout-to-gpu | FileCheck %s

// hymir.moe_route with a dynamic token count: up to 64 tokens one kernel
// (one block of 1024 threads: warp w routes tokens w, w + 32, ...; then the
// layout phases on the picks it stored), above two (one warp a token over
// (T + 7) / 8 blocks of 256 threads, then the layout block), each set under
// its token guard. A warp routes a token with the cpu lowering's arithmetic:
// a maximumf butterfly, the fma-based exponential (no math.exp), the sum
// broadcast lane by lane in expert order (shuffle idx from lane 0 up), the
// probabilities by division, top-k rounds by a (value, expert) butterfly,
// the renormalising division; lane 0 stores picks and weights.
// CHECK-LABEL: func.func @route
// CHECK-NOT: math.exp
// CHECK-DAG: %[[PICKS:.*]] = memref.alloc(%[[T:.*]]) : memref<?x2xi32>
// CHECK-DAG: %[[WEIGHTS:.*]] = memref.alloc(%[[T]]) : memref<?x2xf32>
// CHECK-DAG: %[[SORTED:.*]] = memref.alloc(%{{.*}}) : memref<?xi32>
// CHECK-DAG: %[[OFFSETS:.*]] = memref.alloc() : memref<5xi32>
// CHECK-DAG: %[[SLOTS:.*]] = memref.alloc(%[[T]]) : memref<?x2xi32>
// CHECK: hymir.token_guard tokens in [0, 64] {
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c1024{{.*}}) dynamic_shared_memory_size %c32_i32
// CHECK: scf.for
// CHECK: gpu.shuffle  xor
// CHECK: arith.maximumf
// CHECK: math.fma
// CHECK: gpu.shuffle  idx %{{.*}}, %c0_i32
// CHECK: gpu.shuffle  idx %{{.*}}, %c3_i32
// CHECK: arith.divf
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf oeq
// CHECK: gpu.shuffle  xor
// CHECK: arith.divf
// CHECK: arith.divf
// CHECK: memref.store %{{.*}}, %[[PICKS]]
// CHECK: memref.store %{{.*}}, %[[WEIGHTS]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[PICKS]]
// CHECK: memref.atomic_rmw addi
// CHECK: gpu.barrier
// CHECK: gpu.shuffle  up
// CHECK: memref.store %{{.*}}, %[[OFFSETS]]
// CHECK: gpu.barrier
// CHECK: memref.atomic_rmw addi
// CHECK: memref.store %{{.*}}, %[[SORTED]]
// CHECK: memref.store %{{.*}}, %[[SLOTS]]
// CHECK: } {hymir.moe = "route"}
// CHECK: hymir.token_guard tokens in [65, -1] {
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256
// CHECK: memref.store %{{.*}}, %[[PICKS]]
// CHECK: } {hymir.moe = "route"}
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c1024{{.*}}) dynamic_shared_memory_size %c32_i32
// CHECK: memref.load %[[PICKS]]
// CHECK: } {hymir.moe = "layout"}
// CHECK: bufferization.to_tensor %[[WEIGHTS]]
// CHECK-NOT: hymir.moe_route
func.func @route(%logits: tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>) {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 4 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  return %s, %o, %l, %w : tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>
}

// -----

// A static token count takes one variant and no guard: 7 tokens the one
// kernel; 40 experts are two lanes' chunks (experts l and l + 32), the sum
// running over all 40 in order; without renormalize the weights are the
// probabilities (one division per chunk, none after the rounds).
// CHECK-LABEL: func.func @static_small
// CHECK-NOT: hymir.token_guard
// CHECK: gpu.launch
// CHECK: gpu.shuffle  idx %{{.*}}, %c31_i32
// CHECK: gpu.shuffle  idx %{{.*}}, %c7_i32
// CHECK: } {hymir.moe = "route"}
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @static_small(%logits: tensor<7x40xf32>) -> (tensor<?xi32>, tensor<41xi32>, tensor<7x1xi32>, tensor<7x1xf32>) {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 1 : i64, tile = 1 : i64, renormalize = false}
      : (tensor<7x40xf32>) -> (tensor<?xi32>, tensor<41xi32>, tensor<7x1xi32>, tensor<7x1xf32>)
  return %s, %o, %l, %w : tensor<?xi32>, tensor<41xi32>, tensor<7x1xi32>, tensor<7x1xf32>
}

// -----

// 100 static tokens: the routing kernel over (T + 7) / 8 blocks of 256
// threads, then the layout kernel; no guard.
// CHECK-LABEL: func.func @static_large
// CHECK-NOT: hymir.token_guard
// CHECK: %[[BLOCKS:.*]] = arith.divui %{{.*}}, %c8
// CHECK: gpu.launch {{.*}} in (%{{.*}} = %[[BLOCKS]], {{.*}} threads({{.*}}) in ({{.*}} = %c256
// CHECK: } {hymir.moe = "route"}
// CHECK: gpu.launch
// CHECK: } {hymir.moe = "layout"}
func.func @static_large(%logits: tensor<100x8xf32>) -> (tensor<?xi32>, tensor<9xi32>, tensor<100x2xi32>, tensor<100x2xf32>) {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 1 : i64}
      : (tensor<100x8xf32>) -> (tensor<?xi32>, tensor<9xi32>, tensor<100x2xi32>, tensor<100x2xf32>)
  return %s, %o, %l, %w : tensor<?xi32>, tensor<9xi32>, tensor<100x2xi32>, tensor<100x2xf32>
}
