// RUN: hymir-opt %s --hymir-softmax-attention-to-kernels="chip=sm_90a fuse-rope=true" --canonicalize | FileCheck %s
// RUN: hymir-opt %s --hymir-softmax-attention-to-kernels="chip=sm_90a" --canonicalize | FileCheck %s --check-prefix=OFF

// With fuse-rope, the RoPE on q goes into the attention: the short calls'
// tensor-core split kernel (128 threads) rotates its Q fragments as it
// loads them; the pipeline kernel reads q unrotated and each consumer
// warpgroup rotates its rows in shared memory (a cos/sin table, the
// rotation, the async-proxy fence, a named barrier over its 128 threads).
// The RoPE on k stays.
// CHECK-LABEL: func.func @prefill
// CHECK: hymir.rope %arg1
// CHECK-NOT: hymir.rope
// CHECK: hymir.token_guard tokens in [0, 16]
// CHECK:   gpu.launch
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c128
// CHECK:     math.cos
// CHECK:     math.sin
// CHECK:     nvvm.mma.sync
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

// A decode step (static, one query): the tensor-core split kernel rotates
// its Q fragments as it loads them (cos and sin per channel, the partner
// channel half a rotary span away), so no RoPE op or kernel stays for q.
// CHECK-LABEL: func.func @decode
// CHECK: hymir.rope %arg1
// CHECK-NOT: hymir.rope
// CHECK: gpu.launch
// CHECK:   math.cos
// CHECK:   math.sin
// CHECK:   nvvm.mma.sync
// OFF-LABEL: func.func @decode
// OFF-COUNT-2: hymir.rope
func.func @decode(%q: tensor<2x1x8x128xbf16>, %k: tensor<2x1x1x128xbf16>,
                  %kc: tensor<2x256x1x128xbf16>, %vc: tensor<2x256x1x128xbf16>,
                  %pos: tensor<2x1xi32>, %len: tensor<2xi32>)
    -> (tensor<2x1x8x128xbf16>, tensor<2x256x1x128xbf16>) {
  %qr = hymir.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<2x1x8x128xbf16>, tensor<2x1xi32>) -> tensor<2x1x8x128xbf16>
  %kr = hymir.rope %k, %pos {rotary_dim = 64 : i64, theta = 1.0e7 : f64}
      : (tensor<2x1x1x128xbf16>, tensor<2x1xi32>) -> tensor<2x1x1x128xbf16>
  %o = hymir.softmax_attention %qr, %kc, %vc lengths(%len) {causal = true, scale = 0.088 : f32}
      : (tensor<2x1x8x128xbf16>, tensor<2x256x1x128xbf16>, tensor<2x256x1x128xbf16>, tensor<2xi32>)
      -> tensor<2x1x8x128xbf16>
  %s = hymir.kv_cache_write %kc, %kr, %len : (tensor<2x256x1x128xbf16>, tensor<2x1x1x128xbf16>, tensor<2xi32>) -> tensor<2x256x1x128xbf16>
  return %o, %s : tensor<2x1x8x128xbf16>, tensor<2x256x1x128xbf16>
}
