//===- Checkpoint.cpp - safetensors headers of a model directory ----------===//
//
// See Checkpoint.h. The runtime's SafetensorsFile validates each header (and
// that every tensor's bytes lie inside its file); the index is plain JSON.
//
//===----------------------------------------------------------------------===//

#include "hymir/Frontend/Checkpoint.h"

#include "hymir/Runtime/Safetensors.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace llvm;

namespace hymir::frontend {
namespace {

Error fail(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

/// Adds the tensors of `dir`/`file` to `out`; only `wanted` ones when given.
Error readFile(StringRef dir, StringRef file,
               std::map<std::string, CheckpointTensor, std::less<>> &out,
               const std::map<std::string, std::string> *wanted) {
  SmallString<256> path(dir);
  sys::path::append(path, file);
  absl::StatusOr<SafetensorsFile> st = SafetensorsFile::open(path.str().str());
  if (!st.ok())
    return fail(std::string(st.status().message()));
  for (const TensorView &t : st->tensors()) {
    if (wanted) {
      auto it = wanted->find(t.name);
      if (it == wanted->end() || it->second != file)
        continue;
    }
    out[t.name] = CheckpointTensor{t.name, file.str(), t.dtype, t.shape};
  }
  return Error::success();
}

} // namespace

Expected<Checkpoint> Checkpoint::open(StringRef dir) {
  Checkpoint ckpt;
  SmallString<256> single(dir), index(dir);
  sys::path::append(single, "model.safetensors");
  sys::path::append(index, "model.safetensors.index.json");
  if (sys::fs::exists(single)) {
    ckpt.sourceName = "model.safetensors";
    ckpt.fileNames.push_back("model.safetensors");
    if (Error e = readFile(dir, "model.safetensors", ckpt.tensors, nullptr))
      return std::move(e);
    return ckpt;
  }
  if (!sys::fs::exists(index))
    return fail(formatv("{0}: no model.safetensors or "
                        "model.safetensors.index.json (a Hugging Face model "
                        "directory holds one of them; hymir-import "
                        "--no-weights reads config.json alone)",
                        dir));
  ckpt.sourceName = "model.safetensors.index.json";
  ErrorOr<std::unique_ptr<MemoryBuffer>> text = MemoryBuffer::getFile(index);
  if (!text)
    return fail(formatv("{0}: {1}", index, text.getError().message()));
  Expected<json::Value> value = json::parse((*text)->getBuffer());
  if (!value)
    return fail(formatv("{0}: not valid JSON: {1}", index,
                        toString(value.takeError())));
  const json::Object *root = value->getAsObject();
  const json::Object *map = root ? root->getObject("weight_map") : nullptr;
  if (!map)
    return fail(formatv("{0}: no 'weight_map' object", index));
  std::map<std::string, std::string> wanted;
  for (const auto &entry : *map) {
    std::optional<StringRef> file = entry.second.getAsString();
    // A file name, not a path: the shards live beside the index.
    if (!file || file->empty() || file->contains('/') || *file == "." ||
        *file == "..")
      return fail(formatv("{0}: 'weight_map' maps '{1}' to {2}, which is "
                          "not a file name in the model directory",
                          index, entry.first.str(), entry.second));
    wanted[entry.first.str()] = file->str();
    if (!is_contained(ckpt.fileNames, file->str()))
      ckpt.fileNames.push_back(file->str());
  }
  llvm::sort(ckpt.fileNames);
  for (const std::string &file : ckpt.fileNames)
    if (Error e = readFile(dir, file, ckpt.tensors, &wanted))
      return std::move(e);
  for (const auto &[name, file] : wanted)
    if (!ckpt.tensors.count(name))
      return fail(formatv("{0}: 'weight_map' maps '{1}' to {2}, which has "
                          "no such tensor",
                          index, name, file));
  return ckpt;
}

const CheckpointTensor *Checkpoint::find(StringRef name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

} // namespace hymir::frontend
