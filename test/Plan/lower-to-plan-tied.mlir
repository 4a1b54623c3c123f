// RUN: hymir-opt %s -split-input-file -hymir-lower-to-plan="max-tokens=64 target=cpu" --mlir-print-local-scope | FileCheck %s

// Tied results (hymir.tied): the output spec names its input (tiedTo), and
// the output has no storage of its own.

// Bufferization updated the argument in place (the function returns it):
// no copy, and the kernel writes the input's storage.
// CHECK-LABEL: hymir_plan.entry @in_place
// CHECK-SAME: inputs [#hymir_plan.tensor<name = "state", elementType = f32, shape = affine_map<()[s0] -> (s0, 16)>>, #hymir_plan.tensor<name = "x", elementType = f32, shape = affine_map<()[s0] -> (s0, 16)>>]
// CHECK-SAME: outputs [#hymir_plan.tensor<name = "y", elementType = f32, shape = affine_map<()[s0] -> (s0, 16)>>, #hymir_plan.tensor<name = "state_out", elementType = f32, shape = affine_map<()[s0] -> (s0, 16)>, tiedTo = 0>]
// CHECK: %[[S:.*]] = hymir_plan.input 0
// CHECK: %[[X:.*]] = hymir_plan.input 1
// CHECK: %[[Y:.*]] = hymir_plan.output 0
// CHECK-NOT: hymir_plan.output
// CHECK: %[[SV:.*]] = hymir_plan.view %[[S]]
// CHECK: hymir_plan.launch @m::@k {{.*}}(%[[SV]], %{{.*}}, %{{.*}} :
// CHECK-NEXT: }
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @k(%s: memref<?x16xf32>, %x: memref<?x16xf32>, %y: memref<?x16xf32>) kernel { gpu.return }
  }
  func.func @in_place(%s: memref<?x16xf32> {hymir.name = "state"},
                      %x: memref<?x16xf32> {hymir.name = "x"})
      -> (memref<?x16xf32> {hymir.name = "y"},
          memref<?x16xf32> {hymir.name = "state_out", hymir.tied = 0 : i64}) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %t = memref.dim %x, %c0 : memref<?x16xf32>
    %y = memref.alloc(%t) : memref<?x16xf32>
    gpu.launch_func @m::@k blocks in (%t, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%s : memref<?x16xf32>, %x : memref<?x16xf32>, %y : memref<?x16xf32>)
    return %y, %s : memref<?x16xf32>, memref<?x16xf32>
  }
}

// -----

// The tied result landed in a buffer of its own: it is copied into the
// input's storage last, after the untied output that reads the input's old
// bytes was copied out.
// CHECK-LABEL: hymir_plan.entry @copied
// CHECK-SAME: outputs [#hymir_plan.tensor<name = "new", elementType = f32, shape = affine_map<() -> (8)>, tiedTo = 0>, #hymir_plan.tensor<name = "old", elementType = f32, shape = affine_map<() -> (8)>>]
// CHECK: %[[S:.*]] = hymir_plan.input 0
// CHECK: %[[B:.*]] = hymir_plan.buffer 32
// CHECK: %[[SV:.*]] = hymir_plan.view %[[S]]
// CHECK: %[[BV:.*]] = hymir_plan.view %[[B]]
// CHECK: hymir_plan.launch @m::@k {{.*}}(%[[SV]], %[[BV]] :
// CHECK: %[[OLD:.*]] = hymir_plan.output 1
// CHECK: %[[OLDV:.*]] = hymir_plan.view %[[OLD]]
// CHECK: hymir_plan.copy %[[SV]] -> %[[OLDV]] bytes affine_map<() -> (32)>
// CHECK: %[[SW:.*]] = hymir_plan.view %[[S]]
// CHECK: hymir_plan.copy %[[BV]] -> %[[SW]] bytes affine_map<() -> (32)>
// CHECK-NEXT: }
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @k(%s: memref<8xf32>, %n: memref<8xf32>) kernel { gpu.return }
  }
  func.func @copied(%s: memref<8xf32> {hymir.name = "state"})
      -> (memref<8xf32> {hymir.name = "new", hymir.tied = 0 : i64},
          memref<8xf32> {hymir.name = "old"}) {
    %c1 = arith.constant 1 : index
    %n = memref.alloc() : memref<8xf32>
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%s : memref<8xf32>, %n : memref<8xf32>)
    return %n, %s : memref<8xf32>, memref<8xf32>
  }
}
