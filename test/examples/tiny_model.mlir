// The tiny MiniMax-M1-shaped model parses, verifies and round-trips; layers
// 0-6 are lightning layers and layer 7 the softmax layer.
// RUN: hymir-opt %hymir_src/examples/tiny_model.mlir | hymir-opt | FileCheck %s
// RUN: hymir-opt %hymir_src/examples/tiny_model.mlir --mlir-print-op-generic | hymir-opt --verify-each | FileCheck %s
// The committed file is what the generator writes.
// RUN: %python %hymir_src/scripts/gen-tiny-model.py | diff - %hymir_src/examples/tiny_model.mlir

// CHECK-LABEL: func.func private @lightning_layer
// CHECK:         hymir.rms_norm
// CHECK:         hymir.linear
// CHECK:         hymir.lightning_attention
// CHECK:         hymir.moe {{.*}} {top_k = 2 : i64}
// CHECK-LABEL: func.func private @softmax_layer
// CHECK-COUNT-2: hymir.rope {{.*}} {rotary_dim = 8 : i64, theta = 1.000000e+07 : f64}
// CHECK:         hymir.softmax_attention {{.*}} {causal = true
// CHECK-LABEL: func.func @forward
// CHECK-SAME:    hymir.name = "input_ids"
// CHECK:         hymir.embedding
// CHECK-COUNT-7: call @lightning_layer
// CHECK:         call @softmax_layer
// CHECK:         hymir.linear {{.*}} {precision = "f32"}
