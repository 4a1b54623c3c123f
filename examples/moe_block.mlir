// One MoE block (hymir.moe (docs/dialect/HymirOps.md)) at toy widths: 8 experts of width 96 over
// a hidden width of 64, top-2 with renormalised weights, an f32 router and
// bf16 experts.
func.func @moe_block(
    %x: tensor<?x64xbf16> {hymir.name = "x"},
    %router: tensor<8x64xf32> {hymir.name = "router"},
    %w1: tensor<8x96x64xbf16> {hymir.name = "w1"},
    %w3: tensor<8x96x64xbf16> {hymir.name = "w3"},
    %w2: tensor<8x64x96xbf16> {hymir.name = "w2"})
    -> (tensor<?x64xbf16> {hymir.name = "y"}) {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64, renormalize = true}
      : (tensor<?x64xbf16>, tensor<8x64xf32>, tensor<8x96x64xbf16>, tensor<8x96x64xbf16>, tensor<8x64x96xbf16>)
      -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
