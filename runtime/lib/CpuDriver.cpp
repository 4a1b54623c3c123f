//===- CpuDriver.cpp - kernels from an in-memory shared object ------------===//
//
// The cpu driver keeps device memory in aligned host allocations, loads the
// artifact's host shared object from memory (memfd_create, then dlopen of
// /proc/self/fd/N, so nothing is written to disk), and runs each launch's
// blocks on a pool of worker threads. Each kernel has the packed signature
// void K(int64_t block, const uint64_t *words).
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "hymir/Support/BFloat16.h"

#include "absl/strings/str_cat.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

namespace hymir {
namespace {

/// A host shared object loaded from memory and the memfd it was loaded
/// through.
struct LoadedCode {
  void *handle;
  int fd;
};

class HostBuffer : public DeviceBuffer {
public:
  HostBuffer(void *data, size_t size) : data_(data), size_(size) {}
  ~HostBuffer() override { std::free(data_); }
  void *data() const override { return data_; }
  size_t size() const override { return size_; }

private:
  void *data_;
  size_t size_;
};

/// Runs `count` independent tasks on a fixed set of workers (and the calling
/// thread), returning when all are done.
///
/// Each run is its own Job: a worker that is late (still inside drain when
/// the run ended and the next one began) only ever touches the counters of
/// the job it took, which it keeps alive, and finds them exhausted. With
/// counters shared across runs, such a worker could claim an index of the
/// next run twice, which made `pending` skip past zero and the caller wait
/// forever (seen as a rare hang of a busy 2-core machine).
class ThreadPool {
public:
  explicit ThreadPool(unsigned workers) {
    for (unsigned i = 0; i < workers; ++i)
      threads_.emplace_back([this] { work(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread &t : threads_)
      t.join();
  }

  void run(int64_t count, const std::function<void(int64_t)> &task) {
    if (count <= 0)
      return;
    if (threads_.empty() || count == 1) {
      for (int64_t i = 0; i < count; ++i)
        task(i);
      return;
    }
    auto job = std::make_shared<Job>(task, count);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = job;
      ++generation_;
    }
    wake_.notify_all();
    drain(*job);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return job->pending.load() == 0; });
    job_.reset();
  }

private:
  /// One run's tasks and counters.
  struct Job {
    Job(const std::function<void(int64_t)> &task, int64_t count)
        : task(task), count(count), pending(count) {}
    const std::function<void(int64_t)> &task;
    const int64_t count;
    std::atomic<int64_t> next{0}, pending;
  };

  void drain(Job &job) {
    for (;;) {
      int64_t i = job.next.fetch_add(1);
      if (i >= job.count)
        return;
      job.task(i);
      if (job.pending.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_all();
      }
    }
  }

  void work() {
    uint64_t seen = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_)
          return;
        seen = generation_;
        job = job_;
      }
      if (job)
        drain(*job);
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  /// The current run (null between runs); guarded by mutex_.
  std::shared_ptr<Job> job_;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

using PackedKernel = void (*)(int64_t, const uint64_t *);

class CpuDriver : public Driver {
public:
  CpuDriver() : pool_(std::max(1u, std::thread::hardware_concurrency()) - 1) {}

  absl::StatusOr<std::unique_ptr<DeviceBuffer>>
  allocate(size_t bytes) override {
    size_t rounded = (std::max<size_t>(bytes, 1) + 255) / 256 * 256;
    void *p = std::aligned_alloc(256, rounded);
    if (!p)
      return absl::ResourceExhaustedError(
          absl::StrCat("cpu: cannot allocate ", bytes, " bytes"));
    std::memset(p, 0, rounded);
    return std::unique_ptr<DeviceBuffer>(new HostBuffer(p, bytes));
  }
  absl::Status copyToDevice(void *dst, const void *src, size_t bytes) override {
    std::memcpy(dst, src, bytes);
    return absl::OkStatus();
  }
  absl::Status copyToHost(void *dst, const void *src, size_t bytes) override {
    std::memcpy(dst, src, bytes);
    return absl::OkStatus();
  }
  absl::Status copyOnDevice(void *dst, const void *src, size_t bytes) override {
    std::memmove(dst, src, bytes);
    return absl::OkStatus();
  }

  absl::StatusOr<CodeHandle> loadCode(const CodeObjectDesc &code,
                                      const std::string &where) override {
    if (code.format != CodeFormat::HostSharedObject)
      return absl::FailedPreconditionError(
          absl::StrCat(where, " is ", codeFormatName(code.format),
                       ", which the cpu driver cannot run"));
    int fd = memfd_create("hymir-kernels", MFD_CLOEXEC);
    if (fd < 0)
      return absl::InternalError(
          absl::StrCat(where, ": memfd_create failed: ", std::strerror(errno)));
    size_t written = 0;
    while (written < code.data.size()) {
      ssize_t n =
          ::write(fd, code.data.data() + written, code.data.size() - written);
      if (n <= 0) {
        ::close(fd);
        return absl::InternalError(absl::StrCat(where, ": cannot stage it"));
      }
      written += static_cast<size_t>(n);
    }
    // The fd stays open while the object is loaded: the dynamic loader knows
    // a loaded object by its path, and a later load through a reused fd
    // number would get this object back instead of its own.
    std::string path = absl::StrCat("/proc/self/fd/", fd);
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat(where, " is not a loadable shared object: ", dlerror()));
    }
    return new LoadedCode{handle, fd};
  }

  void unloadCode(CodeHandle code) override {
    auto *loaded = static_cast<LoadedCode *>(code);
    dlclose(loaded->handle);
    ::close(loaded->fd);
    delete loaded;
  }

  absl::StatusOr<KernelHandle> kernel(CodeHandle code,
                                      const std::string &symbol) override {
    void *fn = dlsym(static_cast<LoadedCode *>(code)->handle, symbol.c_str());
    if (!fn)
      return absl::NotFoundError(
          absl::StrCat("kernel symbol '", symbol, "' is not in its code"));
    return fn;
  }

  absl::Status launch(KernelHandle kernel, const std::array<int64_t, 3> &grid,
                      const std::array<uint32_t, 3> &,
                      uint32_t sharedMemoryBytes,
                      std::vector<uint64_t> &words) override {
    if (sharedMemoryBytes != 0)
      return absl::UnimplementedError(
          "cpu: kernels with shared memory cannot run on the cpu driver");
    if (grid[1] != 1 || grid[2] != 1)
      return absl::UnimplementedError("cpu: only 1-d grids are supported");
    auto fn = reinterpret_cast<PackedKernel>(kernel);
    const uint64_t *args = words.data();
    pool_.run(grid[0], [&](int64_t block) { fn(block, args); });
    return absl::OkStatus();
  }

  absl::Status gemm(const GemmDesc &, const void *, const void *, void *,
                    int64_t) override {
    return absl::UnimplementedError(
        "cpu: library GEMM steps are a cuda feature; the cpu target "
        "generates its own code for linear");
  }

  absl::Status
  encodeTensorMap(const TensorMapEncoding &,
                  std::array<uint8_t, kTensorMapBytes> &) override {
    return absl::FailedPreconditionError(
        "cpu: tensor maps need the cuda driver (TMA is a GPU feature; the "
        "cpu target never plans them)");
  }
  absl::StatusOr<std::unique_ptr<DeviceBuffer>>
  allocateStaging(size_t bytes) override {
    return allocate(bytes);
  }
  absl::Status copyToDeviceAsync(void *dst, const void *src,
                                 size_t bytes) override {
    std::memcpy(dst, src, bytes);
    return absl::OkStatus();
  }

  absl::Status synchronize() override { return absl::OkStatus(); }
  absl::Status startTimer() override {
    start_ = std::chrono::steady_clock::now();
    return absl::OkStatus();
  }
  absl::StatusOr<double> stopTimer() override {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now() - start_)
        .count();
  }

private:
  ThreadPool pool_;
  std::chrono::steady_clock::time_point start_;
};

/// The simulated devices all live in this process's memory, and the cpu
/// driver's steps complete before they return, so a collective is a plain
/// loop over the devices' buffers.
class CpuCollectives : public Collectives {
public:
  explicit CpuCollectives(size_t devices) : devices_(devices) {}

  absl::Status allReduceSum(const std::vector<const void *> &src,
                            const std::vector<void *> &dst, size_t elements,
                            DType dtype) override {
    if (absl::Status s = check(src, dst, dtype); !s.ok())
      return s;
    std::vector<float> sum(elements, 0.0f);
    for (const void *p : src) {
      if (dtype == DType::F32) {
        const float *x = static_cast<const float *>(p);
        for (size_t i = 0; i < elements; ++i)
          sum[i] += x[i];
      } else {
        const uint16_t *x = static_cast<const uint16_t *>(p);
        for (size_t i = 0; i < elements; ++i)
          sum[i] += bf16ToFloat(x[i]);
      }
    }
    for (void *p : dst) {
      if (dtype == DType::F32) {
        std::memcpy(p, sum.data(), elements * sizeof(float));
      } else {
        uint16_t *y = static_cast<uint16_t *>(p);
        for (size_t i = 0; i < elements; ++i)
          y[i] = floatToBf16(sum[i]);
      }
    }
    return absl::OkStatus();
  }

  absl::Status reduceScatterSum(const std::vector<const void *> &src,
                                const std::vector<void *> &dst, size_t elements,
                                DType dtype) override {
    if (absl::Status s = check(src, dst, dtype); !s.ok())
      return s;
    // Sums in f32 in device order, as allReduceSum: a reduce_scatter equals
    // an all_reduce's blocks bit for bit.
    size_t element = dtypeSize(dtype);
    std::vector<float> sum(elements);
    for (size_t d = 0; d < dst.size(); ++d) {
      std::fill(sum.begin(), sum.end(), 0.0f);
      for (const void *p : src) {
        const uint8_t *block =
            static_cast<const uint8_t *>(p) + d * elements * element;
        if (dtype == DType::F32) {
          const float *x = reinterpret_cast<const float *>(block);
          for (size_t i = 0; i < elements; ++i)
            sum[i] += x[i];
        } else {
          const uint16_t *x = reinterpret_cast<const uint16_t *>(block);
          for (size_t i = 0; i < elements; ++i)
            sum[i] += bf16ToFloat(x[i]);
        }
      }
      if (dtype == DType::F32) {
        std::memcpy(dst[d], sum.data(), elements * sizeof(float));
      } else {
        uint16_t *y = static_cast<uint16_t *>(dst[d]);
        for (size_t i = 0; i < elements; ++i)
          y[i] = floatToBf16(sum[i]);
      }
    }
    return absl::OkStatus();
  }

  absl::Status allGather(const std::vector<const void *> &src,
                         const std::vector<void *> &dst, size_t elements,
                         DType dtype) override {
    if (absl::Status s = check(src, dst, dtype); !s.ok())
      return s;
    size_t bytes = elements * dtypeSize(dtype);
    for (void *p : dst)
      for (size_t e = 0; e < src.size(); ++e)
        std::memmove(static_cast<uint8_t *>(p) + e * bytes, src[e], bytes);
    return absl::OkStatus();
  }

  absl::Status allToAll(const std::vector<const void *> &src,
                        const std::vector<const void *> &srcOffsets,
                        const std::vector<void *> &dst,
                        const std::vector<void *> &dstOffsets, size_t rows,
                        size_t rowBytes) override {
    size_t n = devices_;
    if (src.size() != n || srcOffsets.size() != n || dst.size() != n ||
        dstOffsets.size() != n)
      return absl::InternalError(absl::StrCat("cpu all_to_all: buffers of ",
                                              src.size(), " devices for ", n));
    // Every sender's offsets checked before anything moves.
    for (size_t e = 0; e < n; ++e) {
      const int32_t *o = static_cast<const int32_t *>(srcOffsets[e]);
      for (size_t p = 0; p <= n; ++p) {
        bool bad = o[p] < 0 || static_cast<size_t>(o[p]) > rows ||
                   (p > 0 && o[p] < o[p - 1]);
        if (bad)
          return absl::OutOfRangeError(absl::StrCat(
              "all_to_all: device ", e, " sends by offsets that are not ",
              "non-decreasing in [0, ", rows, "] (entry ", p, " is ", o[p],
              ")"));
      }
    }
    for (size_t d = 0; d < n; ++d) {
      auto *out = static_cast<uint8_t *>(dst[d]);
      auto *recv = static_cast<int32_t *>(dstOffsets[d]);
      size_t at = 0;
      for (size_t e = 0; e < n; ++e) {
        const int32_t *o = static_cast<const int32_t *>(srcOffsets[e]);
        size_t count = static_cast<size_t>(o[d + 1] - o[d]);
        if (count > rows - at)
          return absl::OutOfRangeError(absl::StrCat(
              "all_to_all: device ", d, " receives more than its ", rows,
              " rows (", at, " so far, ", count, " more from device ", e, ")"));
        recv[e] = static_cast<int32_t>(at);
        std::memcpy(out + at * rowBytes,
                    static_cast<const uint8_t *>(src[e]) + o[d] * rowBytes,
                    count * rowBytes);
        at += count;
      }
      recv[n] = static_cast<int32_t>(at);
      std::memset(out + at * rowBytes, 0, (rows - at) * rowBytes);
    }
    return absl::OkStatus();
  }

private:
  absl::Status check(const std::vector<const void *> &src,
                     const std::vector<void *> &dst, DType dtype) const {
    if (src.size() != devices_ || dst.size() != devices_)
      return absl::InternalError(
          absl::StrCat("cpu collective: ", src.size(), " sources and ",
                       dst.size(), " destinations for ", devices_, " devices"));
    if (dtype != DType::F32 && dtype != DType::BF16)
      return absl::UnimplementedError(
          absl::StrCat("cpu collective: dtype ", std::string(dtypeName(dtype)),
                       " (only f32 and bf16)"));
    return absl::OkStatus();
  }

  size_t devices_;
};

} // namespace

std::unique_ptr<Collectives> createCpuCollectives(size_t devices) {
  return std::make_unique<CpuCollectives>(devices);
}

absl::StatusOr<std::unique_ptr<Driver>> createCpuDriver() {
  return std::unique_ptr<Driver>(new CpuDriver());
}

} // namespace hymir
