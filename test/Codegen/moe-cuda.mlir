// MoE on cuda: the router scores as a true-fp32 library GEMM, the routing
// kernels, then the experts chosen by the token count: warp-per-row
// kernels (grid height top_k) for calls of at most 16 tokens, above them on
// sm_90a (the default chip) wgmma kernels over 128-row tiles of the layout
// (the default --moe-tile there): grid (8 row tiles x column blocks,
// groups of 8 row tiles), two warpgroups, four 48 KB shared-memory stages;
// with --moe-wgmma=false (or another chip) the warp kernels up to 64 tokens
// and mma.sync kernels over 64-row tiles above. The layout is one block of
// 1024 threads; the combine one kernel writing the output.
// RUN: hymir-compile %s -o %t.hymir --target=cuda --max-tokens=1024 --print-plan | FileCheck %s
// RUN: hymir-compile %s -o %t.mma.hymir --target=cuda --moe-wgmma=false --max-tokens=1024 --print-plan | FileCheck %s --check-prefix=MMA
// RUN: hymir-compile %s -o %t.tile1.hymir --target=cuda --moe-tile=1 --max-tokens=1024 --print-plan | FileCheck %s --check-prefix=TILE1

// CHECK: gemm m tokens n 4 k 1024 F32->F32 f32-precision
// CHECK: grid 1 block 1024 shared 32 B
// CHECK: grid 64x2x1 block 256 when tokens <= 16
// CHECK: grid 128x2x1 block 256 when tokens <= 16
// CHECK: grid 32x(tokens*2+1531)/1024x1 block 256 shared 196608 B when tokens >= 17
// CHECK: grid 32x(tokens*2+1531)/1024x1 block 256 shared 196608 B when tokens >= 17
// CHECK: grid (tokens*128+255)/256 block 256 (tokens*128, {{.*}}, output 0)
// MMA: grid 64x2x1 block 256 when tokens <= 64
// MMA: grid 8x(tokens*2+315)/64x1 block 128 when tokens >= 65
// MMA: grid 16x(tokens*2+315)/64x1 block 128 when tokens >= 65
// TILE1-NOT: when tokens
func.func @moe(%x: tensor<?x1024xbf16> {hymir.name = "x"}, %router: tensor<4x1024xf32> {hymir.name = "router"},
                %w1: tensor<4x512x1024xbf16> {hymir.name = "w1"}, %w3: tensor<4x512x1024xbf16> {hymir.name = "w3"},
                %w2: tensor<4x1024x512xbf16> {hymir.name = "w2"}) -> (tensor<?x1024xbf16> {hymir.name = "y"}) {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x1024xbf16>, tensor<4x1024xf32>, tensor<4x512x1024xbf16>, tensor<4x512x1024xbf16>, tensor<4x1024x512xbf16>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
