//===- ElementwisePayload.h - linalg payloads on vectors --------*- C++ -*-===//
//
// The payload of an elementwise linalg.generic (arith and math ops, which
// apply lane by lane) cloned on vector<width x T>: shared by
// hymir-vectorize-elementwise (loops over vectors) and hymir-fuse-elementwise
// (a consumer computed in a kernel's epilogue).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_PASSES_ELEMENTWISEPAYLOAD_H
#define HYMIR_PASSES_ELEMENTWISEPAYLOAD_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

namespace mlir::hymir {

/// Whether every op of `op`'s payload applies lane by lane (elementwise and
/// vectorizable, or a constant) on integer and float scalars, and the
/// values it reads from above are such scalars.
bool hasElementwisePayload(linalg::GenericOp op);

/// Clones the payload of `op` with every value on `vector<width x T>`
/// (`width` 0: on scalars, as it is); `args` are the values of the block
/// arguments (scalars are broadcast). Returns the values it yields.
SmallVector<Value> emitElementwisePayload(OpBuilder &b, Location loc,
                                          linalg::GenericOp op, ValueRange args,
                                          int64_t width);

} // namespace mlir::hymir

#endif // HYMIR_PASSES_ELEMENTWISEPAYLOAD_H
