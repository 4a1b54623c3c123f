//===- FuseMoeRouting.cpp - hymir.moe into routing + experts --------------===//
//
// Each hymir.moe becomes the router projection (a hymir.linear in true fp32),
// hymir.moe_route, which computes the routing and the grouped layout of the
// routed rows in one step, and hymir.moe_experts, which runs the experts on
// that layout. The padded row count is
// T * top_k + E * (tile - 1), the most the layout can need.
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRFUSEMOEROUTING
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

struct SplitMoe : OpRewritePattern<MoeOp> {
  SplitMoe(MLIRContext *ctx, int64_t tile)
      : OpRewritePattern(ctx), tile(tile) {}
  int64_t tile;

  LogicalResult matchAndRewrite(MoeOp op,
                                PatternRewriter &rewriter) const override {
    auto xType = cast<RankedTensorType>(op.getX().getType());
    auto routerType = cast<RankedTensorType>(op.getRouter().getType());
    int64_t tokens = xType.getDimSize(0), experts = routerType.getDimSize(0),
            topK = op.getTopK();
    if (ShapedType::isDynamic(experts))
      return rewriter.notifyMatchFailure(op, "the expert count is dynamic");
    int64_t rows = ShapedType::isDynamic(tokens)
                       ? ShapedType::kDynamic
                       : tokens * topK + experts * (tile - 1);
    Type i32 = rewriter.getI32Type(), f32 = rewriter.getF32Type();
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
        toF32(op.getX()), toF32(op.getRouter()), rewriter.getStringAttr("f32"));
    auto route = MoeRouteOp::create(
        rewriter, loc,
        TypeRange{RankedTensorType::get({rows}, i32),
                  RankedTensorType::get({experts + 1}, i32),
                  RankedTensorType::get({tokens, topK}, i32),
                  RankedTensorType::get({tokens, topK}, f32)},
        logits, op.getTopKAttr(), op.getRenormalizeAttr(),
        rewriter.getI64IntegerAttr(tile));
    rewriter.replaceOpWithNewOp<MoeExpertsOp>(
        op, op.getResult().getType(), op.getX(), route.getSortedTokens(),
        route.getOffsets(), route.getSlots(), route.getWeights(), op.getW1(),
        op.getW3(), op.getW2());
    return success();
  }
};

struct HymirFuseMoeRouting
    : hymir::impl::HymirFuseMoeRoutingBase<HymirFuseMoeRouting> {
  using HymirFuseMoeRoutingBase::HymirFuseMoeRoutingBase;

  void runOnOperation() override {
    if (tile < 1) {
      getOperation().emitError()
          << "hymir-fuse-moe-routing: tile must be at least 1, got "
          << static_cast<int64_t>(tile);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<SplitMoe>(&getContext(), tile);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
