//===- CApi.cpp - the C API over the C++ runtime --------------------------===//
//
// Thin wrappers that turn absl::Status failures into a thread-local message
// and a NULL or non-zero result (see hymir.h).
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/hymir.h"

#include "hymir/Runtime/Runtime.h"

#include <string>
#include <vector>

struct hymir_runtime {
  std::unique_ptr<hymir::Runtime> runtime;
};
struct hymir_module {
  std::unique_ptr<hymir::Module> module;
};
struct hymir_outputs {
  std::vector<std::pair<std::string, hymir::Tensor>> tensors;
};

namespace {

thread_local std::string lastError;

void setError(const absl::Status &status) {
  lastError = std::string(status.message());
}

bool validDType(int dtype) { return dtype >= 0 && dtype <= HYMIR_U8; }

} // namespace

extern "C" {

const char *hymir_last_error(void) { return lastError.c_str(); }

hymir_runtime *hymir_runtime_create(const char *device) {
  if (!device) {
    lastError = "hymir_runtime_create: device is NULL";
    return nullptr;
  }
  auto runtime = hymir::Runtime::create(device);
  if (!runtime.ok()) {
    setError(runtime.status());
    return nullptr;
  }
  return new hymir_runtime{std::move(*runtime)};
}

void hymir_runtime_destroy(hymir_runtime *runtime) { delete runtime; }

hymir_module *hymir_module_load(hymir_runtime *runtime, const char *path) {
  if (!runtime || !path) {
    lastError = "hymir_module_load: runtime or path is NULL";
    return nullptr;
  }
  auto module = runtime->runtime->load(path);
  if (!module.ok()) {
    setError(module.status());
    return nullptr;
  }
  return new hymir_module{std::move(*module)};
}

void hymir_module_destroy(hymir_module *module) { delete module; }

int hymir_module_bind_weights(hymir_module *module, const char *path) {
  if (!module || !path) {
    lastError = "hymir_module_bind_weights: module or path is NULL";
    return 1;
  }
  auto weights = hymir::SafetensorsFile::open(path);
  if (!weights.ok()) {
    setError(weights.status());
    return 1;
  }
  if (absl::Status s = module->module->bindWeights(*weights); !s.ok()) {
    setError(s);
    return 1;
  }
  return 0;
}

hymir_outputs *hymir_module_call(hymir_module *module, const char *entry,
                                 const hymir_tensor *inputs, size_t count) {
  if (!module || !entry || (count && !inputs)) {
    lastError = "hymir_module_call: module, entry or inputs is NULL";
    return nullptr;
  }
  hymir::TensorMap map;
  for (size_t i = 0; i < count; ++i) {
    const hymir_tensor &t = inputs[i];
    if (!t.name || !validDType(t.dtype) || t.rank < 0 || (t.rank && !t.shape) ||
        (t.size_bytes && !t.data)) {
      lastError = "hymir_module_call: input " + std::to_string(i) +
                  " has no name, an unknown dtype or missing shape or data";
      return nullptr;
    }
    std::vector<int64_t> shape(t.shape, t.shape + t.rank);
    auto tensor = hymir::Tensor::fromBytes(static_cast<hymir::DType>(t.dtype),
                                           shape, t.data, t.size_bytes);
    if (!tensor.ok()) {
      setError(absl::InvalidArgumentError(
          "input '" + std::string(t.name) +
          "': " + std::string(tensor.status().message())));
      return nullptr;
    }
    map[t.name] = std::move(*tensor);
  }
  auto outputs = module->module->call(entry, map);
  if (!outputs.ok()) {
    setError(outputs.status());
    return nullptr;
  }
  auto *result = new hymir_outputs;
  for (auto &[name, tensor] : *outputs)
    result->tensors.emplace_back(name, std::move(tensor));
  return result;
}

size_t hymir_outputs_count(const hymir_outputs *outputs) {
  return outputs ? outputs->tensors.size() : 0;
}

int hymir_outputs_get(const hymir_outputs *outputs, size_t index,
                      hymir_tensor *out) {
  if (!outputs || !out || index >= outputs->tensors.size()) {
    lastError = "hymir_outputs_get: no output " + std::to_string(index);
    return 1;
  }
  const auto &[name, tensor] = outputs->tensors[index];
  out->name = name.c_str();
  out->dtype = static_cast<hymir_dtype>(tensor.dtype());
  out->rank = static_cast<int32_t>(tensor.shape().size());
  out->shape = tensor.shape().data();
  out->data = tensor.data();
  out->size_bytes = tensor.sizeBytes();
  return 0;
}

void hymir_outputs_destroy(hymir_outputs *outputs) { delete outputs; }

} // extern "C"
