// Lightning attention compiles for cuda: with a dynamic token count the plan
// holds the decode kernel for calls of up to 16 tokens and a blocked kernel
// for longer ones. On sm_90a (the default chip) that is the Hopper kernel in
// 64-token blocks, its q/k/v tensor maps encoded before the launch (its 8
// thread blocks would leave most SMs idle, so by default the tokens are
// split into 8 chunks: a state pass, then the kernel per chunk, with f32
// scratch for the chunks' states; lightning-sequence-split.mlir; with
// --lightning-sequence-split=1 one launch); with
// --lightning-hopper=false (or a chip without wgmma) the tensor-core kernel in
// 32-token blocks, with its dynamic shared memory: the PTX declares that
// memory as the extern dynamic region and uses mma.sync. A one-token graph
// holds the decode kernel alone (the vector kernel by default: 4 warps per
// 64-column block at D = 64, their output sums in 1 KiB of shared memory).
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --print-plan 2>&1 | FileCheck %s
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --print-plan --lightning-sequence-split=1 2>&1 | FileCheck %s --check-prefix=ONE
// RUN: hymir-compile %s -o %t.hymir --target=cuda --ptxas=none --print-plan --lightning-hopper=false --dump-stages=%t.stages 2>&1 | FileCheck %s --check-prefix=TC
// RUN: FileCheck %s --input-file=%t.stages/3-cuda-kernels.mlir --check-prefix=PTX
// RUN: hymir-compile %s -o %t.hymir --target=cuda --chip=sm_80 --ptxas=none --print-plan 2>&1 | FileCheck %s --check-prefix=TC

// CHECK: entry prefill
// CHECK:   buffer 0: arena offset 0, 917504 B
// CHECK:   step 0: launch prefill_kernel::prefill_kernel grid 1x4x2 block 128 shared 1024 B when tokens <= 16 (input 0, {{.*}}, output 1, output 0)
// CHECK:   step 1: tensor_map BF16[2, tokens, 4, 64] {{.*}} box [1, 64, 1, 64] swizzle 128 B when tokens >= 17 (input 0 -> buffer 1)
// CHECK:   step 4: launch prefill_kernel_0::prefill_kernel grid 1x4x14 block 256 shared {{[0-9]+}} B when tokens >= 17 (tokens, buffer 2, buffer 3, input 3, buffer 0)
// CHECK:   step 5: launch prefill_kernel_1::prefill_kernel grid 1x4x16 block 384 shared {{[0-9]+}} B when tokens >= 17 (tokens, buffer 1, buffer 2, buffer 3, input 3, output 0, buffer 0, output 1)
// CHECK: entry decode
// CHECK:   step 0: launch decode_kernel::decode_kernel grid 1x4x2 block 128 shared 1024 B (input 3, {{.*}}, output 1, output 0)

// ONE: entry prefill
// ONE:   step 1: tensor_map BF16[2, tokens, 4, 64] {{.*}} box [1, 64, 1, 64] swizzle 128 B when tokens >= 17 (input 0 -> buffer 0)
// ONE:   step 4: launch prefill_kernel_0::prefill_kernel grid 1x4x2 block 384 shared {{[0-9]+}} B when tokens >= 17 (tokens, buffer 0, buffer 1, buffer 2, input 3, output 0, output 1)
// ONE-NOT: step 5

// TC: entry prefill
// TC:   step 0: launch prefill_kernel::prefill_kernel grid 1x4x2 block 128 shared 1024 B when tokens <= 16 (input 0, {{.*}}, output 1, output 0)
// TC:   step 1: launch prefill_kernel_0::prefill_kernel grid 1x4x2 block 256 shared 31376 B when tokens >= 17 (input 0, {{.*}}, output 0, output 1)
// TC: entry decode
// TC:   step 0: launch decode_kernel::decode_kernel grid 1x4x2 block 128 shared 1024 B (input 3, {{.*}}, output 1, output 0)

// PTX: gpu.binary @prefill_kernel
// PTX-SAME: shfl.sync.bfly.b32
// PTX: gpu.binary @prefill_kernel_0
// PTX-SAME: .extern .shared .align 1024 .b8 __dynamic_shmem__0[];
// PTX-SAME: .visible .entry prefill_kernel(
// PTX-SAME: bar.sync
// PTX-SAME: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: gpu.binary @decode_kernel
// PTX-SAME: .visible .entry decode_kernel(
// PTX-SAME: shfl.sync.bfly.b32
func.func @prefill(%q: tensor<2x?x4x64xbf16>, %k: tensor<2x?x4x64xbf16>, %v: tensor<2x?x4x64xbf16>,
                   %s: tensor<4xf32>) -> (tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>) {
  %o, %f = hymir.lightning_attention %q, %k, %v, %s
      : (tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<2x?x4x64xbf16>, tensor<4xf32>)
      -> (tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>)
  return %o, %f : tensor<2x?x4x64xbf16>, tensor<2x4x64x64xf32>
}

func.func @decode(%q: tensor<2x1x4x64xbf16>, %k: tensor<2x1x4x64xbf16>, %v: tensor<2x1x4x64xbf16>,
                  %s: tensor<4xf32>, %s0: tensor<2x4x64x64xf32>) -> (tensor<2x1x4x64xbf16>, tensor<2x4x64x64xf32>) {
  %o, %f = hymir.lightning_attention %q, %k, %v, %s initial_state(%s0)
      : (tensor<2x1x4x64xbf16>, tensor<2x1x4x64xbf16>, tensor<2x1x4x64xbf16>, tensor<4xf32>, tensor<2x4x64x64xf32>)
      -> (tensor<2x1x4x64xbf16>, tensor<2x4x64x64xf32>)
  return %o, %f : tensor<2x1x4x64xbf16>, tensor<2x4x64x64xf32>
}
