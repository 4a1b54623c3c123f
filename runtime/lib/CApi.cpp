//===- CApi.cpp - the C API over the C++ runtime --------------------------===//
//
// Thin wrappers that turn absl::Status failures into a thread-local message
// and a NULL or non-zero result (see hymir.h).
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/hymir.h"

#include "hymir/Runtime/Runtime.h"

#include <cstring>
#include <string>
#include <vector>

struct hymir_runtime {
  std::unique_ptr<hymir::Runtime> runtime;
};
/// A tensor spec as the C API hands it out: the name and the shape (with -1
/// for a dim that depends on a symbol) live here, so the pointers in a
/// hymir_tensor_info stay valid while the module does.
struct CTensorInfo {
  std::string name;
  hymir::DType dtype;
  std::vector<int64_t> shape;
};
struct CEntryInfo {
  std::vector<CTensorInfo> inputs, outputs;
};
struct hymir_module {
  std::unique_ptr<hymir::Module> module;
  std::vector<CEntryInfo> entries; // as desc().entries
  std::vector<CTensorInfo> params; // as desc().params
  std::string graphNote;           // hymir_cuda_graph_use.not_used
};
struct hymir_outputs {
  std::vector<std::pair<std::string, hymir::Tensor>> tensors;
};
struct hymir_value {
  hymir::DeviceValue value;
};

namespace {

thread_local std::string lastError;

void setError(const absl::Status &status) {
  lastError = std::string(status.message());
}

bool validDType(int dtype) { return dtype >= 0 && dtype <= HYMIR_U8; }

CTensorInfo infoOf(const hymir::TensorSpecDesc &spec) {
  CTensorInfo info{spec.name, spec.dtype, {}};
  for (const hymir::SizeExprSpec &dim : spec.shape)
    info.shape.push_back(dim.isConstant() ? dim.constant : -1);
  return info;
}

void fill(const CTensorInfo &info, hymir_tensor_info *out) {
  out->name = info.name.c_str();
  out->dtype = static_cast<hymir_dtype>(info.dtype);
  out->rank = static_cast<int32_t>(info.shape.size());
  out->shape = info.shape.data();
}

/// Checks the module and the entry index of an introspection call; sets
/// the error (naming `fn`) and returns false when either is bad.
bool validEntry(const hymir_module *module, size_t entry, const char *fn) {
  if (!module) {
    lastError = std::string(fn) + ": module is NULL";
    return false;
  }
  if (entry >= module->entries.size()) {
    lastError = std::string(fn) + ": no entry " + std::to_string(entry) +
                "; the module has " + std::to_string(module->entries.size()) +
                " (hymir_module_entry_count)";
    return false;
  }
  return true;
}

/// Fills `out` with tensor `index` of `list`; 1 with an error naming `fn`
/// and `what` when there is no such tensor.
int tensorInfo(const std::vector<CTensorInfo> &list, size_t index,
               hymir_tensor_info *out, const char *fn, const char *what) {
  if (!out) {
    lastError = std::string(fn) + ": out is NULL";
    return 1;
  }
  if (index >= list.size()) {
    lastError = std::string(fn) + ": no " + what + " " + std::to_string(index) +
                "; there are " + std::to_string(list.size());
    return 1;
  }
  fill(list[index], out);
  return 0;
}

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
  auto *result = new hymir_module{std::move(*module), {}, {}};
  const hymir::ModuleDesc &desc = result->module->desc();
  for (const hymir::EntryDesc &e : desc.entries) {
    CEntryInfo &info = result->entries.emplace_back();
    for (const hymir::TensorSpecDesc &t : e.inputs)
      info.inputs.push_back(infoOf(t));
    for (const hymir::TensorSpecDesc &t : e.outputs)
      info.outputs.push_back(infoOf(t));
  }
  for (const hymir::TensorSpecDesc &p : desc.params)
    result->params.push_back(infoOf(p));
  return result;
}

void hymir_module_destroy(hymir_module *module) { delete module; }

size_t hymir_module_entry_count(const hymir_module *module) {
  return module ? module->entries.size() : 0;
}

const char *hymir_module_entry_name(const hymir_module *module, size_t entry) {
  if (!validEntry(module, entry, "hymir_module_entry_name"))
    return nullptr;
  return module->module->desc().entries[entry].name.c_str();
}

int hymir_module_find_entry(const hymir_module *module, const char *name,
                            size_t *index) {
  if (!module || !name || !index) {
    lastError = "hymir_module_find_entry: module, name or index is NULL";
    return 1;
  }
  const auto &entries = module->module->desc().entries;
  std::string names;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].name == name) {
      *index = i;
      return 0;
    }
    names += (i ? ", " : "") + entries[i].name;
  }
  lastError = "hymir_module_find_entry: " + module->module->label() +
              " has no entry '" + name + "'; entries: " + names;
  return 1;
}

int64_t hymir_module_entry_max_tokens(const hymir_module *module,
                                      size_t entry) {
  if (!validEntry(module, entry, "hymir_module_entry_max_tokens"))
    return 0;
  const hymir::EntryDesc &e = module->module->desc().entries[entry];
  return e.symbols.empty() ? 0 : e.symbols.front().max;
}

size_t hymir_module_input_count(const hymir_module *module, size_t entry) {
  return validEntry(module, entry, "hymir_module_input_count")
             ? module->entries[entry].inputs.size()
             : 0;
}

int hymir_module_input_info(const hymir_module *module, size_t entry,
                            size_t index, hymir_tensor_info *out) {
  if (!validEntry(module, entry, "hymir_module_input_info"))
    return 1;
  return tensorInfo(module->entries[entry].inputs, index, out,
                    "hymir_module_input_info", "input");
}

size_t hymir_module_output_count(const hymir_module *module, size_t entry) {
  return validEntry(module, entry, "hymir_module_output_count")
             ? module->entries[entry].outputs.size()
             : 0;
}

int hymir_module_output_info(const hymir_module *module, size_t entry,
                             size_t index, hymir_tensor_info *out) {
  if (!validEntry(module, entry, "hymir_module_output_info"))
    return 1;
  return tensorInfo(module->entries[entry].outputs, index, out,
                    "hymir_module_output_info", "output");
}

size_t hymir_module_param_count(const hymir_module *module) {
  return module ? module->params.size() : 0;
}

int hymir_module_param_info(const hymir_module *module, size_t index,
                            hymir_tensor_info *out) {
  if (!module) {
    lastError = "hymir_module_param_info: module is NULL";
    return 1;
  }
  return tensorInfo(module->params, index, out, "hymir_module_param_info",
                    "param");
}

int hymir_module_bind_weights(hymir_module *module, const char *path) {
  if (!module || !path) {
    lastError = "hymir_module_bind_weights: module or path is NULL";
    return 1;
  }
  auto weights = hymir::ShardedSafetensors::open(path);
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

int64_t hymir_module_output_tied_to(const hymir_module *module, size_t entry,
                                    size_t index) {
  if (!validEntry(module, entry, "hymir_module_output_tied_to"))
    return -1;
  const auto &outputs = module->module->desc().entries[entry].outputs;
  if (index >= outputs.size()) {
    lastError = "hymir_module_output_tied_to: no output " +
                std::to_string(index) + "; there are " +
                std::to_string(outputs.size());
    return -1;
  }
  return outputs[index].tiedTo;
}

hymir_value *hymir_module_allocate(hymir_module *module, const char *entry,
                                   const char *input, const int64_t *shape,
                                   int32_t rank) {
  if (!module || !entry || !input || rank < 0 || (rank && !shape)) {
    lastError = "hymir_module_allocate: module, entry, input or shape is "
                "NULL, or rank is negative";
    return nullptr;
  }
  std::vector<int64_t> dims(shape, shape + rank);
  auto value = module->module->allocate(entry, input, dims);
  if (!value.ok()) {
    setError(value.status());
    return nullptr;
  }
  return new hymir_value{std::move(*value)};
}

int hymir_value_info(const hymir_value *value, hymir_tensor_info *out) {
  if (!value || !out) {
    lastError = "hymir_value_info: value or out is NULL";
    return 1;
  }
  out->name = nullptr;
  out->dtype = static_cast<hymir_dtype>(value->value.dtype());
  out->rank = static_cast<int32_t>(value->value.shape().size());
  out->shape = value->value.shape().data();
  return 0;
}

int hymir_value_upload(hymir_value *value, const void *data,
                       size_t size_bytes) {
  if (!value || (size_bytes && !data)) {
    lastError = "hymir_value_upload: value or data is NULL";
    return 1;
  }
  auto tensor = hymir::Tensor::fromBytes(
      value->value.dtype(), value->value.shape(), data, size_bytes);
  if (!tensor.ok()) {
    setError(absl::InvalidArgumentError(
        "hymir_value_upload: " + std::string(tensor.status().message())));
    return 1;
  }
  if (absl::Status s = value->value.upload(*tensor); !s.ok()) {
    setError(s);
    return 1;
  }
  return 0;
}

int hymir_value_download(const hymir_value *value, void *data,
                         size_t size_bytes) {
  if (!value || (size_bytes && !data)) {
    lastError = "hymir_value_download: value or data is NULL";
    return 1;
  }
  if (size_bytes != value->value.sizeBytes()) {
    lastError = "hymir_value_download: the value holds " +
                std::to_string(value->value.sizeBytes()) + " bytes, got " +
                std::to_string(size_bytes);
    return 1;
  }
  auto tensor = value->value.download();
  if (!tensor.ok()) {
    setError(tensor.status());
    return 1;
  }
  if (size_bytes)
    std::memcpy(data, tensor->data(), size_bytes);
  return 0;
}

void hymir_value_destroy(hymir_value *value) { delete value; }

hymir_outputs *hymir_module_call(hymir_module *module, const char *entry,
                                 const hymir_tensor *inputs, size_t count) {
  return hymir_module_call_values(module, entry, inputs, count, nullptr, 0);
}

hymir_outputs *hymir_module_call_values(hymir_module *module, const char *entry,
                                        const hymir_tensor *inputs,
                                        size_t count,
                                        const hymir_named_value *values,
                                        size_t value_count) {
  return hymir_module_call_options(module, entry, inputs, count, values,
                                   value_count, nullptr);
}

hymir_outputs *
hymir_module_call_options(hymir_module *module, const char *entry,
                          const hymir_tensor *inputs, size_t count,
                          const hymir_named_value *values, size_t value_count,
                          const hymir_call_options *options) {
  if (!module || !entry || (count && !inputs) || (value_count && !values)) {
    lastError = "hymir_module_call: module, entry, inputs or values is NULL";
    return nullptr;
  }
  hymir::DeviceValueMap valueMap;
  for (size_t i = 0; i < value_count; ++i) {
    const hymir_named_value &v = values[i];
    if (!v.name || !v.value) {
      lastError = "hymir_module_call: value " + std::to_string(i) +
                  " has no name or no value";
      return nullptr;
    }
    if (!valueMap.emplace(v.name, &v.value->value).second) {
      lastError = "hymir_module_call: input '" + std::string(v.name) +
                  "' is given two device values";
      return nullptr;
    }
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
  hymir::CallOptions callOptions;
  if (options)
    callOptions.cudaGraphs = options->cuda_graphs != 0;
  auto outputs = module->module->call(entry, map, valueMap, callOptions);
  if (!outputs.ok()) {
    setError(outputs.status());
    return nullptr;
  }
  auto *result = new hymir_outputs;
  for (auto &[name, tensor] : *outputs)
    result->tensors.emplace_back(name, std::move(tensor));
  return result;
}

int hymir_module_cuda_graph_use(hymir_module *module, const char *entry,
                                hymir_cuda_graph_use *out) {
  if (!module || !entry || !out) {
    lastError = "hymir_module_cuda_graph_use: module, entry or out is NULL";
    return 1;
  }
  const hymir::ModuleDesc &desc = module->module->desc();
  bool known = false;
  for (const auto &e : desc.entries)
    known |= e.name == entry;
  if (!known) {
    lastError = "hymir_module_cuda_graph_use: the module has no entry '" +
                std::string(entry) + "'";
    return 1;
  }
  hymir::CudaGraphUse use = module->module->cudaGraphUse(entry);
  module->graphNote = use.notUsed;
  out->graphs = use.graphs;
  out->replays = use.replays;
  out->plain_calls = use.plainCalls;
  out->not_used = module->graphNote.c_str();
  return 0;
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
