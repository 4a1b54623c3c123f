// RUN: hymir-opt %s -split-input-file -verify-diagnostics --mlir-print-local-scope | FileCheck %s

// hymir_plan.reduce_scatter printed and parsed back, then its verifier's
// cases: `elements` counts the target's (one device's block).

// CHECK-LABEL: hymir_plan.entry @scatter
// CHECK: hymir_plan.reduce_scatter %{{.*}} -> %{{.*}} elements affine_map<()[s0] -> (s0 * 16)> : <f32, 3> -> <f32, 2>
hymir_plan.entry @scatter inputs [#hymir_plan.tensor<name = "x", elementType = f32, shape = affine_map<()[s0] -> (s0, 64)>>]
    outputs [] symbols [#hymir_plan.symbol<name = "tokens", input = 0, dim = 0, max = 8>] arena 4096 {
  %b = hymir_plan.buffer 4096 at 0
  %x = hymir_plan.view %b offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (4, s0, 16)> strides affine_map<()[s0] -> (s0 * 16, 16, 1)> : !hymir_plan.view<f32, 3>
  %y = hymir_plan.view %b offset affine_map<()[s0] -> (2048)> sizes affine_map<()[s0] -> (s0, 16)> strides affine_map<()[s0] -> (16, 1)> : !hymir_plan.view<f32, 2>
  hymir_plan.reduce_scatter %x -> %y elements affine_map<()[s0] -> (s0 * 16)> : !hymir_plan.view<f32, 3> -> !hymir_plan.view<f32, 2>
  hymir_plan.return
}

// -----

hymir_plan.entry @dtype inputs [] outputs [] symbols [] arena 4096 {
  %b = hymir_plan.buffer 4096 at 0
  %x = hymir_plan.view %b offset affine_map<() -> (0)> sizes affine_map<() -> (4, 16)> strides affine_map<() -> (16, 1)> : !hymir_plan.view<f32, 2>
  %y = hymir_plan.view %b offset affine_map<() -> (2048)> sizes affine_map<() -> (16)> strides affine_map<() -> (1)> : !hymir_plan.view<bf16, 1>
  // expected-error @+1 {{'hymir_plan.reduce_scatter' op source and target must have one element type}}
  hymir_plan.reduce_scatter %x -> %y elements affine_map<() -> (16)> : !hymir_plan.view<f32, 2> -> !hymir_plan.view<bf16, 1>
  hymir_plan.return
}
