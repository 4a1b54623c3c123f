// The CISPO kernels of cispo-loss-to-gpu.mlir through the whole cuda target:
// ptxas accepts every kernel (a cubin each) and the plan launches them in
// order: @loss 7 kernels (partials, lse, weights, zero and d_hidden, zero and
// d_lm_head), @grads_bf16 6 (no d_lm_head; a conversion to bf16), @logprobs
// 4 (two forward kernels per op).
// REQUIRES: ptxas
// RUN: hymir-compile %S/cispo-loss-to-gpu.mlir -o %t.hymir --target=cuda --print-plan | FileCheck %s
// CHECK-COUNT-17: cubin, {{[0-9]+}} B, with its PTX as fallback
// CHECK: entry loss
// CHECK: step 0: launch {{.*}} grid (tokens+63)/64 block 128
// CHECK: step 2: launch {{.*}} grid 1 block 256 shared 4104 B
// CHECK: step 6: launch {{.*}} grid 16x(tokens+255)/256x1 block 128
// CHECK-NOT: step 7:
// CHECK: entry grads_bf16
// CHECK: step 5: launch {{.*}} grid tokens block 256
// CHECK-NOT: step 6:
// CHECK: entry logprobs
// CHECK: step 3: launch
// CHECK-NOT: step 4:
