// RUN: hymir-opt %s --hymir-shard=devices=2 -split-input-file | FileCheck %s
// RUN: hymir-opt %s --hymir-shard=devices=3 -split-input-file | FileCheck %s --check-prefix=THREE
// RUN: hymir-opt %s --hymir-shard=devices=1 -split-input-file | FileCheck %s --check-prefix=ONE

// A SiLU-gated MLP: gate and up split by rows, down by columns; the partial
// products meet in one all_reduce; the splat follows the split.
// CHECK-LABEL: func.func @mlp
// CHECK-SAME: %arg0: tensor<?x64xf32>,
// CHECK-SAME: %arg1: tensor<48x64xf32> {hymir.shard_dim = 0 : i64},
// CHECK-SAME: %arg2: tensor<48x64xf32> {hymir.shard_dim = 0 : i64},
// CHECK-SAME: %arg3: tensor<64x48xf32> {hymir.shard_dim = 1 : i64}) -> tensor<?x64xf32>
// CHECK: %[[G:.*]] = hymir.linear %arg0, %arg1 : {{.*}} -> tensor<?x48xf32>
// CHECK: %[[U:.*]] = hymir.linear %arg0, %arg2 : {{.*}} -> tensor<?x48xf32>
// CHECK: tensor.splat %{{.*}}[%{{.*}}] : tensor<?x48xf32>
// CHECK: %[[M:.*]] = arith.mulf %{{.*}}, %[[U]] : tensor<?x48xf32>
// CHECK: %[[P:.*]] = hymir.linear %[[M]], %arg3 : {{.*}} -> tensor<?x64xf32>
// CHECK: %[[S:.*]] = hymir.all_reduce %[[P]]
// CHECK: return %[[S]]
// THREE-LABEL: func.func @mlp
// THREE-SAME: tensor<32x64xf32> {hymir.shard_dim = 0 : i64}
// THREE: hymir.all_reduce
// ONE-LABEL: func.func @mlp
// ONE-NOT: shard_dim
// ONE-NOT: hymir.all_
func.func @mlp(%x: tensor<?x64xf32>, %wg: tensor<96x64xf32>, %wu: tensor<96x64xf32>,
               %wd: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x64xf32>
  %one = arith.constant 1.0 : f32
  %g = hymir.linear %x, %wg : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
  %u = hymir.linear %x, %wu : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
  %ones = tensor.splat %one[%t] : tensor<?x96xf32>
  %den = arith.addf %ones, %g : tensor<?x96xf32>
  %silu = arith.divf %g, %den : tensor<?x96xf32>
  %gated = arith.mulf %silu, %u : tensor<?x96xf32>
  %y = hymir.linear %gated, %wd : (tensor<?x96xf32>, tensor<64x96xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Heads: the projections split, the reshape moves the split onto the head
// dim, lightning attention runs on 2 of 4 heads with its slopes and state
// split to match; the output projection is row parallel; the returned
// state is gathered.
// CHECK-LABEL: func.func @heads
// CHECK-SAME: %arg1: tensor<1x2x16x16xf32> {hymir.shard_dim = 1 : i64}, %arg2: tensor<2xf32> {hymir.shard_dim = 0 : i64}
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2, 3]] output_shape [1, %{{.*}}, 2, 16] : tensor<?x32xf32> into tensor<1x?x2x16xf32>
// CHECK: %[[O:.*]], %[[S:.*]] = hymir.lightning_attention {{.*}} -> (tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>)
// CHECK: tensor.collapse_shape %[[O]] {{.*}} into tensor<?x32xf32>
// CHECK: %[[R:.*]] = hymir.all_reduce
// CHECK: %[[W:.*]] = hymir.all_gather %[[S]] {dim = 1 : i64} : (tensor<1x2x16x16xf32>) -> tensor<1x4x16x16xf32>
// CHECK: return %[[R]], %[[W]]
// THREE-LABEL: func.func @heads
// THREE-NOT: shard_dim
// THREE-NOT: hymir.all_
func.func @heads(%x: tensor<?x64xf32>, %state: tensor<1x4x16x16xf32>, %slopes: tensor<4xf32>,
                 %wq: tensor<64x64xf32>, %wk: tensor<64x64xf32>, %wv: tensor<64x64xf32>,
                 %wo: tensor<64x64xf32>) -> (tensor<?x64xf32>, tensor<1x4x16x16xf32>) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x64xf32>
  %q2 = hymir.linear %x, %wq : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %k2 = hymir.linear %x, %wk : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %v2 = hymir.linear %x, %wv : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %q = tensor.expand_shape %q2 [[0, 1], [2, 3]] output_shape [1, %t, 4, 16] : tensor<?x64xf32> into tensor<1x?x4x16xf32>
  %k = tensor.expand_shape %k2 [[0, 1], [2, 3]] output_shape [1, %t, 4, 16] : tensor<?x64xf32> into tensor<1x?x4x16xf32>
  %v = tensor.expand_shape %v2 [[0, 1], [2, 3]] output_shape [1, %t, 4, 16] : tensor<?x64xf32> into tensor<1x?x4x16xf32>
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state)
      : (tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<4xf32>, tensor<1x4x16x16xf32>)
      -> (tensor<1x?x4x16xf32>, tensor<1x4x16x16xf32>)
  %o2 = tensor.collapse_shape %o [[0, 1], [2, 3]] : tensor<1x?x4x16xf32> into tensor<?x64xf32>
  %y = hymir.linear %o2, %wo : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  return %y, %s : tensor<?x64xf32>, tensor<1x4x16x16xf32>
}

// -----

// A norm over a split dim is distributed: the rows' sums of squares are
// added by an all_reduce of [rows, 2] and each device normalises its
// columns; the weight stays whole. The residual reads its part of x (needed
// whole by the first linear) at the device's offset; the sum is gathered
// for the return and the last linear.
// CHECK-LABEL: func.func @norm_split
// CHECK-SAME: %arg1: tensor<32x64xf32> {hymir.shard_dim = 0 : i64}, %arg2: tensor<64xf32>, %arg3: tensor<64x64xf32>)
// CHECK: %[[H:.*]] = hymir.linear %arg0, %arg1
// CHECK: hymir.all_reduce %{{.*}} : (tensor<?x2xf32>) -> tensor<?x2xf32>
// CHECK-NOT: hymir.rms_norm
// CHECK: %[[A:.*]] = arith.addf %{{.*}}, %{{.*}} : tensor<?x32xf32>
// CHECK: %[[G:.*]] = hymir.all_gather %[[A]] {dim = 1 : i64} : (tensor<?x32xf32>) -> tensor<?x64xf32>
// CHECK: hymir.linear %[[G]], %arg3 : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
func.func @norm_split(%x: tensor<?x64xf32>, %w: tensor<64x64xf32>, %n: tensor<64xf32>,
                            %n2: tensor<64x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %h = hymir.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %r = hymir.rms_norm %h, %n {epsilon = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %a = arith.addf %r, %x : tensor<?x64xf32>
  %use = arith.addf %n2, %n2 : tensor<64x64xf32>
  %b = hymir.linear %a, %n2 : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  return %a, %b : tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// The size of a split dim is the whole size.
// CHECK-LABEL: func.func @dim_of_split
// CHECK: %[[C:.*]] = arith.constant 64 : index
// CHECK: return %[[C]]
func.func @dim_of_split(%x: tensor<?x64xf32>, %w: tensor<64x64xf32>) -> index {
  %c1 = arith.constant 1 : index
  %h = hymir.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %d = tensor.dim %h, %c1 : tensor<?x64xf32>
  return %d : index
}

// -----

// MoE: every device runs every expert on its slice of the intermediate dim.
// CHECK-LABEL: func.func @moe
// CHECK-SAME: %arg2: tensor<4x16x64xbf16> {hymir.shard_dim = 1 : i64}, %arg3: tensor<4x16x64xbf16> {hymir.shard_dim = 1 : i64}, %arg4: tensor<4x64x16xbf16> {hymir.shard_dim = 2 : i64})
// CHECK: %[[Y:.*]] = hymir.moe
// CHECK: hymir.all_reduce %[[Y]]
func.func @moe(%x: tensor<?x64xbf16>, %router: tensor<4x64xf32>, %w1: tensor<4x32x64xbf16>,
               %w3: tensor<4x32x64xbf16>, %w2: tensor<4x64x32xbf16>) -> tensor<?x64xbf16> {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x64xbf16>, tensor<4x64xf32>, tensor<4x32x64xbf16>, tensor<4x32x64xbf16>, tensor<4x64x32xbf16>)
      -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

// A residual around a column-parallel projection: x is needed whole by the
// projection, and the add reads its part of x at the device's offset (no
// communication) instead of gathering the projection; the sum is gathered
// at the return.
// CHECK-LABEL: func.func @residual
// CHECK-SAME: %arg0: tensor<?x64xf32>, %arg1: tensor<32x64xf32> {hymir.shard_dim = 0 : i64})
// CHECK: %[[H:.*]] = hymir.linear %arg0, %arg1
// CHECK: %[[X:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x32xf32>)
// CHECK: tensor.extract %arg0
// CHECK: %[[A:.*]] = arith.addf %[[H]], %[[X]] : tensor<?x32xf32>
// CHECK: hymir.all_gather %[[A]] {dim = 1 : i64}
func.func @residual(%x: tensor<?x64xf32>, %w: tensor<64x64xf32>) -> tensor<?x64xf32> {
  %h = hymir.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %a = arith.addf %h, %x : tensor<?x64xf32>
  return %a : tensor<?x64xf32>
}

// -----

// The size of a static dim of an argument split later is its whole size.
// CHECK-LABEL: func.func @dim_before_split
// CHECK: %[[C:.*]] = arith.constant 64 : index
// CHECK: return %{{.*}}, %[[C]]
func.func @dim_before_split(%x: tensor<?x64xf32>, %w: tensor<64x64xf32>) -> (tensor<?x64xf32>, index) {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %w, %c0 : tensor<64x64xf32>
  %h = hymir.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  return %h, %d : tensor<?x64xf32>, index
}
