//===- LightningStateInPlace.cpp - tied lightning states without a copy ---===//
//
// hymir-lightning-state-in-place (Passes.td): after one-shot bufferization,
// a tied state is the copy of a fresh buffer into the argument's buffer
// after the decode launch that filled it. The decode kernel reads each
// state element before writing the same element from the same thread, so it
// can write the argument's buffer itself; the copy and the fresh buffer go.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRLIGHTNINGSTATEINPLACE
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// `root` and every memref derived from it by an op taking one of them
/// (views, casts, reshapes): what may read or write `root`'s bytes.
llvm::SmallPtrSet<Value, 8> aliasesOf(Value root) {
  llvm::SmallPtrSet<Value, 8> aliases;
  SmallVector<Value> work = {root};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (!aliases.insert(v).second)
      continue;
    for (Operation *user : v.getUsers())
      for (Value result : user->getResults())
        if (isa<BaseMemRefType>(result.getType()))
          work.push_back(result);
  }
  return aliases;
}

/// Whether `op` or an op nested in it has an operand in `aliases`.
bool touches(Operation *op, const llvm::SmallPtrSetImpl<Value> &aliases) {
  WalkResult found = op->walk([&](Operation *inner) {
    for (Value operand : inner->getOperands())
      if (aliases.contains(operand))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return found.wasInterrupted();
}

/// Whether `op` stores elements into `memref` (and does nothing else with
/// it).
bool isStoreInto(Operation *op, Value memref) {
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return store.getMemRef() == memref && store.getValueToStore() != memref;
  if (auto store = dyn_cast<vector::StoreOp>(op))
    return store.getBase() == memref && store.getValueToStore() != memref;
  return false;
}

/// Whether `op` loads elements of `memref`.
bool isLoadOf(Operation *op, Value memref) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return load.getMemRef() == memref;
  if (auto load = dyn_cast<vector::LoadOp>(op))
    return load.getBase() == memref;
  return false;
}

/// The decode launch that is the only writer of `alloc`, if `alloc`'s uses
/// are stores inside one such launch, `copy` and deallocations.
gpu::LaunchOp soleDecodeWriter(memref::AllocOp alloc, memref::CopyOp copy) {
  gpu::LaunchOp writer;
  for (OpOperand &use : alloc->getUses()) {
    Operation *user = use.getOwner();
    if (user == copy.getOperation() || isa<memref::DeallocOp>(user))
      continue;
    auto launch = user->getParentOfType<gpu::LaunchOp>();
    if (!isStoreInto(user, alloc.getResult()) || !launch ||
        getLightningPart(launch) != LightningPart::Decode ||
        (writer && writer != launch))
      return nullptr;
    writer = launch;
  }
  return writer;
}

/// Rewrites `copy` away where its source is the final state of a decode
/// launch and its target the entry argument that launch reads.
bool updateInPlace(func::FuncOp func, memref::CopyOp copy) {
  auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
  auto arg = dyn_cast<BlockArgument>(copy.getTarget());
  if (!alloc || !arg || arg.getOwner() != &func.getBody().front() ||
      alloc.getType() != arg.getType())
    return false;
  gpu::LaunchOp launch = soleDecodeWriter(alloc, copy);
  if (!launch || launch->getBlock() != copy->getBlock() ||
      !launch->isBeforeInBlock(copy))
    return false;
  // Inside the launch the argument is only loaded, directly (the initial
  // state, element by element by the thread that stores it again).
  llvm::SmallPtrSet<Value, 8> aliases = aliasesOf(arg);
  bool onlyLoads = true;
  launch->walk([&](Operation *inner) {
    for (Value operand : inner->getOperands()) {
      if (!aliases.contains(operand))
        continue;
      if (operand != arg || !isLoadOf(inner, arg))
        onlyLoads = false;
    }
  });
  if (!onlyLoads)
    return false;
  // The argument's old bytes stay in use until the copy: nothing between the
  // launch and the copy may read or write them.
  for (Operation *op = launch->getNextNode(); op != copy.getOperation();
       op = op->getNextNode())
    if (touches(op, aliases))
      return false;
  alloc.getResult().replaceUsesWithIf(arg, [&](OpOperand &use) {
    return launch->isProperAncestor(use.getOwner());
  });
  copy.erase();
  for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
    user->erase(); // deallocations
  alloc.erase();
  return true;
}

struct LightningStateInPlacePass
    : hymir::impl::HymirLightningStateInPlaceBase<LightningStateInPlacePass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) { copies.push_back(copy); });
    for (memref::CopyOp copy : copies)
      updateInPlace(func, copy);
  }
};

} // namespace
