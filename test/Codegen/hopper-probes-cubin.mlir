// ptxas assembles the Hopper pipeline probes for sm_90a as
// scripts/hopper-probes-prepare does: no spills, and no "setmaxnreg
// ignored" (C7508), which ptxas reports when it cannot tell a kernel's
// register count at entry and then drops the roles' register budgets.
// REQUIRES: ptxas
// RUN: hymir-opt %s -hymir-test-hopper-probes -hymir-cuda-kernels -o %t.mlir
// RUN: %python %hymir_src/test/gpu/hopper-probes/extract_ptx.py %t.mlir %t.ptx
// RUN: env PATH="$PATH:/usr/local/cuda/bin" ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2>&1 \
// RUN:   | FileCheck %s --implicit-check-not=C7508 --implicit-check-not=error

// CHECK: Compiling entry function 'hopper_probe_wgmma' for 'sm_90a'
// CHECK: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// CHECK: Compiling entry function 'hopper_probe_setmaxnreg' for 'sm_90a'
// CHECK: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// CHECK: Compiling entry function 'hopper_probe_ring' for 'sm_90a'
// CHECK: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// CHECK: Compiling entry function 'hopper_probe_tma' for 'sm_90a'
// CHECK: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
module {
}
