// One tensor-parallel transformer block for hymir-shard: RMSNorm, q/k/v
// projections into 4 heads of 16, lightning attention from a carried state,
// the output projection with a residual, then a SiLU-gated MLP with a
// residual. Split over heads and the MLP width, it needs one all_reduce per
// residual branch (and gathers for the returned state).
func.func @block(%x: tensor<?x64xf32> {hymir.name = "x"},
                 %state: tensor<1x4x16x16xf32> {hymir.name = "state"},
                 %norm1: tensor<64xf32> {hymir.name = "attn.norm", hymir.param},
                 %wq: tensor<64x64xf32> {hymir.name = "attn.q", hymir.param},
                 %wk: tensor<64x64xf32> {hymir.name = "attn.k", hymir.param},
                 %wv: tensor<64x64xf32> {hymir.name = "attn.v", hymir.param},
                 %slopes: tensor<4xf32> {hymir.name = "attn.slopes", hymir.param},
                 %wo: tensor<64x64xf32> {hymir.name = "attn.out", hymir.param},
                 %norm2: tensor<64xf32> {hymir.name = "mlp.norm", hymir.param},
                 %wg: tensor<96x64xf32> {hymir.name = "mlp.gate", hymir.param},
                 %wu: tensor<96x64xf32> {hymir.name = "mlp.up", hymir.param},
                 %wd: tensor<64x96xf32> {hymir.name = "mlp.down", hymir.param})
    -> (tensor<?x64xf32> {hymir.name = "y"}, tensor<1x4x16x16xf32> {hymir.name = "final_state"}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x64xf32>
  %one = arith.constant 1.0 : f32
  %h = hymir.rms_norm %x, %norm1 {epsilon = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %q2 = hymir.linear %h, %wq : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %k2 = hymir.linear %h, %wk : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %v2 = hymir.linear %h, %wv : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %q = tensor.expand_shape %q2 [[0, 1], [2, 3]] output_shape [1, %t, 4, 16] : tensor<?x64xf32> into tensor<1x?x4x16xf32>
  %k = tensor.expand_shape %k2 [[0, 1], [2, 3]] output_shape [1, %t, 4, 16] : tensor<?x64xf32> into tensor<1x?x4x16xf32>
  %v = tensor.expand_shape %v2 [[0, 1], [2, 3]] output_shape [1, %t, 4, 16] : tensor<?x64xf32> into tensor<1x?x4x16xf32>
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state) {block_size = 32 : i64}
      : (tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>, tensor<4xf32>, tensor<1x4x16x16xf32>)
      -> (tensor<1x?x4x16xf32>, tensor<1x4x16x16xf32>)
  %o2 = tensor.collapse_shape %o [[0, 1], [2, 3]] : tensor<1x?x4x16xf32> into tensor<?x64xf32>
  %a = hymir.linear %o2, %wo : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %x1 = arith.addf %x, %a : tensor<?x64xf32>
  %h2 = hymir.rms_norm %x1, %norm2 {epsilon = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %g = hymir.linear %h2, %wg : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
  %u = hymir.linear %h2, %wu : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
  %neg = arith.negf %g : tensor<?x96xf32>
  %e = math.exp %neg : tensor<?x96xf32>
  %ones = tensor.splat %one[%t] : tensor<?x96xf32>
  %den = arith.addf %ones, %e : tensor<?x96xf32>
  %silu = arith.divf %g, %den : tensor<?x96xf32>
  %gated = arith.mulf %silu, %u : tensor<?x96xf32>
  %m = hymir.linear %gated, %wd : (tensor<?x96xf32>, tensor<64x96xf32>) -> tensor<?x64xf32>
  %y = arith.addf %x1, %m : tensor<?x64xf32>
  return %y, %s : tensor<?x64xf32>, tensor<1x4x16x16xf32>
}
