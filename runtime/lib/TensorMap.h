//===- TensorMap.h - the arguments of cuTensorMapEncodeTiled ----*- C++ -*-===//
//
// A tensor map step (TensorMapDesc) at one call: the source's address,
// sizes and strides as the call placed it become the arguments of
// cuTensorMapEncodeTiled, in the driver's order (innermost dim first, byte
// strides of the outer dims). The run-time rules of the driver are checked
// here, with messages naming the value at fault, so that a bad source never
// reaches the driver as an obscure CUDA_ERROR_INVALID_VALUE. Pure: no driver
// is needed, and test/runtime/TensorMapTest.cpp checks it without a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_LIB_TENSORMAP_H
#define HYMIR_RUNTIME_LIB_TENSORMAP_H

#include "hymir/Runtime/Artifact.h"

#include "absl/status/statusor.h"
#include "absl/types/span.h"

#include <array>
#include <cstdint>
#include <string>

namespace hymir {

/// The arguments of cuTensorMapEncodeTiled. The enum values are the CUDA
/// driver API's (cuda.h: CUtensorMapDataType, CUtensorMapInterleave,
/// CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill).
struct TensorMapEncoding {
  uint32_t dataType = 0;
  uint32_t rank = 0;
  uint64_t address = 0;
  std::array<uint64_t, kTensorMapMaxRank> dims{};        // innermost first
  std::array<uint64_t, kTensorMapMaxRank - 1> strides{}; // bytes, dims 1..
  std::array<uint32_t, kTensorMapMaxRank> box{};         // innermost first
  std::array<uint32_t, kTensorMapMaxRank> elementStrides{};
  uint32_t interleave = 0;  // CU_TENSOR_MAP_INTERLEAVE_NONE
  uint32_t swizzle = 0;     // CU_TENSOR_MAP_SWIZZLE_NONE, _32B, _64B, _128B
  uint32_t l2Promotion = 2; // CU_TENSOR_MAP_L2_PROMOTION_L2_128B
  uint32_t oobFill = 0;     // CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE: zeros
};

/// CUtensorMapDataType of each dtype (u8 as UINT8, i32 as INT32, ...).
uint32_t tensorMapDataType(DType dtype);

/// The encoding of validated step `step` for a source at `address` with
/// `sizes` and `strides` (in elements, outermost first, as many as the
/// step's dims). InvalidArgument, saying which value breaks which rule,
/// when the address or a byte stride is not a multiple of 16, a dim is 0 or
/// above 2^32 elements, or a byte stride reaches 2^40.
absl::StatusOr<TensorMapEncoding>
tensorMapEncoding(const TensorMapDesc &step, uint64_t address,
                  absl::Span<const int64_t> sizes,
                  absl::Span<const int64_t> strides);

/// "dtype 9, rank 3, address 0x..., dims [64, 8, 100] (innermost first),
/// byte strides [128, 1024], box [64, 8, 16], swizzle 3": for messages.
std::string describeTensorMapEncoding(const TensorMapEncoding &e);

} // namespace hymir

#endif // HYMIR_RUNTIME_LIB_TENSORMAP_H
