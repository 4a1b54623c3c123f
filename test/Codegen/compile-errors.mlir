// hymir-compile rejects what it cannot compile yet with a message at the op.
// (The CISPO loss: a hidden size of 12, which the cuda kernels cannot tile.)
// (Inputs/lightning.mlir: a head dim of 6, which the GPU kernel cannot tile.)
// RUN: not hymir-compile %s -o %t.hymir --target=cuda 2>&1 | FileCheck %s
// RUN: not hymir-compile %s -o %t.hymir --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not hymir-compile %S/Inputs/lightning.mlir -o %t.hymir --target=cuda 2>&1 | FileCheck %s --check-prefix=CUDA
// RUN: not hymir-compile %S/Inputs/branch.mlir -o %t.hymir --target=cpu 2>&1 | FileCheck %s --check-prefix=BRANCH

// RUN: not hymir-compile %s -o %t.hymir --target=cpu --moe-tile=0 2>&1 | FileCheck %s --check-prefix=TILE

// CHECK: error: hymir-cispo-loss-to-gpu: the hidden size must be a multiple of 16 for the cuda kernels, got 'tensor<100x12xbf16>'
// TILE: hymir-compile: error: --moe-tile must be in [1, 1024], got 0
// BRANCH: branch.mlir:9:8: error: hymir-compile: op cannot be placed in an execution plan (only hymir.token_guard may hold steps: a choice by token count is a guard, not a branch)
// TARGET: hymir-compile: error: unknown target 'tpu' (supported: cpu, cuda)
// CUDA: lightning.mlir:2:12: error: tiled lightning attention: GPU kernel needs the key dim (6) and the value chunk (6) to be multiples of 4
func.func @loss(%hidden: tensor<?x12xbf16>, %lm_head: tensor<100x12xbf16>,
                %targets: tensor<?xi32>, %logp_old: tensor<?xf32>,
                %adv: tensor<?xf32>, %mask: tensor<?xf32>) -> tensor<f32> {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets,
      %logp_old, %adv, %mask {eps_low = 1.0 : f32, eps_high = 0.2 : f32}
      : (tensor<?x12xbf16>, tensor<100x12xbf16>, tensor<?xi32>, tensor<?xf32>,
         tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x12xbf16>, tensor<100x12xbf16>)
  return %loss : tensor<f32>
}
