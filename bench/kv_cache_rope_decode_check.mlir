// Correctness graph for the keys' RoPE fused into the KV-cache write
// (hymir-compile --attention-fuse-rope, hymir-fuse-kv-cache-rope): one decode
// step of an M1 softmax layer (64/8 heads, head dim 128, rotary 64, theta
// 1e7) through caches of 160 positions tied to the results, three sequences
// with their own positions and valid lengths (test/e2e/kv_cache_rope.py sets
// them; the queries' RoPE fuses into the attention kernel on cuda).
func.func @decode(%q: tensor<3x1x64x128xbf16> {hymir.name = "q"},
                  %kc: tensor<3x160x8x128xbf16> {hymir.name = "kc"},
                  %vc: tensor<3x160x8x128xbf16> {hymir.name = "vc"},
                  %knew: tensor<3x1x8x128xbf16> {hymir.name = "k_new"},
                  %vnew: tensor<3x1x8x128xbf16> {hymir.name = "v_new"},
                  %pos: tensor<3x1xi32> {hymir.name = "positions"},
                  %len: tensor<3xi32> {hymir.name = "lengths"})
    -> (tensor<3x1x64x128xbf16> {hymir.name = "out"},
        tensor<3x160x8x128xbf16> {hymir.name = "kc_out", hymir.tied = 1 : i64},
        tensor<3x160x8x128xbf16> {hymir.name = "vc_out", hymir.tied = 2 : i64}) {
  %qr = hymir.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<3x1x64x128xbf16>, tensor<3x1xi32>) -> tensor<3x1x64x128xbf16>
  %kr = hymir.rope %knew, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<3x1x8x128xbf16>, tensor<3x1xi32>) -> tensor<3x1x8x128xbf16>
  %kc1 = hymir.kv_cache_write %kc, %kr, %len
      : (tensor<3x160x8x128xbf16>, tensor<3x1x8x128xbf16>, tensor<3xi32>) -> tensor<3x160x8x128xbf16>
  %vc1 = hymir.kv_cache_write %vc, %vnew, %len
      : (tensor<3x160x8x128xbf16>, tensor<3x1x8x128xbf16>, tensor<3xi32>) -> tensor<3x160x8x128xbf16>
  %o = hymir.softmax_attention %qr, %kc1, %vc1 lengths(%len) {causal = true, scale = 0.08838834764 : f32}
      : (tensor<3x1x64x128xbf16>, tensor<3x160x8x128xbf16>, tensor<3x160x8x128xbf16>, tensor<3xi32>)
      -> tensor<3x1x64x128xbf16>
  return %o, %kc1, %vc1 : tensor<3x1x64x128xbf16>, tensor<3x160x8x128xbf16>, tensor<3x160x8x128xbf16>
}
