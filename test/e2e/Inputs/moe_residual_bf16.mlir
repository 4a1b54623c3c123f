// An MoE block and the residual after it (alpha * x + moe(x), as in each
// layer of the model): on cuda the residual add runs in the epilogue of the
// MoE combine kernel (hymir-fuse-elementwise), on cpu it is a kernel of its
// own after the portable combine.
func.func @moe_residual(%x: tensor<?x64xbf16> {hymir.name = "x"}, %router: tensor<8x64xf32> {hymir.name = "router"},
    %w1: tensor<8x96x64xbf16> {hymir.name = "w1"}, %w3: tensor<8x96x64xbf16> {hymir.name = "w3"},
    %w2: tensor<8x64x96xbf16> {hymir.name = "w2"}) -> (tensor<?x64xbf16> {hymir.name = "y"}) {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x64xbf16>
  %alpha = arith.constant 3.5 : bf16
  %alpha_t = tensor.splat %alpha[%t] : tensor<?x64xbf16>
  %m = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64, renormalize = true}
      : (tensor<?x64xbf16>, tensor<8x64xf32>, tensor<8x96x64xbf16>, tensor<8x96x64xbf16>, tensor<8x64x96xbf16>) -> tensor<?x64xbf16>
  %xs = arith.mulf %alpha_t, %x : tensor<?x64xbf16>
  %y = arith.addf %xs, %m : tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
