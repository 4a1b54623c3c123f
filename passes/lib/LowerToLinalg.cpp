//===- LowerToLinalg.cpp - simple hymir ops to linalg ---------------------===//
//
// Rewrites hymir.linear, rms_norm, embedding and rope into linalg.generic on
// tensors (see Passes.td for the shape of each lowering). Arithmetic happens
// in f32 whatever the storage type; results are cast back at the end.
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/Passes.h"

#include "LinalgBuilders.h"
#include "hymir/Transforms/MoeLowering.h"
#include "hymir/Transforms/RunChecks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

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

/// Converts a bf16 or f32 tensor to `elementType` elementwise through f32
/// (no-op when the types already agree).
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
               linalg::YieldOp::create(nb, nl,
                                       truncFromF32(nb, nl,
                                                    extToF32(nb, nl, args[0]),
                                                    elementType));
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
      // cuBLASLt multiplies operands of one dtype. A bf16 x is widened
      // (exact); an f32 x over a bf16 weight is rounded to bf16 where the
      // precision allows it (activation-sized, and the weight is read as
      // stored), else the weight is widened.
      Type xElt = cast<RankedTensorType>(x.getType()).getElementType();
      Type wElt = cast<RankedTensorType>(w.getType()).getElementType();
      if (xElt != wElt) {
        if (!xElt.isF32() || op.getPrecision() == "bf16")
          x = castTensor(rewriter, loc, x, wElt);
        else
          w = castTensor(rewriter, loc, w, xElt);
      }
      // One contraction straight into the result type, marked for the BLAS
      // (its init stays uninitialised: the BLAS runs with beta = 0).
      // cuBLASLt has no f32-operand GEMM with a bf16 result: then compute in
      // f32 and convert in a separate elementwise step.
      Type outElt = resultType.getElementType();
      if (cast<RankedTensorType>(x.getType()).getElementType().isF32())
        outElt = rewriter.getF32Type();
      Value init = tensor::EmptyOp::create(rewriter, loc, rowsShape, outElt);
      linalg::GenericOp gemm = contract(rewriter, loc, x, w, init);
      setLibraryCall(gemm, LibraryCall::Gemm);
      setGemmPrecision(gemm, *symbolizePrecision(op.getPrecision()));
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

    // Per-row sums of squares in f32, twice in one pass: of x, and of x
    // scaled by 2^-100. The second is used only when the first overflows
    // (|x| beyond about 1e19 / sqrt(N)): scaled by a power of two, squares of
    // every finite f32 fit, and the result stays correct wherever it is
    // finite. For ordinary inputs the first sum and its formula are used,
    // unchanged.
    SmallVector<OpFoldResult> rowSize = {
        tensor::getMixedSize(rewriter, loc, x, 0)};
    Value ss = zeroTensor(rewriter, loc, rowSize);
    // Starts at -0.0 (the same sum): a fill of its own, which CSE does not
    // merge with the first sum's, so bufferization copies neither.
    Value ssScaled = linalg::FillOp::create(
                         rewriter, loc,
                         ValueRange{arith::ConstantOp::create(
                             rewriter, loc, rewriter.getF32FloatAttr(-0.0f))},
                         ValueRange{tensor::EmptyOp::create(
                             rewriter, loc, rowSize, rewriter.getF32Type())})
                         .getResult(0);
    Value down = arith::ConstantOp::create(
        rewriter, loc, rewriter.getF32FloatAttr(std::ldexp(1.0f, -100)));
    auto sums = linalg::GenericOp::create(
        rewriter, loc, TypeRange{ss.getType(), ssScaled.getType()},
        ValueRange{x}, ValueRange{ss, ssScaled},
        indexingMaps(ctx, 2, {{m, n}, {m}, {m}}),
        ArrayRef<utils::IteratorType>{kPar, kRed},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value v = extToF32(b, l, args[0]);
          Value sq = arith::MulFOp::create(b, l, v, v);
          Value small = arith::MulFOp::create(b, l, v, down);
          Value sqSmall = arith::MulFOp::create(b, l, small, small);
          linalg::YieldOp::create(
              b, l,
              ValueRange{arith::AddFOp::create(b, l, args[1], sq),
                         arith::AddFOp::create(b, l, args[2], sqSmall)});
        });
    ss = sums.getResult(0);
    ssScaled = sums.getResult(1);

    // y = x * rsqrt(ss / N + eps) * w, written in the result type; when ss
    // overflowed, y = (x 2^-100) * rsqrt(ssScaled / N) * w (eps 2^-200 is
    // below f32's range and below any such mean's rounding).
    Value width = arith::IndexCastUIOp::create(
        rewriter, loc, rewriter.getI64Type(),
        tensor::DimOp::create(rewriter, loc, x, 1));
    Value widthF =
        arith::UIToFPOp::create(rewriter, loc, rewriter.getF32Type(), width);
    Value eps = arith::ConstantOp::create(rewriter, loc, op.getEpsilonAttr());
    Value inf = arith::ConstantOp::create(
        rewriter, loc,
        rewriter.getF32FloatAttr(std::numeric_limits<float>::infinity()));
    Type outElt = resultType.getElementType();
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, x), outElt);
    Value y =
        linalg::GenericOp::create(
            rewriter, loc, init.getType(),
            ValueRange{x, ss, ssScaled, op.getWeight()}, ValueRange{init},
            indexingMaps(ctx, 2, {{m, n}, {m}, {m}, {n}, {m, n}}),
            ArrayRef<utils::IteratorType>{kPar, kPar},
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value xv = extToF32(b, l, args[0]);
              Value mean = arith::DivFOp::create(b, l, args[1], widthF);
              Value inv = math::RsqrtOp::create(
                  b, l, arith::AddFOp::create(b, l, mean, eps));
              Value v = arith::MulFOp::create(b, l, xv, inv);
              Value meanScaled = arith::DivFOp::create(b, l, args[2], widthF);
              Value vScaled = arith::MulFOp::create(
                  b, l, arith::MulFOp::create(b, l, xv, down),
                  math::RsqrtOp::create(b, l, meanScaled));
              Value overflowed = arith::CmpFOp::create(
                  b, l, arith::CmpFPredicate::OEQ, args[1], inf);
              v = arith::SelectOp::create(b, l, overflowed, vScaled, v);
              v = arith::MulFOp::create(b, l, v, extToF32(b, l, args[3]));
              linalg::YieldOp::create(b, l, truncFromF32(b, l, v, outElt));
            })
            .getResult(0);
    rewriter.replaceOp(op, fromRows(rewriter, loc, y, resultType, op.getX()));
    return success();
  }
};

/// hymir.moe, dense: every expert runs on every token and the routing
/// weights (zero for experts a token did not pick) combine the results. It
/// is the cpu target's correctness path (E times the FLOPs of routed
/// experts); routed grouped GEMMs are the GPU path's business.
struct LowerMoe : OpRewritePattern<MoeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MoeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Type f32 = rewriter.getF32Type();
    Value x = op.getX();
    auto size = [&](Value v, int64_t d) {
      return tensor::getMixedSize(rewriter, loc, v, d);
    };
    OpFoldResult tokens = size(x, 0), experts = size(op.getRouter(), 0),
                 inter = size(op.getW1(), 1);
    auto generic =
        [&](Type resultType, ValueRange ins, ValueRange outs,
            ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iters,
            function_ref<void(OpBuilder &, Location, ValueRange)> body) {
          return linalg::GenericOp::create(
              rewriter, loc,
              resultType ? TypeRange{resultType}
                         : TypeRange(ValueRange(outs).getTypes()),
              ins, outs, maps, iters, body);
        };
    auto fill = [&](ArrayRef<OpFoldResult> sizes, Type t, TypedAttr value) {
      Value empty = tensor::EmptyOp::create(rewriter, loc, sizes, t);
      Value c = arith::ConstantOp::create(rewriter, loc, value);
      return linalg::FillOp::create(rewriter, loc, ValueRange{c},
                                    ValueRange{empty})
          .getResult(0);
    };
    TopKRouting routing = buildTopKRouting(
        rewriter, loc, buildRouterLogits(rewriter, loc, x, op.getRouter()),
        op.getTopK());
    Value probs = routing.probs, picked = routing.picked;
    AffineExpr t, e, n, i;
    bindDims(ctx, t, e);
    auto rowMaps = indexingMaps(ctx, 2, {{t, e}, {t}});
    // Routing weights: the picked probabilities, renormalised per token.
    Value weights =
        generic(
            nullptr, {probs, picked},
            {tensor::EmptyOp::create(
                rewriter, loc, ArrayRef<OpFoldResult>{tokens, experts}, f32)},
            indexingMaps(ctx, 2, {{t, e}, {t, e}, {t, e}}), {kPar, kPar},
            [&](OpBuilder &b, Location l, ValueRange a) {
              linalg::YieldOp::create(
                  b, l, ValueRange{arith::MulFOp::create(b, l, a[0], a[1])});
            })
            .getResult(0);
    if (op.getRenormalize()) {
      Value total =
          generic(nullptr, {weights}, {zeroTensor(rewriter, loc, {tokens})},
                  rowMaps, {kPar, kRed},
                  [&](OpBuilder &b, Location l, ValueRange a) {
                    linalg::YieldOp::create(
                        b, l,
                        ValueRange{arith::AddFOp::create(b, l, a[0], a[1])});
                  })
              .getResult(0);
      weights =
          generic(
              nullptr, {weights, total},
              {tensor::EmptyOp::create(
                  rewriter, loc, ArrayRef<OpFoldResult>{tokens, experts}, f32)},
              indexingMaps(ctx, 2, {{t, e}, {t}, {t, e}}), {kPar, kPar},
              [&](OpBuilder &b, Location l, ValueRange a) {
                linalg::YieldOp::create(
                    b, l, ValueRange{arith::DivFOp::create(b, l, a[0], a[1])});
              })
              .getResult(0);
    }

    // Experts on every token: act[e, t, i] = SiLU(x W1_e^T) * (x W3_e^T).
    bindDims(ctx, e, t, i, n);
    auto project = [&](Value w) {
      return generic(nullptr, {x, w},
                     {zeroTensor(rewriter, loc, {experts, tokens, inter})},
                     indexingMaps(ctx, 4, {{t, n}, {e, i, n}, {e, t, i}}),
                     {kPar, kPar, kPar, kRed},
                     [&](OpBuilder &b, Location l, ValueRange a) {
                       Value p = arith::MulFOp::create(
                           b, l, extToF32(b, l, a[0]), extToF32(b, l, a[1]));
                       linalg::YieldOp::create(
                           b, l,
                           ValueRange{arith::AddFOp::create(b, l, a[2], p)});
                     })
          .getResult(0);
    };
    Value gate = project(op.getW1()), up = project(op.getW3());
    bindDims(ctx, e, t, i);
    Value act =
        generic(nullptr, {gate, up},
                {tensor::EmptyOp::create(
                    rewriter, loc,
                    ArrayRef<OpFoldResult>{experts, tokens, inter}, f32)},
                indexingMaps(ctx, 3, {{e, t, i}, {e, t, i}, {e, t, i}}),
                {kPar, kPar, kPar},
                [&](OpBuilder &b, Location l, ValueRange a) {
                  linalg::YieldOp::create(
                      b, l, ValueRange{buildSwiGlu(b, l, a[0], a[1])});
                })
            .getResult(0);
    // y[t, n] = sum_e weights[t, e] sum_i act[e, t, i] W2[e, n, i].
    bindDims(ctx, t, n, e, i);
    OpFoldResult width = size(x, 1);
    Value y =
        generic(nullptr, {weights, act, op.getW2()},
                {zeroTensor(rewriter, loc, {tokens, width})},
                indexingMaps(ctx, 4, {{t, e}, {e, t, i}, {e, n, i}, {t, n}}),
                {kPar, kPar, kRed, kRed},
                [&](OpBuilder &b, Location l, ValueRange a) {
                  Value p = arith::MulFOp::create(
                      b, l, arith::MulFOp::create(b, l, a[0], a[1]),
                      extToF32(b, l, a[2]));
                  linalg::YieldOp::create(
                      b, l, ValueRange{arith::AddFOp::create(b, l, a[3], p)});
                })
            .getResult(0);
    Type outElt = op.getResult().getType().getElementType();
    bindDims(ctx, t, n);
    Value out =
        generic(nullptr, {y},
                {tensor::EmptyOp::create(rewriter, loc,
                                         ArrayRef<OpFoldResult>{tokens, width},
                                         outElt)},
                indexingMaps(ctx, 2, {{t, n}, {t, n}}), {kPar, kPar},
                [&](OpBuilder &b, Location l, ValueRange a) {
                  linalg::YieldOp::create(
                      b, l, ValueRange{truncFromF32(b, l, a[0], outElt)});
                })
            .getResult(0);
    if (out.getType() != op.getResult().getType())
      out =
          tensor::CastOp::create(rewriter, loc, op.getResult().getType(), out);
    rewriter.replaceOp(op, out);
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
    SmallVector<Value> idsDims;
    for (OpFoldResult s : sizes)
      idsDims.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, s));
    sizes.push_back(tensor::getMixedSize(rewriter, loc, table, 1));
    Value init = tensor::EmptyOp::create(rewriter, loc, sizes,
                                         resultType.getElementType());
    Value vocab = tensor::DimOp::create(rewriter, loc, table, 0);
    // An id outside [0, V) is the call's error: the check the runtime reads
    // after the call (RunChecks.h).
    Value slot = createRunCheckSlot(rewriter, loc, "hymir.embedding",
                                    runCheckTensorName(ids), "id");
    AffineMap idsMap = AffineMap::getMultiDimIdentityMap(rank, getContext())
                           .getMajorSubMap(rank - 1);
    SmallVector<utils::IteratorType> iters(rank, kPar);
    Value gathered =
        linalg::GenericOp::create(
            rewriter, loc, resultType, ValueRange{ids}, ValueRange{init},
            ArrayRef<AffineMap>{idsMap, rewriter.getMultiDimIdentityMap(rank)},
            iters,
            [&](OpBuilder &b, Location l, ValueRange args) {
              SmallVector<Value> index;
              for (int64_t d = 0; d < rank; ++d)
                index.push_back(linalg::IndexOp::create(b, l, d));
              // One unsigned compare finds both a negative id (a huge
              // index) and one at or past V.
              Value id =
                  arith::IndexCastOp::create(b, l, b.getIndexType(), args[0]);
              Value bad = arith::CmpIOp::create(b, l, arith::CmpIPredicate::uge,
                                                id, vocab);
              scf::IfOp::create(b, l, bad, [&](OpBuilder &tb, Location tl) {
                // Flagged once per bad id: by the element of column 0.
                Value first = arith::CmpIOp::create(
                    tb, tl, arith::CmpIPredicate::eq, index.back(),
                    arith::ConstantIndexOp::create(tb, tl, 0));
                scf::IfOp::create(
                    tb, tl, first, [&](OpBuilder &fb, Location fl) {
                      // The id's row-major position in `ids`.
                      Value position =
                          rank > 1 ? index[0]
                                   : arith::ConstantIndexOp::create(fb, fl, 0);
                      for (int64_t d = 1; d + 1 < rank; ++d)
                        position = arith::AddIOp::create(
                            fb, fl,
                            arith::MulIOp::create(fb, fl, position, idsDims[d]),
                            index[d]);
                      flagRunCheck(fb, fl, slot, position, args[0], vocab);
                      scf::YieldOp::create(fb, fl);
                    });
                scf::YieldOp::create(tb, tl);
              });
              // The read stays inside the table: a bad id reads row 0.
              Value row = arith::SelectOp::create(
                  b, l, bad, arith::ConstantIndexOp::create(b, l, 0), id);
              Value v = tensor::ExtractOp::create(
                  b, l, table, ValueRange{row, index.back()});
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

/// `x` in a buffer of its own when it is a view that may be strided (a slice,
/// or a reshape of one): a collective moves contiguous bytes.
static Value contiguousInput(PatternRewriter &rewriter, Location loc, Value x) {
  Value root = x;
  while (Operation *def = root.getDefiningOp()) {
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(def))
      root = expand.getSrc();
    else if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def))
      root = collapse.getSrc();
    else
      break;
  }
  if (!root.getDefiningOp<tensor::ExtractSliceOp>())
    return x;
  auto type = cast<RankedTensorType>(x.getType());
  Value init = tensor::EmptyOp::create(rewriter, loc,
                                       tensor::getMixedSizes(rewriter, loc, x),
                                       type.getElementType());
  return linalg::CopyOp::create(rewriter, loc, x, init).getResult(0);
}

/// The device axis of a collective is an extra outermost loop: a single
/// device's program reads as the sum (all_reduce) or the stack (all_gather)
/// over a device axis of extent 1. Marked hymir.library_call, the plan turns
/// them into collective steps over the real devices.
struct LowerAllReduce : OpRewritePattern<AllReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AllReduceOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getX().getType());
    int64_t rank = type.getRank();
    if (rank == 0)
      return rewriter.notifyMatchFailure(op, "0-d all_reduce");
    // x as [1, ...]: the one device's contribution.
    SmallVector<int64_t> stackedShape = {1};
    llvm::append_range(stackedShape, type.getShape());
    SmallVector<ReassociationIndices> groups = {{0, 1}};
    for (int64_t d = 1; d < rank; ++d)
      groups.push_back({d + 1});
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, op.getX());
    SmallVector<OpFoldResult> stackedSizes = {rewriter.getIndexAttr(1)};
    llvm::append_range(stackedSizes, sizes);
    Value stacked = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get(stackedShape, type.getElementType()),
        contiguousInput(rewriter, loc, op.getX()), groups, stackedSizes);
    Value init =
        tensor::EmptyOp::create(rewriter, loc, sizes, type.getElementType());
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineMap> maps = {
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx),
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx).dropResult(0)};
    SmallVector<utils::IteratorType> iters(rank + 1, kPar);
    iters[0] = kRed;
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, ValueRange{stacked}, ValueRange{init}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(b, l, args[0]);
        });
    setLibraryCall(generic, LibraryCall::AllReduce);
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct LowerAllGather : OpRewritePattern<AllGatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AllGatherOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getX().getType());
    int64_t rank = type.getRank(), dim = op.getDim();
    int64_t devices =
        op.getResult().getType().getDimSize(dim) / type.getDimSize(dim);
    MLIRContext *ctx = rewriter.getContext();
    // [devices, x...]: every device's x, in device order.
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, op.getX());
    SmallVector<OpFoldResult> stackedSizes = {rewriter.getIndexAttr(devices)};
    llvm::append_range(stackedSizes, sizes);
    Value init = tensor::EmptyOp::create(rewriter, loc, stackedSizes,
                                         type.getElementType());
    SmallVector<AffineMap> maps = {
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx).dropResult(0),
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx)};
    SmallVector<utils::IteratorType> iters(rank + 1, kPar);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, init.getType(),
        ValueRange{contiguousInput(rewriter, loc, op.getX())}, ValueRange{init},
        maps, iters, [&](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(b, l, args[0]);
        });
    setLibraryCall(generic, LibraryCall::AllGather);
    Value stacked = generic.getResult(0);
    // Move the device axis next to `dim`, then merge the two.
    if (dim > 0) {
      SmallVector<int64_t> perm;
      for (int64_t d = 1; d <= dim; ++d)
        perm.push_back(d);
      perm.push_back(0);
      for (int64_t d = dim + 1; d <= rank; ++d)
        perm.push_back(d);
      SmallVector<OpFoldResult> movedSizes;
      for (int64_t p : perm)
        movedSizes.push_back(stackedSizes[p]);
      Value movedInit = tensor::EmptyOp::create(rewriter, loc, movedSizes,
                                                type.getElementType());
      stacked =
          linalg::TransposeOp::create(rewriter, loc, stacked, movedInit, perm)
              .getResult()[0];
    }
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < dim; ++d)
      groups.push_back({d});
    groups.push_back({dim, dim + 1});
    for (int64_t d = dim + 1; d < rank; ++d)
      groups.push_back({d + 1});
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
        op, op.getResult().getType(), stacked, groups);
    return success();
  }
};

/// hymir.reduce_scatter: x with its scattered dim D cut into [n, D / n] and
/// the device axis n moved outermost (a copy when it was not: device r's part
/// is then the r-th contiguous block, as NCCL's reduce-scatter reads it),
/// summed over that axis by a generic marked for the plan. On one device it
/// reads as the sum of the parts; the plan makes it the collective.
struct LowerReduceScatter : OpRewritePattern<ReduceScatterOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReduceScatterOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto type = cast<RankedTensorType>(op.getX().getType());
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    int64_t rank = type.getRank(), dim = op.getDim();
    int64_t devices = type.getDimSize(dim) / resultType.getDimSize(dim);
    Type element = type.getElementType();
    // [..., n, D / n, ...]
    SmallVector<ReassociationIndices> groups;
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, op.getX());
    SmallVector<OpFoldResult> cutSizes;
    SmallVector<int64_t> cutShape;
    for (int64_t d = 0, next = 0; d < rank; ++d) {
      if (d == dim) {
        groups.push_back({next, next + 1});
        next += 2;
        cutSizes.push_back(rewriter.getIndexAttr(devices));
        cutSizes.push_back(rewriter.getIndexAttr(resultType.getDimSize(dim)));
        cutShape.push_back(devices);
        cutShape.push_back(resultType.getDimSize(dim));
        continue;
      }
      groups.push_back({next++});
      cutSizes.push_back(sizes[d]);
      cutShape.push_back(type.getDimSize(d));
    }
    Value cut = tensor::ExpandShapeOp::create(
        rewriter, loc, RankedTensorType::get(cutShape, element),
        contiguousInput(rewriter, loc, op.getX()), groups, cutSizes);
    // The device axis outermost.
    SmallVector<OpFoldResult> stackedSizes = {rewriter.getIndexAttr(devices)};
    for (int64_t d = 0; d < rank + 1; ++d)
      if (d != dim)
        stackedSizes.push_back(cutSizes[d]);
    Value stacked = cut;
    if (dim > 0) {
      SmallVector<int64_t> perm = {dim};
      for (int64_t d = 0; d < rank + 1; ++d)
        if (d != dim)
          perm.push_back(d);
      Value init =
          tensor::EmptyOp::create(rewriter, loc, stackedSizes, element);
      stacked = linalg::TransposeOp::create(rewriter, loc, cut, init, perm)
                    .getResult()[0];
    }
    SmallVector<OpFoldResult> partSizes(stackedSizes.begin() + 1,
                                        stackedSizes.end());
    Value init = tensor::EmptyOp::create(rewriter, loc, partSizes, element);
    SmallVector<AffineMap> maps = {
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx),
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx).dropResult(0)};
    SmallVector<utils::IteratorType> iters(rank + 1, kPar);
    iters[0] = kRed;
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resultType, ValueRange{stacked}, ValueRange{init}, maps,
        iters, [&](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(b, l, args[0]);
        });
    setLibraryCall(generic, LibraryCall::ReduceScatter);
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// hymir.all_to_all as one generic over [rows, ..., peers + 1] whose two
/// outputs are copies of its two inputs: a single device's meaning (it
/// sends its rows to itself; the zeros past them are the plan step's). The
/// plan turns it into an exchange of variable row counts between the real
/// devices.
struct LowerAllToAll : OpRewritePattern<AllToAllOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AllToAllOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto type = cast<RankedTensorType>(op.getX().getType());
    auto offsetsType = cast<RankedTensorType>(op.getSendOffsets().getType());
    int64_t rank = type.getRank();
    Value rows = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, op.getX()),
        type.getElementType());
    Value offsets = tensor::EmptyOp::create(
        rewriter, loc, offsetsType.getShape(), offsetsType.getElementType());
    AffineMap rowMap =
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx).dropResult(rank);
    AffineMap peerMap =
        AffineMap::get(rank + 1, 0, getAffineDimExpr(rank, ctx), ctx);
    SmallVector<AffineMap> maps = {rowMap, peerMap, rowMap, peerMap};
    SmallVector<utils::IteratorType> iters(rank + 1, kPar);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type, offsetsType},
        ValueRange{op.getX(), op.getSendOffsets()}, ValueRange{rows, offsets},
        maps, iters, [&](OpBuilder &b, Location l, ValueRange args) {
          linalg::YieldOp::create(b, l, ValueRange{args[0], args[1]});
        });
    setLibraryCall(generic, LibraryCall::AllToAll);
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

/// hymir.device_index as a generic writing 0 (one device's meaning), marked
/// for the plan, which writes each device's index.
struct LowerDeviceIndex : OpRewritePattern<DeviceIndexOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DeviceIndexOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getResult().getType());
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                         type.getElementType());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type}, ValueRange{}, ValueRange{init},
        ArrayRef<AffineMap>{
            AffineMap::getMultiDimIdentityMap(1, rewriter.getContext())},
        ArrayRef<utils::IteratorType>{kPar},
        [&](OpBuilder &b, Location l, ValueRange) {
          linalg::YieldOp::create(
              b, l, ValueRange{arith::ConstantIntOp::create(b, l, 0, 32)});
        });
    setLibraryCall(generic, LibraryCall::DeviceIndex);
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct HymirLowerToLinalgPass
    : hymir::impl::HymirLowerToLinalgBase<HymirLowerToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerRmsNorm, LowerEmbedding, LowerRope, LowerMoe>(
        &getContext());
    populateMoeRoutedLoweringPatterns(patterns);
    if (!skipLinear)
      patterns.add<LowerLinear>(&getContext(), libraryGemm);
    if (collectives)
      patterns.add<LowerAllReduce, LowerAllGather, LowerReduceScatter,
                   LowerAllToAll, LowerDeviceIndex>(&getContext());
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();
    // A linalg.softmax left by hymir-fuse-moe-routing (routing it did not
    // fuse) becomes its max / exp / sum / divide generics.
    SmallVector<linalg::SoftmaxOp> softmaxes;
    getOperation()->walk(
        [&](linalg::SoftmaxOp op) { softmaxes.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::SoftmaxOp op : softmaxes) {
      rewriter.setInsertionPoint(op);
      FailureOr<SmallVector<Value>> parts = op.decomposeOperation(rewriter);
      if (failed(parts)) {
        op.emitError()
            << "hymir-lower-to-linalg: cannot decompose this softmax";
        return signalPassFailure();
      }
      rewriter.replaceOp(op, *parts);
    }
  }
};

} // namespace
