// hymir-compile rejects what it cannot compile yet with a message at the op.
// (Inputs/lightning.mlir: a head dim of 6, which the GPU kernel cannot tile.)
// RUN: not hymir-compile %s -o %t.hymir --target=cuda 2>&1 | FileCheck %s
// RUN: not hymir-compile %s -o %t.hymir --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not hymir-compile %S/Inputs/lightning.mlir -o %t.hymir --target=cuda 2>&1 | FileCheck %s --check-prefix=CUDA
// RUN: not hymir-compile %S/Inputs/branch.mlir -o %t.hymir --target=cpu 2>&1 | FileCheck %s --check-prefix=BRANCH

// RUN: not hymir-compile %s -o %t.hymir --target=cpu --moe-tile=0 2>&1 | FileCheck %s --check-prefix=TILE

// CHECK: error: hymir-compile: 'hymir.softmax_attention' has no lowering yet
// TILE: hymir-compile: error: --moe-tile must be in [1, 1024], got 0
// BRANCH: branch.mlir:9:8: error: hymir-compile: op cannot be placed in an execution plan (only hymir.token_guard may hold steps: a choice by token count is a guard, not a branch)
// TARGET: hymir-compile: error: unknown target 'tpu' (supported: cpu, cuda)
// CUDA: error: 'hymir.lightning_attention' op GPU kernel needs the key dim (6) and the value chunk (6) to be multiples of 4
func.func @attention(%q: tensor<1x?x2x8xf32>, %k: tensor<1x?x2x8xf32>, %v: tensor<1x?x2x8xf32>) -> tensor<1x?x2x8xf32> {
  %o = hymir.softmax_attention %q, %k, %v {causal = true, scale = 0.35 : f32}
      : (tensor<1x?x2x8xf32>, tensor<1x?x2x8xf32>, tensor<1x?x2x8xf32>) -> tensor<1x?x2x8xf32>
  return %o : tensor<1x?x2x8xf32>
}
