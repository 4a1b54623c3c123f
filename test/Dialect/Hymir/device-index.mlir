// RUN: hymir-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// hymir.device_index: the round trip and its verifier.

// CHECK-LABEL: func.func @index
// CHECK: %{{.*}} = hymir.device_index : tensor<1xi32>
func.func @index() -> tensor<1xi32> {
  %r = hymir.device_index : tensor<1xi32>
  return %r : tensor<1xi32>
}

// -----

func.func @index_type() {
  // expected-error @+1 {{'hymir.device_index' op expects the result to be tensor<1xi32>, got 'tensor<2xi32>'}}
  %r = hymir.device_index : tensor<2xi32>
  return
}
