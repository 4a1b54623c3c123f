// One MoE block at MiniMax-M1 size (hymir.moe (docs/dialect/HymirOps.md)): hidden 6144,
// 32 experts of intermediate width 9216, top-2 with renormalised weights, an
// f32 router and bf16 experts. The weights are inputs so that hymir-bench
// --random-inputs can fill them (random router weights route near
// uniformly).
func.func @moe(%x: tensor<?x6144xbf16> {hymir.name = "x"},
               %router: tensor<32x6144xf32> {hymir.name = "router"},
               %w1: tensor<32x9216x6144xbf16> {hymir.name = "w1"},
               %w3: tensor<32x9216x6144xbf16> {hymir.name = "w3"},
               %w2: tensor<32x6144x9216xbf16> {hymir.name = "w2"})
    -> (tensor<?x6144xbf16> {hymir.name = "y"}) {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x6144xbf16>, tensor<32x6144xf32>, tensor<32x9216x6144xbf16>,
         tensor<32x9216x6144xbf16>, tensor<32x6144x9216xbf16>) -> tensor<?x6144xbf16>
  return %y : tensor<?x6144xbf16>
}
