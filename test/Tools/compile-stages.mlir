// hymir-compile's stages: --compile-to stops after one and writes its IR
// (to stdout with -o -); --dump-stages writes every stage and each kernel
// module's PTX, decoded; a dump folder that cannot be written is an error.
// RUN: hymir-compile %s --compile-to=kernel-form -o - | FileCheck %s --check-prefix=FORM
// RUN: hymir-compile %s --compile-to plan -o %t.plan.mlir
// RUN: FileCheck %s --check-prefix=PLAN --input-file=%t.plan.mlir
// RUN: hymir-compile %s --compile-to=kernels --target=cuda --ptxas=none -o - | FileCheck %s --check-prefix=KERNELS
// RUN: hymir-compile %s --compile-to=kernels --target=cpu -o - | FileCheck %s --check-prefix=CPU

// RUN: rm -rf %t.stages
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --dump-stages=%t.stages
// RUN: ls %t.stages | FileCheck %s --check-prefix=FILES
// RUN: FileCheck %s --check-prefix=PTX --input-file=%t.stages/3-cuda-kernels.square_kernel.ptx

// RUN: touch %t.file
// RUN: not hymir-compile %s -o %t.hymir --dump-stages=%t.file 2>&1 | FileCheck %s --check-prefix=NOTDIR
// RUN: not hymir-compile %s -o %t.hymir --dump-stages=%t.file/sub 2>&1 | FileCheck %s --check-prefix=NOTDIR
// RUN: not hymir-compile %s --compile-to=plan -o %t.file/plan.mlir 2>&1 | FileCheck %s --check-prefix=OUT

// FORM: func.func @square(
// FORM: gpu.launch_func
// FORM: gpu.module @square_kernel
// FORM-NOT: hymir_plan.entry

// PLAN: hymir_plan.entry @square
// PLAN-NOT: hymir_plan.code

// KERNELS: gpu.binary @square_kernel
// KERNELS-NOT: func.func @square(

// CPU: llvm.func @square_kernel

// FILES: 1-kernel-form.mlir
// FILES-NEXT: 2-plan.mlir
// FILES-NEXT: 3-cuda-kernels.mlir
// FILES-NEXT: 3-cuda-kernels.square_kernel.ptx

// PTX: .target sm_90a
// PTX: .visible .entry square_kernel(

// NOTDIR: hymir-compile: error: --dump-stages: cannot create {{.*}}: Not a directory
// OUT: hymir-compile: error: {{.*}}plan.mlir
func.func @square(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %y = arith.mulf %x, %x : tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
