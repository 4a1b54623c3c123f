// RUN: hymir-opt %hymir_src/examples/lightning_attention.mlir | hymir-opt | FileCheck %s
// CHECK-LABEL: func.func @lightning_prefill
// CHECK:         hymir.lightning_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} initial_state(%{{.*}}) {block_size = 64 : i64}
