// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true wgmma-persistent=132 wgmma-group=8" -split-input-file | FileCheck %s
// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true" -split-input-file | FileCheck %s --check-prefix=GRID
// hymir-compile's --moe-wgmma-persistent states its range.
// RUN: not hymir-compile %s -o %t.hymir --target=cuda --moe-wgmma-persistent=-1 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: hymir-compile: error: --moe-wgmma-persistent must be in [0, 4096], got -1

// The persistent wgmma kernels with groups of row tiles (wgmma-group=8;
// the experts' order, the default, is moe-wgmma-expert-order.mlir's): a
// grid of 132 blocks; each counts the
// 128-row tiles of every expert's group (a walk over the offsets), finds
// its first tile's expert, first row and column block (a second walk) and
// issues that tile's first copies (the pipeline's prologue); then strides
// over the tiles (step 132, the tile's place carried): the main loop
// without a prologue, a barrier (every warp done with the stages), the
// next tile's place and first copies, and the epilogue while they fly, in
// which a warpgroup stores only where its rows start inside the group with
// a token.
// CHECK-LABEL: func.func @tile128
// CHECK: hymir.token_guard tokens in [17, -1] {
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c132{{(_[0-9]+)?}}, %{{.*}} = %c1{{(_[0-9]+)?}}, {{.*}} dynamic_shared_memory_size %c196608_i32
// CHECK: arith.ceildivui
// CHECK: arith.select
// CHECK: scf.if
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c132{{(_[0-9]+)?}} iter_args(
// CHECK: arith.andi
// CHECK: nvvm.cp.async.wait.group 2
// CHECK-COUNT-8: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT: gpu.barrier
// CHECK: arith.select
// CHECK: scf.if
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.if
// CHECK: vector.store
// CHECK: scf.yield
// CHECK: } {hymir.moe = "gate-up-wgmma"}
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c132{{(_[0-9]+)?}},
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c132{{(_[0-9]+)?}} iter_args(
// CHECK: } {hymir.moe = "down-wgmma"}
// GRID-LABEL: func.func @tile128
// GRID-NOT: %c132
// GRID: } {hymir.moe = "gate-up-wgmma"}
func.func @tile128(%x: tensor<?x256xbf16>, %logits: tensor<?x4xf32>, %w1: tensor<4x128x256xbf16>,
                   %w3: tensor<4x128x256xbf16>, %w2: tensor<4x256x128xbf16>) -> tensor<?x256xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 128 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x256xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x128x256xbf16>, tensor<4x128x256xbf16>, tensor<4x256x128xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// A layout padded to 64 rows: the persistent wgmma kernels take it (an
// expert's last tile may be 64 rows); the grid form does not (its tiles
// are the layout's), so there the mma.sync kernels serve it.
// CHECK-LABEL: func.func @tile64
// CHECK: } {hymir.moe = "gate-up-wgmma"}
// CHECK: } {hymir.moe = "down-wgmma"}
// GRID-LABEL: func.func @tile64
// GRID-NOT: wgmma
// GRID: } {hymir.moe = "gate-up-tc"}
func.func @tile64(%x: tensor<?x256xbf16>, %logits: tensor<?x4xf32>, %w1: tensor<4x128x256xbf16>,
                  %w3: tensor<4x128x256xbf16>, %w2: tensor<4x256x128xbf16>) -> tensor<?x256xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 64 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x256xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x128x256xbf16>, tensor<4x128x256xbf16>, tensor<4x256x128xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
