// The softmax-attention token mixer of every 8th MiniMax-M1 layer
// (hymir.softmax_attention (docs/dialect/HymirOps.md)) at toy widths: hidden 64, 4 query heads and 2 KV heads of
// 16, RoPE on the first 8 dims of each head, causal, bf16 activations.
func.func @softmax_mixer(
    %x: tensor<?x64xbf16> {hymir.name = "x"},
    %positions: tensor<1x?xi32> {hymir.name = "positions"},
    %wq: tensor<64x64xbf16> {hymir.name = "q_proj"},
    %wk: tensor<32x64xbf16> {hymir.name = "k_proj"},
    %wv: tensor<32x64xbf16> {hymir.name = "v_proj"},
    %wo: tensor<64x64xbf16> {hymir.name = "o_proj"})
    -> (tensor<?x64xbf16> {hymir.name = "y"}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x64xbf16>
  %q2 = hymir.linear %x, %wq : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  %k2 = hymir.linear %x, %wk : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
  %v2 = hymir.linear %x, %wv : (tensor<?x64xbf16>, tensor<32x64xbf16>) -> tensor<?x32xbf16>
  %q = tensor.expand_shape %q2 [[0, 1], [2, 3]] output_shape [1, %t, 4, 16] : tensor<?x64xbf16> into tensor<1x?x4x16xbf16>
  %k = tensor.expand_shape %k2 [[0, 1], [2, 3]] output_shape [1, %t, 2, 16] : tensor<?x32xbf16> into tensor<1x?x2x16xbf16>
  %v = tensor.expand_shape %v2 [[0, 1], [2, 3]] output_shape [1, %t, 2, 16] : tensor<?x32xbf16> into tensor<1x?x2x16xbf16>
  %qr = hymir.rope %q, %positions {rotary_dim = 8 : i64, theta = 1.000000e+07 : f64}
      : (tensor<1x?x4x16xbf16>, tensor<1x?xi32>) -> tensor<1x?x4x16xbf16>
  %kr = hymir.rope %k, %positions {rotary_dim = 8 : i64, theta = 1.000000e+07 : f64}
      : (tensor<1x?x2x16xbf16>, tensor<1x?xi32>) -> tensor<1x?x2x16xbf16>
  %o = hymir.softmax_attention %qr, %kr, %v {causal = true, scale = 2.500000e-01 : f32}
      : (tensor<1x?x4x16xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2x16xbf16>) -> tensor<1x?x4x16xbf16>
  %o2 = tensor.collapse_shape %o [[0, 1], [2, 3]] : tensor<1x?x4x16xbf16> into tensor<?x64xbf16>
  %y = hymir.linear %o2, %wo : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
