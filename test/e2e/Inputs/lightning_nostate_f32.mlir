// hymir.lightning_attention from a zero state (no initial_state), one head
// of 64 with blocks of 64 tokens, f32.
func.func @lightning(%q: tensor<1x?x1x64xf32> {hymir.name = "q"}, %k: tensor<1x?x1x64xf32> {hymir.name = "k"},
                     %v: tensor<1x?x1x64xf32> {hymir.name = "v"}, %slopes: tensor<1xf32> {hymir.name = "slopes"})
    -> (tensor<1x?x1x64xf32> {hymir.name = "out"}, tensor<1x1x64x64xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 64 : i64}
      : (tensor<1x?x1x64xf32>, tensor<1x?x1x64xf32>, tensor<1x?x1x64xf32>, tensor<1xf32>)
      -> (tensor<1x?x1x64xf32>, tensor<1x1x64x64xf32>)
  return %o, %s : tensor<1x?x1x64xf32>, tensor<1x1x64x64xf32>
}
