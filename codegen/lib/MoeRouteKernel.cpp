//===- MoeRouteKernel.cpp - hymir.moe_route as one GPU kernel -------------===//
//
// The routing of hymir.moe_route on cuda: one warp per token computes the
// softmax of its logits, the top-k picks and their (renormalised) weights
// with the arithmetic of the cpu lowering (buildMoeRouting), so both targets
// pick and weigh the same experts to the bit:
//
//   max       a shuffle butterfly of maximumf (order-free: a true maximum,
//             NaN-propagating as the cpu's);
//   sum       exp(l - max) by buildRoutingExp (IEEE operations only), added
//             in expert order 0, 1, ..., E - 1 from 0, as the cpu's loop
//             does: every lane adds the broadcast terms one by one;
//   top-k     per round the largest unpicked probability, ties to the lower
//             expert: a (value, expert) butterfly under "greater, or equal
//             with a lower expert", a total order, so the tree finds what
//             the cpu's scan finds (no pick: expert E, value -inf);
//   weights   divided by the sum of the picked values, added in pick order.
//
// Up to kMoeRouteOneBlockTokens tokens this is one kernel: one block of
// 1024 threads routes the tokens (warp w takes tokens w, w + 32, ...), then
// runs the layout phases of MoeLayoutKernel.cpp on the picks it wrote. More
// tokens take two kernels: one warp a token over as many blocks as needed,
// then the layout in one block -- a single block would route thousands of
// tokens on one SM, and blocks cannot wait for one another within a launch.
//
//===----------------------------------------------------------------------===//

#include "MoeKernels.h"

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// Threads of the one-block kernel (the layout's block).
constexpr int64_t kOneBlockThreads = 1024;
/// Warps per block of the routing kernel of larger calls.
constexpr int64_t kRouteWarps = 8;

/// Routes one token per call of `route`, one warp: lane l holds experts
/// l, l + 32, ...; lane 0 writes the picks and weights.
struct TokenRouter : GpuBuilder {
  using GpuBuilder::GpuBuilder;
  Value lane; // index, 0..31
  Value logits, picks, weights;
  int64_t experts = 0, topK = 0;
  bool renormalize = true;

  Value shuffle(Value v, Value at, gpu::ShuffleMode mode) {
    return gpu::ShuffleOp::create(b, v, at, i32(32), mode).getShuffleResult();
  }
  Value xorShuffle(Value v, int64_t offset) {
    return shuffle(v, i32(offset), gpu::ShuffleMode::XOR);
  }
  Value cmpf(arith::CmpFPredicate p, Value x, Value y) {
    return arith::CmpFOp::create(b, p, x, y);
  }
  Value cmpi(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, x, y); }

  /// The routing of token `t` (warp-uniform).
  void route(Value t) {
    Type i32Type = b.getI32Type();
    int64_t chunks = (experts + 31) / 32;
    Value negInf = f32(-std::numeric_limits<float>::infinity());
    // Each lane's logits, -inf past the last expert.
    SmallVector<Value> expert32, valid, logit;
    for (int64_t q = 0; q < chunks; ++q) {
      Value e = add(lane, 32 * q);
      valid.push_back(ult(e, idx(experts)));
      expert32.push_back(arith::IndexCastOp::create(b, i32Type, e));
      Value at = arith::MinUIOp::create(b, e, idx(experts - 1));
      Value l = memref::LoadOp::create(b, logits, ValueRange{t, at});
      logit.push_back(select(valid.back(), l, negInf));
    }
    Value m = logit[0];
    for (int64_t q = 1; q < chunks; ++q)
      m = arith::MaximumFOp::create(b, m, logit[q]);
    for (int64_t offset : {16, 8, 4, 2, 1})
      m = arith::MaximumFOp::create(b, m, xorShuffle(m, offset));
    // exp(l - max), summed in expert order by every lane.
    SmallVector<Value> ex;
    for (Value l : logit)
      ex.push_back(
          buildRoutingExp(b, b.getLoc(), arith::SubFOp::create(b, l, m)));
    Value sum = f32(0.0f);
    for (int64_t e = 0; e < experts; ++e)
      sum = arith::AddFOp::create(
          b, sum, shuffle(ex[e / 32], i32(e % 32), gpu::ShuffleMode::IDX));
    SmallVector<Value> prob;
    for (Value x : ex)
      prob.push_back(arith::DivFOp::create(b, x, sum));
    // top_k rounds of the largest unpicked probability.
    SmallVector<Value> picked(
        chunks, arith::ConstantIntOp::create(b, b.getI1Type(), 0));
    SmallVector<Value> values, chosen;
    for (int64_t r = 0; r < topK; ++r) {
      Value best = negInf, at = i32(experts);
      auto better = [&](Value v, Value e) {
        return orI(cmpf(arith::CmpFPredicate::OGT, v, best),
                   andI(cmpf(arith::CmpFPredicate::OEQ, v, best),
                        cmpi(arith::CmpIPredicate::slt, e, at)));
      };
      for (int64_t q = 0; q < chunks; ++q) {
        Value free =
            andI(valid[q], arith::XOrIOp::create(b, picked[q],
                                                 arith::ConstantIntOp::create(
                                                     b, b.getI1Type(), 1)));
        Value take = andI(free, better(prob[q], expert32[q]));
        best = select(take, prob[q], best);
        at = select(take, expert32[q], at);
      }
      for (int64_t offset : {16, 8, 4, 2, 1}) {
        Value v = xorShuffle(best, offset), e = xorShuffle(at, offset);
        Value take = better(v, e);
        best = select(take, v, best);
        at = select(take, e, at);
      }
      for (int64_t q = 0; q < chunks; ++q)
        picked[q] =
            orI(picked[q], cmpi(arith::CmpIPredicate::eq, expert32[q], at));
      values.push_back(best);
      chosen.push_back(at);
    }
    if (renormalize) {
      Value total = f32(0.0f);
      for (Value v : values)
        total = arith::AddFOp::create(b, total, v);
      for (Value &v : values)
        v = arith::DivFOp::create(b, v, total);
    }
    auto lane0 = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, idx(0)),
        /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&lane0.getThenRegion().front());
    for (int64_t r = 0; r < topK; ++r) {
      memref::StoreOp::create(b, chosen[r], picks, ValueRange{t, idx(r)});
      memref::StoreOp::create(b, values[r], weights, ValueRange{t, idx(r)});
    }
  }
};

} // namespace

SmallVector<Value>
mlir::hymir::buildMoeGpuRoute(ImplicitLocOpBuilder &b, Value logitsTensor,
                              int64_t topK, bool renormalize, int64_t tile,
                              ArrayRef<RankedTensorType> resultTypes) {
  GpuBuilder g(b);
  auto logitsType = cast<RankedTensorType>(logitsTensor.getType());
  int64_t experts = logitsType.getDimSize(1);
  Value logits = g.toBuffer(logitsTensor);
  Value tokens = memref::DimOp::create(b, logits, 0);
  auto pairType = [&](Type elt) {
    return MemRefType::get({ShapedType::kDynamic, topK}, elt);
  };
  Value picks =
      memref::AllocOp::create(b, pairType(b.getI32Type()), ValueRange{tokens});
  Value weights =
      memref::AllocOp::create(b, pairType(b.getF32Type()), ValueRange{tokens});
  MoeLayoutBuffers layout =
      allocMoeLayout(b, tokens, topK, experts, tile, resultTypes);

  auto router = [&](Value lane) {
    TokenRouter r(b);
    r.lane = lane;
    r.logits = logits;
    r.picks = picks;
    r.weights = weights;
    r.experts = experts;
    r.topK = topK;
    r.renormalize = renormalize;
    return r;
  };
  // Small calls: one block routes, then lays out.
  auto oneBlock = [&]() {
    gpu::LaunchOp launchOp =
        g.launch(g.idx(1), g.idx(1), g.idx(1), g.idx(kOneBlockThreads),
                 moeLayoutSharedBytes(b, layout), [&](gpu::LaunchOp launch) {
                   Value tid = launch.getThreadIds().x;
                   TokenRouter r = router(g.rem(tid, 32));
                   // The layout phases start with a barrier-closed fill, so the
                   // picks this loop stores are visible to every thread after
                   // it.
                   g.stridedLoop(g.div(tid, 32), tokens, kOneBlockThreads / 32,
                                 [&](Value t) { r.route(t); });
                   emitMoeLayoutPhases(b, tid, kOneBlockThreads, picks, layout);
                 });
    setMoePart(launchOp, MoePart::Route);
  };
  // Larger calls: one warp a token over the SMs, then the layout kernel.
  auto twoKernels = [&]() {
    Value blocks = g.div(g.add(tokens, kRouteWarps - 1), kRouteWarps);
    gpu::LaunchOp launchOp =
        g.launch(blocks, g.idx(1), g.idx(1), g.idx(kRouteWarps * 32), Value(),
                 [&](gpu::LaunchOp launch) {
                   Value tid = launch.getThreadIds().x;
                   TokenRouter r = router(g.rem(tid, 32));
                   Value t = g.add(g.mul(launch.getBlockIds().x, kRouteWarps),
                                   g.div(tid, 32));
                   auto inRange = scf::IfOp::create(b, g.ult(t, tokens),
                                                    /*withElseRegion=*/false);
                   OpBuilder::InsertionGuard guard(b);
                   b.setInsertionPointToStart(&inRange.getThenRegion().front());
                   r.route(t);
                 });
    setMoePart(launchOp, MoePart::Route);
    emitMoeLayoutKernel(b, picks, layout);
  };
  int64_t staticTokens = logitsType.getDimSize(0);
  if (!ShapedType::isDynamic(staticTokens)) {
    if (staticTokens <= kMoeRouteOneBlockTokens)
      oneBlock();
    else
      twoKernels();
  } else {
    // Both, each under the range of token counts it serves.
    OpBuilder::InsertionGuard guard(b);
    auto small =
        TokenGuardOp::create(b, b.getI64IntegerAttr(0),
                             b.getI64IntegerAttr(kMoeRouteOneBlockTokens));
    b.setInsertionPointToStart(&small.getBody().emplaceBlock());
    oneBlock();
    b.setInsertionPointAfter(small);
    auto large = TokenGuardOp::create(
        b, b.getI64IntegerAttr(kMoeRouteOneBlockTokens + 1),
        b.getI64IntegerAttr(-1));
    b.setInsertionPointToStart(&large.getBody().emplaceBlock());
    twoKernels();
  }
  SmallVector<Value> results = moeLayoutResults(b, layout, resultTypes);
  Value w = bufferization::ToTensorOp::create(
      b, RankedTensorType::get({ShapedType::kDynamic, topK}, b.getF32Type()),
      weights, /*restrict=*/true, /*writable=*/true);
  if (w.getType() != resultTypes[3])
    w = tensor::CastOp::create(b, resultTypes[3], w);
  results.push_back(w);
  return results;
}
