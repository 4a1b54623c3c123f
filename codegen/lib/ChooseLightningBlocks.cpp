//===- ChooseLightningBlocks.cpp - block sizes by the cuda kernel --------===//
//
// The pass hymir-choose-lightning-blocks: before the target-neutral tiling of
// lightning attention, mark each op the Hopper pipeline-layer kernel of
// hymir-lightning-to-gpu will take with the 64-token blocks that kernel
// needs (hymir.tile_block_size); the other ops keep the pipeline's block
// size. The test for "will take" is the one chooseKernels applies to the
// tiled form (LightningHopperShape), on the shapes the tiling will make.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Codegen/Target.h"
#include "hymir/Dialect/Hymir/IR/HymirDialect.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/Passes.h"

#include "LightningHopperKernel.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRCHOOSELIGHTNINGBLOCKS
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

struct HymirChooseLightningBlocksPass
    : hymir::impl::HymirChooseLightningBlocksBase<
          HymirChooseLightningBlocksPass> {
  using Base::Base;

  void runOnOperation() override {
    if (!hopper)
      return;
    llvm::Expected<TargetDescription> target = lookupTarget(chip);
    if (!target) {
      getOperation().emitError() << "hymir-choose-lightning-blocks: "
                                 << llvm::toString(target.takeError());
      return signalPassFailure();
    }
    if (!target->hasWgmma)
      return;
    LightningHopperForm form{hopperConsumers, hopperStages, hopperStagedOutput};
    HymirDialect::TileBlockSizeAttrHelper blockAttr(&getContext());
    getOperation().walk([&](LightningAttentionOp op) {
      if (blockAttr.isAttrPresent(op))
        return;
      auto qType = op.getQ().getType();
      int64_t d = qType.getDimSize(3), tokens = qType.getDimSize(1),
              dv = op.getV().getType().getDimSize(3);
      if (!qType.getElementType().isBF16() || ShapedType::isDynamic(d) ||
          ShapedType::isDynamic(dv) || tokens == 0)
        return;
      // A static sequence shorter than a block is tiled in one smaller block
      // (a power of two): the Hopper kernel would not take it.
      if (!ShapedType::isDynamic(tokens) &&
          tokens < LightningHopperShape::kBlock)
        return;
      int64_t split = lightningValueSplit(dv, valueSplit);
      if (split < 1 || dv % split != 0 ||
          !LightningHopperShape::applies(d, dv / split) ||
          LightningHopperShape::sharedBytes(d, form) >
              target->maxSharedBytesPerBlock)
        return;
      blockAttr.setAttr(op,
                        IntegerAttr::get(IntegerType::get(op.getContext(), 64),
                                         LightningHopperShape::kBlock));
    });
  }
};

} // namespace
