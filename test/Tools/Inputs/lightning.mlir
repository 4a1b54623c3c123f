func.func @lightning(%q: tensor<1x?x2x6xf32>, %s: tensor<2xf32>) -> tensor<1x?x2x6xf32> {
  %o, %f = hymir.lightning_attention %q, %q, %q, %s
      : (tensor<1x?x2x6xf32>, tensor<1x?x2x6xf32>, tensor<1x?x2x6xf32>, tensor<2xf32>)
      -> (tensor<1x?x2x6xf32>, tensor<1x2x6x6xf32>)
  return %o : tensor<1x?x2x6xf32>
}
