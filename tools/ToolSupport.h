//===- ToolSupport.h - shared pieces of the compiler-side tools -*- C++ -*-===//
//
// What hymir-compile and hymir-reference share: reading an MLIR file into a
// module with diagnostics routed to the source, a --help that shows the
// tool's own options (and the MLIR debugging ones the tool registered)
// instead of every option the LLVM libraries define, --version, and the
// checks of numeric options against their stated ranges.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TOOLS_TOOLSUPPORT_H
#define HYMIR_TOOLS_TOOLSUPPORT_H

#include "hymir/Runtime/Artifact.h"
#include "hymir/Runtime/Version.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hymir::tools {

/// Parses `path` into a module. `sourceMgr` must outlive the diagnostics of
/// later passes, so the caller owns it and installs the handler for them.
/// Returns null after printing a message prefixed with `tool` on failure.
inline mlir::OwningOpRef<mlir::ModuleOp>
parseModuleFile(llvm::StringRef path, mlir::MLIRContext &context,
                llvm::SourceMgr &sourceMgr, llvm::StringRef tool) {
  std::string error;
  auto file = mlir::openInputFile(path, &error);
  if (!file) {
    llvm::errs() << tool << ": error: " << error << "\n";
    return nullptr;
  }
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  return mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
}

/// The names of every option registered so far (for moveNewOptions).
inline llvm::StringSet<> registeredOptionNames() {
  llvm::StringSet<> names;
  for (auto &entry : llvm::cl::getRegisteredOptions())
    names.insert(entry.first);
  return names;
}

/// Puts the options registered since `before` into `category`.
inline void moveNewOptions(const llvm::StringSet<> &before,
                           llvm::cl::OptionCategory &category) {
  for (auto &entry : llvm::cl::getRegisteredOptions())
    if (!before.contains(entry.first))
      entry.second->addCategory(category);
}

/// The tool whose command line parseCommandLine is reading, for the
/// messages of option parsers.
inline std::string &currentTool() {
  static std::string name;
  return name;
}

/// Parses the command line of `tool`: --help shows `categories` only (the
/// LLVM libraries' hundreds of backend options stay hidden, as they are
/// still accepted), --version prints hymir's and the artifact schema's
/// versions.
inline void
parseCommandLine(int argc, char **argv, llvm::StringRef tool,
                 llvm::StringRef overview,
                 llvm::ArrayRef<const llvm::cl::OptionCategory *> categories) {
  llvm::cl::HideUnrelatedOptions(categories);
  currentTool() = tool.str();
  std::string name = tool.str();
  llvm::cl::SetVersionPrinter([name](llvm::raw_ostream &os) {
    os << name << " (hymir) " << ::hymir::runtimeVersion()
       << "\nartifact schema version " << ::hymir::kArtifactSchemaVersion
       << "\n";
  });
  std::string text = overview.str() +
                     "\n  Options take --name=value or --name value; on/off "
                     "options take --name or --name=false.\n";
  llvm::cl::ParseCommandLineOptions(argc, argv, text);
}

/// A numeric option's valid range, stated in --help and checked before
/// anything runs: a value outside it is an error, never a clamp.
struct Range {
  int64_t min, max;
};

/// Keeps a description built at startup alive for llvm::cl, which holds
/// only a reference to it.
inline llvm::StringRef keepText(std::string text) {
  static std::deque<std::string> texts;
  return texts.emplace_back(std::move(text));
}

/// `text` followed by "[min, max]" (and ", default d"), kept alive.
inline llvm::StringRef describeRange(llvm::StringRef text, Range range,
                                     std::optional<int64_t> defaultValue) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << text << " [" << range.min << ", " << range.max << "]";
  if (defaultValue)
    os << ", default " << *defaultValue;
  return keepText(out);
}

/// The value of a numeric option: an int64 whose parser (the
/// llvm::cl::parser specialization below) states the option's range (set
/// with the inRange modifier) when the value is not an integer at all, as
/// checkRange does for an integer outside it.
struct Int64Arg {
  int64_t value = 0;
  Int64Arg() = default;
  Int64Arg(int64_t value) : value(value) {}
  operator int64_t() const { return value; }
};

/// Checks `option` against `range`; prints `tool: error: --name must be in
/// [min, max], got value` and returns false when it is outside.
template <typename Option>
inline bool checkRange(llvm::StringRef tool, const Option &option,
                       Range range) {
  int64_t value = option.getValue();
  if (value >= range.min && value <= range.max)
    return true;
  llvm::errs() << tool << ": error: --" << option.ArgStr << " must be in ["
               << range.min << ", " << range.max << "], got " << value << "\n";
  return false;
}

/// The range checks of the options declared with inRange, in declaration
/// order (checkGivenRanges runs them).
inline std::vector<std::function<bool(llvm::StringRef)>> &rangeChecks() {
  static std::vector<std::function<bool(llvm::StringRef)>> checks;
  return checks;
}

/// Option modifier: the range the option's parser names in its message,
/// which checkGivenRanges checks the option's value against.
struct inRange {
  explicit inRange(Range range) : range(range) {}
  Range range;
  template <class Opt> void apply(Opt &option) const {
    option.getParser().range = range;
    rangeChecks().push_back([&option, r = range](llvm::StringRef tool) {
      return !option.getNumOccurrences() || checkRange(tool, option, r);
    });
  }
};

/// Checks every inRange option given on the command line (a default is
/// the tool's own choice) against its range: false, after checkRange's
/// line for the first one outside it. One call instead of a checkRange per
/// option, which a new option could miss.
inline bool checkGivenRanges(llvm::StringRef tool) {
  for (const std::function<bool(llvm::StringRef)> &check : rangeChecks())
    if (!check(tool))
      return false;
  return true;
}

} // namespace hymir::tools

namespace llvm::cl {

/// Reads an Int64Arg like llvm::cl reads an int64, but a value that is not
/// an integer (`1e12`, `abc`, one past int64) is one line stating the
/// option's range: `tool: error: --name must be an integer in [min, max],
/// got '1e12'`.
template <>
class parser<hymir::tools::Int64Arg>
    : public basic_parser<hymir::tools::Int64Arg> {
public:
  explicit parser(Option &option) : basic_parser(option) {}

  hymir::tools::Range range{INT64_MIN, INT64_MAX};

  bool parse(Option &option, StringRef, StringRef arg,
             hymir::tools::Int64Arg &value) {
    int64_t v = 0;
    if (!arg.getAsInteger(0, v)) {
      value = v;
      return false;
    }
    errs() << hymir::tools::currentTool() << ": error: --" << option.ArgStr
           << " must be an integer in [" << range.min << ", " << range.max
           << "], got '" << arg << "'\n";
    return true;
  }

  StringRef getValueName() const override { return "long"; }

  /// For --print-options.
  void printOptionDiff(const Option &option,
                       const hymir::tools::Int64Arg &value, const OptVal &,
                       size_t globalWidth) const {
    printOptionName(option, globalWidth);
    outs() << "= " << value.value << "\n";
  }
};

} // namespace llvm::cl

#endif // HYMIR_TOOLS_TOOLSUPPORT_H
