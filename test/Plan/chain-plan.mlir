// The plan of the chained MLP (test/e2e/Inputs/chain_bf16.mlir) for both
// targets, printed by hymir-opt: every stage of hymir-compile up to the
// plan can be run on its own.
// RUN: hymir-opt %hymir_src/test/e2e/Inputs/chain_bf16.mlir --mlir-print-local-scope \
// RUN:   --pass-pipeline='builtin.module(inline, hymir-kernel-form, hymir-plan{target=cpu})' \
// RUN:   | FileCheck %s --check-prefixes=COMMON,CPU
// RUN: hymir-opt %hymir_src/test/e2e/Inputs/chain_bf16.mlir --mlir-print-local-scope \
// RUN:   --pass-pipeline='builtin.module(inline, hymir-kernel-form{library-gemm=true}, hymir-plan{target=cuda chip=sm_90a})' \
// RUN:   | FileCheck %s --check-prefixes=COMMON,CUDA

// CPU: hymir_plan.target = "cpu"
// CUDA: hymir_plan.chip = "sm_90a"
// CUDA-SAME: hymir_plan.target = "cuda"
// COMMON: hymir_plan.entry @mlp
// COMMON-SAME: inputs [#hymir_plan.tensor<name = "x", elementType = bf16, shape = affine_map<()[s0] -> (s0, 64)>>
// COMMON-SAME: outputs [#hymir_plan.tensor<name = "y", elementType = bf16, shape = affine_map<()[s0] -> (s0, 64)>>]
// COMMON-SAME: symbols [#hymir_plan.symbol<name = "tokens", input = 0, dim = 0, max = 4096>]
// COMMON-SAME: arena
// COMMON: hymir_plan.input 4
// COMMON: hymir_plan.buffer {{[0-9]+}} at {{[0-9]+}}
// The RMSNorm's sums of squares, then the normalised rows.
// COMMON: hymir_plan.launch @mlp_kernel::@mlp_kernel grid affine_map<()[s0] -> (s0 ceildiv 256, 1, 1)> block [256, 1, 1]
// On cpu the projections are kernels; on cuda they are library GEMMs.
// CPU-NOT: hymir_plan.gemm
// CUDA: hymir_plan.gemm {{.*}} n 96 k 64
// CUDA: hymir_plan.gemm {{.*}} n 96 k 64
// The down projection writes the output in place on cuda.
// CUDA: %[[Y:.*]] = hymir_plan.output 0
// CUDA: %[[YV:.*]] = hymir_plan.view %[[Y]]
// CUDA: hymir_plan.gemm {{.*}} -> %[[YV]] m affine_map<()[s0] -> (s0)> n 64 k 96
// COMMON-NOT: func.func
