// hymir.lightning_attention with its decay rates written as a constant
// tensor (as hymir-import writes them): the kernel form fills a buffer from
// the constant inside a kernel (hymir-materialize-constants), two heads of
// 32, f32.
func.func @lightning(%q: tensor<1x?x2x32xf32> {hymir.name = "q"}, %k: tensor<1x?x2x32xf32> {hymir.name = "k"},
                     %v: tensor<1x?x2x32xf32> {hymir.name = "v"})
    -> (tensor<1x?x2x32xf32> {hymir.name = "out"}, tensor<1x2x32x32xf32> {hymir.name = "final_state"}) {
  %slopes = arith.constant dense<[0.0625, 0.00390625]> : tensor<2xf32>
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 64 : i64}
      : (tensor<1x?x2x32xf32>, tensor<1x?x2x32xf32>, tensor<1x?x2x32xf32>, tensor<2xf32>)
      -> (tensor<1x?x2x32xf32>, tensor<1x2x32x32xf32>)
  return %o, %s : tensor<1x?x2x32xf32>, tensor<1x2x32x32xf32>
}
