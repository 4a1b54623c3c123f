// RUN: hymir-opt %s -hymir-test-hopper-probes -verify-diagnostics

// The probes' gpu.module is not added twice.
// expected-error @below {{already has a symbol @hopper_probes}}
module {
  gpu.module @hopper_probes {
  }
}
