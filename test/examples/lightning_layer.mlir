// RUN: hymir-opt %hymir_src/examples/lightning_layer.mlir | hymir-opt | FileCheck %s
// CHECK-LABEL: func.func @lightning_mixer
// CHECK:         math.exp
// CHECK:         tensor.expand_shape
// CHECK:         hymir.lightning_attention {{.*}} {block_size = 64 : i64}
// CHECK:         hymir.rms_norm {{.*}} {epsilon = 9.99999997E-7 : f32}
// CHECK:         return
