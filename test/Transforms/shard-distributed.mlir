// RUN: hymir-opt %s -split-input-file --hymir-shard=devices=2 | FileCheck %s
// RUN: hymir-opt %s -split-input-file --hymir-shard="devices=2 moe=expert" | FileCheck %s --check-prefix=EXPERT

// hymir-shard's rewrites for the whole model: a distributed RMSNorm over a
// split dim, a partial value feeding a split consumer through
// hymir.reduce_scatter, a constant read in parts by device index, and an
// embedding split by vocabulary.

// An RMSNorm over the split (last) dim: each device's sums of squares (and
// of x 2^-100) as [rows, 2], one all_reduce of them, its columns
// normalised by the whole width (64) with its part of the weight (read at
// the device's offset: the parameter stays whole).
// CHECK-LABEL: func.func @distributed_norm
// CHECK-SAME: %arg2: tensor<64xf32>)
// CHECK: %[[H:.*]] = hymir.linear %arg0, %arg1 : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
// CHECK: %[[SS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[H]] : tensor<?x32xf32>) outs(%{{.*}} : tensor<?x2xf32>)
// CHECK: %[[ALL:.*]] = hymir.all_reduce %[[SS]] : (tensor<?x2xf32>) -> tensor<?x2xf32>
// CHECK: %[[W:.*]] = arith.constant 6.400000e+01 : f32
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[H]], %[[ALL]], %[[ALL]], %{{.*}} : tensor<?x32xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<32xf32>) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK: arith.divf %{{.*}}, %[[W]] : f32
// CHECK: math.rsqrt
// CHECK-NOT: hymir.rms_norm
// CHECK: hymir.all_gather %[[Y]] {dim = 1 : i64}
func.func @distributed_norm(%x: tensor<?x64xf32>, %w: tensor<64x64xf32>, %n: tensor<64xf32>) -> tensor<?x64xf32> {
  %h = hymir.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %r = hymir.rms_norm %h, %n {epsilon = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// A row-parallel product (partial) added to a replicated residual: summed by
// a reduce_scatter along the last dim, the residual read in parts at the
// device's offset (device_index), the sum and the norm after it on 1/2 of
// the columns; one all_gather at the return.
// CHECK-LABEL: func.func @partial_residual
// CHECK: %[[R:.*]] = hymir.device_index : tensor<1xi32>
// CHECK: %[[P:.*]] = hymir.linear %{{.*}}, %arg2 : (tensor<?x32xf32>, tensor<64x32xf32>) -> tensor<?x64xf32>
// CHECK: %[[RES:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x32xf32>)
// CHECK: tensor.extract %[[R]]
// CHECK: %[[S:.*]] = hymir.reduce_scatter %[[P]] {dim = 1 : i64} : (tensor<?x64xf32>) -> tensor<?x32xf32>
// CHECK: %[[A:.*]] = arith.addf %[[RES]], %[[S]] : tensor<?x32xf32>
// CHECK: hymir.all_reduce %{{.*}} : (tensor<?x2xf32>) -> tensor<?x2xf32>
// CHECK-NOT: hymir.all_reduce %[[P]]
// CHECK: hymir.all_gather %{{.*}} {dim = 1 : i64} : (tensor<?x32xf32>) -> tensor<?x64xf32>
func.func @partial_residual(%x: tensor<?x64xf32>, %w1: tensor<64x64xf32>, %w2: tensor<64x64xf32>,
                            %n: tensor<64xf32>) -> tensor<?x64xf32> {
  %res = math.exp %x : tensor<?x64xf32>
  %h = hymir.linear %x, %w1 : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %p = hymir.linear %h, %w2 : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %a = arith.addf %res, %p : tensor<?x64xf32>
  %r = hymir.rms_norm %a, %n {epsilon = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// Lightning attention over split heads with constant (non-uniform) slopes:
// each device reads its 2 of the 4 slopes at offset 2 r.
// CHECK-LABEL: func.func @constant_slopes
// CHECK: %[[R:.*]] = hymir.device_index : tensor<1xi32>
// CHECK: %[[C:.*]] = arith.constant dense<[1.000000e+00, 5.000000e-01, 2.500000e-01, 1.250000e-01]> : tensor<4xf32>
// CHECK: %[[S:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2xf32>)
// CHECK: tensor.extract %[[R]]
// CHECK: arith.constant 2 : index
// CHECK: tensor.extract %[[C]]
// CHECK: hymir.lightning_attention %{{.*}}, %{{.*}}, %{{.*}}, %[[S]] : {{.*}} -> (tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>)
func.func @constant_slopes(%q: tensor<1x?x4x16xf32>, %k: tensor<1x?x4x16xf32>, %v: tensor<1x?x4x16xf32>)
    -> tensor<1x?x4x16xf32> {
  %slopes = arith.constant dense<[1.0, 0.5, 0.25, 0.125]> : tensor<4xf32>
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes
      : (tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<4xf32>)
      -> (tensor<1x?x4x16xf32>, tensor<1x4x16x16xf32>)
  return %o : tensor<1x?x4x16xf32>
}

// -----

// An embedding table split by vocabulary rows: ids made relative to the
// device's first row (64 r), -1 where not here; the lookup on clamped ids;
// rows of other devices' ids zeroed: a partial result, summed at the return.
// CHECK-LABEL: func.func @vocabulary
// CHECK-SAME: %arg0: tensor<64x16xbf16> {hymir.shard_dim = 0 : i64}
// CHECK: %[[R:.*]] = hymir.device_index : tensor<1xi32>
// CHECK: %[[L:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<2x?xi32>)
// CHECK: arith.constant 64 : i32
// CHECK: arith.constant -1 : i32
// CHECK: %[[CL:.*]] = linalg.generic {{.*}} ins(%[[L]] : tensor<2x?xi32>)
// CHECK: arith.maxsi
// CHECK: %[[E:.*]] = hymir.embedding %arg0, %[[CL]] : (tensor<64x16xbf16>, tensor<2x?xi32>) -> tensor<2x?x16xbf16>
// CHECK: %[[Z:.*]] = linalg.generic {{.*}} ins(%[[E]], %[[L]] : tensor<2x?x16xbf16>, tensor<2x?xi32>)
// CHECK: hymir.all_reduce %[[Z]] : (tensor<2x?x16xbf16>) -> tensor<2x?x16xbf16>
func.func @vocabulary(%table: tensor<128x16xbf16>, %ids: tensor<2x?xi32>) -> tensor<2x?x16xbf16> {
  %e = hymir.embedding %table, %ids : (tensor<128x16xbf16>, tensor<2x?xi32>) -> tensor<2x?x16xbf16>
  return %e : tensor<2x?x16xbf16>
}

// -----

// A widening product (192 > 64) of an x split along its last dim (a
// distributed norm's output): x is gathered and the weight split by rows
// (column parallel), not the wider partial product summed.
// CHECK-LABEL: func.func @widening
// CHECK-SAME: %arg2: tensor<96x64xf32> {hymir.shard_dim = 0 : i64}
// CHECK: %[[G:.*]] = hymir.all_gather %{{.*}} {dim = 1 : i64} : (tensor<?x32xf32>) -> tensor<?x64xf32>
// CHECK: hymir.linear %[[G]], %arg2 : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
func.func @widening(%x: tensor<?x64xf32>, %w: tensor<64x64xf32>, %qkv: tensor<192x64xf32>,
                    %n: tensor<64xf32>) -> tensor<?x192xf32> {
  %h = hymir.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %r = hymir.rms_norm %h, %n {epsilon = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %y = hymir.linear %r, %qkv : (tensor<?x64xf32>, tensor<192x64xf32>) -> tensor<?x192xf32>
  return %y : tensor<?x192xf32>
}

// -----

// An element-wise op of a split value and a replicated one computed on every
// device: the replicated one is read in parts (no all_gather of the split).
// CHECK-LABEL: func.func @local_operand
// CHECK: %[[H:.*]] = hymir.linear %arg0, %arg1 : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
// CHECK: %[[E:.*]] = math.exp %arg0 : tensor<?x64xf32>
// CHECK: %[[P:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x32xf32>)
// CHECK: arith.addf %[[H]], %[[P]] : tensor<?x32xf32>
// CHECK: hymir.all_gather
func.func @local_operand(%x: tensor<?x64xf32>, %w: tensor<64x64xf32>) -> tensor<?x64xf32> {
  %h = hymir.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %e = math.exp %x : tensor<?x64xf32>
  %a = arith.addf %h, %e : tensor<?x64xf32>
  return %a : tensor<?x64xf32>
}

// -----

// moe=expert on replicated tokens of a static count that divides (a decode
// step's batch): each device reads its 2 of the 4 rows, exchanges them with
// all_to_all, and the result is gathered back whole.
// EXPERT-LABEL: func.func @expert_local_rows
// EXPERT: %[[X:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x64xf32>)
// EXPERT: hymir.moe_route
// EXPERT: hymir.all_to_all
// EXPERT: hymir.routed_experts
// EXPERT: %[[Y:.*]] = linalg.generic
// EXPERT: %[[W:.*]] = hymir.all_gather %{{.*}} {dim = 0 : i64} : (tensor<2x64xf32>) -> tensor<4x64xf32>
// EXPERT: return %[[W]]
func.func @expert_local_rows(%x0: tensor<4x64xf32>, %router: tensor<8x64xf32>,
                             %w1: tensor<8x32x64xf32>, %w3: tensor<8x32x64xf32>,
                             %w2: tensor<8x64x32xf32>) -> tensor<4x64xf32> {
  %x = math.exp %x0 : tensor<4x64xf32>
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<4x64xf32>, tensor<8x64xf32>, tensor<8x32x64xf32>, tensor<8x32x64xf32>, tensor<8x64x32xf32>)
      -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

// Log-probs under an LM head split by vocabulary (64 of 128 rows per
// device): each device's [T, 64] logits, their max and sum of exponentials
// (its part's log-sum-exp, [T, 1], gathered to [T, 2]), the target's logit
// where its row is here (an all_reduce of [T]); the result is the target's
// logit less the log-sum-exp of the parts'.
// CHECK-LABEL: func.func @logprobs
// CHECK-SAME: %arg1: tensor<64x32xbf16> {hymir.shard_dim = 0 : i64}
// CHECK: %[[Z:.*]] = hymir.linear %arg0, %arg1 {precision = "f32"} : (tensor<?x32xf32>, tensor<64x32xbf16>) -> tensor<?x64xf32>
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: math.log
// CHECK: hymir.all_gather %{{.*}} {dim = 1 : i64} : (tensor<?x1xf32>) -> tensor<?x2xf32>
// CHECK: tensor.extract %[[Z]]
// CHECK: hymir.all_reduce %{{.*}} : (tensor<?xf32>) -> tensor<?xf32>
// CHECK-NOT: hymir.token_logprobs
// CHECK: return
func.func @logprobs(%h: tensor<?x32xf32>, %head: tensor<128x32xbf16>, %t: tensor<?xi32>) -> tensor<?xf32> {
  %y = hymir.token_logprobs %h, %head, %t : (tensor<?x32xf32>, tensor<128x32xbf16>, tensor<?xi32>) -> tensor<?xf32>
  return %y : tensor<?xf32>
}

// -----

// A parameter is bound once for the module: the second entry takes the LM
// head split by rows as the first left it, and gathers it for the op that
// needs it whole (a slice that cuts the split dim).
// CHECK-LABEL: func.func @first
// CHECK-SAME: %arg1: tensor<64x32xf32> {hymir.name = "head", hymir.param, hymir.shard_dim = 0 : i64}
// CHECK-LABEL: func.func @second
// CHECK-SAME: %arg1: tensor<64x32xf32> {hymir.name = "head", hymir.param, hymir.shard_dim = 0 : i64}
// CHECK: %[[W:.*]] = hymir.all_gather %arg1 {dim = 0 : i64} : (tensor<64x32xf32>) -> tensor<128x32xf32>
// CHECK: tensor.extract_slice %[[W]][0, 0] [96, 32] [1, 1]
func.func @first(%x: tensor<?x32xf32>, %head: tensor<128x32xf32> {hymir.name = "head", hymir.param})
    -> tensor<?x128xf32> {
  %y = hymir.linear %x, %head : (tensor<?x32xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}
func.func @second(%x: tensor<?x32xf32>, %head: tensor<128x32xf32> {hymir.name = "head", hymir.param})
    -> tensor<96x32xf32> {
  %y = tensor.extract_slice %head[0, 0] [96, 32] [1, 1] : tensor<128x32xf32> to tensor<96x32xf32>
  return %y : tensor<96x32xf32>
}
