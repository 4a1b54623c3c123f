// The CISPO loss (hymir.cispo_loss (docs/dialect/HymirOps.md)) over an LM head of 512 words on a hidden
// width of 64, in f32 (the precision the report recommends for the head),
// with the unified mask, returning the loss, the new log-probabilities and
// both gradients.
func.func @cispo(
    %hidden: tensor<?x64xf32> {hymir.name = "hidden"},
    %lm_head: tensor<512x64xf32> {hymir.name = "lm_head"},
    %targets: tensor<?xi32> {hymir.name = "targets"},
    %logp_old: tensor<?xf32> {hymir.name = "logp_old"},
    %advantages: tensor<?xf32> {hymir.name = "advantages"},
    %mask: tensor<?xf32> {hymir.name = "mask"})
    -> (tensor<f32> {hymir.name = "loss"},
        tensor<?xf32> {hymir.name = "logp_new"},
        tensor<?x64xf32> {hymir.name = "d_hidden"},
        tensor<512x64xf32> {hymir.name = "d_lm_head"}) {
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets, %logp_old, %advantages, %mask
      {eps_low = 1.000000e+00 : f32, eps_high = 2.000000e-01 : f32, unified_mask = true}
      : (tensor<?x64xf32>, tensor<512x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>)
      -> (tensor<f32>, tensor<?xf32>, tensor<?x64xf32>, tensor<512x64xf32>)
  return %loss, %logp, %dh, %dw : tensor<f32>, tensor<?xf32>, tensor<?x64xf32>, tensor<512x64xf32>
}
