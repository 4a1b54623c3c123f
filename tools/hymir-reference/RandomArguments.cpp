//===- RandomArguments.cpp - random inputs for hymir functions ------------===//
//
// See RandomArguments.h. An argument's role is read from its first use,
// following calls into their callees.
//
//===----------------------------------------------------------------------===//

#include "RandomArguments.h"

#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/SymbolTable.h"

#include <cmath>
#include <random>

using namespace mlir;
namespace oracle = ::hymir::oracle;

namespace hymir::reference {
namespace {

/// The first use of `arg` that is not a call: calls are followed into their
/// callee. Returns null when the argument has no such use.
OpOperand *firstRealUse(BlockArgument arg) {
  for (OpOperand &use : arg.getUses()) {
    auto call = dyn_cast<func::CallOp>(use.getOwner());
    if (!call)
      return &use;
    auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
        call, call.getCalleeAttr());
    if (callee && !callee.isExternal())
      if (OpOperand *inner =
              firstRealUse(callee.getArgument(use.getOperandNumber())))
        return inner;
  }
  return nullptr;
}

/// The size of the table an integer argument indexes, from its first use.
/// Expert picks of hymir.routed_experts range over [-1, E] (`lowest` -1), so
/// that picks outside [0, E), which add nothing, occur too.
int64_t indexBound(BlockArgument arg, bool &isPositions, int64_t &lowest) {
  isPositions = false;
  lowest = 0;
  OpOperand *use = firstRealUse(arg);
  Operation *user = use ? use->getOwner() : nullptr;
  if (auto emb = dyn_cast_or_null<mlir::hymir::EmbeddingOp>(user))
    return emb.getTable().getType().getDimSize(0);
  if (auto loss = dyn_cast_or_null<mlir::hymir::CispoLossOp>(user))
    return loss.getLmHead().getType().getDimSize(0);
  if (auto logprobs = dyn_cast_or_null<mlir::hymir::TokenLogprobsOp>(user))
    return logprobs.getLmHead().getType().getDimSize(0);
  if (auto experts = dyn_cast_or_null<mlir::hymir::RoutedExpertsOp>(user);
      experts && use->getOperandNumber() == 1) {
    int64_t count = experts.getW1().getType().getDimSize(0);
    if (!ShapedType::isDynamic(count)) {
      lowest = -1;
      return count + 2;
    }
  }
  isPositions = isa_and_nonnull<mlir::hymir::RopeOp>(user) ||
                (isa_and_nonnull<mlir::hymir::KvCacheWriteOp>(user) &&
                 use->getOperandNumber() == 3);
  return 16;
}

} // namespace

::hymir::ReferenceValue randomArgument(BlockArgument arg, int64_t tokens,
                                       uint64_t seed) {
  auto type = cast<RankedTensorType>(arg.getType());
  std::vector<int64_t> shape;
  for (int64_t d : type.getShape())
    shape.push_back(ShapedType::isDynamic(d) ? tokens : d);
  if (isa<FloatType>(type.getElementType())) {
    // Values follow the argument's role so that activations stay O(1):
    // slopes are the model's positive decay rates, norm weights are near 1,
    // projection weights are scaled by 1/sqrt(fan-in); the rest is uniform
    // in [-1, 1).
    oracle::Tensor t = oracle::randomTensor(shape, seed, -1.0, 1.0);
    OpOperand *use = firstRealUse(arg);
    Operation *user = use ? use->getOwner() : nullptr;
    unsigned n = use ? use->getOperandNumber() : 0;
    if (isa_and_nonnull<mlir::hymir::LightningAttentionOp>(user) && n == 3) {
      std::vector<double> s = oracle::lightningSlopes(shape[0], 0, 8);
      t.data.assign(s.begin(), s.end());
    } else if (isa_and_nonnull<mlir::hymir::RmsNormOp>(user) && n == 1) {
      for (double &v : t.data)
        v = 1.0 + 0.1 * v;
    } else if (user && n > 0 && !t.shape.empty() &&
               isa<mlir::hymir::LinearOp, mlir::hymir::MoeOp,
                   mlir::hymir::RoutedExpertsOp, mlir::hymir::CispoLossOp,
                   mlir::hymir::TokenLogprobsOp>(user)) {
      double scale = 1.0 / std::sqrt(static_cast<double>(t.shape.back()));
      for (double &v : t.data)
        v *= scale;
    }
    return t;
  }
  bool isPositions = false;
  int64_t lowest = 0;
  int64_t bound = indexBound(arg, isPositions, lowest);
  oracle::IntTensor t{shape,
                      std::vector<int64_t>(oracle::Tensor(shape).numel())};
  std::mt19937_64 rng(seed);
  int64_t inner = shape.empty() ? 1 : shape.back();
  for (size_t k = 0; k < t.data.size(); ++k)
    t.data[k] = isPositions ? static_cast<int64_t>(k) % inner
                            : lowest + static_cast<int64_t>(rng() % bound);
  return t;
}

} // namespace hymir::reference
