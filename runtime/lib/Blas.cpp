//===- Blas.cpp - library GEMMs on cuda through cuBLASLt ------------------===//
//
// cuBLASLt reads matrices column-major, and the bytes of a row-major [r, c]
// matrix are those of the column-major c x r matrix, its transpose. So the
// row-major y[m, n] = x[m, k] w[n, k]^T is run as the column-major
//
//   y^T (n x m) = w (n x k) * x^T (k x m)
//
//   A = w: stored column-major as w^T, k x n with ld k, applied transposed;
//   B = x: stored column-major as x^T, k x m with ld k, applied as is;
//   C = D = y: stored column-major as y^T, n x m with ld n;
//
// that is cuBLAS's M = n, N = m, K = k, which writes y in place, row-major,
// with no copies. Products accumulate in fp32 (CUBLAS_COMPUTE_32F, fp32
// alpha and beta) for every dtype; f32 operands therefore get true fp32
// arithmetic, never TF32 (that would need CUBLAS_COMPUTE_32F_FAST_TF32).
//
// A plan (descriptors, layouts, and the algorithm the heuristic picks for
// the operands' actual alignment and the workspace size) is built once per
// combination and reused; only cublasLtMatmul runs per step.
//
//===----------------------------------------------------------------------===//

#include "Blas.h"

#include "hymir/Support/DynamicLibrary.h"

#include "absl/strings/str_cat.h"

#include <string>

namespace hymir {
namespace {

// The cuBLASLt ABI, as in cublasLt.h, cublas_api.h and library_types.h of
// CUDA 12 and 13. Enums are passed as int.
using cublasStatus_t = int;
using cublasLtHandle_t = struct cublasLtContext *;
using cublasLtMatmulDesc_t = struct cublasLtMatmulDescOpaque *;
using cublasLtMatrixLayout_t = struct cublasLtMatrixLayoutOpaque *;
using cublasLtMatmulPreference_t = struct cublasLtMatmulPreferenceOpaque *;

struct LtMatmulAlgo {
  uint64_t data[8];
};
struct LtHeuristicResult {
  LtMatmulAlgo algo;
  size_t workspaceSize;
  cublasStatus_t state;
  float wavesCount;
  int reserved[4];
};
static_assert(sizeof(LtMatmulAlgo) == 64 && sizeof(LtHeuristicResult) == 96,
              "cublasLtMatmulHeuristicResult_t layout");

constexpr int kCudaR32F = 0, kCudaR16BF = 14;   // cudaDataType_t
constexpr int kComputeF32 = 68;                 // CUBLAS_COMPUTE_32F
constexpr int32_t kOpN = 0, kOpT = 1;           // cublasOperation_t
constexpr int kDescTransA = 3, kDescTransB = 4; // matmul desc attrs
constexpr int kPrefMaxWorkspaceBytes = 1;       // uint64_t
constexpr int kPrefMinAlignmentA = 5, kPrefMinAlignmentB = 6,
              kPrefMinAlignmentC = 7, kPrefMinAlignmentD = 8; // uint32_t

/// The cuBLASLt entry points, resolved once per process.
struct LtApi {
  cublasStatus_t (*cublasLtCreate)(cublasLtHandle_t *);
  cublasStatus_t (*cublasLtDestroy)(cublasLtHandle_t);
  cublasStatus_t (*cublasLtMatmulDescCreate)(cublasLtMatmulDesc_t *, int, int);
  cublasStatus_t (*cublasLtMatmulDescDestroy)(cublasLtMatmulDesc_t);
  cublasStatus_t (*cublasLtMatmulDescSetAttribute)(cublasLtMatmulDesc_t, int,
                                                   const void *, size_t);
  cublasStatus_t (*cublasLtMatrixLayoutCreate)(cublasLtMatrixLayout_t *, int,
                                               uint64_t, uint64_t, int64_t);
  cublasStatus_t (*cublasLtMatrixLayoutDestroy)(cublasLtMatrixLayout_t);
  cublasStatus_t (*cublasLtMatmulPreferenceCreate)(
      cublasLtMatmulPreference_t *);
  cublasStatus_t (*cublasLtMatmulPreferenceDestroy)(cublasLtMatmulPreference_t);
  cublasStatus_t (*cublasLtMatmulPreferenceSetAttribute)(
      cublasLtMatmulPreference_t, int, const void *, size_t);
  cublasStatus_t (*cublasLtMatmulAlgoGetHeuristic)(
      cublasLtHandle_t, cublasLtMatmulDesc_t, cublasLtMatrixLayout_t,
      cublasLtMatrixLayout_t, cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,
      cublasLtMatmulPreference_t, int, LtHeuristicResult *, int *);
  cublasStatus_t (*cublasLtMatmul)(cublasLtHandle_t, cublasLtMatmulDesc_t,
                                   const void *, const void *,
                                   cublasLtMatrixLayout_t, const void *,
                                   cublasLtMatrixLayout_t, const void *,
                                   const void *, cublasLtMatrixLayout_t, void *,
                                   cublasLtMatrixLayout_t, const LtMatmulAlgo *,
                                   void *, size_t, void *);
  // Optional: only used to word error messages.
  const char *(*cublasLtGetStatusString)(cublasStatus_t) = nullptr;
};

absl::StatusOr<const LtApi *> ltApi() {
  return loadApiOnce<LtApi>([](LtApi &api) -> absl::Status {
    DynamicLibrary library(
        {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"});
    if (!library.isOpen())
      return absl::UnavailableError(absl::StrCat(
          "cuda: cuBLASLt (libcublasLt.so.13) cannot be loaded: ",
          library.openError(),
          "; libcublasLt.so.12 and libcublasLt.so were tried too. Install "
          "cuBLAS (CUDA 12 or 13) or add its folder to LD_LIBRARY_PATH"));
    library.bind(api.cublasLtCreate, "cublasLtCreate");
    library.bind(api.cublasLtDestroy, "cublasLtDestroy");
    library.bind(api.cublasLtMatmulDescCreate, "cublasLtMatmulDescCreate");
    library.bind(api.cublasLtMatmulDescDestroy, "cublasLtMatmulDescDestroy");
    library.bind(api.cublasLtMatmulDescSetAttribute,
                 "cublasLtMatmulDescSetAttribute");
    library.bind(api.cublasLtMatrixLayoutCreate, "cublasLtMatrixLayoutCreate");
    library.bind(api.cublasLtMatrixLayoutDestroy,
                 "cublasLtMatrixLayoutDestroy");
    library.bind(api.cublasLtMatmulPreferenceCreate,
                 "cublasLtMatmulPreferenceCreate");
    library.bind(api.cublasLtMatmulPreferenceDestroy,
                 "cublasLtMatmulPreferenceDestroy");
    library.bind(api.cublasLtMatmulPreferenceSetAttribute,
                 "cublasLtMatmulPreferenceSetAttribute");
    library.bind(api.cublasLtMatmulAlgoGetHeuristic,
                 "cublasLtMatmulAlgoGetHeuristic");
    library.bind(api.cublasLtMatmul, "cublasLtMatmul");
    library.bindOptional(api.cublasLtGetStatusString,
                         "cublasLtGetStatusString");
    if (!library.missing().empty())
      return absl::UnavailableError(absl::StrCat(
          "cuda: the cuBLASLt library has no ", library.missing()));
    return absl::OkStatus();
  });
}

std::string statusText(const LtApi &api, cublasStatus_t status) {
  const char *text =
      api.cublasLtGetStatusString ? api.cublasLtGetStatusString(status) : "";
  return absl::StrCat(text && *text ? text : "cuBLAS status", " (", status,
                      ")");
}

/// cudaDataType_t of a GEMM operand, or -1 for a dtype cuBLASLt is not
/// asked to handle here.
int ltDataType(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return kCudaR32F;
  case DType::BF16:
    return kCudaR16BF;
  default:
    return -1;
  }
}

/// The largest power of two, up to 256, that divides the address.
int alignmentOf(const void *p) {
  auto address = reinterpret_cast<uintptr_t>(p);
  int alignment = 1;
  while (alignment < 256 && address % (2 * alignment) == 0)
    alignment *= 2;
  return alignment;
}

} // namespace

struct CublasLtGemm::Plan {
  explicit Plan(const LtApi *api) : api(api) {}
  ~Plan() {
    if (c)
      api->cublasLtMatrixLayoutDestroy(c);
    if (b)
      api->cublasLtMatrixLayoutDestroy(b);
    if (a)
      api->cublasLtMatrixLayoutDestroy(a);
    if (op)
      api->cublasLtMatmulDescDestroy(op);
  }

  const LtApi *api;
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  LtMatmulAlgo algo = {};
};

absl::StatusOr<std::unique_ptr<CublasLtGemm>> CublasLtGemm::create() {
  absl::StatusOr<const LtApi *> api = ltApi();
  if (!api.ok())
    return api.status();
  cublasLtHandle_t handle = nullptr;
  if (cublasStatus_t r = (*api)->cublasLtCreate(&handle); r != 0)
    return absl::InternalError(
        absl::StrCat("cuda: cublasLtCreate failed: ", statusText(**api, r)));
  return std::unique_ptr<CublasLtGemm>(new CublasLtGemm(handle));
}

CublasLtGemm::CublasLtGemm(void *handle) : handle_(handle) {}

CublasLtGemm::~CublasLtGemm() {
  plans_.clear();
  if (absl::StatusOr<const LtApi *> api = ltApi(); api.ok() && handle_)
    (*api)->cublasLtDestroy(static_cast<cublasLtHandle_t>(handle_));
}

absl::Status CublasLtGemm::run(const GemmDesc &desc, const void *x,
                               const void *w, void *y, int64_t m, void *stream,
                               void *workspace, size_t workspaceBytes) {
  const int64_t n = desc.n, k = desc.k;
  auto where = [&] {
    return absl::StrCat("cuda: cuBLASLt GEMM y[", m, ", ", n, "] (",
                        std::string(dtypeName(desc.outDtype)), ") = x[", m,
                        ", ", k, "] * w[", n, ", ", k, "]^T (",
                        std::string(dtypeName(desc.dtype)), ")");
  };
  const int inType = ltDataType(desc.dtype),
            outType = ltDataType(desc.outDtype);
  if (inType < 0 || outType < 0)
    return absl::UnimplementedError(absl::StrCat(
        where(), ": library GEMMs take bf16 or f32 operands and results"));
  // cuBLASLt has no kernel for this pair with fp32 compute (its heuristic
  // answers CUBLAS_STATUS_NOT_SUPPORTED, seen on an H100 with CUDA 13).
  if (desc.dtype == DType::F32 && desc.outDtype == DType::BF16)
    return absl::UnimplementedError(absl::StrCat(
        where(), ": cuBLASLt cannot write a bf16 result from f32 operands; "
                 "the plan needs an f32 GEMM followed by a conversion"));
  if (m < 0 || n < 1 || k < 1)
    return absl::InvalidArgumentError(
        absl::StrCat(where(), ": sizes must be positive"));
  if (m == 0)
    return absl::OkStatus();

  absl::StatusOr<const LtApi *> loaded = ltApi();
  if (!loaded.ok())
    return loaded.status();
  const LtApi &api = **loaded;
  auto handle = static_cast<cublasLtHandle_t>(handle_);
  auto fail = [&](const char *call, cublasStatus_t r) {
    return absl::InternalError(
        absl::StrCat(where(), ": ", call, " failed: ", statusText(api, r)));
  };

  PlanKey key(static_cast<int>(desc.dtype), static_cast<int>(desc.outDtype),
              desc.f32Precision, m, n, k, alignmentOf(x), alignmentOf(w),
              alignmentOf(y), workspaceBytes);
  std::unique_ptr<Plan> &plan = plans_[key];
  if (!plan) {
    auto fresh = std::make_unique<Plan>(&api);
    cublasStatus_t r;
    if ((r = api.cublasLtMatmulDescCreate(&fresh->op, kComputeF32,
                                          kCudaR32F)) != 0) {
      plans_.erase(key);
      return fail("cublasLtMatmulDescCreate", r);
    }
    if ((r = api.cublasLtMatmulDescSetAttribute(fresh->op, kDescTransA, &kOpT,
                                                sizeof(kOpT))) != 0 ||
        (r = api.cublasLtMatmulDescSetAttribute(fresh->op, kDescTransB, &kOpN,
                                                sizeof(kOpN))) != 0) {
      plans_.erase(key);
      return fail("cublasLtMatmulDescSetAttribute", r);
    }
    if ((r = api.cublasLtMatrixLayoutCreate(&fresh->a, inType, k, n, k)) != 0 ||
        (r = api.cublasLtMatrixLayoutCreate(&fresh->b, inType, k, m, k)) != 0 ||
        (r = api.cublasLtMatrixLayoutCreate(&fresh->c, outType, n, m, n)) !=
            0) {
      plans_.erase(key);
      return fail("cublasLtMatrixLayoutCreate", r);
    }

    cublasLtMatmulPreference_t preference = nullptr;
    if ((r = api.cublasLtMatmulPreferenceCreate(&preference)) != 0) {
      plans_.erase(key);
      return fail("cublasLtMatmulPreferenceCreate", r);
    }
    uint64_t maxWorkspace = workspaceBytes;
    uint32_t alignA = static_cast<uint32_t>(std::get<7>(key)),
             alignB = static_cast<uint32_t>(std::get<6>(key)),
             alignC = static_cast<uint32_t>(std::get<8>(key));
    LtHeuristicResult result = {};
    int found = 0;
    if ((r = api.cublasLtMatmulPreferenceSetAttribute(
             preference, kPrefMaxWorkspaceBytes, &maxWorkspace,
             sizeof(maxWorkspace))) == 0 &&
        (r = api.cublasLtMatmulPreferenceSetAttribute(
             preference, kPrefMinAlignmentA, &alignA, sizeof(alignA))) == 0 &&
        (r = api.cublasLtMatmulPreferenceSetAttribute(
             preference, kPrefMinAlignmentB, &alignB, sizeof(alignB))) == 0 &&
        (r = api.cublasLtMatmulPreferenceSetAttribute(
             preference, kPrefMinAlignmentC, &alignC, sizeof(alignC))) == 0 &&
        (r = api.cublasLtMatmulPreferenceSetAttribute(
             preference, kPrefMinAlignmentD, &alignC, sizeof(alignC))) == 0)
      r = api.cublasLtMatmulAlgoGetHeuristic(handle, fresh->op, fresh->a,
                                             fresh->b, fresh->c, fresh->c,
                                             preference, 1, &result, &found);
    api.cublasLtMatmulPreferenceDestroy(preference);
    if (r != 0) {
      plans_.erase(key);
      return fail("choosing an algorithm (cublasLtMatmulAlgoGetHeuristic)", r);
    }
    if (found < 1 || result.state != 0) {
      plans_.erase(key);
      return absl::UnimplementedError(absl::StrCat(
          where(),
          ": cuBLASLt has no algorithm for these dtypes, shapes and "
          "operand alignments (x ",
          std::get<6>(key), ", w ", std::get<7>(key), ", y ", std::get<8>(key),
          " bytes) within a ", workspaceBytes, "-byte workspace"));
    }
    fresh->algo = result.algo;
    plan = std::move(fresh);
  }

  const float alpha = 1.0f, beta = 0.0f;
  if (cublasStatus_t r = api.cublasLtMatmul(
          handle, plan->op, &alpha, w, plan->a, x, plan->b, &beta, y, plan->c,
          y, plan->c, &plan->algo, workspace, workspaceBytes, stream);
      r != 0)
    return fail("cublasLtMatmul", r);
  return absl::OkStatus();
}

} // namespace hymir
