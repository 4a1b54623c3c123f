//===- Rendezvous.h - the ranks of a job over TCP ---------------*- C++ -*-===//
//
// A ProcessGroup is this process's link to the other ranks of its job: a
// star of TCP connections around rank 0, which listens on
// MASTER_ADDR:MASTER_PORT. Every exchange is a frame (a 32-byte header:
// magic, kind, sequence number, length; then the bytes), so a peer that
// runs a different plan, or another artifact, is found at its first
// exchange. Every wait has a deadline; a peer's EOF (it exited or was
// killed) fails the exchange at once, and rank 0 tells every other rank
// why before it closes, so each rank's error names the peer at fault.
//
// ProcessCollectives (createProcessCollectives) run the cpu driver's
// collectives over it: rank 0 gathers every rank's part, computes the
// result as the in-process simulated devices do (the same order of sums,
// so a job of n processes matches one process of n devices bit for bit)
// and sends each rank its result.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_LIB_RENDEZVOUS_H
#define HYMIR_RUNTIME_LIB_RENDEZVOUS_H

#include "Driver.h"

#include "hymir/Runtime/Distributed.h"

#include "absl/status/statusor.h"

#include "absl/strings/string_view.h"
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hymir {

class ProcessGroup {
public:
  /// Joins the job: rank 0 listens and waits for every other rank, the
  /// others connect (retrying until rank 0 listens); returns when all have
  /// joined, or fails naming the ranks missing after spec.timeoutSeconds.
  static absl::StatusOr<std::unique_ptr<ProcessGroup>>
  join(const ProcessGroupSpec &spec);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup &) = delete;
  ProcessGroup &operator=(const ProcessGroup &) = delete;

  int rank() const { return spec_.rank; }
  int size() const { return spec_.worldSize; }
  const ProcessGroupSpec &spec() const { return spec_; }

  /// Rank 0's `blob` on every rank (NCCL's unique id on cuda). `what` names
  /// the exchange in messages.
  absl::Status broadcast(std::vector<uint8_t> &blob, absl::string_view what);
  /// On rank 0, every rank's `mine` in rank order; elsewhere sends `mine`
  /// and returns nothing. Parts of different sizes are an error naming the
  /// rank when `sameSize`.
  absl::StatusOr<std::vector<std::vector<uint8_t>>>
  gather(std::vector<uint8_t> mine, absl::string_view what, bool sameSize);
  /// On rank 0 sends parts[r] to rank r and returns parts[0]; elsewhere
  /// returns what rank 0 sent (parts unused).
  absl::StatusOr<std::vector<uint8_t>>
  scatter(std::vector<std::vector<uint8_t>> parts, absl::string_view what);
  /// Whether every peer is still there, without waiting: a closed
  /// connection or an error a peer sent fails the group (naming the peer).
  /// For waits outside the group's exchanges (NCCL's collectives), when
  /// nothing else travels on the connections.
  absl::Status checkPeers(absl::string_view what);
  /// Ends the job with `reason`: rank 0 sends it to every peer, another
  /// rank to rank 0 (which passes it on). Every later exchange fails with
  /// it. Safe to call more than once.
  void fail(const absl::Status &reason);

private:
  explicit ProcessGroup(const ProcessGroupSpec &spec);
  /// Fails the group with `s` (when not OK) and returns it.
  absl::Status broken(absl::Status s);

  ProcessGroupSpec spec_;
  /// Rank 0: the socket of each rank (index 0 unused); elsewhere: [0] is
  /// the socket to rank 0.
  std::vector<int> sockets_;
  uint64_t sequence_ = 0;
  absl::Status failed_;
};

/// Collectives of one cpu device per process, over `group` (its size is the
/// device count; the vectors the Collectives methods take hold this
/// process's one device).
absl::StatusOr<std::unique_ptr<Collectives>>
createProcessCollectives(std::shared_ptr<ProcessGroup> group);

/// Collectives of one cuda device per process on NCCL (NcclRank.cpp): rank
/// 0's ncclGetUniqueId reaches every rank through `group`, then
/// ncclCommInitRank. Each collective is waited for with the group's
/// timeout while the group's connections are watched, so a peer that dies
/// or hangs aborts the communicator and fails the call, naming the peer.
absl::StatusOr<std::unique_ptr<Collectives>>
createNcclRankCollectives(std::shared_ptr<ProcessGroup> group, Driver *device);

} // namespace hymir

#endif // HYMIR_RUNTIME_LIB_RENDEZVOUS_H
