// Plans of a module split across 2 devices (hymir-shard): split params are
// stored with their whole shape and the dim each device holds a part of;
// the row-parallel projection's partial sums meet in an all_reduce step that
// writes the output; a state the graph never splits stays whole.
// RUN: hymir-compile %s -o %t.cpu.hymir --target=cpu --devices=2 --max-tokens=512 --print-plan | FileCheck %s --check-prefix=CPU
// RUN: hymir-compile %s -o %t.cuda.hymir --target=cuda --devices=2 --max-tokens=512 --print-plan | FileCheck %s --check-prefix=CUDA
// RUN: not hymir-compile %s -o %t.bad.hymir --target=cpu --devices=0 2>&1 | FileCheck %s --check-prefix=BAD

// CPU:      devices 2
// CPU-NEXT: param 0 w_up: F32[48, 32] sharded along dim 0
// CPU-NEXT: param 1 w_down: F32[32, 48] sharded along dim 1
// CPU:      input 1 state: F32[1, 4, 8, 8]{{$}}
// CPU:      launch {{.*}} grid (tokens*24+255)/256 block 256 (tokens*24, input 0, param 0, buffer 0)
// CPU:      step 5: all_reduce tokens*32 x F32 (buffer 1 -> output 0)

// CUDA:      devices 2
// CUDA:      step 0: gemm m tokens n 24 k 32 F32->F32 (input 0, param 0 -> buffer 0)
// CUDA:      step 2: gemm m tokens n 32 k 24 F32->F32 (buffer 1, param 1 -> buffer 2)
// CUDA:      all_reduce tokens*32 x F32 (buffer 2 -> output 0)

// BAD: hymir-compile: error: --devices must be in [1, 64], got 0
func.func @mlp(%x: tensor<?x32xf32> {hymir.name = "x"},
               %wu: tensor<48x32xf32> {hymir.name = "w_up", hymir.param},
               %wd: tensor<32x48xf32> {hymir.name = "w_down", hymir.param},
               %s: tensor<1x4x8x8xf32> {hymir.name = "state"})
    -> (tensor<?x32xf32> {hymir.name = "y"}, tensor<1x4x8x8xf32> {hymir.name = "state_out"}) {
  %u = hymir.linear %x, %wu : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
  %r = math.exp %u : tensor<?x48xf32>
  %y = hymir.linear %r, %wd : (tensor<?x48xf32>, tensor<32x48xf32>) -> tensor<?x32xf32>
  %s2 = arith.addf %s, %s : tensor<1x4x8x8xf32>
  return %y, %s2 : tensor<?x32xf32>, tensor<1x4x8x8xf32>
}
