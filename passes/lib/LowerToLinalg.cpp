//===- LowerToLinalg.cpp - simple hymir ops to linalg ---------------------===//
//
// Rewrites hymir.linear, rms_norm, embedding and rope into linalg.generic on
// tensors (see Passes.td for the shape of each lowering). Arithmetic happens
// in f32 whatever the storage type; results are cast back at the end.
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/Passes.h"

#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRLOWERTOLINALG
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

constexpr auto kPar = kParallel;
constexpr auto kRed = kReduction;

/// Collapses `x` of rank r >= 1 to [M, last]: rank 1 becomes [1, last].
Value toRows(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  if (rank == 2)
    return x;
  if (rank == 1) {
    auto rowType =
        RankedTensorType::get({1, type.getDimSize(0)}, type.getElementType());
    SmallVector<OpFoldResult> shape = {b.getIndexAttr(1),
                                       tensor::getMixedSize(b, loc, x, 0)};
    return tensor::ExpandShapeOp::create(
        b, loc, rowType, x, SmallVector<ReassociationIndices>{{0, 1}}, shape);
  }
  ReassociationIndices leading;
  for (int64_t i = 0; i + 1 < rank; ++i)
    leading.push_back(i);
  return tensor::CollapseShapeOp::create(
      b, loc, x, SmallVector<ReassociationIndices>{leading, {rank - 1}});
}

/// Expands `rows` ([M, n]) back to `resultType`, whose leading dims are those
/// of `like` (rank r >= 1) and whose last dim is n.
Value fromRows(OpBuilder &b, Location loc, Value rows,
               RankedTensorType resultType, Value like) {
  int64_t rank = resultType.getRank();
  if (rank == 2)
    return rows;
  if (rank == 1)
    return tensor::CollapseShapeOp::create(
        b, loc, resultType, rows, SmallVector<ReassociationIndices>{{0, 1}});
  SmallVector<OpFoldResult> shape;
  for (int64_t i = 0; i + 1 < rank; ++i)
    shape.push_back(tensor::getMixedSize(b, loc, like, i));
  shape.push_back(tensor::getMixedSize(b, loc, rows, 1));
  ReassociationIndices leading;
  for (int64_t i = 0; i + 1 < rank; ++i)
    leading.push_back(i);
  return tensor::ExpandShapeOp::create(
      b, loc, resultType, rows,
      SmallVector<ReassociationIndices>{leading, {rank - 1}}, shape);
}

/// Casts an f32 tensor to `elementType` elementwise (no-op for f32).
Value castTensor(OpBuilder &b, Location loc, Value src, Type elementType) {
  auto type = cast<RankedTensorType>(src.getType());
  if (type.getElementType() == elementType)
    return src;
  Value init = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, src), elementType);
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iters(type.getRank(), kPar);
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{src}, ValueRange{init},
             ArrayRef<AffineMap>{id, id}, iters,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nl, truncFromF32(nb, nl, args[0], elementType));
             })
      .getResult(0);
}

struct LowerLinear : OpRewritePattern<LinearOp> {
  LowerLinear(MLIRContext *ctx, bool libraryGemm)
      : OpRewritePattern(ctx), libraryGemm(libraryGemm) {}
  bool libraryGemm;

  /// y[m, n] = sum_k x[m, k] w[n, k] into `init`, products and sums in f32,
  /// the result rounded to `init`'s element type.
  static linalg::GenericOp contract(PatternRewriter &rewriter, Location loc,
                                    Value x, Value w, Value init) {
    MLIRContext *ctx = rewriter.getContext();
    Type outElt = cast<RankedTensorType>(init.getType()).getElementType();
    AffineExpr m, n, k;
    bindDims(ctx, m, n, k);
    return linalg::GenericOp::create(
        rewriter, loc, init.getType(), ValueRange{x, w}, ValueRange{init},
        indexingMaps(ctx, 3, {{m, k}, {n, k}, {m, n}}),
        ArrayRef<utils::IteratorType>{kPar, kPar, kRed},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value mul = arith::MulFOp::create(b, l, extToF32(b, l, args[0]),
                                            extToF32(b, l, args[1]));
          Value sum = arith::AddFOp::create(b, l, extToF32(b, l, args[2]), mul);
          linalg::YieldOp::create(b, l, truncFromF32(b, l, sum, outElt));
        });
  }

  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = toRows(rewriter, loc, op.getX());
    Value w = op.getWeight();
    RankedTensorType resultType = op.getResult().getType();
    SmallVector<OpFoldResult> rowsShape = {
        tensor::getMixedSize(rewriter, loc, x, 0),
        tensor::getMixedSize(rewriter, loc, w, 0)};
    Value product;
    if (libraryGemm) {
      // One contraction straight into the result type, marked for the BLAS
      // (its init stays uninitialised: the BLAS runs with beta = 0).
      // cuBLASLt has no f32-operand GEMM with a bf16 result: then compute in
      // f32 and convert in a separate elementwise step.
      Type outElt = resultType.getElementType();
      if (cast<RankedTensorType>(x.getType()).getElementType().isF32())
        outElt = rewriter.getF32Type();
      Value init = tensor::EmptyOp::create(rewriter, loc, rowsShape, outElt);
      linalg::GenericOp gemm = contract(rewriter, loc, x, w, init);
      gemm->setAttr("hymir.library_call", rewriter.getStringAttr("gemm"));
      gemm->setAttr("hymir.precision", op.getPrecisionAttr());
      product = gemm.getResult(0);
    } else {
      product =
          contract(rewriter, loc, x, w, zeroTensor(rewriter, loc, rowsShape))
              .getResult(0);
    }
    Value cast =
        castTensor(rewriter, loc, product, resultType.getElementType());
    rewriter.replaceOp(op,
                       fromRows(rewriter, loc, cast, resultType, op.getX()));
    return success();
  }
};

struct LowerRmsNorm : OpRewritePattern<RmsNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RmsNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = toRows(rewriter, loc, op.getX());
    RankedTensorType resultType = op.getResult().getType();
    MLIRContext *ctx = rewriter.getContext();
    AffineExpr m, n;
    bindDims(ctx, m, n);

    // Per-row sum of squares in f32.
    Value ss =
        zeroTensor(rewriter, loc, {tensor::getMixedSize(rewriter, loc, x, 0)});
    ss = linalg::GenericOp::create(
             rewriter, loc, ss.getType(), ValueRange{x}, ValueRange{ss},
             indexingMaps(ctx, 2, {{m, n}, {m}}),
             ArrayRef<utils::IteratorType>{kPar, kRed},
             [&](OpBuilder &b, Location l, ValueRange args) {
               Value v = extToF32(b, l, args[0]);
               Value sq = arith::MulFOp::create(b, l, v, v);
               linalg::YieldOp::create(
                   b, l, ValueRange{arith::AddFOp::create(b, l, args[1], sq)});
             })
             .getResult(0);

    // y = x * rsqrt(ss / N + eps) * w, written in the result type.
    Value width = arith::IndexCastUIOp::create(
        rewriter, loc, rewriter.getI64Type(),
        tensor::DimOp::create(rewriter, loc, x, 1));
    Value widthF =
        arith::UIToFPOp::create(rewriter, loc, rewriter.getF32Type(), width);
    Value eps = arith::ConstantOp::create(rewriter, loc, op.getEpsilonAttr());
    Type outElt = resultType.getElementType();
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, x), outElt);
    Value y =
        linalg::GenericOp::create(
            rewriter, loc, init.getType(), ValueRange{x, ss, op.getWeight()},
            ValueRange{init}, indexingMaps(ctx, 2, {{m, n}, {m}, {n}, {m, n}}),
            ArrayRef<utils::IteratorType>{kPar, kPar},
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value mean = arith::DivFOp::create(b, l, args[1], widthF);
              Value inv = math::RsqrtOp::create(
                  b, l, arith::AddFOp::create(b, l, mean, eps));
              Value v =
                  arith::MulFOp::create(b, l, extToF32(b, l, args[0]), inv);
              v = arith::MulFOp::create(b, l, v, extToF32(b, l, args[2]));
              linalg::YieldOp::create(b, l, truncFromF32(b, l, v, outElt));
            })
            .getResult(0);
    rewriter.replaceOp(op, fromRows(rewriter, loc, y, resultType, op.getX()));
    return success();
  }
};

struct LowerEmbedding : OpRewritePattern<EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value table = op.getTable(), ids = op.getIds();
    RankedTensorType resultType = op.getResult().getType();
    int64_t rank = resultType.getRank();
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, ids);
    sizes.push_back(tensor::getMixedSize(rewriter, loc, table, 1));
    Value init = tensor::EmptyOp::create(rewriter, loc, sizes,
                                         resultType.getElementType());
    Value vocab = tensor::DimOp::create(rewriter, loc, table, 0);
    AffineMap idsMap = AffineMap::getMultiDimIdentityMap(rank, getContext())
                           .getMajorSubMap(rank - 1);
    SmallVector<utils::IteratorType> iters(rank, kPar);
    Value gathered =
        linalg::GenericOp::create(
            rewriter, loc, resultType, ValueRange{ids}, ValueRange{init},
            ArrayRef<AffineMap>{idsMap, rewriter.getMultiDimIdentityMap(rank)},
            iters,
            [&](OpBuilder &b, Location l, ValueRange args) {
              // Clamp the id into [0, V) so no read leaves the table.
              Value id =
                  arith::IndexCastOp::create(b, l, b.getIndexType(), args[0]);
              Value zero = arith::ConstantIndexOp::create(b, l, 0);
              Value last = arith::SubIOp::create(
                  b, l, vocab, arith::ConstantIndexOp::create(b, l, 1));
              id = arith::MaxSIOp::create(b, l, id, zero);
              id = arith::MinSIOp::create(b, l, id, last);
              Value col = linalg::IndexOp::create(b, l, rank - 1);
              Value v =
                  tensor::ExtractOp::create(b, l, table, ValueRange{id, col});
              linalg::YieldOp::create(b, l, v);
            })
            .getResult(0);
    rewriter.replaceOp(op, gathered);
    return success();
  }
};

struct LowerRope : OpRewritePattern<RopeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RopeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getX();
    RankedTensorType type = op.getResult().getType();
    Type elt = type.getElementType();
    MLIRContext *ctx = rewriter.getContext();
    AffineExpr b0, t0, h0, d0;
    bindDims(ctx, b0, t0, h0, d0);
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, x), elt);
    int64_t rotary = op.getRotaryDim(), half = rotary / 2;
    float logTheta = std::log(op.getTheta().convertToDouble());
    Value out =
        linalg::GenericOp::create(
            rewriter, loc, type, ValueRange{x, op.getPositions()},
            ValueRange{init},
            indexingMaps(ctx, 4,
                         {{b0, t0, h0, d0}, {b0, t0}, {b0, t0, h0, d0}}),
            ArrayRef<utils::IteratorType>{kPar, kPar, kPar, kPar},
            [&](OpBuilder &b, Location l, ValueRange args) {
              auto cIdx = [&](int64_t v) {
                return arith::ConstantIndexOp::create(b, l, v);
              };
              auto cF = [&](float v) {
                return arith::ConstantOp::create(b, l, b.getF32FloatAttr(v));
              };
              Value d = linalg::IndexOp::create(b, l, 3);
              Value inRotary = arith::CmpIOp::create(
                  b, l, arith::CmpIPredicate::ult, d, cIdx(rotary));
              Value firstHalf = arith::CmpIOp::create(
                  b, l, arith::CmpIPredicate::ult, d, cIdx(half));
              // Frequency index i = d mod half; partner channel d +- half,
              // kept in range for channels past rotary_dim (unused there).
              Value i = arith::RemUIOp::create(b, l, d, cIdx(half));
              Value partner = arith::SelectOp::create(
                  b, l, firstHalf, arith::AddIOp::create(b, l, d, cIdx(half)),
                  arith::SubIOp::create(b, l, d, cIdx(half)));
              partner = arith::SelectOp::create(b, l, inRotary, partner, d);
              // inv_freq = theta^(-2i / rotary) = exp(-(2i / rotary) ln theta)
              Value iF = arith::UIToFPOp::create(
                  b, l, b.getF32Type(),
                  arith::IndexCastUIOp::create(b, l, b.getI64Type(), i));
              Value expo = arith::MulFOp::create(
                  b, l, iF, cF(-2.0f * logTheta / static_cast<float>(rotary)));
              Value invFreq = math::ExpOp::create(b, l, expo);
              Value pos =
                  arith::SIToFPOp::create(b, l, b.getF32Type(), args[1]);
              Value angle = arith::MulFOp::create(b, l, pos, invFreq);
              Value cos = math::CosOp::create(b, l, angle);
              Value sin = math::SinOp::create(b, l, angle);
              Value idx[] = {linalg::IndexOp::create(b, l, 0),
                             linalg::IndexOp::create(b, l, 1),
                             linalg::IndexOp::create(b, l, 2), partner};
              Value xv = extToF32(b, l, args[0]);
              Value xp =
                  extToF32(b, l, tensor::ExtractOp::create(b, l, x, idx));
              // rotate_half: first half gets -partner, second half +partner.
              Value signedSin = arith::SelectOp::create(
                  b, l, firstHalf, arith::NegFOp::create(b, l, sin), sin);
              Value rotated = arith::AddFOp::create(
                  b, l, arith::MulFOp::create(b, l, xv, cos),
                  arith::MulFOp::create(b, l, xp, signedSin));
              Value v = arith::SelectOp::create(b, l, inRotary, rotated, xv);
              linalg::YieldOp::create(b, l, truncFromF32(b, l, v, elt));
            })
            .getResult(0);
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct HymirLowerToLinalgPass
    : hymir::impl::HymirLowerToLinalgBase<HymirLowerToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerRmsNorm, LowerEmbedding, LowerRope>(&getContext());
    if (!skipLinear)
      patterns.add<LowerLinear>(&getContext(), libraryGemm);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();
  }
};

} // namespace
