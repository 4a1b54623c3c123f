// The elementwise part of a SwiGLU MLP with its GEMMs left to the BLAS (as
// on cuda): SiLU(gate) * up, splat operand included, is one kernel in which
// a thread loads 8 contiguous bf16 (16 bytes) of each operand and stores 8
// results. Before hymir-fuse-elementwise and hymir-vectorize-elementwise it
// was two kernels (a fill of the splat, then the chain), one thread per
// element.
// RUN: hymir-opt %s -hymir-kernel-form=library-gemm=true | FileCheck %s
// RUN: hymir-opt %s -hymir-kernel-form="library-gemm=true fuse-elementwise=false" | FileCheck %s --check-prefix=BEFORE
// RUN: hymir-opt %s -hymir-kernel-form=library-gemm=true -hymir-cuda-kernels | FileCheck %s --check-prefix=PTX
// RUN: hymir-opt %s -hymir-kernel-form=library-gemm=true -hymir-cpu-kernels | FileCheck %s --check-prefix=CPU

// CHECK-LABEL: func.func @mlp
// CHECK:         hymir.library_call = "gemm"
// CHECK:         hymir.library_call = "gemm"
// CHECK:         %[[ROWS:.*]] = arith.muli %{{.*}}, %c32 : index
// CHECK:         %[[GRID:.*]] = arith.ceildivui %[[ROWS]], %c256 : index
// CHECK:         gpu.launch_func @mlp_kernel::@mlp_kernel blocks in (%[[GRID]], %c1, %c1) threads in (%c256, %c1, %c1)
// CHECK-NOT:     gpu.launch_func
// CHECK:         hymir.library_call = "gemm"
// CHECK:       gpu.module @mlp_kernel
// CHECK:         gpu.func @mlp_kernel
// CHECK-COUNT-2:   vector.load %{{.*}} {alignment = 16 : i64} : memref<?x256xbf16>, vector<8xbf16>
// CHECK:           math.exp %{{.*}} : vector<8xbf16>
// CHECK:           arith.mulf %{{.*}} : vector<8xbf16>
// CHECK:           vector.store %{{.*}} {alignment = 16 : i64} : memref<?x256xbf16>, vector<8xbf16>
// CHECK-NOT:     gpu.module

// BEFORE-LABEL: func.func @mlp
// BEFORE-COUNT-2: gpu.launch_func
// BEFORE-NOT:     gpu.launch_func
// BEFORE-NOT:     vector.load

// 16-byte loads and stores of the bf16 rows in the PTX.
// PTX:         gpu.binary @mlp_kernel
// PTX-SAME:      ld.global.v4.b32
// PTX-SAME:      st.global.v4.b32

// The same kernel on the host: vectors of 8 lanes, bf16 widened to f32.
// CPU:         llvm.func @mlp_kernel__mlp_kernel(
// CPU:           llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr -> vector<8xbf16>
// CPU:           llvm.fmul %{{.*}} : vector<8xf32>
// CPU:           llvm.store %{{.*}} {alignment = 16 : i64} : vector<8xbf16>, !llvm.ptr
func.func @mlp(%x: tensor<?x128xbf16>, %wg: tensor<256x128xbf16>,
               %wu: tensor<256x128xbf16>, %wd: tensor<128x256xbf16>)
    -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x128xbf16>
  %one = arith.constant 1.0 : bf16
  %g = hymir.linear %x, %wg : (tensor<?x128xbf16>, tensor<256x128xbf16>) -> tensor<?x256xbf16>
  %u = hymir.linear %x, %wu : (tensor<?x128xbf16>, tensor<256x128xbf16>) -> tensor<?x256xbf16>
  %neg = arith.negf %g : tensor<?x256xbf16>
  %e = math.exp %neg : tensor<?x256xbf16>
  %ones = tensor.splat %one[%t] : tensor<?x256xbf16>
  %den = arith.addf %ones, %e : tensor<?x256xbf16>
  %silu = arith.divf %g, %den : tensor<?x256xbf16>
  %gated = arith.mulf %silu, %u : tensor<?x256xbf16>
  %y = hymir.linear %gated, %wd : (tensor<?x256xbf16>, tensor<128x256xbf16>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}
