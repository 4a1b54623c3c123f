// A sequence split of the sm_90a lightning prefill (hymir-compile
// --lightning-sequence-split=N, hymir-lightning-to-gpu{sequence-split=N}):
// where (value chunks x heads x batch) thread blocks leave SMs idle (8 heads
// a GPU under 8-way tensor parallelism: 16 blocks at B = 1), the tokens are
// cut into N chunks of whole 64-token blocks. A state pass (one launch over
// (value chunk, head, batch x (N - 1) chunks): the producer with k and v
// boxes only, one state warpgroup, 8 wgmma a block) writes each chunk's own
// state from zero into f32 scratch (16-byte stores of whole rows); then the
// Hopper kernel runs over (value chunk, head, batch x N chunks), its state
// warpgroup carrying the state into its chunk over the earlier chunks'
// (16-byte loads) before its first block; the last chunk writes the final
// state. 0 (the default) chooses: where the (value chunks x heads x batch)
// thread blocks fill at most half of the 132 SMs of sm_90a, floor(132 /
// blocks) chunks, at most 8 (8 heads: 16 blocks, 8 chunks; B = 2: 4 chunks;
// 33 heads: 66 blocks, 2 chunks; 34 heads: 68 blocks and 64 heads: 128
// blocks, none). 1 makes no split; f32 graphs (SIMT kernel) and the
// tensor-core kernel take none. A static sequence gets no more chunks than
// it has blocks. Bad values are refused by hymir-compile (range) and by the
// pass.
// RUN: split-file %s %t
// RUN: hymir-compile %t/h8.mlir -o %t.hymir --target=cuda --ptxas=none --lightning-sequence-split=8 --print-plan --dump-stages=%t.st | FileCheck %s --check-prefix=SPLIT8
// RUN: FileCheck %s --input-file=%t.st/1-kernel-form.mlir --check-prefix=FORM
// RUN: FileCheck %s --input-file=%t.st/3-cuda-kernels.prefill_kernel_0.ptx --check-prefix=STATE-TMA
// RUN: FileCheck %s --input-file=%t.st/3-cuda-kernels.prefill_kernel_0.ptx --check-prefix=STATE-WGMMA
// RUN: FileCheck %s --input-file=%t.st/3-cuda-kernels.prefill_kernel_0.ptx --check-prefix=STATE-ST
// RUN: FileCheck %s --input-file=%t.st/3-cuda-kernels.prefill_kernel_1.ptx --check-prefix=OUT-TMA
// RUN: FileCheck %s --input-file=%t.st/3-cuda-kernels.prefill_kernel_1.ptx --check-prefix=OUT-WGMMA
// RUN: FileCheck %s --input-file=%t.st/3-cuda-kernels.prefill_kernel_1.ptx --check-prefix=OUT-CARRY
// RUN: hymir-compile %t/h8.mlir -o %t.hymir --target=cuda --ptxas=none --print-plan | FileCheck %s --check-prefix=SPLIT8
// RUN: hymir-compile %t/h8b2.mlir -o %t.hymir --target=cuda --ptxas=none --print-plan | FileCheck %s --check-prefix=B2
// RUN: hymir-compile %t/h1.mlir -o %t.hymir --target=cuda --ptxas=none --print-plan | FileCheck %s --check-prefix=AUTO1
// RUN: hymir-compile %t/h33.mlir -o %t.hymir --target=cuda --ptxas=none --print-plan | FileCheck %s --check-prefix=AUTO33
// RUN: hymir-compile %t/h34.mlir -o %t.hymir --target=cuda --ptxas=none --print-plan | FileCheck %s --check-prefix=AUTO34
// RUN: hymir-compile %t/h64.mlir -o %t.hymir --target=cuda --ptxas=none --print-plan | FileCheck %s --check-prefix=AUTO64
// RUN: hymir-compile %t/static.mlir -o %t.hymir --target=cuda --ptxas=none --print-plan | FileCheck %s --check-prefix=STATIC
// RUN: hymir-compile %t/h8.mlir -o %t.hymir --target=cuda --ptxas=none --lightning-sequence-split=1 --print-plan | FileCheck %s --check-prefix=NONE
// RUN: hymir-compile %t/h8b2.mlir -o %t.hymir --target=cuda --ptxas=none --lightning-sequence-split=4 --print-plan | FileCheck %s --check-prefix=B2
// RUN: hymir-compile %t/h8b2.mlir -o %t.hymir --target=cuda --ptxas=none --lightning-sequence-split=2 --print-plan | FileCheck %s --check-prefix=TWO
// RUN: hymir-compile %t/static.mlir -o %t.hymir --target=cuda --ptxas=none --lightning-sequence-split=8 --print-plan | FileCheck %s --check-prefix=STATIC
// RUN: hymir-compile %t/state.mlir -o %t.hymir --target=cuda --ptxas=none --lightning-sequence-split=3 --print-plan | FileCheck %s --check-prefix=STATE
// RUN: hymir-compile %t/h8.mlir -o %t.hymir --target=cuda --ptxas=none --lightning-sequence-split=8 --lightning-hopper-consumers=1 --print-plan | FileCheck %s --check-prefix=ONE
// RUN: hymir-compile %t/f32.mlir -o %t.hymir --target=cuda --ptxas=none --lightning-sequence-split=8 --print-plan | FileCheck %s --check-prefix=F32
// RUN: hymir-compile %t/h8.mlir -o %t.hymir --target=cuda --ptxas=none --lightning-sequence-split=8 --lightning-hopper=false --print-plan | FileCheck %s --check-prefix=TC
// RUN: not hymir-compile %t/h8.mlir -o %t.hymir --target=cuda --ptxas=none --lightning-sequence-split=33 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not hymir-compile %t/h8.mlir -o %t.hymir --target=cuda --ptxas=none --lightning-sequence-split=-1 2>&1 | FileCheck %s --check-prefix=BAD-NEG
// RUN: not hymir-opt %t/h8.mlir --hymir-tile-lightning-attention=block-size=64 "--hymir-lightning-to-gpu=hopper=true sequence-split=40" 2>&1 | FileCheck %s --check-prefix=BAD-PASS

// The scratch: 7 chunk states of 8 heads x 2 value chunks x 128 x 64 f32.
// SPLIT8: buffer 0: arena offset 0, 3670016 B
// SPLIT8: step 0: launch prefill_kernel::prefill_kernel grid 2x8x1 block 256 shared 2048 B when tokens <= 16
// SPLIT8: step 1: tensor_map {{.*}} when tokens >= 17 (input 0 -> buffer 1)
// SPLIT8: step 2: tensor_map {{.*}} when tokens >= 17 (input 1 -> buffer 2)
// SPLIT8: step 3: tensor_map {{.*}} when tokens >= 17 (input 2 -> buffer 3)
// The state pass reads k and v (maps 2, 3) and writes the scratch: a ring
// of 3 x (2 k + 1 v) boxes of 8 KiB, w V (8 KiB), 6 barriers.
// SPLIT8: step 4: launch prefill_kernel_0::prefill_kernel grid 2x8x7 block 256 shared 81968 B when tokens >= 17 (tokens, buffer 2, buffer 3, input 3, buffer 0)
// SPLIT8: step 5: launch prefill_kernel_1::prefill_kernel grid 2x8x8 block 384 shared 172080 B when tokens >= 17 (tokens, buffer 1, buffer 2, buffer 3, input 3, output 0, buffer 0, output 1)
// SPLIT8-NOT: step 6

// FORM: memref.alloc() : memref<112x2048x4xf32>
// FORM: gpu.launch_func @prefill_kernel_0::@prefill_kernel blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in
// FORM: gpu.launch_func @prefill_kernel_1::@prefill_kernel
// FORM: memref.dealloc
// FORM: gpu.module @prefill_kernel_0
// FORM:   known_grid_size = array<i32: 2, 8, 7>
// FORM:   nvvm.setmaxregister  decrease 40 {hymir.pipeline = "producer"}
// FORM:   nvvm.cp.async.bulk.tensor.shared.cluster.global
// FORM:   nvvm.cp.async.bulk.tensor.shared.cluster.global
// FORM:   nvvm.cp.async.bulk.tensor.shared.cluster.global
// FORM-NOT: nvvm.cp.async.bulk.tensor
// FORM:   nvvm.setmaxregister  increase 232 {hymir.pipeline = "consumer"}
// FORM:   scf.for
// FORM:     nvvm.wgmma.mma_async {{.*}} A[<bf16>, <one>, <col>], B[<bf16>, <one>, <row>]
// FORM:   vector.store {{.*}} : memref<112x2048x4xf32>, vector<4xf32>
// FORM: gpu.module @prefill_kernel_1
// FORM:   known_grid_size = array<i32: 2, 8, 8>
// The state warpgroup: the carry over the earlier chunks, then the first
// copy (only where the chunk has blocks).
// FORM:   } else {
// FORM:   scf.for
// FORM:     vector.load {{.*}} : memref<112x2048x4xf32>, vector<4xf32>
// FORM:     math.fma
// FORM:   scf.if
// FORM:     nvvm.stmatrix {{.*}} layout = #nvvm.mma_layout<col>
// FORM:     nvvm.barrier.arrive id = %c3_i32 number_of_threads = %c256_i32

// STATE-TMA-COUNT-3: cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// STATE-TMA-NOT: cp.async.bulk.tensor
// STATE-WGMMA-COUNT-8: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// STATE-WGMMA-NOT: wgmma.mma_async
// STATE-ST-COUNT-16: st.global.v4.b32
// STATE-ST-NOT: st.global

// OUT-TMA-COUNT-5: cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// OUT-TMA-NOT: cp.async.bulk.tensor
// OUT-WGMMA-COUNT-28: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// OUT-WGMMA-NOT: wgmma.mma_async
// The carry: 16 loads of 16 bytes a thread and chunk (D = 128).
// OUT-CARRY-COUNT-16: ld.global.v4.b32
// OUT-CARRY-NOT: ld.global.v4.b32

// NONE: step 4: launch prefill_kernel_0::prefill_kernel grid 2x8x1 block 384 shared 172080 B when tokens >= 17
// NONE-NOT: step 5

// The automatic choice: 2 thread blocks, 8 chunks (the most it makes).
// AUTO1: step 4: launch prefill_kernel_0::prefill_kernel grid 2x1x7 block 256 shared 81968 B when tokens >= 17
// AUTO1: step 5: launch prefill_kernel_1::prefill_kernel grid 2x1x8 block 384 shared 172080 B when tokens >= 17
// 66 blocks: 2 chunks; 68 and 128: none.
// AUTO33: step 4: launch prefill_kernel_0::prefill_kernel grid 2x33x1 block 256 shared 81968 B when tokens >= 17
// AUTO33: step 5: launch prefill_kernel_1::prefill_kernel grid 2x33x2 block 384 shared 172080 B when tokens >= 17
// AUTO34: step 4: launch prefill_kernel_0::prefill_kernel grid 2x34x1 block 384 shared 172080 B when tokens >= 17
// AUTO34-NOT: step 5
// AUTO64: step 4: launch prefill_kernel_0::prefill_kernel grid 2x64x1 block 384 shared 172080 B when tokens >= 17
// AUTO64-NOT: step 5

// B2: buffer 0: arena offset 0, 3145728 B
// B2: step 4: launch prefill_kernel_0::prefill_kernel grid 2x8x6 block 256 shared 81968 B when tokens >= 17
// B2: step 5: launch prefill_kernel_1::prefill_kernel grid 2x8x8 block 384 shared 172080 B when tokens >= 17

// Two chunks: one state-pass chunk a batch row.
// TWO: buffer 0: arena offset 0, 1048576 B
// TWO: step 4: launch prefill_kernel_0::prefill_kernel grid 2x8x2 block 256 shared 81968 B when tokens >= 17
// TWO: step 5: launch prefill_kernel_1::prefill_kernel grid 2x8x4 block 384 shared 172080 B when tokens >= 17

// 300 tokens are 5 blocks: 5 chunks of one block.
// STATIC: step 3: launch prefill_kernel::prefill_kernel grid 2x8x4 block 256 shared 81968 B (buffer 2, buffer 3, input 3, buffer 0)
// STATIC: step 4: launch prefill_kernel_0::prefill_kernel grid 2x8x5 block 384 shared 172080 B (buffer 1, buffer 2, buffer 3, input 3, output 0, buffer 0, output 1)

// An initial state: read by the output pass only (input 4).
// STATE: step 4: launch prefill_kernel_0::prefill_kernel grid 1x4x4 block 256 shared 57392 B when tokens >= 17 (tokens, buffer 2, buffer 3, input 3, buffer 0)
// STATE: step 5: launch prefill_kernel_1::prefill_kernel grid 1x4x6 block 384 shared 106544 B when tokens >= 17 (tokens, buffer 1, buffer 2, buffer 3, input 3, output 0, input 4, buffer 0, output 1)

// ONE: step 4: launch prefill_kernel_0::prefill_kernel grid 2x8x7 block 256 shared 81968 B when tokens >= 17
// ONE: step 5: launch prefill_kernel_1::prefill_kernel grid 2x8x8 block 256 shared 147504 B when tokens >= 17

// F32: step 1: launch prefill_kernel_0::prefill_kernel grid 2x8x1 block 256 shared 94352 B when tokens >= 17
// F32-NOT: step 2
// TC-NOT: tensor_map
// TC: step 1: launch prefill_kernel_0::prefill_kernel grid 2x8x1 block 256 shared 52880 B when tokens >= 17
// TC-NOT: step 2

// BAD: --lightning-sequence-split must be in [0, 32], got 33
// BAD-NEG: --lightning-sequence-split must be in [0, 32], got -1
// BAD-PASS: hymir-lightning-to-gpu: sequence-split must be in [0, 32] (0: automatic, 1: none), got 40

//--- h8.mlir
func.func @prefill(%q: tensor<1x?x8x128xbf16> {hymir.name = "q"}, %k: tensor<1x?x8x128xbf16> {hymir.name = "k"},
                   %v: tensor<1x?x8x128xbf16> {hymir.name = "v"}, %slopes: tensor<8xf32> {hymir.name = "slopes"})
    -> (tensor<1x?x8x128xbf16> {hymir.name = "out"}, tensor<1x8x128x128xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 256 : i64}
      : (tensor<1x?x8x128xbf16>, tensor<1x?x8x128xbf16>, tensor<1x?x8x128xbf16>, tensor<8xf32>)
      -> (tensor<1x?x8x128xbf16>, tensor<1x8x128x128xf32>)
  return %o, %s : tensor<1x?x8x128xbf16>, tensor<1x8x128x128xf32>
}

//--- h8b2.mlir
func.func @prefill(%q: tensor<2x?x8x128xbf16> {hymir.name = "q"}, %k: tensor<2x?x8x128xbf16> {hymir.name = "k"},
                   %v: tensor<2x?x8x128xbf16> {hymir.name = "v"}, %slopes: tensor<8xf32> {hymir.name = "slopes"})
    -> (tensor<2x?x8x128xbf16> {hymir.name = "out"}, tensor<2x8x128x128xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 256 : i64}
      : (tensor<2x?x8x128xbf16>, tensor<2x?x8x128xbf16>, tensor<2x?x8x128xbf16>, tensor<8xf32>)
      -> (tensor<2x?x8x128xbf16>, tensor<2x8x128x128xf32>)
  return %o, %s : tensor<2x?x8x128xbf16>, tensor<2x8x128x128xf32>
}

//--- static.mlir
func.func @prefill(%q: tensor<1x300x8x128xbf16> {hymir.name = "q"}, %k: tensor<1x300x8x128xbf16> {hymir.name = "k"},
                   %v: tensor<1x300x8x128xbf16> {hymir.name = "v"}, %slopes: tensor<8xf32> {hymir.name = "slopes"})
    -> (tensor<1x300x8x128xbf16> {hymir.name = "out"}, tensor<1x8x128x128xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 256 : i64}
      : (tensor<1x300x8x128xbf16>, tensor<1x300x8x128xbf16>, tensor<1x300x8x128xbf16>, tensor<8xf32>)
      -> (tensor<1x300x8x128xbf16>, tensor<1x8x128x128xf32>)
  return %o, %s : tensor<1x300x8x128xbf16>, tensor<1x8x128x128xf32>
}

//--- state.mlir
func.func @prefill(%q: tensor<2x?x4x64xbf16> {hymir.name = "q"}, %k: tensor<2x?x4x64xbf16> {hymir.name = "k"},
                   %v: tensor<2x?x4x64xbf16> {hymir.name = "v"}, %slopes: tensor<4xf32> {hymir.name = "slopes"},
                   %s0: tensor<2x4x64x64xf32> {hymir.name = "initial_state"})
    -> (tensor<2x?x4x64xbf16> {hymir.name = "out"}, tensor<2x4x64x64xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes initial_state(%s0) {block_size = 256 : i64}
      : (tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<4xf32>, tensor<2x4x64x64xf32>)
      -> (tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>)
  return %o, %s : tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>
}

//--- f32.mlir
func.func @prefill(%q: tensor<1x?x8x128xf32> {hymir.name = "q"}, %k: tensor<1x?x8x128xf32> {hymir.name = "k"},
                   %v: tensor<1x?x8x128xf32> {hymir.name = "v"}, %slopes: tensor<8xf32> {hymir.name = "slopes"})
    -> (tensor<1x?x8x128xf32> {hymir.name = "out"}, tensor<1x8x128x128xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 256 : i64}
      : (tensor<1x?x8x128xf32>, tensor<1x?x8x128xf32>, tensor<1x?x8x128xf32>, tensor<8xf32>)
      -> (tensor<1x?x8x128xf32>, tensor<1x8x128x128xf32>)
  return %o, %s : tensor<1x?x8x128xf32>, tensor<1x8x128x128xf32>
}

//--- h1.mlir
func.func @prefill(%q: tensor<1x?x1x128xbf16> {hymir.name = "q"}, %k: tensor<1x?x1x128xbf16> {hymir.name = "k"},
                   %v: tensor<1x?x1x128xbf16> {hymir.name = "v"}, %slopes: tensor<1xf32> {hymir.name = "slopes"})
    -> (tensor<1x?x1x128xbf16> {hymir.name = "out"}, tensor<1x1x128x128xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 256 : i64}
      : (tensor<1x?x1x128xbf16>, tensor<1x?x1x128xbf16>, tensor<1x?x1x128xbf16>, tensor<1xf32>)
      -> (tensor<1x?x1x128xbf16>, tensor<1x1x128x128xf32>)
  return %o, %s : tensor<1x?x1x128xbf16>, tensor<1x1x128x128xf32>
}

//--- h33.mlir
func.func @prefill(%q: tensor<1x?x33x128xbf16> {hymir.name = "q"}, %k: tensor<1x?x33x128xbf16> {hymir.name = "k"},
                   %v: tensor<1x?x33x128xbf16> {hymir.name = "v"}, %slopes: tensor<33xf32> {hymir.name = "slopes"})
    -> (tensor<1x?x33x128xbf16> {hymir.name = "out"}, tensor<1x33x128x128xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 256 : i64}
      : (tensor<1x?x33x128xbf16>, tensor<1x?x33x128xbf16>, tensor<1x?x33x128xbf16>, tensor<33xf32>)
      -> (tensor<1x?x33x128xbf16>, tensor<1x33x128x128xf32>)
  return %o, %s : tensor<1x?x33x128xbf16>, tensor<1x33x128x128xf32>
}

//--- h34.mlir
func.func @prefill(%q: tensor<1x?x34x128xbf16> {hymir.name = "q"}, %k: tensor<1x?x34x128xbf16> {hymir.name = "k"},
                   %v: tensor<1x?x34x128xbf16> {hymir.name = "v"}, %slopes: tensor<34xf32> {hymir.name = "slopes"})
    -> (tensor<1x?x34x128xbf16> {hymir.name = "out"}, tensor<1x34x128x128xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 256 : i64}
      : (tensor<1x?x34x128xbf16>, tensor<1x?x34x128xbf16>, tensor<1x?x34x128xbf16>, tensor<34xf32>)
      -> (tensor<1x?x34x128xbf16>, tensor<1x34x128x128xf32>)
  return %o, %s : tensor<1x?x34x128xbf16>, tensor<1x34x128x128xf32>
}

//--- h64.mlir
func.func @prefill(%q: tensor<1x?x64x128xbf16> {hymir.name = "q"}, %k: tensor<1x?x64x128xbf16> {hymir.name = "k"},
                   %v: tensor<1x?x64x128xbf16> {hymir.name = "v"}, %slopes: tensor<64xf32> {hymir.name = "slopes"})
    -> (tensor<1x?x64x128xbf16> {hymir.name = "out"}, tensor<1x64x128x128xf32> {hymir.name = "final_state"}) {
  %o, %s = hymir.lightning_attention %q, %k, %v, %slopes {block_size = 256 : i64}
      : (tensor<1x?x64x128xbf16>, tensor<1x?x64x128xbf16>, tensor<1x?x64x128xbf16>, tensor<64xf32>)
      -> (tensor<1x?x64x128xbf16>, tensor<1x64x128x128xf32>)
  return %o, %s : tensor<1x?x64x128xbf16>, tensor<1x64x128x128xf32>
}
