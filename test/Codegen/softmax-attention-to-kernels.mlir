// RUN: hymir-opt %s --split-input-file --hymir-softmax-attention-to-kernels --canonicalize | FileCheck %s --check-prefix=CPU
// RUN: hymir-opt %s --split-input-file --hymir-softmax-attention-to-kernels=chip=sm_90a --canonicalize | FileCheck %s --check-prefix=GPU

// Without a chip: one forall over (batch, query, head), the row's keys in
// tiles of 32 with the online softmax, scratch buffers for the accumulator
// and one tile of scores.
// CPU-LABEL: func.func @prefill
// CPU: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<2x?x8x64xf32>
// CPU: scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (2, %{{.*}}, 8)
// CPU:   memref.alloc() : memref<64xf32>
// CPU:   memref.alloc() : memref<32xf32>
// CPU:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32{{.*}} iter_args
// CPU:     math.exp
// CPU: bufferization.to_tensor %[[OUT]]

// With a chip and a dynamic query count: the split kernels (attention and
// combine) for calls of up to 16 tokens, the unsplit kernel above; one warp
// per query head, the 4 query heads of a KV head in one block. The split
// partials hold 16 query rows (only the short calls write them), not T.
// GPU-LABEL: func.func @prefill
// GPU: memref.alloc(%{{.*}}) : memref<2x?x8x64xf32>
// GPU: memref.alloc() : memref<2x16x8x32xf32>
// GPU: memref.alloc() : memref<2x16x8x32x64xf32>
// GPU: hymir.token_guard tokens in [0, 16]
// GPU:   gpu.launch
// GPU-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c128
// GPU:     gpu.shuffle xor
// GPU:     math.exp2
// GPU:   gpu.launch
// GPU-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c128
// GPU: hymir.token_guard tokens in [17, -1]
// GPU:   gpu.launch
// GPU-NOT: gpu.launch
// GPU: bufferization.to_tensor
func.func @prefill(%q: tensor<2x?x8x64xf32>, %k: tensor<2x?x2x64xf32>,
                   %v: tensor<2x?x2x64xf32>) -> tensor<2x?x8x64xf32> {
  %o = hymir.softmax_attention %q, %k, %v {causal = true, scale = 0.125 : f32}
      : (tensor<2x?x8x64xf32>, tensor<2x?x2x64xf32>, tensor<2x?x2x64xf32>)
      -> tensor<2x?x8x64xf32>
  return %o : tensor<2x?x8x64xf32>
}

// -----

// A decode step against a cache of 8192 positions: the lengths bound each
// row's keys; on the GPU the keys of a row are split across blocks and the
// partials combined.
// CPU-LABEL: func.func @decode
// CPU: scf.forall
// CPU:   tensor.extract %arg3[%c0] : tensor<1xi32>

// GPU-LABEL: func.func @decode
// GPU-NOT: hymir.token_guard
// GPU: memref.alloc() : memref<1x1x8x32x128xf32>
// GPU: gpu.launch
// GPU:   tensor.extract %arg3[%{{.*}}] : tensor<1xi32>
// GPU: gpu.launch
func.func @decode(%q: tensor<1x1x8x128xbf16>, %k: tensor<1x8192x1x128xbf16>,
                  %v: tensor<1x8192x1x128xbf16>, %len: tensor<1xi32>)
    -> tensor<1x1x8x128xbf16> {
  %o = hymir.softmax_attention %q, %k, %v lengths(%len)
      {causal = true, scale = 0.088 : f32}
      : (tensor<1x1x8x128xbf16>, tensor<1x8192x1x128xbf16>,
         tensor<1x8192x1x128xbf16>, tensor<1xi32>) -> tensor<1x1x8x128xbf16>
  return %o : tensor<1x1x8x128xbf16>
}

// -----

// A head dim the warp kernels do not cover takes the portable form on the
// GPU too.
// GPU-LABEL: func.func @odd_head_dim
// GPU-NOT: gpu.launch
// GPU: scf.forall
func.func @odd_head_dim(%q: tensor<1x4x2x24xf32>, %k: tensor<1x4x2x24xf32>)
    -> tensor<1x4x2x24xf32> {
  %o = hymir.softmax_attention %q, %k, %k {causal = false, scale = 0.2 : f32}
      : (tensor<1x4x2x24xf32>, tensor<1x4x2x24xf32>, tensor<1x4x2x24xf32>)
      -> tensor<1x4x2x24xf32>
  return %o : tensor<1x4x2x24xf32>
}
