// The kernel form: each linalg op becomes one grid launch over outlined
// kernels; buffers are memref.alloc in the host function.
// RUN: hymir-opt %s -hymir-kernel-form | FileCheck %s

// CHECK-LABEL: func.func @chain
// CHECK-SAME:    (%[[X:.*]]: memref<?x64xf32>, %[[W:.*]]: memref<64xf32>) -> memref<?x64xf32>
// CHECK:         %[[T:.*]] = memref.dim %[[X]], %c0
// Two row sums (plain and scaled by 2^-100, see hymir-lower-to-linalg),
// each filled by a kernel, then summed by one.
// CHECK:         memref.alloc(%[[T]]) {{.*}} : memref<?xf32>
// CHECK:         memref.alloc(%[[T]]) {{.*}} : memref<?xf32>
// CHECK:         gpu.launch_func @chain_kernel::@chain_kernel blocks in (%{{.*}}, %c1, %c1) threads in (%c256, %c1, %c1)
// CHECK:         gpu.launch_func @chain_kernel_0::@chain_kernel blocks in
// CHECK:         gpu.launch_func @chain_kernel_1::@chain_kernel blocks in
// CHECK:         %[[OUT:.*]] = memref.alloc(%[[T]]) {{.*}} : memref<?x64xf32>
// The norm and the elementwise exp fuse into one kernel.
// CHECK:         gpu.launch_func @chain_kernel_2::@chain_kernel {{.*}} args({{.*}}%[[OUT]] : memref<?x64xf32>)
// CHECK-NOT:     gpu.launch_func
// CHECK:         return %[[OUT]]
// CHECK:       gpu.module @chain_kernel_2
// CHECK:         gpu.func @chain_kernel({{.*}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK:           gpu.block_id x
// CHECK:           gpu.thread_id x
// CHECK:           math.rsqrt
// CHECK:           math.exp
func.func @chain(%x: tensor<?x64xf32>, %w: tensor<64xf32>) -> tensor<?x64xf32> {
  %n = hymir.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %e = math.exp %n : tensor<?x64xf32>
  return %e : tensor<?x64xf32>
}
