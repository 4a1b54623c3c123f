// hymir.rms_norm over the last dim of a 3-d input.
func.func @rms_norm(%x: tensor<3x?x96xbf16> {hymir.name = "x"}, %w: tensor<96xbf16> {hymir.name = "weight"})
    -> (tensor<3x?x96xbf16> {hymir.name = "y"}) {
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : (tensor<3x?x96xbf16>, tensor<96xbf16>) -> tensor<3x?x96xbf16>
  return %y : tensor<3x?x96xbf16>
}
