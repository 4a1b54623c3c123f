//===- RuntimeToolArgs.h - command lines of the runtime tools ---*- C++ -*-===//
//
// One flag style for hymir-run, hymir-bench and hymir-dump, which link no
// LLVM and so cannot use llvm::cl: `--flag=value` and `--flag value` both
// work, a flag that takes no value refuses one, an unknown flag is a
// one-line error (exit 2), and --version prints the same line everywhere.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TOOLS_RUNTIMETOOLARGS_H
#define HYMIR_TOOLS_RUNTIMETOOLARGS_H

#include "hymir/Runtime/Artifact.h"
#include "hymir/Runtime/Version.h"

#include <cstdio>
#include <optional>
#include <string>

namespace hymir::tools {

/// Walks argv. Usage:
///   Args args("hymir-run", argc, argv);
///   while (args.next()) {
///     if (args.is("--entry")) { if (!args.value(o.entry)) return 2; }
///     else if (args.is("--check")) { if (!args.noValue()) return 2; ... }
///     else if (args.isFlag()) return args.unknown();
///     else positional(args.arg());
///   }
class Args {
public:
  Args(const char *tool, int argc, char **argv)
      : tool_(tool), argc_(argc), argv_(argv) {}

  /// Advances to the next argument; false after the last.
  bool next() {
    if (++i_ >= argc_)
      return false;
    arg_ = argv_[i_];
    inline_.reset();
    // "--flag=value": the flag is the part before the first '='.
    if (arg_.size() > 2 && arg_.compare(0, 2, "--") == 0) {
      if (size_t eq = arg_.find('='); eq != std::string::npos) {
        inline_ = arg_.substr(eq + 1);
        arg_.resize(eq);
      }
    }
    return true;
  }

  /// The current argument (for a flag, without any "=value").
  const std::string &arg() const { return arg_; }
  /// Whether the current argument is a flag ("-x", "--x"; "-" alone is not).
  bool isFlag() const { return arg_.size() > 1 && arg_[0] == '-'; }
  bool is(const char *flag) const { return arg_ == flag; }

  /// Reads the flag's value, inline or the next argument; prints an error
  /// and returns false when there is none.
  bool value(std::string &out) {
    if (inline_) {
      out = *inline_;
      return true;
    }
    if (i_ + 1 >= argc_) {
      std::fprintf(stderr, "%s: %s needs a value\n", tool_, arg_.c_str());
      return false;
    }
    out = argv_[++i_];
    return true;
  }

  /// For a flag that takes no value: false (after an error) when one was
  /// given as "--flag=value".
  bool noValue() const {
    if (!inline_)
      return true;
    std::fprintf(stderr, "%s: %s takes no value (got '%s')\n", tool_,
                 arg_.c_str(), inline_->c_str());
    return false;
  }

  /// Prints the one-line error for an unknown flag; returns the exit code 2.
  int unknown() const {
    std::fprintf(stderr, "%s: unknown option %s (see %s --help)\n", tool_,
                 arg_.c_str(), tool_);
    return 2;
  }

private:
  const char *tool_;
  int argc_;
  char **argv_;
  int i_ = 0;
  std::string arg_;
  std::optional<std::string> inline_;
};

/// The --version text of every runtime tool.
inline void printVersion(const char *tool) {
  std::printf("%s (hymir %s), artifact schema version %u\n", tool,
              runtimeVersion().c_str(), kArtifactSchemaVersion);
}

} // namespace hymir::tools

#endif // HYMIR_TOOLS_RUNTIMETOOLARGS_H
