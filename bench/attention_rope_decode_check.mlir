// Correctness graph for the fused RoPE of decode (hymir-compile
// --attention-fuse-rope): the shape of bench/attention_rope_decode_b1_s8192.mlir
// at three sequences of 300 cached keys with their own valid lengths, small
// enough to ship with its inputs and fp64 oracle outputs (scripts/gpu-bundle,
// checked by scripts/gpu-check).
func.func @decode(%q: tensor<3x1x64x128xbf16> {hymir.name = "q"},
                  %k: tensor<3x300x8x128xbf16> {hymir.name = "k"},
                  %v: tensor<3x300x8x128xbf16> {hymir.name = "v"},
                  %knew: tensor<3x1x8x128xbf16> {hymir.name = "k_new"},
                  %pos: tensor<3x1xi32> {hymir.name = "positions"},
                  %len: tensor<3xi32> {hymir.name = "lengths"})
    -> (tensor<3x1x64x128xbf16> {hymir.name = "out"}, tensor<3x1x8x128xbf16> {hymir.name = "k_rot"}) {
  %qr = hymir.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<3x1x64x128xbf16>, tensor<3x1xi32>) -> tensor<3x1x64x128xbf16>
  %kr = hymir.rope %knew, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<3x1x8x128xbf16>, tensor<3x1xi32>) -> tensor<3x1x8x128xbf16>
  %o = hymir.softmax_attention %qr, %k, %v lengths(%len) {causal = true, scale = 0.08838834764 : f32}
      : (tensor<3x1x64x128xbf16>, tensor<3x300x8x128xbf16>, tensor<3x300x8x128xbf16>, tensor<3xi32>)
      -> tensor<3x1x64x128xbf16>
  return %o, %kr : tensor<3x1x64x128xbf16>, tensor<3x1x8x128xbf16>
}
