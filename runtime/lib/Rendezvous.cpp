//===- Rendezvous.cpp - launcher variables, the TCP group, collectives ----===//
//
// See Rendezvous.h and hymir/Runtime/Distributed.h. Sockets are
// non-blocking and every read or write waits in poll() with a deadline, so
// nothing here can block longer than the group's timeout.
//
//===----------------------------------------------------------------------===//

#include "Rendezvous.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace hymir {

//===----------------------------------------------------------------------===//
// Launcher variables
//===----------------------------------------------------------------------===//

absl::StatusOr<std::optional<ProcessGroupSpec>>
processGroupFromEnvironment(const std::map<std::string, std::string> &env) {
  auto get = [&](const char *name) -> const std::string * {
    auto it = env.find(name);
    return it == env.end() ? nullptr : &it->second;
  };
  // The launcher: torchrun, Open MPI, then PMI (MPICH, Intel MPI, Slurm).
  struct Launcher {
    const char *rank, *size, *localRank, *name;
  };
  static const Launcher kLaunchers[] = {
      {"RANK", "WORLD_SIZE", "LOCAL_RANK", "torchrun"},
      {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
       "OMPI_COMM_WORLD_LOCAL_RANK", "Open MPI"},
      {"PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "PMI"}};
  const Launcher *launcher = nullptr;
  for (const Launcher &l : kLaunchers)
    if (get(l.rank)) {
      launcher = &l;
      break;
    }
  if (!launcher)
    return std::nullopt;
  auto integer = [&](const char *name, const std::string &text, int low,
                     int high, int &out) -> absl::Status {
    if (!absl::SimpleAtoi(text, &out) || out < low || out > high)
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", name, "='", text,
                       "' must be an integer in [", low, ", ", high, "] (",
                       launcher->name, " job)"));
    return absl::OkStatus();
  };
  ProcessGroupSpec spec;
  spec.source = absl::StrCat(launcher->rank, "/", launcher->size, " (",
                             launcher->name, ")");
  const std::string *size = get(launcher->size);
  if (!size)
    return absl::InvalidArgumentError(absl::StrCat(
        launcher->rank, " is set but ", launcher->size, " is not: a ",
        launcher->name, " job needs both (rank and number of ranks)"));
  if (absl::Status s =
          integer(launcher->size, *size, 1, 1 << 20, spec.worldSize);
      !s.ok())
    return s;
  if (absl::Status s = integer(launcher->rank, *get(launcher->rank), 0,
                               spec.worldSize - 1, spec.rank);
      !s.ok())
    return s;
  spec.localRank = spec.rank;
  if (const std::string *local = get(launcher->localRank))
    if (absl::Status s = integer(launcher->localRank, *local, 0,
                                 spec.worldSize - 1, spec.localRank);
        !s.ok())
      return s;
  if (const std::string *addr = get("MASTER_ADDR")) {
    if (addr->empty())
      return absl::InvalidArgumentError(
          "environment variable MASTER_ADDR is empty: set it to rank 0's "
          "host name or address");
    spec.masterAddr = *addr;
  }
  const std::string *port = get("MASTER_PORT");
  if (!port)
    return absl::InvalidArgumentError(absl::StrCat(
        "a ", launcher->name, " job (", launcher->rank,
        " is set) needs MASTER_PORT: the port rank 0 listens on for the "
        "other ranks (and MASTER_ADDR, default 127.0.0.1, its address)"));
  if (absl::Status s = integer("MASTER_PORT", *port, 1, 65535, spec.masterPort);
      !s.ok())
    return s;
  if (const std::string *t = get("HYMIR_DIST_TIMEOUT")) {
    double seconds = 0;
    if (!absl::SimpleAtod(*t, &seconds) || !(seconds > 0) ||
        !std::isfinite(seconds))
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable HYMIR_DIST_TIMEOUT='", *t,
                       "' must be a positive number of seconds"));
    spec.timeoutSeconds = seconds;
  }
  return spec;
}

absl::StatusOr<std::optional<ProcessGroupSpec>> processGroupFromEnvironment() {
  std::map<std::string, std::string> env;
  for (char **e = environ; e && *e; ++e) {
    const char *eq = std::strchr(*e, '=');
    if (eq)
      env.emplace(std::string(*e, static_cast<size_t>(eq - *e)),
                  std::string(eq + 1));
  }
  return processGroupFromEnvironment(env);
}

//===----------------------------------------------------------------------===//
// Frames over non-blocking sockets
//===----------------------------------------------------------------------===//

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kMagic = 0x444d5948; // "HYMD"
constexpr uint64_t kMaxPayload = uint64_t(1) << 40;
/// How much longer than rank 0 the other ranks wait for it, so that rank
/// 0's verdict (naming the peer at fault) reaches them before their own
/// deadline passes.
constexpr double kGraceSeconds = 5;

enum class Kind : uint32_t { Hello = 1, Welcome = 2, Data = 3, Error = 4 };

struct Header {
  uint32_t magic;
  uint32_t kind;
  uint64_t sender;
  uint64_t sequence;
  uint64_t length;
};
static_assert(sizeof(Header) == 32, "the frame header is 32 bytes");

Clock::time_point after(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(seconds));
}

int msUntil(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - Clock::now())
                  .count();
  return left < 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1 << 30));
}

std::string seconds(double s) { return absl::StrCat(s, " s"); }

/// Why an exchange with one peer stopped.
enum class Io { Ok, Eof, Timeout, Error };

struct IoResult {
  Io io = Io::Ok;
  int err = 0;
};

IoResult writeAll(int fd, const void *data, size_t bytes,
                  Clock::time_point deadline) {
  const uint8_t *p = static_cast<const uint8_t *>(data);
  while (bytes) {
    ssize_t n = ::send(fd, p, bytes, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      bytes -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      return {errno == EPIPE || errno == ECONNRESET ? Io::Eof : Io::Error,
              errno};
    pollfd pfd{fd, POLLOUT, 0};
    int r = ::poll(&pfd, 1, msUntil(deadline));
    if (r == 0)
      return {Io::Timeout, 0};
    if (r < 0 && errno != EINTR)
      return {Io::Error, errno};
  }
  return {};
}

IoResult sendFrame(int fd, Kind kind, int sender, uint64_t sequence,
                   const void *payload, size_t bytes,
                   Clock::time_point deadline) {
  Header h{kMagic, static_cast<uint32_t>(kind), static_cast<uint64_t>(sender),
           sequence, bytes};
  IoResult r = writeAll(fd, &h, sizeof h, deadline);
  if (r.io == Io::Ok && bytes)
    r = writeAll(fd, payload, bytes, deadline);
  return r;
}

/// A frame being read from one socket, a piece at a time as bytes arrive.
struct FrameReader {
  Header header{};
  size_t headerGot = 0;
  std::vector<uint8_t> payload;
  size_t payloadGot = 0;
  bool done = false;
  bool bad = false; // not a frame (wrong magic or an absurd length)

  /// Reads what is available; Ok also while the frame is incomplete.
  IoResult pump(int fd) {
    while (!done) {
      uint8_t *to;
      size_t want;
      if (headerGot < sizeof header) {
        to = reinterpret_cast<uint8_t *>(&header) + headerGot;
        want = sizeof header - headerGot;
      } else {
        to = payload.data() + payloadGot;
        want = payload.size() - payloadGot;
      }
      ssize_t n = want ? ::recv(fd, to, want, 0) : 0;
      if (want && n == 0)
        return {Io::Eof, 0};
      if (n < 0) {
        if (errno == EINTR)
          continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
          return {};
        return {errno == ECONNRESET ? Io::Eof : Io::Error, errno};
      }
      if (headerGot < sizeof header) {
        headerGot += static_cast<size_t>(n);
        if (headerGot == sizeof header) {
          if (header.magic != kMagic || header.length > kMaxPayload) {
            bad = true;
            done = true;
            return {};
          }
          payload.resize(header.length);
        }
      } else {
        payloadGot += static_cast<size_t>(n);
      }
      done = headerGot == sizeof header && payloadGot == payload.size();
    }
    return {};
  }
};

IoResult recvFrame(int fd, FrameReader &frame, Clock::time_point deadline) {
  while (true) {
    IoResult r = frame.pump(fd);
    if (r.io != Io::Ok || frame.done)
      return r;
    pollfd pfd{fd, POLLIN, 0};
    int p = ::poll(&pfd, 1, msUntil(deadline));
    if (p == 0)
      return {Io::Timeout, 0};
    if (p < 0 && errno != EINTR)
      return {Io::Error, errno};
  }
}

/// The status for an exchange with `peer` that stopped with `r`.
absl::Status ioError(const IoResult &r, int peer, absl::string_view what,
                     double timeout) {
  switch (r.io) {
  case Io::Eof:
    return absl::UnavailableError(
        absl::StrCat("rank ", peer, " closed its connection during ", what,
                     " (it exited or was killed)"));
  case Io::Timeout:
    return absl::DeadlineExceededError(
        absl::StrCat("rank ", peer, " did not take part in ", what, " within ",
                     seconds(timeout), " (HYMIR_DIST_TIMEOUT)"));
  default:
    return absl::UnavailableError(absl::StrCat("the connection to rank ", peer,
                                               " failed during ", what, ": ",
                                               std::strerror(r.err)));
  }
}

void setNonBlocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string endpoint(const ProcessGroupSpec &spec) {
  return absl::StrCat(spec.masterAddr, ":", spec.masterPort);
}

} // namespace

//===----------------------------------------------------------------------===//
// ProcessGroup
//===----------------------------------------------------------------------===//

ProcessGroup::ProcessGroup(const ProcessGroupSpec &spec) : spec_(spec) {}

ProcessGroup::~ProcessGroup() {
  for (int fd : sockets_)
    if (fd >= 0)
      ::close(fd);
}

absl::StatusOr<std::unique_ptr<ProcessGroup>>
ProcessGroup::join(const ProcessGroupSpec &spec) {
  if (spec.worldSize < 1 || spec.rank < 0 || spec.rank >= spec.worldSize)
    return absl::InvalidArgumentError(absl::StrCat(
        "rank ", spec.rank, " of ", spec.worldSize, " is not a rank of a job"));
  std::unique_ptr<ProcessGroup> group(new ProcessGroup(spec));
  const int n = spec.worldSize;
  const std::string at = endpoint(spec);
  if (n == 1)
    return group;
  if (spec.rank == 0) {
    group->sockets_.assign(n, -1);
    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0)
      return absl::UnavailableError(
          absl::StrCat("rank 0: socket: ", std::strerror(errno)));
    int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(static_cast<uint16_t>(spec.masterPort));
    if (::bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof addr) !=
            0 ||
        ::listen(listener, n) != 0) {
      int err = errno;
      ::close(listener);
      return absl::UnavailableError(
          absl::StrCat("rank 0 cannot listen on port ", spec.masterPort,
                       " (MASTER_PORT): ", std::strerror(err)));
    }
    setNonBlocking(listener);
    Clock::time_point deadline = after(spec.timeoutSeconds);
    int joined = 1;
    absl::Status status;
    while (joined < n && status.ok()) {
      pollfd pfd{listener, POLLIN, 0};
      int p = ::poll(&pfd, 1, msUntil(deadline));
      if (p == 0) {
        std::vector<int> missing;
        for (int r = 1; r < n; ++r)
          if (group->sockets_[r] < 0)
            missing.push_back(r);
        status = absl::DeadlineExceededError(absl::StrCat(
            "rendezvous on ", at, ": rank", missing.size() > 1 ? "s " : " ",
            absl::StrJoin(missing, ", "), " of ", n, " did not connect within ",
            seconds(spec.timeoutSeconds), " (HYMIR_DIST_TIMEOUT)"));
        break;
      }
      int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      setNonBlocking(fd);
      FrameReader hello;
      IoResult r = recvFrame(fd, hello, deadline);
      uint64_t words[2] = {0, 0};
      if (r.io != Io::Ok || hello.bad ||
          hello.header.kind != static_cast<uint32_t>(Kind::Hello) ||
          hello.payload.size() != sizeof words) {
        ::close(fd); // not a rank of this job (or it gave up): ignored
        continue;
      }
      std::memcpy(words, hello.payload.data(), sizeof words);
      std::string problem;
      if (words[1] != static_cast<uint64_t>(n))
        problem = absl::StrCat("rank ", words[0], " joined a job of ", words[1],
                               " ranks, rank 0's has ", n,
                               ": the ranks disagree on WORLD_SIZE");
      else if (words[0] < 1 || words[0] >= static_cast<uint64_t>(n))
        problem = absl::StrCat("a process joined as rank ", words[0],
                               ", outside 1..", n - 1);
      else if (group->sockets_[words[0]] >= 0)
        problem = absl::StrCat("two processes joined as rank ", words[0]);
      if (!problem.empty()) {
        status = absl::FailedPreconditionError(
            absl::StrCat("rendezvous on ", at, ": ", problem));
        sendFrame(fd, Kind::Error, 0, 0, problem.data(), problem.size(),
                  after(1));
        ::close(fd);
        break;
      }
      group->sockets_[words[0]] = fd;
      ++joined;
    }
    ::close(listener);
    if (!status.ok()) {
      group->fail(status);
      return status;
    }
    for (int r = 1; r < n; ++r) {
      IoResult w = sendFrame(group->sockets_[r], Kind::Welcome, 0, 0, nullptr,
                             0, deadline);
      if (w.io != Io::Ok)
        return group->broken(
            ioError(w, r, "the rendezvous", spec.timeoutSeconds));
    }
    return group;
  }

  // Another rank: connect to rank 0, retrying until it listens.
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  std::string port = std::to_string(spec.masterPort);
  if (int e =
          ::getaddrinfo(spec.masterAddr.c_str(), port.c_str(), &hints, &found);
      e != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", spec.rank, ": MASTER_ADDR '", spec.masterAddr,
                     "' does not resolve: ", gai_strerror(e)));
  Clock::time_point deadline = after(spec.timeoutSeconds);
  int fd = -1, lastErr = 0;
  while (fd < 0) {
    int s = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC,
                     found->ai_protocol);
    if (s < 0) {
      lastErr = errno;
      break;
    }
    setNonBlocking(s);
    int c = ::connect(s, found->ai_addr, found->ai_addrlen);
    if (c != 0 && errno == EINPROGRESS) {
      pollfd pfd{s, POLLOUT, 0};
      if (::poll(&pfd, 1, std::min(msUntil(deadline), 1000)) == 1) {
        socklen_t len = sizeof lastErr;
        ::getsockopt(s, SOL_SOCKET, SO_ERROR, &lastErr, &len);
        c = lastErr == 0 ? 0 : -1;
      } else {
        lastErr = ETIMEDOUT;
      }
    } else if (c != 0) {
      lastErr = errno;
    }
    if (c == 0) {
      fd = s;
      break;
    }
    ::close(s);
    if (msUntil(deadline) == 0)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::freeaddrinfo(found);
  if (fd < 0)
    return absl::UnavailableError(absl::StrCat(
        "rank ", spec.rank, " could not connect to rank 0 at ", at,
        " (MASTER_ADDR:MASTER_PORT) within ", seconds(spec.timeoutSeconds),
        ": ", std::strerror(lastErr)));
  group->sockets_.assign(1, fd);
  uint64_t words[2] = {static_cast<uint64_t>(spec.rank),
                       static_cast<uint64_t>(n)};
  Clock::time_point answer = after(spec.timeoutSeconds + kGraceSeconds);
  IoResult w =
      sendFrame(fd, Kind::Hello, spec.rank, 0, words, sizeof words, answer);
  FrameReader welcome;
  if (w.io == Io::Ok)
    w = recvFrame(fd, welcome, answer);
  if (w.io != Io::Ok)
    return group->broken(
        ioError(w, 0, "the rendezvous", spec.timeoutSeconds + kGraceSeconds));
  if (welcome.bad ||
      welcome.header.kind != static_cast<uint32_t>(Kind::Welcome))
    return group->broken(absl::FailedPreconditionError(absl::StrCat(
        "rendezvous on ", at, ": rank 0 refused rank ", spec.rank, ": ",
        std::string(welcome.payload.begin(), welcome.payload.end()))));
  return group;
}

void ProcessGroup::fail(const absl::Status &reason) {
  if (!failed_.ok())
    return;
  failed_ = reason.ok() ? absl::InternalError("the job ended") : reason;
  std::string text(failed_.message());
  for (int fd : sockets_)
    if (fd >= 0) {
      sendFrame(fd, Kind::Error, spec_.rank, sequence_, text.data(),
                text.size(), after(1));
      ::shutdown(fd, SHUT_WR);
    }
  // Closing a socket with unread bytes (a peer's part of the exchange)
  // resets the connection, and the reset discards the error frame the peer
  // has not read yet: what the peers send is read and dropped until they
  // close (having read the error), or for 2 s at most.
  Clock::time_point deadline = after(2);
  while (true) {
    std::vector<pollfd> fds;
    for (int fd : sockets_)
      if (fd >= 0)
        fds.push_back({fd, POLLIN, 0});
    if (fds.empty() || ::poll(fds.data(), fds.size(), msUntil(deadline)) <= 0)
      break;
    for (pollfd &p : fds) {
      if (!p.revents)
        continue;
      char sink[4096];
      ssize_t n = ::recv(p.fd, sink, sizeof sink, 0);
      if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN)))
        continue;
      for (int &fd : sockets_)
        if (fd == p.fd) {
          ::close(fd);
          fd = -1;
        }
    }
  }
  for (int &fd : sockets_)
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
}

absl::Status ProcessGroup::broken(absl::Status s) {
  if (!s.ok())
    fail(s);
  return s;
}

absl::StatusOr<std::vector<std::vector<uint8_t>>>
ProcessGroup::gather(std::vector<uint8_t> mine, absl::string_view what,
                     bool sameSize) {
  if (!failed_.ok())
    return failed_;
  const uint64_t seq = ++sequence_;
  const std::string name(what);
  const int n = size();
  if (rank() != 0) {
    IoResult w =
        sendFrame(sockets_[0], Kind::Data, rank(), seq, mine.data(),
                  mine.size(), after(spec_.timeoutSeconds + kGraceSeconds));
    if (w.io != Io::Ok)
      return broken(ioError(w, 0, name, spec_.timeoutSeconds + kGraceSeconds));
    return std::vector<std::vector<uint8_t>>();
  }
  // Rank 0 reads every peer at once, so the first to fail is found at once
  // whichever rank is still computing.
  std::vector<std::vector<uint8_t>> parts(n);
  parts[0] = std::move(mine);
  std::vector<FrameReader> frames(n);
  int pending = n - 1;
  Clock::time_point deadline = after(spec_.timeoutSeconds);
  while (pending > 0) {
    std::vector<pollfd> fds;
    std::vector<int> ranks;
    for (int r = 1; r < n; ++r)
      if (!frames[r].done) {
        fds.push_back({sockets_[r], POLLIN, 0});
        ranks.push_back(r);
      }
    int p = ::poll(fds.data(), fds.size(), msUntil(deadline));
    if (p == 0)
      return broken(
          ioError({Io::Timeout, 0}, ranks[0], name, spec_.timeoutSeconds));
    if (p < 0) {
      if (errno == EINTR)
        continue;
      return broken(absl::InternalError(
          absl::StrCat(name, ": poll: ", std::strerror(errno))));
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!fds[i].revents)
        continue;
      int r = ranks[i];
      FrameReader &f = frames[r];
      IoResult io = f.pump(sockets_[r]);
      if (io.io != Io::Ok)
        return broken(ioError(io, r, name, spec_.timeoutSeconds));
      if (!f.done)
        continue;
      --pending;
      if (f.bad)
        return broken(absl::DataLossError(absl::StrCat(
            "rank ", r, " sent something that is not a hymir frame during ",
            name)));
      if (f.header.kind == static_cast<uint32_t>(Kind::Error))
        return broken(absl::AbortedError(absl::StrCat(
            "rank ", r,
            " failed: ", std::string(f.payload.begin(), f.payload.end()))));
      if (f.header.sequence != seq)
        return broken(absl::FailedPreconditionError(absl::StrCat(
            "rank ", r, " is at exchange ", f.header.sequence, ", rank 0 at ",
            seq, " (", what, "): the ranks run different plans or artifacts")));
      if (sameSize && f.payload.size() != parts[0].size())
        return broken(absl::FailedPreconditionError(
            absl::StrCat("rank ", r, " sent ", f.payload.size(), " bytes for ",
                         name, ", rank 0 has ", parts[0].size(),
                         ": the ranks run different artifacts or inputs")));
      parts[r] = std::move(f.payload);
    }
  }
  return parts;
}

absl::StatusOr<std::vector<uint8_t>>
ProcessGroup::scatter(std::vector<std::vector<uint8_t>> parts,
                      absl::string_view what) {
  if (!failed_.ok())
    return failed_;
  const uint64_t seq = ++sequence_;
  const std::string name(what);
  const int n = size();
  if (rank() == 0) {
    if (parts.size() != static_cast<size_t>(n))
      return broken(absl::InternalError(
          absl::StrCat(name, ": ", parts.size(), " parts for ", n, " ranks")));
    Clock::time_point deadline = after(spec_.timeoutSeconds);
    for (int r = 1; r < n; ++r) {
      IoResult w = sendFrame(sockets_[r], Kind::Data, 0, seq, parts[r].data(),
                             parts[r].size(), deadline);
      if (w.io != Io::Ok)
        return broken(ioError(w, r, name, spec_.timeoutSeconds));
    }
    return std::move(parts[0]);
  }
  double wait = spec_.timeoutSeconds + kGraceSeconds;
  FrameReader f;
  IoResult io = recvFrame(sockets_[0], f, after(wait));
  if (io.io != Io::Ok)
    return broken(ioError(io, 0, name, wait));
  if (f.bad)
    return broken(absl::DataLossError(absl::StrCat(
        "rank 0 sent something that is not a hymir frame during ", name)));
  if (f.header.kind == static_cast<uint32_t>(Kind::Error)) {
    // Rank 0 has closed every connection: nothing to pass on.
    failed_ = absl::AbortedError(
        absl::StrCat(std::string(f.payload.begin(), f.payload.end()),
                     " (reported by rank 0 during ", name, ")"));
    ::close(sockets_[0]);
    sockets_[0] = -1;
    return failed_;
  }
  if (f.header.sequence != seq)
    return broken(absl::FailedPreconditionError(absl::StrCat(
        "rank 0 is at exchange ", f.header.sequence, ", rank ", rank(), " at ",
        seq, " (", what, "): the ranks run different plans or artifacts")));
  return std::move(f.payload);
}

absl::Status ProcessGroup::checkPeers(absl::string_view what) {
  if (!failed_.ok())
    return failed_;
  std::vector<pollfd> fds;
  std::vector<int> peers;
  for (size_t i = 0; i < sockets_.size(); ++i)
    if (sockets_[i] >= 0) {
      fds.push_back({sockets_[i], POLLIN, 0});
      peers.push_back(rank() == 0 ? static_cast<int>(i) : 0);
    }
  if (fds.empty() || ::poll(fds.data(), fds.size(), 0) <= 0)
    return absl::OkStatus();
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!fds[i].revents)
      continue;
    int peer = peers[i];
    FrameReader f;
    IoResult io = recvFrame(fds[i].fd, f, after(1));
    if (io.io != Io::Ok)
      return broken(ioError(io, peer, what, 1));
    std::string text(f.payload.begin(), f.payload.end());
    if (!f.bad && f.header.kind == static_cast<uint32_t>(Kind::Error))
      return broken(absl::AbortedError(
          rank() == 0
              ? absl::StrCat("rank ", peer, " failed: ", text)
              : absl::StrCat(text, " (reported by rank 0 during ", what, ")")));
    return broken(absl::DataLossError(absl::StrCat(
        "rank ", peer, " sent an unexpected frame during ", what)));
  }
  return absl::OkStatus();
}

absl::Status ProcessGroup::broadcast(std::vector<uint8_t> &blob,
                                     absl::string_view what) {
  std::vector<std::vector<uint8_t>> parts;
  if (rank() == 0)
    parts.assign(size(), blob);
  absl::StatusOr<std::vector<uint8_t>> got = scatter(std::move(parts), what);
  if (!got.ok())
    return got.status();
  blob = std::move(*got);
  return absl::OkStatus();
}

//===----------------------------------------------------------------------===//
// The cpu driver's collectives across processes
//===----------------------------------------------------------------------===//

namespace {

class ProcessCollectives : public Collectives {
public:
  explicit ProcessCollectives(std::shared_ptr<ProcessGroup> group)
      : group_(std::move(group)),
        local_(createCpuCollectives(static_cast<size_t>(group_->size()))) {}

  absl::Status allReduceSum(const std::vector<const void *> &src,
                            const std::vector<void *> &dst, size_t elements,
                            DType dtype) override {
    size_t bytes = elements * dtypeSize(dtype);
    return exchange(
        "all_reduce", src, dst, bytes, bytes,
        [&](const std::vector<const void *> &s, const std::vector<void *> &d) {
          return local_->allReduceSum(s, d, elements, dtype);
        });
  }

  absl::Status reduceScatterSum(const std::vector<const void *> &src,
                                const std::vector<void *> &dst, size_t elements,
                                DType dtype) override {
    size_t bytes = elements * dtypeSize(dtype);
    return exchange(
        "reduce_scatter", src, dst, bytes * group_->size(), bytes,
        [&](const std::vector<const void *> &s, const std::vector<void *> &d) {
          return local_->reduceScatterSum(s, d, elements, dtype);
        });
  }

  absl::Status allGather(const std::vector<const void *> &src,
                         const std::vector<void *> &dst, size_t elements,
                         DType dtype) override {
    size_t bytes = elements * dtypeSize(dtype);
    return exchange(
        "all_gather", src, dst, bytes, bytes * group_->size(),
        [&](const std::vector<const void *> &s, const std::vector<void *> &d) {
          return local_->allGather(s, d, elements, dtype);
        });
  }

  absl::Status allToAll(const std::vector<const void *> &src,
                        const std::vector<const void *> &srcOffsets,
                        const std::vector<void *> &dst,
                        const std::vector<void *> &dstOffsets, size_t rows,
                        size_t rowBytes) override {
    if (src.size() != 1 || srcOffsets.size() != 1 || dst.size() != 1 ||
        dstOffsets.size() != 1)
      return local(absl::StrCat("all_to_all: buffers of ", src.size(),
                                " devices in a process of one"));
    // Each rank's offsets, then its rows (the offsets stay aligned).
    size_t offsets = (static_cast<size_t>(group_->size()) + 1) * 4;
    size_t data = rows * rowBytes;
    std::vector<uint8_t> mine(offsets + data);
    std::memcpy(mine.data(), srcOffsets[0], offsets);
    std::memcpy(mine.data() + offsets, src[0], data);
    absl::StatusOr<std::vector<uint8_t>> got =
        run("all_to_all", std::move(mine), offsets + data,
            [&](const std::vector<std::vector<uint8_t>> &parts,
                std::vector<std::vector<uint8_t>> &results) {
              std::vector<const void *> s, so;
              std::vector<void *> d, dO;
              for (size_t r = 0; r < parts.size(); ++r) {
                so.push_back(parts[r].data());
                s.push_back(parts[r].data() + offsets);
                results[r].assign(offsets + data, 0);
                dO.push_back(results[r].data());
                d.push_back(results[r].data() + offsets);
              }
              return local_->allToAll(s, so, d, dO, rows, rowBytes);
            });
    if (!got.ok())
      return got.status();
    std::memcpy(dstOffsets[0], got->data(), offsets);
    std::memcpy(dst[0], got->data() + offsets, data);
    return absl::OkStatus();
  }

private:
  using Compute =
      std::function<absl::Status(const std::vector<std::vector<uint8_t>> &,
                                 std::vector<std::vector<uint8_t>> &)>;

  absl::Status local(std::string message) {
    absl::Status s = absl::InternalError(std::move(message));
    group_->fail(s);
    return s;
  }

  /// Gathers `mine` on rank 0, computes every rank's result of
  /// `resultBytes` there, and returns this rank's. A failure on rank 0
  /// ends the job on every rank.
  absl::StatusOr<std::vector<uint8_t>> run(const char *what,
                                           std::vector<uint8_t> mine,
                                           size_t resultBytes,
                                           const Compute &compute) {
    const std::string name =
        absl::StrCat(what, " (collective ", ++collectives_, " of the job)");
    absl::StatusOr<std::vector<std::vector<uint8_t>>> parts =
        group_->gather(std::move(mine), name, true);
    if (!parts.ok())
      return parts.status();
    std::vector<std::vector<uint8_t>> results;
    if (group_->rank() == 0) {
      results.resize(parts->size());
      if (absl::Status s = compute(*parts, results); !s.ok()) {
        group_->fail(s);
        return s;
      }
    }
    absl::StatusOr<std::vector<uint8_t>> got =
        group_->scatter(std::move(results), name);
    if (got.ok() && got->size() != resultBytes)
      return local(absl::StrCat(what, ": rank 0 sent ", got->size(),
                                " bytes, rank ", group_->rank(), " expects ",
                                resultBytes));
    return got;
  }

  absl::Status
  exchange(const char *what, const std::vector<const void *> &src,
           const std::vector<void *> &dst, size_t bytes, size_t resultBytes,
           const std::function<absl::Status(const std::vector<const void *> &,
                                            const std::vector<void *> &)> &op) {
    if (src.size() != 1 || dst.size() != 1)
      return local(absl::StrCat(what, ": buffers of ", src.size(),
                                " devices in a process of one"));
    const uint8_t *p = static_cast<const uint8_t *>(src[0]);
    absl::StatusOr<std::vector<uint8_t>> got =
        run(what, std::vector<uint8_t>(p, p + bytes), resultBytes,
            [&](const std::vector<std::vector<uint8_t>> &parts,
                std::vector<std::vector<uint8_t>> &results) {
              std::vector<const void *> s;
              std::vector<void *> d;
              for (size_t r = 0; r < parts.size(); ++r) {
                s.push_back(parts[r].data());
                results[r].assign(resultBytes, 0);
                d.push_back(results[r].data());
              }
              return op(s, d);
            });
    if (!got.ok())
      return got.status();
    std::memcpy(dst[0], got->data(), resultBytes);
    return absl::OkStatus();
  }

  std::shared_ptr<ProcessGroup> group_;
  std::unique_ptr<Collectives> local_;
  uint64_t collectives_ = 0;
};

} // namespace

absl::StatusOr<std::unique_ptr<Collectives>>
createProcessCollectives(std::shared_ptr<ProcessGroup> group) {
  return std::unique_ptr<Collectives>(new ProcessCollectives(std::move(group)));
}

} // namespace hymir
