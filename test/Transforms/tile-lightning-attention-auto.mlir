// The tiling's automatic choices: value-split 0 takes 64-wide value chunks
// where they divide the value dim (192: 3 chunks), and a static sequence
// shorter than a block takes the next power of two covering it (5 tokens:
// blocks of 8; the loop runs the same single iteration).
// RUN: hymir-opt %s -hymir-tile-lightning-attention="block-size=32 value-split=0" | FileCheck %s

// CHECK-LABEL: func.func @auto_split
// CHECK:         scf.forall ({{.*}}) in (1, 2, 3)
// CHECK:           %[[STEP:.*]] = arith.constant 32 : index
// CHECK:           scf.for {{.*}} step %[[STEP]] iter_args({{.*}}) -> (tensor<192x64xf32>, tensor<?x64xf32>)
// CHECK-LABEL: func.func @short
// CHECK:         scf.forall ({{.*}}) in (1, 2, 1)
// CHECK:           %[[STEP:.*]] = arith.constant 8 : index
// CHECK:           scf.for {{.*}} step %[[STEP]]
func.func @auto_split(%q: tensor<1x?x2x192xf32>, %v: tensor<1x?x2x192xf32>, %s: tensor<2xf32>) -> (tensor<1x?x2x192xf32>, tensor<1x2x192x192xf32>) {
  %o, %f = hymir.lightning_attention %q, %q, %v, %s
      : (tensor<1x?x2x192xf32>, tensor<1x?x2x192xf32>, tensor<1x?x2x192xf32>, tensor<2xf32>)
      -> (tensor<1x?x2x192xf32>, tensor<1x2x192x192xf32>)
  return %o, %f : tensor<1x?x2x192xf32>, tensor<1x2x192x192xf32>
}
func.func @short(%q: tensor<1x5x2x16xf32>, %s: tensor<2xf32>) -> (tensor<1x5x2x16xf32>, tensor<1x2x16x16xf32>) {
  %o, %f = hymir.lightning_attention %q, %q, %q, %s
      : (tensor<1x5x2x16xf32>, tensor<1x5x2x16xf32>, tensor<1x5x2x16xf32>, tensor<2xf32>)
      -> (tensor<1x5x2x16xf32>, tensor<1x2x16x16xf32>)
  return %o, %f : tensor<1x5x2x16xf32>, tensor<1x2x16x16xf32>
}
