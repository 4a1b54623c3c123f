// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true wgmma-group=0" | FileCheck %s
// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true wgmma-group=0 wgmma-persistent=132" | FileCheck %s --check-prefix=PERSIST
// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true" | FileCheck %s
// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true wgmma-group=8" | FileCheck %s --check-prefix=GROUPED
// hymir-compile takes 0 (the experts' order) and states the range.
// RUN: hymir-compile %s -o %t.hymir --target=cuda --chip=sm_90a --ptxas=none --moe-wgmma-group=0
// RUN: not hymir-compile %s -o %t.hymir --target=cuda --moe-wgmma-group=257 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: hymir-compile: error: --moe-wgmma-group must be in [0, 256], got 257

// wgmma-group=0 (the default): the wgmma kernels' blocks in the experts'
// order. The grid
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

// With wgmma-persistent the tiles are taken in the same order from a
// counter (i32 [2], gate/up and down, allocated outside the token guard):
// a one-thread launch zeroes the kernel's counter; the kernel's smem holds
// two i32 slots past the stages; thread 0 takes the first tile (an atomic
// add) into slot 0, a barrier, every thread reads it, finds the total (a
// walk) and the tile's place (another) and issues its first copies; then
// while the tile is below the total: thread 0 takes the next tile into
// slot (i + 1) % 2, the main loop, a barrier, the next tile read from the
// slot, its place and first copies, and the epilogue; the loop carries
// the tile, the iteration and the place.
// PERSIST-LABEL: func.func @order
// PERSIST: %[[COUNTERS:.*]] = memref.alloc() : memref<2xi32>
// PERSIST: hymir.token_guard tokens in [17, -1] {
// PERSIST: gpu.launch blocks({{.*}}) in (%{{.*}} = %c1{{(_[0-9]+)?}}, %{{.*}} = %c1{{(_[0-9]+)?}}, %{{.*}} = %c1{{(_[0-9]+)?}}) threads({{.*}}) in (%{{.*}} = %c1{{(_[0-9]+)?}},
// PERSIST: memref.store %c0_i32{{(_[0-9]+)?}}, %[[COUNTERS]][%c0{{(_[0-9]+)?}}]
// PERSIST: gpu.launch blocks({{.*}}) in (%{{.*}} = %c132, %{{.*}} = %c1{{(_[0-9]+)?}}, {{.*}} dynamic_shared_memory_size %c196624_i32
// PERSIST: %[[TOTAL:.*]]:6 = scf.for
// PERSIST: %[[SLOTS:.*]] = memref.view %{{.*}}[%c196608][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2xi32, #gpu.address_space<workgroup>>
// PERSIST: memref.atomic_rmw addi %c1_i32{{(_[0-9]+)?}}, %[[COUNTERS]][%c0{{(_[0-9]+)?}}]
// PERSIST: memref.store %{{.*}}, %[[SLOTS]][%c0{{(_[0-9]+)?}}]
// PERSIST: gpu.barrier
// PERSIST: memref.load %[[SLOTS]]
// PERSIST: %[[FIRST:.*]]:6 = scf.for
// PERSIST: arith.remui %{{.*}}, %[[FIRST]]#5
// PERSIST: scf.while ({{.*}}) : (index, index, index, index, index, index)
// PERSIST: arith.cmpi ult, %{{.*}}, %[[TOTAL]]#0
// PERSIST: scf.condition
// PERSIST: memref.atomic_rmw addi
// PERSIST: nvvm.wgmma.wait.group.sync.aligned 0
// PERSIST-NEXT: gpu.barrier
// PERSIST-NEXT: memref.load %[[SLOTS]]
// PERSIST: } {hymir.moe = "gate-up-wgmma"}
// PERSIST: memref.store %c0_i32{{(_[0-9]+)?}}, %[[COUNTERS]][%c1{{(_[0-9]+)?}}]
// PERSIST: } {hymir.moe = "down-wgmma"}

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
