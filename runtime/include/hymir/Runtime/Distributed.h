//===- Distributed.h - one process per device: the job's ranks --*- C++ -*-===//
//
// A module compiled for n devices can run as n processes, one device each
// (the same artifact on every rank), as torchrun or mpirun start them:
//
//   auto group = hymir::processGroupFromEnvironment();   // RANK, ... or none
//   auto runtime = *group ? hymir::Runtime::create("cpu", **group)
//                         : hymir::Runtime::create("cpu");
//
// Rank 0 listens on MASTER_ADDR:MASTER_PORT and the other ranks connect to
// it (a TCP rendezvous). On cuda the ranks share NCCL's unique id through
// it; on cpu the collectives themselves travel over it. A peer that exits
// or stops answering ends every rank's collective with an error naming the
// peer within `timeoutSeconds`, never a hang.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_DISTRIBUTED_H
#define HYMIR_RUNTIME_DISTRIBUTED_H

#include "absl/status/statusor.h"

#include <map>
#include <optional>
#include <string>

namespace hymir {

/// This process's place in a job of several processes.
struct ProcessGroupSpec {
  int rank = 0;
  int worldSize = 1;
  /// The rank among the processes of this host: the cuda device it opens
  /// when the device is plain "cuda".
  int localRank = 0;
  /// Where rank 0 listens and the others connect.
  std::string masterAddr = "127.0.0.1";
  int masterPort = 0;
  /// Which variables the spec came from ("RANK/WORLD_SIZE (torchrun)", ...),
  /// for messages.
  std::string source = "explicit";
  /// How long the rendezvous waits for every rank to connect, and a
  /// collective for every peer (HYMIR_DIST_TIMEOUT, seconds).
  double timeoutSeconds = 300;
};

/// The spec from launcher variables in `env`: torchrun's RANK, WORLD_SIZE,
/// LOCAL_RANK, MASTER_ADDR, MASTER_PORT; Open MPI's OMPI_COMM_WORLD_RANK,
/// OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK; or PMI_RANK, PMI_SIZE
/// (MPICH, Intel MPI, Slurm). MPI launchers set no master: MASTER_ADDR
/// (default 127.0.0.1) and MASTER_PORT must be set alongside. Optional
/// HYMIR_DIST_TIMEOUT (seconds). No rank variable at all: nullopt (a
/// single-process run). A malformed or missing companion variable is an
/// InvalidArgument error naming it.
absl::StatusOr<std::optional<ProcessGroupSpec>>
processGroupFromEnvironment(const std::map<std::string, std::string> &env);
/// The same from this process's environment.
absl::StatusOr<std::optional<ProcessGroupSpec>> processGroupFromEnvironment();

} // namespace hymir

#endif // HYMIR_RUNTIME_DISTRIBUTED_H
