// RUN: hymir-opt %s --hymir-shard=devices=2 | FileCheck %s

// hymir.cispo_loss with the LM head split by vocabulary rows: logp_new from
// a distributed log-sum-exp (each device's [T, 1] part gathered, the target
// logit all_reduced), the loss and the coefficients on every device (f64
// sums over [1] tensors), dz over the device's 32 rows, d_hidden summed by
// an all_reduce, d_lm_head the device's rows (gathered only because the
// function returns it whole). The head itself is never gathered.
// CHECK-LABEL: func.func @cispo
// CHECK-SAME: %arg1: tensor<32x16xbf16> {hymir.name = "lm_head", hymir.param, hymir.shard_dim = 0 : i64}
// CHECK-NOT: hymir.all_gather %arg1
// CHECK: %[[Z:.*]] = hymir.linear %arg0, %arg1 {precision = "f32"} : (tensor<?x16xf32>, tensor<32x16xbf16>) -> tensor<?x32xf32>
// CHECK: hymir.all_gather %{{.*}} {dim = 1 : i64} : (tensor<?x1xf32>) -> tensor<?x2xf32>
// CHECK: hymir.all_reduce %{{.*}} : (tensor<?xf32>) -> tensor<?xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%arg5 : tensor<?xf32>) outs(%{{.*}} : tensor<1xf64>)
// CHECK: %[[LOSS:.*]] = tensor.collapse_shape %{{.*}} [] : tensor<1xf32> into tensor<f32>
// CHECK: %[[DZ:.*]] = linalg.generic {{.*}} ins(%[[Z]], {{.*}}) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK: %[[DH:.*]] = linalg.generic {{.*}} ins(%[[DZ]], %arg1 : tensor<?x32xf32>, tensor<32x16xbf16>) outs(%{{.*}} : tensor<?x16xf32>)
// CHECK: %[[DHW:.*]] = hymir.all_reduce %[[DH]] : (tensor<?x16xf32>) -> tensor<?x16xf32>
// CHECK: %[[DW:.*]] = linalg.generic {{.*}} ins(%[[DZ]], %arg0 : tensor<?x32xf32>, tensor<?x16xf32>) outs(%{{.*}} : tensor<32x16xf32>)
// CHECK: %[[DWB:.*]] = arith.truncf %[[DW]] : tensor<32x16xf32> to tensor<32x16xbf16>
// CHECK-NOT: hymir.cispo_loss
// CHECK: %[[DWW:.*]] = hymir.all_gather %[[DWB]] {dim = 0 : i64} : (tensor<32x16xbf16>) -> tensor<64x16xbf16>
// CHECK: return %[[LOSS]], %{{.*}}, %[[DHW]], %[[DWW]]
func.func @cispo(%h: tensor<?x16xf32>, %w: tensor<64x16xbf16> {hymir.name = "lm_head", hymir.param},
                 %y: tensor<?xi32>, %old: tensor<?xf32>, %adv: tensor<?xf32>, %mask: tensor<?xf32>)
    -> (tensor<f32>, tensor<?xf32>, tensor<?x16xf32>, tensor<64x16xbf16>) {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %h, %w, %y, %old, %adv, %mask {eps_high = 0.28 : f32, eps_low = 1.0 : f32} : (tensor<?x16xf32>, tensor<64x16xbf16>, tensor<?xi32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) -> (tensor<f32>, tensor<?xf32>, tensor<?x16xf32>, tensor<64x16xbf16>)
  return %loss, %logp, %dh, %dw : tensor<f32>, tensor<?xf32>, tensor<?x16xf32>, tensor<64x16xbf16>
}
