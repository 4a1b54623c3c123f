// The MoE tile chosen per op from its experts' shapes (hymir-fuse-moe-routing
// tile=0) for the kernels of the chip: on sm_90a bf16 experts whose widths
// (I and N) are multiples of 128 take the wgmma tile (128) and reach the
// wgmma kernels, bf16 experts whose widths are multiples of 64 but not of
// 128 the mma.sync tile (64) and reach the mma.sync kernels (above 64
// tokens), anything else keeps the target's largest tile and the warp
// kernels. Without wgmma, or on sm_80, the 128-wide experts take mma.sync;
// without a chip (cpu) the tile is 1.
// RUN: hymir-opt %s -split-input-file --hymir-fuse-moe-routing="tile=0 chip=sm_90a" --hymir-moe-experts-to-gpu="wgmma=true" --hymir-moe-layout-to-gpu | FileCheck %s
// RUN: hymir-opt %s -split-input-file --hymir-fuse-moe-routing="tile=0 chip=sm_90a" | FileCheck %s --check-prefix=TILE
// RUN: hymir-opt %s -split-input-file --hymir-fuse-moe-routing="tile=0 chip=sm_90a wgmma=false" | FileCheck %s --check-prefix=NOWG
// RUN: hymir-opt %s -split-input-file --hymir-fuse-moe-routing="tile=0 chip=sm_80" | FileCheck %s --check-prefix=NOWG
// RUN: hymir-opt %s -split-input-file --hymir-fuse-moe-routing="tile=0" | FileCheck %s --check-prefix=CPU
// RUN: not hymir-opt %s -split-input-file --hymir-fuse-moe-routing="tile=0 chip=sm_99" 2>&1 | FileCheck %s --check-prefix=CHIP

// CHIP: hymir-fuse-moe-routing: unknown chip 'sm_99' (supported: sm_70, sm_80, sm_86, sm_89, sm_90, sm_90a)

// CHECK-LABEL: func.func @mid
// CHECK: hymir.moe = "layout"
// CHECK: hymir.token_guard tokens in [0, 8]
// CHECK: hymir.token_guard tokens in [9, 64]
// CHECK: hymir.moe = "gate-up"
// CHECK: hymir.moe = "down"
// CHECK: hymir.token_guard tokens in [65, -1]
// CHECK: hymir.moe = "gate-up-tc"
// CHECK: hymir.moe = "down-tc"
// TILE-LABEL: func.func @mid
// TILE: hymir.moe_route %{{.*}} {top_k = 2 : i64} : (tensor<?x4xf32>)
// NOWG-LABEL: func.func @mid
// NOWG: hymir.moe_route %{{.*}} {top_k = 2 : i64} : (tensor<?x4xf32>)
// CPU-LABEL: func.func @mid
// CPU: hymir.moe_route %{{.*}} {tile = 1 : i64, top_k = 2 : i64}
func.func @mid(%x: tensor<?x192xbf16>, %router: tensor<4x192xf32>, %w1: tensor<4x64x192xbf16>,
               %w3: tensor<4x64x192xbf16>, %w2: tensor<4x192x64xbf16>) -> tensor<?x192xbf16> {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x192xbf16>, tensor<4x192xf32>, tensor<4x64x192xbf16>, tensor<4x64x192xbf16>, tensor<4x192x64xbf16>)
      -> tensor<?x192xbf16>
  return %y : tensor<?x192xbf16>
}

// -----

// CHECK-LABEL: func.func @wide
// CHECK: hymir.moe = "layout"
// CHECK: hymir.token_guard tokens in [0, 8]
// CHECK: hymir.token_guard tokens in [9, 16]
// CHECK: hymir.moe = "gate-up"
// CHECK: hymir.token_guard tokens in [17, -1]
// CHECK: hymir.moe = "gate-up-wgmma"
// CHECK: hymir.moe = "down-wgmma"
// TILE-LABEL: func.func @wide
// TILE: hymir.moe_route %{{.*}} {tile = 128 : i64, top_k = 2 : i64}
// NOWG-LABEL: func.func @wide
// NOWG: hymir.moe_route %{{.*}} {top_k = 2 : i64} : (tensor<?x4xf32>)
// CPU-LABEL: func.func @wide
// CPU: hymir.moe_route %{{.*}} {tile = 1 : i64, top_k = 2 : i64}
func.func @wide(%x: tensor<?x256xbf16>, %router: tensor<4x256xf32>, %w1: tensor<4x128x256xbf16>,
                %w3: tensor<4x128x256xbf16>, %w2: tensor<4x256x128xbf16>) -> tensor<?x256xbf16> {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x256xbf16>, tensor<4x256xf32>, tensor<4x128x256xbf16>, tensor<4x128x256xbf16>, tensor<4x256x128xbf16>)
      -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// f32 experts (and widths no tensor-core kernel takes) keep the warp
// kernels for every call (one-wave up to 8 tokens, a warp per weight row
// above), on the target's largest tile.
// CHECK-LABEL: func.func @narrow_f32
// CHECK: hymir.moe = "layout"
// CHECK: hymir.token_guard tokens in [0, 8]
// CHECK: hymir.moe = "gate-up"
// CHECK: hymir.moe = "down"
// CHECK: hymir.token_guard tokens in [9, -1]
// CHECK: hymir.moe = "gate-up"
// CHECK: hymir.moe = "down"
// CHECK-NOT: hymir.token_guard
// CHECK: hymir.moe = "combine"
// TILE-LABEL: func.func @narrow_f32
// TILE: hymir.moe_route %{{.*}} {tile = 128 : i64, top_k = 2 : i64}
// NOWG-LABEL: func.func @narrow_f32
// NOWG: hymir.moe_route %{{.*}} {top_k = 2 : i64} : (tensor<?x4xf32>)
// CPU-LABEL: func.func @narrow_f32
// CPU: hymir.moe_route %{{.*}} {tile = 1 : i64, top_k = 2 : i64}
func.func @narrow_f32(%x: tensor<?x32xf32>, %router: tensor<4x32xf32>, %w1: tensor<4x16x32xf32>,
                      %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) -> tensor<?x32xf32> {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x32xf32>, tensor<4x32xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
