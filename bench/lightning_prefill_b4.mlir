// Benchmark graph: lightning attention prefill at MiniMax-M1's head shape
// (64 heads of 128), bf16, blocks of 256 tokens, from a zero state, 4 sequences.
func.func @prefill(%q: tensor<4x?x64x128xbf16> {hymir.name = "q"}, %k: tensor<4x?x64x128xbf16> {hymir.name = "k"},
                   %v: tensor<4x?x64x128xbf16> {hymir.name = "v"}, %slopes: tensor<64xf32> {hymir.name = "slopes"})
    -> (tensor<4x?x64x128xbf16> {hymir.name = "out"}, tensor<4x64x128x128xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 256 : i64}
      : (tensor<4x?x64x128xbf16>, tensor<4x?x64x128xbf16>, tensor<4x?x64x128xbf16>, tensor<64xf32>)
      -> (tensor<4x?x64x128xbf16>, tensor<4x64x128x128xf32>)
  return %o, %s : tensor<4x?x64x128xbf16>, tensor<4x64x128x128xf32>
}
