//===- CublasAnchor.h - cuBLAS timed directly, as a yardstick ---*- C++ -*-===//
//
// hymir-bench's anchor: the time cuBLAS itself takes for one dense GEMM
// shape on the same device, in the same run, so an entry's time can be read
// against it. The CUDA driver (libcuda.so.1) and cuBLAS (libcublas) are
// opened with dlopen here, independently of the runtime's own cuda driver,
// and the few types used are declared in CublasAnchor.cpp: the tool builds
// and starts without CUDA, like the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TOOLS_HYMIR_BENCH_CUBLASANCHOR_H
#define HYMIR_TOOLS_HYMIR_BENCH_CUBLASANCHOR_H

#include "hymir/Runtime/DType.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hymir::bench {

/// y[m, n] = x[m, k] w[n, k]^T, row-major, x, w and y all of `dtype`.
struct AnchorShape {
  int64_t m = 0, n = 0, k = 0;
  DType dtype = DType::BF16;
};

/// Parses "M,N,K" or "M,N,K,bf16|f32" (bf16 when the dtype is left out);
/// each size must be in [1, 2^31 - 1].
absl::StatusOr<AnchorShape> parseAnchorShape(std::string_view text);

/// "bf16" or "f32".
std::string anchorDTypeName(DType dtype);

/// 2 m n k.
double anchorFlops(const AnchorShape &shape);

/// One CUDA device seen through the driver API: its primary context (the
/// one the runtime uses too), a stream and two events; cuBLAS is opened on
/// the first timing.
class CublasAnchor {
public:
  /// Opens device `ordinal`. Unavailable when libcuda.so.1 is missing.
  static absl::StatusOr<std::unique_ptr<CublasAnchor>> create(int ordinal);
  ~CublasAnchor();
  CublasAnchor(const CublasAnchor &) = delete;
  CublasAnchor &operator=(const CublasAnchor &) = delete;

  /// The device's name, e.g. "NVIDIA H100 80GB HBM3".
  const std::string &deviceName() const { return name_; }

  /// Fills x and w with values drawn from a generator seeded with `seed`
  /// (never zero), runs cublasGemmEx `warmup` times, then times
  /// `iterations` runs one by one with events on the stream and returns the
  /// median in milliseconds. Errors name the shape and the failing call.
  absl::StatusOr<double> time(const AnchorShape &shape, int warmup,
                              int iterations, uint64_t seed);

private:
  struct State;
  explicit CublasAnchor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  std::string name_;
};

} // namespace hymir::bench

#endif // HYMIR_TOOLS_HYMIR_BENCH_CUBLASANCHOR_H
