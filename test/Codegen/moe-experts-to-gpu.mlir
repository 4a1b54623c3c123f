// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true decode-wave=0" --hymir-moe-layout-to-gpu=fused-routing=false -split-input-file | FileCheck %s
// (The decode kernels here are the warp-per-row ones, decode-wave=0, and
// the layouts the unfused ones; the defaults: moe-wave-kernel.mlir and
// moe-route-kernel.mlir.)

// Two launches over (outputs / 8, top_k) with 8 warps per block: each warp
// ranks the experts that have tokens (a shuffle scan over the offsets) and
// block y takes those of rank y modulo top_k; gate/up streams W1 and W3 rows
// in 16-byte loads and stores SiLU(g) * u (bf16, the experts' precision),
// down streams W2 rows; each warp walks its expert's group from the
// offsets, leaving out the padding rows that close it (here, with the
// layout's tile unknown, one row at a time); the combine is one kernel
// over 8 columns a thread. These widths are too narrow for the tensor-core
// kernels.
// CHECK-LABEL: func.func @experts
// CHECK: %[[ACT:.*]] = memref.alloc(%{{.*}}) : memref<?x16xbf16>
// CHECK: %[[DOWN:.*]] = memref.alloc(%{{.*}}) : memref<?x32xf32>
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c2, %{{.*}} = %c2{{(_[0-9]+)?}}, %{{.*}} = %c1) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c256,
// CHECK: memref.load %{{.*}}[%{{.*}}] : memref<5xi32>
// CHECK: gpu.shuffle {{ *}}up
// CHECK: gpu.shuffle {{ *}}idx
// CHECK: scf.while
// CHECK: scf.for
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<4x16x32xbf16>, vector<8xbf16>
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<4x16x32xbf16>, vector<8xbf16>
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<?x32xbf16>, vector<8xbf16>
// CHECK: vector.fma
// CHECK: gpu.shuffle {{ *}}xor
// CHECK: math.exp
// CHECK: memref.store %{{.*}}, %[[ACT]]
// CHECK: } {hymir.moe = "gate-up"}
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c4{{.*}}, %{{.*}} = %c2{{.*}}, %{{.*}} = %c1{{.*}})
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<4x32x16xbf16>, vector<8xbf16>
// CHECK: vector.load %[[ACT]]{{.*}} {alignment = 16 : i64} : memref<?x16xbf16>, vector<8xbf16>
// CHECK: memref.store %{{.*}}, %[[DOWN]]
// CHECK: } {hymir.moe = "down"}
// CHECK: vector.load %[[DOWN]]
// CHECK: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: } {hymir.moe = "combine"}
// CHECK-NOT: hymir.moe_experts
func.func @experts(%x: tensor<?x32xbf16>, %sorted: tensor<?xi32>, %offsets: tensor<5xi32>,
                   %slots: tensor<?x2xi32>, %weights: tensor<?x2xf32>, %w1: tensor<4x16x32xbf16>,
                   %w3: tensor<4x16x32xbf16>, %w2: tensor<4x32x16xbf16>) -> tensor<?x32xbf16> {
  %y = hymir.moe_experts %x, %sorted, %offsets, %slots, %weights, %w1, %w3, %w2
      : (tensor<?x32xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xbf16>, tensor<4x16x32xbf16>, tensor<4x32x16xbf16>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// f32 experts take the same kernels with 32-byte loads and an f32
// intermediate.
// CHECK-LABEL: func.func @f32_experts
// CHECK: vector.load %{{.*}} {alignment = 32 : i64} : memref<4x16x32xf32>, vector<8xf32>
func.func @f32_experts(%x: tensor<?x32xf32>, %sorted: tensor<?xi32>, %offsets: tensor<5xi32>,
                       %slots: tensor<?x2xi32>, %weights: tensor<?x2xf32>, %w1: tensor<4x16x32xf32>,
                       %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) -> tensor<?x32xf32> {
  %y = hymir.moe_experts %x, %sorted, %offsets, %slots, %weights, %w1, %w3, %w2
      : (tensor<?x32xf32>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Widths that are not whole vectors keep the generic lowering.
// CHECK-LABEL: func.func @odd_width
// CHECK: hymir.moe_experts
// CHECK-NOT: gpu.launch
func.func @odd_width(%x: tensor<?x12xf32>, %sorted: tensor<?xi32>, %offsets: tensor<5xi32>,
                     %slots: tensor<?x2xi32>, %weights: tensor<?x2xf32>, %w1: tensor<4x16x12xf32>,
                     %w3: tensor<4x16x12xf32>, %w2: tensor<4x12x16xf32>) -> tensor<?x12xf32> {
  %y = hymir.moe_experts %x, %sorted, %offsets, %slots, %weights, %w1, %w3, %w2
      : (tensor<?x12xf32>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x12xf32>, tensor<4x16x12xf32>, tensor<4x12x16xf32>) -> tensor<?x12xf32>
  return %y : tensor<?x12xf32>
}

// -----

// The layout of hymir.moe_route (tile 128) as one block of 1024 threads
// (shared-memory atomics: counts, then cursors), and on bf16 experts whose
// widths are multiples of 128 the wgmma kernels for calls of more than 16
// tokens: cp.async copies into swizzled stages, the proxy fence, wgmma
// m64n128k16 (two chunks a step: W1 and W3 for gate/up, two 128-row
// chunks of W2 for down), 192 KB of dynamic shared memory.
// CHECK-LABEL: func.func @wgmma
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c1024{{.*}}) dynamic_shared_memory_size
// CHECK: memref.atomic_rmw addi
// CHECK: memref.atomic_rmw addi
// CHECK: } {hymir.moe = "layout"}
// CHECK: hymir.token_guard tokens in [0, 16] {
// CHECK: } {hymir.moe = "gate-up"}
// CHECK: } {hymir.moe = "down"}
// CHECK: hymir.token_guard tokens in [17, -1] {
// CHECK: gpu.launch {{.*}} dynamic_shared_memory_size %c196608_i32
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.fence.proxy
// CHECK-COUNT-8: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: } {hymir.moe = "gate-up-wgmma"}
// CHECK: gpu.launch {{.*}} dynamic_shared_memory_size %c196608_i32
// CHECK-COUNT-8: nvvm.wgmma.mma_async
// CHECK: } {hymir.moe = "down-wgmma"}
func.func @wgmma(%x: tensor<?x256xbf16>, %logits: tensor<?x4xf32>, %w1: tensor<4x128x256xbf16>,
                 %w3: tensor<4x128x256xbf16>, %w2: tensor<4x256x128xbf16>) -> tensor<?x256xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 128 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x256xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x128x256xbf16>, tensor<4x128x256xbf16>, tensor<4x256x128xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// A static token count (a decode step of a fixed batch) takes only the set
// that serves it, without a token guard (its entry may have no dynamic dim
// to guard by): 4 tokens the warp-per-row kernels, 64 the wgmma ones.
// CHECK-LABEL: func.func @static_decode
// CHECK-NOT: hymir.token_guard
// CHECK: } {hymir.moe = "gate-up"}
// CHECK: } {hymir.moe = "down"}
// CHECK-NOT: wgmma
// CHECK-LABEL: func.func @static_prefill
// CHECK-NOT: hymir.token_guard
// CHECK-NOT: {hymir.moe = "gate-up"}
// CHECK: } {hymir.moe = "gate-up-wgmma"}
// CHECK: } {hymir.moe = "down-wgmma"}
// CHECK-NOT: hymir.token_guard
func.func @static_decode(%x: tensor<4x256xbf16>, %logits: tensor<4x4xf32>, %w1: tensor<4x128x256xbf16>,
                         %w3: tensor<4x128x256xbf16>, %w2: tensor<4x256x128xbf16>) -> tensor<4x256xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 128 : i64}
      : (tensor<4x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<4x2xi32>, tensor<4x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<4x256xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<4x2xi32>, tensor<4x2xf32>,
         tensor<4x128x256xbf16>, tensor<4x128x256xbf16>, tensor<4x256x128xbf16>) -> tensor<4x256xbf16>
  return %y : tensor<4x256xbf16>
}
func.func @static_prefill(%x: tensor<64x256xbf16>, %logits: tensor<64x4xf32>, %w1: tensor<4x128x256xbf16>,
                          %w3: tensor<4x128x256xbf16>, %w2: tensor<4x256x128xbf16>) -> tensor<64x256xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 128 : i64}
      : (tensor<64x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<64x2xi32>, tensor<64x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<64x256xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<64x2xi32>, tensor<64x2xf32>,
         tensor<4x128x256xbf16>, tensor<4x128x256xbf16>, tensor<4x256x128xbf16>) -> tensor<64x256xbf16>
  return %y : tensor<64x256xbf16>
}
