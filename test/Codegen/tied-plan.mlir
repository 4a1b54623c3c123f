// Tied results through hymir-compile: computed in place where bufferization
// allows it (no copy step), else computed aside and copied into the input
// last, after the outputs that read the input's old bytes.
// RUN: hymir-compile %s -o %t.hymir --target=cpu --print-plan | FileCheck %s

// CHECK-LABEL: entry decay
// CHECK:        output 0 state_out: F32[tokens, 16] tied to input 0
// CHECK-NOT:    buffer
// One thread per vector of 4 f32 (hymir-vectorize-elementwise).
// CHECK:        step 0: launch {{.*}} (tokens*4, input 0, input 1)
// CHECK-NOT:    copy
// CHECK-LABEL: entry reread
// CHECK:        output 0 state_out: F32[4, 16] tied to input 0
// CHECK-NEXT:   output 1 old: F32[4, 16]
// CHECK:        step 0: launch {{.*}} (input 0, input 1, buffer 0)
// CHECK-NEXT:   step 1: copy 256 B (input 0 -> output 1)
// CHECK-NEXT:   step 2: copy 256 B (buffer 0 -> input 0)
// CHECK-NOT:    step

func.func @decay(%state: tensor<?x16xf32> {hymir.name = "state"},
                 %x: tensor<?x16xf32> {hymir.name = "x"})
    -> (tensor<?x16xf32> {hymir.name = "state_out", hymir.tied = 0 : i64}) {
  %s = arith.addf %state, %x : tensor<?x16xf32>
  return %s : tensor<?x16xf32>
}

func.func @reread(%state: tensor<4x16xf32> {hymir.name = "state"},
                  %x: tensor<4x16xf32> {hymir.name = "x"})
    -> (tensor<4x16xf32> {hymir.name = "state_out", hymir.tied = 0 : i64},
        tensor<4x16xf32> {hymir.name = "old"}) {
  %s = arith.addf %state, %x : tensor<4x16xf32>
  return %s, %state : tensor<4x16xf32>, tensor<4x16xf32>
}
