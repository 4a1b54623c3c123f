// RUN: hymir-opt %hymir_src/examples/moe_block.mlir | hymir-opt | FileCheck %s
// CHECK-LABEL: func.func @moe_block
// CHECK:         hymir.moe %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {top_k = 2 : i64}
