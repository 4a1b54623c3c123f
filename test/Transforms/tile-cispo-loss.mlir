// RUN: hymir-opt %s -split-input-file -hymir-tile-cispo-loss | FileCheck %s
// RUN: hymir-opt %s -split-input-file -hymir-tile-cispo-loss=vocab-tile=64 | FileCheck %s --check-prefix=TILE64

// Forward only (logp_new used): one kernel, a forall over tokens whose body
// streams the vocabulary in tiles of 128 rows with a running maximum and
// sum; the only buffers are [T] rows and the 128-wide tile of scores (no
// [T, V] logits).
// CHECK-LABEL: func.func @forward_only
// CHECK-NOT: memref.alloc{{.*}}memref<?x
// CHECK: hymir.check_slot "hymir.cispo_loss" tensor "arg2" value "target"
// CHECK: %[[LOGP:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: scf.forall (%[[T:.*]]) in (%{{.*}}) {
// CHECK:   memref.alloc() : memref<128xf32>
// CHECK:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c128 iter_args(%[[M:.*]] = %cst, %[[S:.*]] = %cst_{{.*}}, %[[ZY:.*]] = %cst_{{.*}}) -> (f32, f32, f32)
// CHECK:     math.fma
// CHECK:     arith.maximumf
// CHECK:     math.exp
// CHECK:   math.log
// CHECK: } {mapping = [#gpu.block<x>]}
// CHECK-NOT: scf.forall
// CHECK: bufferization.to_tensor %[[LOGP]]
// TILE64-LABEL: func.func @forward_only
// TILE64: memref.alloc() : memref<64xf32>
// TILE64: step %c64
func.func @forward_only(%h: tensor<?x64xf32>, %w: tensor<1000x64xf32>,
    %y: tensor<?xi32>, %old: tensor<?xf32>, %adv: tensor<?xf32>,
    %mask: tensor<?xf32>) -> tensor<?xf32> {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %h, %w, %y, %old, %adv, %mask
      {eps_low = 0.2 : f32, eps_high = 0.28 : f32}
      : (tensor<?x64xf32>, tensor<1000x64xf32>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x64xf32>, tensor<1000x64xf32>)
  return %logp : tensor<?xf32>
}

// -----

// The loss alone: the forward kernel and the one-thread weights kernel; no
// gradient kernels.
// CHECK-LABEL: func.func @loss_only
// CHECK: scf.forall
// CHECK: scf.forall (%{{.*}}) in (1) {
// CHECK:   arith.minimumf
// CHECK: } {mapping = [#gpu.block<x>]}
// CHECK-NOT: scf.forall
// CHECK: bufferization.to_tensor %{{.*}} : memref<f32> to tensor<f32>
func.func @loss_only(%h: tensor<?x64xbf16>, %w: tensor<1000x64xbf16>,
    %y: tensor<?xi32>, %old: tensor<?xf32>, %adv: tensor<?xf32>,
    %mask: tensor<?xf32>) -> tensor<f32> {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %h, %w, %y, %old, %adv, %mask
      {eps_low = 0.2 : f32, eps_high = 0.28 : f32}
      : (tensor<?x64xbf16>, tensor<1000x64xbf16>, tensor<?xi32>,
         tensor<?xf32>, tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x64xbf16>, tensor<1000x64xbf16>)
  return %loss : tensor<f32>
}

// -----

// Everything, with a bf16 head over f32 operands (each rounded to bf16 where
// it enters a product) and the unified mask: four kernels; d_hidden per
// token over vocabulary tiles, d_lm_head per vocabulary row over tokens.
// CHECK-LABEL: func.func @gradients
// CHECK-NOT: memref.alloc{{.*}}memref<?x1000
// CHECK: scf.forall
// CHECK:   arith.truncf %{{.*}} : f32 to bf16
// CHECK: scf.forall (%{{.*}}) in (1) {
// CHECK:   arith.ori
// CHECK: scf.forall (%[[T:.*]]) in (%{{.*}}) {
// CHECK:   scf.for %{{.*}} step %c128
// CHECK: scf.forall (%[[V:.*]]) in (1000) {
// CHECK: return
func.func @gradients(%h: tensor<?x64xf32>, %w: tensor<1000x64xf32>,
    %y: tensor<?xi32>, %old: tensor<?xf32>, %adv: tensor<?xf32>,
    %mask: tensor<?xf32>)
    -> (tensor<f32>, tensor<?xf32>, tensor<?x64xf32>, tensor<1000x64xf32>) {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %h, %w, %y, %old, %adv, %mask
      {eps_low = 0.2 : f32, eps_high = 0.28 : f32, unified_mask = true,
       precision = "bf16"}
      : (tensor<?x64xf32>, tensor<1000x64xf32>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x64xf32>, tensor<1000x64xf32>)
  return %loss, %logp, %dh, %dw
      : tensor<f32>, tensor<?xf32>, tensor<?x64xf32>, tensor<1000x64xf32>
}
