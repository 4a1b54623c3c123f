// RUN: hymir-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// hymir.check_slot: the two status words of a run-time check.

// CHECK: hymir.check_slot "hymir.embedding" tensor "ids" value "id" : memref<2xi64>
// CHECK: hymir.check_slot "hymir.embedding" tensor "" value "id" : memref<2xi64>
func.func @slots() {
  %a = hymir.check_slot "hymir.embedding" tensor "ids" value "id" : memref<2xi64>
  %b = hymir.check_slot "hymir.embedding" tensor "" value "id" : memref<2xi64>
  return
}

// -----

func.func @three_words() {
  // expected-error @+1 {{'hymir.check_slot' op expects its slot to be memref<2xi64>, got 'memref<3xi64>'}}
  %a = hymir.check_slot "hymir.embedding" tensor "ids" value "id" : memref<3xi64>
  return
}

// -----

func.func @no_value() {
  // expected-error @+1 {{'hymir.check_slot' op expects a checked op and a value name}}
  %a = hymir.check_slot "hymir.embedding" tensor "ids" value "" : memref<2xi64>
  return
}
