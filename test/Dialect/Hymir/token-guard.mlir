// RUN: hymir-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// hymir.token_guard: the body runs only for a range of token counts.

// CHECK-LABEL: func.func @guards
// CHECK: hymir.token_guard tokens in [0, 16] {
// CHECK: hymir.token_guard tokens in [17, -1] {
func.func @guards(%m: memref<?xf32>) {
  hymir.token_guard tokens in [0, 16] {
    memref.dealloc %m : memref<?xf32>
  }
  hymir.token_guard tokens in [17, -1] {
  }
  return
}

// -----

func.func @empty_range() {
  // expected-error @+1 {{'hymir.token_guard' op expects a token range [at_least, at_most] with 0 <= at_least <= at_most (at_most -1: no bound), got [17, 16]}}
  hymir.token_guard tokens in [17, 16] {
  }
  return
}

// -----

func.func @negative() {
  // expected-error @+1 {{'hymir.token_guard' op expects a token range [at_least, at_most] with 0 <= at_least <= at_most (at_most -1: no bound), got [-1, 4]}}
  hymir.token_guard tokens in [-1, 4] {
  }
  return
}
