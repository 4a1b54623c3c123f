// Benchmark graph: one projection computed in true fp32 (no TF32), as the
// CISPO path's LM head needs, 4096 -> 4096.
func.func @linear(%x: tensor<?x4096xf32> {hymir.name = "x"},
                  %w: tensor<4096x4096xf32> {hymir.name = "w"})
    -> (tensor<?x4096xf32> {hymir.name = "y"}) {
  %y = hymir.linear %x, %w {precision = "f32"} : (tensor<?x4096xf32>, tensor<4096x4096xf32>) -> tensor<?x4096xf32>
  return %y : tensor<?x4096xf32>
}
