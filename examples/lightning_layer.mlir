// The lightning-attention token mixer of one MiniMax-M1 layer at toy widths:
// hidden 64, 4 heads of 16, f32 activations.
//   qkv = SiLU(x W_qkv^T), per head [q | k | v]; lightning attention;
//   o = RMSNorm_{H*D}(o); y = (sigmoid(x W_gate^T) * o) W_out^T
func.func @lightning_mixer(
    %x: tensor<?x64xf32> {hymir.name = "x"},
    %w_qkv: tensor<192x64xf32> {hymir.name = "qkv_proj"},
    %w_gate: tensor<64x64xf32> {hymir.name = "output_gate"},
    %w_out: tensor<64x64xf32> {hymir.name = "out_proj"},
    %w_norm: tensor<64xf32> {hymir.name = "norm"},
    %slopes: tensor<4xf32> {hymir.name = "slopes"})
    -> (tensor<?x64xf32> {hymir.name = "y"},
        tensor<1x4x16x16xf32> {hymir.name = "final_state"}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x64xf32>
  %one = arith.constant 1.0 : f32
  // SiLU on the fused projection.
  %qkv_lin = hymir.linear %x, %w_qkv : (tensor<?x64xf32>, tensor<192x64xf32>) -> tensor<?x192xf32>
  %neg = arith.negf %qkv_lin : tensor<?x192xf32>
  %exp = math.exp %neg : tensor<?x192xf32>
  %ones = tensor.splat %one[%t] : tensor<?x192xf32>
  %den = arith.addf %ones, %exp : tensor<?x192xf32>
  %qkv = arith.divf %qkv_lin, %den : tensor<?x192xf32>
  // Per head, the 48 channels are [q | k | v].
  %qkv4 = tensor.expand_shape %qkv [[0, 1], [2, 3]] output_shape [1, %t, 4, 48] : tensor<?x192xf32> into tensor<1x?x4x48xf32>
  %q = tensor.extract_slice %qkv4[0, 0, 0, 0] [1, %t, 4, 16] [1, 1, 1, 1] : tensor<1x?x4x48xf32> to tensor<1x?x4x16xf32>
  %k = tensor.extract_slice %qkv4[0, 0, 0, 16] [1, %t, 4, 16] [1, 1, 1, 1] : tensor<1x?x4x48xf32> to tensor<1x?x4x16xf32>
  %v = tensor.extract_slice %qkv4[0, 0, 0, 32] [1, %t, 4, 16] [1, 1, 1, 1] : tensor<1x?x4x48xf32> to tensor<1x?x4x16xf32>
  %o, %state = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 64 : i64}
      : (tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<4xf32>)
      -> (tensor<1x?x4x16xf32>, tensor<1x4x16x16xf32>)
  %o2 = tensor.collapse_shape %o [[0, 1], [2, 3]] : tensor<1x?x4x16xf32> into tensor<?x64xf32>
  %on = hymir.rms_norm %o2, %w_norm {epsilon = 9.99999997e-07 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  // Sigmoid output gate, then the output projection.
  %g_lin = hymir.linear %x, %w_gate : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %g_neg = arith.negf %g_lin : tensor<?x64xf32>
  %g_exp = math.exp %g_neg : tensor<?x64xf32>
  %g_ones = tensor.splat %one[%t] : tensor<?x64xf32>
  %g_den = arith.addf %g_ones, %g_exp : tensor<?x64xf32>
  %g = arith.divf %g_ones, %g_den : tensor<?x64xf32>
  %gated = arith.mulf %g, %on : tensor<?x64xf32>
  %y = hymir.linear %gated, %w_out : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  return %y, %state : tensor<?x64xf32>, tensor<1x4x16x16xf32>
}
