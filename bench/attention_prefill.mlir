// Benchmark graph: causal softmax attention prefill at MiniMax-M1's shape
// (64 query heads sharing 8 KV heads, head dim 128), bf16, any token count.
func.func @prefill(%q: tensor<1x?x64x128xbf16> {hymir.name = "q"},
                   %k: tensor<1x?x8x128xbf16> {hymir.name = "k"},
                   %v: tensor<1x?x8x128xbf16> {hymir.name = "v"})
    -> (tensor<1x?x64x128xbf16> {hymir.name = "out"}) {
  %o = hymir.softmax_attention %q, %k, %v {causal = true, scale = 0.08838834764 : f32}
      : (tensor<1x?x64x128xbf16>, tensor<1x?x8x128xbf16>, tensor<1x?x8x128xbf16>)
      -> tensor<1x?x64x128xbf16>
  return %o : tensor<1x?x64x128xbf16>
}
