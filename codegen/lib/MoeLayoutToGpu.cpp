//===- MoeLayoutToGpu.cpp - the MoE grouped layout as a GPU kernel --------===//
//
// The pass hymir-moe-layout-to-gpu: every hymir.moe_route with a static
// expert count gets its routing and grouped layout as one GPU kernel (two
// above 64 tokens: buildMoeGpuRoute), or with fused-routing=false its
// routing as linalg (generic kernels) and the layout kernel
// (buildMoeGpuLayout); every hymir.moe_layout gets the layout kernel.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "MoeKernels.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRMOELAYOUTTOGPU
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// hymir.moe_route and hymir.moe_layout on cuda: the routing by
/// buildMoeGpuRoute (`fused`) or as linalg, the layout by buildMoeGpuLayout.
void rewriteLayout(Operation *op, bool fused) {
  ImplicitLocOpBuilder b(op->getLoc(), op);
  SmallVector<RankedTensorType> types;
  for (Value r : op->getResults())
    types.push_back(cast<RankedTensorType>(r.getType()));
  SmallVector<Value> results;
  auto route = dyn_cast<MoeRouteOp>(op);
  if (route && fused) {
    results = buildMoeGpuRoute(b, route.getLogits(), route.getTopK(),
                               route.getRenormalize(), route.getTile(), types);
  } else if (route) {
    int64_t experts =
        cast<RankedTensorType>(route.getLogits().getType()).getDimSize(1);
    auto [chosen, weights] =
        buildMoeRouting(b, b.getLoc(), route.getLogits(), route.getTopK(),
                        route.getRenormalize());
    results = buildMoeGpuLayout(b, chosen, experts, route.getTile(),
                                ArrayRef(types).take_front(3));
    Type weightsType = route.getWeights().getType();
    results.push_back(
        weights.getType() == weightsType
            ? weights
            : Value(tensor::CastOp::create(b, weightsType, weights)));
  } else {
    auto layout = cast<MoeLayoutOp>(op);
    results = buildMoeGpuLayout(b, layout.getIndices(), layout.getNumExperts(),
                                layout.getTile(), types);
  }
  op->replaceAllUsesWith(results);
  op->erase();
}

struct HymirMoeLayoutToGpuPass
    : hymir::impl::HymirMoeLayoutToGpuBase<HymirMoeLayoutToGpuPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<Operation *> layouts;
    getOperation().walk([&](Operation *op) {
      auto route = dyn_cast<MoeRouteOp>(op);
      if ((route && !cast<RankedTensorType>(route.getLogits().getType())
                         .isDynamicDim(1)) ||
          isa<MoeLayoutOp>(op))
        layouts.push_back(op);
    });
    for (Operation *op : layouts)
      rewriteLayout(op, fusedRouting);
  }
};

} // namespace
