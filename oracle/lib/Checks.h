//===- Checks.h - Shape validation shared by the oracle ops -----*- C++ -*-===//
//
// Internal to the oracle library: helpers that validate operands and throw
// std::invalid_argument with a message naming the op and the operand.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_ORACLE_LIB_CHECKS_H
#define HYMIR_ORACLE_LIB_CHECKS_H

#include "hymir/Oracle/Oracle.h"

#include <string>

namespace hymir {
namespace oracle {
namespace detail {

/// Formats a shape as "[2, 3, 4]".
std::string formatShape(const std::vector<int64_t> &shape);

/// Throws std::invalid_argument("hymir::oracle::<op>: <message>").
[[noreturn]] void fail(const char *op, const std::string &message);

/// Checks that the extents are non-negative and that the data holds exactly
/// numel elements.
void checkWellFormed(const char *op, const char *name, const Tensor &t);
void checkWellFormed(const char *op, const char *name, const IntTensor &t);

/// checkWellFormed plus an exact rank.
void checkRank(const char *op, const char *name, const Tensor &t, int64_t rank);
void checkRank(const char *op, const char *name, const IntTensor &t,
               int64_t rank);

/// checkWellFormed plus at least `rank` dimensions.
void checkMinRank(const char *op, const char *name, const Tensor &t,
                  int64_t rank);

/// Checks that dimension `i` of `name` equals `want`, whose meaning is
/// described by `what` (e.g. "the head dim of q").
void checkDim(const char *op, const char *name,
              const std::vector<int64_t> &shape, int64_t i, int64_t want,
              const char *what);

/// Checks that `name` has exactly `want` as its shape.
void checkShape(const char *op, const char *name, const Tensor &t,
                const std::vector<int64_t> &want);

/// Product of the extents of a shape.
int64_t product(const std::vector<int64_t> &shape);

} // namespace detail
} // namespace oracle
} // namespace hymir

#endif // HYMIR_ORACLE_LIB_CHECKS_H
