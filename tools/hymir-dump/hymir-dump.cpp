//===- hymir-dump.cpp - print what a .hymir artifact holds ----------------===//
//
//   hymir-dump ARTIFACT
//
// Loads ARTIFACT with the runtime's loader (every check the runtime makes
// before running it) and prints its target, chip, device count, producer,
// kernels (name, code object, symbol), entries, and the plan listing that
// `hymir-compile --print-plan` prints: code objects, parameters, and per
// entry its symbols, inputs, outputs, buffers and steps. Like
// iree-dump-module. A runtime-world tool: no LLVM or MLIR, no device.
//
//===----------------------------------------------------------------------===//

#include "../RuntimeToolArgs.h"

#include "hymir/Runtime/ArtifactListing.h"

#include <cstdio>
#include <string>

namespace {

void usage(std::FILE *to) {
  std::fprintf(
      to,
      "usage: hymir-dump ARTIFACT\n"
      "\n"
      "Prints what a .hymir artifact holds, after the checks the runtime\n"
      "makes when it loads one:\n"
      "  target, chip, device count, producer, schema version\n"
      "  kernel I NAME: code C, symbol S       (one per kernel)\n"
      "  entry NAME: inputs, outputs, steps, whether it carries a reference\n"
      "    program for hymir-run --check\n"
      "then the plan listing of hymir-compile --print-plan: code objects,\n"
      "params, and per entry its symbols (dynamic dims and their maxima),\n"
      "inputs and outputs (dtype and shape over the symbols), buffers, arena\n"
      "and steps.\n"
      "\n"
      "  -h, --help    this text\n"
      "  --version     hymir's version and the artifact schema version\n"
      "\n"
      "Exit status: 0 when printed, 1 when the file is not a valid artifact\n"
      "(one line naming the cause), 2 on a usage error.\n");
}

} // namespace

int main(int argc, char **argv) {
  std::string path;
  hymir::tools::Args args("hymir-dump", argc, argv);
  while (args.next()) {
    if (args.is("-h") || args.is("--help")) {
      usage(stdout);
      return 0;
    }
    if (args.is("--version")) {
      hymir::tools::printVersion("hymir-dump");
      return 0;
    }
    if (args.isFlag())
      return args.unknown();
    if (!path.empty()) {
      std::fprintf(stderr, "hymir-dump: one artifact at a time (got %s)\n",
                   args.arg().c_str());
      return 2;
    }
    path = args.arg();
  }
  if (path.empty()) {
    usage(stderr);
    return 2;
  }
  absl::StatusOr<hymir::Artifact> artifact = hymir::Artifact::load(path);
  if (!artifact.ok()) {
    std::fprintf(stderr, "hymir-dump: %s\n",
                 std::string(artifact.status().message()).c_str());
    return 1;
  }
  std::fputs(hymir::artifactDump(artifact->module()).c_str(), stdout);
  return 0;
}
