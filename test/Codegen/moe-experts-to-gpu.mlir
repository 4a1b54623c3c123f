// RUN: hymir-opt %s --hymir-moe-experts-to-gpu -split-input-file | FileCheck %s

// Two launches over (outputs / 8, experts) with 8 warps per block: gate/up
// streams W1 and W3 rows in 16-byte loads and stores SiLU(g) * u (bf16, the
// experts' precision), down streams W2 rows; each warp walks its expert's
// group from the offsets, leaving out the padding rows that close it (here,
// with the layout's tile unknown, one row at a time); the combine stays
// linalg. These widths are too narrow for the tensor-core kernels.
// CHECK-LABEL: func.func @experts
// CHECK: %[[ACT:.*]] = memref.alloc(%{{.*}}) : memref<?x16xbf16>
// CHECK: %[[DOWN:.*]] = memref.alloc(%{{.*}}) : memref<?x32xf32>
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c2, %{{.*}} = %c4, %{{.*}} = %c1) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c256,
// CHECK: memref.load %{{.*}}[%{{.*}}] : memref<5xi32>
// CHECK: scf.while
// CHECK: scf.for
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<4x16x32xbf16>, vector<8xbf16>
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<4x16x32xbf16>, vector<8xbf16>
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<?x32xbf16>, vector<8xbf16>
// CHECK: vector.fma
// CHECK: gpu.shuffle xor
// CHECK: math.exp
// CHECK: memref.store %{{.*}}, %[[ACT]]
// CHECK: } {hymir.moe = "gate-up"}
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c4{{.*}}, %{{.*}} = %c4{{.*}}, %{{.*}} = %c1{{.*}})
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<4x32x16xbf16>, vector<8xbf16>
// CHECK: vector.load %[[ACT]]{{.*}} {alignment = 16 : i64} : memref<?x16xbf16>, vector<8xbf16>
// CHECK: memref.store %{{.*}}, %[[DOWN]]
// CHECK: } {hymir.moe = "down"}
// CHECK: linalg.generic
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
