// Benchmark graph: partial RoPE of one decode token (batch 1) at MiniMax-M1's
// softmax-layer shape (64 query heads, 8 KV heads, rotary 64 of 128), bf16.
func.func @rope(%q: tensor<1x1x64x128xbf16> {hymir.name = "q"},
                %k: tensor<1x1x8x128xbf16> {hymir.name = "k"},
                %pos: tensor<1x1xi32> {hymir.name = "positions"})
    -> (tensor<1x1x64x128xbf16> {hymir.name = "q_rot"}, tensor<1x1x8x128xbf16> {hymir.name = "k_rot"}) {
  %qr = hymir.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<1x1x64x128xbf16>, tensor<1x1xi32>) -> tensor<1x1x64x128xbf16>
  %kr = hymir.rope %k, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<1x1x8x128xbf16>, tensor<1x1xi32>) -> tensor<1x1x8x128xbf16>
  return %qr, %kr : tensor<1x1x64x128xbf16>, tensor<1x1x8x128xbf16>
}
