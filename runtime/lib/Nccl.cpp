//===- Nccl.cpp - collectives of cuda devices on NCCL ---------------------===//
//
// Collectives between the cuda drivers of one process run on NCCL
// (libnccl.so.2, loaded with dlopen on first use, so single-device users
// never need it): one communicator per device (ncclCommInitAll), and every
// collective is one NCCL group over the devices' streams. all_to_all reads
// every device's send offsets to the host first (its counts decide the
// sizes of the sends), then runs one group of ncclSend/ncclRecv. The few NCCL
// types and constants used are declared here (fixed by its ABI), so no NCCL
// headers are needed to build.
//
//===----------------------------------------------------------------------===//

#include "CudaDevice.h"

#include "hymir/Support/DynamicLibrary.h"

#include "absl/strings/str_cat.h"

namespace hymir {
namespace {

using NcclResult = int;
using NcclComm = struct ncclComm *;
constexpr int kNcclInt8 = 0, kNcclFloat32 = 7, kNcclBfloat16 = 9, kNcclSum = 0;

struct NcclApi {
  NcclResult (*ncclGetVersion)(int *);
  NcclResult (*ncclCommInitAll)(NcclComm *, int, const int *);
  NcclResult (*ncclCommDestroy)(NcclComm);
  NcclResult (*ncclGroupStart)();
  NcclResult (*ncclGroupEnd)();
  NcclResult (*ncclAllReduce)(const void *, void *, size_t, int, int, NcclComm,
                              CUstream);
  NcclResult (*ncclAllGather)(const void *, void *, size_t, int, NcclComm,
                              CUstream);
  NcclResult (*ncclReduceScatter)(const void *, void *, size_t, int, int,
                                  NcclComm, CUstream);
  NcclResult (*ncclSend)(const void *, size_t, int, int, NcclComm, CUstream);
  NcclResult (*ncclRecv)(void *, size_t, int, int, NcclComm, CUstream);
  const char *(*ncclGetErrorString)(NcclResult);
};

absl::StatusOr<const NcclApi *> ncclApi() {
  return loadApiOnce<NcclApi>([](NcclApi &api) -> absl::Status {
    DynamicLibrary library({"libnccl.so.2"});
    if (!library.isOpen())
      return absl::UnavailableError(absl::StrCat(
          "cuda: NCCL (libnccl.so.2) cannot be loaded (", library.openError(),
          "); multi-device modules need it: install NCCL or add its folder to "
          "LD_LIBRARY_PATH"));
    library.bind(api.ncclGetVersion, "ncclGetVersion");
    library.bind(api.ncclCommInitAll, "ncclCommInitAll");
    library.bind(api.ncclCommDestroy, "ncclCommDestroy");
    library.bind(api.ncclGroupStart, "ncclGroupStart");
    library.bind(api.ncclGroupEnd, "ncclGroupEnd");
    library.bind(api.ncclAllReduce, "ncclAllReduce");
    library.bind(api.ncclAllGather, "ncclAllGather");
    library.bind(api.ncclReduceScatter, "ncclReduceScatter");
    library.bind(api.ncclSend, "ncclSend");
    library.bind(api.ncclRecv, "ncclRecv");
    library.bind(api.ncclGetErrorString, "ncclGetErrorString");
    if (!library.missing().empty())
      return absl::UnavailableError(
          absl::StrCat("cuda: libnccl.so.2 has no ", library.missing()));
    return absl::OkStatus();
  });
}

/// One communicator per device of one process (ncclCommInitAll); every
/// collective is one NCCL group over the devices' streams, so it is ordered
/// with each device's kernels like any other step.
class NcclCollectives : public Collectives {
public:
  NcclCollectives(const NcclApi *api, std::vector<CudaDevice *> devices)
      : api_(api), devices_(std::move(devices)) {}
  ~NcclCollectives() override {
    for (NcclComm c : comms_)
      if (c)
        api_->ncclCommDestroy(c);
  }

  absl::Status check(NcclResult r, const std::string &what) const {
    if (r == 0)
      return absl::OkStatus();
    const char *text = api_->ncclGetErrorString(r);
    return absl::InternalError(
        absl::StrCat("nccl: ", what, " failed: ", text ? text : "unknown error",
                     " (", r, ")"));
  }

  absl::Status init() {
    std::vector<int> ordinals;
    for (CudaDevice *d : devices_)
      ordinals.push_back(d->ordinal());
    comms_.assign(devices_.size(), nullptr);
    return check(api_->ncclCommInitAll(comms_.data(),
                                       static_cast<int>(devices_.size()),
                                       ordinals.data()),
                 absl::StrCat("creating communicators for ", devices_.size(),
                              " devices"));
  }

  absl::Status allReduceSum(const std::vector<const void *> &src,
                            const std::vector<void *> &dst, size_t elements,
                            DType dtype) override {
    return group(src, dst, dtype, "all-reduce", [&](size_t d, int type) {
      return api_->ncclAllReduce(src[d], dst[d], elements, type, kNcclSum,
                                 comms_[d], devices_[d]->stream());
    });
  }

  /// NOT YET RUN ON A GPU.
  absl::Status reduceScatterSum(const std::vector<const void *> &src,
                                const std::vector<void *> &dst, size_t elements,
                                DType dtype) override {
    return group(src, dst, dtype, "reduce-scatter", [&](size_t d, int type) {
      return api_->ncclReduceScatter(src[d], dst[d], elements, type, kNcclSum,
                                     comms_[d], devices_[d]->stream());
    });
  }

  absl::Status allGather(const std::vector<const void *> &src,
                         const std::vector<void *> &dst, size_t elements,
                         DType dtype) override {
    return group(src, dst, dtype, "all-gather", [&](size_t d, int type) {
      return api_->ncclAllGather(src[d], dst[d], elements, type, comms_[d],
                                 devices_[d]->stream());
    });
  }

  /// NOT YET RUN ON A GPU. The counts come from the devices' send offsets,
  /// read to the host (which waits for each device's earlier work); the
  /// rows then move in one group of ncclSend/ncclRecv as bytes (a device's
  /// rows for itself by a device copy), and the receive offsets and the
  /// zeros past the received rows are written from the host.
  absl::Status allToAll(const std::vector<const void *> &src,
                        const std::vector<const void *> &srcOffsets,
                        const std::vector<void *> &dst,
                        const std::vector<void *> &dstOffsets, size_t rows,
                        size_t rowBytes) override {
    size_t n = devices_.size();
    if (src.size() != n || srcOffsets.size() != n || dst.size() != n ||
        dstOffsets.size() != n)
      return absl::InternalError(absl::StrCat(
          "nccl: all_to_all with buffers of ", src.size(), " devices for ", n));
    std::vector<std::vector<int32_t>> send(n, std::vector<int32_t>(n + 1));
    for (size_t e = 0; e < n; ++e) {
      if (absl::Status s = devices_[e]->copyToHost(
              send[e].data(), srcOffsets[e], (n + 1) * sizeof(int32_t));
          !s.ok())
        return s;
      for (size_t p = 0; p <= n; ++p) {
        int32_t o = send[e][p];
        if (o < 0 || static_cast<size_t>(o) > rows ||
            (p > 0 && o < send[e][p - 1]))
          return absl::OutOfRangeError(absl::StrCat(
              "all_to_all: device ", e, " sends by offsets that are not ",
              "non-decreasing in [0, ", rows, "] (entry ", p, " is ", o, ")"));
      }
    }
    // recv[d][e]: where device e's rows land on device d.
    std::vector<std::vector<int32_t>> recv(n, std::vector<int32_t>(n + 1));
    for (size_t d = 0; d < n; ++d) {
      size_t at = 0;
      for (size_t e = 0; e < n; ++e) {
        size_t count = static_cast<size_t>(send[e][d + 1] - send[e][d]);
        if (count > rows - at)
          return absl::OutOfRangeError(absl::StrCat(
              "all_to_all: device ", d, " receives more than its ", rows,
              " rows (", at, " so far, ", count, " more from device ", e, ")"));
        recv[d][e] = static_cast<int32_t>(at);
        at += count;
      }
      recv[d][n] = static_cast<int32_t>(at);
    }
    auto bytesAt = [&](const void *base, size_t row) {
      return static_cast<const uint8_t *>(base) + row * rowBytes;
    };
    for (size_t d = 0; d < n; ++d) {
      size_t self = static_cast<size_t>(send[d][d + 1] - send[d][d]);
      if (absl::Status s = devices_[d]->copyOnDevice(
              const_cast<uint8_t *>(bytesAt(dst[d], recv[d][d])),
              bytesAt(src[d], send[d][d]), self * rowBytes);
          !s.ok())
        return s;
    }
    for (CudaDevice *d : devices_)
      if (absl::Status s = d->use(); !s.ok())
        return s;
    if (absl::Status s = check(api_->ncclGroupStart(), "group start"); !s.ok())
      return s;
    absl::Status status;
    for (size_t d = 0; d < n && status.ok(); ++d) {
      status = devices_[d]->use();
      for (size_t p = 0; p < n && status.ok(); ++p) {
        if (p == d)
          continue;
        size_t out = static_cast<size_t>(send[d][p + 1] - send[d][p]);
        size_t in = static_cast<size_t>(send[p][d + 1] - send[p][d]);
        std::string where =
            absl::StrCat("all_to_all between devices ", devices_[d]->ordinal(),
                         " and ", devices_[p]->ordinal());
        if (out)
          status =
              check(api_->ncclSend(bytesAt(src[d], send[d][p]), out * rowBytes,
                                   kNcclInt8, static_cast<int>(p), comms_[d],
                                   devices_[d]->stream()),
                    where);
        if (status.ok() && in)
          status = check(
              api_->ncclRecv(const_cast<uint8_t *>(bytesAt(dst[d], recv[d][p])),
                             in * rowBytes, kNcclInt8, static_cast<int>(p),
                             comms_[d], devices_[d]->stream()),
              where);
      }
    }
    absl::Status end = check(api_->ncclGroupEnd(), "group end");
    if (!status.ok() || !end.ok())
      return status.ok() ? end : status;
    // The offsets and the zero tail are bytes no step in flight touches.
    for (size_t d = 0; d < n; ++d) {
      if (absl::Status s = devices_[d]->copyToDevice(
              dstOffsets[d], recv[d].data(), (n + 1) * sizeof(int32_t));
          !s.ok())
        return s;
      size_t tail = (rows - static_cast<size_t>(recv[d][n])) * rowBytes;
      std::vector<uint8_t> zeros(tail, 0);
      if (absl::Status s = devices_[d]->copyToDevice(
              const_cast<uint8_t *>(bytesAt(dst[d], recv[d][n])), zeros.data(),
              tail);
          !s.ok())
        return s;
    }
    return absl::OkStatus();
  }

private:
  template <typename Fn>
  absl::Status group(const std::vector<const void *> &src,
                     const std::vector<void *> &dst, DType dtype,
                     const char *what, Fn &&issue) {
    if (src.size() != devices_.size() || dst.size() != devices_.size())
      return absl::InternalError(absl::StrCat("nccl: ", what, " with ",
                                              src.size(), " buffers for ",
                                              devices_.size(), " devices"));
    int type;
    if (dtype == DType::F32)
      type = kNcclFloat32;
    else if (dtype == DType::BF16)
      type = kNcclBfloat16;
    else
      return absl::UnimplementedError(absl::StrCat(
          "nccl: ", what, " of ", std::string(dtypeName(dtype)), " tensors"));
    // Every device's context must be usable before any of them joins the
    // group (a one-sided collective would hang).
    for (CudaDevice *d : devices_)
      if (absl::Status s = d->use(); !s.ok())
        return s;
    if (absl::Status s = check(api_->ncclGroupStart(), "group start"); !s.ok())
      return s;
    absl::Status status;
    for (size_t d = 0; d < devices_.size() && status.ok(); ++d) {
      status = devices_[d]->use();
      if (status.ok())
        status = check(issue(d, type), absl::StrCat(what, " on device ",
                                                    devices_[d]->ordinal()));
    }
    absl::Status end = check(api_->ncclGroupEnd(), "group end");
    return status.ok() ? end : status;
  }

  const NcclApi *api_;
  std::vector<CudaDevice *> devices_;
  std::vector<NcclComm> comms_;
};

} // namespace

absl::StatusOr<std::unique_ptr<Collectives>>
createNcclCollectives(const std::vector<Driver *> &devices) {
  std::vector<CudaDevice *> cuda;
  for (Driver *d : devices) {
    auto *c = dynamic_cast<CudaDevice *>(d);
    if (!c)
      return absl::InvalidArgumentError("nccl: collectives need cuda devices");
    for (CudaDevice *other : cuda)
      if (other->ordinal() == c->ordinal())
        return absl::InvalidArgumentError(
            absl::StrCat("nccl: device ", c->ordinal(),
                         " is listed twice; each device of a group must be "
                         "distinct"));
    cuda.push_back(c);
  }
  absl::StatusOr<const NcclApi *> api = ncclApi();
  if (!api.ok())
    return api.status();
  auto collectives = std::make_unique<NcclCollectives>(*api, std::move(cuda));
  if (absl::Status s = collectives->init(); !s.ok())
    return s;
  return std::unique_ptr<Collectives>(std::move(collectives));
}

} // namespace hymir
