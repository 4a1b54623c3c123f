// A SwiGLU MLP at MiniMax-M1's hidden width (6144) with a dense
// intermediate of 16384, bf16, for timing tensor parallelism: compiled with
// --devices=N, each device holds 1/N of the gate/up rows and of the down
// columns and the partial outputs meet in one all_reduce. The weights are
// inputs, so hymir-bench --random-inputs fills them.
func.func @mlp(%x: tensor<?x6144xbf16> {hymir.name = "x"},
               %wg: tensor<16384x6144xbf16> {hymir.name = "w_gate"},
               %wu: tensor<16384x6144xbf16> {hymir.name = "w_up"},
               %wd: tensor<6144x16384xbf16> {hymir.name = "w_down"})
    -> (tensor<?x6144xbf16> {hymir.name = "y"}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x6144xbf16>
  %one = arith.constant 1.0 : bf16
  %g = hymir.linear %x, %wg : (tensor<?x6144xbf16>, tensor<16384x6144xbf16>) -> tensor<?x16384xbf16>
  %u = hymir.linear %x, %wu : (tensor<?x6144xbf16>, tensor<16384x6144xbf16>) -> tensor<?x16384xbf16>
  %neg = arith.negf %g : tensor<?x16384xbf16>
  %e = math.exp %neg : tensor<?x16384xbf16>
  %ones = tensor.splat %one[%t] : tensor<?x16384xbf16>
  %den = arith.addf %ones, %e : tensor<?x16384xbf16>
  %silu = arith.divf %g, %den : tensor<?x16384xbf16>
  %gated = arith.mulf %silu, %u : tensor<?x16384xbf16>
  %y = hymir.linear %gated, %wd : (tensor<?x16384xbf16>, tensor<6144x16384xbf16>) -> tensor<?x6144xbf16>
  return %y : tensor<?x6144xbf16>
}
