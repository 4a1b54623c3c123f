// A block size set on the op (hymir.tile_block_size, by a target) wins over
// the pass's block-size and the op's own block_size; the dialect keeps it positive.
// RUN: hymir-opt %s -split-input-file -hymir-tile-lightning-attention=block-size=32 -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @chosen
// CHECK:         %[[STEP:.*]] = arith.constant 16 : index
// CHECK:         scf.for {{.*}} step %[[STEP]]
func.func @chosen(%q: tensor<1x?x2x16xf32>, %s: tensor<2xf32>) -> tensor<1x?x2x16xf32> {
  %o, %f = hymir.lightning_attention %q, %q, %q, %s {block_size = 256 : i64, hymir.tile_block_size = 16 : i64}
      : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<2xf32>)
      -> (tensor<1x?x2x16xf32>, tensor<1x2x16x16xf32>)
  return %o : tensor<1x?x2x16xf32>
}

// -----

func.func @bad(%q: tensor<1x8x2x16xf32>, %s: tensor<2xf32>) -> tensor<1x8x2x16xf32> {
  // expected-error @+1 {{expects 'hymir.tile_block_size' to be a positive i64, got 0 : i64}}
  %o, %f = hymir.lightning_attention %q, %q, %q, %s {hymir.tile_block_size = 0 : i64}
      : (tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<2xf32>)
      -> (tensor<1x8x2x16xf32>, tensor<1x2x16x16xf32>)
  return %o : tensor<1x8x2x16xf32>
}
