// Device values through the C API: a state tied to a result is allocated,
// uploaded, updated in place by three calls (checked against a C loop after
// each: f32 with one rounding per op in the same order, so no difference)
// and downloaded; two calls asking for CUDA graphs (hymir_call_options) give
// the same values and report why the cpu device runs no graph; passed as a host tensor, its new value is an output; the
// failing calls name the entry and the input.
// RUN: hymir-compile %s -o %t.hymir --target=cpu
// RUN: hymir-capi-values-probe %t.hymir | FileCheck %s

// CHECK:      output 0 y tied to -1
// CHECK-NEXT: output 1 state_out tied to 0
// CHECK-NEXT: value rank 2 [4, 16]
// CHECK-NEXT: call 0: 1 outputs, state max diff 0
// CHECK-NEXT: call 1: 1 outputs, state max diff 0
// CHECK-NEXT: call 2: 1 outputs, state max diff 0
// CHECK-NEXT: graph call 3: 1 outputs, state max diff 0
// CHECK-NEXT: graph call 4: 1 outputs, state max diff 0
// CHECK-NEXT: graphs 0 replays 0 plain 2: CUDA graphs are a cuda feature; the cpu device launches the steps one by one
// CHECK-NEXT: error: hymir_module_cuda_graph_use: the module has no entry 'nope'
// CHECK-NEXT: host call output state_out
// CHECK-NEXT: host call output y
// CHECK-NEXT: error: {{.*}}: entry 'step': the same device value is passed for inputs 'state' and 'x'; a value is passed once per call
// CHECK-NEXT: error: {{.*}}: entry 'step': input 'state' is given both as a host tensor and as a device value
// CHECK-NEXT: error: hymir_value_download: the value holds 256 bytes, got 4
// CHECK-NEXT: error: hymir_value_upload: tensor of 64 F32 elements needs 256 bytes, got 4
// CHECK-NEXT: error: {{.*}}: entry 'step' has no input 'cache'
// CHECK-NEXT: error: hymir_module_output_tied_to: no output 9; there are 2

func.func @step(%state: tensor<4x16xf32> {hymir.name = "state"},
                %x: tensor<4x16xf32> {hymir.name = "x"})
    -> (tensor<4x16xf32> {hymir.name = "y"},
        tensor<4x16xf32> {hymir.name = "state_out", hymir.tied = 0 : i64}) {
  %half = arith.constant dense<0.5> : tensor<4x16xf32>
  %decayed = arith.mulf %state, %half : tensor<4x16xf32>
  %new = arith.addf %decayed, %x : tensor<4x16xf32>
  %y = arith.mulf %new, %x : tensor<4x16xf32>
  return %y, %new : tensor<4x16xf32>, tensor<4x16xf32>
}
