// RUN: hymir-opt %s -hymir-tie-arguments | FileCheck %s
// RUN: hymir-opt %s -hymir-kernel-form | FileCheck %s --check-prefix=BUFFERS

// hymir-tie-arguments: a tied argument is writable for one-shot
// bufferization, every other argument of an entry (parameters included) is
// read only; private functions are left alone.
// CHECK-LABEL: func.func @step
// CHECK-SAME: {bufferization.writable = true, hymir.name = "state"}
// CHECK-SAME: {bufferization.writable = false, hymir.name = "x"}
// CHECK-SAME: {bufferization.writable = false, hymir.name = "w", hymir.param}
// CHECK-LABEL: func.func private @helper
// CHECK-NOT: bufferization.writable

// Bufferized, the state is computed in place: the function returns its
// argument and allocates only y; x is only read.
// BUFFERS-LABEL: func.func @step
// BUFFERS-SAME: (%[[S:[^:]*]]: memref<4x16xf32>
// BUFFERS-COUNT-1: memref.alloc
// BUFFERS-NOT: memref.alloc
// BUFFERS-NOT: memref.copy
// BUFFERS: return %{{.*}}, %[[S]] :
func.func @step(%state: tensor<4x16xf32> {hymir.name = "state"},
                %x: tensor<4x16xf32> {hymir.name = "x"},
                %w: tensor<4x16xf32> {hymir.name = "w", hymir.param})
    -> (tensor<4x16xf32> {hymir.name = "y"},
        tensor<4x16xf32> {hymir.name = "state_out", hymir.tied = 0 : i64}) {
  %a = arith.mulf %state, %w : tensor<4x16xf32>
  %new = arith.addf %a, %x : tensor<4x16xf32>
  %y = arith.mulf %new, %x : tensor<4x16xf32>
  return %y, %new : tensor<4x16xf32>, tensor<4x16xf32>
}

func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
