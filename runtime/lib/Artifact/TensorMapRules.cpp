//===- TensorMapRules.cpp - what a tensor map step's box may be -----------===//
//
// The limits of cuTensorMapEncodeTiled that hold whatever the call's sizes:
// validateModule checks every tensor map step with them on load. (The
// compiler's verifiers state the same rules: hymir/Dialect/TensorMapRules.h.)
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"

#include "absl/strings/str_cat.h"

namespace hymir {

std::string tensorMapBoxError(size_t rank, absl::Span<const uint32_t> box,
                              DType dtype, uint32_t swizzle) {
  if (rank < 1 || rank > kTensorMapMaxRank)
    return absl::StrCat("has a source of rank ", rank, "; a tensor map has 1 ",
                        "to ", kTensorMapMaxRank, " dims");
  if (box.size() != rank)
    return absl::StrCat("has ", box.size(), " box extents for a source of ",
                        "rank ", rank, "; one per dim");
  for (size_t d = 0; d < box.size(); ++d)
    if (box[d] < 1 || box[d] > kTensorMapMaxBox)
      return absl::StrCat("has box extent ", box[d], " in dim ", d,
                          "; extents are in [1, ", kTensorMapMaxBox, "]");
  if (swizzle != 0 && swizzle != 32 && swizzle != 64 && swizzle != 128)
    return absl::StrCat("has swizzle ", swizzle,
                        "; it is 0, 32, 64 or 128 bytes");
  uint64_t inner = uint64_t{box.back()} * dtypeSize(dtype);
  if (inner % 16 != 0)
    return absl::StrCat("has an innermost box of ", box.back(), " x ",
                        dtypeSize(dtype), " = ", inner,
                        " bytes; it must be a multiple of 16 bytes");
  if (swizzle != 0 && inner > swizzle)
    return absl::StrCat("has an innermost box of ", box.back(), " x ",
                        dtypeSize(dtype), " = ", inner, " bytes; with swizzle ",
                        swizzle, " it spans at most ", swizzle, " bytes");
  return "";
}

} // namespace hymir
