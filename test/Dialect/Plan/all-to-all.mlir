// RUN: hymir-opt %s -split-input-file -verify-diagnostics --mlir-print-local-scope | FileCheck %s

// hymir_plan.all_to_all and hymir_plan.device_index printed and parsed
// back, then their verifiers' cases.

// CHECK-LABEL: hymir_plan.entry @exchange
// CHECK: hymir_plan.all_to_all %{{.*}}, %{{.*}} -> %{{.*}}, %{{.*}} elements affine_map<()[s0] -> (s0 * 64)> row 32 : <f32, 2>, <i32, 1> -> <f32, 2>, <i32, 1>
hymir_plan.entry @exchange inputs [#hymir_plan.tensor<name = "x", elementType = f32, shape = affine_map<()[s0] -> (s0, 32)>>]
    outputs [] symbols [#hymir_plan.symbol<name = "tokens", input = 0, dim = 0, max = 8>] arena 4096 {
  %b = hymir_plan.buffer 4096 at 0
  %x = hymir_plan.view %b offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (s0 * 2, 32)> strides affine_map<()[s0] -> (32, 1)> : !hymir_plan.view<f32, 2>
  %o = hymir_plan.view %b offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (3)> strides affine_map<()[s0] -> (1)> : !hymir_plan.view<i32, 1>
  hymir_plan.all_to_all %x, %o -> %x, %o elements affine_map<()[s0] -> (s0 * 64)> row 32 : !hymir_plan.view<f32, 2>, !hymir_plan.view<i32, 1> -> !hymir_plan.view<f32, 2>, !hymir_plan.view<i32, 1>
  // CHECK: hymir_plan.device_index %{{.*}} : <i32, 1>
  hymir_plan.device_index %o : !hymir_plan.view<i32, 1>
  hymir_plan.return
}

// -----

hymir_plan.entry @row inputs [#hymir_plan.tensor<name = "x", elementType = f32, shape = affine_map<()[s0] -> (s0, 32)>>]
    outputs [] symbols [#hymir_plan.symbol<name = "tokens", input = 0, dim = 0, max = 8>] arena 4096 {
  %b = hymir_plan.buffer 4096 at 0
  %x = hymir_plan.view %b offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (8, 32)> strides affine_map<()[s0] -> (32, 1)> : !hymir_plan.view<f32, 2>
  %o = hymir_plan.view %b offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (3)> strides affine_map<()[s0] -> (1)> : !hymir_plan.view<i32, 1>
  // expected-error @+1 {{'hymir_plan.all_to_all' op row must be positive, got 0}}
  hymir_plan.all_to_all %x, %o -> %x, %o elements affine_map<()[s0] -> (256)> row 0 : !hymir_plan.view<f32, 2>, !hymir_plan.view<i32, 1> -> !hymir_plan.view<f32, 2>, !hymir_plan.view<i32, 1>
  hymir_plan.return
}

// -----

hymir_plan.entry @offsets inputs [#hymir_plan.tensor<name = "x", elementType = f32, shape = affine_map<()[s0] -> (s0, 32)>>]
    outputs [] symbols [#hymir_plan.symbol<name = "tokens", input = 0, dim = 0, max = 8>] arena 4096 {
  %b = hymir_plan.buffer 4096 at 0
  %x = hymir_plan.view %b offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (8, 32)> strides affine_map<()[s0] -> (32, 1)> : !hymir_plan.view<f32, 2>
  %o = hymir_plan.view %b offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (3)> strides affine_map<()[s0] -> (1)> : !hymir_plan.view<f32, 1>
  // expected-error @+1 {{'hymir_plan.all_to_all' op offsets must be i32 views}}
  hymir_plan.all_to_all %x, %o -> %x, %o elements affine_map<()[s0] -> (256)> row 32 : !hymir_plan.view<f32, 2>, !hymir_plan.view<f32, 1> -> !hymir_plan.view<f32, 2>, !hymir_plan.view<f32, 1>
  hymir_plan.return
}

// -----

hymir_plan.entry @index inputs [#hymir_plan.tensor<name = "x", elementType = f32, shape = affine_map<()[s0] -> (s0, 32)>>]
    outputs [] symbols [#hymir_plan.symbol<name = "tokens", input = 0, dim = 0, max = 8>] arena 4096 {
  %b = hymir_plan.buffer 4096 at 0
  %o = hymir_plan.view %b offset affine_map<()[s0] -> (0)> sizes affine_map<()[s0] -> (1)> strides affine_map<()[s0] -> (1)> : !hymir_plan.view<f32, 1>
  // expected-error @+1 {{'hymir_plan.device_index' op target must be an i32 view}}
  hymir_plan.device_index %o : !hymir_plan.view<f32, 1>
  hymir_plan.return
}
