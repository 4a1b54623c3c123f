// tensor.concat of float tensors (along the dynamic dim and a static one)
// and of integer tensors (positions of two sequences for hymir.rope), f32.
func.func @concat(%a: tensor<1x?x2x8xf32> {hymir.name = "a"}, %b: tensor<1x?x2x8xf32> {hymir.name = "b"},
                  %pa: tensor<1x?xi32> {hymir.name = "pa"}, %pb: tensor<1x?xi32> {hymir.name = "pb"})
    -> (tensor<2x?x2x8xf32> {hymir.name = "roped"}, tensor<1x?x4x8xf32> {hymir.name = "heads"}) {
  %x = tensor.concat dim(0) %a, %b : (tensor<1x?x2x8xf32>, tensor<1x?x2x8xf32>) -> tensor<2x?x2x8xf32>
  %p = tensor.concat dim(0) %pa, %pb : (tensor<1x?xi32>, tensor<1x?xi32>) -> tensor<2x?xi32>
  %r = hymir.rope %x, %p {rotary_dim = 8 : i64, theta = 1.0e4 : f64} : (tensor<2x?x2x8xf32>, tensor<2x?xi32>) -> tensor<2x?x2x8xf32>
  %h = tensor.concat dim(2) %b, %a : (tensor<1x?x2x8xf32>, tensor<1x?x2x8xf32>) -> tensor<1x?x4x8xf32>
  return %r, %h : tensor<2x?x2x8xf32>, tensor<1x?x4x8xf32>
}
