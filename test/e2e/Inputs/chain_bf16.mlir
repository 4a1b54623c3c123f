// The chained graph: RMSNorm, then a SiLU-gated MLP (gate and up
// projections, SiLU(gate) * up), then the down projection. The elementwise
// part fuses into one kernel.
func.func @mlp(%x: tensor<?x64xbf16> {hymir.name = "x"}, %norm: tensor<64xbf16> {hymir.name = "norm"},
               %wg: tensor<96x64xbf16> {hymir.name = "w_gate"}, %wu: tensor<96x64xbf16> {hymir.name = "w_up"},
               %wd: tensor<64x96xbf16> {hymir.name = "w_down"})
    -> (tensor<?x64xbf16> {hymir.name = "y"}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x64xbf16>
  %one = arith.constant 1.0 : bf16
  %h = hymir.rms_norm %x, %norm {epsilon = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
  %g = hymir.linear %h, %wg : (tensor<?x64xbf16>, tensor<96x64xbf16>) -> tensor<?x96xbf16>
  %u = hymir.linear %h, %wu : (tensor<?x64xbf16>, tensor<96x64xbf16>) -> tensor<?x96xbf16>
  %neg = arith.negf %g : tensor<?x96xbf16>
  %e = math.exp %neg : tensor<?x96xbf16>
  %ones = tensor.splat %one[%t] : tensor<?x96xbf16>
  %den = arith.addf %ones, %e : tensor<?x96xbf16>
  %silu = arith.divf %g, %den : tensor<?x96xbf16>
  %gated = arith.mulf %silu, %u : tensor<?x96xbf16>
  %y = hymir.linear %gated, %wd : (tensor<?x96xbf16>, tensor<64x96xbf16>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
