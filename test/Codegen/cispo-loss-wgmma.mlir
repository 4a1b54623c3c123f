// hymir-cispo-loss-to-gpu{wgmma}: with bf16 operands, N a multiple of 64 and
// V >= 128, the forward's logits come from WgmmaTiles (blocks of 128 tokens,
// two warpgroups, cp.async stages in dynamic shared memory, wgmma
// m64n128k16); the last head tile starts at V - 128 (1003 - 128 = 875). An
// f32 operand keeps the mma.sync kernel.
// RUN: hymir-opt %s --hymir-cispo-loss-to-gpu=wgmma=1 | FileCheck %s

// CHECK-LABEL: func.func @bf16
// CHECK: memref.expand_shape {{.*}} into memref<1x1003x64xbf16>
// CHECK: gpu.launch
// CHECK-SAME: threads({{.*}}) in ({{.*}} = %c256
// CHECK-SAME: dynamic_shared_memory_size
// CHECK: arith.minui %{{.*}}, %c875
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.wgmma.mma_async
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.shuffle xor
// CHECK: gpu.launch
// CHECK: math.log
// CHECK: return
func.func @bf16(%hidden: tensor<?x64xbf16>, %lm_head: tensor<1003x64xbf16>,
                %targets: tensor<?xi32>) -> tensor<?xf32> {
  %lp = hymir.token_logprobs %hidden, %lm_head, %targets {precision = "f32"}
      : (tensor<?x64xbf16>, tensor<1003x64xbf16>, tensor<?xi32>) -> tensor<?xf32>
  return %lp : tensor<?xf32>
}

// CHECK-LABEL: func.func @f32
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: nvvm.mma.sync
// CHECK: return
func.func @f32(%hidden: tensor<?x64xf32>, %lm_head: tensor<1003x64xf32>,
               %targets: tensor<?xi32>) -> tensor<?xf32> {
  %lp = hymir.token_logprobs %hidden, %lm_head, %targets
      : (tensor<?x64xf32>, tensor<1003x64xf32>, tensor<?xi32>) -> tensor<?xf32>
  return %lp : tensor<?xf32>
}
