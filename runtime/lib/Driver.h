//===- Driver.h - the device abstraction under the runtime ------*- C++ -*-===//
//
// What the executor needs from a device: memory, copies, loading code
// objects, kernel launches with the packed argument words, library GEMMs,
// TMA tensor maps, timing and (cuda) graphs of captured stream work. The
// cpu driver (CpuDriver.cpp) and the cuda driver (CudaDriver.cpp) implement
// it.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_LIB_DRIVER_H
#define HYMIR_RUNTIME_LIB_DRIVER_H

#include "TensorMap.h"

#include "hymir/Runtime/Artifact.h"

#include "absl/status/statusor.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hymir {

/// A loaded code object and a kernel in it, both owned by the driver.
using CodeHandle = void *;
using KernelHandle = void *;

/// Device memory owned by a driver; freed on destruction.
class DeviceBuffer {
public:
  virtual ~DeviceBuffer() = default;
  virtual void *data() const = 0;
  virtual size_t size() const = 0;
};

/// A driver's stream work captured once and replayed as a whole (a CUDA
/// graph, instantiated); owned by its driver's user, destroyed before the
/// driver.
class StreamGraph {
public:
  virtual ~StreamGraph() = default;
};

class Driver {
public:
  virtual ~Driver() = default;

  virtual absl::StatusOr<std::unique_ptr<DeviceBuffer>>
  allocate(size_t bytes) = 0;
  virtual absl::Status copyToDevice(void *dst, const void *src,
                                    size_t bytes) = 0;
  virtual absl::Status copyToHost(void *dst, const void *src, size_t bytes) = 0;
  virtual absl::Status copyOnDevice(void *dst, const void *src,
                                    size_t bytes) = 0;

  /// Prepares one code object; kernels are then looked up by symbol. `where`
  /// names the object in messages.
  virtual absl::StatusOr<CodeHandle> loadCode(const CodeObjectDesc &code,
                                              const std::string &where) = 0;
  virtual void unloadCode(CodeHandle code) = 0;
  virtual absl::StatusOr<KernelHandle> kernel(CodeHandle code,
                                              const std::string &symbol) = 0;

  /// Launches `kernel` over `grid` blocks; `words` are the kernel's
  /// parameters, 8 bytes each, in order (see hymir-add-packed-kernel-entries).
  virtual absl::Status launch(KernelHandle kernel,
                              const std::array<int64_t, 3> &grid,
                              const std::array<uint32_t, 3> &block,
                              uint32_t sharedMemoryBytes,
                              std::vector<uint64_t> &words) = 0;

  /// Encodes the tiled TMA tensor map `args` (cuTensorMapEncodeTiled) into
  /// `map`. The cpu driver has no tensor maps: an error saying so.
  virtual absl::Status
  encodeTensorMap(const TensorMapEncoding &args,
                  std::array<uint8_t, kTensorMapBytes> &map) = 0;

  /// Host memory that copyToDeviceAsync reads from (page-locked on cuda, so
  /// the copy is truly asynchronous), zero-filled.
  virtual absl::StatusOr<std::unique_ptr<DeviceBuffer>>
  allocateStaging(size_t bytes) = 0;
  /// Copies `bytes` of staging memory to the device, ordered after the work
  /// before it and before the work after it; `src` must stay unchanged until
  /// the next synchronize().
  virtual absl::Status copyToDeviceAsync(void *dst, const void *src,
                                         size_t bytes) = 0;

  /// y[m, n] = x[m, k] w[n, k]^T by the device's BLAS.
  virtual absl::Status gemm(const GemmDesc &desc, const void *x, const void *w,
                            void *y, int64_t m) = 0;

  virtual absl::Status synchronize() = 0;

  /// Why this driver cannot capture its work into graphs; empty when it
  /// can.
  virtual std::string graphsUnavailable() const {
    return "CUDA graphs are a cuda feature; the cpu device launches the "
           "steps one by one";
  }
  /// Starts recording this driver's stream work: the launches, device
  /// copies, asynchronous copies and GEMMs that follow are recorded, not
  /// run, until endCapture. Work that cannot be recorded (an allocation, a
  /// synchronous copy, a synchronize) fails, and endCapture then fails too.
  virtual absl::Status beginCapture() {
    return absl::UnimplementedError(graphsUnavailable());
  }
  /// Ends the recording begun by beginCapture and returns it instantiated,
  /// or why it could not be recorded.
  virtual absl::StatusOr<std::unique_ptr<StreamGraph>> endCapture() {
    return absl::UnimplementedError(graphsUnavailable());
  }
  /// Enqueues a graph of this driver's on its stream, ordered after the
  /// work before it and before the work after it.
  virtual absl::Status launchGraph(StreamGraph &graph) {
    (void)graph;
    return absl::UnimplementedError(graphsUnavailable());
  }

  /// Starts and stops a timer around device work, in milliseconds.
  virtual absl::Status startTimer() = 0;
  virtual absl::StatusOr<double> stopTimer() = 0;
};

/// Collectives over a group of devices of one driver kind, each running the
/// same plan. Pointers are the devices' own, in group order; `elements` is
/// what each device contributes. Work is ordered after each device's earlier
/// work and before its later work.
class Collectives {
public:
  virtual ~Collectives() = default;
  /// dst[d][i] = sum over devices e of src[e][i], on every device d.
  virtual absl::Status allReduceSum(const std::vector<const void *> &src,
                                    const std::vector<void *> &dst,
                                    size_t elements, DType dtype) = 0;
  /// dst[d][e * elements + i] = src[e][i], on every device d.
  virtual absl::Status allGather(const std::vector<const void *> &src,
                                 const std::vector<void *> &dst,
                                 size_t elements, DType dtype) = 0;
  /// dst[d][i] = sum over devices e of src[e][d * elements + i]: device d
  /// keeps block d of the sum (each src holds devices * elements).
  virtual absl::Status reduceScatterSum(const std::vector<const void *> &src,
                                        const std::vector<void *> &dst,
                                        size_t elements, DType dtype) = 0;
  /// Device e sends rows [srcOffsets[e][d], srcOffsets[e][d + 1]) of src[e]
  /// to device d; dst[d] receives every device's rows in device order,
  /// dstOffsets[d] (devices + 1 i32) where each device's rows start, and
  /// zeros past them. Offsets live in device memory like the rows; `rows`
  /// is the capacity of every src and dst, `rowBytes` the bytes of a row.
  /// Offsets outside [0, rows], decreasing, or more rows than a dst holds
  /// are an error.
  virtual absl::Status allToAll(const std::vector<const void *> &src,
                                const std::vector<const void *> &srcOffsets,
                                const std::vector<void *> &dst,
                                const std::vector<void *> &dstOffsets,
                                size_t rows, size_t rowBytes) = 0;
};

/// The cpu driver: host memory, kernels from an in-memory shared object, a
/// thread pool running blocks.
absl::StatusOr<std::unique_ptr<Driver>> createCpuDriver();

/// The cuda driver for device `ordinal`: the CUDA driver API and cuBLASLt
/// loaded with dlopen.
absl::StatusOr<std::unique_ptr<Driver>> createCudaDriver(int ordinal);

/// Collectives of simulated devices in one process: host memory, sums in
/// f32 in device order (bf16 rounded once at the end).
std::unique_ptr<Collectives> createCpuCollectives(size_t devices);

/// Collectives of cuda drivers (createCudaDriver, distinct devices) on NCCL,
/// loaded with dlopen (libnccl.so.2): one communicator per device, launched
/// on the drivers' streams.
absl::StatusOr<std::unique_ptr<Collectives>>
createNcclCollectives(const std::vector<Driver *> &devices);

} // namespace hymir

#endif // HYMIR_RUNTIME_LIB_DRIVER_H
