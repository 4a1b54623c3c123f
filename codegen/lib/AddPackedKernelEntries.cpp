//===- AddPackedKernelEntries.cpp - uniform entry points for cpu kernels --===//
//
// The cpu driver calls every kernel through one signature,
// void K.packed(int64_t block, const uint64_t *words), so it needs no
// per-kernel glue (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/KernelNames.h"
#include "hymir/Codegen/Passes.h"
#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRADDPACKEDKERNELENTRIES
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;

namespace {

struct HymirAddPackedKernelEntriesPass
    : hymir::impl::HymirAddPackedKernelEntriesBase<
          HymirAddPackedKernelEntriesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Type i64 = IntegerType::get(ctx, 64);
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    SmallVector<LLVM::LLVMFuncOp> kernels;
    for (auto func : module.getOps<LLVM::LLVMFuncOp>())
      if (hymir::isHostKernel(func))
        kernels.push_back(func);
    for (LLVM::LLVMFuncOp kernel : kernels) {
      LLVM::LLVMFunctionType type = kernel.getFunctionType();
      if (type.getNumParams() < 1 || type.getParamType(0) != i64) {
        kernel.emitOpError("kernel must take the block index (i64) first");
        return signalPassFailure();
      }
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      Location loc = kernel.getLoc();
      auto packedType =
          LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {i64, ptr});
      auto packed = LLVM::LLVMFuncOp::create(
          b, loc, mlir::hymir::packedEntryName(kernel.getName()), packedType);
      Block *entry = packed.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      SmallVector<Value> args = {entry->getArgument(0)};
      for (unsigned i = 1; i < type.getNumParams(); ++i) {
        Type param = type.getParamType(i);
        if (param != i64 && param != ptr) {
          kernel.emitOpError() << "kernel parameter " << i << " has type "
                               << param << "; only i64 and ptr are packed";
          return signalPassFailure();
        }
        Value addr = LLVM::GEPOp::create(
            b, loc, ptr, i64, entry->getArgument(1),
            ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i - 1)});
        args.push_back(LLVM::LoadOp::create(b, loc, param, addr));
      }
      LLVM::CallOp::create(b, loc, kernel, args);
      LLVM::ReturnOp::create(b, loc, ValueRange{});
    }
  }
};

} // namespace
