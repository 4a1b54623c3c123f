//===- LinalgBuilders.h - small helpers for building linalg ops -*- C++ -*-===//
//
// Helpers shared by the passes that build linalg.generic ops on tensors:
// indexing maps from expression lists, f32 promotion of scalars, and
// zero-filled f32 accumulators.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_PASSES_LIB_LINALGBUILDERS_H
#define HYMIR_PASSES_LIB_LINALGBUILDERS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

namespace mlir::hymir {

constexpr auto kParallel = utils::IteratorType::parallel;
constexpr auto kReduction = utils::IteratorType::reduction;

/// Indexing maps over `numDims` loops, one per list of result expressions.
inline SmallVector<AffineMap>
indexingMaps(MLIRContext *ctx, unsigned numDims,
             std::initializer_list<std::initializer_list<AffineExpr>> lists) {
  SmallVector<AffineMap> maps;
  for (const auto &exprs : lists)
    maps.push_back(AffineMap::get(
        numDims, 0, ArrayRef<AffineExpr>(exprs.begin(), exprs.size()), ctx));
  return maps;
}

/// `v` extended to f32 (unchanged if it is f32 already).
inline Value extToF32(OpBuilder &b, Location loc, Value v) {
  if (v.getType().isF32())
    return v;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
}

/// An f32 `v` rounded to `to` (unchanged if `to` is f32).
inline Value truncFromF32(OpBuilder &b, Location loc, Value v, Type to) {
  if (to.isF32())
    return v;
  return arith::TruncFOp::create(b, loc, to, v);
}

/// An f32 tensor of `sizes` filled with zero.
inline Value zeroTensor(OpBuilder &b, Location loc,
                        ArrayRef<OpFoldResult> sizes) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  return linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{empty})
      .getResult(0);
}

} // namespace mlir::hymir

#endif // HYMIR_PASSES_LIB_LINALGBUILDERS_H
