// RUN: hymir-opt %s --inline | FileCheck %s

// hymir ops inline into their callers: a model written one function per
// layer becomes one function, and the callee, private and now unused, goes.

// CHECK-NOT: func.func private @layer
// CHECK-LABEL: func.func @model
// CHECK-NOT: func.call
// CHECK: hymir.rms_norm
// CHECK: hymir.linear
// CHECK: hymir.rms_norm
// CHECK: hymir.linear
// CHECK: return
func.func private @layer(%x: tensor<?x64xbf16>, %norm: tensor<64xbf16>, %w: tensor<64x64xbf16>) -> tensor<?x64xbf16> {
  %h = hymir.rms_norm %x, %norm {epsilon = 1.0e-05 : f32} : (tensor<?x64xbf16>, tensor<64xbf16>) -> tensor<?x64xbf16>
  %y = hymir.linear %h, %w : (tensor<?x64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

func.func @model(%x: tensor<?x64xbf16>, %n0: tensor<64xbf16>, %w0: tensor<64x64xbf16>,
                 %n1: tensor<64xbf16>, %w1: tensor<64x64xbf16>) -> tensor<?x64xbf16> {
  %a = func.call @layer(%x, %n0, %w0) : (tensor<?x64xbf16>, tensor<64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  %b = func.call @layer(%a, %n1, %w1) : (tensor<?x64xbf16>, tensor<64xbf16>, tensor<64x64xbf16>) -> tensor<?x64xbf16>
  return %b : tensor<?x64xbf16>
}
