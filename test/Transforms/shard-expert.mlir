// RUN: hymir-opt %s --hymir-shard=devices=4 -split-input-file | FileCheck %s --check-prefix=AUTO
// RUN: hymir-opt %s --hymir-shard="devices=4 moe=tensor" -split-input-file | FileCheck %s --check-prefix=TENSOR
// RUN: not hymir-opt %s --hymir-shard="devices=4 moe=expert" -split-input-file 2>/dev/null | FileCheck %s --check-prefix=FORCED
// RUN: not hymir-opt %s --hymir-shard="devices=4 moe=expert" -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=FORCED-ERR
// RUN: not hymir-opt %s --hymir-shard="devices=4 moe=experts" 2>&1 | FileCheck %s --check-prefix=BAD

// Expert parallelism of hymir.moe (hymir-shard's rule): a static token
// count divisible by the devices and E = 8 over 4 devices make the first
// function expert parallel (all_to_all); the second (dynamic tokens) stays
// tensor parallel under the rule, and forced experts there keep the tokens
// replicated (each device its own experts' picks, by hymir.device_index,
// then an all_reduce); 6 experts over 4 devices cannot be split.

// AUTO-LABEL: func.func @static_tokens
// AUTO-SAME: %arg0: tensor<4x16xf32> {hymir.name = "x", hymir.shard_dim = 0 : i64}
// AUTO-SAME: %arg1: tensor<8x16xf32> {hymir.param}
// AUTO-SAME: %arg2: tensor<2x12x16xf32> {hymir.param, hymir.shard_dim = 0 : i64}
// AUTO-SAME: %arg4: tensor<2x16x12xf32> {hymir.param, hymir.shard_dim = 0 : i64}
// AUTO: hymir.linear %arg0, %arg1 {precision = "f32"} : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
// AUTO: hymir.moe_route %{{.*}} {tile = 1 : i64, top_k = 2 : i64} : (tensor<4x8xf32>) -> (tensor<8xi32>, tensor<9xi32>, tensor<4x2xi32>, tensor<4x2xf32>)
// AUTO: %[[ROWS:.*]], %[[RECV:.*]] = hymir.all_to_all %{{.*}}, %[[SEND:.*]] : (tensor<32x16xf32>, tensor<5xi32>) -> (tensor<32x16xf32>, tensor<5xi32>)
// AUTO: hymir.all_to_all %{{.*}}, %[[SEND]] : (tensor<32xi32>, tensor<5xi32>) -> (tensor<32xi32>, tensor<5xi32>)
// AUTO: %[[OUT:.*]] = hymir.routed_experts %[[ROWS]], %{{.*}}, %{{.*}}, %arg2, %arg3, %arg4 : (tensor<32x16xf32>, tensor<32x1xi32>, tensor<32x1xf32>, tensor<2x12x16xf32>, tensor<2x12x16xf32>, tensor<2x16x12xf32>) -> tensor<32x16xf32>
// AUTO: hymir.all_to_all %[[OUT]], %[[RECV]]
// AUTO-NOT: hymir.all_reduce
// AUTO: hymir.all_gather %{{.*}} {dim = 0 : i64} : (tensor<4x16xf32>) -> tensor<16x16xf32>

// TENSOR-LABEL: func.func @static_tokens
// TENSOR-NOT: hymir.all_to_all
// TENSOR: hymir.moe %arg0, %arg1, %arg2, %arg3, %arg4 {top_k = 2 : i64} : (tensor<16x16xf32>, tensor<8x16xf32>, tensor<8x3x16xf32>, tensor<8x3x16xf32>, tensor<8x16x3xf32>) -> tensor<16x16xf32>
// TENSOR: hymir.all_reduce

// BAD: hymir-shard: moe must be auto, expert or tensor, got 'experts'
func.func @static_tokens(%x: tensor<16x16xf32> {hymir.name = "x"},
                         %r: tensor<8x16xf32> {hymir.param},
                         %w1: tensor<8x12x16xf32> {hymir.param},
                         %w3: tensor<8x12x16xf32> {hymir.param},
                         %w2: tensor<8x16x12xf32> {hymir.param}) -> tensor<16x16xf32> {
  %m = hymir.moe %x, %r, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<16x16xf32>, tensor<8x16xf32>, tensor<8x12x16xf32>, tensor<8x12x16xf32>, tensor<8x16x12xf32>) -> tensor<16x16xf32>
  %y = arith.addf %x, %m : tensor<16x16xf32>
  return %y : tensor<16x16xf32>
}

// -----

// AUTO-LABEL: func.func @dynamic_tokens
// AUTO-NOT: hymir.all_to_all
// AUTO: hymir.moe
// AUTO: hymir.all_reduce

// FORCED-LABEL: func.func @dynamic_tokens
// FORCED-SAME: %arg2: tensor<2x12x16xf32> {hymir.shard_dim = 0 : i64}
// FORCED: %[[L:.*]] = hymir.linear %arg0, %arg1 {precision = "f32"} : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
// FORCED: %[[R:.*]] = hymir.device_index : tensor<1xi32>
// FORCED: %[[OWN:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<?x2xi32>)
// FORCED: tensor.extract %[[R]]
// FORCED: hymir.routed_experts %arg0, %[[OWN]], %{{.*}}, %arg2, %arg3, %arg4 : (tensor<?x16xf32>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<2x12x16xf32>, tensor<2x12x16xf32>, tensor<2x16x12xf32>) -> tensor<?x16xf32>
// FORCED: hymir.all_reduce
func.func @dynamic_tokens(%x: tensor<?x16xf32>, %r: tensor<8x16xf32>,
                          %w1: tensor<8x12x16xf32>, %w3: tensor<8x12x16xf32>,
                          %w2: tensor<8x16x12xf32>) -> tensor<?x16xf32> {
  %m = hymir.moe %x, %r, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x16xf32>, tensor<8x16xf32>, tensor<8x12x16xf32>, tensor<8x12x16xf32>, tensor<8x16x12xf32>) -> tensor<?x16xf32>
  return %m : tensor<?x16xf32>
}

// -----

// FORCED-ERR: error: hymir-shard: hymir.moe cannot be expert parallel over 4 devices: the expert count (6) is not a multiple of the device count
func.func @six_experts(%x: tensor<?x16xf32>, %r: tensor<6x16xf32>,
                       %w1: tensor<6x12x16xf32>, %w3: tensor<6x12x16xf32>,
                       %w2: tensor<6x16x12xf32>) -> tensor<?x16xf32> {
  %m = hymir.moe %x, %r, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x16xf32>, tensor<6x16xf32>, tensor<6x12x16xf32>, tensor<6x12x16xf32>, tensor<6x16x12xf32>) -> tensor<?x16xf32>
  return %m : tensor<?x16xf32>
}
