// Benchmark graph: an M1 softmax layer's prefill as the imported model runs
// it (frontend/lib/MiniMaxImporter.cpp): partial RoPE (64 of 128 dims, theta
// 1e7) on q and k, the rotated keys and the values written into caches of
// 16384 positions tied to the results, attention over the caches. Timed
// against bench/attention_layer_prefill_norope.mlir (the same without
// RoPE), compiled with and without --attention-fuse-rope (the keys' RoPE in
// the cache write, the queries' in the attention kernel): the difference is
// what RoPE costs the layer. hymir-bench --set lengths=T (an empty cache).
func.func @prefill(%q: tensor<1x?x64x128xbf16> {hymir.name = "q"},
                   %k: tensor<1x?x8x128xbf16> {hymir.name = "k"},
                   %v: tensor<1x?x8x128xbf16> {hymir.name = "v"},
                   %pos: tensor<1x?xi32> {hymir.name = "positions"},
                   %kc: tensor<1x16384x8x128xbf16> {hymir.name = "kc"},
                   %vc: tensor<1x16384x8x128xbf16> {hymir.name = "vc"},
                   %len: tensor<1xi32> {hymir.name = "lengths"})
    -> (tensor<1x?x64x128xbf16> {hymir.name = "out"},
        tensor<1x16384x8x128xbf16> {hymir.name = "kc_out", hymir.tied = 4 : i64},
        tensor<1x16384x8x128xbf16> {hymir.name = "vc_out", hymir.tied = 5 : i64}) {
  %qr = hymir.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<1x?x64x128xbf16>, tensor<1x?xi32>) -> tensor<1x?x64x128xbf16>
  %kr = hymir.rope %k, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<1x?x8x128xbf16>, tensor<1x?xi32>) -> tensor<1x?x8x128xbf16>
  %kc1 = hymir.kv_cache_write %kc, %kr, %len
      : (tensor<1x16384x8x128xbf16>, tensor<1x?x8x128xbf16>, tensor<1xi32>) -> tensor<1x16384x8x128xbf16>
  %vc1 = hymir.kv_cache_write %vc, %v, %len
      : (tensor<1x16384x8x128xbf16>, tensor<1x?x8x128xbf16>, tensor<1xi32>) -> tensor<1x16384x8x128xbf16>
  %o = hymir.softmax_attention %qr, %kc1, %vc1 lengths(%len) {causal = true, scale = 0.08838834764 : f32}
      : (tensor<1x?x64x128xbf16>, tensor<1x16384x8x128xbf16>, tensor<1x16384x8x128xbf16>, tensor<1xi32>)
      -> tensor<1x?x64x128xbf16>
  return %o, %kc1, %vc1 : tensor<1x?x64x128xbf16>, tensor<1x16384x8x128xbf16>, tensor<1x16384x8x128xbf16>
}
