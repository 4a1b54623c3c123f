// The chained graph: RMSNorm, then a SiLU-gated MLP (gate and up
// projections, SiLU(gate) * up), then the down projection. The elementwise
// part fuses into one kernel.
func.func @mlp(%x: tensor<?x64xf32> {hymir.name = "x"}, %norm: tensor<64xf32> {hymir.name = "norm"},
               %wg: tensor<96x64xf32> {hymir.name = "w_gate"}, %wu: tensor<96x64xf32> {hymir.name = "w_up"},
               %wd: tensor<64x96xf32> {hymir.name = "w_down"})
    -> (tensor<?x64xf32> {hymir.name = "y"}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x64xf32>
  %one = arith.constant 1.0 : f32
  %h = hymir.rms_norm %x, %norm {epsilon = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %g = hymir.linear %h, %wg : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
  %u = hymir.linear %h, %wu : (tensor<?x64xf32>, tensor<96x64xf32>) -> tensor<?x96xf32>
  %neg = arith.negf %g : tensor<?x96xf32>
  %e = math.exp %neg : tensor<?x96xf32>
  %ones = tensor.splat %one[%t] : tensor<?x96xf32>
  %den = arith.addf %ones, %e : tensor<?x96xf32>
  %silu = arith.divf %g, %den : tensor<?x96xf32>
  %gated = arith.mulf %silu, %u : tensor<?x96xf32>
  %y = hymir.linear %gated, %wd : (tensor<?x96xf32>, tensor<64x96xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
