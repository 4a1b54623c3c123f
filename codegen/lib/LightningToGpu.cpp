//===- LightningToGpu.cpp - tiled lightning attention as GPU kernels -----===//
//
// The pass hymir-lightning-to-gpu maps the tiled form of lightning attention
// (hymir-tile-lightning-attention: a forall over (batch, head, value chunk)
// holding a loop over token blocks that carries the f32 state, with the
// intra-block, inter-block and state-update contractions marked by
// hymir.lightning) onto GPU kernels. It recovers the algorithm's parameters
// from that IR (matchTiledLightning: operands, block size, value split,
// initial state), refuses a form it cannot map with a diagnostic, picks the
// kernels that apply to the shapes (the shape policy below), turns the
// operands into buffers and emits one gpu.launch per kernel over (value
// chunk, head, batch): the forall's iterations as the grid. The kernel
// bodies live one family a file (LightningKernels.h): blocked SIMT, decode
// and tensor-core.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Codegen/Target.h"
#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "LightningHopperKernel.h"
#include "LightningKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Matchers.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRLIGHTNINGTOGPU
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

//===----------------------------------------------------------------------===//
// The tiled form, recovered from the IR
//===----------------------------------------------------------------------===//

/// What the tiled form of one lightning attention says: its operands (from
/// the slices its contractions read), the initial state (the forall's state
/// init unless that is a zero fill), tokens per block (the block loop's
/// step) and value chunks (the forall's last bound).
struct TiledLightning {
  scf::ForallOp forall;
  Value q, k, v, slopes, initialState;
  int64_t block = 0, valueSplit = 0;
  RankedTensorType outType, stateType;
};

/// An error at tiled lightning attention's forall (the op's location),
/// named for the user as the op it came from.
InFlightDiagnostic reportAt(scf::ForallOp forall) {
  return emitError(forall.getLoc()) << "tiled lightning attention: ";
}

/// Whether `op`'s indexing maps are `lists` (results by dim number) over
/// `dims` dims.
bool hasMaps(linalg::GenericOp op, unsigned dims,
             ArrayRef<SmallVector<unsigned>> lists) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps.size() != lists.size())
    return false;
  for (auto [map, list] : llvm::zip(maps, lists)) {
    if (map.getNumDims() != dims || map.getNumSymbols() != 0 ||
        map !=
            AffineMap::getMultiDimMapWithTargets(dims, list, op.getContext()))
      return false;
  }
  return true;
}

/// A contraction over (parallel, parallel, reduction) with `maps`.
bool isContraction(linalg::GenericOp op, ArrayRef<SmallVector<unsigned>> maps) {
  using utils::IteratorType;
  return op && op.getNumDpsInputs() == 2 && op.getNumDpsInits() == 1 &&
         op.getIteratorTypesArray() ==
             SmallVector<IteratorType>{IteratorType::parallel,
                                       IteratorType::parallel,
                                       IteratorType::reduction} &&
         hasMaps(op, 3, maps);
}

/// Whether `op`'s payload applies a decay power exp(-slope n) of `slope`.
bool appliesDecay(linalg::GenericOp op, Value slope) {
  bool found = false;
  op.getRegion().walk([&](math::ExpOp exp) {
    auto mul = exp.getOperand().getDefiningOp<arith::MulFOp>();
    if (!mul)
      return;
    for (Value factor : mul->getOperands())
      if (auto neg = factor.getDefiningOp<arith::NegFOp>())
        found |= neg.getOperand() == slope;
  });
  return found;
}

/// Whether `count` is the size of `x`'s token dimension (dim 1): a
/// tensor.dim of it, or the size a view that defines `x` names for that
/// dimension (an extract_slice's size, an expand_shape's output shape; a
/// tensor.cast is looked through). Canonicalization folds tensor.dim of such
/// a view into that size, as with the importer's q, k, v: slices of an
/// expand_shape over the layer's token-count argument.
bool isTokenCountOf(Value count, Value x) {
  auto names = [&](OpFoldResult size) {
    auto value = dyn_cast<Value>(size);
    return value && value == count;
  };
  while (x) {
    if (auto dim = count.getDefiningOp<tensor::DimOp>();
        dim && dim.getSource() == x &&
        isConstantIntValue(dim.getDimension(), 1))
      return true;
    if (auto slice = x.getDefiningOp<tensor::ExtractSliceOp>())
      return slice.getSourceType().getRank() == slice.getType().getRank() &&
             names(slice.getMixedSizes()[1]);
    if (auto expand = x.getDefiningOp<tensor::ExpandShapeOp>())
      return names(expand.getMixedOutputShape()[1]);
    auto cast = x.getDefiningOp<tensor::CastOp>();
    if (!cast)
      return false;
    x = cast.getSource();
  }
  return false;
}

/// Matches the tiled form hymir-tile-lightning-attention writes, rooted at
/// a forall marked hymir.lightning = "heads"; reports at the forall why a
/// form is refused.
FailureOr<TiledLightning> matchTiledLightning(scf::ForallOp forall) {
  auto refuse = [&](const Twine &why) -> FailureOr<TiledLightning> {
    reportAt(forall) << "not a form hymir-lightning-to-gpu can map: " << why;
    return failure();
  };
  auto outside = [&](Value v) {
    return !forall.getRegion().isAncestor(v.getParentRegion());
  };
  TiledLightning t;
  t.forall = forall;
  // The forall over (batch, head, value chunk) from 0 by 1, sharing the
  // output and the state.
  if (forall.getRank() != 3 || forall.getNumResults() != 2)
    return refuse("expected a forall over (batch, head, value chunk) with "
                  "two shared outputs (out, state)");
  for (OpFoldResult lb : forall.getMixedLowerBound())
    if (!isConstantIntValue(lb, 0))
      return refuse("expected lower bounds of 0");
  for (OpFoldResult step : forall.getMixedStep())
    if (!isConstantIntValue(step, 1))
      return refuse("expected steps of 1");
  std::optional<int64_t> split =
      getConstantIntValue(forall.getMixedUpperBound()[2]);
  if (!split || *split < 1)
    return refuse("expected a static count of value chunks");
  t.valueSplit = *split;
  t.outType = dyn_cast<RankedTensorType>(forall.getResult(0).getType());
  t.stateType = dyn_cast<RankedTensorType>(forall.getResult(1).getType());
  if (!t.outType || !t.stateType || t.outType.getRank() != 4 ||
      t.stateType.getRank() != 4 || !t.stateType.getElementType().isF32())
    return refuse("expected an out [B, T, H, Dv] and an f32 state "
                  "[B, H, D, Dv]");
  // An offset at induction variable `i` (0 where canonicalization folded a
  // single iteration).
  auto atIv = [&](OpFoldResult offset, unsigned i) {
    return offset == getAsOpFoldResult(forall.getInductionVar(i)) ||
           (isConstantIntValue(forall.getMixedUpperBound()[i], 1) &&
            isConstantIntValue(offset, 0));
  };
  Value outArg = forall.getRegionIterArgs()[0],
        stateArg = forall.getRegionIterArgs()[1];

  // The loop over token blocks carrying (state tile, output tile).
  scf::ForOp loop;
  for (auto candidate : forall.getBody()->getOps<scf::ForOp>()) {
    if (getLightningPart(candidate) != LightningPart::Blocks)
      continue;
    if (loop)
      return refuse("expected one loop over token blocks, found two");
    loop = candidate;
  }
  if (!loop)
    return refuse("expected a loop over token blocks (hymir.lightning = "
                  "\"blocks\")");
  std::optional<int64_t> step = getConstantIntValue(loop.getStep());
  if (!isConstantIntValue(loop.getLowerBound(), 0) || !step || *step < 1)
    return refuse("expected the block loop to start at 0 with a static "
                  "step (the block size)");
  t.block = *step;
  if (loop.getNumRegionIterArgs() != 2)
    return refuse("expected the block loop to carry the state tile and the "
                  "output tile");
  auto stateTile =
      loop.getInitArgs()[0].getDefiningOp<tensor::ExtractSliceOp>();
  auto outTile = loop.getInitArgs()[1].getDefiningOp<tensor::ExtractSliceOp>();
  if (!stateTile || stateTile.getSource() != stateArg || !outTile ||
      outTile.getSource() != outArg)
    return refuse("expected the block loop to start from this iteration's "
                  "tiles of the shared state and output");

  // The three contractions of a block, marked by part.
  linalg::GenericOp intra, inter, state;
  for (auto op : loop.getBody()->getOps<linalg::GenericOp>()) {
    std::optional<LightningPart> part = getLightningPart(op);
    if (!part)
      continue;
    linalg::GenericOp *slot = *part == LightningPart::Intra   ? &intra
                              : *part == LightningPart::Inter ? &inter
                              : *part == LightningPart::State ? &state
                                                              : nullptr;
    if (!slot)
      continue;
    if (*slot)
      return refuse(Twine("expected one \"") + stringifyLightningPart(*part) +
                    "\" contraction per block, found two");
    *slot = op;
  }
  if (!intra || !inter || !state)
    return refuse("expected the \"intra\", \"inter\" and \"state\" "
                  "contractions in the block loop");
  // scores[i, j] = sum_c q[i, c] k[j, c]; intra: o[i, e] += w[i, j] v[j, e];
  // inter: o[i, e] += q[i, j] S[j, e]; state: S[c, e] += k[j, c] v[j, e].
  auto scores = intra.getDpsInputs()[0].getDefiningOp<linalg::GenericOp>();
  if (!isContraction(scores, {{0, 2}, {1, 2}, {0, 1}}) ||
      !isContraction(intra, {{0, 2}, {2, 1}, {0, 1}}) ||
      !isContraction(inter, {{0, 2}, {2, 1}, {0, 1}}) ||
      !isContraction(state, {{2, 0}, {2, 1}, {0, 1}}))
    return refuse("expected the contractions Q K^T, (scores * mask) V, "
                  "(Q * decay) S and (K * decay)^T V");
  Value qb = scores.getDpsInputs()[0], kb = scores.getDpsInputs()[1],
        vb = intra.getDpsInputs()[1];
  if (inter.getDpsInputs()[0] != qb ||
      inter.getDpsInputs()[1] != loop.getRegionIterArgs()[0] ||
      inter.getDpsInits()[0] != intra.getResult(0) ||
      state.getDpsInputs()[0] != kb || state.getDpsInputs()[1] != vb)
    return refuse("expected the inter-block part to read the block's "
                  "queries and the carried state into the intra-block "
                  "output, and the state update the block's keys and "
                  "values");
  // The state update adds to the decayed carried state (lambda^m S, in
  // place) and is carried on.
  auto decayed = state.getDpsInits()[0].getDefiningOp<linalg::GenericOp>();
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  if (!decayed || decayed.getNumDpsInputs() != 0 ||
      decayed.getNumDpsInits() != 1 ||
      decayed.getDpsInits()[0] != loop.getRegionIterArgs()[0] ||
      yield.getOperand(0) != state.getResult(0))
    return refuse("expected the block loop to carry the state, updated from "
                  "its decayed value");

  // The block's q, k, v: slices [b, t0, h, chunk] of tensors from outside.
  auto operandOf = [&](Value slice, Value &into) {
    auto op = slice.getDefiningOp<tensor::ExtractSliceOp>();
    if (!op || !outside(op.getSource()) || op.getSourceType().getRank() != 4)
      return false;
    SmallVector<OpFoldResult> offsets = op.getMixedOffsets();
    if (!atIv(offsets[0], 0) || !atIv(offsets[2], 1) ||
        getAsOpFoldResult(loop.getInductionVar()) != offsets[1])
      return false;
    into = op.getSource();
    return true;
  };
  if (!operandOf(qb, t.q) || !operandOf(kb, t.k) || !operandOf(vb, t.v))
    return refuse("expected the block's q, k and v as slices [batch, block, "
                  "head, :] of tensors defined outside the forall");
  auto qType = cast<RankedTensorType>(t.q.getType());
  if (t.outType.getDimSize(3) !=
          cast<RankedTensorType>(t.v.getType()).getDimSize(3) ||
      t.stateType.getDimSize(2) != qType.getDimSize(3))
    return refuse("expected the output and state shapes of these q, k, v");
  // The token loop covers q's sequence.
  Value ub = loop.getUpperBound();
  std::optional<int64_t> staticTokens = getConstantIntValue(ub);
  bool coversTokens =
      staticTokens ? *staticTokens == qType.getDimSize(1)
                   : llvm::any_of(ValueRange{t.q, t.k, t.v}, [&](Value x) {
                       return isTokenCountOf(ub, x);
                     });
  if (!coversTokens)
    return refuse("expected the block loop to run over q's tokens");

  // The head's decay rate, applied inside the three contractions.
  for (auto extract : forall.getBody()->getOps<tensor::ExtractOp>()) {
    if (extract.getIndices().size() == 1 &&
        atIv(getAsOpFoldResult(extract.getIndices()[0]), 1) &&
        outside(extract.getTensor()) && appliesDecay(intra, extract) &&
        appliesDecay(inter, extract) && appliesDecay(state, extract) &&
        appliesDecay(decayed, extract))
      t.slopes = extract.getTensor();
  }
  if (!t.slopes)
    return refuse("expected the head's slope (slopes[head]) in the decay "
                  "powers exp(-slope n) of the three contractions and of "
                  "the state's decay");

  // The initial state: the state's shared init, unless that is zeros.
  Value stateInit = forall.getOutputs()[1];
  t.initialState = stateInit;
  if (auto fill = stateInit.getDefiningOp<linalg::FillOp>()) {
    if (matchPattern(fill.getDpsInputs()[0], m_AnyZeroFloat()))
      t.initialState = Value();
  }
  // Each iteration publishes its tiles into the shared outputs.
  scf::InParallelOp terminator = forall.getTerminator();
  SmallVector<Operation *> inserts;
  for (Operation &op : terminator.getYieldingOps())
    inserts.push_back(&op);
  auto publishes = [&](Operation *op, Value tile, Value into) {
    auto insert = dyn_cast<tensor::ParallelInsertSliceOp>(op);
    return insert && insert.getSource() == tile && insert.getDest() == into;
  };
  if (inserts.size() != 2 ||
      !publishes(inserts[0], loop.getResult(1), outArg) ||
      !publishes(inserts[1], loop.getResult(0), stateArg))
    return refuse("expected each iteration to publish its output and state "
                  "tiles");
  return t;
}

//===----------------------------------------------------------------------===//
// The kernels
//===----------------------------------------------------------------------===//

/// The most sequence chunks the automatic choice makes (the most measured).
constexpr int64_t kAutomaticSequenceChunks = 8;

/// The kernels one op gets, from its shapes and the pass options.
struct KernelChoice {
  /// Only the decode kernel (a short static sequence).
  bool decodeOnly = false;
  /// The decode kernel and a blocked one, chosen per call by the token
  /// count (a dynamic sequence).
  bool perCall = false;
  /// The blocked kernel on tensor cores rather than on SIMT threads.
  bool tensorCores = false;
  /// The blocked kernel on the Hopper pipeline layer (64-token blocks).
  bool hopper = false;
  /// Sequence chunks of the Hopper kernel (1: no split; else its state
  /// pass and its output pass over that many chunks).
  int64_t sequenceChunks = 1;
  /// The decode kernel's value columns per block.
  int64_t decodeColumns = 0;
  /// The vector decode kernel's layout, when asked for and it applies.
  std::optional<LightningDecodeVectorShape> decodeVector;
  LightningBlockedShape shape;
};

struct HymirLightningToGpuPass
    : hymir::impl::HymirLightningToGpuBase<HymirLightningToGpuPass> {
  using Base::Base;

  /// The chip's facts (the `chip` option).
  TargetDescription target;

  FailureOr<KernelChoice> chooseKernels(const TiledLightning &tiled);
  LogicalResult checkBlockedLimits(const TiledLightning &tiled,
                                   const KernelChoice &choice);
  void emitKernels(const TiledLightning &tiled, const KernelChoice &choice);

  void runOnOperation() override {
    llvm::Expected<TargetDescription> found = lookupTarget(chip);
    if (!found) {
      getOperation().emitError()
          << "hymir-lightning-to-gpu: " << llvm::toString(found.takeError());
      return signalPassFailure();
    }
    target = *found;
    if (decodeColumns != 0 && (decodeColumns < 4 || decodeColumns > 128 ||
                               !llvm::isPowerOf2_64(decodeColumns))) {
      getOperation().emitError()
          << "hymir-lightning-to-gpu: decode-columns must be a power of two "
             "in [4, 128] (0: automatic), got "
          << decodeColumns;
      return signalPassFailure();
    }
    if (decodeRows != 0 &&
        (decodeRows > 8 || !llvm::isPowerOf2_64(decodeRows))) {
      getOperation().emitError()
          << "hymir-lightning-to-gpu: decode-rows must be 1, 2, 4 or 8 (0: "
             "automatic), got "
          << decodeRows;
      return signalPassFailure();
    }
    if (hopperConsumers != 1 && hopperConsumers != 2) {
      getOperation().emitError()
          << "hymir-lightning-to-gpu: hopper-consumers must be 1 or 2, got "
          << static_cast<int64_t>(hopperConsumers);
      return signalPassFailure();
    }
    if (hopperStages < 2 || hopperStages > 4) {
      getOperation().emitError()
          << "hymir-lightning-to-gpu: hopper-stages must be in [2, 4], got "
          << static_cast<int64_t>(hopperStages);
      return signalPassFailure();
    }
    if (sequenceSplit < 0 || sequenceSplit > LightningHopperSplit::kMaxChunks) {
      getOperation().emitError()
          << "hymir-lightning-to-gpu: sequence-split must be in [0, "
          << LightningHopperSplit::kMaxChunks
          << "] (0: automatic, 1: none), got "
          << static_cast<int64_t>(sequenceSplit);
      return signalPassFailure();
    }
    // The op itself is not mapped: the algorithm is its tiled form.
    WalkResult untiled = getOperation().walk([](LightningAttentionOp op) {
      op.emitOpError("reaches hymir-lightning-to-gpu untiled: it maps the "
                     "tiled form, run hymir-tile-lightning-attention first");
      return WalkResult::interrupt();
    });
    if (untiled.wasInterrupted())
      return signalPassFailure();
    SmallVector<scf::ForallOp> foralls;
    getOperation().walk([&](scf::ForallOp forall) {
      if (getLightningPart(forall) == LightningPart::Heads)
        foralls.push_back(forall);
    });
    for (scf::ForallOp forall : foralls) {
      FailureOr<TiledLightning> tiled = matchTiledLightning(forall);
      if (failed(tiled))
        return signalPassFailure();
      FailureOr<KernelChoice> choice = chooseKernels(*tiled);
      if (failed(choice) || failed(checkBlockedLimits(*tiled, *choice)))
        return signalPassFailure();
      emitKernels(*tiled, *choice);
    }
  }
};

FailureOr<KernelChoice>
HymirLightningToGpuPass::chooseKernels(const TiledLightning &tiled) {
  auto qType = cast<RankedTensorType>(tiled.q.getType());
  auto vType = cast<RankedTensorType>(tiled.v.getType());
  int64_t heads = qType.getDimSize(2), d = qType.getDimSize(3),
          dv = vType.getDimSize(3), batchDim = qType.getDimSize(0),
          tokensDim = qType.getDimSize(1);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(d) ||
      ShapedType::isDynamic(dv) || ShapedType::isDynamic(batchDim))
    return reportAt(tiled.forall)
           << "needs static batch, head count and head dims for its GPU "
              "kernel";
  KernelChoice choice;
  // Short static sequences (decode, speculative verification) take the
  // recurrence kernel; everything else the blocked one.
  // A dynamic token count gets both kernels, chosen per call by the plan
  // (a launch guarded by the token count).
  bool decodeShapes = decodeKernel && d % kLightningDecodeGroups == 0 &&
                      (dv % 64 == 0 || (dv < 64 && dv % 8 == 0));
  choice.decodeOnly = decodeShapes && !ShapedType::isDynamic(tokensDim) &&
                      tokensDim <= target.lightningDecodeTokens;
  choice.perCall = decodeShapes && ShapedType::isDynamic(tokensDim);
  choice.decodeColumns = std::min<int64_t>(dv, 64);
  // Other column counts where they divide the value dim (the scalar kernel
  // also needs whole warps of 8 columns).
  if (decodeColumns != 0 && dv % decodeColumns == 0 &&
      (decodeVector || decodeColumns % 8 == 0))
    choice.decodeColumns = decodeColumns;
  if (decodeVector)
    choice.decodeVector = LightningDecodeVectorShape::get(
        d, dv, choice.decodeColumns, decodeRows ? decodeRows : 8);
  LightningBlockedShape &s = choice.shape;
  s.keyDim = d;
  s.valueDim = dv;
  s.threads = threads;
  // Tokens per block and value chunks, as tiled.
  s.block = tiled.block;
  s.valueSplit = tiled.valueSplit;
  s.valueTile = 0;
  if (dv % s.valueSplit == 0)
    s.valueTile = dv / s.valueSplit;
  // bf16 prefill on tensor cores where the shapes allow.
  // (A static empty sequence takes the SIMT kernel, which reads nothing.)
  using Tc = LightningTensorCoreShape;
  choice.tensorCores = tokensDim != 0 && s.valueTile > 0 && tensorCores &&
                       target.hasBf16Mma && qType.getElementType().isBF16() &&
                       s.block == Tc::kBlock && s.threads == Tc::kWarps * 32 &&
                       Tc::applies(d, s.valueTile);
  using Hp = LightningHopperShape;
  choice.hopper =
      tokensDim != 0 && s.valueTile > 0 && hopper && target.hasWgmma &&
      qType.getElementType().isBF16() && s.block == Hp::kBlock &&
      Hp::applies(d, s.valueTile) &&
      Hp::sharedBytes(d, {hopperConsumers, hopperStages, hopperStagedOutput}) <=
          target.maxSharedBytesPerBlock;
  if (choice.hopper) {
    int64_t chunks = sequenceSplit;
    // Automatic: where the grid leaves at least half of the SMs idle, as
    // many chunks as keep one thread block a SM, at most 8 (H200: 16 blocks
    // in 8 chunks 2.3-4.3x faster, 32 in 4 2.1-2.3x at T >= 16384; 128 in 2
    // 1.3x slower; docs/benchmarks.md).
    if (chunks == 0) {
      int64_t blocks = s.valueSplit * heads * batchDim;
      chunks = blocks > 0 ? std::min<int64_t>(kAutomaticSequenceChunks,
                                              target.multiprocessors / blocks)
                          : 1;
    }
    // A static sequence: no more chunks than it has blocks.
    if (!ShapedType::isDynamic(tokensDim))
      chunks =
          std::min<int64_t>(chunks, llvm::divideCeil(tokensDim, Hp::kBlock));
    choice.sequenceChunks = std::max<int64_t>(chunks, 1);
  }
  return choice;
}

LogicalResult
HymirLightningToGpuPass::checkBlockedLimits(const TiledLightning &tiled,
                                            const KernelChoice &choice) {
  // A decode-only op needs none of the blocked kernels' limits.
  if (choice.decodeOnly)
    return success();
  scf::ForallOp op = tiled.forall;
  const LightningBlockedShape &s = choice.shape;
  if (s.block < 2 || s.block % 2 != 0 || s.block > 64)
    return reportAt(op) << "GPU block size must be even and in [2, 64] "
                           "(the decay powers stay normal in f32), got "
                        << s.block;
  if (s.valueDim % s.valueSplit != 0)
    return reportAt(op) << "value-split " << s.valueSplit
                        << " does not divide the value dim " << s.valueDim;
  if (s.valueTile % 4 != 0 || s.keyDim % 4 != 0)
    return reportAt(op) << "GPU kernel needs the key dim (" << s.keyDim
                        << ") and the value chunk (" << s.valueTile
                        << ") to be multiples of 4";
  if (s.threads < 32 || s.threads > 1024 || s.threads % 32 != 0)
    return reportAt(op) << "threads must be a multiple of 32 in [32, "
                           "1024], got "
                        << s.threads;
  int64_t bytes = lightningBlockedSharedBytes(s);
  if (bytes > target.maxSharedBytesPerBlock)
    return reportAt(op)
           << "GPU kernel tiles need " << bytes
           << " B of shared memory, more than the "
           << target.maxSharedBytesPerBlock
           << " B a block may have: use a smaller block size or a larger "
              "value split";
  return success();
}

void HymirLightningToGpuPass::emitKernels(const TiledLightning &tiled,
                                          const KernelChoice &choice) {
  scf::ForallOp forall = tiled.forall;
  auto qType = cast<RankedTensorType>(tiled.q.getType());
  int64_t heads = qType.getDimSize(2), d = qType.getDimSize(3),
          dv = cast<RankedTensorType>(tiled.v.getType()).getDimSize(3),
          batchDim = qType.getDimSize(0);
  Type elt = qType.getElementType();
  const LightningBlockedShape &s = choice.shape;

  ImplicitLocOpBuilder b(forall.getLoc(), forall);
  GpuBuilder g(b);
  // The operands as buffers, the results as fresh allocations.
  LightningOperands operands;
  operands.q = g.toBuffer(tiled.q);
  operands.k = g.toBuffer(tiled.k);
  operands.v = g.toBuffer(tiled.v);
  operands.slopes = g.toBuffer(tiled.slopes);
  operands.initialState =
      tiled.initialState ? g.toBuffer(tiled.initialState) : Value();
  operands.tokens = memref::DimOp::create(b, operands.q, 1);
  RankedTensorType outType = tiled.outType, stateType = tiled.stateType;
  SmallVector<Value> dynSizes;
  if (outType.isDynamicDim(1))
    dynSizes.push_back(operands.tokens);
  operands.out = memref::AllocOp::create(
      b, MemRefType::get(outType.getShape(), outType.getElementType()),
      dynSizes);
  operands.finalState = memref::AllocOp::create(
      b, MemRefType::get(stateType.getShape(), stateType.getElementType()));

  // One launch per kernel, over (value chunks, heads, batch): the kernel gets
  // the operands and its thread's coordinates, then `build` writes the body.
  // With `sequenceChunks` > 1 the grid's z is (batch, sequence chunk), the
  // chunk in `sequenceChunk` while `build` runs.
  Value sequenceChunk;
  auto emitLaunch = [&](LightningPart part, int64_t chunks, int64_t chunkWidth,
                        int64_t threads, int64_t sharedBytes,
                        function_ref<void(const LightningOperands &)> build,
                        int64_t sequenceChunks = 1) {
    Value bytes = sharedBytes ? Value(arith::ConstantIntOp::create(
                                    b, b.getI32Type(), sharedBytes))
                              : Value();
    gpu::LaunchOp launchOp =
        g.launch(g.idx(chunks), g.idx(heads), g.idx(batchDim * sequenceChunks),
                 g.idx(threads), bytes, [&](gpu::LaunchOp launch) {
                   LightningOperands here = operands;
                   here.tid = launch.getThreadIds().x;
                   here.vOff = g.mul(launch.getBlockIds().x, chunkWidth);
                   here.head = launch.getBlockIds().y;
                   Value z = launch.getBlockIds().z;
                   here.batch =
                       sequenceChunks == 1 ? z : g.div(z, sequenceChunks);
                   sequenceChunk =
                       sequenceChunks == 1 ? Value() : g.rem(z, sequenceChunks);
                   build(here);
                 });
    setLightningPart(launchOp, part);
  };
  auto emitDecode = [&]() {
    if (const std::optional<LightningDecodeVectorShape> &vector =
            choice.decodeVector) {
      emitLaunch(LightningPart::Decode, dv / vector->columns, vector->columns,
                 vector->threads(), vector->sharedBytes(),
                 [&](const LightningOperands &here) {
                   buildLightningDecodeVectorKernel(b, here, *vector, elt);
                 });
      return;
    }
    emitLaunch(LightningPart::Decode, dv / choice.decodeColumns,
               choice.decodeColumns,
               kLightningDecodeGroups * choice.decodeColumns, 0,
               [&](const LightningOperands &here) {
                 buildLightningDecodeKernel(b, here, d, elt);
               });
  };
  // A sequence split's scratch (the chunks' own states), outside the token
  // guards: a plan allocates no buffer by the token count.
  Value deltas;
  if (choice.hopper && choice.sequenceChunks > 1 && !choice.decodeOnly)
    deltas = memref::AllocOp::create(
        b, MemRefType::get(
               LightningHopperSplit::deltasShape(
                   choice.sequenceChunks, batchDim, heads, d, s.valueSplit),
               b.getF32Type()));
  auto emitBlocked = [&]() {
    if (choice.hopper) {
      // The tensor maps are made on the host side of the launch.
      Value qMap = buildLightningHopperTensorMap(b, operands.q);
      Value kMap = buildLightningHopperTensorMap(b, operands.k);
      Value vMap = buildLightningHopperTensorMap(b, operands.v);
      LightningHopperForm form{hopperConsumers, hopperStages,
                               hopperStagedOutput};
      int64_t chunks = choice.sequenceChunks;
      if (chunks == 1) {
        emitLaunch(LightningPart::TensorCore, s.valueSplit, s.valueTile,
                   LightningHopperShape::threads(form.consumers),
                   LightningHopperShape::sharedBytes(d, form),
                   [&](const LightningOperands &here) {
                     buildLightningHopperKernel(b, here, d, form, qMap, kMap,
                                                vMap);
                   });
        return;
      }
      // A sequence split: the chunks' own states (all but the last), then
      // the outputs of every chunk from the carried states.
      LightningHopperSplit split;
      split.chunks = chunks;
      split.deltas = deltas;
      emitLaunch(
          LightningPart::State, s.valueSplit, s.valueTile,
          LightningHopperShape::kStatePassThreads,
          LightningHopperShape::statePassSharedBytes(d, form.stages),
          [&](const LightningOperands &here) {
            LightningHopperSplit pass = split;
            pass.statePass = true;
            // (Two chunks: one state-pass chunk a batch row, z itself.)
            pass.chunk = sequenceChunk ? sequenceChunk : g.idx(0);
            buildLightningHopperKernel(b, here, d, form, qMap, kMap, vMap,
                                       pass);
          },
          chunks - 1);
      emitLaunch(
          LightningPart::TensorCore, s.valueSplit, s.valueTile,
          LightningHopperShape::threads(form.consumers),
          LightningHopperShape::sharedBytes(d, form),
          [&](const LightningOperands &here) {
            LightningHopperSplit pass = split;
            pass.chunk = sequenceChunk;
            buildLightningHopperKernel(b, here, d, form, qMap, kMap, vMap,
                                       pass);
          },
          chunks);
    } else if (choice.tensorCores)
      emitLaunch(LightningPart::TensorCore, s.valueSplit, s.valueTile,
                 s.threads,
                 LightningTensorCoreShape::sharedBytes(d, s.valueTile),
                 [&](const LightningOperands &here) {
                   buildLightningTensorCoreKernel(b, here, d, s.valueTile);
                 });
    else
      emitLaunch(LightningPart::Blocks, s.valueSplit, s.valueTile, s.threads,
                 lightningBlockedSharedBytes(s),
                 [&](const LightningOperands &here) {
                   buildLightningBlockedKernel(b, here, s, elt);
                 });
  };
  if (choice.decodeOnly) {
    emitDecode();
  } else if (choice.perCall) {
    // Each call runs one of the two: the decode kernel up to the cut-off,
    // the blocked one above (the plan guards each launch by this range).
    OpBuilder::InsertionGuard guard(b);
    int64_t cut = target.lightningDecodeTokens;
    auto decode = TokenGuardOp::create(b, b.getI64IntegerAttr(0),
                                       b.getI64IntegerAttr(cut));
    b.setInsertionPointToStart(&decode.getBody().emplaceBlock());
    emitDecode();
    b.setInsertionPointAfter(decode);
    auto blocked = TokenGuardOp::create(b, b.getI64IntegerAttr(cut + 1),
                                        b.getI64IntegerAttr(-1));
    b.setInsertionPointToStart(&blocked.getBody().emplaceBlock());
    emitBlocked();
  } else {
    emitBlocked();
  }
  if (deltas)
    memref::DeallocOp::create(b, deltas);
  Value outTensor = bufferization::ToTensorOp::create(
      b, outType, operands.out, /*restrict=*/true, /*writable=*/true);
  Value stateTensor = bufferization::ToTensorOp::create(
      b, stateType, operands.finalState, /*restrict=*/true, /*writable=*/true);
  forall.getResult(0).replaceAllUsesWith(outTensor);
  forall.getResult(1).replaceAllUsesWith(stateTensor);
  // The forall and the shared inits only it used (an empty output, a
  // zero-filled state) go.
  SmallVector<Value> inits(forall.getOutputs());
  forall.erase();
  for (Value init : inits) {
    Operation *def = init.getDefiningOp();
    if (!def || !def->use_empty() || !isa<tensor::EmptyOp, linalg::FillOp>(def))
      continue;
    SmallVector<Value> operands(def->getOperands());
    def->erase();
    for (Value operand : operands)
      if (Operation *producer = operand.getDefiningOp())
        if (producer->use_empty() &&
            isa<tensor::EmptyOp, arith::ConstantOp>(producer))
          producer->erase();
  }
}

} // namespace
