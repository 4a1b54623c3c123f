// RUN: hymir-opt %hymir_src/examples/softmax_layer.mlir | hymir-opt | FileCheck %s
// CHECK-LABEL: func.func @softmax_mixer
// CHECK-COUNT-2: hymir.rope
// CHECK:         hymir.softmax_attention {{.*}} : (tensor<1x?x4x16xbf16>, tensor<1x?x2x16xbf16>, tensor<1x?x2x16xbf16>) -> tensor<1x?x4x16xbf16>
