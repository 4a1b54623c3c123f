// Lightning attention's tiled form (hymir-tile-lightning-attention) as one
// cooperative GPU kernel: the grid is the tiled IR's forall over (value
// chunk, head, batch); inside, a loop over token blocks (the tiled loop's
// step) runs the load, scores, output and state phases between barriers.
// bf16 prefill runs them on tensor cores (nvvm.mma.sync), otherwise as f32
// outer products. Short static sequences take the decode kernel (state in
// registers, shuffles for o = q S); with a dynamic token count both kernels
// are emitted, each under hymir.token_guard for its token counts (decode up
// to 16, blocked above), which the plan turns into guarded launches.
// RUN: hymir-opt %s -hymir-tile-lightning-attention="block-size=32 value-split=0" -hymir-lightning-to-gpu | FileCheck %s --check-prefixes=CHECK,TC
// RUN: hymir-opt %s -hymir-tile-lightning-attention="block-size=32 value-split=0" -hymir-lightning-to-gpu="tensor-cores=false" | FileCheck %s --check-prefixes=CHECK,SIMT
// RUN: hymir-opt %s -hymir-tile-lightning-attention="block-size=16 value-split=4" -hymir-lightning-to-gpu="threads=128 decode-kernel=false" | FileCheck %s --check-prefixes=CHECK,OPTS

// CHECK-LABEL: func.func @prefill
// CHECK-DAG:     %[[Q:.*]] = bufferization.to_buffer %arg0 read_only
// CHECK-DAG:     %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<2x?x4x64xbf16>
// CHECK-DAG:     %[[STATE:.*]] = memref.alloc() : memref<2x4x64x64xf32>
// TC:            hymir.token_guard tokens in [0, 16] {
// TC:              gpu.launch
// TC:              } {hymir.lightning = "decode"}
// TC-NEXT:       }
// TC-NEXT:       hymir.token_guard tokens in [17, -1] {
// Shared memory (bf16, rows padded by 8): Qs, Ks [32 x 72], KdT [64 x 40],
// VsT [64 x 40], SbT [64 x 72], Ab [32 x 40], 33 f32 decay powers.
// TC:              %[[SMEM:.*]] = arith.constant 31376 : i32
// TC:              gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c4{{.*}}, {{.*}} = %c2{{.*}}) threads({{.*}}) in ({{.*}} = %c256{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) dynamic_shared_memory_size %[[SMEM]]
// TC:                scf.for {{.*}} iter_args
// TC:                  gpu.barrier
// TC:                  nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>{{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 16>
// TC:                  gpu.barrier
// TC:                  nvvm.mma.sync
// TC:                  vector.store {{.*}}, %[[OUT]]
// TC:                  nvvm.mma.sync
// TC:                  gpu.barrier
// TC:                  gpu.barrier
// TC:                } {hymir.lightning = "blocks"}
// TC:                memref.store {{.*}}, %[[STATE]]
// TC:              } {hymir.lightning = "tensor-core"}
// TC-NEXT:       }
// SIMT:          hymir.token_guard tokens in [0, 16] {
// SIMT:          hymir.token_guard tokens in [17, -1] {
// f32 tiles: QdT, KdT, Kd [64 x C], Vs [C x Dv/split], S [64 x Dv/split],
// AT [C x C], C + 1 powers; C = 32 by default, 16 as an option.
// SIMT:            %[[SMEM:.*]] = arith.constant 53392 : i32
// OPTS-NOT:      hymir.token_guard
// OPTS:          %[[SMEM:.*]] = arith.constant 18512 : i32
// SIMT:            gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c4{{.*}}, {{.*}} = %c2{{.*}}) threads({{.*}}) in ({{.*}} = %c256{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) dynamic_shared_memory_size %[[SMEM]]
// OPTS:          gpu.launch blocks({{.*}}) in ({{.*}} = %c4{{.*}}, {{.*}} = %c4{{.*}}, {{.*}} = %c2{{.*}}) threads({{.*}}) in ({{.*}} = %c128{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) dynamic_shared_memory_size %[[SMEM]]
// SIMT:              gpu.dynamic_shared_memory
// OPTS:            gpu.dynamic_shared_memory
// SIMT:              math.exp
// OPTS:            math.exp
// SIMT:              gpu.barrier
// OPTS:            gpu.barrier
// SIMT:              scf.for
// OPTS:            scf.for
// SIMT:                vector.load %[[Q]]
// OPTS:              vector.load %[[Q]]
// SIMT:                vector.fma
// OPTS:              vector.fma
// SIMT:                vector.store {{.*}}, %[[OUT]]
// OPTS:              vector.store {{.*}}, %[[OUT]]
// SIMT:              } {hymir.lightning = "blocks"}
// OPTS:            } {hymir.lightning = "blocks"}
// SIMT:              vector.store {{.*}}, %[[STATE]]
// OPTS:            vector.store {{.*}}, %[[STATE]]
// SIMT:            } {hymir.lightning = "blocks"}
// OPTS:          } {hymir.lightning = "blocks"}
// CHECK-NOT:     scf.forall
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

// TC-LABEL:    func.func @decode
// TC:          gpu.launch blocks({{.*}}) in ({{.*}} = %c2{{.*}}, {{.*}} = %c8{{.*}}, {{.*}} = %c3{{.*}}) threads({{.*}}) in ({{.*}} = %c256{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) {
// TC-NOT:        gpu.barrier
// TC:            scf.for
// TC:              math.fma
// TC:              gpu.shuffle  xor %{{.*}}, %c8_i32, %c32_i32
// TC:              gpu.shuffle  xor %{{.*}}, %c16_i32, %c32_i32
// TC:          } {hymir.lightning = "decode"}
// Without the decode kernel the blocked kernel runs even for one token.
// OPTS-LABEL:  func.func @decode
// OPTS:          {hymir.lightning = "blocks"}
func.func @decode(%q: tensor<3x1x8x128xf32>, %s: tensor<8xf32>, %s0: tensor<3x8x128x128xf32>)
    -> (tensor<3x1x8x128xf32>, tensor<3x8x128x128xf32>) {
  %o, %f = hymir.lightning_attention %q, %q, %q, %s initial_state(%s0)
      : (tensor<3x1x8x128xf32>, tensor<3x1x8x128xf32>, tensor<3x1x8x128xf32>, tensor<8xf32>, tensor<3x8x128x128xf32>)
      -> (tensor<3x1x8x128xf32>, tensor<3x8x128x128xf32>)
  return %o, %f : tensor<3x1x8x128xf32>, tensor<3x8x128x128xf32>
}
