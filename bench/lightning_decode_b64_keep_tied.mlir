// Benchmark graph: bench/lightning_decode_b64_tied.mlir in the form of the
// imported model's decode: a slot without a token (counts[b] = 0) keeps its
// state, select(counts[b] > 0, new, old) written into the tied state. On cuda
// the select runs inside the decode kernel (hymir-lightning-state-in-place):
// one launch, the state read and written once.
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#slot = affine_map<(d0, d1, d2, d3) -> (d0)>
func.func @decode(%q: tensor<64x1x64x128xbf16> {hymir.name = "q"}, %k: tensor<64x1x64x128xbf16> {hymir.name = "k"},
                  %v: tensor<64x1x64x128xbf16> {hymir.name = "v"}, %slopes: tensor<64xf32> {hymir.name = "slopes"},
                  %state: tensor<64x64x128x128xf32> {hymir.name = "initial_state"},
                  %counts: tensor<64xi32> {hymir.name = "counts"})
    -> (tensor<64x1x64x128xbf16> {hymir.name = "out"}, tensor<64x64x128x128xf32> {hymir.name = "final_state", hymir.tied = 4 : i64}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%state) {block_size = 256 : i64}
      : (tensor<64x1x64x128xbf16>, tensor<64x1x64x128xbf16>, tensor<64x1x64x128xbf16>, tensor<64xf32>, tensor<64x64x128x128xf32>)
      -> (tensor<64x1x64x128xbf16>, tensor<64x64x128x128xf32>)
  %e = tensor.empty() : tensor<64x64x128x128xf32>
  %kept = linalg.generic {indexing_maps = [#id, #id, #slot, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s, %state, %counts : tensor<64x64x128x128xf32>, tensor<64x64x128x128xf32>, tensor<64xi32>)
      outs(%e : tensor<64x64x128x128xf32>) {
  ^bb0(%new: f32, %old: f32, %c: i32, %unused: f32):
    %zero = arith.constant 0 : i32
    %active = arith.cmpi sgt, %c, %zero : i32
    %r = arith.select %active, %new, %old : f32
    linalg.yield %r : f32
  } -> tensor<64x64x128x128xf32>
  return %o, %kept : tensor<64x1x64x128xbf16>, tensor<64x64x128x128xf32>
}
