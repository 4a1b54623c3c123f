//===- RuntimeToolProgress.h - progress lines for slow steps ----*- C++ -*-===//
//
// A step of hymir-run or hymir-bench that may take long (reading weights,
// drawing random inputs, a call on the cpu target, the fp64 oracle) runs
// inside a Progress scope. Nothing is printed for a step that ends within
// a few seconds; a longer one gets a line on stderr when it passes that
// mark, one every further 10 s, and one when it ends, so a user never
// looks at a silent terminal for long without knowing what runs. The
// environment variable HYMIR_PROGRESS_AFTER_S (seconds) moves the first
// mark; the tests set it to 0 to see the lines of fast steps.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TOOLS_RUNTIMETOOLPROGRESS_H
#define HYMIR_TOOLS_RUNTIMETOOLPROGRESS_H

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace hymir::tools {

class Progress {
public:
  /// `what` reads as a phrase after the tool's name: "reading weights from
  /// w.safetensors".
  Progress(const char *tool, std::string what)
      : tool_(tool), what_(std::move(what)),
        start_(std::chrono::steady_clock::now()), firstMark_(firstMark()),
        watcher_([this] { watch(); }) {}

  ~Progress() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    watcher_.join();
    // Also when the watcher had no chance to run before the step ended: a
    // step past the mark always reports.
    if (printed_ || seconds() >= firstMark_)
      std::fprintf(stderr, "%s: %s: done in %.1f s\n", tool_, what_.c_str(),
                   seconds());
  }

  Progress(const Progress &) = delete;
  Progress &operator=(const Progress &) = delete;

private:
  /// 3 s, or HYMIR_PROGRESS_AFTER_S when it holds a number >= 0.
  static double firstMark() {
    if (const char *env = std::getenv("HYMIR_PROGRESS_AFTER_S")) {
      char *end = nullptr;
      double v = std::strtod(env, &end);
      if (end != env && !*end && v >= 0 && v < 1e6)
        return v;
    }
    return 3;
  }

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start_)
        .count();
  }

  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    auto next = start_ +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(firstMark_));
    while (!wake_.wait_until(lock, next, [this] { return done_; })) {
      std::fprintf(stderr, "%s: %s... (%.0f s so far)\n", tool_, what_.c_str(),
                   seconds());
      printed_ = true;
      next += std::chrono::seconds(10);
    }
  }

  const char *tool_;
  std::string what_;
  std::chrono::steady_clock::time_point start_;
  double firstMark_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  bool printed_ = false; // written by the watcher, read after its join
  std::thread watcher_;  // last: starts once the members above exist
};

} // namespace hymir::tools

#endif // HYMIR_TOOLS_RUNTIMETOOLPROGRESS_H
