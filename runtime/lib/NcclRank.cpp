//===- NcclRank.cpp - one cuda device per process on NCCL -----------------===//
//
// The collectives of a rank of a job (Runtime::create with a group) on
// cuda: one communicator for this process's device, made from NCCL's
// unique id that rank 0 draws and the rendezvous carries to every rank
// (ncclCommInitRank). The communicator is non-blocking
// (NCCL_COMM_BLOCKING=0 unless the user set it), and after every
// collective the host waits for the device's stream with a deadline while
// it watches the communicator's asynchronous error and the rendezvous's
// connections: a peer that died, an NCCL error or the timeout aborts the
// communicator (ncclCommAbort, which also ends the kernels waiting for the
// peer) and fails the call on this rank; the rendezvous tells the others.
// The wait costs the overlap of a collective with the host's next launches;
// a later version may watch from a thread instead.
//
// NOT YET RUN ON A GPU (no GPU on the build machine). The few NCCL and
// CUDA declarations used are fixed by their ABIs.
//
//===----------------------------------------------------------------------===//

#include "CudaDevice.h"
#include "Rendezvous.h"

#include "hymir/Support/DynamicLibrary.h"

#include "absl/strings/str_cat.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace hymir {
namespace {

using NcclResult = int;
using NcclComm = struct ncclComm *;
struct NcclUniqueId {
  char internal[128];
};
constexpr NcclResult kNcclSuccess = 0, kNcclInProgress = 7;
constexpr int kNcclInt8 = 0, kNcclFloat32 = 7, kNcclBfloat16 = 9, kNcclSum = 0;
constexpr int kCudaSuccess = 0, kCudaNotReady = 600;

struct RankApi {
  NcclResult (*ncclGetUniqueId)(NcclUniqueId *);
  NcclResult (*ncclCommInitRank)(NcclComm *, int, NcclUniqueId, int);
  NcclResult (*ncclCommGetAsyncError)(NcclComm, NcclResult *);
  NcclResult (*ncclCommAbort)(NcclComm);
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
  int (*cuStreamQuery)(CUstream);
};

absl::StatusOr<const RankApi *> rankApi() {
  return loadApiOnce<RankApi>([](RankApi &api) -> absl::Status {
    DynamicLibrary nccl({"libnccl.so.2"});
    if (!nccl.isOpen())
      return absl::UnavailableError(absl::StrCat(
          "cuda: NCCL (libnccl.so.2) cannot be loaded (", nccl.openError(),
          "); a job of several processes on cuda needs it: install NCCL or "
          "add its folder to LD_LIBRARY_PATH"));
    nccl.bind(api.ncclGetUniqueId, "ncclGetUniqueId");
    nccl.bind(api.ncclCommInitRank, "ncclCommInitRank");
    nccl.bind(api.ncclCommGetAsyncError, "ncclCommGetAsyncError");
    nccl.bind(api.ncclCommAbort, "ncclCommAbort");
    nccl.bind(api.ncclCommDestroy, "ncclCommDestroy");
    nccl.bind(api.ncclGroupStart, "ncclGroupStart");
    nccl.bind(api.ncclGroupEnd, "ncclGroupEnd");
    nccl.bind(api.ncclAllReduce, "ncclAllReduce");
    nccl.bind(api.ncclAllGather, "ncclAllGather");
    nccl.bind(api.ncclReduceScatter, "ncclReduceScatter");
    nccl.bind(api.ncclSend, "ncclSend");
    nccl.bind(api.ncclRecv, "ncclRecv");
    nccl.bind(api.ncclGetErrorString, "ncclGetErrorString");
    if (!nccl.missing().empty())
      return absl::UnavailableError(
          absl::StrCat("cuda: libnccl.so.2 has no ", nccl.missing()));
    DynamicLibrary cuda({"libcuda.so.1", "libcuda.so"});
    cuda.bind(api.cuStreamQuery, "cuStreamQuery");
    if (!cuda.missing().empty())
      return absl::UnavailableError("cuda: libcuda has no cuStreamQuery");
    return absl::OkStatus();
  });
}

class NcclRankCollectives : public Collectives {
public:
  NcclRankCollectives(const RankApi *api, std::shared_ptr<ProcessGroup> group,
                      CudaDevice *device)
      : api_(api), group_(std::move(group)), device_(device) {}
  ~NcclRankCollectives() override {
    if (comm_)
      (aborted_ ? api_->ncclCommAbort : api_->ncclCommDestroy)(comm_);
  }

  absl::Status init() {
    if (!std::getenv("NCCL_COMM_BLOCKING"))
      ::setenv("NCCL_COMM_BLOCKING", "0", 0);
    NcclUniqueId id{};
    std::vector<uint8_t> blob(sizeof id);
    if (group_->rank() == 0) {
      if (absl::Status s = check(api_->ncclGetUniqueId(&id), "ncclGetUniqueId");
          !s.ok()) {
        group_->fail(s);
        return s;
      }
      std::memcpy(blob.data(), &id, sizeof id);
    }
    if (absl::Status s = group_->broadcast(blob, "NCCL's unique id"); !s.ok())
      return s;
    if (blob.size() != sizeof id)
      return fail(absl::DataLossError(
          absl::StrCat("NCCL's unique id from rank 0 has ", blob.size(),
                       " bytes, not ", sizeof id)));
    std::memcpy(&id, blob.data(), sizeof id);
    if (absl::Status s = device_->use(); !s.ok())
      return fail(s);
    NcclResult r =
        api_->ncclCommInitRank(&comm_, group_->size(), id, group_->rank());
    if (r != kNcclSuccess && r != kNcclInProgress)
      return fail(check(r, "ncclCommInitRank"));
    return waitComm("creating the communicator");
  }

  absl::Status allReduceSum(const std::vector<const void *> &src,
                            const std::vector<void *> &dst, size_t elements,
                            DType dtype) override {
    return collective(src, dst, dtype, "all_reduce", [&](int type) {
      return api_->ncclAllReduce(src[0], dst[0], elements, type, kNcclSum,
                                 comm_, device_->stream());
    });
  }

  /// NOT YET RUN ON A GPU.
  absl::Status reduceScatterSum(const std::vector<const void *> &src,
                                const std::vector<void *> &dst, size_t elements,
                                DType dtype) override {
    return collective(src, dst, dtype, "reduce_scatter", [&](int type) {
      return api_->ncclReduceScatter(src[0], dst[0], elements, type, kNcclSum,
                                     comm_, device_->stream());
    });
  }

  absl::Status allGather(const std::vector<const void *> &src,
                         const std::vector<void *> &dst, size_t elements,
                         DType dtype) override {
    return collective(src, dst, dtype, "all_gather", [&](int type) {
      return api_->ncclAllGather(src[0], dst[0], elements, type, comm_,
                                 device_->stream());
    });
  }

  /// Each rank knows only its own send offsets, so the counts travel
  /// first: an all_gather of every rank's n + 1 offsets (as int8 bytes),
  /// then one group of sends and receives of rows.
  absl::Status allToAll(const std::vector<const void *> &src,
                        const std::vector<const void *> &srcOffsets,
                        const std::vector<void *> &dst,
                        const std::vector<void *> &dstOffsets, size_t rows,
                        size_t rowBytes) override {
    const size_t n = static_cast<size_t>(group_->size());
    const size_t me = static_cast<size_t>(group_->rank());
    if (src.size() != 1 || dst.size() != 1 || srcOffsets.size() != 1 ||
        dstOffsets.size() != 1)
      return fail(absl::InternalError("nccl: all_to_all of a rank with "
                                      "buffers of several devices"));
    const size_t offsetBytes = (n + 1) * sizeof(int32_t);
    absl::StatusOr<std::unique_ptr<DeviceBuffer>> all =
        device_->allocate(offsetBytes * n);
    if (!all.ok())
      return fail(all.status());
    if (absl::Status s = collective(
            {srcOffsets[0]}, {(*all)->data()}, DType::U8, "all_to_all counts",
            [&](int) {
              return api_->ncclAllGather(srcOffsets[0], (*all)->data(),
                                         offsetBytes, kNcclInt8, comm_,
                                         device_->stream());
            });
        !s.ok())
      return s;
    std::vector<int32_t> send(n * (n + 1));
    if (absl::Status s =
            device_->copyToHost(send.data(), (*all)->data(), offsetBytes * n);
        !s.ok())
      return fail(s);
    auto off = [&](size_t rank, size_t p) { return send[rank * (n + 1) + p]; };
    for (size_t e = 0; e < n; ++e)
      for (size_t p = 0; p <= n; ++p)
        if (off(e, p) < 0 || static_cast<size_t>(off(e, p)) > rows ||
            (p > 0 && off(e, p) < off(e, p - 1)))
          return fail(absl::OutOfRangeError(absl::StrCat(
              "all_to_all: rank ", e, " sends by offsets that are not ",
              "non-decreasing in [0, ", rows, "] (entry ", p, " is ", off(e, p),
              ")")));
    std::vector<int32_t> recv(n + 1);
    size_t at = 0;
    for (size_t e = 0; e < n; ++e) {
      size_t count = static_cast<size_t>(off(e, me + 1) - off(e, me));
      if (count > rows - at)
        return fail(absl::OutOfRangeError(absl::StrCat(
            "all_to_all: rank ", me, " receives more than its ", rows,
            " rows (", at, " so far, ", count, " more from rank ", e, ")")));
      recv[e] = static_cast<int32_t>(at);
      at += count;
    }
    recv[n] = static_cast<int32_t>(at);
    auto bytesAt = [&](const void *base, size_t row) {
      return const_cast<uint8_t *>(static_cast<const uint8_t *>(base)) +
             row * rowBytes;
    };
    if (absl::Status s = device_->copyOnDevice(
            bytesAt(dst[0], recv[me]), bytesAt(src[0], off(me, me)),
            static_cast<size_t>(off(me, me + 1) - off(me, me)) * rowBytes);
        !s.ok())
      return fail(s);
    if (absl::Status s = collective(
            src, dst, DType::U8, "all_to_all",
            [&](int) {
              NcclResult r = kNcclSuccess;
              for (size_t p = 0; p < n && r == kNcclSuccess; ++p) {
                if (p == me)
                  continue;
                size_t out = static_cast<size_t>(off(me, p + 1) - off(me, p));
                size_t in = static_cast<size_t>(off(p, me + 1) - off(p, me));
                if (out)
                  r = api_->ncclSend(
                      bytesAt(src[0], off(me, p)), out * rowBytes, kNcclInt8,
                      static_cast<int>(p), comm_, device_->stream());
                if ((r == kNcclSuccess || r == kNcclInProgress) && in)
                  r = api_->ncclRecv(bytesAt(dst[0], recv[p]), in * rowBytes,
                                     kNcclInt8, static_cast<int>(p), comm_,
                                     device_->stream());
                if (r == kNcclInProgress)
                  r = kNcclSuccess;
              }
              return r;
            });
        !s.ok())
      return s;
    if (absl::Status s =
            device_->copyToDevice(dstOffsets[0], recv.data(), offsetBytes);
        !s.ok())
      return fail(s);
    std::vector<uint8_t> zeros((rows - at) * rowBytes, 0);
    if (absl::Status s = device_->copyToDevice(bytesAt(dst[0], at),
                                               zeros.data(), zeros.size());
        !s.ok())
      return fail(s);
    return absl::OkStatus();
  }

private:
  absl::Status check(NcclResult r, const std::string &what) const {
    if (r == kNcclSuccess)
      return absl::OkStatus();
    const char *text = api_->ncclGetErrorString(r);
    return absl::InternalError(
        absl::StrCat("nccl: ", what, " failed on rank ", group_->rank(), ": ",
                     text ? text : "unknown error", " (", r, ")"));
  }

  /// Aborts the communicator and ends the job with `s`.
  absl::Status fail(absl::Status s) {
    if (comm_ && !aborted_) {
      aborted_ = true;
      api_->ncclCommAbort(comm_);
      comm_ = nullptr;
    }
    group_->fail(s);
    return s;
  }

  /// Waits until `done` says the work is over, polling the communicator's
  /// error and the peers, up to the group's timeout.
  template <typename Done>
  absl::Status waitFor(const std::string &what, Done &&done) {
    auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(group_->spec().timeoutSeconds));
    for (int spin = 0;; ++spin) {
      NcclResult async = kNcclSuccess;
      if (comm_)
        api_->ncclCommGetAsyncError(comm_, &async);
      if (async != kNcclSuccess && async != kNcclInProgress)
        return fail(check(async, what));
      absl::StatusOr<bool> finished = done(async);
      if (!finished.ok())
        return fail(finished.status());
      if (*finished)
        return absl::OkStatus();
      if (absl::Status s = group_->checkPeers(what); !s.ok())
        return fail(s);
      if (std::chrono::steady_clock::now() > deadline)
        return fail(absl::DeadlineExceededError(absl::StrCat(
            "nccl: ", what, " on rank ", group_->rank(),
            " did not finish within ", group_->spec().timeoutSeconds,
            " s (HYMIR_DIST_TIMEOUT): a peer is missing or stuck")));
      if (spin > 100)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  absl::Status waitComm(const std::string &what) {
    return waitFor(what, [](NcclResult async) -> absl::StatusOr<bool> {
      return async != kNcclInProgress;
    });
  }

  template <typename Issue>
  absl::Status collective(const std::vector<const void *> &src,
                          const std::vector<void *> &dst, DType dtype,
                          const char *what, Issue &&issue) {
    if (src.size() != 1 || dst.size() != 1)
      return fail(absl::InternalError(
          absl::StrCat("nccl: ", what, " with buffers of ", src.size(),
                       " devices on a rank of one")));
    if (!comm_)
      return fail(absl::FailedPreconditionError(
          absl::StrCat("nccl: ", what, ": the communicator was aborted")));
    int type = kNcclInt8;
    if (dtype == DType::F32)
      type = kNcclFloat32;
    else if (dtype == DType::BF16)
      type = kNcclBfloat16;
    else if (dtype != DType::U8)
      return fail(absl::UnimplementedError(absl::StrCat(
          "nccl: ", what, " of ", std::string(dtypeName(dtype)), " tensors")));
    if (absl::Status s = device_->use(); !s.ok())
      return fail(s);
    NcclResult r = api_->ncclGroupStart();
    if (r == kNcclSuccess || r == kNcclInProgress)
      r = issue(type);
    NcclResult end = api_->ncclGroupEnd();
    if (r != kNcclSuccess && r != kNcclInProgress)
      return fail(check(r, what));
    if (end != kNcclSuccess && end != kNcclInProgress)
      return fail(check(end, what));
    std::string name = absl::StrCat(what, " on rank ", group_->rank());
    if (absl::Status s = waitComm(name); !s.ok())
      return s;
    // The collective's kernels: done when the stream is idle.
    return waitFor(name, [&](NcclResult) -> absl::StatusOr<bool> {
      int q = api_->cuStreamQuery(device_->stream());
      if (q == kCudaSuccess)
        return true;
      if (q == kCudaNotReady)
        return false;
      return absl::InternalError(absl::StrCat(
          "cuda: ", name, ": the stream failed (CUresult ", q, ")"));
    });
  }

  const RankApi *api_;
  std::shared_ptr<ProcessGroup> group_;
  CudaDevice *device_;
  NcclComm comm_ = nullptr;
  bool aborted_ = false;
};

} // namespace

absl::StatusOr<std::unique_ptr<Collectives>>
createNcclRankCollectives(std::shared_ptr<ProcessGroup> group, Driver *device) {
  auto *cuda = dynamic_cast<CudaDevice *>(device);
  if (!cuda)
    return absl::InvalidArgumentError("nccl: collectives need a cuda device");
  absl::StatusOr<const RankApi *> api = rankApi();
  if (!api.ok()) {
    group->fail(api.status());
    return api.status();
  }
  auto collectives =
      std::make_unique<NcclRankCollectives>(*api, std::move(group), cuda);
  if (absl::Status s = collectives->init(); !s.ok())
    return s;
  return std::unique_ptr<Collectives>(std::move(collectives));
}

} // namespace hymir
