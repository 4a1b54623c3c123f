// RUN: hymir-opt %s --hymir-moe-experts-to-gpu=wgmma=true -split-input-file | FileCheck %s
// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true decode-wave-tokens=16" -split-input-file | FileCheck %s --check-prefix=ALL
// RUN: hymir-opt %s --hymir-moe-experts-to-gpu="wgmma=true decode-wave=0" -split-input-file | FileCheck %s --check-prefix=ROWS
// hymir-compile's --moe-decode-wave-tokens states its range.
// RUN: not hymir-compile %s -o %t.hymir --target=cuda --moe-decode-wave-tokens=-1 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: hymir-compile: error: --moe-decode-wave-tokens must be in [0, 65535], got -1

// The decode kernels chosen by the token count: the one-wave kernels (a
// fixed grid of 396 blocks) up to 8 tokens, where few experts have tokens;
// the warp-per-row kernels (grid (outputs / 8, top_k)) from 9 to the wgmma
// cut-off of 16, where most experts have some and one grid per expert
// spreads their rows wider; wgmma above. decode-wave-tokens=16 keeps the
// wave kernels for every decode call; decode-wave=0 the warp-per-row ones.
// CHECK-LABEL: func.func @dynamic
// CHECK: hymir.token_guard tokens in [0, 8] {
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c396{{(_[0-9]+)?}},
// CHECK: } {hymir.moe = "gate-up"}
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c396{{(_[0-9]+)?}},
// CHECK: } {hymir.moe = "down"}
// CHECK: hymir.token_guard tokens in [9, 16] {
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c16{{(_[0-9]+)?}}, %{{.*}} = %c2
// CHECK: } {hymir.moe = "gate-up"}
// CHECK: } {hymir.moe = "down"}
// CHECK: hymir.token_guard tokens in [17, -1] {
// CHECK: } {hymir.moe = "gate-up-wgmma"}
// CHECK: } {hymir.moe = "down-wgmma"}
// ALL-LABEL: func.func @dynamic
// ALL: hymir.token_guard tokens in [0, 16] {
// ALL: gpu.launch blocks({{.*}}) in (%{{.*}} = %c396{{(_[0-9]+)?}},
// ALL-NOT: hymir.token_guard tokens in [9
// ALL: hymir.token_guard tokens in [17, -1] {
// ROWS-LABEL: func.func @dynamic
// ROWS: hymir.token_guard tokens in [0, 16] {
// ROWS-NOT: %c396
// ROWS: hymir.token_guard tokens in [17, -1] {
func.func @dynamic(%x: tensor<?x256xbf16>, %logits: tensor<?x4xf32>, %w1: tensor<4x128x256xbf16>,
                   %w3: tensor<4x128x256xbf16>, %w2: tensor<4x256x128xbf16>) -> tensor<?x256xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 128 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x256xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x128x256xbf16>, tensor<4x128x256xbf16>, tensor<4x256x128xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// A static batch takes the set of its size, unguarded: 8 tokens the wave
// kernels, 12 the warp-per-row ones.
// CHECK-LABEL: func.func @static_8
// CHECK-NOT: hymir.token_guard
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c396{{(_[0-9]+)?}},
// CHECK-LABEL: func.func @static_12
// CHECK-NOT: hymir.token_guard
// CHECK-NOT: %c396
// CHECK: } {hymir.moe = "gate-up"}
func.func @static_8(%x: tensor<8x256xbf16>, %logits: tensor<8x4xf32>, %w1: tensor<4x128x256xbf16>,
                    %w3: tensor<4x128x256xbf16>, %w2: tensor<4x256x128xbf16>) -> tensor<8x256xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 128 : i64}
      : (tensor<8x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<8x2xi32>, tensor<8x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<8x256xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<8x2xi32>, tensor<8x2xf32>,
         tensor<4x128x256xbf16>, tensor<4x128x256xbf16>, tensor<4x256x128xbf16>) -> tensor<8x256xbf16>
  return %y : tensor<8x256xbf16>
}
func.func @static_12(%x: tensor<12x256xbf16>, %logits: tensor<12x4xf32>, %w1: tensor<4x128x256xbf16>,
                     %w3: tensor<4x128x256xbf16>, %w2: tensor<4x256x128xbf16>) -> tensor<12x256xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 128 : i64}
      : (tensor<12x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<12x2xi32>, tensor<12x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<12x256xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<12x2xi32>, tensor<12x2xf32>,
         tensor<4x128x256xbf16>, tensor<4x128x256xbf16>, tensor<4x256x128xbf16>) -> tensor<12x256xbf16>
  return %y : tensor<12x256xbf16>
}

// -----

// Without a tensor-core set (widths too narrow) the warp-per-row kernels
// serve every call above 8 tokens.
// CHECK-LABEL: func.func @narrow
// CHECK: hymir.token_guard tokens in [0, 8] {
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c396{{(_[0-9]+)?}},
// CHECK: hymir.token_guard tokens in [9, -1] {
// CHECK-NOT: %c396
// CHECK: } {hymir.moe = "down"}
// CHECK: } {hymir.moe = "combine"}
func.func @narrow(%x: tensor<?x32xbf16>, %logits: tensor<?x4xf32>, %w1: tensor<4x16x32xbf16>,
                  %w3: tensor<4x16x32xbf16>, %w2: tensor<4x32x16xbf16>) -> tensor<?x32xbf16> {
  %s, %o, %l, %w = hymir.moe_route %logits {top_k = 2 : i64, tile = 4 : i64}
      : (tensor<?x4xf32>) -> (tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
  %y = hymir.moe_experts %x, %s, %o, %l, %w, %w1, %w3, %w2
      : (tensor<?x32xbf16>, tensor<?xi32>, tensor<5xi32>, tensor<?x2xi32>, tensor<?x2xf32>,
         tensor<4x16x32xbf16>, tensor<4x16x32xbf16>, tensor<4x32x16xbf16>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}
