// RUN: hymir-opt %s --hymir-moe-experts-to-gpu -split-input-file | FileCheck %s
// RUN: hymir-opt %s --hymir-moe-experts-to-gpu=decode-wave=132 -split-input-file | FileCheck %s --check-prefix=GRID
// hymir-compile's --moe-decode-wave states its range.
// RUN: not hymir-compile %s -o %t.hymir --target=cuda --moe-decode-wave=-1 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not hymir-compile %s -o %t.hymir --target=cuda --moe-decode-wave=70000 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: hymir-compile: error: --moe-decode-wave must be in [0, 65535], got {{-1|70000}}

// The decode kernels in one wave (decode-wave, 396 blocks by default; calls
// of at most 8 tokens, decode-wave-tokens): a
// fixed grid of 8-warp blocks with (3 E + 1) i32 of shared memory. Warp 0
// ranks the experts with tokens (a shuffle scan over the offsets) and
// stores the expert of each rank and their count; after a barrier one warp
// per such expert trims its group's closing padding (here, with the
// layout's tile unknown, one row at a time) into shared memory; after a
// second barrier the grid's 396 x 8 = 3168 warps stride over the items
// (rank, weight row). Per item the rows of the group in batches of 4, then
// one by one: W1 and W3 rows in 16-byte loads against the routed rows of x,
// each product summed by fma into one f32 scalar per (matrix, row), a xor
// butterfly, lane 0 stores SiLU(g) * u; down the same over W2 and act.
// CHECK-LABEL: func.func @experts
// CHECK: %[[ACT:.*]] = memref.alloc(%{{.*}}) : memref<?x16xbf16>
// CHECK: %[[DOWN:.*]] = memref.alloc(%{{.*}}) : memref<?x32xf32>
// CHECK: hymir.token_guard tokens in [0, 8] {
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c396, %{{.*}} = %c1{{(_[0-9]+)?}}, %{{.*}} = %c1{{.*}}) threads({{.*}}) in (%{{.*}} = %c256{{(_[0-9]+)?}}, {{.*}} dynamic_shared_memory_size %c52_i32
// CHECK: gpu.shuffle  up
// CHECK: gpu.shuffle  idx
// CHECK: gpu.barrier
// CHECK: scf.while
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c3168
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<4x16x32xbf16>, vector<8xbf16>
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<4x16x32xbf16>, vector<8xbf16>
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<?x32xbf16>, vector<8xbf16>
// CHECK: math.fma
// CHECK: gpu.shuffle  xor
// CHECK: math.exp
// CHECK: memref.store %{{.*}}, %[[ACT]]
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32)
// CHECK: } {hymir.moe = "gate-up"}
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c396
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<4x32x16xbf16>, vector<8xbf16>
// CHECK: vector.load %[[ACT]]{{.*}} {alignment = 16 : i64} : memref<?x16xbf16>, vector<8xbf16>
// CHECK: memref.store %{{.*}}, %[[DOWN]]
// CHECK: } {hymir.moe = "down"}
// CHECK: } {hymir.moe = "combine"}
// GRID: gpu.launch blocks({{.*}}) in (%{{.*}} = %c132,
// GRID: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1056
func.func @experts(%x: tensor<?x32xbf16>, %sorted: tensor<?xi32>, %offsets: tensor<5xi32>,
                   %slots: tensor<?x2xi32>, %weights: tensor<?x2xf32>, %w1: tensor<4x16x32xbf16>,
                   %w3: tensor<4x16x32xbf16>, %w2: tensor<4x32x16xbf16>) -> tensor<?x32xbf16> {
  %y = hymir.moe_experts %x, %sorted, %offsets, %slots, %weights, %w1, %w3, %w2
      : (tensor<?x32xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xbf16>, tensor<4x16x32xbf16>, tensor<4x32x16xbf16>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// With the layout's tile known (hymir.moe_route's, 4 here) the padding is
// counted by the whole warp at once: no scf.while. Widths of 1024 unroll the
// single-row pass 4 steps deep (4 x (2 weights + 1 row) = 12 loads in
// flight), the 4-row pass 2 deep (2 x 6).
// CHECK-LABEL: func.func @known_tile
// CHECK: gpu.launch
// CHECK-NOT: scf.while
// CHECK: gpu.shuffle  xor
// CHECK: gpu.barrier
// CHECK: scf.for {{.*}} step %c512{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: scf.for {{.*}} step %c1024{{.*}} iter_args({{.*}}) -> (f32, f32)
// CHECK: } {hymir.moe = "gate-up"}
func.func @known_tile(%x: tensor<?x1024xbf16>, %logits: tensor<?x4xf32>, %w1: tensor<4x16x1024xbf16>,
                      %w3: tensor<4x16x1024xbf16>, %w2: tensor<4x1024x16xbf16>) -> tensor<?x1024xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 4 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x1024xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x1024xbf16>, tensor<4x16x1024xbf16>, tensor<4x1024x16xbf16>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
