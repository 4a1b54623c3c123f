// hymir-compile takes mlir-opt's debugging options on its pipelines: IR
// after every pass, after a failure, timings, and crash reproducers.
// (Inputs/lightning.mlir: a head dim of 6, which the cuda kernel rejects.)
// RUN: hymir-compile %s -o %t.hymir --mlir-print-ir-after-all 2>&1 | FileCheck %s --check-prefix=ALL
// RUN: hymir-compile %s -o %t.hymir --mlir-timing 2>&1 | FileCheck %s --check-prefix=TIMING
// RUN: not hymir-compile %S/Inputs/lightning.mlir -o %t.hymir --target=cuda --ptxas=none --mlir-print-ir-after-failure 2>&1 | FileCheck %s --check-prefix=FAILURE
// RUN: rm -f %t.repro.mlir
// RUN: not hymir-compile %S/Inputs/lightning.mlir -o %t.hymir --target=cuda --ptxas=none --mlir-pass-pipeline-crash-reproducer=%t.repro.mlir 2>&1
// RUN: FileCheck %s --check-prefix=REPRO --input-file=%t.repro.mlir

// ALL: IR Dump After Inliner
// ALL: IR Dump After HymirLowerToPlan
// ALL: IR Dump After {{.*}}ConvertFuncToLLVM

// TIMING: Execution time report
// TIMING: kernel form
// TIMING: plan
// TIMING: kernels

// FAILURE: IR Dump After HymirLightningToGpu Failed

// REPRO: hymir.lightning_attention
// REPRO: pipeline: "builtin.module(
// REPRO-SAME: hymir-lightning-to-gpu
func.func @square(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %y = arith.mulf %x, %x : tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
