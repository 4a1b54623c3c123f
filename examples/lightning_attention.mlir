// One lightning-attention token mixer core: prefill of T tokens for 2
// sequences of 4 heads of 64, resuming from a carried state, bf16 activations
// and an f32 state. Argument and result names are the safetensors names hymir-run uses.
func.func @lightning_prefill(
    %q: tensor<2x?x4x64xbf16> {hymir.name = "q"},
    %k: tensor<2x?x4x64xbf16> {hymir.name = "k"},
    %v: tensor<2x?x4x64xbf16> {hymir.name = "v"},
    %slopes: tensor<4xf32> {hymir.name = "slopes"},
    %state: tensor<2x4x64x64xf32> {hymir.name = "initial_state"})
    -> (tensor<2x?x4x64xbf16> {hymir.name = "out"},
        tensor<2x4x64x64xf32> {hymir.name = "final_state"}) {
  %out, %final = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state) {block_size = 64 : i64}
      : (tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<4xf32>, tensor<2x4x64x64xf32>)
      -> (tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>)
  return %out, %final : tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>
}
