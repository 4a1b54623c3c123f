// Benchmark graph: bench/attention_layer_prefill.mlir without the RoPE: the
// caches written and attended as the model's prefill does, the base against
// which the RoPE's cost (fused or not) is measured.
func.func @prefill(%q: tensor<1x?x64x128xbf16> {hymir.name = "q"},
                   %k: tensor<1x?x8x128xbf16> {hymir.name = "k"},
                   %v: tensor<1x?x8x128xbf16> {hymir.name = "v"},
                   %kc: tensor<1x16384x8x128xbf16> {hymir.name = "kc"},
                   %vc: tensor<1x16384x8x128xbf16> {hymir.name = "vc"},
                   %len: tensor<1xi32> {hymir.name = "lengths"})
    -> (tensor<1x?x64x128xbf16> {hymir.name = "out"},
        tensor<1x16384x8x128xbf16> {hymir.name = "kc_out", hymir.tied = 3 : i64},
        tensor<1x16384x8x128xbf16> {hymir.name = "vc_out", hymir.tied = 4 : i64}) {
  %kc1 = hymir.kv_cache_write %kc, %k, %len
      : (tensor<1x16384x8x128xbf16>, tensor<1x?x8x128xbf16>, tensor<1xi32>) -> tensor<1x16384x8x128xbf16>
  %vc1 = hymir.kv_cache_write %vc, %v, %len
      : (tensor<1x16384x8x128xbf16>, tensor<1x?x8x128xbf16>, tensor<1xi32>) -> tensor<1x16384x8x128xbf16>
  %o = hymir.softmax_attention %q, %kc1, %vc1 lengths(%len) {causal = true, scale = 0.08838834764 : f32}
      : (tensor<1x?x64x128xbf16>, tensor<1x16384x8x128xbf16>, tensor<1x16384x8x128xbf16>, tensor<1xi32>)
      -> tensor<1x?x64x128xbf16>
  return %o, %kc1, %vc1 : tensor<1x?x64x128xbf16>, tensor<1x16384x8x128xbf16>, tensor<1x16384x8x128xbf16>
}
