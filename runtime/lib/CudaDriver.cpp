//===- CudaDriver.cpp - the CUDA driver API, loaded at run time -----------===//
//
// The cuda driver talks to libcuda.so.1 through dlopen, so the same runtime
// binary starts on machines without a GPU driver (CI) and reports a clear
// error only when a cuda device is asked for. It uses the device's primary
// context and one stream; PTX is JIT-compiled by cuModuleLoadDataEx with the
// JIT error log returned on failure; launches above 48 KiB of dynamic shared
// memory raise the kernel's limit first; timing uses events on the stream.
// GEMM steps go to cuBLASLt (Blas.h), loaded on the first one together with
// a 32 MiB workspace that the driver keeps for all later ones. Tensor maps
// are encoded by cuTensorMapEncodeTiled (bound when present: drivers before
// CUDA 12 lack it, and only tensor map steps need it) and reach the device
// by asynchronous copies from page-locked staging memory. Stream capture
// (cuStreamBeginCapture_v2 in thread-local mode, so that work it cannot
// record fails instead of running) makes CUDA graphs of the stream's work,
// instantiated and launched on the same stream. Several
// drivers (one per device) can live in one process: every call makes the
// driver's context current first; collectives between them run on NCCL
// (Nccl.cpp).
// The few driver types and constants used are declared here (their values
// are fixed by the driver ABI), so no CUDA headers are needed to build.
//
//===----------------------------------------------------------------------===//

#include "Blas.h"
#include "CudaDevice.h"

#include "hymir/Support/DynamicLibrary.h"

#include "absl/strings/str_cat.h"

#include <cstring>
#include <unordered_map>

namespace hymir {
namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;
constexpr int kJitInfoLogBuffer = 3, kJitInfoLogBufferSize = 4,
              kJitErrorLogBuffer = 5, kJitErrorLogBufferSize = 6;
constexpr int kFuncAttrMaxDynamicSharedSize = 8;
// CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: work this thread cannot record (an
// allocation, a synchronous copy) fails the capture instead of running.
constexpr int kCaptureModeThreadLocal = 1;

/// The driver entry points, resolved once.
struct CudaApi {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemGetInfo)(size_t *, size_t *);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                                 void **);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuMemAllocHost)(void **, size_t);
  CUresult (*cuMemFreeHost)(void *);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  // Optional (null on drivers before CUDA 12).
  CUresult (*cuTensorMapEncodeTiled)(void *, unsigned, unsigned, void *,
                                     const uint64_t *, const uint64_t *,
                                     const uint32_t *, const uint32_t *,
                                     unsigned, unsigned, unsigned, unsigned);
  // Stream capture and graphs (optional: null on drivers before CUDA 11.4;
  // graphs are then not used).
  CUresult (*cuStreamBeginCapture)(CUstream, int);
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph,
                                          unsigned long long);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphExecDestroy)(CUgraphExec);
  CUresult (*cuGraphDestroy)(CUgraph);
};

absl::StatusOr<const CudaApi *> cudaApi() {
  return loadApiOnce<CudaApi>([](CudaApi &api) -> absl::Status {
    DynamicLibrary library({"libcuda.so.1"});
    if (!library.isOpen())
      return absl::UnavailableError(
          absl::StrCat("cuda: the CUDA driver library libcuda.so.1 cannot be "
                       "loaded (",
                       library.openError(),
                       "); is an NVIDIA driver installed on this machine? The "
                       "cpu device needs none"));
    library.bind(api.cuInit, "cuInit");
    library.bind(api.cuDeviceGetCount, "cuDeviceGetCount");
    library.bind(api.cuDeviceGet, "cuDeviceGet");
    library.bind(api.cuDeviceGetName, "cuDeviceGetName");
    library.bind(api.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    library.bind(api.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
    library.bind(api.cuStreamDestroy, "cuStreamDestroy_v2");
    library.bind(api.cuEventDestroy, "cuEventDestroy_v2");
    library.bind(api.cuCtxSetCurrent, "cuCtxSetCurrent");
    library.bind(api.cuCtxSynchronize, "cuCtxSynchronize");
    library.bind(api.cuMemAlloc, "cuMemAlloc_v2");
    library.bind(api.cuMemFree, "cuMemFree_v2");
    library.bind(api.cuMemGetInfo, "cuMemGetInfo_v2");
    library.bind(api.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
    library.bind(api.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
    library.bind(api.cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
    library.bind(api.cuMemsetD8, "cuMemsetD8_v2");
    library.bind(api.cuModuleLoadDataEx, "cuModuleLoadDataEx");
    library.bind(api.cuModuleUnload, "cuModuleUnload");
    library.bind(api.cuModuleGetFunction, "cuModuleGetFunction");
    library.bind(api.cuFuncSetAttribute, "cuFuncSetAttribute");
    library.bind(api.cuLaunchKernel, "cuLaunchKernel");
    library.bind(api.cuStreamCreate, "cuStreamCreate");
    library.bind(api.cuStreamSynchronize, "cuStreamSynchronize");
    library.bind(api.cuEventCreate, "cuEventCreate");
    library.bind(api.cuEventRecord, "cuEventRecord");
    library.bind(api.cuEventSynchronize, "cuEventSynchronize");
    library.bind(api.cuEventElapsedTime, "cuEventElapsedTime");
    library.bind(api.cuGetErrorString, "cuGetErrorString");
    library.bind(api.cuGetErrorName, "cuGetErrorName");
    library.bind(api.cuMemAllocHost, "cuMemAllocHost_v2");
    library.bind(api.cuMemFreeHost, "cuMemFreeHost");
    library.bind(api.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
    library.bindOptional(api.cuTensorMapEncodeTiled, "cuTensorMapEncodeTiled");
    library.bindOptional(api.cuStreamBeginCapture, "cuStreamBeginCapture_v2");
    library.bindOptional(api.cuStreamEndCapture, "cuStreamEndCapture");
    library.bindOptional(api.cuGraphInstantiateWithFlags,
                         "cuGraphInstantiateWithFlags");
    library.bindOptional(api.cuGraphLaunch, "cuGraphLaunch");
    library.bindOptional(api.cuGraphExecDestroy, "cuGraphExecDestroy");
    library.bindOptional(api.cuGraphDestroy, "cuGraphDestroy");
    if (!library.missing().empty())
      return absl::UnavailableError(
          absl::StrCat("cuda: libcuda.so.1 has no ", library.missing()));
    return absl::OkStatus();
  });
}

class CudaDriver;

/// An instantiated graph (cuGraphInstantiateWithFlags), destroyed with the
/// graph it was made from.
class CudaGraph : public StreamGraph {
public:
  CudaGraph(const CudaApi *api, CUcontext context, CUgraph graph,
            CUgraphExec exec)
      : api_(api), context_(context), graph_(graph), exec_(exec) {}
  ~CudaGraph() override {
    api_->cuCtxSetCurrent(context_);
    api_->cuGraphExecDestroy(exec_);
    api_->cuGraphDestroy(graph_);
  }
  CUgraphExec exec() const { return exec_; }

private:
  const CudaApi *api_;
  CUcontext context_;
  CUgraph graph_;
  CUgraphExec exec_;
};

/// Page-locked host memory (cuMemAllocHost), freed on destruction.
class CudaHostBuffer : public DeviceBuffer {
public:
  CudaHostBuffer(const CudaApi *api, CUcontext context, void *ptr, size_t size)
      : api_(api), context_(context), ptr_(ptr), size_(size) {}
  ~CudaHostBuffer() override {
    if (ptr_) {
      api_->cuCtxSetCurrent(context_);
      api_->cuMemFreeHost(ptr_);
    }
  }
  void *data() const override { return ptr_; }
  size_t size() const override { return size_; }

private:
  const CudaApi *api_;
  CUcontext context_;
  void *ptr_;
  size_t size_;
};

class CudaBuffer : public DeviceBuffer {
public:
  CudaBuffer(const CudaApi *api, CUcontext context, CUdeviceptr ptr,
             size_t size)
      : api_(api), context_(context), ptr_(ptr), size_(size) {}
  ~CudaBuffer() override {
    if (ptr_) {
      api_->cuCtxSetCurrent(context_);
      api_->cuMemFree(ptr_);
    }
  }
  void *data() const override { return reinterpret_cast<void *>(ptr_); }
  size_t size() const override { return size_; }

private:
  const CudaApi *api_;
  CUcontext context_;
  CUdeviceptr ptr_;
  size_t size_;
};

class CudaDriver : public CudaDevice {
public:
  explicit CudaDriver(const CudaApi *api) : api_(api) {}
  ~CudaDriver() override {
    if (!context_)
      return;
    // The BLAS handle and its workspace go first, then the stream, the
    // events and the context retained at init.
    api_->cuCtxSetCurrent(context_);
    blas_.reset();
    gemmWorkspace_.reset();
    if (start_)
      api_->cuEventDestroy(start_);
    if (stop_)
      api_->cuEventDestroy(stop_);
    if (stream_)
      api_->cuStreamDestroy(stream_);
    api_->cuDevicePrimaryCtxRelease(device_);
  }

  absl::Status check(CUresult r, const std::string &what) const {
    if (r == 0)
      return absl::OkStatus();
    const char *text = nullptr;
    api_->cuGetErrorString(r, &text);
    return absl::InternalError(
        absl::StrCat("cuda: ", what, " failed: ", text ? text : "unknown error",
                     " (", r, ")"));
  }

  absl::Status init(int ordinal) {
    if (absl::Status s = check(api_->cuInit(0), "cuInit"); !s.ok())
      return s;
    int count = 0;
    if (absl::Status s = check(api_->cuDeviceGetCount(&count), "device count");
        !s.ok())
      return s;
    if (ordinal < 0 || ordinal >= count)
      return absl::NotFoundError(absl::StrCat("cuda: device ", ordinal,
                                              " requested, but this machine "
                                              "has ",
                                              count, " CUDA device(s)"));
    CUdevice device;
    CUcontext context;
    if (absl::Status s =
            check(api_->cuDeviceGet(&device, ordinal), "cuDeviceGet");
        !s.ok())
      return s;
    char name[256] = {0};
    api_->cuDeviceGetName(name, sizeof(name) - 1, device);
    name_ = name;
    if (absl::Status s = check(api_->cuDevicePrimaryCtxRetain(&context, device),
                               "retaining the primary context");
        !s.ok())
      return s;
    context_ = context;
    device_ = device;
    ordinal_ = ordinal;
    if (absl::Status s = check(api_->cuCtxSetCurrent(context), "context");
        !s.ok())
      return s;
    if (absl::Status s = check(api_->cuStreamCreate(&stream_, 0), "stream");
        !s.ok())
      return s;
    if (absl::Status s = check(api_->cuEventCreate(&start_, 0), "event");
        !s.ok())
      return s;
    return check(api_->cuEventCreate(&stop_, 0), "event");
  }

  absl::StatusOr<std::unique_ptr<DeviceBuffer>>
  allocate(size_t bytes) override {
    if (absl::Status s = use(); !s.ok())
      return s;
    CUdeviceptr ptr = 0;
    CUresult r = api_->cuMemAlloc(&ptr, std::max<size_t>(bytes, 1));
    if (r != 0) {
      size_t freeBytes = 0, total = 0;
      api_->cuMemGetInfo(&freeBytes, &total);
      return absl::ResourceExhaustedError(
          absl::StrCat("cuda: cannot allocate ", bytes, " bytes on ", name_,
                       " (", freeBytes, " of ", total, " bytes free)"));
    }
    api_->cuMemsetD8(ptr, 0, std::max<size_t>(bytes, 1));
    return std::unique_ptr<DeviceBuffer>(
        new CudaBuffer(api_, context_, ptr, bytes));
  }
  absl::Status copyToDevice(void *dst, const void *src, size_t bytes) override {
    if (absl::Status s = use(); !s.ok())
      return s;
    if (!bytes)
      return absl::OkStatus();
    return check(
        api_->cuMemcpyHtoD(reinterpret_cast<CUdeviceptr>(dst), src, bytes),
        "host-to-device copy");
  }
  absl::Status copyToHost(void *dst, const void *src, size_t bytes) override {
    if (absl::Status s = use(); !s.ok())
      return s;
    if (!bytes)
      return absl::OkStatus();
    if (absl::Status s = synchronize(); !s.ok())
      return s;
    return check(
        api_->cuMemcpyDtoH(dst, reinterpret_cast<CUdeviceptr>(src), bytes),
        "device-to-host copy");
  }
  absl::Status copyOnDevice(void *dst, const void *src, size_t bytes) override {
    if (absl::Status s = use(); !s.ok())
      return s;
    if (!bytes)
      return absl::OkStatus();
    return check(api_->cuMemcpyDtoDAsync(reinterpret_cast<CUdeviceptr>(dst),
                                         reinterpret_cast<CUdeviceptr>(src),
                                         bytes, stream_),
                 "device copy");
  }

  absl::StatusOr<CodeHandle> loadCode(const CodeObjectDesc &code,
                                      const std::string &where) override {
    if (absl::Status s = use(); !s.ok())
      return s;
    if (code.format == CodeFormat::HostSharedObject)
      return absl::FailedPreconditionError(
          absl::StrCat(where, " is host code, which the cuda driver cannot "
                              "run"));
    std::string errorLog(16384, '\0'), infoLog(16384, '\0');
    int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSize,
                     kJitInfoLogBuffer, kJitInfoLogBufferSize};
    void *values[] = {
        errorLog.data(), reinterpret_cast<void *>(errorLog.size() - 1),
        infoLog.data(), reinterpret_cast<void *>(infoLog.size() - 1)};
    CUmodule module = nullptr;
    CUresult r =
        api_->cuModuleLoadDataEx(&module, code.data.data(), 4, options, values);
    if (r != 0 && !code.ptxFallback.empty()) {
      // The cubin does not load here (another architecture, say): JIT the
      // PTX it was assembled from instead.
      errorLog.assign(errorLog.size(), '\0');
      r = api_->cuModuleLoadDataEx(&module, code.ptxFallback.data(), 4, options,
                                   values);
    }
    if (r != 0) {
      absl::Status s = check(r, absl::StrCat("loading ", where));
      return absl::Status(
          s.code(), absl::StrCat(s.message(), "; JIT log: ", errorLog.c_str()));
    }
    return static_cast<CodeHandle>(module);
  }

  void unloadCode(CodeHandle code) override {
    api_->cuCtxSetCurrent(context_);
    api_->cuModuleUnload(static_cast<CUmodule>(code));
  }

  absl::StatusOr<KernelHandle> kernel(CodeHandle code,
                                      const std::string &symbol) override {
    CUfunction fn = nullptr;
    if (absl::Status s =
            check(api_->cuModuleGetFunction(&fn, static_cast<CUmodule>(code),
                                            symbol.c_str()),
                  absl::StrCat("finding kernel ", symbol));
        !s.ok())
      return s;
    return static_cast<KernelHandle>(fn);
  }

  absl::Status launch(KernelHandle kernel, const std::array<int64_t, 3> &grid,
                      const std::array<uint32_t, 3> &block,
                      uint32_t sharedMemoryBytes,
                      std::vector<uint64_t> &words) override {
    if (absl::Status s = use(); !s.ok())
      return s;
    auto fn = static_cast<CUfunction>(kernel);
    for (int64_t g : grid)
      if (g > 0x7fffffff)
        return absl::OutOfRangeError(
            absl::StrCat("cuda: grid dimension ", g, " is too large"));
    // Raised once per kernel and size (not again on every launch, nor in a
    // stream capture, whose first launch follows a plain one).
    if (sharedMemoryBytes > 48 * 1024 &&
        sharedMemoryRaised_[fn] < sharedMemoryBytes) {
      if (absl::Status s = check(
              api_->cuFuncSetAttribute(fn, kFuncAttrMaxDynamicSharedSize,
                                       static_cast<int>(sharedMemoryBytes)),
              "raising the dynamic shared memory limit");
          !s.ok())
        return s;
      sharedMemoryRaised_[fn] = sharedMemoryBytes;
    }
    std::vector<void *> params;
    for (uint64_t &w : words)
      params.push_back(&w);
    return check(api_->cuLaunchKernel(fn, static_cast<unsigned>(grid[0]),
                                      static_cast<unsigned>(grid[1]),
                                      static_cast<unsigned>(grid[2]), block[0],
                                      block[1], block[2], sharedMemoryBytes,
                                      stream_, params.data(), nullptr),
                 "kernel launch");
  }

  absl::Status
  encodeTensorMap(const TensorMapEncoding &args,
                  std::array<uint8_t, kTensorMapBytes> &map) override {
    if (absl::Status s = use(); !s.ok())
      return s;
    if (!api_->cuTensorMapEncodeTiled)
      return absl::UnimplementedError(
          "cuda: this NVIDIA driver has no cuTensorMapEncodeTiled (CUDA 12 "
          "or newer is needed for TMA tensor maps)");
    // CUtensorMap is 64-byte aligned.
    alignas(64) std::array<uint8_t, kTensorMapBytes> encoded{};
    CUresult r = api_->cuTensorMapEncodeTiled(
        encoded.data(), args.dataType, args.rank,
        reinterpret_cast<void *>(args.address), args.dims.data(),
        args.strides.data(), args.box.data(), args.elementStrides.data(),
        args.interleave, args.swizzle, args.l2Promotion, args.oobFill);
    if (r != 0) {
      const char *name = nullptr, *text = nullptr;
      api_->cuGetErrorName(r, &name);
      api_->cuGetErrorString(r, &text);
      return absl::InvalidArgumentError(
          absl::StrCat("cuda: cuTensorMapEncodeTiled failed with ",
                       name ? name : "an unknown error", " (", r,
                       text ? absl::StrCat(": ", text) : "", ") for ",
                       describeTensorMapEncoding(args)));
    }
    map = encoded;
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<DeviceBuffer>>
  allocateStaging(size_t bytes) override {
    if (absl::Status s = use(); !s.ok())
      return s;
    void *ptr = nullptr;
    if (absl::Status s =
            check(api_->cuMemAllocHost(&ptr, std::max<size_t>(bytes, 1)),
                  absl::StrCat("allocating ", bytes,
                               " bytes of page-locked host memory"));
        !s.ok())
      return s;
    std::memset(ptr, 0, std::max<size_t>(bytes, 1));
    return std::unique_ptr<DeviceBuffer>(
        new CudaHostBuffer(api_, context_, ptr, bytes));
  }

  absl::Status copyToDeviceAsync(void *dst, const void *src,
                                 size_t bytes) override {
    if (absl::Status s = use(); !s.ok())
      return s;
    if (!bytes)
      return absl::OkStatus();
    return check(api_->cuMemcpyHtoDAsync(reinterpret_cast<CUdeviceptr>(dst),
                                         src, bytes, stream_),
                 "asynchronous host-to-device copy");
  }

  absl::Status gemm(const GemmDesc &desc, const void *x, const void *w, void *y,
                    int64_t m) override {
    if (absl::Status s = use(); !s.ok())
      return s;
    if (!blas_) {
      absl::StatusOr<std::unique_ptr<CublasLtGemm>> blas =
          CublasLtGemm::create();
      if (!blas.ok())
        return blas.status();
      absl::StatusOr<std::unique_ptr<DeviceBuffer>> workspace =
          allocate(kGemmWorkspaceBytes);
      if (!workspace.ok())
        return workspace.status();
      blas_ = std::move(*blas);
      gemmWorkspace_ = std::move(*workspace);
    }
    return blas_->run(desc, x, w, y, m, stream_, gemmWorkspace_->data(),
                      gemmWorkspace_->size());
  }

  absl::Status synchronize() override {
    if (absl::Status s = use(); !s.ok())
      return s;
    return check(api_->cuStreamSynchronize(stream_), "synchronizing");
  }
  absl::Status startTimer() override {
    if (absl::Status s = use(); !s.ok())
      return s;
    return check(api_->cuEventRecord(start_, stream_), "recording an event");
  }
  absl::StatusOr<double> stopTimer() override {
    if (absl::Status s = use(); !s.ok())
      return s;
    if (absl::Status s =
            check(api_->cuEventRecord(stop_, stream_), "recording an event");
        !s.ok())
      return s;
    if (absl::Status s = check(api_->cuEventSynchronize(stop_), "event wait");
        !s.ok())
      return s;
    float ms = 0;
    if (absl::Status s =
            check(api_->cuEventElapsedTime(&ms, start_, stop_), "event timing");
        !s.ok())
      return s;
    return static_cast<double>(ms);
  }

  std::string graphsUnavailable() const override {
    if (!api_->cuStreamBeginCapture || !api_->cuStreamEndCapture ||
        !api_->cuGraphInstantiateWithFlags || !api_->cuGraphLaunch ||
        !api_->cuGraphExecDestroy || !api_->cuGraphDestroy)
      return "this NVIDIA driver's libcuda.so.1 lacks stream capture "
             "(cuStreamBeginCapture_v2 ... cuGraphInstantiateWithFlags: "
             "CUDA 11.4 or newer)";
    return "";
  }
  absl::Status beginCapture() override {
    if (std::string why = graphsUnavailable(); !why.empty())
      return absl::UnimplementedError(absl::StrCat("cuda: ", why));
    if (absl::Status s = use(); !s.ok())
      return s;
    return check(api_->cuStreamBeginCapture(stream_, kCaptureModeThreadLocal),
                 "beginning a stream capture");
  }
  absl::StatusOr<std::unique_ptr<StreamGraph>> endCapture() override {
    if (std::string why = graphsUnavailable(); !why.empty())
      return absl::UnimplementedError(absl::StrCat("cuda: ", why));
    if (absl::Status s = use(); !s.ok())
      return s;
    // Ends the capture even when work in it failed (the stream leaves
    // capture mode either way); a capture that work invalidated returns
    // an error and no graph.
    CUgraph graph = nullptr;
    CUresult r = api_->cuStreamEndCapture(stream_, &graph);
    if (r != 0) {
      if (graph)
        api_->cuGraphDestroy(graph);
      return check(r, "ending the stream capture");
    }
    if (!graph)
      return absl::InternalError("cuda: the stream capture made no graph");
    CUgraphExec exec = nullptr;
    if (absl::Status s =
            check(api_->cuGraphInstantiateWithFlags(&exec, graph, 0),
                  "instantiating the captured graph");
        !s.ok()) {
      api_->cuGraphDestroy(graph);
      return s;
    }
    return std::unique_ptr<StreamGraph>(
        new CudaGraph(api_, context_, graph, exec));
  }
  absl::Status launchGraph(StreamGraph &graph) override {
    if (absl::Status s = use(); !s.ok())
      return s;
    return check(
        api_->cuGraphLaunch(static_cast<CudaGraph &>(graph).exec(), stream_),
        "launching a graph");
  }

  int ordinal() const override { return ordinal_; }
  CUstream stream() const override { return stream_; }
  absl::Status use() const override {
    return check(api_->cuCtxSetCurrent(context_), "selecting the context");
  }

private:
  static constexpr size_t kGemmWorkspaceBytes = size_t(32) << 20;

  const CudaApi *api_;
  std::string name_;
  CUcontext context_ = nullptr;
  CUdevice device_ = 0;
  int ordinal_ = 0;
  CUstream stream_ = nullptr;
  CUevent start_ = nullptr, stop_ = nullptr;
  // The dynamic shared memory limit each kernel was raised to.
  std::unordered_map<CUfunction, uint32_t> sharedMemoryRaised_;
  // Created by the first GEMM step; the handle goes before its workspace.
  std::unique_ptr<DeviceBuffer> gemmWorkspace_;
  std::unique_ptr<CublasLtGemm> blas_;
};

} // namespace

absl::StatusOr<std::unique_ptr<Driver>> createCudaDriver(int ordinal) {
  absl::StatusOr<const CudaApi *> api = cudaApi();
  if (!api.ok())
    return api.status();
  auto driver = std::make_unique<CudaDriver>(*api);
  if (absl::Status s = driver->init(ordinal); !s.ok())
    return s;
  return std::unique_ptr<Driver>(std::move(driver));
}

} // namespace hymir
