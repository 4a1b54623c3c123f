// The execution plan: symbolic sizes over the token count, buffers placed
// by liveness (buffers whose lifetimes do not overlap share arena bytes),
// outputs computed in place, and on cuda the projections as library GEMMs.
// RUN: hymir-compile %s -o %t.cpu.hymir --target=cpu --max-tokens=512 --print-plan | FileCheck %s --check-prefix=CPU
// RUN: hymir-compile %s -o %t.cuda.hymir --target=cuda --max-tokens=512 --print-plan | FileCheck %s --check-prefix=CUDA

// CPU:      entry mlp
// CPU-NEXT:   symbol tokens = input 0 dim 0, max 512
// CPU-NEXT:   input 0 x: F32[tokens, 32]
// CPU-NEXT:   input 1 norm: F32[32]
// CPU-NEXT:   input 2 w_up: F32[48, 32]
// CPU-NEXT:   input 3 w_gate: F32[48, 32]
// CPU-NEXT:   input 4 w_down: F32[32, 48]
// CPU-NEXT:   output 0 y: F32[tokens, 32]
// The row sums of squares (two of 512 x 4 B: plain and scaled) die before
// the up projection (512 x 48 x 4 B) is born, which reuses their bytes.
// CPU:        buffer 0: arena offset 0, 2048 B
// CPU-NEXT:   buffer 1: arena offset 2048, 2048 B
// CPU-NEXT:   buffer 2: arena offset 0, 98304 B
// CPU-NEXT:   buffer 3: arena offset 98304, 98304 B
// CPU:        step 0: launch mlp_kernel::mlp_kernel grid (tokens+255)/256 block 256 (tokens, buffer 1)
// CPU:        launch {{.*}} grid (tokens*48+255)/256 block 256
// CPU-NOT:    gemm

// CUDA:       entry mlp
// CUDA:       gemm m tokens n 48 k 32 F32->F32 (buffer 2, input 2 -> buffer 3)
// CUDA:       gemm m tokens n 48 k 32 F32->F32 (buffer 2, input 3 -> buffer 4)
// CUDA:       gemm m tokens n 32 k 48 F32->F32 (buffer 5, input 4 -> output 0)
func.func @mlp(%x: tensor<?x32xf32> {hymir.name = "x"}, %norm: tensor<32xf32> {hymir.name = "norm"},
               %wu: tensor<48x32xf32> {hymir.name = "w_up"},
               %wg: tensor<48x32xf32> {hymir.name = "w_gate"}, %wd: tensor<32x48xf32> {hymir.name = "w_down"})
    -> (tensor<?x32xf32> {hymir.name = "y"}) {
  %h = hymir.rms_norm %x, %norm {epsilon = 1.0e-05 : f32} : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %u = hymir.linear %h, %wu : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
  %g = hymir.linear %h, %wg : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
  %t = math.tanh %g : tensor<?x48xf32>
  %a = arith.mulf %t, %u : tensor<?x48xf32>
  %y = hymir.linear %a, %wd : (tensor<?x48xf32>, tensor<32x48xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
