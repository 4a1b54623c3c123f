// The cpu target: every kernel becomes a host function looping over its
// block's threads, with a packed (block, words) entry point.
// RUN: hymir-opt %s -hymir-kernel-form -hymir-extract-host-kernels | FileCheck %s --check-prefix=HOST
// RUN: hymir-opt %s -hymir-kernel-form -hymir-cpu-kernels | FileCheck %s --check-prefix=LLVM

// HOST-NOT:    gpu.module
// HOST-LABEL:  func.func @scale_kernel__scale_kernel
// HOST-SAME:     (%[[BX:.*]]: index, %{{.*}}: index, %{{.*}}: memref<?x16xbf16>, %{{.*}}: memref<?x16xbf16>) attributes {hymir.kernel}
// HOST:          scf.for %[[TX:.*]] = %c0 to %c256 step %c1 {
// HOST:            arith.muli %[[BX]], %c256
// HOST-NOT:      gpu.
// HOST-NOT:    func.func @scale(

// LLVM:        llvm.func @scale_kernel__scale_kernel(%{{.*}}: i64, %{{.*}}: i64, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64
// bf16 arithmetic is carried out in f32, 8 elements (16 bytes of bf16) at a
// time (hymir-vectorize-elementwise).
// LLVM:          llvm.fmul %{{.*}} : vector<8xf32>
// LLVM:        llvm.func @scale_kernel__scale_kernel.packed(%[[B:.*]]: i64, %[[WORDS:.*]]: !llvm.ptr)
// LLVM:          llvm.getelementptr %[[WORDS]][0] : (!llvm.ptr) -> !llvm.ptr, i64
// LLVM:          llvm.load {{.*}} : !llvm.ptr -> i64
// LLVM:          llvm.call @scale_kernel__scale_kernel(%[[B]],
func.func @scale(%x: tensor<?x16xbf16>) -> tensor<?x16xbf16> {
  %y = arith.mulf %x, %x : tensor<?x16xbf16>
  return %y : tensor<?x16xbf16>
}
