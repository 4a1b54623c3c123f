// Experts stored one tensor each (hymir-import of a checkpoint's per-expert
// tensors: each given a leading unit dim and stacked by tensor.concat) are
// split across the devices, not computed whole on each: a stack of
// parameters no use has decided is left for the moe, which takes its parts
// along the intermediate dim (tensor parallel): each expert's w1 and w3 split
// along dim 0 and its w2 along dim 1 (hymir.shard_dim on every parameter),
// the parts stacked again, one all_reduce of the result; at 2, 4 and 8
// devices. Expert parallelism would need a device to hold a subset of the
// parameters, which a plan cannot say: forced, it is an error that says
// what to do instead.
// RUN: hymir-opt %s --hymir-shard=devices=2 | FileCheck %s --check-prefixes=CHECK,D2
// RUN: hymir-opt %s --hymir-shard=devices=4 | FileCheck %s --check-prefixes=CHECK,D4
// RUN: hymir-opt %s --hymir-shard="devices=8 moe=tensor" | FileCheck %s --check-prefixes=CHECK,D8
// RUN: not hymir-opt %s --hymir-shard="devices=4 moe=expert" 2>&1 | FileCheck %s --check-prefix=FORCED

// CHECK-LABEL: func.func @per_expert
// CHECK-SAME: {hymir.name = "router", hymir.param}
// D2-SAME: %arg2: tensor<4x8xf32> {hymir.name = "experts.0.w1", hymir.param, hymir.shard_dim = 0 : i64}
// D4-SAME: %arg2: tensor<2x8xf32> {hymir.name = "experts.0.w1", hymir.param, hymir.shard_dim = 0 : i64}
// D8-SAME: %arg2: tensor<1x8xf32> {hymir.name = "experts.0.w1", hymir.param, hymir.shard_dim = 0 : i64}
// D4-SAME: %arg13: tensor<8x2xf32> {hymir.name = "experts.3.w2", hymir.param, hymir.shard_dim = 1 : i64}
// CHECK-NOT: hymir.all_gather
// D4: %[[W1:.*]] = tensor.concat dim(0) {{.*}} -> tensor<4x2x8xf32>
// D4: %[[W3:.*]] = tensor.concat dim(0) {{.*}} -> tensor<4x2x8xf32>
// D4: %[[W2:.*]] = tensor.concat dim(0) {{.*}} -> tensor<4x8x2xf32>
// D4: %[[Y:.*]] = hymir.moe %arg0, %arg1, %[[W1]], %[[W3]], %[[W2]]
// CHECK: hymir.all_reduce
// CHECK-NOT: tensor<4x8x8xf32>

// FORCED: error: hymir-shard: hymir.moe cannot be expert parallel over 4 devices: its experts are separate parameters (one tensor each, stacked in the graph)
func.func @per_expert(%x: tensor<?x8xf32> {hymir.name = "x"}, %r: tensor<4x8xf32> {hymir.name = "router", hymir.param}, %w1_0: tensor<8x8xf32> {hymir.name = "experts.0.w1", hymir.param}, %w1_1: tensor<8x8xf32> {hymir.name = "experts.1.w1", hymir.param}, %w1_2: tensor<8x8xf32> {hymir.name = "experts.2.w1", hymir.param}, %w1_3: tensor<8x8xf32> {hymir.name = "experts.3.w1", hymir.param}, %w3_0: tensor<8x8xf32> {hymir.name = "experts.0.w3", hymir.param}, %w3_1: tensor<8x8xf32> {hymir.name = "experts.1.w3", hymir.param}, %w3_2: tensor<8x8xf32> {hymir.name = "experts.2.w3", hymir.param}, %w3_3: tensor<8x8xf32> {hymir.name = "experts.3.w3", hymir.param}, %w2_0: tensor<8x8xf32> {hymir.name = "experts.0.w2", hymir.param}, %w2_1: tensor<8x8xf32> {hymir.name = "experts.1.w2", hymir.param}, %w2_2: tensor<8x8xf32> {hymir.name = "experts.2.w2", hymir.param}, %w2_3: tensor<8x8xf32> {hymir.name = "experts.3.w2", hymir.param}) -> (tensor<?x8xf32> {hymir.name = "y"}) {
  %w1e0 = tensor.expand_shape %w1_0 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w1e1 = tensor.expand_shape %w1_1 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w1e2 = tensor.expand_shape %w1_2 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w1e3 = tensor.expand_shape %w1_3 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w1 = tensor.concat dim(0) %w1e0, %w1e1, %w1e2, %w1e3 : (tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<4x8x8xf32>
  %w3e0 = tensor.expand_shape %w3_0 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w3e1 = tensor.expand_shape %w3_1 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w3e2 = tensor.expand_shape %w3_2 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w3e3 = tensor.expand_shape %w3_3 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w3 = tensor.concat dim(0) %w3e0, %w3e1, %w3e2, %w3e3 : (tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<4x8x8xf32>
  %w2e0 = tensor.expand_shape %w2_0 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w2e1 = tensor.expand_shape %w2_1 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w2e2 = tensor.expand_shape %w2_2 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w2e3 = tensor.expand_shape %w2_3 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w2 = tensor.concat dim(0) %w2e0, %w2e1, %w2e2, %w2e3 : (tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<4x8x8xf32>
  %m = hymir.moe %x, %r, %w1, %w3, %w2 {top_k = 2 : i64} : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4x8x8xf32>, tensor<4x8x8xf32>, tensor<4x8x8xf32>) -> tensor<?x8xf32>
  return %m : tensor<?x8xf32>
}

// A later entry sharing the parameters takes the parts the first one split
// (no gather); one that needs the stack whole gathers each expert.
// CHECK-LABEL: func.func @again
// CHECK-NOT: hymir.all_gather
// D4: hymir.moe %arg0, %arg1, %{{.*}}, %{{.*}}, %{{.*}} {top_k = 2 : i64} : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4x2x8xf32>, tensor<4x2x8xf32>, tensor<4x8x2xf32>)
// CHECK: hymir.all_reduce
// CHECK-LABEL: func.func @whole
// D4-SAME: %arg0: tensor<2x8xf32> {hymir.name = "experts.0.w1", hymir.param, hymir.shard_dim = 0 : i64}
// CHECK: hymir.all_gather %arg0 {dim = 0 : i64}
// CHECK: hymir.all_gather %arg1 {dim = 0 : i64}
// CHECK: tensor.concat dim(0) {{.*}} -> tensor<2x8x8xf32>
func.func @again(%x: tensor<?x8xf32> {hymir.name = "x"}, %r: tensor<4x8xf32> {hymir.name = "router", hymir.param}, %w1_0: tensor<8x8xf32> {hymir.name = "experts.0.w1", hymir.param}, %w1_1: tensor<8x8xf32> {hymir.name = "experts.1.w1", hymir.param}, %w1_2: tensor<8x8xf32> {hymir.name = "experts.2.w1", hymir.param}, %w1_3: tensor<8x8xf32> {hymir.name = "experts.3.w1", hymir.param}, %w3_0: tensor<8x8xf32> {hymir.name = "experts.0.w3", hymir.param}, %w3_1: tensor<8x8xf32> {hymir.name = "experts.1.w3", hymir.param}, %w3_2: tensor<8x8xf32> {hymir.name = "experts.2.w3", hymir.param}, %w3_3: tensor<8x8xf32> {hymir.name = "experts.3.w3", hymir.param}, %w2_0: tensor<8x8xf32> {hymir.name = "experts.0.w2", hymir.param}, %w2_1: tensor<8x8xf32> {hymir.name = "experts.1.w2", hymir.param}, %w2_2: tensor<8x8xf32> {hymir.name = "experts.2.w2", hymir.param}, %w2_3: tensor<8x8xf32> {hymir.name = "experts.3.w2", hymir.param}) -> (tensor<?x8xf32> {hymir.name = "y"}) {
  %w1e0 = tensor.expand_shape %w1_0 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w1e1 = tensor.expand_shape %w1_1 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w1e2 = tensor.expand_shape %w1_2 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w1e3 = tensor.expand_shape %w1_3 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w1 = tensor.concat dim(0) %w1e0, %w1e1, %w1e2, %w1e3 : (tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<4x8x8xf32>
  %w3e0 = tensor.expand_shape %w3_0 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w3e1 = tensor.expand_shape %w3_1 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w3e2 = tensor.expand_shape %w3_2 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w3e3 = tensor.expand_shape %w3_3 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w3 = tensor.concat dim(0) %w3e0, %w3e1, %w3e2, %w3e3 : (tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<4x8x8xf32>
  %w2e0 = tensor.expand_shape %w2_0 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w2e1 = tensor.expand_shape %w2_1 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w2e2 = tensor.expand_shape %w2_2 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w2e3 = tensor.expand_shape %w2_3 [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %w2 = tensor.concat dim(0) %w2e0, %w2e1, %w2e2, %w2e3 : (tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<4x8x8xf32>
  %m = hymir.moe %x, %r, %w1, %w3, %w2 {top_k = 2 : i64} : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4x8x8xf32>, tensor<4x8x8xf32>, tensor<4x8x8xf32>) -> tensor<?x8xf32>
  return %m : tensor<?x8xf32>
}
func.func @whole(%a: tensor<8x8xf32> {hymir.name = "experts.0.w1", hymir.param}, %b: tensor<8x8xf32> {hymir.name = "experts.1.w1", hymir.param}) -> (tensor<2x8x8xf32> {hymir.name = "w"}) {
  %ea = tensor.expand_shape %a [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %eb = tensor.expand_shape %b [[0, 1], [2]] output_shape [1, 8, 8] : tensor<8x8xf32> into tensor<1x8x8xf32>
  %c = tensor.concat dim(0) %ea, %eb : (tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<2x8x8xf32>
  return %c : tensor<2x8x8xf32>
}
