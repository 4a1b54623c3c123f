//===- CudaDevice.h - what NCCL collectives need of a cuda driver -*- C++
//-*-===//
//
// The cuda driver (CudaDriver.cpp) implements this interface; the NCCL
// collectives (Nccl.cpp) launch on the drivers' streams through it, so
// neither file needs the other's internals.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_LIB_CUDADEVICE_H
#define HYMIR_RUNTIME_LIB_CUDADEVICE_H

#include "Driver.h"

namespace hymir {

/// CUstream of the CUDA driver API (its ABI; no CUDA headers are needed).
using CUstream = struct CUstream_st *;

class CudaDevice : public Driver {
public:
  /// The CUDA device ordinal.
  virtual int ordinal() const = 0;
  /// The one stream all of this driver's work is ordered on.
  virtual CUstream stream() const = 0;
  /// Makes this driver's context the calling thread's current one.
  virtual absl::Status use() const = 0;
};

} // namespace hymir

#endif // HYMIR_RUNTIME_LIB_CUDADEVICE_H
