// hymir.moe lowered densely (the cpu target's correctness path): router
// logits and a softmax in f32, top_k rounds of "largest unpicked
// probability" (ties to the lower expert index), renormalised routing
// weights, every expert's SwiGLU on every token, and one weighted combine.
// RUN: hymir-opt %s -hymir-lower-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @moe
// Logits [T, E] = x . router, f32.
// CHECK:         %[[LOGITS:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0, %arg1 {{.*}} outs({{.*}} : tensor<?x4xf32>)
// Softmax: row max, sum of exponentials, probabilities. The exponential is
// buildRoutingExp's (fma-based, the same bits on every target), not
// math.exp.
// CHECK:         arith.maximumf
// CHECK-NOT:     math.exp
// CHECK:         math.fma
// CHECK:         %[[PROBS:.*]] = linalg.generic {{.*}} ins(%[[LOGITS]]
// CHECK:           math.fma
// CHECK:           arith.divf
// Two rounds of "largest unpicked probability", each marking its pick.
// CHECK:         %[[BEST0:.*]]:2 = linalg.generic {{.*}} ins(%[[PROBS]], {{.*}} outs({{.*}} : tensor<?xf32>, tensor<?xi64>)
// CHECK:         %[[PICK0:.*]] = linalg.generic {{.*}} ins({{.*}}, %[[BEST0]]#1
// CHECK:         %[[BEST1:.*]]:2 = linalg.generic {{.*}} ins(%[[PROBS]], %[[PICK0]] {{.*}} outs({{.*}} : tensor<?xf32>, tensor<?xi64>)
// CHECK:         %[[PICK1:.*]] = linalg.generic {{.*}} ins(%[[PICK0]], %[[BEST1]]#1
// Routing weights, renormalised.
// CHECK:         %[[PICKED:.*]] = linalg.generic {{.*}} ins(%[[PROBS]], %[[PICK1]]
// CHECK:         %[[TOTAL:.*]] = linalg.generic {{.*}} ins(%[[PICKED]]
// CHECK:         %[[WEIGHTS:.*]] = linalg.generic {{.*}} ins(%[[PICKED]], %[[TOTAL]]
// Gate and up projections of every expert on every token: [E, T, I].
// CHECK:         %[[GATE:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg2 {{.*}} outs({{.*}} : tensor<4x?x8xf32>)
// CHECK:         %[[UP:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg3 {{.*}} outs({{.*}} : tensor<4x?x8xf32>)
// CHECK:         %[[ACT:.*]] = linalg.generic {{.*}} ins(%[[GATE]], %[[UP]]
// CHECK:           math.exp
// The weighted combine over experts and the intermediate dim, then bf16.
// CHECK:         %[[Y:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[WEIGHTS]], %[[ACT]], %arg4
// CHECK:         linalg.generic {{.*}} ins(%[[Y]]
// CHECK:           arith.truncf {{.*}} : f32 to bf16
func.func @moe(%x: tensor<?x16xbf16>, %r: tensor<4x16xf32>, %w1: tensor<4x8x16xbf16>, %w3: tensor<4x8x16xbf16>,
               %w2: tensor<4x16x8xbf16>) -> tensor<?x16xbf16> {
  %y = hymir.moe %x, %r, %w1, %w3, %w2 {top_k = 2 : i64}
      : (tensor<?x16xbf16>, tensor<4x16xf32>, tensor<4x8x16xbf16>, tensor<4x8x16xbf16>, tensor<4x16x8xbf16>) -> tensor<?x16xbf16>
  return %y : tensor<?x16xbf16>
}
