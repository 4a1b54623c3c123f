// RUN: hymir-opt %hymir_src/examples/cispo_loss.mlir | hymir-opt | FileCheck %s
// CHECK-LABEL: func.func @cispo
// CHECK:         hymir.cispo_loss {{.*}} {eps_high = 2.000000e-01 : f32, eps_low = 1.000000e+00 : f32, unified_mask = true}
// CHECK-SAME:    -> (tensor<f32>, tensor<?xf32>, tensor<?x64xf32>, tensor<512x64xf32>)
