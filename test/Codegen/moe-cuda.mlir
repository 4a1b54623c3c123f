// MoE on cuda: the router scores as a true-fp32 library GEMM, the routing
// kernels, then the experts chosen by the token count: warp-per-row
// kernels (grid height top_k) for calls of 9 to 16 tokens (up to 8 the
// one-wave kernels, a fixed grid of 396 blocks), above them on
// sm_90a (the default chip) wgmma kernels over 128-row tiles of the layout
// (the default --moe-tile there): grid (column blocks, row tiles; the
// blocks in the experts' order), two warpgroups, four 48 KB shared-memory
// stages (--moe-wgmma-group=8: grid (8 row tiles x column blocks, groups of
// 8 row tiles), the order before);
// with --moe-wgmma=false (or another chip) the warp kernels up to 64 tokens
// and mma.sync kernels over 64-row tiles above. The routing and layout are
// one block of 1024 threads up to 64 tokens, a routing kernel (a warp a
// token) and the layout block above; the combine one kernel writing the
// output. With --moe-wgmma-persistent=132 the wgmma kernels are a grid of
// 132 blocks taking all tiles from a counter (their rows, tokens*2 +
// padding, an argument; the counter, zeroed by a one-thread launch before
// each, and its two i32 slots past the stages), also on a layout padded to
// 64 rows (--moe-tile=64); with --moe-wgmma-group=8 they stride statically
// and need no counter.
// RUN: hymir-compile %s -o %t.hymir --target=cuda --max-tokens=1024 --print-plan | FileCheck %s
// RUN: hymir-compile %s -o %t.mma.hymir --target=cuda --moe-wgmma=false --max-tokens=1024 --print-plan | FileCheck %s --check-prefix=MMA
// RUN: hymir-compile %s -o %t.p.hymir --target=cuda --moe-wgmma-persistent=132 --max-tokens=1024 --print-plan | FileCheck %s --check-prefix=PERSIST
// RUN: hymir-compile %s -o %t.p64.hymir --target=cuda --moe-wgmma-persistent=132 --moe-tile=64 --max-tokens=1024 --print-plan | FileCheck %s --check-prefix=PERSIST
// RUN: hymir-compile %s -o %t.pg.hymir --target=cuda --moe-wgmma-persistent=132 --moe-wgmma-group=8 --max-tokens=1024 --print-plan | FileCheck %s --check-prefix=PERSIST-GROUPS
// RUN: hymir-compile %s -o %t.g.hymir --target=cuda --moe-wgmma-group=8 --max-tokens=1024 --print-plan | FileCheck %s --check-prefix=GROUPS
// PERSIST: grid 1 block 1 when tokens >= 17 ([[COUNTER:buffer [0-9]+]])
// PERSIST: grid 132 block 256 shared 196624 B when tokens >= 17 (tokens*2, {{.*}}[[COUNTER]]
// PERSIST: grid 1 block 1 when tokens >= 17 ([[COUNTER]])
// PERSIST: grid 132 block 256 shared 196624 B when tokens >= 17 (tokens*2, {{.*}}[[COUNTER]]
// PERSIST-GROUPS-NOT: grid 1 block 1 when
// PERSIST-GROUPS: grid 132 block 256 shared 196608 B when tokens >= 17 (tokens*2,
// PERSIST-GROUPS: grid 132 block 256 shared 196608 B when tokens >= 17 (tokens*2,
// GROUPS: grid 32x(tokens*2+1531)/1024x1 block 256 shared 196608 B when tokens >= 17
// GROUPS: grid 32x(tokens*2+1531)/1024x1 block 256 shared 196608 B when tokens >= 17
// RUN: hymir-compile %s -o %t.tile1.hymir --target=cuda --moe-tile=1 --max-tokens=1024 --print-plan | FileCheck %s --check-prefix=TILE1
// The previous kernels: routing as generic kernels, the layout alone in one
// block, the warp-per-row decode kernels (grid height top_k).
// RUN: hymir-compile %s -o %t.old.hymir --target=cuda --moe-fused-routing=false --moe-decode-wave=0 --max-tokens=1024 --print-plan | FileCheck %s --check-prefix=OLD
// OLD: gemm m tokens n 4 k 1024 F32->F32 f32-precision
// OLD-NOT: when tokens
// OLD: grid 1 block 1024 shared 32 B (
// OLD: grid 64x2x1 block 256 when tokens <= 16
// OLD: grid 128x2x1 block 256 when tokens <= 16

// CHECK: gemm m tokens n 4 k 1024 F32->F32 f32-precision
// CHECK: grid 1 block 1024 shared 32 B when tokens <= 64
// CHECK: grid (tokens+7)/8 block 256 when tokens >= 65
// CHECK: grid 1 block 1024 shared 32 B when tokens >= 65
// CHECK: grid 396 block 256 shared 52 B when tokens <= 8
// CHECK: grid 396 block 256 shared 52 B when tokens <= 8
// CHECK: grid 64x2x1 block 256 when 9 <= tokens <= 16
// CHECK: grid 128x2x1 block 256 when 9 <= tokens <= 16
// CHECK: grid 4x(tokens*2+635)/128x1 block 256 shared 196608 B when tokens >= 17
// CHECK: grid 4x(tokens*2+635)/128x1 block 256 shared 196608 B when tokens >= 17
// CHECK: grid (tokens*128+255)/256 block 256 (tokens*128, {{.*}}, output 0)
// MMA: grid 396 block 256 shared 52 B when tokens <= 8
// MMA: grid 64x2x1 block 256 when 9 <= tokens <= 64
// MMA: grid 8x(tokens*2+315)/64x1 block 128 when tokens >= 65
// MMA: grid 16x(tokens*2+315)/64x1 block 128 when tokens >= 65
// TILE1: grid 396 block 256 shared 52 B when tokens <= 8 (
// TILE1: grid 64x2x1 block 256 when tokens >= 9 (
// TILE1-NOT: when tokens <= 16
// TILE1-NOT: when tokens >= 17
func.func @moe(%x: tensor<?x1024xbf16> {hymir.name = "x"}, %router: tensor<4x1024xf32> {hymir.name = "router"},
                %w1: tensor<4x512x1024xbf16> {hymir.name = "w1"}, %w3: tensor<4x512x1024xbf16> {hymir.name = "w3"},
                %w2: tensor<4x1024x512xbf16> {hymir.name = "w2"}) -> (tensor<?x1024xbf16> {hymir.name = "y"}) {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x1024xbf16>, tensor<4x1024xf32>, tensor<4x512x1024xbf16>, tensor<4x512x1024xbf16>, tensor<4x1024x512xbf16>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
