// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true wgmma-group=0" | FileCheck %s
// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true wgmma-group=0 wgmma-persistent=132" | FileCheck %s --check-prefix=PERSIST
// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true" | FileCheck %s --check-prefix=GROUPED
// hymir-compile takes 0 (the experts' order) and states the range.
// RUN: hymir-compile %s -o %t.hymir --target=cuda --chip=sm_90a --ptxas=none --moe-wgmma-group=0
// RUN: not hymir-compile %s -o %t.hymir --target=cuda --moe-wgmma-group=257 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: hymir-compile: error: --moe-wgmma-group must be in [0, 256], got 257

// wgmma-group=0: the wgmma kernels' blocks in the experts' order. The grid
// is (column blocks, row tiles of the layout): 2 x ceil(rows / 128) for
// gate/up (256 of W1 and W3 in 128-column chunks) and for down (512
// columns in 256-column blocks). Block i (y * 2 + x) walks the offsets,
// counting 2 units per 128-row tile of each expert's group, to find the
// expert whose units hold i, the units before it, its group's first row
// and end and its tile count; blocks past the units in use do nothing;
// the others take row tile l % tiles and column block l / tiles (l = i -
// the units before), so an expert's row tiles run side by side over each
// column block and one expert follows another.
// CHECK-LABEL: func.func @order
// CHECK: hymir.token_guard tokens in [17, -1] {
// CHECK: %[[TILES:.*]] = arith.ceildivui %{{.*}}, %c128
// CHECK: gpu.launch blocks(%[[BX:.*]], %[[BY:.*]], %{{.*}}) in (%{{.*}} = %c2, %{{.*}} = %[[TILES]], {{.*}} dynamic_shared_memory_size %c196608_i32
// CHECK: %[[Y2:.*]] = arith.muli %[[BY]], %c2
// CHECK: %[[UNIT:.*]] = arith.addi %[[Y2]], %[[BX]]
// CHECK: %[[WALK:.*]]:6 = scf.for {{.*}} iter_args(
// CHECK: arith.ceildivui
// CHECK: arith.muli %{{.*}}, %c2
// CHECK-COUNT-5: arith.select
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[UNIT]], %[[WALK]]#0
// CHECK: scf.if %[[IN]] {
// CHECK: %[[L:.*]] = arith.subi %[[UNIT]], %[[WALK]]#2
// CHECK: arith.remui %[[L]], %[[WALK]]#5
// CHECK: arith.divui %[[L]], %[[WALK]]#5
// CHECK: nvvm.cp.async.wait.group 2
// CHECK-COUNT-8: nvvm.wgmma.mma_async
// CHECK: } {hymir.moe = "gate-up-wgmma"}
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c2{{(_[0-9]+)?}}, %{{.*}} = %{{[0-9]+}},
// CHECK: scf.for {{.*}} iter_args(
// CHECK: } {hymir.moe = "down-wgmma"}

// With wgmma-persistent the tiles are walked in the same order: the total
// from one walk, each tile's place from another.
// PERSIST-LABEL: func.func @order
// PERSIST: gpu.launch blocks({{.*}}) in (%{{.*}} = %c132, %{{.*}} = %c1{{(_[0-9]+)?}},
// PERSIST: %[[TOTAL:.*]]:6 = scf.for
// PERSIST: %[[FIRST:.*]]:6 = scf.for
// PERSIST: arith.remui %{{.*}}, %[[FIRST]]#5
// PERSIST: scf.for %{{.*}} = %{{.*}} to %[[TOTAL]]#0 step %c132{{(_[0-9]+)?}} iter_args(
// PERSIST: } {hymir.moe = "gate-up-wgmma"}

// The default (groups of 8 row tiles): a grid of 8 x 2 column blocks.
// GROUPED-LABEL: func.func @order
// GROUPED: gpu.launch blocks({{.*}}) in (%{{.*}} = %c16, %{{.*}} = %{{[0-9]+}},
// GROUPED: } {hymir.moe = "gate-up-wgmma"}
func.func @order(%x: tensor<?x512xbf16>, %logits: tensor<?x4xf32>, %w1: tensor<4x256x512xbf16>,
                 %w3: tensor<4x256x512xbf16>, %w2: tensor<4x512x256xbf16>) -> tensor<?x512xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 128 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x512xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x256x512xbf16>, tensor<4x256x512xbf16>, tensor<4x512x256xbf16>) -> tensor<?x512xbf16>
  return %y : tensor<?x512xbf16>
}
