// hymir-compile rejects what it cannot compile yet with a message at the op.
// (Inputs/lightning.mlir: a head dim of 6, which the GPU kernel cannot tile.)
// RUN: not hymir-compile %s -o %t.hymir --target=cuda 2>&1 | FileCheck %s
// RUN: not hymir-compile %s -o %t.hymir --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not hymir-compile %S/Inputs/lightning.mlir -o %t.hymir --target=cuda 2>&1 | FileCheck %s --check-prefix=CUDA
// RUN: not hymir-compile %S/Inputs/branch.mlir -o %t.hymir --target=cpu 2>&1 | FileCheck %s --check-prefix=BRANCH

// CHECK: error: hymir-compile: 'hymir.moe' compiles for --target=cpu only so far
// BRANCH: branch.mlir:8:8: error: hymir-compile: a branch in an entry must compare the token count with a constant and yield nothing
// TARGET: error: hymir-compile: --target must be cpu or cuda, got 'tpu'
// CUDA: error: 'hymir.lightning_attention' op GPU kernel needs the key dim (6) and the value chunk (6) to be multiples of 4
func.func @moe(%x: tensor<?x8xf32>, %r: tensor<2x8xf32>, %w1: tensor<2x4x8xf32>, %w2: tensor<2x8x4xf32>) -> tensor<?x8xf32> {
  %y = hymir.moe %x, %r, %w1, %w1, %w2 {top_k = 1 : i64} : (tensor<?x8xf32>, tensor<2x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
