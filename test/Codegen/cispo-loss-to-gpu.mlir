// hymir-cispo-loss-to-gpu: hymir.cispo_loss and hymir.token_logprobs as
// mma.sync kernels that never allocate the [T, V] logits (V = 1003, not a
// multiple of the 64-row tile). With the f32 head over f32 operands a tile
// takes three products (hi hi, lo hi, hi lo); the bf16 head takes one for
// the logits and two (g hi, g lo) for a gradient. Kernels of unused results
// are not emitted, and token_logprobs is the loss's two forward kernels.
// RUN: hymir-opt %s --hymir-cispo-loss-to-gpu | FileCheck %s
// (cispo-cuda-cubin.mlir compiles this file for cuda with ptxas.)

// CHECK-LABEL: func.func @loss
// CHECK-NOT: memref<?x1003xf32>
// CHECK: hymir.check_slot "hymir.cispo_loss" tensor "targets" value "target"
// partials: blocks of 64 tokens by 2048-row vocabulary chunks (1 here).
// CHECK: memref.alloc(%{{.*}}) : memref<1x?xf32>
// CHECK: gpu.launch
// CHECK-COUNT-24: nvvm.mma.sync
// CHECK: gpu.shuffle xor
// lse and logp, with the run-time check of the targets.
// CHECK: gpu.launch
// CHECK: memref.atomic_rmw mins
// CHECK: math.log
// weights: one block, f64 sums in dynamic shared memory.
// CHECK: gpu.launch
// CHECK-SAME: dynamic_shared_memory_size
// CHECK: gpu.barrier
// d_hidden: zeroed, then the logits tile again and g W added atomically.
// CHECK: memref.alloc(%{{.*}}) : memref<?x32xf32>
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK-COUNT-36: nvvm.mma.sync
// CHECK: memref.atomic_rmw addf
// d_lm_head: zeroed, then W h^T tiles and g^T h.
// CHECK: memref.alloc() : memref<1003x32xf32>
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK-COUNT-36: nvvm.mma.sync
// CHECK: memref.atomic_rmw addf
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @loss(%hidden: tensor<?x32xf32> {hymir.name = "hidden"},
                %lm_head: tensor<1003x32xf32> {hymir.name = "lm_head"},
                %targets: tensor<?xi32> {hymir.name = "targets"},
                %logp_old: tensor<?xf32>, %adv: tensor<?xf32>, %mask: tensor<?xf32>)
    -> (tensor<f32>, tensor<?xf32>, tensor<?x32xf32>, tensor<1003x32xf32>) {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask {eps_low = 0.2 : f32, eps_high = 0.28 : f32, unified_mask = true}
      : (tensor<?x32xf32>, tensor<1003x32xf32>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x32xf32>, tensor<1003x32xf32>)
  return %loss, %logp, %dh, %dw : tensor<f32>, tensor<?xf32>, tensor<?x32xf32>, tensor<1003x32xf32>
}

// bf16 gradients: accumulated in f32, converted at the end; the bf16 head
// over bf16 operands: one product per logits step, two per gradient step.
// CHECK-LABEL: func.func @grads_bf16
// CHECK: gpu.launch
// CHECK-COUNT-8: nvvm.mma.sync
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK: memref.alloc(%{{.*}}) : memref<?x32xf32>
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK: memref.alloc(%{{.*}}) : memref<?x32xbf16>
// CHECK: gpu.launch
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @grads_bf16(%hidden: tensor<?x32xbf16>, %lm_head: tensor<1003x32xbf16>,
                      %targets: tensor<?xi32>, %logp_old: tensor<?xf32>,
                      %adv: tensor<?xf32>, %mask: tensor<?xf32>) -> tensor<?x32xbf16> {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask {eps_low = 1.0 : f32, eps_high = 0.2 : f32, precision = "bf16"}
      : (tensor<?x32xbf16>, tensor<1003x32xbf16>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x32xbf16>, tensor<1003x32xbf16>)
  return %dh : tensor<?x32xbf16>
}

// Forward only: logp_new is the partials and lse kernels; so is
// token_logprobs (the same builder), with its own check naming 'token'.
// CHECK-LABEL: func.func @logprobs
// CHECK: hymir.check_slot "hymir.cispo_loss"
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK: hymir.check_slot "hymir.token_logprobs" tensor "arg2" value "token"
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @logprobs(%hidden: tensor<?x32xf32>, %lm_head: tensor<1003x32xf32>,
                    %targets: tensor<?xi32>, %logp_old: tensor<?xf32>,
                    %adv: tensor<?xf32>, %mask: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask {eps_low = 1.0 : f32, eps_high = 0.2 : f32}
      : (tensor<?x32xf32>, tensor<1003x32xf32>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x32xf32>, tensor<1003x32xf32>)
  %lp = hymir.token_logprobs %hidden, %lm_head, %targets
      : (tensor<?x32xf32>, tensor<1003x32xf32>, tensor<?xi32>) -> tensor<?xf32>
  return %logp, %lp : tensor<?xf32>, tensor<?xf32>
}
