// Plans of an MoE block split by experts over 2 devices (hymir-shard's
// rule): the dispatch of rows and of their experts, and the combine, are
// all_to_all steps with the send offsets taken from the routing; the result,
// split by tokens, is gathered into the output. --shard-moe=tensor gives the
// tensor-parallel plan (one all_reduce); a bad value is refused.
// RUN: hymir-compile %s -o %t.cpu.hymir --target=cpu --devices=2 --print-plan | FileCheck %s --check-prefix=EXPERT
// RUN: hymir-compile %s -o %t.tp.hymir --target=cpu --devices=2 --shard-moe=tensor --print-plan | FileCheck %s --check-prefix=TENSOR
// RUN: not hymir-compile %s -o %t.bad.hymir --target=cpu --devices=2 --shard-moe=none 2>&1 | FileCheck %s --check-prefix=BAD

// EXPERT:      devices 2
// EXPERT:      param 0 router: F32[4, 16]{{$}}
// EXPERT-NEXT: param 1 w1: F32[4, 12, 16] sharded along dim 0
// EXPERT:      input 0 x: F32[8, 16] sharded along dim 0
// EXPERT:      all_to_all 256 x F32 rows of 16 (buffer [[ROWS:[0-9]+]], offsets buffer [[SEND:[0-9]+]] -> buffer {{[0-9]+}}, offsets buffer [[RECV:[0-9]+]])
// EXPERT-NEXT: all_to_all 16 x I32 rows of 1 (buffer {{[0-9]+}}, offsets buffer [[SEND]] -> buffer {{[0-9]+}}, offsets buffer {{[0-9]+}})
// EXPERT:      all_to_all 256 x F32 rows of 16 (buffer {{[0-9]+}}, offsets buffer [[RECV]] -> buffer {{[0-9]+}}, offsets buffer {{[0-9]+}})
// EXPERT-NOT:  all_reduce
// EXPERT:      all_gather 64 x F32 ({{.*}} -> output 0)

// TENSOR-NOT:  all_to_all
// TENSOR:      all_reduce

// BAD: hymir-compile: error: --shard-moe must be auto, expert or tensor, got 'none'
func.func @moe(%x: tensor<8x16xf32> {hymir.name = "x"},
               %r: tensor<4x16xf32> {hymir.name = "router", hymir.param},
               %w1: tensor<4x12x16xf32> {hymir.name = "w1", hymir.param},
               %w3: tensor<4x12x16xf32> {hymir.name = "w3", hymir.param},
               %w2: tensor<4x16x12xf32> {hymir.name = "w2", hymir.param})
    -> (tensor<8x16xf32> {hymir.name = "y"}) {
  %m = hymir.moe %x, %r, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<8x16xf32>, tensor<4x16xf32>, tensor<4x12x16xf32>, tensor<4x12x16xf32>, tensor<4x16x12xf32>) -> tensor<8x16xf32>
  return %m : tensor<8x16xf32>
}
