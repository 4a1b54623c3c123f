// RUN: hymir-opt %s | hymir-opt --mlir-print-local-scope | FileCheck %s
// RUN: hymir-opt %s --mlir-print-op-generic | hymir-opt --mlir-print-local-scope | FileCheck %s

// Every op of the plan dialect, printed and parsed back.

// CHECK: module attributes
// CHECK-SAME: hymir_plan.devices = 2 : i64
// CHECK-SAME: hymir_plan.params = [#hymir_plan.tensor<name = "w", elementType = bf16, shape = affine_map<() -> (96, 64)>, shardDim = 0>]
// CHECK-SAME: hymir_plan.target = "cuda"
module attributes {hymir_plan.target = "cuda", hymir_plan.chip = "sm_90a",
                   hymir_plan.devices = 2 : i64,
                   hymir_plan.params = [#hymir_plan.tensor<name = "w", elementType = bf16, shape = affine_map<() -> (96, 64)>, shardDim = 0>]} {
  // CHECK: hymir_plan.code @m "cubin" kernels [@m::@k] data "\00\01" fallback "ptx"
  hymir_plan.code @m "cubin" kernels [@m::@k] data "\00\01" fallback "ptx"

  // CHECK-LABEL: hymir_plan.entry @mlp
  // CHECK-SAME: inputs [#hymir_plan.tensor<name = "x", elementType = bf16, shape = affine_map<()[s0] -> (s0, 64)>>]
  // CHECK-SAME: outputs [#hymir_plan.tensor<name = "y", elementType = f32, shape = affine_map<()[s0] -> (s0, 48)>>]
  // CHECK-SAME: symbols [#hymir_plan.symbol<name = "tokens", input = 0, dim = 0, max = 4096>]
  // CHECK-SAME: arena 1048576
  hymir_plan.entry @mlp
      inputs [#hymir_plan.tensor<name = "x", elementType = bf16, shape = affine_map<()[s0] -> (s0, 64)>>]
      outputs [#hymir_plan.tensor<name = "y", elementType = f32, shape = affine_map<()[s0] -> (s0, 48)>>]
      symbols [#hymir_plan.symbol<name = "tokens", input = 0, dim = 0, max = 4096>]
      arena 1048576 {
    // CHECK: %[[X:.*]] = hymir_plan.input 0
    // CHECK: %[[W:.*]] = hymir_plan.param 0
    // CHECK: %[[Y:.*]] = hymir_plan.output 0
    // CHECK: %[[B:.*]] = hymir_plan.buffer 786432 at 0
    // CHECK: hymir_plan.check 0 "hymir.embedding" tensor "ids" value "id" at "g.mlir:3:8"
    %x = hymir_plan.input 0
    %w = hymir_plan.param 0
    %y = hymir_plan.output 0
    %b = hymir_plan.buffer 786432 at 0
    %c = hymir_plan.check 0 "hymir.embedding" tensor "ids" value "id" at "g.mlir:3:8"
    // CHECK: hymir_plan.view %[[X]] offset {{.*}} sizes affine_map<()[s0] -> (s0, 64)> strides affine_map<()[s0] -> (64, 1)> : <bf16, 2>
    %xv = hymir_plan.view %x offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (s0, 64)> strides affine_map<()[s0] -> (64, 1)> : !hymir_plan.view<bf16, 2>
    %wv = hymir_plan.view %w offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (48, 64)> strides affine_map<()[s0] -> (64, 1)> : !hymir_plan.view<bf16, 2>
    %bv = hymir_plan.view %b offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (s0, 48)> strides affine_map<()[s0] -> (48, 1)> : !hymir_plan.view<f32, 2>
    %bw = hymir_plan.view %b offset affine_map<()[s0] -> (s0 * 192)> sizes affine_map<()[s0] -> (s0, 48)> strides affine_map<()[s0] -> (48, 1)> : !hymir_plan.view<f32, 2>
    %yv = hymir_plan.view %y offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (s0, 48)> strides affine_map<()[s0] -> (48, 1)> : !hymir_plan.view<f32, 2>
    // CHECK: %[[N:.*]] = hymir_plan.size affine_map<()[s0] -> (s0 * 48)>
    %n = hymir_plan.size affine_map<()[s0] -> (s0 * 48)>
    // CHECK: hymir_plan.gemm {{.*}} m affine_map<()[s0] -> (s0)> n 48 k 64 {f32_precision}
    hymir_plan.gemm %xv, %wv -> %bv m affine_map<()[s0] -> (s0)> n 48 k 64 {f32_precision} : !hymir_plan.view<bf16, 2>, !hymir_plan.view<bf16, 2> -> !hymir_plan.view<f32, 2>
    // CHECK: hymir_plan.launch @m::@k grid affine_map<()[s0] -> ((s0 * 48 + 255) floordiv 256, 1, 1)> block [256, 1, 1]({{.*}}) {tokens_at_least = 65 : i64}
    hymir_plan.launch @m::@k grid affine_map<()[s0] -> ((s0 * 48 + 255) floordiv 256, 1, 1)> block [256, 1, 1] (%n, %bv, %bw : index, !hymir_plan.view<f32, 2>, !hymir_plan.view<f32, 2>) {tokens_at_least = 65 : i64}
    // CHECK: hymir_plan.launch @m::@k {{.*}} {shared_memory_bytes = 1024 : i64, tokens_at_most = 64 : i64}
    hymir_plan.launch @m::@k grid affine_map<()[s0] -> (s0 ceildiv 4, 1, 1)> block [128, 1, 1] (%n, %bv, %bw : index, !hymir_plan.view<f32, 2>, !hymir_plan.view<f32, 2>) {shared_memory_bytes = 1024 : i64, tokens_at_most = 64 : i64}
    // CHECK: hymir_plan.all_reduce {{.*}} elements affine_map<()[s0] -> (s0 * 48)>
    hymir_plan.all_reduce %bw -> %bv elements affine_map<()[s0] -> (s0 * 48)> : !hymir_plan.view<f32, 2> -> !hymir_plan.view<f32, 2>
    // CHECK: hymir_plan.all_gather
    hymir_plan.all_gather %bw -> %bv elements affine_map<()[s0] -> (s0 * 24)> : !hymir_plan.view<f32, 2> -> !hymir_plan.view<f32, 2>
    // CHECK: hymir_plan.tensor_map %{{.*}} into %{{.*}} box [16, 64] swizzle 128 {tokens_at_least = 2 : i64} : <bf16, 2> into <i64, 1>
    %m = hymir_plan.view %b offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (16)> strides affine_map<()[s0] -> (1)> : !hymir_plan.view<i64, 1>
    hymir_plan.tensor_map %xv into %m box [16, 64] swizzle 128 {tokens_at_least = 2 : i64} : !hymir_plan.view<bf16, 2> into !hymir_plan.view<i64, 1>
    // CHECK: hymir_plan.copy {{.*}} bytes affine_map<()[s0] -> (s0 * 192)>
    hymir_plan.copy %bv -> %yv bytes affine_map<()[s0] -> (s0 * 192)> : !hymir_plan.view<f32, 2> -> !hymir_plan.view<f32, 2>
    hymir_plan.return
  }
}
