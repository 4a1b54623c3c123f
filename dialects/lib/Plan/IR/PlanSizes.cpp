//===- PlanSizes.cpp - sizes as the runtime holds them --------------------===//
//
// A plan's sizes are affine maps over the entry's symbols; the runtime holds
// each as (constant + sum coeff * symbol) floordiv divisor. This file
// converts between the two and evaluates sizes with overflow checks.
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Plan/IR/PlanOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::hymir::plan;

namespace {

/// `expr` as constant + terms (divisor 1), scaled by `scale`.
bool addLinear(AffineExpr expr, int64_t scale, LinearSize &out) {
  if (auto c = dyn_cast<AffineConstantExpr>(expr)) {
    int64_t product;
    if (llvm::MulOverflow(c.getValue(), scale, product) ||
        llvm::AddOverflow(out.constant, product, out.constant))
      return false;
    return true;
  }
  if (auto s = dyn_cast<AffineSymbolExpr>(expr)) {
    for (auto &[symbol, coeff] : out.terms)
      if (symbol == s.getPosition())
        return !llvm::AddOverflow(coeff, scale, coeff);
    out.terms.push_back({s.getPosition(), scale});
    return true;
  }
  auto bin = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!bin)
    return false;
  if (expr.getKind() == AffineExprKind::Add)
    return addLinear(bin.getLHS(), scale, out) &&
           addLinear(bin.getRHS(), scale, out);
  if (expr.getKind() == AffineExprKind::Mul) {
    // Simplified products put the constant on the right.
    auto c = dyn_cast<AffineConstantExpr>(bin.getRHS());
    int64_t product;
    if (!c || llvm::MulOverflow(scale, c.getValue(), product))
      return false;
    return addLinear(bin.getLHS(), product, out);
  }
  return false;
}

} // namespace

std::optional<LinearSize> mlir::hymir::plan::toLinearSize(AffineExpr expr) {
  LinearSize size;
  AffineExpr numerator = expr;
  int64_t bias = 0;
  if (expr.getKind() == AffineExprKind::FloorDiv ||
      expr.getKind() == AffineExprKind::CeilDiv) {
    auto bin = cast<AffineBinaryOpExpr>(expr);
    auto c = dyn_cast<AffineConstantExpr>(bin.getRHS());
    if (!c || c.getValue() <= 0)
      return std::nullopt;
    size.divisor = c.getValue();
    numerator = bin.getLHS();
    // ceil(x / c) = floor((x + c - 1) / c).
    if (expr.getKind() == AffineExprKind::CeilDiv)
      bias = c.getValue() - 1;
  }
  if (!addLinear(numerator, 1, size) ||
      llvm::AddOverflow(size.constant, bias, size.constant))
    return std::nullopt;
  llvm::erase_if(size.terms, [](auto &t) { return t.second == 0; });
  llvm::sort(size.terms);
  return size;
}

std::optional<int64_t>
mlir::hymir::plan::evaluateLinearSize(const LinearSize &size, int64_t value) {
  int64_t sum = size.constant;
  for (auto [symbol, coeff] : size.terms) {
    int64_t product;
    if (llvm::MulOverflow(coeff, value, product) ||
        llvm::AddOverflow(sum, product, sum))
      return std::nullopt;
  }
  int64_t d = size.divisor;
  return sum >= 0 ? sum / d : -((-(sum + 1)) / d) - 1;
}

LogicalResult
mlir::hymir::plan::verifySizeMap(Operation *op, AffineMap map, StringRef what,
                                 std::optional<unsigned> numResults) {
  if (map.getNumDims() != 0)
    return op->emitOpError()
           << what << " must use symbols only, got " << AffineMapAttr::get(map);
  if (numResults && map.getNumResults() != *numResults)
    return op->emitOpError() << what << " must have " << *numResults
                             << " results, got " << map.getNumResults();
  auto entry = dyn_cast<EntryOp>(op);
  if (!entry)
    entry = op->getParentOfType<EntryOp>();
  if (entry)
    if (map.getNumSymbols() > entry.getSymbols().size())
      return op->emitOpError()
             << what << " uses " << map.getNumSymbols()
             << " symbols, but the entry has " << entry.getSymbols().size();
  for (AffineExpr e : map.getResults())
    if (!toLinearSize(e))
      return op->emitOpError()
             << what << " result "
             << AffineMapAttr::get(AffineMap::get(0, map.getNumSymbols(), e))
             << " is not a linear size (optionally divided by a constant)";
  return success();
}
