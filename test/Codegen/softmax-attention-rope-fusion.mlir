// RUN: hymir-opt %s --hymir-softmax-attention-to-kernels="chip=sm_90a fuse-rope=true" --canonicalize | FileCheck %s
// RUN: hymir-opt %s --hymir-softmax-attention-to-kernels="chip=sm_90a" --canonicalize | FileCheck %s --check-prefix=OFF

// With fuse-rope, the RoPE on q goes into the attention: the short calls
// rotate q into a buffer of their own (one thread per element) before the
// warp kernels; the pipeline kernel reads q unrotated and each consumer
// warpgroup rotates its rows in shared memory (a cos/sin table, the
// rotation, the async-proxy fence, a named barrier over its 128 threads).
// The RoPE on k stays.
// CHECK-LABEL: func.func @prefill
// CHECK: hymir.rope %arg1
// CHECK-NOT: hymir.rope
// CHECK: hymir.token_guard tokens in [0, 16]
// CHECK:   gpu.launch
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c256
// CHECK:     math.cos
// CHECK:     math.sin
// CHECK: hymir.token_guard tokens in [17, -1]
// CHECK:   gpu.launch
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c384
// CHECK:     math.cos
// CHECK:     nvvm.barrier id = %{{.*}} number_of_threads = %c128_i32
// CHECK:     nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK:     nvvm.barrier id = %{{.*}} number_of_threads = %c128_i32
// CHECK:     nvvm.wgmma.mma_async

// Off (the default): both RoPEs stay ops of their own.
// OFF-LABEL: func.func @prefill
// OFF-COUNT-2: hymir.rope
func.func @prefill(%q: tensor<1x?x8x128xbf16>, %k: tensor<1x?x1x128xbf16>,
                   %v: tensor<1x?x1x128xbf16>, %pos: tensor<1x?xi32>)
    -> tensor<1x?x8x128xbf16> {
  %qr = hymir.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<1x?x8x128xbf16>, tensor<1x?xi32>) -> tensor<1x?x8x128xbf16>
  %kr = hymir.rope %k, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<1x?x1x128xbf16>, tensor<1x?xi32>) -> tensor<1x?x1x128xbf16>
  %o = hymir.softmax_attention %qr, %kr, %v {causal = true, scale = 0.088 : f32}
      : (tensor<1x?x8x128xbf16>, tensor<1x?x1x128xbf16>, tensor<1x?x1x128xbf16>)
      -> tensor<1x?x8x128xbf16>
  return %o : tensor<1x?x8x128xbf16>
}
