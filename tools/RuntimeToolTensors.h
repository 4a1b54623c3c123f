//===- RuntimeToolTensors.h - a safetensors file as call inputs -*- C++ -*-===//
//
// hymir-run and hymir-bench both read an --inputs file into the TensorMap a
// Module::call takes: every tensor of the file, by its name, copied out of
// the mapping.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TOOLS_RUNTIMETOOLTENSORS_H
#define HYMIR_TOOLS_RUNTIMETOOLTENSORS_H

#include "hymir/Runtime/Runtime.h"
#include "hymir/Runtime/Safetensors.h"

#include "absl/status/statusor.h"

#include <string>
#include <utility>

namespace hymir::tools {

/// Every tensor of the safetensors file at `path`, by name.
inline absl::StatusOr<TensorMap> readTensorFile(const std::string &path) {
  absl::StatusOr<SafetensorsFile> file = SafetensorsFile::open(path);
  if (!file.ok())
    return file.status();
  TensorMap tensors;
  for (const TensorView &v : file->tensors()) {
    absl::StatusOr<Tensor> t =
        Tensor::fromBytes(v.dtype, v.shape, v.data, v.sizeBytes);
    if (!t.ok())
      return t.status();
    tensors[v.name] = std::move(*t);
  }
  return tensors;
}

} // namespace hymir::tools

#endif // HYMIR_TOOLS_RUNTIMETOOLTENSORS_H
