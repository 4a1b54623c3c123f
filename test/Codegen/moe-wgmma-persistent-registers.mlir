// The persistent MoE wgmma kernels (--moe-wgmma-persistent, 64-row tails)
// on M1's MoE block (bench/moe_m1.mlir, sm_90a): ptxas takes them without
// spills (one 256-thread block per SM: up to 255 registers a thread); the
// gate/up and down kernels are moe_kernel_8 and moe_kernel_10 of the plan
// (7 and 9 zero their tile counters).
// REQUIRES: ptxas
// RUN: hymir-compile %hymir_src/bench/moe_m1.mlir -o %t.hymir --target=cuda --chip=sm_90a --max-tokens=16384 --moe-wgmma-persistent=132 --moe-tile=64 --dump-stages=%t.d --print-plan | FileCheck %s --check-prefix=PLAN
// RUN: ptxas -arch=sm_90a -v %t.d/3-cuda-kernels.moe_kernel_8.ptx -o %t.8.cubin 2>&1 | FileCheck %s
// RUN: ptxas -arch=sm_90a -v %t.d/3-cuda-kernels.moe_kernel_10.ptx -o %t.10.cubin 2>&1 | FileCheck %s
// PLAN: launch moe_kernel_7::moe_kernel grid 1 block 1 when tokens >= 17
// PLAN: launch moe_kernel_8::moe_kernel grid 132 block 256 shared 196624 B when tokens >= 17
// PLAN: launch moe_kernel_9::moe_kernel grid 1 block 1 when tokens >= 17
// PLAN: launch moe_kernel_10::moe_kernel grid 132 block 256 shared 196624 B when tokens >= 17
// CHECK: 0 bytes spill stores, 0 bytes spill loads
// CHECK: Used {{[0-9]+}} registers
