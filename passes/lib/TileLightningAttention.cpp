//===- TileLightningAttention.cpp - blocked lightning attention -----------===//
//
// Rewrites hymir.lightning_attention into the blocked algorithm: a forall
// over (batch, head, value chunk), a sequential loop over token blocks that
// carries the f32 state tile, and per block the intra-block, inter-block and
// state-update contractions as linalg.generic ops (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/Passes.h"

#include "LinalgBuilders.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRTILELIGHTNINGATTENTION
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

constexpr auto kPar = kParallel;
constexpr auto kRed = kReduction;

/// exp(-s * n) for an index n: the decay lambda^n.
Value decay(OpBuilder &b, Location loc, Value slope, Value n) {
  Value nf = arith::UIToFPOp::create(
      b, loc, b.getF32Type(),
      arith::IndexCastUIOp::create(b, loc, b.getI64Type(), n));
  Value e =
      arith::MulFOp::create(b, loc, arith::NegFOp::create(b, loc, slope), nf);
  return math::ExpOp::create(b, loc, e);
}

struct Tiler {
  LightningAttentionOp op;
  int64_t blockSize;
  int64_t valueSplit;

  LogicalResult rewrite(PatternRewriter &rewriter);
};

LogicalResult Tiler::rewrite(PatternRewriter &rewriter) {
  Location loc = op.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  auto qType = op.getQ().getType();
  auto vType = op.getV().getType();
  int64_t d = qType.getDimSize(3), dv = vType.getDimSize(3);
  if (ShapedType::isDynamic(d) || ShapedType::isDynamic(dv) ||
      ShapedType::isDynamic(qType.getDimSize(2)))
    return op.emitOpError(
        "needs a static head count and static head dims to be tiled");
  valueSplit = lightningValueSplit(dv, valueSplit);
  if (valueSplit < 1 || dv % valueSplit != 0)
    return op.emitOpError() << "value-split " << valueSplit
                            << " does not divide the value dim " << dv;
  // A static sequence shorter than a block: the next power of two covering
  // it (at least 2). The loop runs the same single iteration either way.
  int64_t staticTokens = qType.getDimSize(1);
  if (!ShapedType::isDynamic(staticTokens) && staticTokens < blockSize)
    blockSize = std::max<int64_t>(2, llvm::PowerOf2Ceil(staticTokens));
  int64_t vt = dv / valueSplit;
  Type elt = qType.getElementType();
  Type f32 = rewriter.getF32Type();
  auto idx = [&](int64_t v) -> OpFoldResult {
    return rewriter.getIndexAttr(v);
  };

  // Outputs: the result tensor and the state (initial state or zeros).
  SmallVector<OpFoldResult> outSizes =
      tensor::getMixedSizes(rewriter, loc, op.getQ());
  outSizes[3] = idx(dv);
  Value outInit = tensor::EmptyOp::create(rewriter, loc, outSizes, elt);
  OpFoldResult batch = tensor::getMixedSize(rewriter, loc, op.getQ(), 0);
  OpFoldResult tokens = tensor::getMixedSize(rewriter, loc, op.getQ(), 1);
  int64_t heads = qType.getDimSize(2);
  Value stateInit =
      op.getInitialState()
          ? op.getInitialState()
          : zeroTensor(rewriter, loc, {batch, idx(heads), idx(d), idx(dv)});

  auto forall = scf::ForallOp::create(
      rewriter, loc, ArrayRef<OpFoldResult>{batch, idx(heads), idx(valueSplit)},
      ValueRange{outInit, stateInit},
      // Block mapping (one block per batch, head and value chunk); it also
      // keeps single-iteration foralls from being folded into the host code.
      rewriter.getArrayAttr(
          {gpu::GPUBlockMappingAttr::get(ctx, gpu::MappingId::DimZ),
           gpu::GPUBlockMappingAttr::get(ctx, gpu::MappingId::DimY),
           gpu::GPUBlockMappingAttr::get(ctx, gpu::MappingId::DimX)}));
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(forall.getBody());
  Value bIv = forall.getInductionVars()[0], hIv = forall.getInductionVars()[1],
        vIv = forall.getInductionVars()[2];
  Value outArg = forall.getRegionIterArgs()[0],
        stateArg = forall.getRegionIterArgs()[1];
  Value vOff = arith::MulIOp::create(
      rewriter, loc, vIv, arith::ConstantIndexOp::create(rewriter, loc, vt));
  Value slope =
      tensor::ExtractOp::create(rewriter, loc, op.getSlopes(), ValueRange{hIv});

  // This iteration's state tile [D, Vt] and output tile [T, Vt].
  auto stateTileType = RankedTensorType::get({d, vt}, f32);
  SmallVector<OpFoldResult> one4(4, idx(1));
  Value stateTile = tensor::ExtractSliceOp::create(
      rewriter, loc, stateTileType, stateArg,
      ArrayRef<OpFoldResult>{bIv, hIv, idx(0), vOff},
      ArrayRef<OpFoldResult>{idx(1), idx(1), idx(d), idx(vt)}, one4);
  auto outTileType = RankedTensorType::get({qType.getDimSize(1), vt}, elt);
  SmallVector<OpFoldResult> outTileOffsets = {bIv, idx(0), hIv, vOff};
  SmallVector<OpFoldResult> outTileSizes = {idx(1), tokens, idx(1), idx(vt)};
  Value outTile = tensor::ExtractSliceOp::create(
      rewriter, loc, outTileType, outArg, outTileOffsets, outTileSizes, one4);

  Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value cBlock = arith::ConstantIndexOp::create(rewriter, loc, blockSize);
  Value tokensV = getValueOrCreateConstantIndexOp(rewriter, loc, tokens);
  auto loop = scf::ForOp::create(rewriter, loc, c0, tokensV, cBlock,
                                 ValueRange{stateTile, outTile});
  setLightningPart(loop, LightningPart::Blocks);
  {
    OpBuilder::InsertionGuard inner(rewriter);
    rewriter.setInsertionPointToStart(loop.getBody());
    Value t0 = loop.getInductionVar();
    Value s = loop.getRegionIterArgs()[0], o = loop.getRegionIterArgs()[1];
    // m = min(block, T - t0): the last block may be partial.
    Value m = arith::MinUIOp::create(
        rewriter, loc, cBlock,
        arith::SubIOp::create(rewriter, loc, tokensV, t0));
    auto blockType = [&](int64_t cols, Type t) {
      return RankedTensorType::get({ShapedType::kDynamic, cols}, t);
    };
    auto slice = [&](Value src, int64_t cols, Value colOffset) {
      return tensor::ExtractSliceOp::create(
          rewriter, loc, blockType(cols, elt), src,
          ArrayRef<OpFoldResult>{bIv, t0, hIv, colOffset},
          ArrayRef<OpFoldResult>{idx(1), m, idx(1), idx(cols)}, one4);
    };
    Value qb = slice(op.getQ(), d, c0), kb = slice(op.getK(), d, c0),
          vb = slice(op.getV(), vt, vOff);

    AffineExpr i, j, e, c;
    // Intra block, scores: A = Q K^T; the mask M_ij = lambda^(i-j) for
    // i >= j (else 0) is applied in the next contraction.
    bindDims(ctx, i, j, c);
    Value scoresInit = zeroTensor(rewriter, loc, {m, m});
    Value scores =
        linalg::GenericOp::create(
            rewriter, loc, scoresInit.getType(), ValueRange{qb, kb},
            ValueRange{scoresInit},
            indexingMaps(ctx, 3, {{i, c}, {j, c}, {i, j}}),
            ArrayRef<utils::IteratorType>{kPar, kPar, kRed},
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value p = arith::MulFOp::create(b, l, extToF32(b, l, a[0]),
                                              extToF32(b, l, a[1]));
              linalg::YieldOp::create(
                  b, l, ValueRange{arith::AddFOp::create(b, l, a[2], p)});
            })
            .getResult(0);
    // Intra block, output: O = A V; inter block: O += (Q * lambda^(i+1)) S.
    bindDims(ctx, i, e, j);
    Value accInit = zeroTensor(rewriter, loc, {m, idx(vt)});
    // The causal decay mask is applied inside the contraction (a separate
    // in-place mask op would be fused into it and applied once per column).
    auto intra = linalg::GenericOp::create(
        rewriter, loc, accInit.getType(), ValueRange{scores, vb},
        ValueRange{accInit}, indexingMaps(ctx, 3, {{i, j}, {j, e}, {i, e}}),
        ArrayRef<utils::IteratorType>{kPar, kPar, kRed},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value ii = linalg::IndexOp::create(b, l, 0);
          Value jj = linalg::IndexOp::create(b, l, 2);
          Value causal =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::uge, ii, jj);
          Value gap = arith::SelectOp::create(
              b, l, causal, arith::SubIOp::create(b, l, ii, jj),
              arith::ConstantIndexOp::create(b, l, 0));
          Value w = arith::MulFOp::create(b, l, a[0], decay(b, l, slope, gap));
          Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0));
          w = arith::SelectOp::create(b, l, causal, w, zero);
          Value p = arith::MulFOp::create(b, l, w, extToF32(b, l, a[1]));
          linalg::YieldOp::create(
              b, l, ValueRange{arith::AddFOp::create(b, l, a[2], p)});
        });
    setLightningPart(intra, LightningPart::Intra);
    auto inter = linalg::GenericOp::create(
        rewriter, loc, accInit.getType(), ValueRange{qb, s},
        ValueRange{intra.getResult(0)},
        indexingMaps(ctx, 3, {{i, j}, {j, e}, {i, e}}),
        ArrayRef<utils::IteratorType>{kPar, kPar, kRed},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value row = linalg::IndexOp::create(b, l, 0);
          Value next = arith::AddIOp::create(
              b, l, row, arith::ConstantIndexOp::create(b, l, 1));
          Value qd = arith::MulFOp::create(b, l, extToF32(b, l, a[0]),
                                           decay(b, l, slope, next));
          Value p = arith::MulFOp::create(b, l, qd, a[1]);
          linalg::YieldOp::create(
              b, l, ValueRange{arith::AddFOp::create(b, l, a[2], p)});
        });
    setLightningPart(inter, LightningPart::Inter);
    // The block's output, in the activation type, into the output tile.
    bindDims(ctx, i, e);
    Value cast = tensor::EmptyOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{m, idx(vt)}, elt);
    Value blockOut =
        linalg::GenericOp::create(
            rewriter, loc, cast.getType(), ValueRange{inter.getResult(0)},
            ValueRange{cast}, indexingMaps(ctx, 2, {{i, e}, {i, e}}),
            ArrayRef<utils::IteratorType>{kPar, kPar},
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value v = elt.isF32()
                            ? a[0]
                            : Value(arith::TruncFOp::create(b, l, elt, a[0]));
              linalg::YieldOp::create(b, l, ValueRange{v});
            })
            .getResult(0);
    Value newOut = tensor::InsertSliceOp::create(
        rewriter, loc, blockOut, o, ArrayRef<OpFoldResult>{t0, idx(0)},
        ArrayRef<OpFoldResult>{m, idx(vt)},
        ArrayRef<OpFoldResult>{idx(1), idx(1)});
    // State: S = lambda^m S + (K * lambda^(m-1-j))^T V.
    // In place on the carried tile, so the loop's state stays one buffer.
    Value scaled =
        linalg::GenericOp::create(
            rewriter, loc, s.getType(), ValueRange{}, ValueRange{s},
            indexingMaps(ctx, 2, {{i, e}}),
            ArrayRef<utils::IteratorType>{kPar, kPar},
            [&](OpBuilder &b, Location l, ValueRange a) {
              linalg::YieldOp::create(b, l,
                                      ValueRange{arith::MulFOp::create(
                                          b, l, a[0], decay(b, l, slope, m))});
            })
            .getResult(0);
    bindDims(ctx, c, e, j);
    auto state = linalg::GenericOp::create(
        rewriter, loc, scaled.getType(), ValueRange{kb, vb}, ValueRange{scaled},
        indexingMaps(ctx, 3, {{j, c}, {j, e}, {c, e}}),
        ArrayRef<utils::IteratorType>{kPar, kPar, kRed},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value jj = linalg::IndexOp::create(b, l, 2);
          Value last =
              arith::SubIOp::create(b, l, arith::SubIOp::create(b, l, m, jj),
                                    arith::ConstantIndexOp::create(b, l, 1));
          Value kd = arith::MulFOp::create(b, l, extToF32(b, l, a[0]),
                                           decay(b, l, slope, last));
          Value p = arith::MulFOp::create(b, l, kd, extToF32(b, l, a[1]));
          linalg::YieldOp::create(
              b, l, ValueRange{arith::AddFOp::create(b, l, a[2], p)});
        });
    setLightningPart(state, LightningPart::State);
    scf::YieldOp::create(rewriter, loc, ValueRange{state.getResult(0), newOut});
  }

  // Publish the tiles into the shared outputs.
  scf::InParallelOp terminator = forall.getTerminator();
  rewriter.setInsertionPointToStart(terminator.getBody());
  tensor::ParallelInsertSliceOp::create(rewriter, loc, loop.getResult(1),
                                        outArg, outTileOffsets, outTileSizes,
                                        one4);
  tensor::ParallelInsertSliceOp::create(
      rewriter, loc, loop.getResult(0), stateArg,
      ArrayRef<OpFoldResult>{bIv, hIv, idx(0), vOff},
      ArrayRef<OpFoldResult>{idx(1), idx(1), idx(d), idx(vt)}, one4);
  setLightningPart(forall, LightningPart::Heads);
  rewriter.replaceOp(op, forall.getResults());
  return success();
}

struct TileLightning : OpRewritePattern<LightningAttentionOp> {
  TileLightning(MLIRContext *ctx, int64_t blockSize, int64_t valueSplit)
      : OpRewritePattern(ctx), blockSize(blockSize), valueSplit(valueSplit) {}
  int64_t blockSize, valueSplit;
  LogicalResult matchAndRewrite(LightningAttentionOp op,
                                PatternRewriter &rewriter) const override {
    // A block size chosen for this op (by a target) first, then the pass's,
    // then the op's own.
    int64_t block = blockSize > 0
                        ? blockSize
                        : op.getBlockSizeAttr().getValue().getSExtValue();
    // (The dialect's verifier keeps hymir.tile_block_size positive.)
    if (IntegerAttr chosen =
            HymirDialect::TileBlockSizeAttrHelper(op.getContext()).getAttr(op))
      block = chosen.getInt();
    return Tiler{op, block, valueSplit}.rewrite(rewriter);
  }
};

struct HymirTileLightningAttentionPass
    : hymir::impl::HymirTileLightningAttentionBase<
          HymirTileLightningAttentionPass> {
  using Base::Base;
  void runOnOperation() override {
    if (blockSize < 0) {
      getOperation().emitError()
          << "block-size must be positive, got " << blockSize.getValue();
      return signalPassFailure();
    }
    SmallVector<LightningAttentionOp> ops;
    getOperation().walk([&](LightningAttentionOp op) { ops.push_back(op); });
    PatternRewriter rewriter(&getContext());
    TileLightning pattern(&getContext(), blockSize, valueSplit);
    for (LightningAttentionOp op : ops) {
      rewriter.setInsertionPoint(op);
      // The rewrite reports its own errors at the op.
      if (failed(pattern.matchAndRewrite(op, rewriter)))
        return signalPassFailure();
    }
  }
};

} // namespace

int64_t mlir::hymir::lightningValueSplit(int64_t dv, int64_t requested) {
  if (requested != 0)
    return requested;
  return (dv > 64 && dv % 64 == 0) ? dv / 64 : 1;
}
