// Benchmark graph: bench/lightning_decode_b256.mlir with the state tied to the
// result (hymir.tied), as the model's decode keeps it: updated in place on
// the device, timed as a CUDA graph (hymir-bench --cuda-graphs) for the
// per-call cost of one decode step (issue 15 item 2: B >= 64 at 90% or more
// of copy bandwidth).
func.func @decode(%q: tensor<256x1x64x128xbf16> {hymir.name = "q"}, %k: tensor<256x1x64x128xbf16> {hymir.name = "k"},
                  %v: tensor<256x1x64x128xbf16> {hymir.name = "v"}, %slopes: tensor<64xf32> {hymir.name = "slopes"},
                  %state: tensor<256x64x128x128xf32> {hymir.name = "initial_state"})
    -> (tensor<256x1x64x128xbf16> {hymir.name = "out"}, tensor<256x64x128x128xf32> {hymir.name = "final_state", hymir.tied = 4 : i64}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state) {block_size = 256 : i64}
      : (tensor<256x1x64x128xbf16>, tensor<256x1x64x128xbf16>, tensor<256x1x64x128xbf16>, tensor<64xf32>, tensor<256x64x128x128xf32>)
      -> (tensor<256x1x64x128xbf16>, tensor<256x64x128x128xf32>)
  return %o, %s : tensor<256x1x64x128xbf16>, tensor<256x64x128x128xf32>
}
