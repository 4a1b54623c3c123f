//===- MoeLowering.h - MoE routing and experts on linalg --------*- C++ -*-===//
//
// The routing computation shared by the dense hymir.moe lowering and the
// hymir.moe_route lowering, and the patterns of the routed ops
// (MoeLowering.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TRANSFORMS_MOELOWERING_H
#define HYMIR_TRANSFORMS_MOELOWERING_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::hymir {

/// SiLU(g) * u = g / (1 + exp(-g)) * u on f32 scalars: the SwiGLU of every
/// MoE lowering (linalg bodies and GPU kernels).
Value buildSwiGlu(OpBuilder &b, Location loc, Value g, Value u);

/// Router probabilities and top-k picks on tensors.
struct TopKRouting {
  Value probs;  // [T, E] f32: softmax(x router^T)
  Value picked; // [T, E] f32: 1 where expert e is one of token t's picks
  // Per round j < top_k: the picked probability [T] f32 and expert [T] i64
  // (the largest unpicked probability, ties to the lower expert index).
  SmallVector<Value> values, experts;
};

/// logits[t, e] = x[t, :] . router[e, :] in f32 as a linalg.generic.
Value buildRouterLogits(OpBuilder &b, Location loc, Value x, Value router);

/// A softmax of `logits` [T, E] f32 over e and `topK` rounds of picks, as
/// linalg.generic ops.
TopKRouting buildTopKRouting(OpBuilder &b, Location loc, Value logits,
                             int64_t topK);

/// The combine step of hymir.moe_experts: y[t] = sum_j weights[t, j] *
/// down[slots[t, j]] over the f32 rows `down` [P, N], rounded once to
/// `resultType` ([T, N] like x).
Value buildMoeCombine(OpBuilder &b, Location loc, Value weights, Value slots,
                      Value down, Value x, RankedTensorType resultType);

/// hymir.moe_route and hymir.moe_experts to linalg on tensors.
void populateMoeRoutedLoweringPatterns(RewritePatternSet &patterns);

} // namespace mlir::hymir

#endif // HYMIR_TRANSFORMS_MOELOWERING_H
