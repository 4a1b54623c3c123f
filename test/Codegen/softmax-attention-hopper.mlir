// RUN: hymir-opt %s --hymir-softmax-attention-to-kernels=chip=sm_90a --canonicalize | FileCheck %s
// RUN: hymir-opt %s --hymir-softmax-attention-to-kernels="chip=sm_90a pipeline=false" --canonicalize | FileCheck %s --check-prefix=NOPIPE

// bf16 prefill on sm_90a: calls of more than 16 tokens take the kernel of the
// Hopper pipeline layer. Tensor maps for q (16 tokens x 8 heads = 128 rows)
// and the k/v tiles (128 keys), 384 threads: a producer warpgroup that drops
// to 40 registers and issues TMA loads into the ring, and two consumer
// warpgroups that raise theirs to 232 and run S = Q K^T (operands in shared
// memory) and O += P V (P from registers) on wgmma.
// CHECK-LABEL: func.func @prefill
// CHECK: hymir.token_guard tokens in [0, 16]
// CHECK: hymir.token_guard tokens in [17, -1]
// CHECK:   hymir.tensor_map %{{.*}} box [1, 16, 8, 64] swizzle 128 : memref<1x?x8x128xbf16>
// CHECK:   hymir.tensor_map %{{.*}} box [1, 128, 1, 64] swizzle 128 : memref<1x?x1x128xbf16>
// CHECK:   hymir.tensor_map %{{.*}} box [1, 128, 1, 64] swizzle 128 : memref<1x?x1x128xbf16>
// CHECK:   gpu.launch
// CHECK-SAME: threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c384
// CHECK:     nvvm.mbarrier.init
// CHECK:     nvvm.fence.mbarrier.init
// CHECK:     } {hymir.pipeline = "ring"}
// CHECK:     nvvm.setmaxregister decrease 40 {hymir.pipeline = "producer"}
// CHECK:       nvvm.mbarrier.arrive.expect_tx
// CHECK:       nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK:     nvvm.setmaxregister increase 232 {hymir.pipeline = "consumer"}
// The K tile's wait comes before the fence; the chain's first step
// overwrites (scale-d 0: no zeroed accumulator registers).
// CHECK:       nvvm.mbarrier.try_wait.parity
// CHECK:       nvvm.wgmma.fence.aligned
// CHECK:       nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>, D[<f32>, <zero>]
// CHECK-COUNT-7: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>, D[<f32>, <one>]
// CHECK:       nvvm.wgmma.commit.group.sync.aligned
// CHECK:       math.exp2
// CHECK-COUNT-8: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// CHECK:     } {hymir.pipeline = "roles"}

// Without the pipeline: the warp kernels only, no tensor maps.
// NOPIPE-LABEL: func.func @prefill
// NOPIPE-NOT: hymir.tensor_map
// NOPIPE-NOT: nvvm.wgmma
// NOPIPE-NOT: hymir.pipeline
func.func @prefill(%q: tensor<1x?x8x128xbf16>, %k: tensor<1x?x1x128xbf16>,
                   %v: tensor<1x?x1x128xbf16>) -> tensor<1x?x8x128xbf16> {
  %o = hymir.softmax_attention %q, %k, %v {causal = true, scale = 0.088 : f32}
      : (tensor<1x?x8x128xbf16>, tensor<1x?x1x128xbf16>, tensor<1x?x1x128xbf16>)
      -> tensor<1x?x8x128xbf16>
  return %o : tensor<1x?x8x128xbf16>
}
