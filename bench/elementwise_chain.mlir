// The elementwise work of one MiniMax-M1-width layer with the GEMMs taken
// out, for timing hymir-fuse-elementwise and hymir-vectorize-elementwise
// (compile with --fuse-elementwise and --fuse-elementwise=false): the SwiGLU
// gate of a dense 16384-wide MLP, SiLU(g) * u with a splat of ones, and the
// residual and norm around attention, alpha * h + mix then rms_norm. bf16,
// rows of 16384 and 6144 (multiples of 8: no tails). hymir-bench
// --random-inputs fills every input.
func.func @chain(%g: tensor<?x16384xbf16> {hymir.name = "g"},
                 %u: tensor<?x16384xbf16> {hymir.name = "u"},
                 %h: tensor<?x6144xbf16> {hymir.name = "h"},
                 %mix: tensor<?x6144xbf16> {hymir.name = "mix"},
                 %w: tensor<6144xbf16> {hymir.name = "norm"})
    -> (tensor<?x16384xbf16> {hymir.name = "gated"},
        tensor<?x6144xbf16> {hymir.name = "x1"},
        tensor<?x6144xbf16> {hymir.name = "h2"}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %g, %c0 : tensor<?x16384xbf16>
  %one = arith.constant 1.0 : bf16
  %alpha = arith.constant 3.5565588200778455 : bf16
  %ones = tensor.splat %one[%t] : tensor<?x16384xbf16>
  %neg = arith.negf %g : tensor<?x16384xbf16>
  %e = math.exp %neg : tensor<?x16384xbf16>
  %den = arith.addf %ones, %e : tensor<?x16384xbf16>
  %silu = arith.divf %g, %den : tensor<?x16384xbf16>
  %gated = arith.mulf %silu, %u : tensor<?x16384xbf16>
  %alpha_t = tensor.splat %alpha[%t] : tensor<?x6144xbf16>
  %hs = arith.mulf %alpha_t, %h : tensor<?x6144xbf16>
  %x1 = arith.addf %hs, %mix : tensor<?x6144xbf16>
  %h2 = hymir.rms_norm %x1, %w {epsilon = 1.0e-05 : f32} : (tensor<?x6144xbf16>, tensor<6144xbf16>) -> tensor<?x6144xbf16>
  return %gated, %x1, %h2 : tensor<?x16384xbf16>, tensor<?x6144xbf16>, tensor<?x6144xbf16>
}
