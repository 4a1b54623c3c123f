// Elementwise chains for hymir-fuse-elementwise and
// hymir-vectorize-elementwise: a splat operand, a producer with several
// users (the rms_norm's reduction, two elementwise users and a result), the
// rms_norm's broadcasts (weight along the row, statistics along the column),
// and a residual add after a GEMM. The row width 37 is not a multiple of the
// vector width (4 f32): every row ends in a scalar tail of 1 element.
func.func @elementwise(%x: tensor<?x37xf32> {hymir.name = "x"},
                       %r: tensor<?x37xf32> {hymir.name = "r"},
                       %w: tensor<37xf32> {hymir.name = "w"},
                       %wl: tensor<37x37xf32> {hymir.name = "w_linear"})
    -> (tensor<?x37xf32> {hymir.name = "y"}, tensor<?x37xf32> {hymir.name = "z"},
        tensor<?x37xf32> {hymir.name = "s"}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x37xf32>
  %c = arith.constant 0.5 : f32
  %half = tensor.splat %c[%t] : tensor<?x37xf32>
  %a = arith.mulf %x, %half : tensor<?x37xf32>
  %e = math.tanh %a : tensor<?x37xf32>
  %s = arith.addf %e, %r : tensor<?x37xf32>
  %n = hymir.rms_norm %s, %w {epsilon = 1.0e-05 : f32} : (tensor<?x37xf32>, tensor<37xf32>) -> tensor<?x37xf32>
  %l = hymir.linear %n, %wl : (tensor<?x37xf32>, tensor<37x37xf32>) -> tensor<?x37xf32>
  %y = arith.addf %l, %s : tensor<?x37xf32>
  %sq = arith.mulf %s, %s : tensor<?x37xf32>
  %z = arith.subf %sq, %n : tensor<?x37xf32>
  return %y, %z, %s : tensor<?x37xf32>, tensor<?x37xf32>, tensor<?x37xf32>
}
