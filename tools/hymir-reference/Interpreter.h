//===- Interpreter.h - evaluate hymir IR with the oracle --------*- C++ -*-===//
//
// A tree-walking evaluator of functions in hymir IR. Every hymir op runs on
// the fp64 oracle; the upstream ops the examples use (arith and math
// elementwise ops, tensor reshapes and slices, func.call) run here in fp64.
// It is the reference for whole graphs: no code is shared with any lowering.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TOOLS_HYMIR_REFERENCE_INTERPRETER_H
#define HYMIR_TOOLS_HYMIR_REFERENCE_INTERPRETER_H

#include "hymir/Oracle/Oracle.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"

#include <variant>

namespace hymir::reference {

/// A runtime value: a float tensor (any float element type, held in fp64), an
/// integer tensor, or an index scalar.
using Value = std::variant<oracle::Tensor, oracle::IntTensor, int64_t>;

/// Evaluates `func` on `args`. Fails with a diagnostic at the first op it
/// cannot evaluate (an unsupported op, or a shape that disagrees at run time).
mlir::FailureOr<std::vector<Value>> evaluate(mlir::func::FuncOp func,
                                             llvm::ArrayRef<Value> args);

/// Makes a random argument for `type`, resolving dynamic dims to `tokens`.
/// Integer arguments are given values that make sense for their first use:
/// 0..T-1 positions for rope, ids below the table size for embedding, targets
/// below the vocabulary for cispo_loss.
Value randomArgument(mlir::BlockArgument arg, int64_t tokens, uint64_t seed);

} // namespace hymir::reference

#endif // HYMIR_TOOLS_HYMIR_REFERENCE_INTERPRETER_H
