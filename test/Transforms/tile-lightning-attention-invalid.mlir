// RUN: hymir-opt %s -hymir-tile-lightning-attention="value-split=3" -verify-diagnostics

func.func @bad_split(%q: tensor<1x8x2x16xf32>, %s: tensor<2xf32>) -> tensor<1x8x2x16xf32> {
  // expected-error @+1 {{value-split 3 does not divide the value dim 16}}
  %o, %f = hymir.lightning_attention %q, %q, %q, %s
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<2xf32>)
      -> (tensor<1x8x2x16xf32>, tensor<1x2x16x16xf32>)
  return %o : tensor<1x8x2x16xf32>
}
