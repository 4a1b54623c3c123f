//===- FuseMoeRouting.cpp - hymir.moe into routing + experts --------------===//
//
// Each hymir.moe becomes the router projection (a hymir.linear in true fp32),
// hymir.moe_route, which computes the routing and the grouped layout of the
// routed rows in one step, and hymir.moe_experts, which runs the experts on
// that layout. The padded row count is
// T * top_k + E * (tile - 1), the most the layout can need.
//
// Routing written out step by step feeds a hymir.routed_experts:
//
//   %p = linalg.softmax dimension(1) ins(%logits) outs(...)      (f32)
//   %w, %idx = hymir.top_k %p {k}
//   [%s = linalg.reduce { arith.addf } ins(%w) outs(<zeros>) dimensions = [1]
//    %b = linalg.broadcast ins(%s) outs(...) dimensions = [1]
//    %w = arith.divf %w, %b   (or linalg.div)]                   renormalise
//   %y = hymir.routed_experts %x, %idx, %w, %w1, %w3, %w2
//
// That chain is the routing of hymir.moe_route and fuses into it. Any other
// routing (no softmax, another normalisation, a softmax over tokens) stays
// as written, and its picks are laid out by hymir.moe_layout for the same
// hymir.moe_experts.
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/Passes.h"

#include "hymir/Codegen/Target.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRFUSEMOEROUTING
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// The types of a grouped layout (sorted_tokens, offsets, slots) of
/// `picks` per token over `experts` experts padded to `tile`: T * K + E *
/// (tile - 1) rows, the most the layout can need.
SmallVector<Type> layoutTypes(Builder &b, int64_t tokens, int64_t picks,
                              int64_t experts, int64_t tile) {
  int64_t rows = ShapedType::isDynamic(tokens) || ShapedType::isDynamic(picks)
                     ? ShapedType::kDynamic
                     : tokens * picks + experts * (tile - 1);
  Type i32 = b.getI32Type();
  return {RankedTensorType::get({rows}, i32),
          RankedTensorType::get({experts + 1}, i32),
          RankedTensorType::get({tokens, picks}, i32)};
}

/// The tile each op's layout is padded to: the pass's, or with tile 0 the
/// one the target's kernels want for the op's experts.
struct TileChoice {
  int64_t tile = 1;
  std::optional<TargetDescription> target;
  bool wgmma = true;

  int64_t of(Value x, Value w1) const {
    if (tile > 0)
      return tile;
    if (!target)
      return 1;
    auto w1Type = cast<RankedTensorType>(w1.getType());
    bool bf16 = getElementTypeOrSelf(x.getType()).isBF16() &&
                w1Type.getElementType().isBF16();
    int64_t inter = w1Type.getDimSize(1), width = w1Type.getDimSize(2);
    if (ShapedType::isDynamic(inter) || ShapedType::isDynamic(width))
      bf16 = false;
    return target->moeTile(bf16, inter, width, wgmma);
  }
};

struct SplitMoe : OpRewritePattern<MoeOp> {
  SplitMoe(MLIRContext *ctx, const TileChoice &tiles)
      : OpRewritePattern(ctx), tiles(tiles) {}
  TileChoice tiles;

  LogicalResult matchAndRewrite(MoeOp op,
                                PatternRewriter &rewriter) const override {
    auto xType = cast<RankedTensorType>(op.getX().getType());
    auto routerType = cast<RankedTensorType>(op.getRouter().getType());
    int64_t tokens = xType.getDimSize(0), experts = routerType.getDimSize(0),
            topK = op.getTopK();
    if (ShapedType::isDynamic(experts))
      return rewriter.notifyMatchFailure(op, "the expert count is dynamic");
    Type f32 = rewriter.getF32Type();
    Location loc = op.getLoc();
    // The router scores: a linear in true fp32 (operands extended to f32,
    // so that the target's BLAS can take it).
    auto toF32 = [&](Value v) -> Value {
      auto type = cast<RankedTensorType>(v.getType());
      if (type.getElementType().isF32())
        return v;
      return arith::ExtFOp::create(rewriter, loc, type.clone(f32), v);
    };
    Value logits = LinearOp::create(
        rewriter, loc, RankedTensorType::get({tokens, experts}, f32),
        toF32(op.getX()), toF32(op.getRouter()),
        rewriter.getStringAttr(stringifyPrecision(Precision::F32)));
    int64_t tile = tiles.of(op.getX(), op.getW1());
    SmallVector<Type> types =
        layoutTypes(rewriter, tokens, topK, experts, tile);
    types.push_back(RankedTensorType::get({tokens, topK}, f32));
    auto route = MoeRouteOp::create(rewriter, loc, types, logits,
                                    op.getTopKAttr(), op.getRenormalizeAttr(),
                                    rewriter.getI64IntegerAttr(tile));
    rewriter.replaceOpWithNewOp<MoeExpertsOp>(
        op, op.getResult().getType(), op.getX(), route.getSortedTokens(),
        route.getOffsets(), route.getSlots(), route.getWeights(), op.getW1(),
        op.getW3(), op.getW2());
    return success();
  }
};

/// Whether `v` is a tensor filled with +0.0 by linalg.fill.
bool isZeroFill(Value v) {
  auto fill = v.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return false;
  FloatAttr value;
  return matchPattern(fill.value(), m_Constant(&value)) &&
         value.getValue().isPosZero();
}

/// If `weights` is `values` divided by their sum over dim 1 (reduce with
/// addf from zeros, broadcast back along dim 1), returns true.
bool isRenormalised(Value weights, Value values) {
  Value num, den;
  if (auto div = weights.getDefiningOp<arith::DivFOp>()) {
    num = div.getLhs();
    den = div.getRhs();
  } else if (auto div = weights.getDefiningOp<linalg::DivOp>()) {
    num = div.getInputs()[0];
    den = div.getInputs()[1];
  } else {
    return false;
  }
  if (num != values)
    return false;
  auto bcast = den.getDefiningOp<linalg::BroadcastOp>();
  if (!bcast || bcast.getDimensions() != ArrayRef<int64_t>{1})
    return false;
  auto reduce = bcast.getInput().getDefiningOp<linalg::ReduceOp>();
  if (!reduce || reduce.getInputs().size() != 1 ||
      reduce.getInputs()[0] != values ||
      reduce.getDimensions() != ArrayRef<int64_t>{1} ||
      !isZeroFill(reduce.getInits()[0]))
    return false;
  // The body: yield(addf(in, acc)) in either order.
  Block &body = reduce.getCombiner().front();
  if (body.getOperations().size() != 2)
    return false;
  auto add = dyn_cast<arith::AddFOp>(body.front());
  auto yield = dyn_cast<linalg::YieldOp>(body.back());
  if (!add || !yield || yield.getNumOperands() != 1 ||
      yield.getOperand(0) != add.getResult())
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (add.getLhs() == a && add.getRhs() == b) ||
         (add.getLhs() == b && add.getRhs() == a);
}

/// The expert count of `w1` [E, I, N], or failure when dynamic.
FailureOr<int64_t> expertCount(Value w1) {
  int64_t e = cast<RankedTensorType>(w1.getType()).getDimSize(0);
  if (ShapedType::isDynamic(e))
    return failure();
  return e;
}

/// hymir.moe_experts over the given layout.
Value buildExperts(PatternRewriter &rewriter, RoutedExpertsOp op,
                   ValueRange layout, Value weights) {
  return MoeExpertsOp::create(rewriter, op.getLoc(), op.getResult().getType(),
                              op.getX(), layout[0], layout[1], layout[2],
                              weights, op.getW1(), op.getW3(), op.getW2());
}

/// Softmax + top_k (+ renormalise) + routed_experts: one hymir.moe_route.
struct FuseDecomposedRouting : OpRewritePattern<RoutedExpertsOp> {
  FuseDecomposedRouting(MLIRContext *ctx, const TileChoice &tiles)
      : OpRewritePattern(ctx, /*benefit=*/2), tiles(tiles) {}
  TileChoice tiles;

  LogicalResult matchAndRewrite(RoutedExpertsOp op,
                                PatternRewriter &rewriter) const override {
    auto topK = op.getIndices().getDefiningOp<TopKOp>();
    if (!topK)
      return rewriter.notifyMatchFailure(op, "indices are not a hymir.top_k");
    bool renormalize;
    if (op.getWeights() == topK.getValues())
      renormalize = false;
    else if (isRenormalised(op.getWeights(), topK.getValues()))
      renormalize = true;
    else
      return rewriter.notifyMatchFailure(
          op, "weights are neither the top_k values nor their renormalisation");
    auto softmax = topK.getInput().getDefiningOp<linalg::SoftmaxOp>();
    if (!softmax || softmax.getDimension() != 1)
      return rewriter.notifyMatchFailure(
          op, "top_k does not take a softmax over dim 1");
    Value logits = softmax.getInput();
    auto logitsType = cast<RankedTensorType>(logits.getType());
    FailureOr<int64_t> experts = expertCount(op.getW1());
    if (!logitsType.getElementType().isF32() ||
        cast<RankedTensorType>(softmax.getResult()[0].getType())
                .getElementType() != logitsType.getElementType() ||
        failed(experts) || logitsType.getDimSize(1) != *experts)
      return rewriter.notifyMatchFailure(
          op, "logits are not f32 [T, E] with E the experts of w1");
    int64_t k = topK.getK();
    int64_t tokens = logitsType.getDimSize(0);
    int64_t tile = tiles.of(op.getX(), op.getW1());
    SmallVector<Type> types = layoutTypes(rewriter, tokens, k, *experts, tile);
    types.push_back(RankedTensorType::get({tokens, k}, rewriter.getF32Type()));
    auto route = MoeRouteOp::create(
        rewriter, op.getLoc(), types, logits, topK.getKAttr(),
        rewriter.getBoolAttr(renormalize), rewriter.getI64IntegerAttr(tile));
    rewriter.replaceOp(op, buildExperts(rewriter, op,
                                        {route.getSortedTokens(),
                                         route.getOffsets(), route.getSlots()},
                                        route.getWeights()));
    return success();
  }
};

/// Any other routed_experts: its picks laid out by hymir.moe_layout.
struct LayOutRoutedExperts : OpRewritePattern<RoutedExpertsOp> {
  LayOutRoutedExperts(MLIRContext *ctx, const TileChoice &tiles)
      : OpRewritePattern(ctx, /*benefit=*/1), tiles(tiles) {}
  TileChoice tiles;

  LogicalResult matchAndRewrite(RoutedExpertsOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<int64_t> experts = expertCount(op.getW1());
    if (failed(experts))
      return rewriter.notifyMatchFailure(op, "the expert count is dynamic");
    auto indicesType = cast<RankedTensorType>(op.getIndices().getType());
    int64_t tokens = indicesType.getDimSize(0),
            picks = indicesType.getDimSize(1);
    int64_t tile = tiles.of(op.getX(), op.getW1());
    auto layout = MoeLayoutOp::create(
        rewriter, op.getLoc(),
        layoutTypes(rewriter, tokens, picks, *experts, tile), op.getIndices(),
        rewriter.getI64IntegerAttr(*experts), rewriter.getI64IntegerAttr(tile));
    rewriter.replaceOp(
        op, buildExperts(rewriter, op, layout.getResults(), op.getWeights()));
    return success();
  }
};

struct HymirFuseMoeRouting
    : hymir::impl::HymirFuseMoeRoutingBase<HymirFuseMoeRouting> {
  using HymirFuseMoeRoutingBase::HymirFuseMoeRoutingBase;

  void runOnOperation() override {
    if (tile < 0) {
      getOperation().emitError()
          << "hymir-fuse-moe-routing: tile must be at least 1 (or 0: per "
             "op), got "
          << static_cast<int64_t>(tile);
      return signalPassFailure();
    }
    TileChoice tiles;
    tiles.tile = tile;
    tiles.wgmma = wgmma;
    if (tile == 0 && !chip.empty()) {
      llvm::Expected<TargetDescription> target = lookupTarget(chip);
      if (!target) {
        getOperation().emitError()
            << "hymir-fuse-moe-routing: " << llvm::toString(target.takeError());
        return signalPassFailure();
      }
      tiles.target = *target;
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<SplitMoe, FuseDecomposedRouting, LayOutRoutedExperts>(
        &getContext(), tiles);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult left = getOperation().walk([](RoutedExpertsOp op) {
      op.emitError() << "hymir-fuse-moe-routing: the expert count (w1 dim 0) "
                        "must be static";
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
