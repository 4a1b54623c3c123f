// RUN: hymir-opt %s -split-input-file -hymir-linalg-to-parallel-loops | FileCheck %s

// A copy out of a strided view (a slice of a fused projection) becomes
// loops, so it runs as a kernel; a copy between contiguous buffers stays a
// memref.copy (a plan copy step); library calls stay as they are.

// CHECK-LABEL: func.func @copies
// CHECK: scf.parallel
// CHECK:   memref.load {{.*}} : memref<?x4xf32, strided<[8, 1]>>
// CHECK:   memref.store
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<?x4xf32> to memref<?x4xf32>
// CHECK: linalg.generic {{.*}}hymir.library_call = "gemm"
func.func @copies(%x: memref<?x8xf32>, %y: memref<?x4xf32>, %z: memref<?x4xf32>,
                  %w: memref<4x4xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %x, %c0 : memref<?x8xf32>
  %s = memref.subview %x[0, 0] [%t, 4] [1, 1] : memref<?x8xf32> to memref<?x4xf32, strided<[8, 1]>>
  memref.copy %s, %y : memref<?x4xf32, strided<[8, 1]>> to memref<?x4xf32>
  memref.copy %y, %z : memref<?x4xf32> to memref<?x4xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%y, %w : memref<?x4xf32>, memref<4x4xf32>) outs(%z : memref<?x4xf32>)
      attrs = {hymir.library_call = "gemm"} {
  ^bb0(%a: f32, %b: f32, %o: f32):
    linalg.yield %o : f32
  }
  return
}
