//===- hymir-bench.cpp - time an entry of a .hymir artifact ---------------===//
//
//   hymir-bench ARTIFACT --entry NAME --inputs IN.safetensors
//               [--weights W.safetensors | --random-weights SEED]
//               [--set NAME=VALUE]... [--restore NAME]...
//               [--device cpu|cuda[:N[,M..]]] [--warmup 5] [--iterations 20]
//               [--linear-anchor M,N,K[,bf16|f32]]... [--cuda-graphs]
//               [--queue-behind-copy MIB]
//
// --cuda-graphs also times the entry as one CUDA graph (CallOptions::
// cudaGraphs: captured after the warm-up runs, each timed run one graph
// launch) after the plain launches, on fresh copies of the inputs, and
// prints a second bench line with cuda_graph=1 and the ratio to the plain
// median; where no graph can be made, a line saying why.
//
// --queue-behind-copy MIB queues a device copy of MIB MiB before each timed
// run without waiting for it (CallOptions::queueBehindBytes): the run's
// events and launches are recorded while the device copies, so the time is
// the device's span of the run (no host launch latency; the L2 holds none
// of its data), as a model step queued ahead sees it. Its bench lines end
// with queued_behind_mib=MIB.
//
// --random-inputs T fills every input from its spec with the token count T:
// uniform values in [-1, 1) (never 0; i32 in [0, 64)), the first 4M
// elements of each tensor drawn and then repeated, so that gigabytes of
// weights take no time to make. --set NAME=VALUE then fills input NAME with
// one value (prefill's prompt_lengths=T and cache_lengths=0, decode's
// active=1). --restore NAME copies input NAME in again before every run,
// untimed (a tied input a run changes, such as prefill's cache_lengths).
// --random-weights SEED binds the parameters to values made on the device
// (Module::bindRandomWeights, RandomWeights.h): ones for rank-1 parameters,
// normal(0, 0.02) for the others; a model of 95 GB needs no file and no
// host memory.
//
// Times the entry with Module::time (events on the device's stream on cuda,
// a steady clock on cpu): `--warmup` untimed runs, then `--iterations` timed
// ones, of which it prints the median, minimum, maximum and spread, and the
// tokens per second when the entry has a token count. Each --linear-anchor
// times cuBLAS itself on y[M, N] = x[M, K] w[N, K]^T (fp32 accumulation, random
// non-zero data from a fixed seed) in the same run, the same way, as a
// yardstick for the entry. One result per line, for grep:
//
//   card cuda:0 NVIDIA H100 80GB HBM3                       (cuda only)
//   bench linear device=cuda:0 median_ms=0.0123 iterations=20 min_ms=0.0121
//       max_ms=0.0131 spread=8.1% tokens=4096 tokens_per_s=3.3e+08 (one line)
//   anchor cublas M=4096 N=6144 K=6144 dtype=bf16 median_ms=0.52
//       tflops=594.1 ratio_entry_over_anchor=1.08        (one line)
//
// On cpu an anchor prints a line saying it was skipped. Flags take their
// value as --flag=value or --flag value. A runtime-world tool: no LLVM or
// MLIR. Every failure exits non-zero with a one-line message (2 for a usage
// error).
//
//===----------------------------------------------------------------------===//

#include "CublasAnchor.h"

#include "../RuntimeToolArgs.h"
#include "../RuntimeToolProgress.h"
#include "../RuntimeToolTensors.h"

#include "hymir/Runtime/Distributed.h"
#include "hymir/Runtime/Runtime.h"
#include "hymir/Support/BFloat16.h"
#include "hymir/Support/Names.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

struct Options {
  std::string artifact, entry, inputs, weights;
  std::string device = "cpu";
  int warmup = 5, iterations = 20;
  int randomTokens = 0; // --random-inputs T
  bool cudaGraphs = false;
  int queueBehindMiB = 0; // --queue-behind-copy MIB
  std::optional<uint64_t> randomWeightsSeed;
  std::vector<std::pair<std::string, double>> sets; // --set NAME=VALUE
  std::vector<std::string> restore;
  std::vector<hymir::bench::AnchorShape> anchors;
};

constexpr uint64_t kAnchorSeed = 0x68796d6972ull; // "hymir"

void usage(std::FILE *to, bool full) {
  std::fprintf(
      to,
      "usage: hymir-bench ARTIFACT --entry NAME (--inputs IN.safetensors |"
      " --random-inputs T)\n"
      "                   [--weights W.safetensors | --random-weights SEED]\n"
      "                   [--set NAME=VALUE]... [--restore NAME]...\n"
      "                   [--device cpu|cuda[:N[,M..]]]\n"
      "                   [--warmup N] [--iterations N]\n"
      "                   [--linear-anchor M,N,K[,bf16|f32]]... "
      "[--cuda-graphs]\n"
      "                   [--queue-behind-copy MIB]\n");
  if (!full)
    return;
  std::fprintf(
      to,
      "\n"
      "Times ENTRY of ARTIFACT on the device. Flags take their value as\n"
      "--flag=value or --flag value.\n"
      "\n"
      "  --entry NAME          the entry to time (hymir-dump lists them)\n"
      "  --inputs FILE         safetensors file with every input of the entry\n"
      "  --random-inputs T     instead of --inputs: uniform random inputs in\n"
      "                        [-1, 1) (i32 in [0, 64)) with token count T\n"
      "  --weights FILE        safetensors file binding the module's params\n"
      "                        (or an index of shards, or a model directory)\n"
      "  --random-weights SEED instead of --weights: parameters made on the\n"
      "                        device from SEED (ones for rank-1 ones, else\n"
      "                        normal(0, 0.02); RandomWeights.h)\n"
      "  --set NAME=VALUE      (repeatable) fill input NAME with VALUE (after\n"
      "                        --random-inputs or --inputs)\n"
      "  --restore NAME        (repeatable) copy input NAME in again before\n"
      "                        every run, untimed (a tied input the entry\n"
      "                        updates, e.g. prefill's cache_lengths)\n"
      "  --device DEV          cpu (default), cuda, cuda:N, or cuda:N,M,...\n"
      "                        for an artifact compiled for several devices\n"
      "                        (on cpu they are simulated). As one rank of a\n"
      "                        job (RANK/WORLD_SIZE, MASTER_ADDR/MASTER_PORT\n"
      "                        as torchrun sets them, or the MPI ones): this\n"
      "                        process times device RANK of the artifact's\n"
      "                        WORLD_SIZE (plain cuda: GPU LOCAL_RANK); its\n"
      "                        bench lines end with rank=RANK/WORLD_SIZE and\n"
      "                        every rank draws the same --random-inputs\n"
      "  --warmup N            untimed runs first (default 5)\n"
      "  --iterations N        timed runs (default 20)\n"
      "  --linear-anchor M,N,K[,bf16|f32]\n"
      "                        (repeatable) also time cuBLAS on\n"
      "                        y[M,N] = x[M,K] w[N,K]^T, fp32 accumulation,\n"
      "                        random non-zero data; cuda only (skipped on "
      "cpu\n"
      "                        with a note)\n"
      "  --cuda-graphs         also time the entry as one CUDA graph replayed\n"
      "                        per run (captured after the warm-up runs), "
      "on\n"
      "                        fresh copies of the inputs: a second bench "
      "line\n"
      "                        with cuda_graph=1 and "
      "plain_over_graph=RATIO,\n"
      "                        or 'cuda graphs: not used ...: WHY'\n"
      "  --queue-behind-copy MIB\n"
      "                        before each timed run, queue a device copy of\n"
      "                        MIB MiB without waiting for it: the run is\n"
      "                        timed on a busy device (no host launch\n"
      "                        latency, nothing of it left in the L2); bench\n"
      "                        lines end with queued_behind_mib=MIB\n"
      "  -h, --help            this text\n"
      "  --version             hymir's version and the artifact schema "
      "version\n"
      "\n"
      "Prints, one line each:\n"
      "  bench ENTRY device=DEV median_ms=T iterations=N min_ms=A max_ms=B\n"
      "        spread=S%% [tokens=T tokens_per_s=R]\n"
      "  anchor cublas M= N= K= dtype= median_ms= tflops= "
      "ratio_entry_over_anchor=\n"
      "spread is (max - min) / median; tokens is the entry's token count\n"
      "(its first dynamic dim), tokens_per_s that count over the median.\n"
      "The cpu target's code is for correctness, not speed (docs/running.md).\n"
      "A step that takes more than a few seconds prints progress on stderr.\n");
}

int fail(const absl::Status &s) {
  std::fprintf(stderr, "hymir-bench: %s\n", std::string(s.message()).c_str());
  return 1;
}

/// 0 when parsed, 1 after --help or --version (exit 0), 2 on a usage error.
int parse(int argc, char **argv, Options &o) {
  hymir::tools::Args args("hymir-bench", argc, argv);
  while (args.next()) {
    std::string v;
    auto count = [&](int &out, int least) {
      if (!args.value(v))
        return false;
      if (!absl::SimpleAtoi(v, &out) || out < least) {
        std::fprintf(stderr, "hymir-bench: %s '%s' must be an integer >= %d\n",
                     args.arg().c_str(), v.c_str(), least);
        return false;
      }
      return true;
    };
    if (args.is("-h") || args.is("--help")) {
      usage(stdout, true);
      return 1;
    }
    if (args.is("--version")) {
      hymir::tools::printVersion("hymir-bench");
      return 1;
    }
    std::string *text = args.is("--entry")     ? &o.entry
                        : args.is("--inputs")  ? &o.inputs
                        : args.is("--weights") ? &o.weights
                        : args.is("--device")  ? &o.device
                                               : nullptr;
    if (text) {
      if (!args.value(*text))
        return 2;
    } else if (args.is("--cuda-graphs")) {
      if (!args.noValue())
        return 2;
      o.cudaGraphs = true;
    } else if (args.is("--random-inputs")) {
      if (!count(o.randomTokens, 1))
        return 2;
    } else if (args.is("--random-weights")) {
      if (!args.value(v))
        return 2;
      uint64_t seed = 0;
      if (!absl::SimpleAtoi(v, &seed)) {
        std::fprintf(stderr,
                     "hymir-bench: --random-weights '%s' must be an integer "
                     ">= 0 (the seed)\n",
                     v.c_str());
        return 2;
      }
      o.randomWeightsSeed = seed;
    } else if (args.is("--set")) {
      if (!args.value(v))
        return 2;
      size_t eq = v.find('=');
      double value = 0;
      if (eq == std::string::npos || eq == 0 ||
          !absl::SimpleAtod(v.substr(eq + 1), &value)) {
        std::fprintf(stderr,
                     "hymir-bench: --set '%s' must be NAME=VALUE with a "
                     "number VALUE\n",
                     v.c_str());
        return 2;
      }
      o.sets.push_back({v.substr(0, eq), value});
    } else if (args.is("--restore")) {
      if (!args.value(v))
        return 2;
      o.restore.push_back(v);
    } else if (args.is("--queue-behind-copy")) {
      if (!count(o.queueBehindMiB, 0))
        return 2;
    } else if (args.is("--warmup")) {
      if (!count(o.warmup, 0))
        return 2;
    } else if (args.is("--iterations")) {
      if (!count(o.iterations, 1))
        return 2;
    } else if (args.is("--linear-anchor")) {
      if (!args.value(v))
        return 2;
      absl::StatusOr<hymir::bench::AnchorShape> shape =
          hymir::bench::parseAnchorShape(v);
      if (!shape.ok()) {
        fail(shape.status());
        return 2;
      }
      o.anchors.push_back(*shape);
    } else if (args.isFlag()) {
      return args.unknown();
    } else if (o.artifact.empty()) {
      o.artifact = args.arg();
    } else {
      std::fprintf(stderr, "hymir-bench: unexpected argument %s\n",
                   args.arg().c_str());
      return 2;
    }
  }
  if (!o.weights.empty() && o.randomWeightsSeed) {
    std::fprintf(stderr, "hymir-bench: --weights and --random-weights are "
                         "alternatives; give one\n");
    return 2;
  }
  if (o.artifact.empty() || o.entry.empty() ||
      o.inputs.empty() == (o.randomTokens == 0)) {
    std::fprintf(stderr, "hymir-bench: the artifact, --entry and one of "
                         "--inputs and --random-inputs are required (see "
                         "hymir-bench --help)\n");
    return 2;
  }
  return 0;
}

/// The ordinal of "cuda" or "cuda:N" (already accepted by Runtime::create).
int cudaOrdinal(const std::string &device) {
  int ordinal = 0;
  if (device.size() > 5 && !absl::SimpleAtoi(device.substr(5), &ordinal))
    ordinal = 0;
  return ordinal;
}

/// The entry's token count on these inputs: the value of its first symbol
/// (a dynamic dim of an input), or nothing for an entry with static shapes.
std::optional<int64_t> tokenCount(const hymir::Module &module,
                                  const std::string &entryName,
                                  const hymir::TensorMap &inputs) {
  for (const hymir::EntryDesc &e : module.desc().entries) {
    if (e.name != entryName || e.symbols.empty())
      continue;
    const hymir::SymbolDesc &s = e.symbols.front();
    if (s.input >= e.inputs.size())
      return std::nullopt;
    auto it = inputs.find(e.inputs[s.input].name);
    if (it == inputs.end() || s.dim >= it->second.shape().size())
      return std::nullopt;
    return it->second.shape()[s.dim];
  }
  return std::nullopt;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  if (int r = parse(argc, argv, o); r != 0)
    return r == 1 ? 0 : 2;

  // One rank of a job when a launcher's variables say so (torchrun,
  // mpirun: hymir/Runtime/Distributed.h): this process times its device,
  // and every bench line ends with rank=R/N.
  auto group = hymir::processGroupFromEnvironment();
  if (!group.ok())
    return fail(group.status());
  const std::string rank =
      *group
          ? absl::StrFormat(" rank=%d/%d", (*group)->rank, (*group)->worldSize)
          : std::string();
  auto runtime = *group ? hymir::Runtime::create(o.device, **group)
                        : hymir::Runtime::create(o.device);
  if (!runtime.ok())
    return fail(runtime.status());
  const bool cuda = o.device != "cpu";
  std::unique_ptr<hymir::bench::CublasAnchor> anchor;
  if (cuda) {
    // A rank on plain "cuda" runs on GPU LOCAL_RANK.
    auto created = hymir::bench::CublasAnchor::create(
        *group && o.device == "cuda" ? (*group)->localRank
                                     : cudaOrdinal(o.device));
    if (!created.ok())
      return fail(created.status());
    anchor = std::move(*created);
    std::printf("card %s %s\n", o.device.c_str(), anchor->deviceName().c_str());
  }

  auto module = (*runtime)->load(o.artifact);
  if (!module.ok())
    return fail(module.status());
  if (!o.weights.empty()) {
    hymir::tools::Progress progress("hymir-bench",
                                    "binding weights from " + o.weights);
    auto weights = hymir::ShardedSafetensors::open(o.weights);
    if (!weights.ok())
      return fail(weights.status());
    if (absl::Status s = (*module)->bindWeights(*weights); !s.ok())
      return fail(s);
  } else if (o.randomWeightsSeed) {
    hymir::tools::Progress progress(
        "hymir-bench", absl::StrCat("making random weights on ", o.device,
                                    " (seed ", *o.randomWeightsSeed, ")"));
    if (absl::Status s = (*module)->bindRandomWeights(*o.randomWeightsSeed);
        !s.ok())
      return fail(s);
  }
  hymir::TensorMap inputs;
  if (o.randomTokens) {
    // Fresh random inputs from the entry's specs, with the token count given:
    // large benchmarks need no input file carried to the GPU host.
    const hymir::EntryDesc *entry = nullptr;
    for (const hymir::EntryDesc &e : (*module)->desc().entries)
      if (e.name == o.entry)
        entry = &e;
    if (!entry)
      return fail(absl::NotFoundError("no entry '" +
                                      hymir::printableName(o.entry) + "'"));
    std::vector<int64_t> symbols(entry->symbols.size(), o.randomTokens);
    hymir::tools::Progress progress("hymir-bench",
                                    "drawing random inputs for " +
                                        hymir::printableName(o.entry));
    // The ranks of a job draw the same inputs (each holds the whole of a
    // replicated input and cuts its part of a split one).
    std::mt19937_64 rng(*group ? 0x68796d6972ull : std::random_device{}());
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (const hymir::TensorSpecDesc &spec : entry->inputs) {
      std::vector<int64_t> shape;
      for (const hymir::SizeExprSpec &e : spec.shape) {
        absl::StatusOr<int64_t> v = hymir::evaluate(e, symbols);
        if (!v.ok())
          return fail(v.status());
        shape.push_back(*v);
      }
      // Sized against the machine's memory before anything is allocated: a
      // huge token count or shape is an error naming the input, not an
      // abort in the allocator.
      uint64_t bytes = hymir::dtypeSize(spec.dtype);
      bool overflow = false;
      for (int64_t extent : shape)
        overflow |= extent < 0 ||
                    __builtin_mul_overflow(bytes, static_cast<uint64_t>(extent),
                                           &bytes);
      const uint64_t memory = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                              static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
      if (overflow || bytes > memory / 2)
        return fail(absl::ResourceExhaustedError(absl::StrCat(
            "input '", hymir::printableName(spec.name), "' at --random-inputs ",
            o.randomTokens, " would take ",
            overflow ? std::string("more than 2^64") : absl::StrCat(bytes),
            " bytes, more than half of this machine's ", memory,
            " bytes of memory")));
      std::optional<hymir::Tensor> held;
      try {
        held.emplace(spec.dtype, shape);
      } catch (const std::bad_alloc &) {
        return fail(absl::ResourceExhaustedError(
            absl::StrCat("cannot allocate ", bytes, " bytes for input '",
                         hymir::printableName(spec.name), "'")));
      }
      hymir::Tensor &t = *held;
      uint8_t *d = t.data();
      // Weights of large models are gigabytes: draw the first kFresh
      // elements and repeat them (timing does not depend on the values).
      constexpr int64_t kFresh = int64_t(1) << 22;
      const int64_t fresh = std::min<int64_t>(t.numel(), kFresh);
      for (int64_t k = 0; k < fresh; ++k) {
        float f = dist(rng);
        if (f == 0.0f)
          f = 0.5f;
        switch (spec.dtype) {
        case hymir::DType::F32:
          std::memcpy(d + 4 * k, &f, 4);
          break;
        case hymir::DType::BF16: {
          uint16_t h = hymir::floatToBf16(f);
          std::memcpy(d + 2 * k, &h, 2);
          break;
        }
        case hymir::DType::I32: {
          int32_t i = static_cast<int32_t>(rng() % 64);
          std::memcpy(d + 4 * k, &i, 4);
          break;
        }
        default:
          return fail(absl::UnimplementedError(
              "--random-inputs handles f32, bf16 and i32 inputs"));
        }
      }
      const size_t block =
          static_cast<size_t>(fresh) * hymir::dtypeSize(spec.dtype);
      for (size_t at = block; at < t.sizeBytes(); at += block)
        std::memcpy(d + at, d, std::min(block, t.sizeBytes() - at));
      inputs[spec.name] = std::move(t);
    }
  } else {
    absl::StatusOr<hymir::TensorMap> read =
        hymir::tools::readTensorFile(o.inputs);
    if (!read.ok())
      return fail(read.status());
    inputs = std::move(*read);
  }
  for (const auto &[name, value] : o.sets) {
    auto it = inputs.find(name);
    if (it == inputs.end())
      return fail(absl::NotFoundError(
          absl::StrCat("--set: entry '", hymir::printableName(o.entry),
                       "' has no input '", hymir::printableName(name), "'")));
    hymir::Tensor &t = it->second;
    uint8_t *d = t.data();
    for (int64_t k = 0; k < t.numel(); ++k) {
      switch (t.dtype()) {
      case hymir::DType::F32: {
        float f = static_cast<float>(value);
        std::memcpy(d + 4 * k, &f, 4);
        break;
      }
      case hymir::DType::BF16: {
        uint16_t h = hymir::floatToBf16(static_cast<float>(value));
        std::memcpy(d + 2 * k, &h, 2);
        break;
      }
      case hymir::DType::I32: {
        if (value != static_cast<double>(static_cast<int32_t>(value)))
          return fail(absl::InvalidArgumentError(
              absl::StrCat("--set: input '", hymir::printableName(name),
                           "' is i32 and ", value, " is not an i32 value")));
        int32_t i = static_cast<int32_t>(value);
        std::memcpy(d + 4 * k, &i, 4);
        break;
      }
      default:
        return fail(
            absl::UnimplementedError("--set handles f32, bf16 and i32 inputs"));
      }
    }
  }

  hymir::CallOptions plain;
  plain.queueBehindBytes = int64_t(o.queueBehindMiB) << 20;
  const std::string queued =
      o.queueBehindMiB
          ? absl::StrFormat(" queued_behind_mib=%d", o.queueBehindMiB)
          : std::string();
  absl::StatusOr<hymir::CallTiming> timing = [&] {
    hymir::tools::Progress progress(
        "hymir-bench", "timing " + hymir::printableName(o.entry) + " on " +
                           hymir::printableName(o.device) + " (" +
                           std::to_string(o.warmup) + " warmup + " +
                           std::to_string(o.iterations) + " timed runs)");
    return (*module)->time(o.entry, inputs, o.warmup, o.iterations, o.restore,
                           plain);
  }();
  if (!timing.ok())
    return fail(timing.status());
  const double entryMs = timing->milliseconds;
  std::string line = absl::StrFormat(
      "bench %s device=%s median_ms=%.6g iterations=%d min_ms=%.6g "
      "max_ms=%.6g spread=%.1f%%",
      hymir::printableName(o.entry), hymir::printableName(o.device), entryMs,
      o.iterations, timing->minMilliseconds, timing->maxMilliseconds,
      entryMs > 0
          ? 100 * (timing->maxMilliseconds - timing->minMilliseconds) / entryMs
          : 0.0);
  if (std::optional<int64_t> tokens = tokenCount(**module, o.entry, inputs);
      tokens && entryMs > 0)
    line += absl::StrFormat(" tokens=%d tokens_per_s=%.4g", *tokens,
                            *tokens / (entryMs * 1e-3));
  std::printf("%s%s%s\n", line.c_str(), queued.c_str(), rank.c_str());
  std::fflush(stdout);

  if (o.cudaGraphs) {
    hymir::CallOptions graphs = plain;
    graphs.cudaGraphs = true;
    absl::StatusOr<hymir::CallTiming> replay = [&] {
      hymir::tools::Progress progress(
          "hymir-bench", "timing " + hymir::printableName(o.entry) +
                             " as a CUDA graph on " +
                             hymir::printableName(o.device));
      return (*module)->time(o.entry, inputs, o.warmup, o.iterations, o.restore,
                             graphs);
    }();
    if (!replay.ok())
      return fail(replay.status());
    if (!replay->cudaGraph) {
      std::printf("cuda graphs: not used for entry '%s': %s\n",
                  hymir::printableName(o.entry).c_str(),
                  replay->cudaGraphNotUsed.c_str());
    } else {
      const double graphMs = replay->milliseconds;
      std::printf(
          "%s\n",
          absl::StrFormat(
              "bench %s device=%s cuda_graph=1 median_ms=%.6g iterations=%d "
              "min_ms=%.6g max_ms=%.6g spread=%.1f%% plain_over_graph=%.4g",
              hymir::printableName(o.entry), hymir::printableName(o.device),
              graphMs, o.iterations, replay->minMilliseconds,
              replay->maxMilliseconds,
              graphMs > 0
                  ? 100 * (replay->maxMilliseconds - replay->minMilliseconds) /
                        graphMs
                  : 0.0,
              graphMs > 0 ? entryMs / graphMs : 0.0)
              .append(queued)
              .append(rank)
              .c_str());
    }
    std::fflush(stdout);
  }

  for (size_t i = 0; i < o.anchors.size(); ++i) {
    const hymir::bench::AnchorShape &shape = o.anchors[i];
    std::string label = absl::StrCat(
        "anchor cublas M=", shape.m, " N=", shape.n, " K=", shape.k,
        " dtype=", hymir::bench::anchorDTypeName(shape.dtype));
    if (!anchor) {
      std::printf("%s skipped (device %s: the cuBLAS anchor needs a cuda "
                  "device)\n",
                  label.c_str(), o.device.c_str());
      continue;
    }
    absl::StatusOr<double> ms =
        anchor->time(shape, o.warmup, o.iterations, kAnchorSeed + i);
    if (!ms.ok())
      return fail(ms.status());
    double tflops = hymir::bench::anchorFlops(shape) / (*ms * 1e-3) / 1e12;
    std::printf("%s median_ms=%.6g tflops=%.2f ratio_entry_over_anchor=%.4g\n",
                label.c_str(), *ms, tflops, entryMs / *ms);
    std::fflush(stdout);
  }
  return 0;
}
