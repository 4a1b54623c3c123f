// hymir-bench times an artifact compiled for several devices (simulated on
// cpu): the KV caches are split by heads across 2 devices, and --restore
// copies each device's part of them in again before every run. As the two
// ranks of a job (one process per device, loopback rendezvous) each process
// times its device and says which rank it is.
// RUN: hymir-compile %s -o %t.hymir --target=cpu --devices=2
// RUN: hymir-dump %t.hymir | FileCheck %s --check-prefix=PLAN
// RUN: hymir-bench %t.hymir --entry step --random-inputs 1 --set lengths=3 \
// RUN:   --restore key_cache --restore value_cache --restore lengths \
// RUN:   --warmup 1 --iterations 3 | FileCheck %s
// RUN: rm -f %t.rank0 %t.rank1
// RUN: bash -c 'for r in 0 1; do RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 \
// RUN:   MASTER_PORT=$((29700 + $$ %% 200)) HYMIR_DIST_TIMEOUT=30 hymir-bench %t.hymir \
// RUN:   --entry step --random-inputs 1 --set lengths=3 --restore key_cache \
// RUN:   --warmup 1 --iterations 2 > %t.rank$r & done; wait'
// RUN: FileCheck %s --check-prefix=RANK0 < %t.rank0
// RUN: FileCheck %s --check-prefix=RANK1 < %t.rank1

// PLAN: devices 2
// PLAN: input 2 key_cache: F32[2, 8, 4, 4] sharded along dim 2
// CHECK: bench step device=cpu median_ms={{[0-9.e+-]+}} iterations=3
// RANK0: bench step device=cpu median_ms={{.*}} rank=0/2
// RANK1: bench step device=cpu median_ms={{.*}} rank=1/2
func.func @step(%k: tensor<2x1x4x4xf32> {hymir.name = "k"},
                %v: tensor<2x1x4x4xf32> {hymir.name = "v"},
                %kc: tensor<2x8x4x4xf32> {hymir.name = "key_cache"},
                %vc: tensor<2x8x4x4xf32> {hymir.name = "value_cache"},
                %lengths: tensor<2xi32> {hymir.name = "lengths"},
                %q: tensor<2x1x4x4xf32> {hymir.name = "q"})
    -> (tensor<2x1x4x4xf32> {hymir.name = "out"},
        tensor<2x8x4x4xf32> {hymir.name = "key_cache_out", hymir.tied = 2 : i64},
        tensor<2x8x4x4xf32> {hymir.name = "value_cache_out", hymir.tied = 3 : i64}) {
  %kn = hymir.kv_cache_write %kc, %k, %lengths : (tensor<2x8x4x4xf32>, tensor<2x1x4x4xf32>, tensor<2xi32>) -> tensor<2x8x4x4xf32>
  %vn = hymir.kv_cache_write %vc, %v, %lengths : (tensor<2x8x4x4xf32>, tensor<2x1x4x4xf32>, tensor<2xi32>) -> tensor<2x8x4x4xf32>
  %o = hymir.softmax_attention %q, %kn, %vn lengths(%lengths) {causal = true, scale = 0.5 : f32} : (tensor<2x1x4x4xf32>, tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32>, tensor<2xi32>) -> tensor<2x1x4x4xf32>
  return %o, %kn, %vn : tensor<2x1x4x4xf32>, tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32>
}
