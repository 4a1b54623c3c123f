//===- HymirAttributes.h - hymir's discardable attributes -------*- C++ -*-===//
//
// Typed access to the discardable attributes of the hymir dialect, the facts
// one stage of the compiler leaves for a later one (declared in
// HymirDialect.td, verified in HymirAttributes.cpp). Passes set and read them
// through these functions only, so no attribute name or value is spelled as a
// string outside the dialect.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_HYMIR_IR_HYMIRATTRIBUTES_H
#define HYMIR_DIALECT_HYMIR_IR_HYMIRATTRIBUTES_H

#include "hymir/Dialect/Hymir/IR/HymirDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include <optional>

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h.inc"

namespace mlir::hymir {

/// `hymir.library_call`: the linalg.generic runs as a library call of `kind`.
void setLibraryCall(Operation *op, LibraryCall kind);
/// The library call `op` stands for; none if it is not marked (or carries a
/// value the verifier would reject).
std::optional<LibraryCall> getLibraryCall(Operation *op);

/// `hymir.precision` of a library GEMM (the `precision` of its hymir.linear).
void setGemmPrecision(Operation *op, Precision precision);
std::optional<Precision> getGemmPrecision(Operation *op);

/// `hymir.lightning`: the part of lightning attention `op` is.
void setLightningPart(Operation *op, LightningPart part);
std::optional<LightningPart> getLightningPart(Operation *op);

/// `hymir.moe`: the part of an MoE layer `op` is.
void setMoePart(Operation *op, MoePart part);
std::optional<MoePart> getMoePart(Operation *op);

/// `hymir.pipeline`: the piece of the Hopper pipeline layer `op` holds.
void setPipelinePart(Operation *op, PipelinePart part);
std::optional<PipelinePart> getPipelinePart(Operation *op);

/// `hymir.kernel`: `func` is an outlined host (cpu) kernel.
void setHostKernel(Operation *func);
bool isHostKernel(Operation *func);

/// `hymir.name` of argument or result `index` of `func`; null when unnamed.
StringAttr getArgName(FunctionOpInterface func, unsigned index);
StringAttr getResultName(FunctionOpInterface func, unsigned index);

/// `hymir.param`: argument `index` is a parameter, bound from weights.
bool isParam(FunctionOpInterface func, unsigned index);

/// `hymir.shard_dim`: each device holds a slice of argument `index` along
/// `dim`.
void setShardDim(FunctionOpInterface func, unsigned index, int64_t dim);
std::optional<int64_t> getShardDim(FunctionOpInterface func, unsigned index);

/// `hymir.tied`: the index of the argument result `index` of `func` is tied
/// to (updated in place); none if the result is not tied.
std::optional<unsigned> getTiedArgument(FunctionOpInterface func,
                                        unsigned index);

} // namespace mlir::hymir

#endif // HYMIR_DIALECT_HYMIR_IR_HYMIRATTRIBUTES_H
