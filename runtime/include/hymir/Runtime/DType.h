//===- DType.h - element types of runtime tensors ---------------*- C++ -*-===//
//
// The element types the runtime moves around, their sizes and their names in
// safetensors headers and in the artifact schema.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_DTYPE_H
#define HYMIR_RUNTIME_DTYPE_H

#include <cstddef>
#include <optional>
#include <string_view>

namespace hymir {

enum class DType { F32, BF16, F16, F64, I32, I64, U8 };

/// Bytes per element.
size_t dtypeSize(DType dtype);

/// The safetensors name: "F32", "BF16", "F16", "F64", "I32", "I64", "U8".
std::string_view dtypeName(DType dtype);

/// Parses a safetensors dtype name; nullopt for names the runtime does not
/// handle.
std::optional<DType> parseDType(std::string_view name);

} // namespace hymir

#endif // HYMIR_RUNTIME_DTYPE_H
