// Benchmark graph: one bf16 projection at MiniMax-M1's hidden width
// (6144 -> 6144), the token count dynamic.
func.func @linear(%x: tensor<?x6144xbf16> {hymir.name = "x"},
                  %w: tensor<6144x6144xbf16> {hymir.name = "w"})
    -> (tensor<?x6144xbf16> {hymir.name = "y"}) {
  %y = hymir.linear %x, %w : (tensor<?x6144xbf16>, tensor<6144x6144xbf16>) -> tensor<?x6144xbf16>
  return %y : tensor<?x6144xbf16>
}
