//===- DynamicLibrary.h - symbol tables of libraries opened at run time -*- C++
//-*-===//
//
// The runtime world reaches the CUDA driver, cuBLASLt, cuBLAS and NCCL with
// dlopen, so that the same binaries start on machines without them and say
// what is missing only when it is needed. Each user declares a table of
// function pointers and fills it here: open the first of a few library names,
// bind every symbol (remembering the first missing one), and do all of it
// once per process.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_SUPPORT_DYNAMICLIBRARY_H
#define HYMIR_SUPPORT_DYNAMICLIBRARY_H

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <dlfcn.h>
#include <initializer_list>
#include <mutex>
#include <string>

namespace hymir {

/// A library opened with dlopen. It is never closed: the function pointers
/// bound from it stay valid for the life of the process.
class DynamicLibrary {
public:
  /// Opens the first of `names` that loads (RTLD_NOW | RTLD_LOCAL); if none
  /// does, openError() holds the reason the first one failed.
  explicit DynamicLibrary(std::initializer_list<const char *> names) {
    for (const char *name : names) {
      handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (handle)
        return;
      const char *why = dlerror();
      if (firstError.empty())
        firstError = why ? why : "unknown error";
    }
  }

  bool isOpen() const { return handle != nullptr; }
  const std::string &openError() const { return firstError; }

  /// Binds `fn` to the symbol `name`; a missing symbol leaves `fn` null and
  /// is remembered in missing() if it is the first.
  template <typename Fn> void bind(Fn &fn, const char *name) {
    bindOptional(fn, name);
    if (!fn && firstMissing.empty())
      firstMissing = name;
  }
  /// Binds `fn` to `name` if the library has it (null otherwise).
  template <typename Fn> void bindOptional(Fn &fn, const char *name) {
    fn = handle ? reinterpret_cast<Fn>(dlsym(handle, name)) : nullptr;
  }
  /// The first symbol bind() did not find; empty when all were found.
  const std::string &missing() const { return firstMissing; }

private:
  void *handle = nullptr;
  std::string firstError;
  std::string firstMissing;
};

/// The process-wide symbol table `Api`, filled by `load` (which returns OK or
/// why the library cannot be used) on the first call, from whatever thread;
/// later calls return the same table, or the same error.
template <typename Api, typename Load>
absl::StatusOr<const Api *> loadApiOnce(Load &&load) {
  static Api api;
  static absl::Status status;
  static std::once_flag once;
  std::call_once(once, [&] { status = load(api); });
  if (!status.ok())
    return status;
  return &api;
}

} // namespace hymir

#endif // HYMIR_SUPPORT_DYNAMICLIBRARY_H
