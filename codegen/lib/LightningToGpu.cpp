//===- LightningToGpu.cpp - lightning attention as GPU kernels -----------===//
//
// The pass hymir-lightning-to-gpu: for each hymir.lightning_attention it
// picks the kernels that apply to its shapes (the shape policy below),
// turns its operands into buffers and emits one gpu.launch per kernel over
// (value chunk, head, batch). The kernel bodies live one family a file
// (LightningKernels.h): blocked SIMT, decode and tensor-core.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Codegen/Target.h"
#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "LightningKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRLIGHTNINGTOGPU
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// The kernels one op gets, from its shapes and the pass options.
struct KernelChoice {
  /// Only the decode kernel (a short static sequence).
  bool decodeOnly = false;
  /// The decode kernel and a blocked one, chosen per call by the token
  /// count (a dynamic sequence).
  bool perCall = false;
  /// The blocked kernel on tensor cores rather than on SIMT threads.
  bool tensorCores = false;
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

  FailureOr<KernelChoice> chooseKernels(LightningAttentionOp op);
  LogicalResult checkBlockedLimits(LightningAttentionOp op,
                                   const KernelChoice &choice);
  void emitKernels(LightningAttentionOp op, const KernelChoice &choice);

  void runOnOperation() override {
    llvm::Expected<TargetDescription> found = lookupTarget(chip);
    if (!found) {
      getOperation().emitError()
          << "hymir-lightning-to-gpu: " << llvm::toString(found.takeError());
      return signalPassFailure();
    }
    target = *found;
    if (decodeColumns != 0 &&
        (decodeColumns < 4 || decodeColumns > 128 ||
         !llvm::isPowerOf2_64(decodeColumns))) {
      getOperation().emitError()
          << "hymir-lightning-to-gpu: decode-columns must be a power of two "
             "in [4, 128] (0: automatic), got "
          << decodeColumns;
      return signalPassFailure();
    }
    SmallVector<LightningAttentionOp> ops;
    getOperation().walk([&](LightningAttentionOp op) { ops.push_back(op); });
    for (LightningAttentionOp op : ops) {
      FailureOr<KernelChoice> choice = chooseKernels(op);
      if (failed(choice) || failed(checkBlockedLimits(op, *choice)))
        return signalPassFailure();
      emitKernels(op, *choice);
    }
  }
};

FailureOr<KernelChoice>
HymirLightningToGpuPass::chooseKernels(LightningAttentionOp op) {
  auto qType = op.getQ().getType();
  auto vType = op.getV().getType();
  int64_t heads = qType.getDimSize(2), d = qType.getDimSize(3),
          dv = vType.getDimSize(3), batchDim = qType.getDimSize(0),
          tokensDim = qType.getDimSize(1);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(d) ||
      ShapedType::isDynamic(dv) || ShapedType::isDynamic(batchDim))
    return op.emitOpError("needs static batch, head count and head dims for "
                          "its GPU kernel");
  KernelChoice choice;
  // Short static sequences (decode, speculative verification) take the
  // recurrence kernel; everything else the blocked one.
  // A dynamic token count gets both kernels, chosen per call by the plan
  // (a launch guarded by the token count).
  bool decodeShapes = blockSize == 0 && d % kLightningDecodeGroups == 0 &&
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
    choice.decodeVector =
        LightningDecodeVectorShape::get(d, dv, choice.decodeColumns);
  LightningBlockedShape &s = choice.shape;
  s.keyDim = d;
  s.valueDim = dv;
  s.threads = threads;
  // Tokens per block: the option, else 32, or the next even power of two
  // covering a short static sequence (decode).
  s.block = blockSize;
  if (s.block == 0) {
    s.block = 32;
    if (!ShapedType::isDynamic(tokensDim) && tokensDim < 32)
      s.block = std::max<int64_t>(2, llvm::PowerOf2Ceil(tokensDim));
  }
  // Value chunks: the option, else 64-wide chunks where that divides.
  s.valueSplit = valueSplit;
  // (Measured on an H100 at B = 1, H = 64: 32-wide chunks for the
  // tensor-core kernel, 256 blocks, were 28% slower than 64-wide ones.)
  if (s.valueSplit == 0)
    s.valueSplit = (dv > 64 && dv % 64 == 0) ? dv / 64 : 1;
  s.valueTile = 0;
  if (dv % std::max<int64_t>(s.valueSplit, 1) == 0)
    s.valueTile = dv / s.valueSplit;
  // bf16 prefill on tensor cores where the shapes allow.
  // (A static empty sequence takes the SIMT kernel, which reads nothing.)
  using Tc = LightningTensorCoreShape;
  choice.tensorCores = tokensDim != 0 && s.valueTile > 0 && tensorCores &&
                       target.hasBf16Mma && qType.getElementType().isBF16() &&
                       (blockSize == 0 || blockSize == Tc::kBlock) &&
                       s.threads == Tc::kWarps * 32 &&
                       Tc::applies(d, s.valueTile);
  return choice;
}

LogicalResult
HymirLightningToGpuPass::checkBlockedLimits(LightningAttentionOp op,
                                            const KernelChoice &choice) {
  // A decode-only op needs none of the blocked kernels' limits.
  if (choice.decodeOnly)
    return success();
  const LightningBlockedShape &s = choice.shape;
  if (s.block < 2 || s.block % 2 != 0 || s.block > 64)
    return op.emitOpError() << "GPU block size must be even and in [2, 64] "
                               "(the decay powers stay normal in f32), got "
                            << s.block;
  if (s.valueDim % s.valueSplit != 0)
    return op.emitOpError() << "value-split " << s.valueSplit
                            << " does not divide the value dim " << s.valueDim;
  if (s.valueTile % 4 != 0 || s.keyDim % 4 != 0)
    return op.emitOpError() << "GPU kernel needs the key dim (" << s.keyDim
                            << ") and the value chunk (" << s.valueTile
                            << ") to be multiples of 4";
  if (s.threads < 32 || s.threads > 1024 || s.threads % 32 != 0)
    return op.emitOpError() << "threads must be a multiple of 32 in [32, "
                               "1024], got "
                            << s.threads;
  int64_t bytes = lightningBlockedSharedBytes(s);
  if (bytes > target.maxSharedBytesPerBlock)
    return op.emitOpError()
           << "GPU kernel tiles need " << bytes
           << " B of shared memory, more than the "
           << target.maxSharedBytesPerBlock
           << " B a block may have: use a smaller block size or a larger "
              "value split";
  return success();
}

void HymirLightningToGpuPass::emitKernels(LightningAttentionOp op,
                                          const KernelChoice &choice) {
  auto qType = op.getQ().getType();
  int64_t heads = qType.getDimSize(2), d = qType.getDimSize(3),
          dv = op.getV().getType().getDimSize(3),
          batchDim = qType.getDimSize(0);
  Type elt = qType.getElementType();
  const LightningBlockedShape &s = choice.shape;

  ImplicitLocOpBuilder b(op.getLoc(), op);
  GpuBuilder g(b);
  // The operands as buffers, the results as fresh allocations.
  LightningOperands operands;
  operands.q = g.toBuffer(op.getQ());
  operands.k = g.toBuffer(op.getK());
  operands.v = g.toBuffer(op.getV());
  operands.slopes = g.toBuffer(op.getSlopes());
  operands.initialState =
      op.getInitialState() ? g.toBuffer(op.getInitialState()) : Value();
  operands.tokens = memref::DimOp::create(b, operands.q, 1);
  auto outType = cast<RankedTensorType>(op.getOut().getType());
  auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
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
  auto emitLaunch = [&](LightningPart part, int64_t chunks, int64_t chunkWidth,
                        int64_t threads, int64_t sharedBytes,
                        function_ref<void(const LightningOperands &)> build) {
    Value bytes = sharedBytes ? Value(arith::ConstantIntOp::create(
                                    b, b.getI32Type(), sharedBytes))
                              : Value();
    gpu::LaunchOp launchOp =
        g.launch(g.idx(chunks), g.idx(heads), g.idx(batchDim), g.idx(threads),
                 bytes, [&](gpu::LaunchOp launch) {
                   LightningOperands here = operands;
                   here.tid = launch.getThreadIds().x;
                   here.vOff = g.mul(launch.getBlockIds().x, chunkWidth);
                   here.head = launch.getBlockIds().y;
                   here.batch = launch.getBlockIds().z;
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
  auto emitBlocked = [&]() {
    if (choice.tensorCores)
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
  Value outTensor = bufferization::ToTensorOp::create(
      b, outType, operands.out, /*restrict=*/true, /*writable=*/true);
  Value stateTensor = bufferization::ToTensorOp::create(
      b, stateType, operands.finalState, /*restrict=*/true, /*writable=*/true);
  op.getOut().replaceAllUsesWith(outTensor);
  op.getFinalState().replaceAllUsesWith(stateTensor);
  op.erase();
}

} // namespace
