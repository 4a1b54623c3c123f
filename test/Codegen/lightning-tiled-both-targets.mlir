// One statement of lightning attention's algorithm for both targets: the
// kernel-form pipelines of the cpu and of the cuda target both run
// hymir-tile-lightning-attention, and with 64-token blocks (the op's own,
// and what the cuda pipeline chooses for the Hopper kernel) and a 64-wide
// value dim its tiled form is the same text for both (the diff). The cpu
// pipeline lowers that form's contractions to loops; the cuda pipeline maps
// the same form onto its kernels (hymir-lightning-to-gpu): the decode kernel
// under a token guard for calls of up to 16 tokens, the Hopper kernel (a
// producer and two consumer warpgroups on wgmma) above, here (8 thread
// blocks) after a state pass over 7 of 8 sequence chunks (the automatic
// sequence split).
// RUN: hymir-opt %s -hymir-kernel-form -mlir-print-ir-after=hymir-tile-lightning-attention -o %t.cpu.mlir 2> %t.cpu.tiled
// RUN: hymir-opt %s -hymir-kernel-form=gpu-lightning=true -mlir-print-ir-after=hymir-tile-lightning-attention -o %t.cuda.mlir 2> %t.cuda.tiled
// RUN: diff %t.cpu.tiled %t.cuda.tiled
// RUN: FileCheck %s --check-prefix=TILED --input-file=%t.cpu.tiled
// RUN: FileCheck %s --check-prefix=CPU --input-file=%t.cpu.mlir
// RUN: FileCheck %s --check-prefix=CUDA --input-file=%t.cuda.mlir

// TILED: IR Dump After HymirTileLightningAttention
// TILED:   scf.forall ({{.*}}) in (2, 4, 1) shared_outs
// TILED:     %c0 = arith.constant 0 : index
// TILED:     %[[STEP:.*]] = arith.constant 64 : index
// TILED:     scf.for {{.*}} step %[[STEP]] iter_args
// TILED:       linalg.generic {{.*}} {hymir.lightning = "intra"}
// TILED:       linalg.generic {{.*}} {hymir.lightning = "inter"}
// TILED:       linalg.generic {{.*}} {hymir.lightning = "state"}
// TILED:     } {hymir.lightning = "blocks"}
// TILED:   } {hymir.lightning = "heads", mapping = [#gpu.block<z>, #gpu.block<y>, #gpu.block<x>]}

// CPU-LABEL: func.func @prefill
// CPU:         scf.for {{.*}} step %c64
// CPU:           scf.parallel
// CPU:         } {hymir.lightning = "blocks"}
// CPU-NOT:     gpu.launch_func

// CUDA-LABEL: func.func @prefill
// CUDA:         hymir.token_guard tokens in [0, 16] {
// CUDA:           gpu.launch_func @[[DECODE:.*]]::@{{.*}} blocks in (%c1, %c4, %c2) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %c1024_i32
// CUDA:         hymir.token_guard tokens in [17, -1] {
// CUDA:           gpu.launch_func @[[STATE:.*]]::@{{.*}} blocks in (%c1, %c4, %c14) threads in (%c256, %c1, %c1) dynamic_shared_memory_size
// CUDA:           gpu.launch_func @[[HOPPER:.*]]::@{{.*}} blocks in (%c1, %c4, %c16) threads in (%c384, %c1, %c1) dynamic_shared_memory_size
// CUDA:       gpu.module @[[DECODE]]
// CUDA:         gpu.func {{.*}} kernel
// CUDA:           gpu.shuffle xor
// CUDA:       gpu.module @[[STATE]]
// CUDA:         gpu.func {{.*}} kernel
// CUDA:           nvvm.wgmma.mma_async
// CUDA:       gpu.module @[[HOPPER]]
// CUDA:         gpu.func {{.*}} kernel
// CUDA:           nvvm.wgmma.mma_async
func.func @prefill(%q: tensor<2x?x4x64xbf16>, %k: tensor<2x?x4x64xbf16>, %v: tensor<2x?x4x64xbf16>,
                   %s: tensor<4xf32>) -> (tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>) {
  %o, %f = hymir.lightning_attention %q, %k, %v, %s {block_size = 64 : i64}
      : (tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<4xf32>)
      -> (tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>)
  return %o, %f : tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>
}
