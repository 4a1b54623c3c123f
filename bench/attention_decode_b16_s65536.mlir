// Benchmark graph: one decode token of softmax attention at MiniMax-M1's
// shape (64 query heads, 8 KV heads, head dim 128), bf16, against 65536 cached
// keys per sequence, batch 16. The query is the last position: it sees every key.
func.func @decode(%q: tensor<16x1x64x128xbf16> {hymir.name = "q"},
                  %k: tensor<16x65536x8x128xbf16> {hymir.name = "k"},
                  %v: tensor<16x65536x8x128xbf16> {hymir.name = "v"})
    -> (tensor<16x1x64x128xbf16> {hymir.name = "out"}) {
  %o = hymir.softmax_attention %q, %k, %v {causal = true, scale = 0.08838834764 : f32}
      : (tensor<16x1x64x128xbf16>, tensor<16x65536x8x128xbf16>, tensor<16x65536x8x128xbf16>)
      -> tensor<16x1x64x128xbf16>
  return %o : tensor<16x1x64x128xbf16>
}
