// A small graph with a bound parameter, for the runtime's corruption tests.
func.func @project(%x: tensor<?x32xf32> {hymir.name = "x"},
                   %w: tensor<16x32xf32> {hymir.name = "proj.weight", hymir.param},
                   %n: tensor<32xf32> {hymir.name = "norm.weight", hymir.param})
    -> (tensor<?x16xf32> {hymir.name = "y"}) {
  %h = hymir.rms_norm %x, %n {epsilon = 1.0e-05 : f32} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %y = hymir.linear %h, %w : (tensor<?x32xf32>, tensor<16x32xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
