// Benchmark graph: bench/attention_decode_b1_s8192.mlir with MiniMax-M1's
// partial RoPE (64 of 128 dims, theta 1e7) on the decode token's q and k
// first: the difference is what RoPE costs inside a decode call.
func.func @decode(%q: tensor<1x1x64x128xbf16> {hymir.name = "q"},
                  %k: tensor<1x8192x8x128xbf16> {hymir.name = "k"},
                  %v: tensor<1x8192x8x128xbf16> {hymir.name = "v"},
                  %knew: tensor<1x1x8x128xbf16> {hymir.name = "k_new"},
                  %pos: tensor<1x1xi32> {hymir.name = "positions"})
    -> (tensor<1x1x64x128xbf16> {hymir.name = "out"}, tensor<1x1x8x128xbf16> {hymir.name = "k_rot"}) {
  %qr = hymir.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<1x1x64x128xbf16>, tensor<1x1xi32>) -> tensor<1x1x64x128xbf16>
  %kr = hymir.rope %knew, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<1x1x8x128xbf16>, tensor<1x1xi32>) -> tensor<1x1x8x128xbf16>
  %o = hymir.softmax_attention %qr, %k, %v {causal = true, scale = 0.08838834764 : f32}
      : (tensor<1x1x64x128xbf16>, tensor<1x8192x8x128xbf16>, tensor<1x8192x8x128xbf16>)
      -> tensor<1x1x64x128xbf16>
  return %o, %kr : tensor<1x1x64x128xbf16>, tensor<1x1x8x128xbf16>
}
