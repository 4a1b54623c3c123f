// RUN: hymir-opt %s -split-input-file --hymir-shard=devices=2 | FileCheck %s

// Tied arguments split by heads with the attention that updates them: a
// lightning state (dim 1 of [B, H, D, D]) and the KV caches (dim 2 of [B, C,
// H, D]). Each device updates its part and returns it into its part of the
// argument (hymir.shard_dim on the argument; the tied result has the part's
// type); nothing is gathered.

// A decode step's lightning layer: the state is split along dim 1 (found
// through the generic that keeps idle slots' old state), the slopes read
// in parts, the mask generic runs on the parts (its [B] operand whole).
// CHECK-LABEL: func.func @lightning_state
// CHECK-SAME: %arg3: tensor<2x2x4x4xf32> {hymir.name = "state", hymir.shard_dim = 1 : i64}
// CHECK-SAME: -> (tensor<2x1x4x4xf32>, tensor<2x2x4x4xf32> {hymir.tied = 3 : i64})
// CHECK-NOT: hymir.all_gather
// CHECK: %[[OUT:.*]], %[[FINAL:.*]] = hymir.lightning_attention %arg0, %arg1, %arg2, %{{.*}} initial_state(%arg3) : (tensor<2x1x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2xf32>, tensor<2x2x4x4xf32>) -> (tensor<2x1x2x4xf32>, tensor<2x2x4x4xf32>)
// CHECK: %[[NEW:.*]] = linalg.generic {{.*}} ins(%[[FINAL]], %arg3, %arg4 : tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2xi32>) outs(%{{.*}} : tensor<2x2x4x4xf32>)
// CHECK: %[[O:.*]] = hymir.all_gather %[[OUT]] {dim = 2 : i64}
// CHECK: return %[[O]], %[[NEW]] : tensor<2x1x4x4xf32>, tensor<2x2x4x4xf32>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#slot = affine_map<(d0, d1, d2, d3) -> (d0)>
func.func @lightning_state(%q: tensor<2x1x4x4xf32>, %k: tensor<2x1x4x4xf32>,
                           %v: tensor<2x1x4x4xf32>,
                           %state: tensor<2x4x4x4xf32> {hymir.name = "state"},
                           %active: tensor<2xi32>)
    -> (tensor<2x1x4x4xf32>, tensor<2x4x4x4xf32> {hymir.tied = 3 : i64}) {
  %slopes = arith.constant dense<[0.5, 0.25, 0.125, 0.0625]> : tensor<4xf32>
  %out, %final = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state) : (tensor<2x1x4x4xf32>, tensor<2x1x4x4xf32>, tensor<2x1x4x4xf32>, tensor<4xf32>, tensor<2x4x4x4xf32>) -> (tensor<2x1x4x4xf32>, tensor<2x4x4x4xf32>)
  %e = tensor.empty() : tensor<2x4x4x4xf32>
  %c0 = arith.constant 0 : i32
  %new = linalg.generic {indexing_maps = [#id, #id, #slot, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%final, %state, %active : tensor<2x4x4x4xf32>, tensor<2x4x4x4xf32>, tensor<2xi32>) outs(%e : tensor<2x4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %n: i32, %o: f32):
    %on = arith.cmpi sgt, %n, %c0 : i32
    %s = arith.select %on, %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4x4x4xf32>
  return %out, %new : tensor<2x1x4x4xf32>, tensor<2x4x4x4xf32>
}

// -----

// A softmax layer's KV caches: both written by hymir.kv_cache_write and
// attended over, split along dim 2 (heads); the lengths are whole. The
// tied cache lengths (no heads) stay whole.
// CHECK-LABEL: func.func @kv_caches
// CHECK-SAME: %arg2: tensor<2x8x2x4xf32> {hymir.name = "key_cache", hymir.shard_dim = 2 : i64}
// CHECK-SAME: %arg3: tensor<2x8x2x4xf32> {hymir.name = "value_cache", hymir.shard_dim = 2 : i64}
// CHECK-SAME: %arg4: tensor<2xi32> {hymir.name = "lengths"}
// CHECK-NOT: hymir.all_gather
// CHECK: %[[K:.*]] = hymir.kv_cache_write %arg2, %arg0, %arg4 : (tensor<2x8x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2xi32>) -> tensor<2x8x2x4xf32>
// CHECK: %[[V:.*]] = hymir.kv_cache_write %arg3, %arg1, %arg4 : (tensor<2x8x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2xi32>) -> tensor<2x8x2x4xf32>
// CHECK: %[[O:.*]] = hymir.softmax_attention %arg5, %[[K]], %[[V]] lengths(%arg4) {{.*}} -> tensor<2x1x2x4xf32>
// CHECK: %[[WHOLE:.*]] = hymir.all_gather %[[O]] {dim = 2 : i64}
// CHECK: return %[[WHOLE]], %[[K]], %[[V]], %{{.*}} : tensor<2x1x4x4xf32>, tensor<2x8x2x4xf32>, tensor<2x8x2x4xf32>, tensor<2xi32>
func.func @kv_caches(%k: tensor<2x1x4x4xf32>, %v: tensor<2x1x4x4xf32>,
                     %kc: tensor<2x8x4x4xf32> {hymir.name = "key_cache"},
                     %vc: tensor<2x8x4x4xf32> {hymir.name = "value_cache"},
                     %lengths: tensor<2xi32> {hymir.name = "lengths"},
                     %q: tensor<2x1x4x4xf32>)
    -> (tensor<2x1x4x4xf32>, tensor<2x8x4x4xf32> {hymir.tied = 2 : i64},
        tensor<2x8x4x4xf32> {hymir.tied = 3 : i64},
        tensor<2xi32> {hymir.tied = 4 : i64}) {
  %k2 = hymir.kv_cache_write %kc, %k, %lengths : (tensor<2x8x4x4xf32>, tensor<2x1x4x4xf32>, tensor<2xi32>) -> tensor<2x8x4x4xf32>
  %v2 = hymir.kv_cache_write %vc, %v, %lengths : (tensor<2x8x4x4xf32>, tensor<2x1x4x4xf32>, tensor<2xi32>) -> tensor<2x8x4x4xf32>
  %o = hymir.softmax_attention %q, %k2, %v2 lengths(%lengths) {causal = true, scale = 0.5 : f32} : (tensor<2x1x4x4xf32>, tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32>, tensor<2xi32>) -> tensor<2x1x4x4xf32>
  %one = arith.constant dense<1> : tensor<2xi32>
  %next = arith.addi %lengths, %one : tensor<2xi32>
  return %o, %k2, %v2, %next : tensor<2x1x4x4xf32>, tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32>, tensor<2xi32>
}

// -----

// A split state whose update reads the split loop's index cannot keep the
// split in the generic: the state is gathered there and the new value read
// back in parts at the device's offset for the tied result.
// CHECK-LABEL: func.func @index_of_heads
// CHECK-SAME: %arg3: tensor<2x2x4x4xf32> {hymir.name = "state", hymir.shard_dim = 1 : i64}
// CHECK: %[[OUT:.*]], %[[FINAL:.*]] = hymir.lightning_attention
// CHECK: %[[G:.*]] = hymir.all_gather %[[FINAL]] {dim = 1 : i64}
// CHECK: %[[NEW:.*]] = linalg.generic {{.*}} ins(%[[G]] : tensor<2x4x4x4xf32>) outs(%{{.*}} : tensor<2x4x4x4xf32>)
// CHECK: %[[PART:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x2x4x4xf32>)
// CHECK: tensor.extract %[[NEW]]
// CHECK: return %{{.*}}, %[[PART]] : tensor<2x1x4x4xf32>, tensor<2x2x4x4xf32>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @index_of_heads(%q: tensor<2x1x4x4xf32>, %k: tensor<2x1x4x4xf32>,
                          %v: tensor<2x1x4x4xf32>,
                          %state: tensor<2x4x4x4xf32> {hymir.name = "state"})
    -> (tensor<2x1x4x4xf32>, tensor<2x4x4x4xf32> {hymir.tied = 3 : i64}) {
  %slopes = arith.constant dense<[0.5, 0.25, 0.125, 0.0625]> : tensor<4xf32>
  %out, %final = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state) : (tensor<2x1x4x4xf32>, tensor<2x1x4x4xf32>, tensor<2x1x4x4xf32>, tensor<4xf32>, tensor<2x4x4x4xf32>) -> (tensor<2x1x4x4xf32>, tensor<2x4x4x4xf32>)
  %e = tensor.empty() : tensor<2x4x4x4xf32>
  %new = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%final : tensor<2x4x4x4xf32>) outs(%e : tensor<2x4x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %h = linalg.index 1 : index
    %hi = arith.index_cast %h : index to i32
    %hf = arith.sitofp %hi : i32 to f32
    %s = arith.mulf %a, %hf : f32
    linalg.yield %s : f32
  } -> tensor<2x4x4x4xf32>
  return %out, %new : tensor<2x1x4x4xf32>, tensor<2x4x4x4xf32>
}
