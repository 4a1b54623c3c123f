// RUN: hymir-opt %s --hymir-fuse-moe-routing -split-input-file | FileCheck %s
// RUN: hymir-opt %s --hymir-fuse-moe-routing=tile=4 -split-input-file | FileCheck %s --check-prefix=TILE4
// RUN: not hymir-opt %s --hymir-fuse-moe-routing=tile=-1 2>&1 | FileCheck %s --check-prefix=BAD

// hymir.moe becomes the router scores in true fp32, one fused routing step
// and the experts on its layout: T * top_k + E * (tile - 1) rows (10 * 2 +
// 8 * 63 with the default tile of 64, which prints elided), E + 1 offsets,
// [T, top_k] slots and weights.
// CHECK-LABEL: func.func @moe
// CHECK: %[[XF:.*]] = arith.extf %arg0 : tensor<10x32xbf16> to tensor<10x32xf32>
// CHECK: %[[Z:.*]] = hymir.linear %[[XF]], %arg1 {precision = "f32"} : (tensor<10x32xf32>, tensor<8x32xf32>) -> tensor<10x8xf32>
// CHECK: %[[S:.*]], %[[O:.*]], %[[L:.*]], %[[W:.*]] = hymir.moe_route %[[Z]] {top_k = 2 : i64} : (tensor<10x8xf32>) -> (tensor<524xi32>, tensor<9xi32>, tensor<10x2xi32>, tensor<10x2xf32>)
// CHECK: %[[Y:.*]] = hymir.moe_experts %arg0, %[[S]], %[[O]], %[[L]], %[[W]], %arg2, %arg3, %arg4
// CHECK-NOT: hymir.moe {{.*}}top_k
// CHECK: return %[[Y]]
// TILE4-LABEL: func.func @moe
// TILE4: hymir.moe_route {{.*}}tile = 4 : i64{{.*}} -> (tensor<44xi32>, tensor<9xi32>, tensor<10x2xi32>, tensor<10x2xf32>)
// BAD: hymir-fuse-moe-routing: tile must be at least 1 (or 0: per op), got -1
func.func @moe(%x: tensor<10x32xbf16>, %router: tensor<8x32xf32>, %w1: tensor<8x16x32xbf16>,
               %w3: tensor<8x16x32xbf16>, %w2: tensor<8x32x16xbf16>) -> tensor<10x32xbf16> {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<10x32xbf16>, tensor<8x32xf32>, tensor<8x16x32xbf16>, tensor<8x16x32xbf16>, tensor<8x32x16xbf16>)
      -> tensor<10x32xbf16>
  return %y : tensor<10x32xbf16>
}

// -----

// A dynamic token count keeps the layout's row count dynamic; renormalize
// carries over; f32 activations need no extension.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: arith.extf
// CHECK: %[[Z:.*]] = hymir.linear %arg0, %arg1 {precision = "f32"} : (tensor<?x32xf32>, tensor<4x32xf32>) -> tensor<?x4xf32>
// CHECK: hymir.moe_route %[[Z]] {renormalize = false, top_k = 1 : i64} : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x1xi32>, tensor<?x1xf32>)
func.func @dynamic(%x: tensor<?x32xf32>, %router: tensor<4x32xf32>, %w1: tensor<4x16x32xf32>,
                   %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) -> tensor<?x32xf32> {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 1 : i64, renormalize = false}
      : (tensor<?x32xf32>, tensor<4x32xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// An expert count known only at run time stays a hymir.moe.
// CHECK-LABEL: func.func @dynamic_experts
// CHECK: hymir.moe %arg0
// CHECK-NOT: hymir.moe_route
func.func @dynamic_experts(%x: tensor<?x32xf32>, %router: tensor<?x32xf32>, %w1: tensor<?x16x32xf32>,
                           %w3: tensor<?x16x32xf32>, %w2: tensor<?x32x16xf32>) -> tensor<?x32xf32> {
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {top_k = 1 : i64}
      : (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x16x32xf32>, tensor<?x16x32xf32>, tensor<?x32x16xf32>)
      -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
