//===- Safetensors.h - reading and writing safetensors files ----*- C++ -*-===//
//
// SafetensorsFile maps a safetensors file read-only, validates its whole
// header up front and then hands out views of its tensors; SafetensorsWriter
// builds such a file. The runtime binds model weights with them and reads and
// writes the inputs and outputs of hymir-run.
//
// The format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// (an object mapping each tensor name to {"dtype", "shape", "data_offsets"},
// plus an optional "__metadata__" object of strings), then the data section.
// data_offsets are [begin, end) relative to the first byte after the header.
//
// Errors are absl::Status values whose message names the file and, where one
// is involved, the tensor: DataLoss for a truncated file (too short for its
// header length or for a tensor's data), InvalidArgument for a malformed
// header, NotFound for a missing file or tensor, and the errno-derived code
// for other I/O failures.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_SAFETENSORS_H
#define HYMIR_RUNTIME_SAFETENSORS_H

#include "hymir/Runtime/DType.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hymir {

/// One tensor of a SafetensorsFile. `data` points into the file's mapping
/// (or buffer) and stays valid as long as the SafetensorsFile it came from,
/// including after that file object is moved.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  /// Row-major extents; empty for a 0-d tensor (one element).
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  size_t sizeBytes = 0;
};

/// A validated, read-only safetensors file. Move-only; the mapping is released
/// by the destructor.
class SafetensorsFile {
public:
  /// Maps the file at `path` (mmap, read-only) and validates its header. Every
  /// tensor's bytes lie inside the data section once this succeeds. The file
  /// must not be truncated by someone else while it is mapped.
  static absl::StatusOr<SafetensorsFile> open(const std::string &path);

  /// Validates an in-memory file; `label` stands for the path in messages and
  /// is what path() returns.
  static absl::StatusOr<SafetensorsFile> fromBuffer(std::vector<uint8_t> bytes,
                                                    std::string label);

  SafetensorsFile(SafetensorsFile &&other) noexcept;
  SafetensorsFile &operator=(SafetensorsFile &&other) noexcept;
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;
  ~SafetensorsFile();

  /// The tensors in the order the header lists them.
  const std::vector<TensorView> &tensors() const { return tensorList; }

  /// The tensor called `name`, or nullptr.
  const TensorView *find(std::string_view name) const;

  /// The tensor called `name`, checked against the expected dtype and shape.
  /// A negative entry in `shape` accepts any extent in that dimension (the
  /// rank must still match). The error names the tensor and gives both the
  /// expected and the found dtype and shape; a missing tensor is NotFound.
  absl::StatusOr<TensorView> get(std::string_view name, DType dtype,
                                 const std::vector<int64_t> &shape) const;

  /// The "__metadata__" entries (empty when the header has none).
  const std::map<std::string, std::string> &metadata() const {
    return metadataMap;
  }

  /// The path given to open(), or the label given to fromBuffer().
  const std::string &path() const { return filePath; }

private:
  class Storage;

  SafetensorsFile(std::unique_ptr<Storage> storage, std::string path);
  absl::Status parseHeader();

  std::unique_ptr<Storage> storage;
  std::string filePath;
  std::vector<TensorView> tensorList;
  /// Name to index into tensorList.
  std::map<std::string, size_t, std::less<>> byName;
  std::map<std::string, std::string> metadataMap;
};

/// The weights of one model: a single safetensors file, or the shards that a
/// Hugging Face index names (`model.safetensors.index.json`, whose
/// "weight_map" maps each tensor to the file beside it that holds it). Each
/// file is mapped and validated as a SafetensorsFile.
class ShardedSafetensors {
public:
  /// `path` is a .safetensors file, an index (a path ending in ".json"), or
  /// a directory holding model.safetensors or, when there is none,
  /// model.safetensors.index.json. An index whose map is not an object of
  /// file names beside it, or names a tensor its file lacks, is
  /// InvalidArgument naming the index, the tensor and the file.
  static absl::StatusOr<ShardedSafetensors> open(const std::string &path);

  /// The tensor called `name` in the file that holds it, or nullptr.
  const TensorView *find(std::string_view name) const;

  /// As SafetensorsFile::get, in the file that holds `name` (its errors name
  /// that file); a tensor no file holds is NotFound naming `path()`.
  absl::StatusOr<TensorView> get(std::string_view name, DType dtype,
                                 const std::vector<int64_t> &shape) const;

  /// The path given to open().
  const std::string &path() const { return label; }
  const std::vector<SafetensorsFile> &files() const { return fileList; }

private:
  std::string label;
  std::vector<SafetensorsFile> fileList;
  /// From the index: tensor name to index into fileList.
  std::map<std::string, size_t, std::less<>> fileOf;
};

/// Collects tensors and metadata and writes them as one safetensors file. The
/// header lists the tensors in the order they were added; their data is laid
/// out by decreasing element size (stable), so that with the header padded to
/// a multiple of 8 every tensor starts aligned to its element size, and the
/// data section has no gaps (as other safetensors readers require).
class SafetensorsWriter {
public:
  /// Copies `sizeBytes` bytes from `data`. A duplicate or reserved name
  /// ("__metadata__"), a name that is not UTF-8, a negative extent or a size
  /// that does not match the shape and dtype is recorded in status(), which
  /// write() then returns.
  void add(std::string name, DType dtype, std::vector<int64_t> shape,
           const void *data, size_t sizeBytes);

  /// Sets (or replaces) one "__metadata__" entry.
  void setMetadata(std::string key, std::string value);

  /// The first error of add() or setMetadata(), or OK.
  const absl::Status &status() const { return firstError; }

  /// Writes serialize() to `path`, replacing the file. Returns status() if it
  /// is not OK, without touching the file.
  absl::Status write(const std::string &path) const;

  /// The whole file in memory; empty if status() is not OK.
  std::vector<uint8_t> serialize() const;

private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };

  void recordError(absl::Status error);
  /// The 8-byte header length and the padded header JSON; `dataOrder`
  /// receives the indices of `entries` in the order their bytes follow.
  std::string headerBytes(std::vector<size_t> &dataOrder) const;

  std::vector<Entry> entries;
  std::set<std::string, std::less<>> names;
  std::map<std::string, std::string> metadataMap;
  absl::Status firstError;
};

} // namespace hymir

#endif // HYMIR_RUNTIME_SAFETENSORS_H
