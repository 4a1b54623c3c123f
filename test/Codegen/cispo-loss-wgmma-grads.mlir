// hymir-cispo-loss-to-gpu{wgmma}: with bf16 operands and N a multiple of
// 128 the gradients are wgmma products per pass of 16384 vocabulary rows,
// with no atomics and no f32 copy of the head's gradient: h^T once, then per
// pass W^T of the pass's rows, the g planes (z recomputed on WgmmaTiles;
// rows of the head clamped below V = 20000), g^T h written once (K = the
// padded token count, a run-time step count; h^T and g^T are allocated flat,
// T + 127 rows' worth, and viewed in the kernels with rows of T rounded up
// to 128), g W into an f32 accumulator
// of d_hidden (the first pass stores, later passes add), and the
// accumulator converted at the end. The bf16 head keeps one g plane and
// tiles of 128 x 256; the f32 head two planes (hi, lo) as two B chunks
// sharing the other operand's stage.
// RUN: hymir-opt %s --hymir-cispo-loss-to-gpu=wgmma=1 | FileCheck %s
// RUN: hymir-opt %s --hymir-cispo-loss-to-gpu="wgmma=1 wgmma-grads=0" | FileCheck %s --check-prefix=OLD

// CHECK-LABEL: func.func @bf16_head
// CHECK-NOT: memref.atomic_rmw addf
// CHECK-NOT: memref<20000x256xf32>
// CHECK: memref.alloc({{.*}}) : memref<?x16384xbf16>
// CHECK-NEXT: memref.alloc() : memref<256x16384xbf16>
// CHECK-NEXT: memref.alloc({{.*}}) : memref<?x256xf32>
// CHECK: memref.alloc({{.*}}) : memref<?xbf16>
// h^T:
// CHECK: gpu.launch
// CHECK: gpu.barrier
// pass 1: W^T, g, g^T h, g W.
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK: %[[LIMIT:.*]] = arith.subi %c20000{{.*}}, %c1
// CHECK: arith.minui %{{.*}}, %[[LIMIT]]
// CHECK: nvvm.wgmma.mma_async
// CHECK: math.exp
// CHECK: vector.store {{.*}} : memref<?x16384xbf16>, vector<2xbf16>
// CHECK: memref.store {{.*}} : memref<16384x?xbf16>
// CHECK: gpu.launch
// CHECK: scf.if
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.wgmma.mma_async
// CHECK: vector.store {{.*}} : memref<20000x256xbf16>, vector<2xbf16>
// CHECK: gpu.launch
// CHECK: nvvm.wgmma.mma_async
// CHECK-NOT: vector.load
// CHECK: vector.store {{.*}} : memref<?x256xf32>, vector<2xf32>
// pass 2 (3616 rows, 3712 padded): its g W adds to the accumulator.
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK: vector.load {{.*}} : memref<?x256xf32>, vector<2xf32>
// CHECK: gpu.launch
// CHECK: arith.truncf {{.*}} : f32 to bf16
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @bf16_head(%hidden: tensor<?x256xbf16>, %lm_head: tensor<20000x256xbf16>,
                     %targets: tensor<?xi32>, %logp_old: tensor<?xf32>,
                     %adv: tensor<?xf32>, %mask: tensor<?xf32>)
    -> (tensor<?x256xbf16>, tensor<20000x256xbf16>) {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask {eps_low = 0.2 : f32, eps_high = 0.28 : f32, precision = "bf16"}
      : (tensor<?x256xbf16>, tensor<20000x256xbf16>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x256xbf16>, tensor<20000x256xbf16>)
  return %dh, %dw : tensor<?x256xbf16>, tensor<20000x256xbf16>
}

// The f32 head: two g planes each way; only d_lm_head wanted, so no W^T, no
// g [t, v] and no d_hidden kernels.
// CHECK-LABEL: func.func @f32_head
// CHECK-NOT: memref.atomic_rmw addf
// CHECK: memref.alloc({{.*}}) : memref<?xbf16>
// CHECK: gpu.launch
// CHECK: memref.reinterpret_cast {{.*}} to memref<128x?xbf16>
// CHECK: memref.alloc({{.*}}) : memref<?xbf16>
// CHECK: memref.alloc({{.*}}) : memref<?xbf16>
// CHECK-NOT: memref<?x1024xbf16>
// CHECK: gpu.launch
// CHECK: nvvm.wgmma.mma_async
// CHECK: arith.shli
// CHECK: gpu.launch
// CHECK-COUNT-8: nvvm.wgmma.mma_async
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: arith.addf
// CHECK: memref.store {{.*}} : memref<1003x128xbf16>
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @f32_head(%hidden: tensor<?x128xbf16>, %lm_head: tensor<1003x128xbf16>,
                    %targets: tensor<?xi32>, %logp_old: tensor<?xf32>,
                    %adv: tensor<?xf32>, %mask: tensor<?xf32>)
    -> tensor<1003x128xbf16> {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask {eps_low = 0.2 : f32, eps_high = 0.28 : f32}
      : (tensor<?x128xbf16>, tensor<1003x128xbf16>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x128xbf16>, tensor<1003x128xbf16>)
  return %dw : tensor<1003x128xbf16>
}

// N = 64 (not a multiple of 128) keeps the atomic mma.sync gradients.
// CHECK-LABEL: func.func @narrow
// CHECK: memref.atomic_rmw addf
// OLD-LABEL: func.func @bf16_head
// OLD: memref.atomic_rmw addf
// OLD: memref<20000x256xf32>
func.func @narrow(%hidden: tensor<?x64xbf16>, %lm_head: tensor<1003x64xbf16>,
                  %targets: tensor<?xi32>, %logp_old: tensor<?xf32>,
                  %adv: tensor<?xf32>, %mask: tensor<?xf32>) -> tensor<?x64xbf16> {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask {eps_low = 0.2 : f32, eps_high = 0.28 : f32}
      : (tensor<?x64xbf16>, tensor<1003x64xbf16>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x64xbf16>, tensor<1003x64xbf16>)
  return %dh : tensor<?x64xbf16>
}
