// hymir.lightning_attention prefill from a carried state, 2 sequences of 4
// heads of 16, blocks of 32 tokens (partial last blocks at most T), bf16.
func.func @lightning(%q: tensor<2x?x4x16xbf16> {hymir.name = "q"}, %k: tensor<2x?x4x16xbf16> {hymir.name = "k"},
                     %v: tensor<2x?x4x16xbf16> {hymir.name = "v"}, %slopes: tensor<4xf32> {hymir.name = "slopes"},
                     %state: tensor<2x4x16x16xf32> {hymir.name = "initial_state"})
    -> (tensor<2x?x4x16xbf16> {hymir.name = "out"}, tensor<2x4x16x16xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state) {block_size = 32 : i64}
      : (tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<4xf32>, tensor<2x4x16x16xf32>)
      -> (tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>)
  return %o, %s : tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>
}
