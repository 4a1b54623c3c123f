// Benchmark graph: partial RoPE (the first 64 of 128 dims, theta 1e7) on the
// query (64 heads) and key (8 heads) of MiniMax-M1's softmax layer, bf16, any
// token count: its cost beside softmax attention's (bench/attention_bench.py).
func.func @rope(%q: tensor<1x?x64x128xbf16> {hymir.name = "q"},
                %k: tensor<1x?x8x128xbf16> {hymir.name = "k"},
                %pos: tensor<1x?xi32> {hymir.name = "positions"})
    -> (tensor<1x?x64x128xbf16> {hymir.name = "q_rot"}, tensor<1x?x8x128xbf16> {hymir.name = "k_rot"}) {
  %qr = hymir.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<1x?x64x128xbf16>, tensor<1x?xi32>) -> tensor<1x?x64x128xbf16>
  %kr = hymir.rope %k, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<1x?x8x128xbf16>, tensor<1x?xi32>) -> tensor<1x?x8x128xbf16>
  return %qr, %kr : tensor<1x?x64x128xbf16>, tensor<1x?x8x128xbf16>
}
