// RUN: hymir-opt %s --hymir-lower-to-linalg | FileCheck %s

// The routing: the shared softmax/top-k generics, the rounds as
// [T, top_k] columns, the renormalisation, then the counting sort in one
// task (a one-iteration forall of sequential loops over tokens and
// choices) writing the layout, the offsets and the slots.
// CHECK-LABEL: func.func @route
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins({{.*}} : tensor<?xf32>, tensor<?xf32>, tensor<?xi64>, tensor<?xi64>) outs({{.*}} : tensor<?x2xi32>, tensor<?x2xf32>)
// CHECK: %[[FILL:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%{{.*}} : tensor<?xi32>)
// CHECK: scf.forall (%{{.*}}) in (1) shared_outs(%{{.*}} = %[[FILL]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
// CHECK: scf.for
// CHECK: scf.for
// CHECK: tensor.insert
// CHECK: scf.forall.in_parallel
// CHECK: } {hymir.moe = "route", mapping = [#gpu.block<x>]}
func.func @route(%logits: tensor<?x4xf32>)
    -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>) {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 8 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  return %s, %o, %l, %w : tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>
}

// The experts: each row's expert from the offsets, the routed rows of x
// gathered, gate and up products in one reduction, the SwiGLU, the down
// product, then the weighted combine through the slots and one rounding.
// CHECK-LABEL: func.func @experts
// CHECK: linalg.generic {{.*}} ins(%arg2 : tensor<5xi32>) outs({{.*}} : tensor<?xi32>)
// CHECK: linalg.generic {{.*}} ins(%arg1 : tensor<?xi32>) outs({{.*}} : tensor<?x32xf32>)
// CHECK: tensor.extract %arg0
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} {{.*}} outs({{.*}} : tensor<?x16xf32>, tensor<?x16xf32>)
// CHECK: tensor.extract %arg5
// CHECK: tensor.extract %arg6
// CHECK: math.exp
// CHECK: linalg.generic {{.*}} outs({{.*}} : tensor<?x32xf32>)
// CHECK: tensor.extract %arg7
// CHECK: linalg.generic {{.*}} ins(%arg4, %arg3 : tensor<?x2xf32>, tensor<?x2xi32>) outs({{.*}} : tensor<?x32xf32>)
// CHECK: arith.truncf {{.*}} : f32 to bf16
func.func @experts(%x: tensor<?x32xbf16>, %sorted: tensor<?xi32>, %offsets: tensor<5xi32>,
                   %slots: tensor<?x2xi32>, %weights: tensor<?x2xf32>, %w1: tensor<4x16x32xbf16>,
                   %w3: tensor<4x16x32xbf16>, %w2: tensor<4x32x16xbf16>) -> tensor<?x32xbf16> {
  %y = hymir.moe_experts %x, %sorted, %offsets, %slots, %weights, %w1, %w3, %w2
      : (tensor<?x32xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xbf16>, tensor<4x16x32xbf16>, tensor<4x32x16xbf16>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// hymir.top_k: k rounds of "the largest unpicked entry" over the input as
// it is (bf16 compared in f32, the picked values rounded back exactly),
// gathered into [T, k] columns.
// CHECK-LABEL: func.func @top_k
// CHECK-COUNT-2: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%arg0, %{{.*}} : tensor<?x6xbf16>, tensor<?x6xf32>) outs({{.*}} : tensor<?xf32>, tensor<?xi64>)
// CHECK: linalg.generic {{.*}} outs({{.*}} : tensor<?x2xi32>, tensor<?x2xf32>)
// CHECK: arith.truncf {{.*}} : f32 to bf16
// CHECK-NOT: hymir.top_k
func.func @top_k(%x: tensor<?x6xbf16>) -> (tensor<?x2xbf16>, tensor<?x2xi32>) {
  %v, %i = hymir.top_k %x {k = 2 : i64} : (tensor<?x6xbf16>) -> (tensor<?x2xbf16>, tensor<?x2xi32>)
  return %v, %i : tensor<?x2xbf16>, tensor<?x2xi32>
}

// hymir.moe_layout: the counting sort of hymir.moe_route on given picks;
// a pick outside [0, E) takes the branch that only writes slot -1.
// CHECK-LABEL: func.func @layout
// CHECK: scf.forall (%{{.*}}) in (1) shared_outs
// CHECK: scf.if
// CHECK: } else {
// CHECK: } {hymir.moe = "route", mapping = [#gpu.block<x>]}
// CHECK-NOT: hymir.moe_layout
func.func @layout(%i: tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>) {
  %s, %o, %l = hymir.moe_layout %i {num_experts = 4 : i64, tile = 8 : i64}
      : (tensor<?x2xi32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>)
  return %s, %o, %l : tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>
}
