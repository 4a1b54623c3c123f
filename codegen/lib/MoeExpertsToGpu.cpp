//===- MoeExpertsToGpu.cpp - routed experts as GPU kernels ----------------===//
//
// The pass hymir-moe-experts-to-gpu: each hymir.moe_experts on the grouped
// layout of hymir.moe_route or hymir.moe_layout becomes kernels chosen per
// call by the token count, then the combine as one kernel. This file holds
// the choice and the launches' plumbing; the kernels live one family a
// file (MoeKernels.h):
//
//   decode calls (at most the target description's moeDecodeTokensWgmma
//   tokens beside the wgmma kernels, else moeDecodeTokens): up to
//   decode-wave-tokens tokens the one-wave kernels (MoeWaveKernel.cpp),
//   above (or with decode-wave=0) the warp-per-row kernels
//   (MoeWarpRowsKernel.cpp);
//   larger calls on sm_90a (bf16, a layout padded to 128-row tiles, or to
//   64 for the persistent form): wgmma (MoeWgmmaKernel.cpp); elsewhere (a
//   layout padded to 64-row tiles) mma.sync (MoeMmaKernel.cpp);
//   the combine (MoeCombineKernel.cpp), or its generic lowering when top_k
//   is dynamic.
//
// The layouts themselves are hymir-moe-layout-to-gpu's (MoeLayoutToGpu.cpp).
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Codegen/Target.h"
#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/MoeLowering.h"

#include "MoeKernels.h"
#include "WgmmaTiles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <functional>

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRMOEEXPERTSTOGPU
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// The kernels one hymir.moe_experts gets.
struct KernelChoice {
  /// The experts are bf16 (x and weights); the intermediate is too.
  bool bf16 = false;
  /// Larger calls on mma.sync or on wgmma (at most one of them).
  bool mma = false, wgmma = false;
  /// The layout's tile when the op that makes it is known, else 0.
  int64_t layoutTile = 0;
  /// The warp kernels' grid height.
  int64_t slots = 0;
};

struct HymirMoeExpertsToGpuPass
    : hymir::impl::HymirMoeExpertsToGpuBase<HymirMoeExpertsToGpuPass> {
  using Base::Base;

  /// The chip's facts (the `chip` option).
  TargetDescription target;

  std::optional<KernelChoice> chooseKernels(MoeExpertsOp op);
  /// The wgmma kernels run with TMA multicast: asked for, and the grid
  /// form in the experts' order.
  bool multicast(const KernelChoice &choice) const {
    return choice.wgmma && wgmmaMulticast && wgmmaGroup == 0 &&
           wgmmaPersistent == 0;
  }
  MoeExpertsOperands buildOperands(ImplicitLocOpBuilder &b, MoeExpertsOp op,
                                   const KernelChoice &choice);
  void emitExperts(ImplicitLocOpBuilder &b, const MoeExpertsOperands &o,
                   const KernelChoice &choice);
  Value emitCombine(ImplicitLocOpBuilder &b, MoeExpertsOp op,
                    const MoeExpertsOperands &o);

  void runOnOperation() override {
    llvm::Expected<TargetDescription> found = lookupTarget(chip);
    if (!found) {
      getOperation().emitError()
          << "hymir-moe-experts-to-gpu: " << llvm::toString(found.takeError());
      return signalPassFailure();
    }
    target = *found;
    SmallVector<MoeExpertsOp> ops;
    getOperation().walk([&](MoeExpertsOp op) { ops.push_back(op); });
    for (MoeExpertsOp op : ops) {
      std::optional<KernelChoice> choice = chooseKernels(op);
      // Other shapes keep the generic lowering.
      if (!choice)
        continue;
      ImplicitLocOpBuilder b(op.getLoc(), op);
      MoeExpertsOperands o = buildOperands(b, op, *choice);
      emitExperts(b, o, *choice);
      Value y = emitCombine(b, op, o);
      op.getResult().replaceAllUsesWith(y);
      op.erase();
    }
  }
};

std::optional<KernelChoice>
HymirMoeExpertsToGpuPass::chooseKernels(MoeExpertsOp op) {
  auto w1Type = cast<RankedTensorType>(op.getW1().getType());
  auto xType = cast<RankedTensorType>(op.getX().getType());
  int64_t experts = w1Type.getDimSize(0), inter = w1Type.getDimSize(1),
          width = w1Type.getDimSize(2);
  // The kernels need static expert shapes in whole vectors (bf16 or f32, as
  // the verifier allows).
  if (ShapedType::isDynamic(experts) || ShapedType::isDynamic(inter) ||
      ShapedType::isDynamic(width) || inter % kMoeVector != 0 ||
      width % kMoeVector != 0)
    return std::nullopt;
  KernelChoice choice;
  // The layout's tile (hymir.moe_route or hymir.moe_layout).
  std::optional<int64_t> layoutTile;
  if (auto route = op.getSortedTokens().getDefiningOp<MoeRouteOp>())
    layoutTile = route.getTile();
  else if (auto layout = op.getSortedTokens().getDefiningOp<MoeLayoutOp>())
    layoutTile = layout.getTile();
  choice.layoutTile = layoutTile.value_or(0);
  choice.bf16 =
      xType.getElementType().isBF16() && w1Type.getElementType().isBF16();
  // The mma.sync kernels: bf16, the layout's tile theirs, whole blocks of
  // columns.
  choice.mma = choice.bf16 && layoutTile == target.moeMmaTile.rows &&
               target.moeMmaTile.fits(inter, width);
  // The wgmma kernels (sm_90a): 128-row tiles, 128-column chunks, K in
  // whole stages.
  using Wg = WgmmaTiles;
  // The persistent ones cut each group into 128-row tiles from its
  // start, so a layout padded to 64 rows serves them too (an expert's last
  // tile may then be 64 rows).
  bool wgmmaLayout = layoutTile == target.moeWgmmaTile.rows ||
                     (wgmmaPersistent > 0 && layoutTile == Wg::kRows / 2);
  choice.wgmma = wgmma && choice.bf16 && wgmmaLayout &&
                 target.moeWgmmaTile.fits(inter, width) &&
                 inter % Wg::kK == 0 && width % Wg::kK == 0;
  choice.mma = choice.mma && !choice.wgmma;
  // The warp kernels' grid height: top_k when static (the experts of a
  // one-token call; larger calls put several experts in each block, one
  // after another), else one per expert.
  auto slotsType = cast<RankedTensorType>(op.getSlots().getType());
  choice.slots = decodeSlots > 0 ? std::min<int64_t>(experts, decodeSlots)
                 : slotsType.isDynamicDim(1)
                     ? experts
                     : std::min(experts, slotsType.getDimSize(1));
  return choice;
}

MoeExpertsOperands HymirMoeExpertsToGpuPass::buildOperands(
    ImplicitLocOpBuilder &b, MoeExpertsOp op, const KernelChoice &choice) {
  auto w1Type = cast<RankedTensorType>(op.getW1().getType());
  GpuBuilder g(b);
  MoeExpertsOperands o;
  o.experts = w1Type.getDimSize(0);
  o.inter = w1Type.getDimSize(1);
  o.width = w1Type.getDimSize(2);
  o.x = g.toBuffer(op.getX());
  o.sorted = g.toBuffer(op.getSortedTokens());
  o.offsets = g.toBuffer(op.getOffsets());
  o.w1 = g.toBuffer(op.getW1());
  o.w3 = g.toBuffer(op.getW3());
  o.w2 = g.toBuffer(op.getW2());
  o.rows = memref::DimOp::create(b, o.sorted, 0);
  o.tokens = memref::DimOp::create(b, o.x, 0);
  Type f32 = b.getF32Type();
  // The intermediate keeps the experts' precision (bf16 is what the tensor
  // cores read).
  o.actType = choice.bf16 ? b.getBF16Type() : f32;
  o.act = memref::AllocOp::create(
      b, MemRefType::get({ShapedType::kDynamic, o.inter}, o.actType),
      ValueRange{o.rows});
  o.down = memref::AllocOp::create(
      b, MemRefType::get({ShapedType::kDynamic, o.width}, f32),
      ValueRange{o.rows});
  // Outside the token guards, which hold only launches.
  if (choice.wgmma && wgmmaPersistent > 0 && wgmmaGroup == 0)
    o.tileCounters =
        memref::AllocOp::create(b, MemRefType::get({2}, b.getI32Type()));
  if (multicast(choice)) {
    auto map = [&](Value weights) -> Value {
      return TensorMapOp::create(
          b, MemRefType::get({16}, b.getI64Type()), weights,
          b.getDenseI64ArrayAttr({1, WgmmaTiles::kHalfRows, WgmmaTiles::kK}),
          b.getI64IntegerAttr(128));
    };
    o.w1Map = map(o.w1);
    o.w3Map = map(o.w3);
    o.w2Map = map(o.w2);
  }
  return o;
}

void HymirMoeExpertsToGpuPass::emitExperts(ImplicitLocOpBuilder &b,
                                           const MoeExpertsOperands &o,
                                           const KernelChoice &choice) {
  // The kernel sets, each with the range of token counts it serves
  // ([atLeast, atMost], atMost -1: no bound): the one-wave decode kernels
  // up to decodeWaveTokens (they win while few experts have tokens), the
  // warp-per-row kernels above, up to the decode cut-off where a
  // tensor-core set takes over.
  struct KernelSet {
    int64_t atLeast, atMost;
    std::function<void()> emit;
  };
  SmallVector<KernelSet> sets;
  bool tiles = choice.wgmma || choice.mma;
  int64_t cut = !tiles         ? -1
                : choice.wgmma ? target.moeDecodeTokensWgmma
                               : target.moeDecodeTokens;
  auto wave = [&]() {
    emitMoeWaveKernels(b, o, decodeWave, choice.layoutTile);
  };
  auto warpRows = [&]() {
    emitMoeWarpRowsKernels(b, o, choice.slots, choice.layoutTile);
  };
  int64_t waveTokens = decodeWaveTokens;
  if (decodeWave > 0 && waveTokens > 0) {
    bool waveAll = cut >= 0 && waveTokens >= cut;
    sets.push_back({0, waveAll ? cut : waveTokens, wave});
    if (!waveAll)
      sets.push_back({waveTokens + 1, cut, warpRows});
  } else {
    sets.push_back({0, cut, warpRows});
  }
  // With multicast, the cluster kernels from wgmma-multicast-min-tokens on
  // (below, most experts have one row tile, which runs alone: the
  // one-block kernels serve those calls).
  int64_t clusterFrom =
      multicast(choice) ? std::max(cut + 1, wgmmaMulticastMinTokens.getValue())
                        : cut + 1;
  auto tileKernels = [&](bool clusters) {
    if (choice.wgmma)
      emitMoeWgmmaKernels(b, o, wgmmaGroup, wgmmaPersistent, choice.layoutTile,
                          clusters);
    else
      emitMoeMmaKernels(b, o);
  };
  if (tiles && clusterFrom > cut + 1)
    sets.push_back({cut + 1, clusterFrom - 1, [&]() { tileKernels(false); }});
  if (tiles)
    sets.push_back(
        {clusterFrom, -1, [&]() { tileKernels(multicast(choice)); }});
  auto serves = [](const KernelSet &set, int64_t tokens) {
    return tokens >= set.atLeast && (set.atMost < 0 || tokens <= set.atMost);
  };
  // A static token count (a decode step's batch) has one set and no guard:
  // its entry may have no dynamic dim to guard by.
  int64_t staticTokens = cast<ShapedType>(o.x.getType()).getDimSize(0);
  if (!ShapedType::isDynamic(staticTokens)) {
    for (const KernelSet &set : sets)
      if (serves(set, staticTokens))
        return set.emit();
    return;
  }
  if (sets.size() == 1)
    return sets.front().emit();
  // Each set under the range of token counts it serves: the plan guards
  // each launch by its range, so a call runs one set.
  OpBuilder::InsertionGuard guard(b);
  for (const KernelSet &set : sets) {
    auto guarded = TokenGuardOp::create(b, b.getI64IntegerAttr(set.atLeast),
                                        b.getI64IntegerAttr(set.atMost));
    b.setInsertionPointToStart(&guarded.getBody().emplaceBlock());
    set.emit();
    b.setInsertionPointAfter(guarded);
  }
}

Value HymirMoeExpertsToGpuPass::emitCombine(ImplicitLocOpBuilder &b,
                                            MoeExpertsOp op,
                                            const MoeExpertsOperands &o) {
  auto resultType = cast<RankedTensorType>(op.getResult().getType());
  if (!cast<RankedTensorType>(op.getSlots().getType()).isDynamicDim(1))
    return emitMoeCombineKernel(b, o, op.getWeights(), op.getSlots(),
                                resultType);
  Value downTensor = bufferization::ToTensorOp::create(
      b, RankedTensorType::get({ShapedType::kDynamic, o.width}, b.getF32Type()),
      o.down, /*restrict=*/true, /*writable=*/true);
  return buildMoeCombine(b, b.getLoc(), op.getWeights(), op.getSlots(),
                         downTensor, op.getX(), resultType);
}

} // namespace
