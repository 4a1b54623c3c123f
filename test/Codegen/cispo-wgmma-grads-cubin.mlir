// The wgmma backward of cispo-loss-wgmma-grads.mlir through the whole cuda
// target: ptxas accepts every kernel and the plan launches, per pass of
// vocabulary rows, W^T (64 x 64 tiles), the g planes (128 KiB of stages),
// g^T h (a block per 128 x 256 tile of d_lm_head, 192 KiB) and g W (a block
// per 128 tokens x 256 columns); the f32 head's g^T h takes [n, v] tiles of
// two g planes. No step adds atomically and no step zeroes a gradient.
// REQUIRES: ptxas
// RUN: hymir-compile %S/cispo-loss-wgmma-grads.mlir -o %t.hymir --target=cuda --print-plan | FileCheck %s
// CHECK-COUNT-25: cubin, {{[0-9]+}} B, with its PTX as fallback
// CHECK: entry bf16_head
// CHECK: step 3: launch {{.*}} grid 4x(tokens+63)/64x1 block 256 shared 8448 B
// CHECK: step 4: launch {{.*}} grid 4x256x1 block 256 shared 8448 B
// CHECK: step 5: launch {{.*}} grid (tokens+127)/128x128x1 block 256 shared 131072 B
// CHECK: step 6: launch {{.*}} grid 1x128x1 block 256 shared 196608 B
// CHECK: step 7: launch {{.*}} grid (tokens+127)/128 block 256 shared 196608 B
// CHECK: step 8: launch {{.*}} grid 4x58x1 block 256 shared 8448 B
// CHECK: step 9: launch {{.*}} grid (tokens+127)/128x29x1
// CHECK: step 10: launch {{.*}} grid 1x29x1 block 256
// CHECK: step 12: launch {{.*}} grid tokens block 256
// CHECK-NOT: step 13:
// CHECK: entry f32_head
// CHECK: step 5: launch {{.*}} grid 1x8x1 block 256 shared 196608 B
// CHECK-NOT: step 6:
// CHECK: entry narrow
