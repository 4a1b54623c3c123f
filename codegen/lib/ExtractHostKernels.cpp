//===- ExtractHostKernels.cpp - GPU kernels as host functions -------------===//
//
// The cpu target runs each thread block of a kernel as one call of a host
// function that loops over the block's threads (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/KernelNames.h"
#include "hymir/Codegen/Passes.h"
#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIREXTRACTHOSTKERNELS
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;

namespace {

/// Clones `kernel` into `module` as a host function; see Passes.td.
LogicalResult extractKernel(gpu::GPUModuleOp gpuModule, gpu::GPUFuncOp kernel,
                            ModuleOp module) {
  if (!kernel.getBody().hasOneBlock())
    return kernel.emitOpError("with several blocks is not supported on cpu");
  if (!kernel.getWorkgroupAttributions().empty() ||
      !kernel.getPrivateAttributions().empty())
    return kernel.emitOpError("with memory attributions is not supported on "
                              "cpu");
  std::optional<ArrayRef<int32_t>> known = kernel.getKnownBlockSize();
  if (!known || known->size() != 3 || (*known)[1] != 1 || (*known)[2] != 1)
    return kernel.emitOpError(
        "needs a known block size of the form [x, 1, 1] on cpu");

  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Location loc = kernel.getLoc();
  SmallVector<Type> argTypes = {b.getIndexType()};
  llvm::append_range(argTypes, kernel.getArgumentTypes());
  std::string name =
      mlir::hymir::hostKernelName(gpuModule.getName(), kernel.getName());
  auto func =
      func::FuncOp::create(b, loc, name, b.getFunctionType(argTypes, {}));
  hymir::setHostKernel(func);
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);

  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value threads = arith::ConstantIndexOp::create(b, loc, (*known)[0]);
  auto loop = scf::ForOp::create(b, loc, zero, threads, one);
  func::ReturnOp::create(b, loc);

  IRMapping mapping;
  for (auto [from, to] :
       llvm::zip(kernel.getArguments(), entry->getArguments().drop_front()))
    mapping.map(from, to);
  b.setInsertionPointToStart(loop.getBody());
  Value blockX = entry->getArgument(0), threadX = loop.getInductionVar();
  for (Operation &op : kernel.getBody().front().without_terminator()) {
    auto dimIndex = [&](gpu::Dimension dim, Value x, Value yz) {
      return dim == gpu::Dimension::x ? x : yz;
    };
    if (auto id = dyn_cast<gpu::ThreadIdOp>(op)) {
      mapping.map(id.getResult(), dimIndex(id.getDimension(), threadX, zero));
      continue;
    }
    if (auto id = dyn_cast<gpu::BlockIdOp>(op)) {
      mapping.map(id.getResult(), dimIndex(id.getDimension(), blockX, zero));
      continue;
    }
    if (auto dim = dyn_cast<gpu::BlockDimOp>(op)) {
      mapping.map(dim.getResult(), dimIndex(dim.getDimension(), threads, one));
      continue;
    }
    bool unsupported = false;
    op.walk([&](Operation *inner) {
      if (isa<gpu::BarrierOp, gpu::GridDimOp, gpu::ShuffleOp>(inner)) {
        inner->emitOpError("is not supported in a cpu kernel");
        unsupported = true;
      }
    });
    if (unsupported)
      return failure();
    b.clone(op, mapping);
  }
  return success();
}

struct HymirExtractHostKernelsPass
    : hymir::impl::HymirExtractHostKernelsBase<HymirExtractHostKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> old;
    for (Operation &op : module.getBody()->getOperations())
      old.push_back(&op);
    for (Operation *op : old) {
      auto gpuModule = dyn_cast<gpu::GPUModuleOp>(op);
      if (!gpuModule)
        continue;
      for (auto kernel : gpuModule.getOps<gpu::GPUFuncOp>())
        if (kernel.isKernel() &&
            failed(extractKernel(gpuModule, kernel, module)))
          return signalPassFailure();
      // The globals the kernels carry (hymir-materialize-constants) move
      // out with them, under the same names.
      SymbolTable symbols(module);
      for (auto global :
           llvm::make_early_inc_range(gpuModule.getOps<memref::GlobalOp>()))
        if (!symbols.lookup(global.getSymName()))
          symbols.insert(global->clone());
    }
    for (Operation *op : old)
      if (!isa<memref::GlobalOp>(op))
        op->erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};

} // namespace
