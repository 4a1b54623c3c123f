//===- TensorMapRules.h - what a TMA tensor map's box may be ----*- C++ -*-===//
//
// The limits of cuTensorMapEncodeTiled that the compiler can check ahead of
// time, shared by the verifiers of hymir.tensor_map and
// hymir_plan.tensor_map so both say the same thing. (The runtime checks them
// again on load, in its own world: runtime/lib/TensorMap.h.)
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_TENSORMAPRULES_H
#define HYMIR_DIALECT_TENSORMAPRULES_H

#include "mlir/IR/Types.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>

namespace mlir::hymir {

/// Bytes of an element a tensor map can describe, or nullopt.
inline std::optional<int64_t> tensorMapElementBytes(Type type) {
  if (type.isInteger(8))
    return 1;
  if (type.isBF16() || type.isF16())
    return 2;
  if (type.isF32() || type.isInteger(32))
    return 4;
  if (type.isF64() || type.isInteger(64))
    return 8;
  return std::nullopt;
}

/// What is wrong with a tiled tensor map of `rank` dims whose box is `box`
/// (outermost first) over elements of `elementBytes` with a swizzle span of
/// `swizzle` bytes; nullopt when it is valid.
inline std::optional<std::string> tensorMapBoxError(int64_t rank,
                                                    llvm::ArrayRef<int64_t> box,
                                                    int64_t elementBytes,
                                                    int64_t swizzle) {
  std::string message;
  llvm::raw_string_ostream os(message);
  if (rank < 1 || rank > 5) {
    os << "a source of rank 1 to 5, got rank " << rank;
    return message;
  }
  if (static_cast<int64_t>(box.size()) != rank) {
    os << "one box extent per source dim (" << rank << "), got " << box.size();
    return message;
  }
  for (auto [d, extent] : llvm::enumerate(box))
    if (extent < 1 || extent > 256) {
      os << "box extents in [1, 256], got " << extent << " in dim " << d;
      return message;
    }
  if (swizzle != 0 && swizzle != 32 && swizzle != 64 && swizzle != 128) {
    os << "swizzle 0, 32, 64 or 128 (bytes), got " << swizzle;
    return message;
  }
  int64_t innerBytes = box.back() * elementBytes;
  if (innerBytes % 16 != 0) {
    os << "the innermost box extent to span a multiple of 16 bytes, got "
       << box.back() << " x " << elementBytes << " = " << innerBytes
       << " bytes";
    return message;
  }
  if (swizzle != 0 && innerBytes > swizzle) {
    os << "the innermost box extent to span at most the swizzle span ("
       << swizzle << " bytes), got " << box.back() << " x " << elementBytes
       << " = " << innerBytes << " bytes";
    return message;
  }
  return std::nullopt;
}

} // namespace mlir::hymir

#endif // HYMIR_DIALECT_TENSORMAPRULES_H
