// The token-chunked backward of cispo-loss-token-chunk.mlir through the
// whole cuda target: ptxas accepts every kernel; the plan runs chunk 0's
// launches always and chunk 1's for T >= 257 (token guards), then the
// weights kernel once more for the loss. Per chunk: the forward over the
// chunk's 2 token blocks x 10 vocabulary chunks (128 KiB of stages), the
// lse, the weights, g and g^T (64 x 64 tiles over 256 tokens x 20096 rows),
// the chunk's h^T, g^T h (a block per 128 x 256 tile of d_lm_head, K = the
// chunk), then per pass W^T and g W (128 x 128 tiles: 2 x 2 blocks fill the
// SMs' waves better than 2 x 1 of 128 x 256), and the chunk's d_hidden rows.
// The cpu target takes the flag and has no chunks (hymir-tile-cispo-loss).
// REQUIRES: ptxas
// RUN: hymir-compile %S/cispo-loss-token-chunk.mlir -o %t.hymir --target=cuda --max-tokens=300 --cispo-token-chunk=256 --print-plan | FileCheck %s
// RUN: hymir-compile %S/cispo-loss-token-chunk.mlir -o %t.cpu.hymir --target=cpu --max-tokens=300 --cispo-token-chunk=256 --print-plan | FileCheck %s --check-prefix=CPU
// RUN: hymir-compile %S/cispo-loss-token-chunk.mlir -o %t.mn.hymir --target=cuda --max-tokens=300 --cispo-token-chunk=256 --cispo-mn-major --print-plan | FileCheck %s --check-prefix=MN
// RUN: not hymir-compile %S/cispo-loss-token-chunk.mlir -o %t.bad.hymir --target=cuda --cispo-token-chunk=200 2>&1 | FileCheck %s --check-prefix=BAD
// CHECK: entry bf16_head
// CHECK: step 0: launch {{.*}} grid 2x10x1 block 256 shared 131072 B (
// CHECK: step 3: launch {{.*}} grid 4x314x1 block 256 shared 8448 B (
// CHECK: step 5: launch {{.*}} grid 1x157x1 block 256 shared 196608 B (
// CHECK: step 7: launch {{.*}} grid 2x2x1 block 256 shared 131072 B (
// CHECK: step 12: launch {{.*}} grid 256 block 256 (
// CHECK: step 13: launch {{.*}} grid 2x10x1 block 256 shared 131072 B when tokens >= 257 (
// CHECK: step 25: launch {{.*}} when tokens >= 257 (
// CHECK: step 26: launch {{.*}} grid 1 block 256 shared 4104 B (
// CHECK-NOT: step 27:
// CHECK: entry static_head_only
// CHECK: step 5: launch {{.*}} grid 1x8x1 block 256 shared 131072 B (
// CHECK-NOT: step 7:
// CHECK: entry f32_head
// CHECK-NOT: when tokens
// CHECK: entry forward_only
// With --cispo-mn-major: per chunk the forward, lse, weights, g (in place
// only), g^T h (both operands MN-major; 128 x 256 tiles, 192 KiB) reading
// h itself, and g W over the whole vocabulary reading W itself.
// MN: entry bf16_head
// MN: step 3: launch {{.*}} grid 4x314x1 block 256 shared 8448 B (
// MN: step 4: launch {{.*}} grid 1x157x1 block 256 shared 196608 B (input 0, buffer 5, output 3)
// MN: step 5: launch {{.*}} grid 2x2x1 block 256 shared 131072 B (input 1, buffer 5, tokens, output 2)
// MN: step 11: launch {{.*}} when tokens >= 257 (input 1, buffer 5, tokens, output 2)
// MN: step 12: launch {{.*}} grid 1 block 256 shared 4104 B (
// MN-NOT: step 13:
// CPU-NOT: when tokens
// CPU: entry bf16_head
// BAD: hymir-compile: error: --cispo-token-chunk must be a multiple of 128 (0: off), got 200
