//===- FuseKvCacheRope.cpp - the keys' RoPE into the KV-cache write -------===//
//
// hymir-fuse-kv-cache-rope (Passes.td): a hymir.rope whose only use is the
// update of a hymir.kv_cache_write becomes that write's optional RoPE
// (positions, rotary_dim, theta), which its store loop applies
// (KvCacheWriteBufferization.cpp).
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRFUSEKVCACHEROPE
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

struct FuseRopeIntoCacheWrite : OpRewritePattern<KvCacheWriteOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(KvCacheWriteOp write,
                                PatternRewriter &rewriter) const override {
    if (write.getPositions())
      return rewriter.notifyMatchFailure(write, "already applies a RoPE");
    auto rope = write.getUpdate().getDefiningOp<RopeOp>();
    if (!rope)
      return rewriter.notifyMatchFailure(write, "update is not a hymir.rope");
    // Another use would still need the rotated tensor: nothing is saved.
    if (!rope->hasOneUse())
      return rewriter.notifyMatchFailure(write, "the rope has other uses");
    auto fused = KvCacheWriteOp::create(
        rewriter, write.getLoc(), write.getResult().getType(), write.getCache(),
        rope.getX(), write.getLengths(), rope.getPositions(),
        rope.getRotaryDimAttr(), rope.getThetaAttr());
    rewriter.replaceOp(write, fused.getResult());
    rewriter.eraseOp(rope);
    return success();
  }
};

struct HymirFuseKvCacheRopePass
    : hymir::impl::HymirFuseKvCacheRopeBase<HymirFuseKvCacheRopePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseRopeIntoCacheWrite>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
