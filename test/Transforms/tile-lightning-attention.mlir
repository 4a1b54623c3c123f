// The blocked lightning attention: a forall over (batch, head, value chunk),
// a loop over token blocks carrying the f32 state tile, and per block the
// intra-block, inter-block and state-update contractions.
// RUN: hymir-opt %s -hymir-tile-lightning-attention="block-size=32 value-split=2" | FileCheck %s --check-prefixes=CHECK,SPLIT
// RUN: hymir-opt %s -hymir-tile-lightning-attention | FileCheck %s --check-prefixes=CHECK,DEFAULT

// CHECK-LABEL: func.func @prefill
// SPLIT:         scf.forall (%[[B:.*]], %[[H:.*]], %[[VC:.*]]) in (2, 4, 2) shared_outs(%[[O:.*]] = %{{.*}}, %[[S:.*]] = %{{.*}})
// DEFAULT:       scf.forall (%[[B:.*]], %[[H:.*]], %[[VC:.*]]) in (2, 4, 1) shared_outs(%[[O:.*]] = %{{.*}}, %[[S:.*]] = %{{.*}})
// CHECK:           %[[SLOPE:.*]] = tensor.extract %{{.*}}[%[[H]]] : tensor<4xf32>
// SPLIT:           tensor.extract_slice %[[S]][%[[B]], %[[H]], 0, %{{.*}}] [1, 1, 16, 8] {{.*}} to tensor<16x8xf32>
// DEFAULT:         tensor.extract_slice %[[S]][%[[B]], %[[H]], 0, %{{.*}}] [1, 1, 16, 16] {{.*}} to tensor<16x16xf32>
// SPLIT:           %[[STEP:.*]] = arith.constant 32 : index
// DEFAULT:         %[[STEP:.*]] = arith.constant 64 : index
// CHECK:           scf.for %[[T0:.*]] = %{{.*}} to %{{.*}} step %[[STEP]] iter_args(%[[ST:.*]] = %{{.*}}, %[[OT:.*]] = %{{.*}})
// The last block may be partial.
// CHECK:             %[[M:.*]] = arith.minui %[[STEP]], %{{.*}} : index
// CHECK:             tensor.extract_slice %{{.*}}[%[[B]], %[[T0]], %[[H]], %{{.*}}] [1, %[[M]], 1, 16]
// Scores, then the intra-block contraction with the causal decay mask.
// CHECK:             linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:             linalg.generic {{.*}} {hymir.lightning = "intra"}
// CHECK:               arith.cmpi uge
// CHECK:               math.exp
// CHECK:             linalg.generic {{.*}} ins(%{{.*}}, %[[ST]] : {{.*}}) {{.*}} {hymir.lightning = "inter"}
// CHECK:             tensor.insert_slice %{{.*}} into %[[OT]][%[[T0]], 0] [%[[M]], {{8|16}}]
// CHECK:             linalg.generic {{.*}} {hymir.lightning = "state"}
// CHECK:             scf.yield
// CHECK:           } {hymir.lightning = "blocks"}
// CHECK:           scf.forall.in_parallel {
// CHECK:             tensor.parallel_insert_slice %{{.*}} into %[[O]]
// CHECK:             tensor.parallel_insert_slice %{{.*}} into %[[S]]
// CHECK:         } {hymir.lightning = "heads", mapping = [#gpu.block<z>, #gpu.block<y>, #gpu.block<x>]}
// CHECK-NOT:     hymir.lightning_attention
func.func @prefill(%q: tensor<2x?x4x16xbf16>, %k: tensor<2x?x4x16xbf16>, %v: tensor<2x?x4x16xbf16>,
                   %s: tensor<4xf32>, %st: tensor<2x4x16x16xf32>) -> (tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>) {
  %o, %f = hymir.lightning_attention %q, %k, %v, %s initial_state(%st) {block_size = 64 : i64}
      : (tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<2x?x4x16xbf16>, tensor<4xf32>, tensor<2x4x16x16xf32>)
      -> (tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>)
  return %o, %f : tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>
}
