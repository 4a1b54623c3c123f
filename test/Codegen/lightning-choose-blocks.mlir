// hymir-choose-lightning-blocks marks the ops the Hopper kernel will take
// (bf16, key dim 64 or 128, 64-wide value chunks after the value split, a
// chip with wgmma) with 64-token blocks; the others keep the pipeline's block
// size. The tiling then takes each op's own mark.
// RUN: hymir-opt %s -hymir-choose-lightning-blocks | FileCheck %s
// RUN: hymir-opt %s -hymir-choose-lightning-blocks=chip=sm_80 | FileCheck %s --check-prefix=NONE
// RUN: hymir-opt %s -hymir-choose-lightning-blocks=hopper=false | FileCheck %s --check-prefix=NONE
// RUN: hymir-opt %s -hymir-choose-lightning-blocks=value-split=1 | FileCheck %s --check-prefix=SPLIT1
// RUN: hymir-opt %s -hymir-choose-lightning-blocks -hymir-tile-lightning-attention=block-size=32 | FileCheck %s --check-prefix=TILED
// RUN: not hymir-opt %s -hymir-choose-lightning-blocks=chip=sm_99 2>&1 | FileCheck %s --check-prefix=BAD-CHIP

!bf = tensor<1x?x2x128xbf16>
!bf64 = tensor<1x?x2x64xbf16>
!f = tensor<1x?x2x128xf32>
!odd = tensor<1x?x2x96xbf16>
!short = tensor<1x40x2x128xbf16>

// CHECK-LABEL: func.func @m1_heads
// CHECK:         hymir.lightning_attention {{.*}} {hymir.tile_block_size = 64 : i64}
// NONE-LABEL:  func.func @m1_heads
// NONE-NOT:      hymir.tile_block_size
// One value chunk of 128: the Hopper kernel takes chunks of 64 only.
// SPLIT1-LABEL: func.func @m1_heads
// SPLIT1-NOT:     hymir.tile_block_size
// TILED-LABEL: func.func @m1_heads
// TILED:         %[[STEP:.*]] = arith.constant 64 : index
// TILED:         scf.for {{.*}} step %[[STEP]]
func.func @m1_heads(%q: !bf, %s: tensor<2xf32>) -> !bf {
  %o, %f = hymir.lightning_attention %q, %q, %q, %s {block_size = 256 : i64}
      : (!bf, !bf, !bf, tensor<2xf32>) -> (!bf, tensor<1x2x128x128xf32>)
  return %o : !bf
}

// CHECK-LABEL: func.func @d64
// CHECK:         hymir.tile_block_size = 64
// SPLIT1-LABEL: func.func @d64
// SPLIT1:         hymir.tile_block_size = 64
func.func @d64(%q: !bf64, %s: tensor<2xf32>) -> !bf64 {
  %o, %f = hymir.lightning_attention %q, %q, %q, %s
      : (!bf64, !bf64, !bf64, tensor<2xf32>) -> (!bf64, tensor<1x2x64x64xf32>)
  return %o : !bf64
}

// f32 stays on the exact-f32 kernel at the pipeline's block size.
// CHECK-LABEL: func.func @f32
// CHECK-NOT:     hymir.tile_block_size
// TILED-LABEL: func.func @f32
// TILED:         %[[STEP:.*]] = arith.constant 32 : index
// TILED:         scf.for {{.*}} step %[[STEP]]
func.func @f32(%q: !f, %s: tensor<2xf32>) -> !f {
  %o, %f = hymir.lightning_attention %q, %q, %q, %s
      : (!f, !f, !f, tensor<2xf32>) -> (!f, tensor<1x2x128x128xf32>)
  return %o : !f
}

// CHECK-LABEL: func.func @key_dim_96
// CHECK-NOT:     hymir.tile_block_size
func.func @key_dim_96(%q: !odd, %s: tensor<2xf32>) -> !odd {
  %o, %f = hymir.lightning_attention %q, %q, %q, %s
      : (!odd, !odd, !odd, tensor<2xf32>) -> (!odd, tensor<1x2x96x96xf32>)
  return %o : !odd
}

// A static sequence shorter than a block is one smaller block.
// CHECK-LABEL: func.func @short
// CHECK-NOT:     hymir.tile_block_size
func.func @short(%q: !short, %s: tensor<2xf32>) -> !short {
  %o, %f = hymir.lightning_attention %q, %q, %q, %s
      : (!short, !short, !short, tensor<2xf32>) -> (!short, tensor<1x2x128x128xf32>)
  return %o : !short
}

// BAD-CHIP: hymir-choose-lightning-blocks: unknown chip 'sm_99'
