// hymir.linear on 2-d and 3-d inputs, one with an f32 result from f32 inputs.
func.func @linear(%x: tensor<?x64xf32> {hymir.name = "x"}, %w: tensor<48x64xf32> {hymir.name = "w"},
                  %x3: tensor<2x?x64xf32> {hymir.name = "x3"})
    -> (tensor<?x48xf32> {hymir.name = "y"}, tensor<2x?x48xf32> {hymir.name = "y3"}) {
  %y = hymir.linear %x, %w : (tensor<?x64xf32>, tensor<48x64xf32>) -> tensor<?x48xf32>
  %y3 = hymir.linear %x3, %w {precision = "f32"} : (tensor<2x?x64xf32>, tensor<48x64xf32>) -> tensor<2x?x48xf32>
  return %y, %y3 : tensor<?x48xf32>, tensor<2x?x48xf32>
}
