// RUN: hymir-opt %s --hymir-fuse-moe-routing=tile=4 -split-input-file | FileCheck %s

// Routing written out step by step: a softmax over the experts, top-k and
// the renormalisation w / sum(w), feeding hymir.routed_experts, fuses into
// one hymir.moe_route on the logits (renormalize on, the default, so it
// prints elided) and the grouped experts.
// CHECK-LABEL: func.func @renormalised
// CHECK: %[[S:.*]], %[[O:.*]], %[[L:.*]], %[[W:.*]] = hymir.moe_route %arg1 {tile = 4 : i64, top_k = 2 : i64} : (tensor<?x8xf32>) -> (tensor<?xi32>, tensor<9xi32>, tensor<?x2xi32>, tensor<?x2xf32>)
// CHECK: %[[Y:.*]] = hymir.moe_experts %arg0, %[[S]], %[[O]], %[[L]], %[[W]], %arg2, %arg3, %arg4
// CHECK-NOT: hymir.routed_experts
// CHECK-NOT: hymir.moe_layout
// CHECK: return %[[Y]]
func.func @renormalised(%x: tensor<?x32xbf16>, %logits: tensor<?x8xf32>, %w1: tensor<8x16x32xbf16>,
                        %w3: tensor<8x16x32xbf16>, %w2: tensor<8x32x16xbf16>) -> tensor<?x32xbf16> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %t = tensor.dim %logits, %c0 : tensor<?x8xf32>
  %e0 = tensor.empty(%t) : tensor<?x8xf32>
  %p = linalg.softmax dimension(1) ins(%logits : tensor<?x8xf32>) outs(%e0 : tensor<?x8xf32>) -> tensor<?x8xf32>
  %v, %idx = hymir.top_k %p {k = 2 : i64} : (tensor<?x8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  %e1 = tensor.empty(%t) : tensor<?xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?xf32>) -> tensor<?xf32>
  %s = linalg.reduce ins(%v : tensor<?x2xf32>) outs(%z : tensor<?xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  %e2 = tensor.empty(%t) : tensor<?x2xf32>
  %b = linalg.broadcast ins(%s : tensor<?xf32>) outs(%e2 : tensor<?x2xf32>) dimensions = [1]
  %w = arith.divf %v, %b : tensor<?x2xf32>
  %y = hymir.routed_experts %x, %idx, %w, %w1, %w3, %w2
      : (tensor<?x32xbf16>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<8x16x32xbf16>, tensor<8x16x32xbf16>, tensor<8x32x16xbf16>)
      -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// The raw top-k probabilities as weights: renormalize = false. The
// renormalisation may also be written with linalg.div (next case).
// CHECK-LABEL: func.func @raw
// CHECK: hymir.moe_route %arg1 {renormalize = false, tile = 4 : i64, top_k = 1 : i64} : (tensor<5x4xf32>) -> (tensor<17xi32>, tensor<5xi32>, tensor<5x1xi32>, tensor<5x1xf32>)
// CHECK-NOT: hymir.routed_experts
func.func @raw(%x: tensor<5x32xf32>, %logits: tensor<5x4xf32>, %w1: tensor<4x16x32xf32>,
               %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) -> tensor<5x32xf32> {
  %e0 = tensor.empty() : tensor<5x4xf32>
  %p = linalg.softmax dimension(1) ins(%logits : tensor<5x4xf32>) outs(%e0 : tensor<5x4xf32>) -> tensor<5x4xf32>
  %v, %idx = hymir.top_k %p {k = 1 : i64} : (tensor<5x4xf32>) -> (tensor<5x1xf32>, tensor<5x1xi32>)
  %y = hymir.routed_experts %x, %idx, %v, %w1, %w3, %w2
      : (tensor<5x32xf32>, tensor<5x1xi32>, tensor<5x1xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<5x32xf32>
  return %y : tensor<5x32xf32>
}

// -----

// CHECK-LABEL: func.func @linalg_div
// CHECK: hymir.moe_route %arg1 {tile = 4 : i64, top_k = 2 : i64}
// CHECK-NOT: hymir.routed_experts
func.func @linalg_div(%x: tensor<5x32xf32>, %logits: tensor<5x4xf32>, %w1: tensor<4x16x32xf32>,
                      %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) -> tensor<5x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<5x4xf32>
  %p = linalg.softmax dimension(1) ins(%logits : tensor<5x4xf32>) outs(%e0 : tensor<5x4xf32>) -> tensor<5x4xf32>
  %v, %idx = hymir.top_k %p {k = 2 : i64} : (tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>)
  %e1 = tensor.empty() : tensor<5xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<5xf32>) -> tensor<5xf32>
  %s = linalg.reduce ins(%v : tensor<5x2xf32>) outs(%z : tensor<5xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %a = arith.addf %acc, %in : f32
      linalg.yield %a : f32
    }
  %e2 = tensor.empty() : tensor<5x2xf32>
  %b = linalg.broadcast ins(%s : tensor<5xf32>) outs(%e2 : tensor<5x2xf32>) dimensions = [1]
  %e3 = tensor.empty() : tensor<5x2xf32>
  %w = linalg.div ins(%v, %b : tensor<5x2xf32>, tensor<5x2xf32>) outs(%e3 : tensor<5x2xf32>) -> tensor<5x2xf32>
  %y = hymir.routed_experts %x, %idx, %w, %w1, %w3, %w2
      : (tensor<5x32xf32>, tensor<5x2xi32>, tensor<5x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<5x32xf32>
  return %y : tensor<5x32xf32>
}

// -----

// Must not fuse: top-k of the raw logits (no softmax). The picks are laid
// out as given and the experts run on them.
// CHECK-LABEL: func.func @no_softmax
// CHECK: %[[V:.*]], %[[I:.*]] = hymir.top_k %arg1 {k = 2 : i64}
// CHECK: %[[S:.*]], %[[O:.*]], %[[L:.*]] = hymir.moe_layout %[[I]] {num_experts = 4 : i64, tile = 4 : i64} : (tensor<5x2xi32>) -> (tensor<22xi32>, tensor<5xi32>, tensor<5x2xi32>)
// CHECK: hymir.moe_experts %arg0, %[[S]], %[[O]], %[[L]], %[[V]], %arg2, %arg3, %arg4
// CHECK-NOT: hymir.moe_route
func.func @no_softmax(%x: tensor<5x32xf32>, %logits: tensor<5x4xf32>, %w1: tensor<4x16x32xf32>,
                      %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) -> tensor<5x32xf32> {
  %v, %idx = hymir.top_k %logits {k = 2 : i64} : (tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>)
  %y = hymir.routed_experts %x, %idx, %v, %w1, %w3, %w2
      : (tensor<5x32xf32>, tensor<5x2xi32>, tensor<5x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<5x32xf32>
  return %y : tensor<5x32xf32>
}

// -----

// Must not fuse: weights normalised by their maximum, not their sum.
// CHECK-LABEL: func.func @max_normalised
// CHECK: linalg.softmax
// CHECK: hymir.top_k
// CHECK: linalg.reduce
// CHECK: hymir.moe_layout
// CHECK-NOT: hymir.moe_route
func.func @max_normalised(%x: tensor<5x32xf32>, %logits: tensor<5x4xf32>, %w1: tensor<4x16x32xf32>,
                          %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) -> tensor<5x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<5x4xf32>
  %p = linalg.softmax dimension(1) ins(%logits : tensor<5x4xf32>) outs(%e0 : tensor<5x4xf32>) -> tensor<5x4xf32>
  %v, %idx = hymir.top_k %p {k = 2 : i64} : (tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>)
  %e1 = tensor.empty() : tensor<5xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<5xf32>) -> tensor<5xf32>
  %s = linalg.reduce ins(%v : tensor<5x2xf32>) outs(%z : tensor<5xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %a = arith.maximumf %in, %acc : f32
      linalg.yield %a : f32
    }
  %e2 = tensor.empty() : tensor<5x2xf32>
  %b = linalg.broadcast ins(%s : tensor<5xf32>) outs(%e2 : tensor<5x2xf32>) dimensions = [1]
  %w = arith.divf %v, %b : tensor<5x2xf32>
  %y = hymir.routed_experts %x, %idx, %w, %w1, %w3, %w2
      : (tensor<5x32xf32>, tensor<5x2xi32>, tensor<5x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<5x32xf32>
  return %y : tensor<5x32xf32>
}

// -----

// Must not fuse: a sum that starts from 1 instead of 0 (w / (1 + sum(w))).
// CHECK-LABEL: func.func @offset_sum
// CHECK: hymir.moe_layout
// CHECK-NOT: hymir.moe_route
func.func @offset_sum(%x: tensor<5x32xf32>, %logits: tensor<5x4xf32>, %w1: tensor<4x16x32xf32>,
                      %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) -> tensor<5x32xf32> {
  %one = arith.constant 1.0 : f32
  %e0 = tensor.empty() : tensor<5x4xf32>
  %p = linalg.softmax dimension(1) ins(%logits : tensor<5x4xf32>) outs(%e0 : tensor<5x4xf32>) -> tensor<5x4xf32>
  %v, %idx = hymir.top_k %p {k = 2 : i64} : (tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>)
  %e1 = tensor.empty() : tensor<5xf32>
  %z = linalg.fill ins(%one : f32) outs(%e1 : tensor<5xf32>) -> tensor<5xf32>
  %s = linalg.reduce ins(%v : tensor<5x2xf32>) outs(%z : tensor<5xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  %e2 = tensor.empty() : tensor<5x2xf32>
  %b = linalg.broadcast ins(%s : tensor<5xf32>) outs(%e2 : tensor<5x2xf32>) dimensions = [1]
  %w = arith.divf %v, %b : tensor<5x2xf32>
  %y = hymir.routed_experts %x, %idx, %w, %w1, %w3, %w2
      : (tensor<5x32xf32>, tensor<5x2xi32>, tensor<5x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<5x32xf32>
  return %y : tensor<5x32xf32>
}

// -----

// Must not fuse: a softmax over the tokens (dim 0) routes something else.
// CHECK-LABEL: func.func @softmax_over_tokens
// CHECK: linalg.softmax dimension(0)
// CHECK: hymir.moe_layout
// CHECK-NOT: hymir.moe_route
func.func @softmax_over_tokens(%x: tensor<5x32xf32>, %logits: tensor<5x4xf32>, %w1: tensor<4x16x32xf32>,
                               %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>) -> tensor<5x32xf32> {
  %e0 = tensor.empty() : tensor<5x4xf32>
  %p = linalg.softmax dimension(0) ins(%logits : tensor<5x4xf32>) outs(%e0 : tensor<5x4xf32>) -> tensor<5x4xf32>
  %v, %idx = hymir.top_k %p {k = 2 : i64} : (tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>)
  %y = hymir.routed_experts %x, %idx, %v, %w1, %w3, %w2
      : (tensor<5x32xf32>, tensor<5x2xi32>, tensor<5x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<5x32xf32>
  return %y : tensor<5x32xf32>
}

// -----

// Must not fuse: indices from a top-k over a softmax, weights from another
// tensor (the weights are not the picks' probabilities).
// CHECK-LABEL: func.func @foreign_weights
// CHECK: hymir.moe_layout
// CHECK: hymir.moe_experts %arg0, {{.*}}, %arg5, %arg2
// CHECK-NOT: hymir.moe_route
func.func @foreign_weights(%x: tensor<5x32xf32>, %logits: tensor<5x4xf32>, %w1: tensor<4x16x32xf32>,
                           %w3: tensor<4x16x32xf32>, %w2: tensor<4x32x16xf32>, %gw: tensor<5x2xf32>) -> tensor<5x32xf32> {
  %e0 = tensor.empty() : tensor<5x4xf32>
  %p = linalg.softmax dimension(1) ins(%logits : tensor<5x4xf32>) outs(%e0 : tensor<5x4xf32>) -> tensor<5x4xf32>
  %v, %idx = hymir.top_k %p {k = 2 : i64} : (tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>)
  %y = hymir.routed_experts %x, %idx, %gw, %w1, %w3, %w2
      : (tensor<5x32xf32>, tensor<5x2xi32>, tensor<5x2xf32>, tensor<4x16x32xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>)
      -> tensor<5x32xf32>
  return %y : tensor<5x32xf32>
}
