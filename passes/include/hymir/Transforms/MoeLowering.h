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

/// exp(x) of an f32 scalar from IEEE operations only (fma, add, multiply,
/// integer bit operations), so every target computes the same bits: the
/// exponential of the routing softmax, which must pick and weigh the same
/// experts on cpu and cuda. About 1 ulp; exp(x) for x < -87 (near the smallest
/// normal f32) is 0; NaN stays NaN.
Value buildRoutingExp(OpBuilder &b, Location loc, Value x);

/// Router probabilities and top-k picks on tensors.
/// Top-k picks as `k` rounds: round j holds the j-th largest entry of each
/// row [T] f32 and its column [T] i64 (the largest unpicked entry; ties to
/// the lower column); `picked` [T, E] f32 is 1 where a column was picked.
struct TopKRounds {
  Value picked;
  SmallVector<Value> values, experts;
};

struct TopKRouting : TopKRounds {
  Value probs; // [T, E] f32: softmax(logits)
};

/// softmax over dim 1 of f32 `logits` [T, E].
Value buildSoftmax(OpBuilder &b, Location loc, Value logits);

/// The top-k rounds of `input` [T, E] (bf16 or f32, compared in f32).
TopKRounds buildTopKRounds(OpBuilder &b, Location loc, Value input,
                           int64_t topK);

Value buildRouterLogits(OpBuilder &b, Location loc, Value x, Value router);

/// A softmax of `logits` [T, E] f32 over e and `topK` rounds of picks, as
/// linalg.generic ops.
/// softmax(logits) and its top-k rounds.
TopKRouting buildTopKRouting(OpBuilder &b, Location loc, Value logits,
                             int64_t topK);

/// The combine step of hymir.moe_experts: y[t] = sum_j weights[t, j] *
/// down[slots[t, j]] over the f32 rows `down` [P, N], rounded once to
/// `resultType` ([T, N] like x).
/// The routing of hymir.moe_route on f32 `logits` [T, E]: the picked
/// experts [T, top_k] i32 (descending probability, ties to the lower expert)
/// and their weights [T, top_k] f32 (renormalised to sum 1 if asked).
std::pair<Value, Value> buildMoeRouting(OpBuilder &b, Location loc,
                                        Value logits, int64_t topK,
                                        bool renormalize);

Value buildMoeCombine(OpBuilder &b, Location loc, Value weights, Value slots,
                      Value down, Value x, RankedTensorType resultType);

/// hymir.moe_route and hymir.moe_experts to linalg on tensors.
void populateMoeRoutedLoweringPatterns(RewritePatternSet &patterns);

} // namespace mlir::hymir

#endif // HYMIR_TRANSFORMS_MOELOWERING_H
