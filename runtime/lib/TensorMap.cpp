//===- TensorMap.cpp - the arguments of cuTensorMapEncodeTiled ------------===//
//
// See TensorMap.h. The limits are those cuTensorMapEncodeTiled documents
// for tiled, non-interleaved maps.
//
//===----------------------------------------------------------------------===//

#include "TensorMap.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace hymir {

uint32_t tensorMapDataType(DType dtype) {
  switch (dtype) {
  case DType::U8:
    return 0; // UINT8
  case DType::I32:
    return 3; // INT32
  case DType::I64:
    return 5; // INT64
  case DType::F16:
    return 6; // FLOAT16
  case DType::F32:
    return 7; // FLOAT32
  case DType::F64:
    return 8; // FLOAT64
  case DType::BF16:
    return 9; // BFLOAT16
  }
  return 0;
}

absl::StatusOr<TensorMapEncoding>
tensorMapEncoding(const TensorMapDesc &step, uint64_t address,
                  absl::Span<const int64_t> sizes,
                  absl::Span<const int64_t> strides) {
  size_t rank = step.box.size();
  if (rank < 1 || rank > kTensorMapMaxRank || sizes.size() != rank ||
      strides.size() != rank)
    return absl::InternalError(absl::StrCat(
        "a tensor map of ", rank, " dims got ", sizes.size(), " sizes and ",
        strides.size(), " strides (the step was not validated)"));
  size_t element = dtypeSize(step.dtype);
  if (address % 16 != 0)
    return absl::InvalidArgumentError(absl::StrFormat(
        "the source's address 0x%x is not a multiple of 16 bytes, which TMA "
        "needs (its storage offset moves it off the 16-byte grid)",
        address));
  TensorMapEncoding e;
  e.dataType = tensorMapDataType(step.dtype);
  e.rank = static_cast<uint32_t>(rank);
  e.address = address;
  // The driver's dim 0 is the innermost: MLIR dim rank - 1.
  for (size_t k = 0; k < rank; ++k) {
    size_t d = rank - 1 - k;
    if (sizes[d] < 1 || static_cast<uint64_t>(sizes[d]) > (uint64_t{1} << 32))
      return absl::InvalidArgumentError(
          absl::StrCat("the source's dim ", d, " has ", sizes[d],
                       " elements; a tensor map needs 1 to 2^32 in every dim"));
    e.dims[k] = static_cast<uint64_t>(sizes[d]);
    e.box[k] = step.box[d];
    e.elementStrides[k] = 1;
    if (k == 0)
      continue;
    uint64_t bytes = 0;
    if (strides[d] < 0 ||
        __builtin_mul_overflow(static_cast<uint64_t>(strides[d]), element,
                               &bytes) ||
        bytes >= (uint64_t{1} << 40))
      return absl::InvalidArgumentError(absl::StrCat(
          "the source's dim ", d, " has a stride of ", strides[d],
          " elements; a tensor map's byte strides are below 2^40"));
    if (bytes % 16 != 0)
      return absl::InvalidArgumentError(absl::StrCat(
          "the source's dim ", d, " has a stride of ", strides[d], " x ",
          element, " = ", bytes,
          " bytes, which is not a multiple of 16 bytes, as TMA needs"));
    e.strides[k - 1] = bytes;
  }
  if (strides[rank - 1] != 1)
    return absl::InternalError(absl::StrCat("the source's innermost stride is ",
                                            strides[rank - 1],
                                            " (the step was not validated)"));
  switch (step.swizzle) {
  case 32:
    e.swizzle = 1;
    break;
  case 64:
    e.swizzle = 2;
    break;
  case 128:
    e.swizzle = 3;
    break;
  default:
    e.swizzle = 0;
  }
  return e;
}

std::string describeTensorMapEncoding(const TensorMapEncoding &e) {
  auto first = [&](const auto &a, size_t n) {
    return absl::StrJoin(a.begin(), a.begin() + n, ", ");
  };
  return absl::StrFormat(
      "data type %d, rank %d, address 0x%x, dims [%s] (innermost first), "
      "byte strides [%s], box [%s], swizzle %d, L2 promotion %d",
      e.dataType, e.rank, e.address, first(e.dims, e.rank),
      first(e.strides, e.rank ? e.rank - 1 : 0), first(e.box, e.rank),
      e.swizzle, e.l2Promotion);
}

} // namespace hymir
