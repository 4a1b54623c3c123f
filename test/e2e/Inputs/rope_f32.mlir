// hymir.rope on the first 8 of 16 channels of each head (M1's partial RoPE).
func.func @rope(%x: tensor<2x?x4x16xf32> {hymir.name = "x"}, %p: tensor<2x?xi32> {hymir.name = "positions"})
    -> (tensor<2x?x4x16xf32> {hymir.name = "y"}) {
  %y = hymir.rope %x, %p {rotary_dim = 8 : i64, theta = 1.0e+04 : f64} : (tensor<2x?x4x16xf32>, tensor<2x?xi32>) -> tensor<2x?x4x16xf32>
  return %y : tensor<2x?x4x16xf32>
}
