//===- Blas.h - library GEMMs on cuda through cuBLASLt ----------*- C++ -*-===//
//
// The cuda driver's GEMM steps, y[m, n] = x[m, k] w[n, k]^T with every
// matrix row-major, run through cuBLASLt. The library is opened with dlopen
// on the first GEMM (libcublasLt.so.13, then .so.12, then the unversioned
// name), so the runtime builds without CUDA and starts where it is absent.
// The few cuBLASLt types and constants used are declared in Blas.cpp; their
// values are fixed by the library's ABI.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_LIB_BLAS_H
#define HYMIR_RUNTIME_LIB_BLAS_H

#include "hymir/Runtime/Artifact.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

namespace hymir {

/// One cuBLASLt handle and the matmul plans (descriptors, layouts and the
/// algorithm picked by the heuristic) it has built, one per combination of
/// dtypes, shape and operand alignment. Not thread-safe: owned by one
/// driver, used on its stream.
class CublasLtGemm {
public:
  /// Loads cuBLASLt (once per process) and creates a handle. Unavailable
  /// when the library cannot be loaded, naming the library and why.
  static absl::StatusOr<std::unique_ptr<CublasLtGemm>> create();
  ~CublasLtGemm();
  CublasLtGemm(const CublasLtGemm &) = delete;
  CublasLtGemm &operator=(const CublasLtGemm &) = delete;

  /// Enqueues y = x w^T on `stream` (a CUstream) with fp32 accumulation;
  /// desc.dtype is that of x and w, desc.outDtype that of y, each bf16 or
  /// f32. `workspace` is device memory of `workspaceBytes` bytes that no
  /// other work uses while the stream runs this GEMM. Errors name the
  /// shapes and the cuBLASLt call that failed.
  absl::Status run(const GemmDesc &desc, const void *x, const void *w, void *y,
                   int64_t m, void *stream, void *workspace,
                   size_t workspaceBytes);

private:
  struct Plan;
  // (input dtype, output dtype, f32 precision, m, n, k, alignment of x, of
  // w, of y in bytes, workspace bytes).
  using PlanKey = std::tuple<int, int, bool, int64_t, int64_t, int64_t, int,
                             int, int, size_t>;

  explicit CublasLtGemm(void *handle);

  void *handle_;
  std::map<PlanKey, std::unique_ptr<Plan>> plans_;
};

} // namespace hymir

#endif // HYMIR_RUNTIME_LIB_BLAS_H
