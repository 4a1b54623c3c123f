// RUN: hymir-translate %s --hymir-plan-to-listing | FileCheck %s
// RUN: hymir-translate %s --hymir-plan-to-artifact -o %t.hymir && test -s %t.hymir

// Every step kind and storage kind, translated to the artifact and listed
// (the format of hymir-compile --print-plan).

// CHECK: code 0: cubin, 2 B, with its PTX as fallback
// CHECK-NEXT: code 1: ptx, 4 B
// CHECK-NEXT: devices 2
// CHECK-NEXT: param 0 w: BF16[48, 64] sharded along dim 0
// CHECK-NEXT: entry mlp
// CHECK-NEXT:   symbol tokens = input 0 dim 0, max 4096
// CHECK-NEXT:   input 0 x: BF16[tokens, 64]
// CHECK-NEXT:   output 0 y: F32[tokens, 48]
// CHECK-NEXT:   buffer 0: arena offset 0, 786432 B
// CHECK-NEXT:   buffer 1: arena offset 786432, 128 B
// CHECK-NEXT:   check 0: hymir.embedding 'ids': each id in range (at g.mlir:3:8)
// CHECK-NEXT:   check 1: hymir.embedding: each id in range
// CHECK-NEXT:   arena 1048576 B
// CHECK-NEXT:   step 0: gemm m tokens n 48 k 64 BF16->F32 f32-precision (input 0, param 0 -> buffer 0)
// CHECK-NEXT:   step 1: launch m::k grid (tokens*48+255)/256 block 256 when tokens >= 65 (tokens*48, buffer 0, buffer 0 + tokens*192 B)
// CHECK-NEXT:   step 2: launch n::k grid (tokens+3)/4x2x1 block 128x2x1 shared 1024 B when tokens <= 64 (tokens*48, buffer 0, buffer 0 + tokens*192 B)
// CHECK-NEXT:   step 3: all_reduce tokens*48 x F32 (buffer 0 + tokens*192 B -> buffer 0)
// CHECK-NEXT:   step 4: all_gather tokens*24 x F32 (buffer 0 + tokens*192 B -> buffer 0)
// CHECK-NEXT:   step 5: copy tokens*192 B (buffer 0 -> output 0)
// CHECK-NEXT:   step 6: launch m::k grid 1 block 1 (check 1, check 0)
// CHECK-NEXT:   step 7: tensor_map BF16[tokens, 64] strides [64, 1] box [32, 64] swizzle 128 B when tokens >= 2 (input 0 -> buffer 1)
// CHECK-NEXT:   step 8: tensor_map BF16[48, 64] strides [64, 1] box [8, 16] (param 0 -> buffer 1)
// CHECK-NEXT:   step 9: launch m::k grid 1 block 1 (buffer 1)
module attributes {hymir_plan.target = "cuda", hymir_plan.chip = "sm_90a",
                   hymir_plan.devices = 2 : i64,
                   hymir_plan.params = [#hymir_plan.tensor<name = "w", elementType = bf16, shape = affine_map<() -> (48, 64)>, shardDim = 0>]} {
  hymir_plan.code @m "cubin" kernels [@m::@k] data "\00\01" fallback "ptx"
  hymir_plan.code @n "ptx" kernels [@n::@k] data "ptx\00"
  hymir_plan.entry @mlp
      inputs [#hymir_plan.tensor<name = "x", elementType = bf16, shape = affine_map<()[s0] -> (s0, 64)>>]
      outputs [#hymir_plan.tensor<name = "y", elementType = f32, shape = affine_map<()[s0] -> (s0, 48)>>]
      symbols [#hymir_plan.symbol<name = "tokens", input = 0, dim = 0, max = 4096>]
      arena 1048576 {
    %x = hymir_plan.input 0
    %w = hymir_plan.param 0
    %y = hymir_plan.output 0
    %b = hymir_plan.buffer 786432 at 0
    %mb = hymir_plan.buffer 128 at 786432
    %c0 = hymir_plan.check 0 "hymir.embedding" tensor "ids" value "id" at "g.mlir:3:8"
    %c1 = hymir_plan.check 1 "hymir.embedding" tensor "" value "id" at ""
    %xv = hymir_plan.view %x offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (s0, 64)> strides affine_map<()[s0] -> (64, 1)> : !hymir_plan.view<bf16, 2>
    %wv = hymir_plan.view %w offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (48, 64)> strides affine_map<()[s0] -> (64, 1)> : !hymir_plan.view<bf16, 2>
    %bv = hymir_plan.view %b offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (s0, 48)> strides affine_map<()[s0] -> (48, 1)> : !hymir_plan.view<f32, 2>
    %bw = hymir_plan.view %b offset affine_map<()[s0] -> (s0 * 192)> sizes affine_map<()[s0] -> (s0, 48)> strides affine_map<()[s0] -> (48, 1)> : !hymir_plan.view<f32, 2>
    %yv = hymir_plan.view %y offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (s0, 48)> strides affine_map<()[s0] -> (48, 1)> : !hymir_plan.view<f32, 2>
    %n = hymir_plan.size affine_map<()[s0] -> (s0 * 48)>
    hymir_plan.gemm %xv, %wv -> %bv m affine_map<()[s0] -> (s0)> n 48 k 64 {f32_precision} : !hymir_plan.view<bf16, 2>, !hymir_plan.view<bf16, 2> -> !hymir_plan.view<f32, 2>
    hymir_plan.launch @m::@k grid affine_map<()[s0] -> ((s0 * 48 + 255) floordiv 256, 1, 1)> block [256, 1, 1] (%n, %bv, %bw : index, !hymir_plan.view<f32, 2>, !hymir_plan.view<f32, 2>) {tokens_at_least = 65 : i64}
    hymir_plan.launch @n::@k grid affine_map<()[s0] -> (s0 ceildiv 4, 2, 1)> block [128, 2, 1] (%n, %bv, %bw : index, !hymir_plan.view<f32, 2>, !hymir_plan.view<f32, 2>) {shared_memory_bytes = 1024 : i64, tokens_at_most = 64 : i64}
    hymir_plan.all_reduce %bw -> %bv elements affine_map<()[s0] -> (s0 * 48)> : !hymir_plan.view<f32, 2> -> !hymir_plan.view<f32, 2>
    hymir_plan.all_gather %bw -> %bv elements affine_map<()[s0] -> (s0 * 24)> : !hymir_plan.view<f32, 2> -> !hymir_plan.view<f32, 2>
    hymir_plan.copy %bv -> %yv bytes affine_map<()[s0] -> (s0 * 192)> : !hymir_plan.view<f32, 2> -> !hymir_plan.view<f32, 2>
    %cv0 = hymir_plan.view %c0 offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (2)> strides affine_map<()[s0] -> (1)> : !hymir_plan.view<i64, 1>
    %cv1 = hymir_plan.view %c1 offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (2)> strides affine_map<()[s0] -> (1)> : !hymir_plan.view<i64, 1>
    hymir_plan.launch @m::@k grid affine_map<()[s0] -> (1, 1, 1)> block [1, 1, 1] (%cv1, %cv0 : !hymir_plan.view<i64, 1>, !hymir_plan.view<i64, 1>)
    %mv = hymir_plan.view %mb offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (16)> strides affine_map<()[s0] -> (1)> : !hymir_plan.view<i64, 1>
    hymir_plan.tensor_map %xv into %mv box [32, 64] swizzle 128 {tokens_at_least = 2 : i64} : !hymir_plan.view<bf16, 2> into !hymir_plan.view<i64, 1>
    hymir_plan.tensor_map %wv into %mv box [8, 16] swizzle 0 : !hymir_plan.view<bf16, 2> into !hymir_plan.view<i64, 1>
    hymir_plan.launch @m::@k grid affine_map<()[s0] -> (1, 1, 1)> block [1, 1, 1] (%mv : !hymir_plan.view<i64, 1>)
  }
}
