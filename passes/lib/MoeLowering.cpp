//===- MoeLowering.cpp - MoE routing and routed experts on linalg ---------===//
//
// buildRouterLogits, buildTopKRouting: the router scores, softmax and top-k
// picks shared by the dense hymir.moe lowering and hymir.moe_route.
//
// hymir.moe_route: the picks as [T, top_k] experts and weights, then the
// grouped layout by a counting sort in one sequential task (an scf.forall
// of one iteration: count each expert's pairs, prefix-sum the counts
// rounded up to the tile, then place every pair at its expert's cursor).
//
// hymir.moe_experts: the routed rows of x gathered into the layout, the
// gate/up products of each row with its expert's W1 and W3 and the SwiGLU,
// the down product with W2, and the combine y[t] = sum_j w[t, j] o[slot].
// Arithmetic in f32, one rounding at the end, as the dense lowering.
//
// This is the cpu target's form; the GPU path needs its own kernels
// (grouped GEMMs on tensor cores, a parallel routing scan).
//
//===----------------------------------------------------------------------===//

#include "hymir/Transforms/MoeLowering.h"

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::hymir;

namespace {

constexpr auto kPar = kParallel;
constexpr auto kRed = kReduction;
using BodyFn = function_ref<void(OpBuilder &, Location, ValueRange)>;

/// Small builders over one OpBuilder and location.
struct Gen {
  OpBuilder &b;
  Location loc;

  Value generic(ValueRange ins, ValueRange outs, ArrayRef<AffineMap> maps,
                ArrayRef<utils::IteratorType> iters, BodyFn body,
                unsigned result = 0) {
    return linalg::GenericOp::create(b, loc, ValueRange(outs).getTypes(), ins,
                                     outs, maps, iters, body)
        .getResult(result);
  }
  Value empty(ArrayRef<OpFoldResult> sizes, Type t) {
    return tensor::EmptyOp::create(b, loc, sizes, t);
  }
  Value fill(ArrayRef<OpFoldResult> sizes, Type t, TypedAttr value) {
    Value c = arith::ConstantOp::create(b, loc, value);
    return linalg::FillOp::create(b, loc, ValueRange{c},
                                  ValueRange{empty(sizes, t)})
        .getResult(0);
  }
  Value zeros(ArrayRef<OpFoldResult> sizes) {
    return zeroTensor(b, loc, sizes);
  }
};

Value indexOf(OpBuilder &b, Location l, Value v) {
  return arith::IndexCastOp::create(b, l, b.getIndexType(), v);
}

Value i32Of(OpBuilder &b, Location l, Value v) {
  return arith::IndexCastOp::create(b, l, b.getI32Type(), v);
}

//===----------------------------------------------------------------------===//
// hymir.moe_route
//===----------------------------------------------------------------------===//

/// The top-k rounds as [T, k] columns: the picked experts (i32) and their
/// values (f32).
std::pair<Value, Value> roundsToColumns(OpBuilder &rewriter, Location loc,
                                        const TopKRounds &rounds,
                                        OpFoldResult tokens) {
  MLIRContext *ctx = rewriter.getContext();
  Gen g{rewriter, loc};
  int64_t topK = rounds.values.size();
  Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();
  AffineExpr t, j;
  bindDims(ctx, t, j);
  SmallVector<AffineMap> columnMaps(2 * topK, AffineMap::get(2, 0, {t}, ctx));
  columnMaps.push_back(AffineMap::get(2, 0, {t, j}, ctx));
  columnMaps.push_back(AffineMap::get(2, 0, {t, j}, ctx));
  SmallVector<Value> columns(rounds.values);
  llvm::append_range(columns, rounds.experts);
  SmallVector<Value> chooseOuts = {
      g.empty({tokens, rewriter.getIndexAttr(topK)}, i32),
      g.empty({tokens, rewriter.getIndexAttr(topK)}, f32)};
  auto choose = linalg::GenericOp::create(
      rewriter, loc, ValueRange(chooseOuts).getTypes(), columns, chooseOuts,
      columnMaps, {kPar, kPar}, [&](OpBuilder &b, Location l, ValueRange a) {
        Value col = linalg::IndexOp::create(b, l, 1);
        Value expert = a[topK], weight = a[0];
        for (int64_t r = 1; r < topK; ++r) {
          Value is =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, col,
                                    arith::ConstantIndexOp::create(b, l, r));
          expert = arith::SelectOp::create(b, l, is, a[topK + r], expert);
          weight = arith::SelectOp::create(b, l, is, a[r], weight);
        }
        expert = arith::TruncIOp::create(b, l, b.getI32Type(), expert);
        linalg::YieldOp::create(b, l, ValueRange{expert, weight});
      });
  return {choose.getResult(0), choose.getResult(1)};
}

/// The grouped layout of `chosen` [T, K] i32 experts: a counting sort in one
/// task. Picks outside [0, experts) get no row (slot -1).
SmallVector<Value> buildGroupedLayout(OpBuilder &rewriter, Location loc,
                                      Value chosen, int64_t experts,
                                      int64_t tile,
                                      RankedTensorType sortedType) {
  MLIRContext *ctx = rewriter.getContext();
  Gen g{rewriter, loc};
  Type i32 = rewriter.getI32Type();
  auto chosenType = cast<RankedTensorType>(chosen.getType());
  int64_t topK = chosenType.getDimSize(1);
  OpFoldResult tokens = tensor::getMixedSize(rewriter, loc, chosen, 0);
  SmallVector<OpFoldResult> rowSizes;
  if (sortedType.isDynamicDim(0)) {
    Value t0 = tensor::DimOp::create(rewriter, loc, chosen, 0);
    rowSizes.push_back(
        arith::AddIOp::create(
            rewriter, loc,
            arith::MulIOp::create(
                rewriter, loc, t0,
                arith::ConstantIndexOp::create(rewriter, loc, topK)),
            arith::ConstantIndexOp::create(rewriter, loc, experts * (tile - 1)))
            .getResult());
  } else {
    rowSizes.push_back(rewriter.getIndexAttr(sortedType.getDimSize(0)));
  }
  Value sortedInit = g.fill(rowSizes, i32, rewriter.getI32IntegerAttr(-1));
  Value offsetsInit = g.empty({rewriter.getIndexAttr(experts + 1)}, i32);
  Value slotsInit = g.empty({tokens, rewriter.getIndexAttr(topK)}, i32);
  auto forall = scf::ForallOp::create(
      rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)},
      ValueRange{sortedInit, offsetsInit, slotsInit},
      // One block; the mapping also keeps the single iteration from being
      // folded into the host code.
      rewriter.getArrayAttr(
          {gpu::GPUBlockMappingAttr::get(ctx, gpu::MappingId::DimX)}));
  {
    OpBuilder::InsertionGuard guard(rewriter);
    OpBuilder &b = rewriter;
    b.setInsertionPointToStart(forall.getBody());
    Value sortedArg = forall.getRegionIterArgs()[0],
          offsetsArg = forall.getRegionIterArgs()[1],
          slotsArg = forall.getRegionIterArgs()[2];
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    Value cE = arith::ConstantIndexOp::create(b, loc, experts);
    Value cK = arith::ConstantIndexOp::create(b, loc, topK);
    Value nT = tensor::DimOp::create(b, loc, chosen, 0);
    Value zero32 = arith::ConstantIntOp::create(b, loc, 0, 32);
    Value one32 = arith::ConstantIntOp::create(b, loc, 1, 32);
    Value experts32 = arith::ConstantIntOp::create(b, loc, experts, 32);
    // Zeroed counts, then one per (token, choice).
    Value counts =
        scf::ForOp::create(
            b, loc, c0, cE, c1,
            ValueRange{tensor::EmptyOp::create(
                b, loc, ArrayRef<int64_t>{experts}, b.getI32Type())},
            [&](OpBuilder &nb, Location l, Value e, ValueRange it) {
              scf::YieldOp::create(nb, l,
                                   ValueRange{tensor::InsertOp::create(
                                       nb, l, zero32, it[0], ValueRange{e})});
            })
            .getResult(0);
    // Calls `body` for every (token, choice) whose expert is in range;
    // `skipped` gives the values of the others.
    using PairFn = function_ref<SmallVector<Value>(OpBuilder &, Location, Value,
                                                   Value, Value, ValueRange)>;
    auto eachPair = [&](ValueRange init, PairFn body, PairFn skipped) {
      return scf::ForOp::create(
                 b, loc, c0, nT, c1, init,
                 [&](OpBuilder &tb, Location l, Value tok, ValueRange it) {
                   auto inner = scf::ForOp::create(
                       tb, l, c0, cK, c1, it,
                       [&](OpBuilder &jb, Location jl, Value choice,
                           ValueRange jt) {
                         Value e32 = tensor::ExtractOp::create(
                             jb, jl, chosen, ValueRange{tok, choice});
                         Value inRange = arith::AndIOp::create(
                             jb, jl,
                             arith::CmpIOp::create(jb, jl,
                                                   arith::CmpIPredicate::sge,
                                                   e32, zero32),
                             arith::CmpIOp::create(jb, jl,
                                                   arith::CmpIPredicate::slt,
                                                   e32, experts32));
                         Value e =
                             indexOf(jb, jl,
                                     arith::MaxSIOp::create(
                                         jb, jl,
                                         arith::MinSIOp::create(
                                             jb, jl, e32,
                                             arith::ConstantIntOp::create(
                                                 jb, jl, experts - 1, 32)),
                                         zero32));
                         auto branch = scf::IfOp::create(
                             jb, jl, inRange,
                             [&](OpBuilder &ib, Location il) {
                               scf::YieldOp::create(
                                   ib, il, body(ib, il, tok, choice, e, jt));
                             },
                             [&](OpBuilder &ib, Location il) {
                               scf::YieldOp::create(
                                   ib, il, skipped(ib, il, tok, choice, e, jt));
                             });
                         scf::YieldOp::create(jb, jl, branch.getResults());
                       });
                   scf::YieldOp::create(tb, l, inner.getResults());
                 })
          .getResults();
    };
    auto unchanged = [](OpBuilder &, Location, Value, Value, Value,
                        ValueRange it) { return SmallVector<Value>(it); };
    counts = eachPair(
        {counts},
        [&](OpBuilder &pb, Location l, Value, Value, Value e, ValueRange it) {
          Value n = tensor::ExtractOp::create(pb, l, it[0], e);
          Value next = arith::AddIOp::create(pb, l, n, one32);
          return SmallVector<Value>{
              tensor::InsertOp::create(pb, l, next, it[0], e)};
        },
        unchanged)[0];
    // Group starts: the running sum of the counts rounded up to the tile.
    Value tileM1 = arith::ConstantIntOp::create(b, loc, tile - 1, 32);
    Value tile32 = arith::ConstantIntOp::create(b, loc, tile, 32);
    auto prefix = scf::ForOp::create(
        b, loc, c0, cE, c1,
        ValueRange{offsetsArg,
                   tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{experts},
                                           b.getI32Type()),
                   zero32},
        [&](OpBuilder &pb, Location l, Value e, ValueRange it) {
          Value offsets = tensor::InsertOp::create(pb, l, it[2], it[0], e);
          Value cursor = tensor::InsertOp::create(pb, l, it[2], it[1], e);
          Value n = tensor::ExtractOp::create(pb, l, counts, e);
          Value padded = arith::MulIOp::create(
              pb, l,
              arith::DivUIOp::create(
                  pb, l, arith::AddIOp::create(pb, l, n, tileM1), tile32),
              tile32);
          scf::YieldOp::create(
              pb, l,
              ValueRange{offsets, cursor,
                         arith::AddIOp::create(pb, l, it[2], padded)});
        });
    Value offsets = tensor::InsertOp::create(
        b, loc, prefix.getResult(2), prefix.getResult(0), ValueRange{cE});
    // Every pair at its expert's cursor: slot and token.
    SmallVector<Value> placed = eachPair(
        {sortedArg, slotsArg, prefix.getResult(1)},
        [&](OpBuilder &pb, Location l, Value tok, Value choice, Value e,
            ValueRange it) {
          Value row = tensor::ExtractOp::create(pb, l, it[2], e);
          Value sorted = tensor::InsertOp::create(
              pb, l, i32Of(pb, l, tok), it[0], ValueRange{indexOf(pb, l, row)});
          Value slots = tensor::InsertOp::create(pb, l, row, it[1],
                                                 ValueRange{tok, choice});
          Value cursor = tensor::InsertOp::create(
              pb, l, arith::AddIOp::create(pb, l, row, one32), it[2], e);
          return SmallVector<Value>{sorted, slots, cursor};
        },
        [&](OpBuilder &pb, Location l, Value tok, Value choice, Value,
            ValueRange it) {
          Value none = arith::ConstantIntOp::create(pb, l, -1, 32);
          Value slots = tensor::InsertOp::create(pb, l, none, it[1],
                                                 ValueRange{tok, choice});
          return SmallVector<Value>{it[0], slots, it[2]};
        });
    // Sizes are taken in the body: the terminator holds only the inserts.
    SmallVector<SmallVector<OpFoldResult>> sizes = {
        tensor::getMixedSizes(b, loc, placed[0]),
        tensor::getMixedSizes(b, loc, offsets),
        tensor::getMixedSizes(b, loc, placed[1])};
    scf::InParallelOp terminator = forall.getTerminator();
    b.setInsertionPointToStart(terminator.getBody());
    int which = 0;
    auto whole = [&](Value part, Value into) {
      auto type = cast<RankedTensorType>(into.getType());
      SmallVector<OpFoldResult> offs(type.getRank(), b.getIndexAttr(0)),
          strides(type.getRank(), b.getIndexAttr(1));
      tensor::ParallelInsertSliceOp::create(b, loc, part, into, offs,
                                            sizes[which++], strides);
    };
    whole(placed[0], sortedArg);
    whole(offsets, offsetsArg);
    whole(placed[1], slotsArg);
  }
  setMoePart(forall, MoePart::Route);
  return {forall.getResult(0), forall.getResult(1), forall.getResult(2)};
}

/// Replaces `op` by `values`, casting each to the result's (more static)
/// type where they differ.
void replaceWithCasts(PatternRewriter &rewriter, Operation *op,
                      SmallVector<Value> values) {
  for (auto [i, v] : llvm::enumerate(values))
    if (v.getType() != op->getResult(i).getType())
      values[i] = tensor::CastOp::create(rewriter, op->getLoc(),
                                         op->getResult(i).getType(), v);
  rewriter.replaceOp(op, values);
}

struct LowerMoeRoute : OpRewritePattern<MoeRouteOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MoeRouteOp op,
                                PatternRewriter &rewriter) const override {
    auto logitsType = cast<RankedTensorType>(op.getLogits().getType());
    if (logitsType.isDynamicDim(1))
      return rewriter.notifyMatchFailure(op, "dynamic expert count");
    auto [chosen, weights] =
        buildMoeRouting(rewriter, op.getLoc(), op.getLogits(), op.getTopK(),
                        op.getRenormalize());
    SmallVector<Value> results = buildGroupedLayout(
        rewriter, op.getLoc(), chosen, logitsType.getDimSize(1), op.getTile(),
        cast<RankedTensorType>(op.getSortedTokens().getType()));
    results.push_back(weights);
    replaceWithCasts(rewriter, op, results);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// hymir.top_k, hymir.moe_layout
//===----------------------------------------------------------------------===//

struct LowerTopK : OpRewritePattern<TopKOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(TopKOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Gen g{rewriter, loc};
    OpFoldResult tokens = tensor::getMixedSize(rewriter, loc, op.getInput(), 0);
    TopKRounds rounds =
        buildTopKRounds(rewriter, loc, op.getInput(), op.getK());
    auto [chosen, values] = roundsToColumns(rewriter, loc, rounds, tokens);
    Type elt =
        cast<RankedTensorType>(op.getValues().getType()).getElementType();
    if (!elt.isF32()) {
      // The picked entries themselves: rounding back is exact.
      AffineExpr t, j;
      bindDims(ctx, t, j);
      values = g.generic(
          {values}, {g.empty({tokens, rewriter.getIndexAttr(op.getK())}, elt)},
          indexingMaps(ctx, 2, {{t, j}, {t, j}}), {kPar, kPar},
          [&](OpBuilder &b, Location l, ValueRange a) {
            linalg::YieldOp::create(b, l,
                                    ValueRange{truncFromF32(b, l, a[0], elt)});
          });
    }
    replaceWithCasts(rewriter, op, {values, chosen});
    return success();
  }
};

struct LowerMoeLayout : OpRewritePattern<MoeLayoutOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MoeLayoutOp op,
                                PatternRewriter &rewriter) const override {
    replaceWithCasts(rewriter, op,
                     buildGroupedLayout(rewriter, op.getLoc(), op.getIndices(),
                                        op.getNumExperts(), op.getTile(),
                                        cast<RankedTensorType>(
                                            op.getSortedTokens().getType())));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// hymir.moe_experts
//===----------------------------------------------------------------------===//

struct LowerMoeExperts : OpRewritePattern<MoeExpertsOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MoeExpertsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Gen g{rewriter, loc};
    Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();
    Value x = op.getX(), sorted = op.getSortedTokens(),
          offsets = op.getOffsets();
    Value w1 = op.getW1(), w3 = op.getW3(), w2 = op.getW2();
    auto w1Type = cast<RankedTensorType>(w1.getType());
    if (w1Type.isDynamicDim(0))
      return rewriter.notifyMatchFailure(op, "dynamic expert count");
    int64_t experts = w1Type.getDimSize(0);
    auto size = [&](Value v, int64_t d) {
      return tensor::getMixedSize(rewriter, loc, v, d);
    };
    OpFoldResult rows = size(sorted, 0), tokens = size(x, 0),
                 width = size(x, 1), inter = size(w1, 1);
    AffineExpr r, e, i, n;

    // Each row's expert: the number of groups that end at or before it
    // (clamped: rows past the layout's end hold no token).
    bindDims(ctx, r, e);
    Value rowExpert = g.generic(
        {offsets}, {g.fill({rows}, i32, rewriter.getI32IntegerAttr(0))},
        indexingMaps(ctx, 2, {{e}, {r}}), {kPar, kRed},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value row = i32Of(b, l, linalg::IndexOp::create(b, l, 0));
          Value group = linalg::IndexOp::create(b, l, 1);
          Value ended = arith::AndIOp::create(
              b, l,
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::uge, group,
                                    arith::ConstantIndexOp::create(b, l, 1)),
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::sle, a[0],
                                    row));
          Value next = arith::AddIOp::create(
              b, l, a[1], arith::ExtUIOp::create(b, l, b.getI32Type(), ended));
          Value last = arith::ConstantIntOp::create(b, l, experts - 1, 32);
          linalg::YieldOp::create(
              b, l, ValueRange{arith::MinSIOp::create(b, l, next, last)});
        });

    // The routed rows of x (zero for padding), in f32.
    bindDims(ctx, r, n);
    Value gathered = g.generic(
        {sorted}, {g.empty({rows, width}, f32)},
        indexingMaps(ctx, 2, {{r}, {r, n}}), {kPar, kPar},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value zero32 = arith::ConstantIntOp::create(b, l, 0, 32);
          Value valid = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge,
                                              a[0], zero32);
          Value tok = indexOf(b, l, arith::MaxSIOp::create(b, l, a[0], zero32));
          Value col = linalg::IndexOp::create(b, l, 1);
          Value v = extToF32(
              b, l, tensor::ExtractOp::create(b, l, x, ValueRange{tok, col}));
          Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0));
          linalg::YieldOp::create(
              b, l, ValueRange{arith::SelectOp::create(b, l, valid, v, zero)});
        });
    // (Padding rows read row 0 and discard it: calls have T >= 1.)

    // Gate and up products of each row with its expert, then the SwiGLU.
    bindDims(ctx, r, i, n);
    SmallVector<Value> productOuts = {g.zeros({rows, inter}),
                                      g.zeros({rows, inter})};
    auto products = linalg::GenericOp::create(
        rewriter, loc, ValueRange(productOuts).getTypes(),
        ValueRange{gathered, rowExpert}, productOuts,
        indexingMaps(ctx, 3, {{r, n}, {r}, {r, i}, {r, i}}), {kPar, kPar, kRed},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value ex = indexOf(b, l, a[1]);
          Value col = linalg::IndexOp::create(b, l, 1);
          Value k = linalg::IndexOp::create(b, l, 2);
          Value gw = extToF32(
              b, l,
              tensor::ExtractOp::create(b, l, w1, ValueRange{ex, col, k}));
          Value uw = extToF32(
              b, l,
              tensor::ExtractOp::create(b, l, w3, ValueRange{ex, col, k}));
          linalg::YieldOp::create(
              b, l,
              ValueRange{
                  arith::AddFOp::create(b, l, a[2],
                                        arith::MulFOp::create(b, l, a[0], gw)),
                  arith::AddFOp::create(
                      b, l, a[3], arith::MulFOp::create(b, l, a[0], uw))});
        });
    bindDims(ctx, r, i);
    Value act =
        g.generic({products.getResult(0), products.getResult(1)},
                  {g.empty({rows, inter}, f32)},
                  indexingMaps(ctx, 2, {{r, i}, {r, i}, {r, i}}), {kPar, kPar},
                  [&](OpBuilder &b, Location l, ValueRange a) {
                    linalg::YieldOp::create(
                        b, l, ValueRange{buildSwiGlu(b, l, a[0], a[1])});
                  });

    // Down product of each row with its expert.
    bindDims(ctx, r, n, i);
    Value down = g.generic(
        {act, rowExpert}, {g.zeros({rows, width})},
        indexingMaps(ctx, 3, {{r, i}, {r}, {r, n}}), {kPar, kPar, kRed},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value ex = indexOf(b, l, a[1]);
          Value col = linalg::IndexOp::create(b, l, 1);
          Value k = linalg::IndexOp::create(b, l, 2);
          Value w = extToF32(
              b, l,
              tensor::ExtractOp::create(b, l, w2, ValueRange{ex, col, k}));
          linalg::YieldOp::create(
              b, l,
              ValueRange{arith::AddFOp::create(
                  b, l, a[2], arith::MulFOp::create(b, l, a[0], w))});
        });

    rewriter.replaceOp(op, buildMoeCombine(rewriter, loc, op.getWeights(),
                                           op.getSlots(), down, x,
                                           op.getResult().getType()));
    return success();
  }
};

} // namespace

Value mlir::hymir::buildMoeCombine(OpBuilder &rb, Location loc, Value weights,
                                   Value slots, Value down, Value x,
                                   RankedTensorType resultType) {
  MLIRContext *ctx = rb.getContext();
  Gen g{rb, loc};
  OpFoldResult tokens = tensor::getMixedSize(rb, loc, x, 0),
               width = tensor::getMixedSize(rb, loc, x, 1);
  AffineExpr t, n, j;
  // y[t] = sum_j w[t, j] * down[slots[t, j]], rounded once.
  bindDims(ctx, t, n, j);
  Value sum = g.generic(
      {weights, slots}, {g.zeros({tokens, width})},
      indexingMaps(ctx, 3, {{t, j}, {t, j}, {t, n}}), {kPar, kPar, kRed},
      [&](OpBuilder &b, Location l, ValueRange a) {
        // A pick without a row (slot -1) adds nothing.
        Value zero32 = arith::ConstantIntOp::create(b, l, 0, 32);
        Value has = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, a[1],
                                          zero32);
        Value row = indexOf(b, l, arith::MaxSIOp::create(b, l, a[1], zero32));
        Value col = linalg::IndexOp::create(b, l, 1);
        Value v = tensor::ExtractOp::create(b, l, down, ValueRange{row, col});
        Value term = arith::SelectOp::create(
            b, l, has, arith::MulFOp::create(b, l, a[0], v),
            arith::ConstantOp::create(b, l, b.getF32FloatAttr(0)));
        linalg::YieldOp::create(
            b, l, ValueRange{arith::AddFOp::create(b, l, a[2], term)});
      });
  Type outElt = resultType.getElementType();
  bindDims(ctx, t, n);
  Value out =
      g.generic({sum}, {g.empty({tokens, width}, outElt)},
                indexingMaps(ctx, 2, {{t, n}, {t, n}}), {kPar, kPar},
                [&](OpBuilder &b, Location l, ValueRange a) {
                  linalg::YieldOp::create(
                      b, l, ValueRange{truncFromF32(b, l, a[0], outElt)});
                });
  if (out.getType() != resultType)
    out = tensor::CastOp::create(rb, loc, resultType, out);
  return out;
}

Value mlir::hymir::buildRouterLogits(OpBuilder &rb, Location loc, Value x,
                                     Value router) {
  MLIRContext *ctx = rb.getContext();
  Gen g{rb, loc};
  OpFoldResult tokens = tensor::getMixedSize(rb, loc, x, 0),
               experts = tensor::getMixedSize(rb, loc, router, 0);
  AffineExpr t, e, n;
  bindDims(ctx, t, e, n);
  return g.generic(
      {x, router}, {g.zeros({tokens, experts})},
      indexingMaps(ctx, 3, {{t, n}, {e, n}, {t, e}}), {kPar, kPar, kRed},
      [&](OpBuilder &b, Location l, ValueRange a) {
        Value p = arith::MulFOp::create(b, l, extToF32(b, l, a[0]),
                                        extToF32(b, l, a[1]));
        linalg::YieldOp::create(
            b, l, ValueRange{arith::AddFOp::create(b, l, a[2], p)});
      });
}

Value mlir::hymir::buildSoftmax(OpBuilder &rb, Location loc, Value logits) {
  MLIRContext *ctx = rb.getContext();
  Gen g{rb, loc};
  Type f32 = rb.getF32Type();
  OpFoldResult tokens = tensor::getMixedSize(rb, loc, logits, 0),
               experts = tensor::getMixedSize(rb, loc, logits, 1);
  AffineExpr t, e;
  bindDims(ctx, t, e);
  Value rowMax = g.generic(
      {logits},
      {g.fill({tokens}, f32,
              rb.getF32FloatAttr(-std::numeric_limits<float>::infinity()))},
      indexingMaps(ctx, 2, {{t, e}, {t}}), {kPar, kRed},
      [&](OpBuilder &b, Location l, ValueRange a) {
        linalg::YieldOp::create(
            b, l, ValueRange{arith::MaximumFOp::create(b, l, a[0], a[1])});
      });
  Value rowSum =
      g.generic({logits, rowMax}, {g.zeros({tokens})},
                indexingMaps(ctx, 2, {{t, e}, {t}, {t}}), {kPar, kRed},
                [&](OpBuilder &b, Location l, ValueRange a) {
                  Value v = buildRoutingExp(
                      b, l, arith::SubFOp::create(b, l, a[0], a[1]));
                  linalg::YieldOp::create(
                      b, l, ValueRange{arith::AddFOp::create(b, l, a[2], v)});
                });
  return g.generic(
      {logits, rowMax, rowSum}, {g.empty({tokens, experts}, f32)},
      indexingMaps(ctx, 2, {{t, e}, {t}, {t}, {t, e}}), {kPar, kPar},
      [&](OpBuilder &b, Location l, ValueRange a) {
        Value v =
            buildRoutingExp(b, l, arith::SubFOp::create(b, l, a[0], a[1]));
        linalg::YieldOp::create(
            b, l, ValueRange{arith::DivFOp::create(b, l, v, a[2])});
      });
}

TopKRounds mlir::hymir::buildTopKRounds(OpBuilder &rb, Location loc,
                                        Value input, int64_t topK) {
  MLIRContext *ctx = rb.getContext();
  Gen g{rb, loc};
  Type f32 = rb.getF32Type(), i64 = rb.getI64Type();
  OpFoldResult tokens = tensor::getMixedSize(rb, loc, input, 0),
               width = tensor::getMixedSize(rb, loc, input, 1);
  int64_t staticWidth = cast<RankedTensorType>(input.getType()).getDimSize(1);
  AffineExpr t, e;
  bindDims(ctx, t, e);
  TopKRounds out;
  // top_k rounds of "the largest unpicked entry", ties to the lower column
  // (written order-independently), marking picks in `picked`. The running
  // best starts at (-inf, past the last column), so any unpicked column
  // replaces it.
  out.picked = g.zeros({tokens, width});
  // Past the last column: E (a pick of a row with fewer than k non-NaN
  // entries stays there).
  Value pastEnd =
      ShapedType::isDynamic(staticWidth)
          ? Value(arith::IndexCastOp::create(
                rb, loc, i64, tensor::DimOp::create(rb, loc, input, 1)))
          : Value(arith::ConstantOp::create(rb, loc,
                                            rb.getI64IntegerAttr(staticWidth)));
  for (int64_t round = 0; round < topK; ++round) {
    SmallVector<Value> bestOuts = {
        g.fill({tokens}, f32,
               rb.getF32FloatAttr(-std::numeric_limits<float>::infinity())),
        linalg::FillOp::create(rb, loc, ValueRange{pastEnd},
                               ValueRange{g.empty({tokens}, i64)})
            .getResult(0)};
    auto best = linalg::GenericOp::create(
        rb, loc, ValueRange(bestOuts).getTypes(), ValueRange{input, out.picked},
        bestOuts, indexingMaps(ctx, 2, {{t, e}, {t, e}, {t}, {t}}),
        {kPar, kRed}, [&](OpBuilder &b, Location l, ValueRange a) {
          Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0));
          Value cand = extToF32(b, l, a[0]);
          Value free = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ,
                                             a[1], zero);
          Value idx = arith::IndexCastOp::create(
              b, l, b.getI64Type(), linalg::IndexOp::create(b, l, 1));
          Value greater = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT,
                                                cand, a[2]);
          Value tieLower = arith::AndIOp::create(
              b, l,
              arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, cand,
                                    a[2]),
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, idx,
                                    a[3]));
          Value take = arith::AndIOp::create(
              b, l, free, arith::OrIOp::create(b, l, greater, tieLower));
          linalg::YieldOp::create(
              b, l,
              ValueRange{arith::SelectOp::create(b, l, take, cand, a[2]),
                         arith::SelectOp::create(b, l, take, idx, a[3])});
        });
    out.values.push_back(best.getResult(0));
    out.experts.push_back(best.getResult(1));
    out.picked = g.generic(
        {out.picked, best.getResult(1)}, {g.empty({tokens, width}, f32)},
        indexingMaps(ctx, 2, {{t, e}, {t}, {t, e}}), {kPar, kPar},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value idx = arith::IndexCastOp::create(
              b, l, b.getI64Type(), linalg::IndexOp::create(b, l, 1));
          Value hit =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, idx, a[1]);
          Value one = arith::ConstantOp::create(b, l, b.getF32FloatAttr(1));
          linalg::YieldOp::create(
              b, l, ValueRange{arith::SelectOp::create(b, l, hit, one, a[0])});
        });
  }
  return out;
}

TopKRouting mlir::hymir::buildTopKRouting(OpBuilder &rb, Location loc,
                                          Value logits, int64_t topK) {
  TopKRouting out;
  out.probs = buildSoftmax(rb, loc, logits);
  static_cast<TopKRounds &>(out) = buildTopKRounds(rb, loc, out.probs, topK);
  return out;
}

std::pair<Value, Value> mlir::hymir::buildMoeRouting(OpBuilder &rb,
                                                     Location loc, Value logits,
                                                     int64_t topK,
                                                     bool renormalize) {
  MLIRContext *ctx = rb.getContext();
  Gen g{rb, loc};
  OpFoldResult tokens = tensor::getMixedSize(rb, loc, logits, 0);
  TopKRouting routing = buildTopKRouting(rb, loc, logits, topK);
  auto [chosen, weights] = roundsToColumns(rb, loc, routing, tokens);
  if (renormalize) {
    AffineExpr t, j;
    bindDims(ctx, t, j);
    Value total = g.generic(
        {weights}, {g.zeros({tokens})}, indexingMaps(ctx, 2, {{t, j}, {t}}),
        {kPar, kRed}, [&](OpBuilder &b, Location l, ValueRange a) {
          linalg::YieldOp::create(
              b, l, ValueRange{arith::AddFOp::create(b, l, a[0], a[1])});
        });
    weights = g.generic(
        {weights, total},
        {g.empty({tokens, rb.getIndexAttr(topK)}, rb.getF32Type())},
        indexingMaps(ctx, 2, {{t, j}, {t}, {t, j}}), {kPar, kPar},
        [&](OpBuilder &b, Location l, ValueRange a) {
          linalg::YieldOp::create(
              b, l, ValueRange{arith::DivFOp::create(b, l, a[0], a[1])});
        });
  }
  return {chosen, weights};
}

Value mlir::hymir::buildRoutingExp(OpBuilder &b, Location loc, Value x) {
  auto f32 = [&](float v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  Type i32 = b.getI32Type();
  auto fma = [&](Value a, Value m, Value c) -> Value {
    return math::FmaOp::create(b, loc, a, m, c);
  };
  // Below -87 the result is 0 (near the smallest normal: no subnormal
  // results, which a flush-to-zero target would treat differently) or
  // overflows to +inf through the scaling; NaN passes through the clamps.
  Value xc = arith::MinimumFOp::create(
      b, loc, arith::MaximumFOp::create(b, loc, x, f32(-88.0f)), f32(89.0f));
  // n = round(x / ln 2) by the 1.5 * 2^23 shifter (exact: |n| < 2^22).
  Value shifter = f32(12582912.0f);
  Value n = arith::SubFOp::create(
      b, loc, fma(xc, f32(1.44269504088896341f), shifter), shifter);
  // r = x - n ln 2 in two steps (ln 2 = hi + lo, hi with 8 trailing zero
  // bits so n * hi is exact), |r| <= ln(2) / 2 + a little.
  Value r = fma(n, f32(-0.693145751953125f), xc);
  r = fma(n, f32(-1.42860682030941723212e-6f), r);
  // exp(r) by its Taylor series to r^7 / 7! (the next term is under 2^-28
  // of the result), Horner on fma.
  float inverseFactorials[] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24,
                               1.0f / 6,    0.5f,       1.0f,       1.0f};
  Value p = f32(inverseFactorials[0]);
  for (float c : ArrayRef<float>(inverseFactorials).drop_front())
    p = fma(p, r, f32(c));
  // p * 2^n as p * 2^(n/2) * 2^(n - n/2): both factors normal for n in
  // [-127, 129], so only the last product rounds.
  Value ni = arith::FPToSIOp::create(b, loc, i32, n);
  Value half = arith::ShRSIOp::create(
      b, loc, ni, arith::ConstantIntOp::create(b, loc, i32, 1));
  auto pow2 = [&](Value e) -> Value {
    Value bits = arith::ShLIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc, e,
                              arith::ConstantIntOp::create(b, loc, i32, 127)),
        arith::ConstantIntOp::create(b, loc, i32, 23));
    return arith::BitcastOp::create(b, loc, b.getF32Type(), bits);
  };
  Value y = arith::MulFOp::create(
      b, loc, arith::MulFOp::create(b, loc, p, pow2(half)),
      pow2(arith::SubIOp::create(b, loc, ni, half)));
  Value tiny =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, f32(-87.0f));
  return arith::SelectOp::create(b, loc, tiny, f32(0.0f), y);
}

Value mlir::hymir::buildSwiGlu(OpBuilder &b, Location loc, Value g, Value u) {
  Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1));
  Value sig = arith::DivFOp::create(
      b, loc, one,
      arith::AddFOp::create(
          b, loc, one,
          math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, g))));
  return arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, g, sig),
                               u);
}

void mlir::hymir::populateMoeRoutedLoweringPatterns(
    RewritePatternSet &patterns) {
  patterns.add<LowerMoeRoute, LowerMoeExperts, LowerTopK, LowerMoeLayout>(
      patterns.getContext());
}
