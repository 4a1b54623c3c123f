// hymir-reference evaluates the whole tiny model on the fp64 oracle: every
// op of the graph is supported and the logits come out finite.
// RUN: hymir-reference %hymir_src/examples/tiny_model.mlir --function forward --tokens 5 | FileCheck %s
// CHECK: evaluating @forward
// CHECK: in  input_ids: i[5]
// CHECK: in  positions: i[1, 5]  first: 0 1 2 3
// CHECK-NOT: NON-FINITE
// CHECK: out logits: f[5, 128]
// CHECK: evaluated forward
