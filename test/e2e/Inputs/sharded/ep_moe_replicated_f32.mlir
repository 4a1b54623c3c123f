// An MoE block with a residual for expert parallelism with replicated tokens:
// a dynamic token count (hymir-shard cannot split them), 8 experts of 24,
// top-2 of a renormalised softmax. With --shard-moe=expert each of N
// devices computes the picks of its 8 / N experts (hymir.device_index);
// an all_reduce sums them.
func.func @moe_block(%x: tensor<?x32xf32> {hymir.name = "x"},
                     %router: tensor<8x32xf32> {hymir.name = "moe.router", hymir.param},
                     %w1: tensor<8x24x32xf32> {hymir.name = "moe.w1", hymir.param},
                     %w3: tensor<8x24x32xf32> {hymir.name = "moe.w3", hymir.param},
                     %w2: tensor<8x32x24xf32> {hymir.name = "moe.w2", hymir.param})
    -> (tensor<?x32xf32> {hymir.name = "y"}) {
  %m = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x32xf32>, tensor<8x32xf32>, tensor<8x24x32xf32>, tensor<8x24x32xf32>, tensor<8x32x24xf32>)
      -> tensor<?x32xf32>
  %y = arith.addf %x, %m : tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
