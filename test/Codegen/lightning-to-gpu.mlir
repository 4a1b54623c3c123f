// Lightning attention as one cooperative GPU kernel: the grid is the tiled
// IR's forall over (value chunk, head, batch); inside, a loop over token
// blocks runs the load, scores, output and state phases between barriers,
// as f32 outer products in dynamic shared memory. Short static sequences
// take the decode kernel (state in registers, shuffles for o = q S).
// RUN: hymir-opt %s -hymir-lightning-to-gpu | FileCheck %s --check-prefixes=CHECK,AUTO
// RUN: hymir-opt %s -hymir-lightning-to-gpu="block-size=16 value-split=4 threads=128" | FileCheck %s --check-prefixes=CHECK,OPTS

// CHECK-LABEL: func.func @prefill
// CHECK-DAG:     %[[Q:.*]] = bufferization.to_buffer %arg0 read_only
// CHECK-DAG:     %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<2x?x4x64xbf16>
// CHECK-DAG:     %[[STATE:.*]] = memref.alloc() : memref<2x4x64x64xf32>
// 16-token blocks are the option; 32 by default. Shared memory: QdT, KdT, Kd
// [64 x C], Vs [C x Dv/split], S [64 x Dv/split], AT [C x C], C + 1 powers.
// AUTO:          %[[SMEM:.*]] = arith.constant 53392 : i32
// OPTS:          %[[SMEM:.*]] = arith.constant 18512 : i32
// AUTO:          gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c4{{.*}}, {{.*}} = %c2{{.*}}) threads({{.*}}) in ({{.*}} = %c256{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) dynamic_shared_memory_size %[[SMEM]]
// OPTS:          gpu.launch blocks({{.*}}) in ({{.*}} = %c4{{.*}}, {{.*}} = %c4{{.*}}, {{.*}} = %c2{{.*}}) threads({{.*}}) in ({{.*}} = %c128{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) dynamic_shared_memory_size %[[SMEM]]
// CHECK:           gpu.dynamic_shared_memory
// CHECK:           math.exp
// CHECK:           gpu.barrier
// CHECK:           scf.for
// CHECK:             scf.if
// CHECK:               vector.load %[[Q]]
// CHECK:             gpu.barrier
// CHECK:             vector.fma
// CHECK:             gpu.barrier
// CHECK:             vector.fma
// CHECK:             vector.store {{.*}}, %[[OUT]]
// CHECK:             gpu.barrier
// CHECK:             vector.fma
// CHECK:             gpu.barrier
// CHECK:           } {hymir.lightning = "blocks"}
// CHECK:           vector.store {{.*}}, %[[STATE]]
// CHECK:         } {hymir.lightning = "blocks"}
// CHECK:         bufferization.to_tensor %[[OUT]] restrict writable
// CHECK:         bufferization.to_tensor %[[STATE]] restrict writable
func.func @prefill(%q: tensor<2x?x4x64xbf16>, %k: tensor<2x?x4x64xbf16>, %v: tensor<2x?x4x64xbf16>,
                   %s: tensor<4xf32>, %s0: tensor<2x4x64x64xf32>)
    -> (tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>) {
  %o, %f = hymir.lightning_attention %q, %k, %v, %s initial_state(%s0) {block_size = 256 : i64}
      : (tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<4xf32>, tensor<2x4x64x64xf32>)
      -> (tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>)
  return %o, %f : tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>
}

// AUTO-LABEL:  func.func @decode
// AUTO:          gpu.launch blocks({{.*}}) in ({{.*}} = %c2{{.*}}, {{.*}} = %c8{{.*}}, {{.*}} = %c3{{.*}}) threads({{.*}}) in ({{.*}} = %c256{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) {
// AUTO-NOT:        gpu.barrier
// AUTO:            scf.for
// AUTO:              math.fma
// AUTO:              gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32
// AUTO:              gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32
// AUTO:          } {hymir.lightning = "decode"}
// With an explicit block size the blocked kernel runs even for one token.
// OPTS-LABEL:  func.func @decode
// OPTS:          {hymir.lightning = "blocks"}
func.func @decode(%q: tensor<3x1x8x128xf32>, %s: tensor<8xf32>, %s0: tensor<3x8x128x128xf32>)
    -> (tensor<3x1x8x128xf32>, tensor<3x8x128x128xf32>) {
  %o, %f = hymir.lightning_attention %q, %q, %q, %s initial_state(%s0)
      : (tensor<3x1x8x128xf32>, tensor<3x1x8x128xf32>, tensor<3x1x8x128xf32>, tensor<8xf32>, tensor<3x8x128x128xf32>)
      -> (tensor<3x1x8x128xf32>, tensor<3x8x128x128xf32>)
  return %o, %f : tensor<3x1x8x128xf32>, tensor<3x8x128x128xf32>
}
