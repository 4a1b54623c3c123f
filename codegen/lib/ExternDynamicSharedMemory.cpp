//===- ExternDynamicSharedMemory.cpp - PTX dynamic shared memory ----------===//
//
// Declares zero-sized addrspace(3) globals external and 1024-byte aligned so
// that the NVPTX backend emits them as the dynamic shared-memory region
// (`.extern .shared .align 1024 .b8 name[]`) rather than as one-byte static
// variables (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIREXTERNDYNAMICSHAREDMEMORY
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;

namespace {

constexpr unsigned kSharedAddressSpace = 3;

struct HymirExternDynamicSharedMemoryPass
    : hymir::impl::HymirExternDynamicSharedMemoryBase<
          HymirExternDynamicSharedMemoryPass> {
  void runOnOperation() override {
    getOperation().walk([](LLVM::GlobalOp global) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
      if (global.getAddrSpace() != kSharedAddressSpace || !array ||
          array.getNumElements() != 0)
        return;
      global.setLinkage(LLVM::Linkage::External);
      global.setAlignment(1024);
      global.removeValueAttr();
    });
  }
};

} // namespace
