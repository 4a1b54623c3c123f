//===- MaterializeConstants.cpp - constant globals into filled buffers ----===//
//
// Each constant global a host function reads becomes a buffer filled by a
// loop nest that reads the global itself, so the constant ends up in the
// kernel made of that loop (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "hymir/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRMATERIALIZECONSTANTS
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;

namespace {

/// True when `op` runs on the host: no loop or kernel encloses it below its
/// function.
bool onHost(Operation *op) {
  for (Operation *p = op->getParentOp(); p; p = p->getParentOp()) {
    if (isa<FunctionOpInterface>(p))
      return true;
    if (isa<gpu::LaunchOp, scf::ForallOp, scf::ParallelOp, scf::ForOp>(p))
      return false;
  }
  return false;
}

void materialize(memref::GetGlobalOp read) {
  OpBuilder b(read);
  Location loc = read.getLoc();
  auto type = cast<MemRefType>(read.getType());
  Value buffer = memref::AllocOp::create(b, loc, type);
  // One iteration per element; a 0-d constant is a loop of one iteration.
  SmallVector<Value> lbs, ubs, steps;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t extent : type.getShape()) {
    lbs.push_back(zero);
    ubs.push_back(arith::ConstantIndexOp::create(b, loc, extent));
    steps.push_back(one);
  }
  bool scalar = type.getRank() == 0;
  if (scalar) {
    lbs.push_back(zero);
    ubs.push_back(one);
    steps.push_back(one);
  }
  scf::ParallelOp::create(
      b, loc, lbs, ubs, steps,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange ivs) {
        Value global = memref::GetGlobalOp::create(nested, nestedLoc, type,
                                                   read.getNameAttr());
        ValueRange at = scalar ? ValueRange() : ivs;
        Value element = memref::LoadOp::create(nested, nestedLoc, global, at);
        memref::StoreOp::create(nested, nestedLoc, element, buffer, at);
      });
  read.getResult().replaceAllUsesWith(buffer);
  read.erase();
}

struct HymirMaterializeConstantsPass
    : hymir::impl::HymirMaterializeConstantsBase<
          HymirMaterializeConstantsPass> {
  void runOnOperation() override {
    Operation *symbols = SymbolTable::getNearestSymbolTable(getOperation());
    SmallVector<memref::GetGlobalOp> reads;
    getOperation().walk([&](memref::GetGlobalOp read) {
      auto global = dyn_cast_or_null<memref::GlobalOp>(
          SymbolTable::lookupSymbolIn(symbols, read.getNameAttr()));
      if (global && global.getConstant() && onHost(read))
        reads.push_back(read);
    });
    for (memref::GetGlobalOp read : reads)
      materialize(read);
  }
};

} // namespace
