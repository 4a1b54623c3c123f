// Benchmark graph: bench/attention_prefill.mlir with MiniMax-M1's partial
// RoPE (the first 64 of 128 dims, theta 1e7) on q and k first, as the model
// runs it: the difference to attention_prefill is what RoPE costs in a call.
func.func @prefill(%q: tensor<1x?x64x128xbf16> {hymir.name = "q"},
                   %k: tensor<1x?x8x128xbf16> {hymir.name = "k"},
                   %v: tensor<1x?x8x128xbf16> {hymir.name = "v"},
                   %pos: tensor<1x?xi32> {hymir.name = "positions"})
    -> (tensor<1x?x64x128xbf16> {hymir.name = "out"}) {
  %qr = hymir.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<1x?x64x128xbf16>, tensor<1x?xi32>) -> tensor<1x?x64x128xbf16>
  %kr = hymir.rope %k, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<1x?x8x128xbf16>, tensor<1x?xi32>) -> tensor<1x?x8x128xbf16>
  %o = hymir.softmax_attention %qr, %kr, %v {causal = true, scale = 0.08838834764 : f32}
      : (tensor<1x?x64x128xbf16>, tensor<1x?x8x128xbf16>, tensor<1x?x8x128xbf16>)
      -> tensor<1x?x64x128xbf16>
  return %o : tensor<1x?x64x128xbf16>
}
