// The one-wave MoE decode kernels' default grid (396 blocks = 3 blocks of
// 256 threads on each of 132 SMs) is one wave only while ptxas gives them at
// most 85 registers a thread (3 x 256 x 85 <= 65536): checked here on M1's
// MoE block (bench/moe_m1.mlir, sm_90a), the gate/up and down kernels being
// moe_kernel_3 and moe_kernel_4 of its plan.
// REQUIRES: ptxas
// RUN: hymir-compile %hymir_src/bench/moe_m1.mlir -o %t.hymir --target=cuda --chip=sm_90a --max-tokens=16384 --dump-stages=%t.d --print-plan | FileCheck %s --check-prefix=PLAN
// RUN: ptxas -arch=sm_90a -v %t.d/3-cuda-kernels.moe_kernel_3.ptx -o %t.3.cubin 2>&1 | FileCheck %s
// RUN: ptxas -arch=sm_90a -v %t.d/3-cuda-kernels.moe_kernel_4.ptx -o %t.4.cubin 2>&1 | FileCheck %s
// PLAN: launch moe_kernel_3::moe_kernel grid 396 block 256 shared 388 B when tokens <= 8
// PLAN: launch moe_kernel_4::moe_kernel grid 396 block 256 shared 388 B when tokens <= 8
// CHECK: Used {{([1-7]?[0-9]|8[0-5])}} registers
