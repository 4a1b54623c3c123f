//===- GpuClusterDims.cpp - cluster shapes onto kernels -------------------===//
//
// Copies the cluster shape of each gpu.launch_func onto its kernel as
// nvvm.cluster_dim, so the PTX requires it and a plain launch runs the
// kernel in clusters (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Matchers.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRGPUCLUSTERDIMS
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;

namespace {

struct HymirGpuClusterDimsPass
    : hymir::impl::HymirGpuClusterDimsBase<HymirGpuClusterDimsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection symbols;
    StringRef name = NVVM::NVVMDialect::getClusterDimAttrName();
    WalkResult result = module.walk([&](gpu::LaunchFuncOp launch) {
      if (!launch.hasClusterSize())
        return WalkResult::advance();
      gpu::KernelDim3 size = launch.getClusterSizeOperandValues();
      SmallVector<int32_t> dims;
      for (Value v : {size.x, size.y, size.z}) {
        APInt n;
        if (!matchPattern(v, m_ConstantInt(&n)) || n.getSExtValue() < 1) {
          launch.emitError("hymir-gpu-cluster-dims: a cluster size is not a "
                           "positive constant");
          return WalkResult::interrupt();
        }
        dims.push_back(static_cast<int32_t>(n.getSExtValue()));
      }
      auto kernel = symbols.lookupNearestSymbolFrom<gpu::GPUFuncOp>(
          launch, launch.getKernelAttr());
      if (!kernel) {
        launch.emitError("hymir-gpu-cluster-dims: kernel ")
            << launch.getKernelAttr() << " not found";
        return WalkResult::interrupt();
      }
      auto attr = DenseI32ArrayAttr::get(&getContext(), dims);
      if (auto old = kernel->getAttrOfType<DenseI32ArrayAttr>(name);
          old && old != attr) {
        launch.emitError("hymir-gpu-cluster-dims: kernel ")
            << launch.getKernelAttr() << " is launched with clusters " << attr
            << " here and " << old << " elsewhere";
        return WalkResult::interrupt();
      }
      kernel->setAttr(name, attr);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
