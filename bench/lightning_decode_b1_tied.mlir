// Benchmark graph: bench/lightning_decode_b1.mlir with the state tied to the
// result (hymir.tied), as the model's decode keeps it: updated in place on
// the device, timed as a CUDA graph (hymir-bench --cuda-graphs) for the
// per-call cost of one decode step (issue 15 item 2: B = 1 under 5 us).
func.func @decode(%q: tensor<1x1x64x128xbf16> {hymir.name = "q"}, %k: tensor<1x1x64x128xbf16> {hymir.name = "k"},
                  %v: tensor<1x1x64x128xbf16> {hymir.name = "v"}, %slopes: tensor<64xf32> {hymir.name = "slopes"},
                  %state: tensor<1x64x128x128xf32> {hymir.name = "initial_state"})
    -> (tensor<1x1x64x128xbf16> {hymir.name = "out"}, tensor<1x64x128x128xf32> {hymir.name = "final_state", hymir.tied = 4 : i64}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state) {block_size = 256 : i64}
      : (tensor<1x1x64x128xbf16>, tensor<1x1x64x128xbf16>, tensor<1x1x64x128xbf16>, tensor<64xf32>, tensor<1x64x128x128xf32>)
      -> (tensor<1x1x64x128xbf16>, tensor<1x64x128x128xf32>)
  return %o, %s : tensor<1x1x64x128xbf16>, tensor<1x64x128x128xf32>
}
