// bf16 elementwise chains for hymir-vectorize-elementwise: rows of 100
// (12 vectors of 8 and a scalar tail of 4) and rows of 6 (narrower than one
// vector: left to the scalar lowering), a SiLU gate with a splat operand, a
// producer with several users, and the rms_norm's broadcasts.
func.func @elementwise(%x: tensor<?x100xbf16> {hymir.name = "x"},
                       %u: tensor<?x100xbf16> {hymir.name = "u"},
                       %w: tensor<100xbf16> {hymir.name = "w"},
                       %p: tensor<?x6xbf16> {hymir.name = "p"},
                       %q: tensor<?x6xbf16> {hymir.name = "q"})
    -> (tensor<?x100xbf16> {hymir.name = "y"}, tensor<?x100xbf16> {hymir.name = "z"},
        tensor<?x6xbf16> {hymir.name = "v"}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x100xbf16>
  %one = arith.constant 1.0 : bf16
  %ones = tensor.splat %one[%t] : tensor<?x100xbf16>
  %neg = arith.negf %x : tensor<?x100xbf16>
  %e = math.exp %neg : tensor<?x100xbf16>
  %den = arith.addf %ones, %e : tensor<?x100xbf16>
  %silu = arith.divf %x, %den : tensor<?x100xbf16>
  %g = arith.mulf %silu, %u : tensor<?x100xbf16>
  %n = hymir.rms_norm %g, %w {epsilon = 1.0e-05 : f32} : (tensor<?x100xbf16>, tensor<100xbf16>) -> tensor<?x100xbf16>
  %y = arith.addf %n, %x : tensor<?x100xbf16>
  %z = arith.subf %g, %u : tensor<?x100xbf16>
  %pq = arith.mulf %p, %q : tensor<?x6xbf16>
  %v = arith.maximumf %pq, %p : tensor<?x6xbf16>
  return %y, %z, %v : tensor<?x100xbf16>, tensor<?x100xbf16>, tensor<?x6xbf16>
}
