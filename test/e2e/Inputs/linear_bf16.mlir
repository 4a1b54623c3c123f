// hymir.linear on 2-d and 3-d inputs, one with an f32 result from bf16 inputs.
func.func @linear(%x: tensor<?x64xbf16> {hymir.name = "x"}, %w: tensor<48x64xbf16> {hymir.name = "w"},
                  %x3: tensor<2x?x64xbf16> {hymir.name = "x3"})
    -> (tensor<?x48xbf16> {hymir.name = "y"}, tensor<2x?x48xf32> {hymir.name = "y3"}) {
  %y = hymir.linear %x, %w : (tensor<?x64xbf16>, tensor<48x64xbf16>) -> tensor<?x48xbf16>
  %y3 = hymir.linear %x3, %w {precision = "f32"} : (tensor<2x?x64xbf16>, tensor<48x64xbf16>) -> tensor<2x?x48xf32>
  return %y, %y3 : tensor<?x48xbf16>, tensor<2x?x48xf32>
}
