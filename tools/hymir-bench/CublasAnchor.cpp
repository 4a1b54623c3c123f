//===- CublasAnchor.cpp - cuBLAS timed directly, as a yardstick -----------===//
//
// The anchor computes the row-major y[M, N] = x[M, K] w[N, K]^T with one
// cublasGemmEx call: cuBLAS is column-major, so it computes y^T (N x M,
// ld N) = w (N x K) x^T (K x M), reading w's bytes as the column-major K x N
// matrix w^T (op T, ld K) and x's as x^T (op N, ld K). Accumulation is fp32
// (CUBLAS_COMPUTE_32F) for both dtypes, so f32 runs in true fp32, never
// TF32. Each timed run is bracketed by its own pair of events.
//
//===----------------------------------------------------------------------===//

#include "CublasAnchor.h"

#include "hymir/Support/BFloat16.h"
#include "hymir/Support/DynamicLibrary.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <random>
#include <vector>

namespace hymir::bench {
namespace {

// The CUDA driver and cuBLAS ABI (cuda.h, cublas_api.h, library_types.h).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using cublasStatus_t = int;
using cublasHandle_t = struct cublasContext *;
constexpr int kCudaR32F = 0, kCudaR16BF = 14; // cudaDataType_t
constexpr int kComputeF32 = 68;               // CUBLAS_COMPUTE_32F
constexpr int kOpN = 0, kOpT = 1;             // cublasOperation_t
constexpr int kGemmDefault = -1;              // CUBLAS_GEMM_DEFAULT

struct Api {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuGetErrorString)(CUresult, const char **);

  cublasStatus_t (*cublasCreate)(cublasHandle_t *);
  cublasStatus_t (*cublasDestroy)(cublasHandle_t);
  cublasStatus_t (*cublasSetStream)(cublasHandle_t, CUstream);
  cublasStatus_t (*cublasGemmEx)(cublasHandle_t, int, int, int, int, int,
                                 const void *, const void *, int, int,
                                 const void *, int, int, const void *, void *,
                                 int, int, int, int);
  const char *(*cublasGetStatusString)(cublasStatus_t) = nullptr;
};

absl::StatusOr<Api *> loadCuda() {
  static Api api;
  static std::string error;
  static bool done = false;
  if (done)
    return error.empty() ? absl::StatusOr<Api *>(&api)
                         : absl::UnavailableError(error);
  done = true;
  DynamicLibrary cuda({"libcuda.so.1"});
  if (!cuda.isOpen()) {
    error = absl::StrCat("cuda: the CUDA driver library libcuda.so.1 cannot "
                         "be loaded (",
                         cuda.openError(), ")");
    return absl::UnavailableError(error);
  }
  cuda.bind(api.cuInit, "cuInit");
  cuda.bind(api.cuDeviceGetCount, "cuDeviceGetCount");
  cuda.bind(api.cuDeviceGet, "cuDeviceGet");
  cuda.bind(api.cuDeviceGetName, "cuDeviceGetName");
  cuda.bind(api.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  cuda.bind(api.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
  cuda.bind(api.cuCtxSetCurrent, "cuCtxSetCurrent");
  cuda.bind(api.cuMemAlloc, "cuMemAlloc_v2");
  cuda.bind(api.cuMemFree, "cuMemFree_v2");
  cuda.bind(api.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
  cuda.bind(api.cuStreamCreate, "cuStreamCreate");
  cuda.bind(api.cuStreamDestroy, "cuStreamDestroy_v2");
  cuda.bind(api.cuStreamSynchronize, "cuStreamSynchronize");
  cuda.bind(api.cuEventCreate, "cuEventCreate");
  cuda.bind(api.cuEventDestroy, "cuEventDestroy_v2");
  cuda.bind(api.cuEventRecord, "cuEventRecord");
  cuda.bind(api.cuEventSynchronize, "cuEventSynchronize");
  cuda.bind(api.cuEventElapsedTime, "cuEventElapsedTime");
  cuda.bind(api.cuGetErrorString, "cuGetErrorString");
  if (!cuda.missing().empty()) {
    error = absl::StrCat("cuda: libcuda.so.1 has no ", cuda.missing());
    return absl::UnavailableError(error);
  }
  return &api;
}

absl::Status loadCublas(Api &api) {
  static std::string error;
  static bool done = false;
  if (done)
    return error.empty() ? absl::OkStatus() : absl::UnavailableError(error);
  done = true;
  DynamicLibrary cublas({"libcublas.so.13", "libcublas.so.12", "libcublas.so"});
  if (!cublas.isOpen()) {
    error = absl::StrCat(
        "anchor: cuBLAS (libcublas.so.13) cannot be loaded: ",
        cublas.openError(),
        "; libcublas.so.12 and libcublas.so were tried too. Install cuBLAS "
        "or add its folder to LD_LIBRARY_PATH, or drop --linear-anchor");
    return absl::UnavailableError(error);
  }
  cublas.bind(api.cublasCreate, "cublasCreate_v2");
  cublas.bind(api.cublasDestroy, "cublasDestroy_v2");
  cublas.bind(api.cublasSetStream, "cublasSetStream_v2");
  cublas.bind(api.cublasGemmEx, "cublasGemmEx");
  if (!cublas.missing().empty()) {
    error =
        absl::StrCat("anchor: the cuBLAS library has no ", cublas.missing());
    return absl::UnavailableError(error);
  }
  cublas.bindOptional(api.cublasGetStatusString, "cublasGetStatusString");
  return absl::OkStatus();
}

/// Device memory freed on scope exit.
class DeviceMemory {
public:
  explicit DeviceMemory(Api *api) : api_(api) {}
  ~DeviceMemory() {
    if (ptr_)
      api_->cuMemFree(ptr_);
  }
  CUdeviceptr *slot() { return &ptr_; }
  void *get() const { return reinterpret_cast<void *>(ptr_); }

private:
  Api *api_;
  CUdeviceptr ptr_ = 0;
};

} // namespace

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

absl::StatusOr<AnchorShape> parseAnchorShape(std::string_view text) {
  const std::string whole(text);
  std::vector<std::string> parts = absl::StrSplit(whole, ',');
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--linear-anchor '", std::string(text), "': ", std::string(why),
        "; expected M,N,K or M,N,K,bf16|f32"));
  };
  if (parts.size() != 3 && parts.size() != 4)
    return bad("wrong number of fields");
  AnchorShape shape;
  int64_t *sizes[] = {&shape.m, &shape.n, &shape.k};
  for (int i = 0; i < 3; ++i)
    if (!absl::SimpleAtoi(parts[i], sizes[i]) || *sizes[i] < 1 ||
        *sizes[i] > INT_MAX)
      return bad(
          absl::StrCat("'", parts[i], "' is not a size in [1, ", INT_MAX, "]"));
  if (parts.size() == 4) {
    if (parts[3] == "bf16")
      shape.dtype = DType::BF16;
    else if (parts[3] == "f32")
      shape.dtype = DType::F32;
    else
      return bad(absl::StrCat("unknown dtype '", parts[3], "'"));
  }
  return shape;
}

std::string anchorDTypeName(DType dtype) {
  return dtype == DType::F32 ? "f32" : "bf16";
}

double anchorFlops(const AnchorShape &shape) {
  return 2.0 * static_cast<double>(shape.m) * static_cast<double>(shape.n) *
         static_cast<double>(shape.k);
}

//===----------------------------------------------------------------------===//
// CublasAnchor
//===----------------------------------------------------------------------===//

struct CublasAnchor::State {
  Api *api = nullptr;
  CUdevice device = 0;
  CUcontext context = nullptr;
  bool retained = false;
  CUstream stream = nullptr;
  CUevent start = nullptr, stop = nullptr;
  cublasHandle_t handle = nullptr;

  ~State() {
    if (handle)
      api->cublasDestroy(handle);
    if (start)
      api->cuEventDestroy(start);
    if (stop)
      api->cuEventDestroy(stop);
    if (stream)
      api->cuStreamDestroy(stream);
    if (retained)
      api->cuDevicePrimaryCtxRelease(device);
  }

  absl::Status check(CUresult r, std::string_view what) const {
    if (r == 0)
      return absl::OkStatus();
    const char *text = nullptr;
    api->cuGetErrorString(r, &text);
    return absl::InternalError(
        absl::StrCat("cuda: ", std::string(what),
                     " failed: ", text ? text : "unknown error", " (", r, ")"));
  }
};

CublasAnchor::CublasAnchor(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
CublasAnchor::~CublasAnchor() = default;

absl::StatusOr<std::unique_ptr<CublasAnchor>>
CublasAnchor::create(int ordinal) {
  absl::StatusOr<Api *> api = loadCuda();
  if (!api.ok())
    return api.status();
  auto state = std::make_unique<State>();
  state->api = *api;
  Api &a = **api;
  if (absl::Status s = state->check(a.cuInit(0), "cuInit"); !s.ok())
    return s;
  int count = 0;
  if (absl::Status s = state->check(a.cuDeviceGetCount(&count), "device count");
      !s.ok())
    return s;
  if (ordinal < 0 || ordinal >= count)
    return absl::NotFoundError(absl::StrCat("cuda: device ", ordinal,
                                            " requested, but this machine has ",
                                            count, " CUDA device(s)"));
  if (absl::Status s =
          state->check(a.cuDeviceGet(&state->device, ordinal), "cuDeviceGet");
      !s.ok())
    return s;
  char name[256] = {0};
  a.cuDeviceGetName(name, sizeof(name) - 1, state->device);
  CUcontext context = nullptr;
  if (absl::Status s =
          state->check(a.cuDevicePrimaryCtxRetain(&context, state->device),
                       "retaining the primary context");
      !s.ok())
    return s;
  state->retained = true;
  state->context = context;
  if (absl::Status s = state->check(a.cuCtxSetCurrent(context), "context");
      !s.ok())
    return s;
  if (absl::Status s = state->check(a.cuStreamCreate(&state->stream, 0),
                                    "creating a stream");
      !s.ok())
    return s;
  if (absl::Status s =
          state->check(a.cuEventCreate(&state->start, 0), "creating an event");
      !s.ok())
    return s;
  if (absl::Status s =
          state->check(a.cuEventCreate(&state->stop, 0), "creating an event");
      !s.ok())
    return s;
  auto anchor =
      std::unique_ptr<CublasAnchor>(new CublasAnchor(std::move(state)));
  anchor->name_ = name;
  return anchor;
}

absl::StatusOr<double> CublasAnchor::time(const AnchorShape &shape, int warmup,
                                          int iterations, uint64_t seed) {
  State &st = *state_;
  Api &a = *st.api;
  std::string where =
      absl::StrCat("anchor cublas M=", shape.m, " N=", shape.n, " K=", shape.k,
                   " dtype=", anchorDTypeName(shape.dtype));
  auto annotate = [&](const absl::Status &s) {
    return absl::Status(s.code(), absl::StrCat(where, ": ", s.message()));
  };
  if (shape.dtype != DType::BF16 && shape.dtype != DType::F32)
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": the anchor takes bf16 or f32"));
  // A multi-device runtime in the same process leaves another device's
  // context current: the anchor runs on its own.
  if (absl::Status s = st.check(a.cuCtxSetCurrent(st.context), "context");
      !s.ok())
    return annotate(s);
  if (absl::Status s = loadCublas(a); !s.ok())
    return s;
  if (!st.handle) {
    if (cublasStatus_t r = a.cublasCreate(&st.handle); r != 0) {
      st.handle = nullptr;
      return absl::InternalError(
          absl::StrCat(where, ": cublasCreate failed (status ", r, ")"));
    }
    if (cublasStatus_t r = a.cublasSetStream(st.handle, st.stream); r != 0)
      return absl::InternalError(
          absl::StrCat(where, ": cublasSetStream failed (status ", r, ")"));
  }

  // Host data: uniform magnitudes in [0.125, 1) with random signs, so no
  // element is zero, in f32 or rounded to bf16.
  const size_t elementBytes = shape.dtype == DType::F32 ? 4 : 2;
  const auto xCount = static_cast<size_t>(shape.m) * shape.k;
  const auto wCount = static_cast<size_t>(shape.n) * shape.k;
  const auto yCount = static_cast<size_t>(shape.m) * shape.n;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> magnitude(0.125f, 1.0f);
  std::bernoulli_distribution negative(0.5);
  auto fill = [&](size_t count) {
    std::vector<uint8_t> bytes(count * elementBytes);
    for (size_t i = 0; i < count; ++i) {
      float v = magnitude(rng);
      if (negative(rng))
        v = -v;
      if (elementBytes == 4) {
        std::memcpy(bytes.data() + 4 * i, &v, 4);
      } else {
        uint16_t h = floatToBf16(v);
        std::memcpy(bytes.data() + 2 * i, &h, 2);
      }
    }
    return bytes;
  };

  DeviceMemory x(&a), w(&a), y(&a);
  for (auto [memory, count, name] :
       {std::make_tuple(&x, xCount, "x"), std::make_tuple(&w, wCount, "w"),
        std::make_tuple(&y, yCount, "y")})
    if (CUresult r = a.cuMemAlloc(memory->slot(), count * elementBytes); r != 0)
      return annotate(
          st.check(r, absl::StrCat("allocating ", name, " (",
                                   count * elementBytes, " bytes)")));
  for (auto [memory, count] :
       {std::make_pair(&x, xCount), std::make_pair(&w, wCount)}) {
    std::vector<uint8_t> bytes = fill(count);
    if (absl::Status s = st.check(
            a.cuMemcpyHtoD(*memory->slot(), bytes.data(), bytes.size()),
            "host-to-device copy");
        !s.ok())
      return annotate(s);
  }

  const int type = shape.dtype == DType::F32 ? kCudaR32F : kCudaR16BF;
  const int m = static_cast<int>(shape.m), n = static_cast<int>(shape.n),
            k = static_cast<int>(shape.k);
  const float alpha = 1.0f, beta = 0.0f;
  auto gemm = [&]() -> absl::Status {
    // Column-major y^T (n x m) = w (n x k) * x^T (k x m); see the top.
    cublasStatus_t r = a.cublasGemmEx(
        st.handle, kOpT, kOpN, n, m, k, &alpha, w.get(), type, k, x.get(), type,
        k, &beta, y.get(), type, n, kComputeF32, kGemmDefault);
    if (r == 0)
      return absl::OkStatus();
    const char *text =
        a.cublasGetStatusString ? a.cublasGetStatusString(r) : nullptr;
    return absl::InternalError(absl::StrCat(
        where, ": cublasGemmEx failed: ", text ? text : "cuBLAS status", " (",
        r, ")"));
  };

  for (int i = 0; i < warmup; ++i)
    if (absl::Status s = gemm(); !s.ok())
      return s;
  if (absl::Status s =
          st.check(a.cuStreamSynchronize(st.stream), "synchronizing");
      !s.ok())
    return annotate(s);
  std::vector<double> times;
  for (int i = 0; i < std::max(1, iterations); ++i) {
    if (absl::Status s = st.check(a.cuEventRecord(st.start, st.stream),
                                  "recording an event");
        !s.ok())
      return annotate(s);
    if (absl::Status s = gemm(); !s.ok())
      return s;
    if (absl::Status s =
            st.check(a.cuEventRecord(st.stop, st.stream), "recording an event");
        !s.ok())
      return annotate(s);
    if (absl::Status s = st.check(a.cuEventSynchronize(st.stop), "event wait");
        !s.ok())
      return annotate(s);
    float ms = 0;
    if (absl::Status s = st.check(a.cuEventElapsedTime(&ms, st.start, st.stop),
                                  "event timing");
        !s.ok())
      return annotate(s);
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

} // namespace hymir::bench
