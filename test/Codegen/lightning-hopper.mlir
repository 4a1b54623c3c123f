// The sm_90a mapping of lightning attention's tiled form
// (hymir-compile --lightning-hopper, the default): the tiling takes
// 64-token blocks (hymir-choose-lightning-blocks marks the op) and
// hymir-lightning-to-gpu{hopper} maps them onto the Hopper pipeline layer:
// three tensor maps (q, k, v boxes of 64 tokens x 64 columns, 128-byte
// swizzle) encoded before the launch, one launch of a producer, an output
// and a state warpgroup per (value chunk of 64, head, batch), the decode
// kernel still below 17 tokens. The output warpgroup waits for the state
// copy of the previous block on a named barrier (ready) and frees it on
// another; the state warpgroup writes the copies with stmatrix (8 x 8
// tiles transposed) into two buffers; o goes through shared memory
// (stmatrix) and out in 16-byte stores. In the PTX, TMA loads into the
// extern dynamic shared memory, 28 wgmma m64n64k16 per block (Q K^T and
// Q S over D = 128, 4 (scores) V with A in registers, 8 K^T (w V) with
// both operands transposed). With --lightning-hopper=false the plan is the
// tensor-core one.
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --lightning-hopper --print-plan --dump-stages=%t.stages | FileCheck %s
// RUN: FileCheck %s --input-file=%t.stages/3-cuda-kernels.prefill_kernel_0.ptx --check-prefix=PTX
// RUN: FileCheck %s --input-file=%t.stages/3-cuda-kernels.prefill_kernel_0.ptx --check-prefix=WGMMA
// RUN: FileCheck %s --input-file=%t.stages/3-cuda-kernels.prefill_kernel_0.ptx --check-prefix=STSM
// RUN: FileCheck %s --input-file=%t.stages/3-cuda-kernels.prefill_kernel_0.ptx --check-prefix=OUT
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --lightning-hopper --lightning-hopper-staged-output=false --print-plan --dump-stages=%t.direct | FileCheck %s --check-prefix=DIRECT
// RUN: FileCheck %s --input-file=%t.direct/3-cuda-kernels.prefill_kernel_0.ptx --check-prefix=DIRECT-PTX
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --lightning-hopper --lightning-hopper-stages=4 --print-plan | FileCheck %s --check-prefix=STAGES4
// RUN: not hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --lightning-hopper --lightning-hopper-stages=5 2>&1 | FileCheck %s --check-prefix=BAD-STAGES
// RUN: not hymir-opt %s --hymir-tile-lightning-attention=block-size=64 "--hymir-lightning-to-gpu=hopper=true hopper-stages=1" 2>&1 | FileCheck %s --check-prefix=BAD-STAGES-PASS
// RUN: FileCheck %s --input-file=%t.stages/1-kernel-form.mlir --check-prefix=FORM
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --print-plan | FileCheck %s
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --lightning-hopper=false --print-plan | FileCheck %s --check-prefix=TC
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --lightning-hopper --lightning-hopper-consumers=1 --print-plan --dump-stages=%t.one | FileCheck %s --check-prefix=ONE
// RUN: FileCheck %s --input-file=%t.one/3-cuda-kernels.prefill_kernel_0.ptx --check-prefix=ONE-PTX
// RUN: not hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --lightning-hopper --lightning-hopper-consumers=3 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not hymir-opt %s --hymir-tile-lightning-attention=block-size=64 "--hymir-lightning-to-gpu=hopper=true hopper-consumers=0" 2>&1 | FileCheck %s --check-prefix=BAD-PASS

// CHECK: step 0: launch prefill_kernel::prefill_kernel grid 2x64x1 block 256 shared 2048 B when tokens <= 16
// CHECK: step 1: tensor_map BF16[1, tokens, 64, 128] strides [tokens*8192, 8192, 128, 1] box [1, 64, 1, 64] swizzle 128 B when tokens >= 17 (input 0 -> buffer 0)
// CHECK: step 2: tensor_map {{.*}} box [1, 64, 1, 64] swizzle 128 B when tokens >= 17 (input 1 -> buffer 1)
// CHECK: step 3: tensor_map {{.*}} box [1, 64, 1, 64] swizzle 128 B when tokens >= 17 (input 2 -> buffer 2)
// 3 stages of (2 q + 2 k + 1 v) boxes of 8 KiB, two bf16 state copies (16
// KiB each), w V (8 KiB), the o tile (8 KiB), 6 barriers.
// CHECK: step 4: launch prefill_kernel_0::prefill_kernel grid 2x64x1 block 384 shared 172080 B when tokens >= 17 (tokens, buffer 0, buffer 1, buffer 2, input 3, output 0, output 1)

// FORM: hymir.tensor_map %arg0 box [1, 64, 1, 64] swizzle 128
// FORM: gpu.launch_func @prefill_kernel_0::@prefill_kernel
// FORM: gpu.module @prefill_kernel_0
// FORM:   nvvm.setmaxregister  decrease 40 {hymir.pipeline = "producer"}
// FORM:   nvvm.cp.async.bulk.tensor.shared.cluster.global
// FORM:   nvvm.setmaxregister  increase 232 {hymir.pipeline = "consumer"}
// The output warpgroup: the scores, then the wait for the state copy.
// FORM:   scf.for
// FORM:     nvvm.wgmma.mma_async
// FORM:     nvvm.barrier id = {{.*}} number_of_threads = %c256_i32
// FORM:     nvvm.wgmma.mma_async
// FORM:     nvvm.barrier.arrive id = {{.*}} number_of_threads = %c256_i32
// The state warpgroup: the initial copy into buffer 1 (ready barrier 3).
// FORM:   } else {
// FORM:   nvvm.stmatrix {{.*}} layout = #nvvm.mma_layout<col>
// FORM:   nvvm.fence.proxy
// FORM:   nvvm.barrier.arrive id = %c3_i32 number_of_threads = %c256_i32
// FORM:   scf.for
// FORM:     nvvm.fence.proxy
// FORM:     nvvm.barrier id = %c1_i32 number_of_threads = %c128_i32
// FORM:     nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// FORM:     nvvm.barrier id = {{.*}} number_of_threads = %c256_i32
// FORM:     nvvm.stmatrix
// FORM:     nvvm.fence.proxy
// FORM:     nvvm.barrier.arrive id = {{.*}} number_of_threads = %c256_i32

// PTX: .extern .shared .align 1024 .b8
// PTX-COUNT-5: cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// WGMMA-COUNT-28: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// WGMMA-NOT: wgmma.mma_async

// Two boxes of 4 stmatrix.x4 each: the initial copy and one in the loop.
// STSM-COUNT-16: stmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// STSM-NOT: stmatrix.sync.aligned.m8n8.x4.trans

// o: 4 stmatrix.x4 (not transposed), a warp barrier, then 4 16-byte
// shared loads and global stores a thread.
// OUT-COUNT-4: stmatrix.sync.aligned.m8n8.x4.shared.b16
// OUT: bar.warp.sync
// OUT-COUNT-4: st.global.v4.b32

// Without the staging: no o tile, the fragments stored from registers.
// DIRECT: launch prefill_kernel_0::prefill_kernel grid 2x64x1 block 384 shared 163888 B when tokens >= 17
// DIRECT-PTX-NOT: stmatrix.sync.aligned.m8n8.x4.shared.b16
// DIRECT-PTX-NOT: st.global.v4.b32

// A 4-stage ring: 4 x 40 KiB + 2 x 16 + 8 + 8 KiB, 8 barriers.
// STAGES4: launch prefill_kernel_0::prefill_kernel grid 2x64x1 block 384 shared 213056 B when tokens >= 17
// BAD-STAGES: lightning-hopper-stages
// BAD-STAGES-SAME: 5
// BAD-STAGES-PASS: hymir-lightning-to-gpu: hopper-stages must be in [2, 4], got 1

// One consumer warpgroup doing the output and the state in sequence: one
// state copy written with scalar stores, no stmatrix.
// ONE: launch prefill_kernel_0::prefill_kernel grid 2x64x1 block 256 shared 147504 B when tokens >= 17
// ONE-PTX-COUNT-28: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// ONE-PTX-NOT: stmatrix

// BAD: --lightning-hopper-consumers must be in [1, 2], got 3
// BAD-PASS: hymir-lightning-to-gpu: hopper-consumers must be 1 or 2, got 0

// TC-NOT: tensor_map
// TC: launch prefill_kernel_0::prefill_kernel grid 2x64x1 block 256 shared 52880 B when tokens >= 17
func.func @prefill(%q: tensor<1x?x64x128xbf16> {hymir.name = "q"}, %k: tensor<1x?x64x128xbf16> {hymir.name = "k"},
                   %v: tensor<1x?x64x128xbf16> {hymir.name = "v"}, %slopes: tensor<64xf32> {hymir.name = "slopes"})
    -> (tensor<1x?x64x128xbf16> {hymir.name = "out"}, tensor<1x64x128x128xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 256 : i64}
      : (tensor<1x?x64x128xbf16>, tensor<1x?x64x128xbf16>, tensor<1x?x64x128xbf16>, tensor<64xf32>)
      -> (tensor<1x?x64x128xbf16>, tensor<1x64x128x128xf32>)
  return %o, %s : tensor<1x?x64x128xbf16>, tensor<1x64x128x128xf32>
}
