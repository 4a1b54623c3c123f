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
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
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

/// Whether `launch` uses `arg` (whose aliases are `aliases`) only by loads
/// of `arg` itself: the initial state, element by element by the thread
/// that stores it again.
bool onlyLoads(gpu::LaunchOp launch, Value arg,
               const llvm::SmallPtrSetImpl<Value> &aliases) {
  WalkResult other = launch->walk([&](Operation *inner) {
    for (Value operand : inner->getOperands())
      if (aliases.contains(operand) &&
          (operand != arg || !isLoadOf(inner, arg)))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return !other.wasInterrupted();
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
  llvm::SmallPtrSet<Value, 8> aliases = aliasesOf(arg);
  if (!onlyLoads(launch, arg, aliases))
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

/// The epilogue `generic` computed at each store of the decode launch into
/// `alloc`, the result stored into `arg` instead (see Passes.td).
class EpilogueFusion {
public:
  EpilogueFusion(linalg::GenericOp generic, Value alloc, Value arg)
      : generic(generic), alloc(alloc), arg(arg) {}

  void rewrite(Operation *store) {
    OpBuilder b(store);
    Location loc = store->getLoc();
    if (auto scalar = dyn_cast<memref::StoreOp>(store)) {
      SmallVector<Value> at(scalar.getIndices());
      Value r = element(b, loc, at, scalar.getValueToStore());
      memref::StoreOp::create(b, loc, r, arg, at);
    } else {
      auto vec = cast<vector::StoreOp>(store);
      auto type = cast<VectorType>(vec.getValueToStore().getType());
      SmallVector<Value> at(vec.getIndices()), results;
      for (int64_t j = 0; j < type.getNumElements(); ++j) {
        SmallVector<Value> here = at;
        here.back() = arith::AddIOp::create(
            b, loc, at.back(), arith::ConstantIndexOp::create(b, loc, j));
        Value x = vector::ExtractOp::create(b, loc, vec.getValueToStore(), j);
        results.push_back(element(b, loc, here, x));
      }
      Value r = vector::FromElementsOp::create(
          b, loc, VectorType::get(type.getShape(), results.front().getType()),
          results);
      vector::StoreOp::create(b, loc, r, arg, at, /*nontemporal=*/false,
                              vec.getAlignment()
                                  ? llvm::MaybeAlign(*vec.getAlignment())
                                  : llvm::MaybeAlign());
    }
    store->erase();
  }

private:
  /// The payload at the point `at`, with `stored` for the fresh state.
  Value element(OpBuilder &b, Location loc, ValueRange at, Value stored) {
    Block *body = generic.getBody();
    IRMapping map;
    for (OpOperand &operand : generic->getOpOperands()) {
      BlockArgument bodyArg = generic.getMatchingBlockArgument(&operand);
      if (bodyArg.use_empty())
        continue;
      if (operand.get() == alloc) {
        map.map(bodyArg, stored);
        continue;
      }
      SmallVector<Value> indices;
      for (AffineExpr e : generic.getMatchingIndexingMap(&operand).getResults())
        indices.push_back(at[cast<AffineDimExpr>(e).getPosition()]);
      map.map(bodyArg, memref::LoadOp::create(b, loc, operand.get(), indices));
    }
    for (Operation &op : body->without_terminator())
      b.clone(op, map);
    return map.lookupOrDefault(body->getTerminator()->getOperand(0));
  }

  linalg::GenericOp generic;
  Value alloc, arg;
};

/// Where `alloc` is the fresh state of a decode launch read by one
/// elementwise `linalg.generic` that writes the entry argument the launch
/// reads (the model's decode keeps a slot's state where it has no token:
/// select(counts[b] > 0, new, old)), computes that op in the launch at each
/// store of the state and stores its result into the argument.
bool fuseEpilogue(func::FuncOp func, memref::AllocOp alloc) {
  gpu::LaunchOp launch;
  linalg::GenericOp generic;
  for (OpOperand &use : alloc->getUses()) {
    Operation *user = use.getOwner();
    if (isa<memref::DeallocOp>(user))
      continue;
    if (auto g = dyn_cast<linalg::GenericOp>(user)) {
      if ((generic && generic != g) || !g.isDpsInput(&use))
        return false;
      generic = g;
      continue;
    }
    auto l = user->getParentOfType<gpu::LaunchOp>();
    if (!isStoreInto(user, alloc.getResult()) || !l ||
        getLightningPart(l) != LightningPart::Decode || (launch && launch != l))
      return false;
    launch = l;
  }
  if (!launch || !generic || generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      generic.getBody()->getTerminator()->getNumOperands() != 1)
    return false;
  auto arg = dyn_cast<BlockArgument>(generic.getDpsInits()[0]);
  OpOperand *init = generic.getDpsInitOperand(0);
  if (!arg || arg.getOwner() != &func.getBody().front() ||
      arg.getType() != alloc.getType() ||
      !generic.getMatchingIndexingMap(init).isIdentity() ||
      launch->getBlock() != generic->getBlock() ||
      !launch->isBeforeInBlock(generic))
    return false;
  // Inputs: the fresh state and the argument read at the point itself, the
  // others (per-slot counts) at a projection of it.
  llvm::SmallPtrSet<Value, 8> argAliases = aliasesOf(arg);
  SmallVector<llvm::SmallPtrSet<Value, 8>> others;
  for (OpOperand *in : generic.getDpsInputOperands()) {
    AffineMap m = generic.getMatchingIndexingMap(in);
    if (in->get() == alloc || in->get() == arg) {
      if (!m.isIdentity())
        return false;
      continue;
    }
    if (!m.isProjectedPermutation(/*allowZeroInResults=*/false) ||
        argAliases.contains(in->get()) || !isa<MemRefType>(in->get().getType()))
      return false;
    others.push_back(aliasesOf(in->get()));
  }
  for (Operation &op : generic.getBody()->without_terminator())
    if (op.getNumRegions() || !isPure(&op))
      return false;
  if (!onlyLoads(launch, arg, argAliases))
    return false;
  // The operands keep their values from the launch to the op: nothing in
  // between uses the argument or the other inputs, and the launch does not
  // touch the other inputs.
  for (const llvm::SmallPtrSet<Value, 8> &aliases : others)
    if (touches(launch, aliases))
      return false;
  for (Operation *op = launch->getNextNode(); op != generic.getOperation();
       op = op->getNextNode()) {
    if (touches(op, argAliases))
      return false;
    for (const llvm::SmallPtrSet<Value, 8> &aliases : others)
      if (touches(op, aliases))
        return false;
  }
  SmallVector<Operation *> stores;
  for (Operation *user : alloc->getUsers())
    if (launch->isProperAncestor(user))
      stores.push_back(user);
  EpilogueFusion fusion(generic, alloc.getResult(), arg);
  for (Operation *store : stores)
    fusion.rewrite(store);
  generic.erase();
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
    SmallVector<memref::AllocOp> allocs;
    func.walk([&](memref::AllocOp alloc) { allocs.push_back(alloc); });
    for (memref::AllocOp alloc : allocs)
      fuseEpilogue(func, alloc);
  }
};

} // namespace
