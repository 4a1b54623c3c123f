// RUN: hymir-opt %s -split-input-file -hymir-tile-cispo-loss | FileCheck %s

// hymir.token_logprobs is the forward kernel of hymir.cispo_loss alone (the
// same builder): a forall over tokens streaming 128-row vocabulary tiles
// with a running maximum and sum, no [T, V] buffer, the log-sum-exp scratch
// freed after the kernel, and the check of the tokens named after this op.
// CHECK-LABEL: func.func @logprobs
// CHECK-NOT: memref.alloc{{.*}}memref<?x
// CHECK: hymir.check_slot "hymir.token_logprobs" tensor "tokens" value "token"
// CHECK: %[[LOGP:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: %[[LSE:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: scf.forall (%{{.*}}) in (%{{.*}}) {
// CHECK:   memref.alloc() : memref<128xf32>
// CHECK:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c128 iter_args(%{{.*}} = %cst, %{{.*}} = %cst_{{.*}}, %{{.*}} = %cst_{{.*}}) -> (f32, f32, f32)
// CHECK:     math.fma
// CHECK:     arith.maximumf
// CHECK:     math.exp
// CHECK:   math.log
// CHECK: } {mapping = [#gpu.block<x>]}
// CHECK-NOT: scf.forall
// CHECK: memref.dealloc %[[LSE]]
// CHECK: bufferization.to_tensor %[[LOGP]]
func.func @logprobs(%h: tensor<?x64xf32>, %w: tensor<1000x64xf32>,
    %y: tensor<?xi32> {hymir.name = "tokens"}) -> tensor<?xf32> {
  %lp = hymir.token_logprobs %h, %w, %y
      : (tensor<?x64xf32>, tensor<1000x64xf32>, tensor<?xi32>) -> tensor<?xf32>
  return %lp : tensor<?xf32>
}

// -----

// precision "bf16" rounds both f32 operands to bf16 before each product.
// CHECK-LABEL: func.func @logprobs_bf16
// CHECK: scf.forall
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: math.fma
func.func @logprobs_bf16(%h: tensor<?x64xf32>, %w: tensor<1000x64xf32>,
    %y: tensor<?xi32>) -> tensor<?xf32> {
  %lp = hymir.token_logprobs %h, %w, %y {precision = "bf16"}
      : (tensor<?x64xf32>, tensor<1000x64xf32>, tensor<?xi32>) -> tensor<?xf32>
  return %lp : tensor<?xf32>
}

// -----

// An unused result: nothing is computed.
// CHECK-LABEL: func.func @unused
// CHECK-NOT: scf.forall
// CHECK-NOT: hymir.token_logprobs
// CHECK: return
func.func @unused(%h: tensor<?x64xf32>, %w: tensor<1000x64xf32>,
    %y: tensor<?xi32>) {
  %lp = hymir.token_logprobs %h, %w, %y
      : (tensor<?x64xf32>, tensor<1000x64xf32>, tensor<?xi32>) -> tensor<?xf32>
  return
}
