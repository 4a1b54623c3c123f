// An MoE block with a residual for expert parallelism: 16 tokens (static, so
// hymir-shard can split them), 8 experts of 24, top-2 of a renormalised
// softmax. Over N devices each holds 8 / N experts and 16 / N tokens; the
// (token, pick) rows travel by hymir.all_to_all to their experts and back.
func.func @moe_block(%x: tensor<16x32xf32> {hymir.name = "x"},
                     %router: tensor<8x32xf32> {hymir.name = "moe.router", hymir.param},
                     %w1: tensor<8x24x32xf32> {hymir.name = "moe.w1", hymir.param},
                     %w3: tensor<8x24x32xf32> {hymir.name = "moe.w3", hymir.param},
                     %w2: tensor<8x32x24xf32> {hymir.name = "moe.w2", hymir.param})
    -> (tensor<16x32xf32> {hymir.name = "y"}) {
  %m = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<16x32xf32>, tensor<8x32xf32>, tensor<8x24x32xf32>, tensor<8x24x32xf32>, tensor<8x32x24xf32>)
      -> tensor<16x32xf32>
  %y = arith.addf %x, %m : tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}
