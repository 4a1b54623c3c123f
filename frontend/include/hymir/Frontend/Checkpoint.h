//===- Checkpoint.h - the tensors of a Hugging Face checkpoint --*- C++ -*-===//
//
// The names, dtypes and shapes of the tensors of a model directory, read
// from the safetensors headers: `model.safetensors`, or the shards that
// `model.safetensors.index.json` maps each tensor to. Only headers are read
// (each file is mapped and its header validated by the runtime's reader);
// the weights themselves are bound later, at run time, under these names.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_FRONTEND_CHECKPOINT_H
#define HYMIR_FRONTEND_CHECKPOINT_H

#include "hymir/Runtime/DType.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hymir::frontend {

struct CheckpointTensor {
  std::string name;
  /// The file holding it, relative to the model directory.
  std::string file;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
};

class Checkpoint {
public:
  /// Reads `dir`/model.safetensors or, when there is none,
  /// `dir`/model.safetensors.index.json and the shards it names. A missing,
  /// malformed or inconsistent file (an index naming a tensor its shard
  /// lacks) is an error naming the file.
  static llvm::Expected<Checkpoint> open(llvm::StringRef dir);

  /// The tensor called `name`, or null.
  const CheckpointTensor *find(llvm::StringRef name) const;

  /// Where a tensor's name would be looked up: "model.safetensors" or
  /// "model.safetensors.index.json".
  const std::string &source() const { return sourceName; }

  /// The safetensors files, relative to the directory.
  const std::vector<std::string> &files() const { return fileNames; }

private:
  std::string sourceName;
  std::vector<std::string> fileNames;
  std::map<std::string, CheckpointTensor, std::less<>> tensors;
};

} // namespace hymir::frontend

#endif // HYMIR_FRONTEND_CHECKPOINT_H
