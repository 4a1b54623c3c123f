//===- RandomArguments.h - random inputs for hymir functions ----*- C++ -*-===//
//
// Random arguments for evaluating a function of hymir IR on the oracle (see
// Serialize.h and hymir/Runtime/Reference.h): values that keep activations
// of order 1 and indices in range, chosen from each argument's role.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TOOLS_HYMIR_REFERENCE_RANDOMARGUMENTS_H
#define HYMIR_TOOLS_HYMIR_REFERENCE_RANDOMARGUMENTS_H

#include "hymir/Runtime/Reference.h"

#include "mlir/IR/Value.h"

#include <cstdint>

namespace hymir::reference {

/// Makes a random argument for `arg` (a ranked tensor), resolving dynamic
/// dims to `tokens`. Float values follow the argument's first use: decay
/// slopes for lightning attention, norm weights near 1, projection weights
/// scaled by 1/sqrt(fan-in), else uniform in [-1, 1). Integer arguments get
/// 0..T-1 positions for rope, ids below the table size for embedding and
/// targets below the vocabulary for cispo_loss and token_logprobs.
::hymir::ReferenceValue randomArgument(mlir::BlockArgument arg, int64_t tokens,
                                       uint64_t seed);

} // namespace hymir::reference

#endif // HYMIR_TOOLS_HYMIR_REFERENCE_RANDOMARGUMENTS_H
