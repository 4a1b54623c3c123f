//===- TieArguments.cpp - hymir.tied to bufferization writability ---------===//
//
// hymir-tie-arguments (Passes.td): one-shot bufferization writes into a
// function argument's buffer only where `bufferization.writable` allows it.
// A tied argument allows it; any other argument of an entry is read only.
// A tied result that is not the argument itself is materialized in the
// argument, and the computation that produces it into a tensor.empty is
// pointed at the argument instead (empty-tensor elimination, for these
// materializations only), so that it writes the argument's buffer directly;
// each tied result only where bufferization still succeeds with it (not
// when the argument's old value is read later).
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotModuleBufferize.h"
#include "mlir/Dialect/Bufferization/Transforms/Transforms.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SubsetOpInterface.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRTIEARGUMENTS
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;
namespace bz = mlir::bufferization;

namespace {

/// A tied result of an entry: the function's name and the result's index.
struct TiedResult {
  StringAttr func;
  unsigned result;
};

/// Materializes each tied result of `tied` in its argument (at every return
/// of its function) and collects the materializations.
void materialize(ModuleOp module, ArrayRef<TiedResult> tied,
                 llvm::SmallPtrSetImpl<Operation *> &created) {
  for (const TiedResult &t : tied) {
    auto func = module.lookupSymbol<func::FuncOp>(t.func);
    Value dest = func.getArgument(*getTiedArgument(func, t.result));
    for (Block &block : func.getBody()) {
      auto ret = dyn_cast<func::ReturnOp>(block.getTerminator());
      if (!ret || ret.getOperand(t.result) == dest)
        continue;
      OpBuilder at(ret);
      auto into = bz::MaterializeInDestinationOp::create(
          at, ret.getLoc(), ret.getOperand(t.result), dest);
      ret.setOperand(t.result, into.getResult());
      created.insert(into);
    }
  }
}

bz::OneShotBufferizationOptions analysisOptions() {
  bz::OneShotBufferizationOptions options;
  options.bufferizeFunctionBoundaries = true;
  options.allowReturnAllocsFromLoops = true;
  return options;
}

/// Empty-tensor elimination for the materializations in `only`, on the
/// analysis the pipeline's bufferization makes.
LogicalResult eliminate(ModuleOp module,
                        const llvm::SmallPtrSetImpl<Operation *> &only) {
  // The state keeps a reference to its options.
  bz::OneShotBufferizationOptions options = analysisOptions();
  bz::OneShotAnalysisState state(module, options);
  if (failed(bz::analyzeModuleOp(module, state)))
    return failure();
  IRRewriter rewriter(module.getContext());
  auto onlyTied = [&](RewriterBase &rw, SubsetInsertionOpInterface op,
                      tensor::EmptyOp empty, Operation *user) -> Value {
    if (!only.contains(op.getOperation()))
      return Value();
    return bz::buildSubsetExtraction(rw, op, empty, user);
  };
  return bz::eliminateEmptyTensors(rewriter, module, state, onlyTied);
}

/// Whether bufferization can still analyze `module` after `tied` are
/// materialized and their empty tensors eliminated, tried on a copy with
/// its diagnostics dropped.
bool bufferizesInPlace(ModuleOp module, ArrayRef<TiedResult> tied) {
  OwningOpRef<ModuleOp> trial = cast<ModuleOp>(module->clone());
  ScopedDiagnosticHandler quiet(module.getContext(),
                                [](Diagnostic &) { return success(); });
  llvm::SmallPtrSet<Operation *, 4> created;
  materialize(*trial, tied, created);
  if (failed(eliminate(*trial, created)))
    return false;
  bz::OneShotBufferizationOptions options = analysisOptions();
  bz::OneShotAnalysisState state(*trial, options);
  return succeeded(bz::analyzeModuleOp(*trial, state));
}

struct TieArgumentsPass
    : public hymir::impl::HymirTieArgumentsBase<TieArgumentsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder b(&getContext());
    SmallVector<TiedResult> candidates;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal())
        continue;
      llvm::SmallBitVector tied(func.getNumArguments());
      for (unsigned r = 0; r < func.getNumResults(); ++r)
        if (std::optional<unsigned> arg = getTiedArgument(func, r)) {
          tied.set(*arg);
          if (isa<TensorType>(func.getArgumentTypes()[*arg]))
            candidates.push_back({func.getSymNameAttr(), r});
        }
      for (unsigned i = 0; i < func.getNumArguments(); ++i)
        if (isa<TensorType>(func.getArgumentTypes()[i]))
          func.setArgAttr(i, bz::BufferizationDialect::kWritableAttrName,
                          b.getBoolAttr(tied.test(i)));
    }
    // Computing a tied result in its argument moves the argument's write
    // from the end of the function to where the result is computed, which
    // bufferization refuses when the argument's old value is read after
    // that (or returned). Each tied result is kept in place only if the
    // module still bufferizes with it, tried on a copy; the others are left
    // to the plan, which copies them into their inputs at the end.
    SmallVector<TiedResult> accepted;
    for (const TiedResult &t : candidates) {
      accepted.push_back(t);
      if (!bufferizesInPlace(module, accepted))
        accepted.pop_back();
    }
    if (accepted.empty())
      return;
    llvm::SmallPtrSet<Operation *, 4> created;
    materialize(module, accepted, created);
    if (failed(eliminate(module, created)))
      signalPassFailure();
  }
};

} // namespace
