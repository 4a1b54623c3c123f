// A model written one function per layer (the architecture of
// examples/tiny_model.mlir without its softmax layer): two lightning-
// attention mixers (the function of examples/lightning_layer.mlir, fused
// qkv projection sliced per head) and two RMSNorm + SiLU-gated MLP layers,
// each with a residual. hymir-compile inlines the layers; the reference
// program inlines them too.
func.func private @mixer(
    %x: tensor<?x64xf32>,
    %w_qkv: tensor<192x64xf32>,
    %w_gate: tensor<64x64xf32>,
    %w_out: tensor<64x64xf32>,
    %w_norm: tensor<64xf32>,
    %slopes: tensor<4xf32>)
    -> (tensor<?x64xf32>, tensor<1x4x16x16xf32>) {
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

func.func private @mlp(%x: tensor<?x64xf32>, %norm: tensor<64xf32>, %w_gate: tensor<96x64xf32>,
                       %w_up: tensor<96x64xf32>, %w_down: tensor<64x96xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x64xf32>
  %one = arith.constant 1.0 : f32
  %h = hymir.rms_norm %x, %norm {epsilon = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %g = hymir.linear %h, %w_gate : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
  %u = hymir.linear %h, %w_up : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
  %neg = arith.negf %g : tensor<?x96xf32>
  %e = math.exp %neg : tensor<?x96xf32>
  %ones = tensor.splat %one[%t] : tensor<?x96xf32>
  %den = arith.addf %ones, %e : tensor<?x96xf32>
  %silu = arith.divf %g, %den : tensor<?x96xf32>
  %gated = arith.mulf %silu, %u : tensor<?x96xf32>
  %y = hymir.linear %gated, %w_down : (tensor<?x96xf32>, tensor<64x96xf32>) -> tensor<?x64xf32>
  %r = arith.addf %x, %y : tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

func.func @layers(%x: tensor<?x64xf32> {hymir.name = "x"},
                  %qkv0: tensor<192x64xf32> {hymir.name = "l0.qkv_proj"},
                  %gate0: tensor<64x64xf32> {hymir.name = "l0.output_gate"},
                  %out0: tensor<64x64xf32> {hymir.name = "l0.out_proj"},
                  %anorm0: tensor<64xf32> {hymir.name = "l0.attn_norm"},
                  %slopes0: tensor<4xf32> {hymir.name = "l0.slopes"},
                  %norm0: tensor<64xf32> {hymir.name = "l0.mlp_norm"},
                  %wg0: tensor<96x64xf32> {hymir.name = "l0.w_gate"},
                  %wu0: tensor<96x64xf32> {hymir.name = "l0.w_up"},
                  %wd0: tensor<64x96xf32> {hymir.name = "l0.w_down"},
                  %qkv1: tensor<192x64xf32> {hymir.name = "l1.qkv_proj"},
                  %gate1: tensor<64x64xf32> {hymir.name = "l1.output_gate"},
                  %out1: tensor<64x64xf32> {hymir.name = "l1.out_proj"},
                  %anorm1: tensor<64xf32> {hymir.name = "l1.attn_norm"},
                  %slopes1: tensor<4xf32> {hymir.name = "l1.slopes"},
                  %norm1: tensor<64xf32> {hymir.name = "l1.mlp_norm"},
                  %wg1: tensor<96x64xf32> {hymir.name = "l1.w_gate"},
                  %wu1: tensor<96x64xf32> {hymir.name = "l1.w_up"},
                  %wd1: tensor<64x96xf32> {hymir.name = "l1.w_down"})
    -> (tensor<?x64xf32> {hymir.name = "y"}, tensor<1x4x16x16xf32> {hymir.name = "state1"}) {
  %a0, %s0 = func.call @mixer(%x, %qkv0, %gate0, %out0, %anorm0, %slopes0)
      : (tensor<?x64xf32>, tensor<192x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<64xf32>, tensor<4xf32>)
      -> (tensor<?x64xf32>, tensor<1x4x16x16xf32>)
  %h0 = arith.addf %x, %a0 : tensor<?x64xf32>
  %m0 = func.call @mlp(%h0, %norm0, %wg0, %wu0, %wd0)
      : (tensor<?x64xf32>, tensor<64xf32>, tensor<96x64xf32>, tensor<96x64xf32>, tensor<64x96xf32>) -> tensor<?x64xf32>
  %a1, %s1 = func.call @mixer(%m0, %qkv1, %gate1, %out1, %anorm1, %slopes1)
      : (tensor<?x64xf32>, tensor<192x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<64xf32>, tensor<4xf32>)
      -> (tensor<?x64xf32>, tensor<1x4x16x16xf32>)
  %h1 = arith.addf %m0, %a1 : tensor<?x64xf32>
  %m1 = func.call @mlp(%h1, %norm1, %wg1, %wu1, %wd1)
      : (tensor<?x64xf32>, tensor<64xf32>, tensor<96x64xf32>, tensor<96x64xf32>, tensor<64x96xf32>) -> tensor<?x64xf32>
  return %m1, %s1 : tensor<?x64xf32>, tensor<1x4x16x16xf32>
}
