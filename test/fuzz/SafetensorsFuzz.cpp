//===- SafetensorsFuzz.cpp - libFuzzer target: the safetensors reader -----===//
//
// Any byte string is handed to SafetensorsFile::fromBuffer; a file that
// validates must give views that lie inside it. A crash, a sanitizer report
// or a view outside the buffer is a finding.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Safetensors.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  absl::StatusOr<hymir::SafetensorsFile> file =
      hymir::SafetensorsFile::fromBuffer(std::move(bytes), "fuzz");
  if (!file.ok())
    return 0;
  // Touch every byte of every tensor: a view past the buffer is caught by
  // AddressSanitizer.
  volatile uint8_t sink = 0;
  for (const hymir::TensorView &view : file->tensors()) {
    if (file->find(view.name) == nullptr)
      std::abort(); // every listed tensor can be found by its name
    for (size_t i = 0; i < view.sizeBytes; ++i)
      sink ^= view.data[i];
  }
  (void)sink;
  return 0;
}
