// Benchmark graph: lightning attention decode at MiniMax-M1's head shape (64
// heads of 128), bf16 activations, 64 sequence(s) each carrying an f32 state;
// one token (a static token count of 1 selects the decode kernel).
func.func @decode(%q: tensor<64x1x64x128xbf16> {hymir.name = "q"}, %k: tensor<64x1x64x128xbf16> {hymir.name = "k"},
                  %v: tensor<64x1x64x128xbf16> {hymir.name = "v"}, %slopes: tensor<64xf32> {hymir.name = "slopes"},
                  %state: tensor<64x64x128x128xf32> {hymir.name = "initial_state"})
    -> (tensor<64x1x64x128xbf16> {hymir.name = "out"}, tensor<64x64x128x128xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state) {block_size = 256 : i64}
      : (tensor<64x1x64x128xbf16>, tensor<64x1x64x128xbf16>, tensor<64x1x64x128xbf16>, tensor<64xf32>, tensor<64x64x128x128xf32>)
      -> (tensor<64x1x64x128xbf16>, tensor<64x64x128x128xf32>)
  return %o, %s : tensor<64x1x64x128xbf16>, tensor<64x64x128x128xf32>
}
