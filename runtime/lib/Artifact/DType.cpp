//===- DType.cpp - element types of runtime tensors -----------------------===//

#include "hymir/Runtime/DType.h"

namespace hymir {

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::BF16:
  case DType::F16:
    return 2;
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::U8:
    return 1;
  }
  return 0;
}

std::string_view dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::BF16:
    return "BF16";
  case DType::F16:
    return "F16";
  case DType::F64:
    return "F64";
  case DType::I32:
    return "I32";
  case DType::I64:
    return "I64";
  case DType::U8:
    return "U8";
  }
  return "?";
}

std::optional<DType> parseDType(std::string_view name) {
  for (DType d : {DType::F32, DType::BF16, DType::F16, DType::F64, DType::I32,
                  DType::I64, DType::U8})
    if (dtypeName(d) == name)
      return d;
  return std::nullopt;
}

} // namespace hymir
