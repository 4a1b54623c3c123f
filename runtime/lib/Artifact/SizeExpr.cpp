//===- SizeExpr.cpp - evaluating size expressions -------------------------===//
//
// evaluate(): a SizeExprSpec for given symbol values, in int64 with every
// overflow reported.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"

#include "ArtifactSupport.h"

#include "absl/strings/str_cat.h"

namespace hymir {

using artifact_detail::floorDiv;

absl::StatusOr<int64_t> evaluate(const SizeExprSpec &expr,
                                 absl::Span<const int64_t> symbolValues) {
  if (expr.divisor < 1)
    return absl::InvalidArgumentError(
        absl::StrCat("size expression has divisor ", expr.divisor,
                     "; it must be at least 1"));
  int64_t value = expr.constant;
  for (const auto &[symbol, coeff] : expr.terms) {
    if (symbol >= symbolValues.size())
      return absl::InvalidArgumentError(
          absl::StrCat("size expression refers to symbol ", symbol, ", but ",
                       symbolValues.size(), " symbol values were given"));
    int64_t term;
    if (__builtin_mul_overflow(coeff, symbolValues[symbol], &term) ||
        __builtin_add_overflow(value, term, &value))
      return absl::OutOfRangeError(absl::StrCat(
          "size expression overflows int64 (symbol ", symbol, " = ",
          symbolValues[symbol], ", coefficient ", coeff, ")"));
  }
  return floorDiv(value, expr.divisor);
}

} // namespace hymir
