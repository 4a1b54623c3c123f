// Lightning attention whose state stays on the device: initial_state is tied
// to final_state, so k calls of one token each continue one recurrence, which
// must equal one call of k tokens. 2 sequences, 4 heads of 16, f32.
func.func @lightning(%q: tensor<2x?x4x16xf32> {hymir.name = "q"},
                     %k: tensor<2x?x4x16xf32> {hymir.name = "k"},
                     %v: tensor<2x?x4x16xf32> {hymir.name = "v"},
                     %slopes: tensor<4xf32> {hymir.name = "slopes"},
                     %state: tensor<2x4x16x16xf32> {hymir.name = "state"})
    -> (tensor<2x?x4x16xf32> {hymir.name = "out"},
        tensor<2x4x16x16xf32> {hymir.name = "state_out", hymir.tied = 4 : i64}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state) {block_size = 32 : i64}
      : (tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>, tensor<4xf32>, tensor<2x4x16x16xf32>)
      -> (tensor<2x?x4x16xf32>, tensor<2x4x16x16xf32>)
  return %o, %s : tensor<2x?x4x16xf32>, tensor<2x4x16x16xf32>
}
