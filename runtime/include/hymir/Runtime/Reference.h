//===- Reference.h - evaluate reference programs on the oracle --*- C++ -*-===//
//
// The runtime world's reference: an evaluator of the reference programs that
// hymir-compile stores with each entry (RefProgramDesc in Artifact.h, the
// entry as the user wrote it) on the fp64 oracle (hymir/Oracle/Oracle.h).
// `hymir-run --check` compares an entry's outputs with it, and
// hymir-reference (compiler side) serializes MLIR into the same programs and
// evaluates them here, so both share one evaluator.
//
// Floats are held in double whatever their IR element type (bf16 and f32
// intermediates are not rounded), integers in int64. The ops and what they
// take (operands in order; attributes by name):
//
//   hymir.lightning_attention  q, k, v, slopes[, initial_state] -> out,
//                              final_state (the token recurrence)
//   hymir.softmax_attention    q, k, v[, lengths (int tensor)]; causal
//                              (int), scale (float)
//   hymir.kv_cache_write       cache, update, lengths (int tensor)[,
//                              positions (int tensor); rotary_dim (int),
//                              theta (float): the update's RoPE]
//   hymir.rope                 x, positions (int tensor); rotary_dim (int),
//                              theta (float)
//   hymir.rms_norm             x, weight; epsilon (float)
//   hymir.linear               x, weight
//   hymir.embedding            table, ids (int tensor)
//   hymir.moe                  x, router, w1, w3, w2; top_k, renormalize (int)
//   hymir.cispo_loss           hidden, lm_head, targets (int tensor),
//                              logp_old, advantages, mask; eps_low,
//                              eps_high (float), unified_mask (int),
//                              optional bf16_head (int, precision "bf16";
//                              absent: 0) -> loss, logp_new, d_hidden,
//                              d_lm_head
//   hymir.token_logprobs       hidden, lm_head, tokens (int tensor);
//                              optional bf16_head (int, as above)
//   arith.addf subf mulf divf maximumf minimumf   a, b of one shape
//   arith.negf extf truncf, math.exp log tanh sqrt rsqrt   a
//   arith.constant             no operands; the op's data (float result) or
//                              int data (integer tensor or index result)
//   tensor.dim                 source, index -> index
//   tensor.splat               a 0-d tensor, then one index per dynamic dim
//                              of the result
//   tensor.expand_shape, tensor.collapse_shape
//                              source; the result's type gives the shape, at
//                              most one dim of it dynamic (inferred)
//   tensor.extract_slice       source, then one index per kRefDynamic entry of
//                              offsets, sizes, strides (in that order);
//                              ints attributes offsets, sizes, strides (one
//                              per source dim) and dropped_dims (unit dims a
//                              rank-reducing slice drops; may be absent)
//   tensor.concat              one or more tensors of one kind and rank, equal
//                              but for dim `dim` (int), joined along it
//
// Nothing in a program is trusted, validated or not: every failure (an
// unknown op, a missing operand or attribute, a wrong kind or shape, an
// index out of bounds, the oracle rejecting its operands, a size too large
// to allocate) is an InvalidArgument status naming the op by index and name,
// never a crash.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_REFERENCE_H
#define HYMIR_RUNTIME_REFERENCE_H

#include "hymir/Oracle/Oracle.h"
#include "hymir/Runtime/Artifact.h"
#include "hymir/Runtime/DType.h"

#include "absl/status/statusor.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hymir {

/// A value of a reference program: a float tensor, an integer tensor (0-d
/// for a scalar) or an index.
using ReferenceValue = std::variant<oracle::Tensor, oracle::IntTensor, int64_t>;

/// Marks an offset, size or stride of tensor.extract_slice that an index
/// operand supplies.
inline constexpr int64_t kRefDynamic = std::numeric_limits<int64_t>::min();

/// The largest number of elements one value may have (2^32).
inline constexpr int64_t kRefMaxElements = int64_t{1} << 32;

/// Whether evaluateReference knows the op called `name`.
bool isReferenceOp(std::string_view name);

/// Evaluates `program` on `args` (one per program argument, in order) and
/// returns its results in order. Every argument and every computed value
/// must fit its RefValueDesc (kind, rank, static dims). When an op fails and
/// `failedOp` is given, it is set to the op's index (to SIZE_MAX for a
/// failure outside any op, such as a wrong argument).
absl::StatusOr<std::vector<ReferenceValue>>
evaluateReference(const RefProgramDesc &program,
                  std::vector<ReferenceValue> args, size_t *failedOp = nullptr);

/// Reads `sizeBytes` bytes of `dtype` elements of `shape` as a value of
/// `kind`: a float kind takes F32, BF16, F16 or F64; an integer kind I32,
/// I64 or U8. A wrong dtype or byte count is InvalidArgument naming `what`.
absl::StatusOr<ReferenceValue>
referenceValueFromBytes(DType dtype, const std::vector<int64_t> &shape,
                        const uint8_t *data, size_t sizeBytes,
                        RefValueKind kind, std::string_view what);

/// "f[2, 3]", "i[5]", "index".
std::string describeReferenceValue(const ReferenceValue &value);

} // namespace hymir

#endif // HYMIR_RUNTIME_REFERENCE_H
