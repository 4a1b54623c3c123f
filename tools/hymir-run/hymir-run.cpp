//===- hymir-run.cpp - run an entry of a .hymir artifact ------------------===//
//
//   hymir-run OUT.hymir --entry NAME --inputs IN.safetensors
//             [--weights W.safetensors | --random-weights SEED]
//             [--device cpu|cuda:0[,1..]]
//             --outputs OUT.safetensors [--check] [--reference REF.safetensors]
//             [--tolerance X]
//
// Inputs and outputs are safetensors files whose tensor names are the
// entry's argument and result names. --check recomputes the entry with the
// fp64 oracle (the entry's reference program, stored by hymir-compile, on
// the same inputs and weights); --reference compares with the tensors of the
// same names in REF instead (see `hymir-reference --outputs`); both may be
// given. Each output prints PASS or FAIL against a tolerance on its
// relative L2 error (a default per element type, or --tolerance), and any
// FAIL exits 1, as iree-run-module --expected_output does. The outputs file
// is written through a temporary file in its folder and a rename, and may
// not be one of the files read. --random-weights SEED binds parameters made
// on the device (Module::bindRandomWeights, as hymir-bench's option), for
// a model too large to ship; --check needs weights on the host and refuses
// it. A runtime-world tool: no LLVM or MLIR.
// Every failure exits non-zero with a one-line message.
//
//===----------------------------------------------------------------------===//

#include "../RuntimeToolArgs.h"
#include "../RuntimeToolProgress.h"
#include "../RuntimeToolTensors.h"

#include "hymir/Runtime/Distributed.h"
#include "hymir/Runtime/Reference.h"
#include "hymir/Runtime/Runtime.h"
#include "hymir/Support/BFloat16.h"
#include "hymir/Support/Names.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>

namespace {

constexpr const char *kTool = "hymir-run";

struct Options {
  std::string artifact, entry, inputs, weights, outputs, reference;
  std::string device = "cpu";
  bool check = false;
  std::optional<uint64_t> randomWeightsSeed;
  double tolerance = -1; // < 0: the default of each output's dtype
};

/// The relative L2 error an output may have against the fp64 oracle when
/// --tolerance is not given. They are the tolerances the end-to-end tests
/// hold every graph to (test/CMakeLists.txt): f32 1e-4 (f32 rounding of
/// RoPE angles and f32 accumulation), bf16 2e-2 (up to four bf16 roundings,
/// 2^-9 relative each, of stored activations along a chain), f16 1e-2 (the
/// same with f16's 2^-11). f64 outputs get f32's bound, since kernels may
/// accumulate in f32; integer outputs (ids, offsets) must match exactly.
double defaultTolerance(hymir::DType dtype) {
  switch (dtype) {
  case hymir::DType::BF16:
    return 2e-2;
  case hymir::DType::F16:
    return 1e-2;
  case hymir::DType::F32:
  case hymir::DType::F64:
    return 1e-4;
  default:
    return 0;
  }
}

bool isFloat(hymir::DType d) {
  return d == hymir::DType::F32 || d == hymir::DType::F64 ||
         d == hymir::DType::BF16 || d == hymir::DType::F16;
}
bool isInteger(hymir::DType d) {
  return d == hymir::DType::I32 || d == hymir::DType::I64;
}

void usage(std::FILE *to, bool full) {
  std::fprintf(to, "usage: hymir-run ARTIFACT --entry NAME --inputs "
                   "IN.safetensors --outputs OUT.safetensors\n"
                   "                 [--weights W.safetensors | "
                   "--random-weights SEED]\n"
                   "                 [--device cpu|cuda|cuda:N[,M..]]\n"
                   "                 [--check] [--reference REF.safetensors] "
                   "[--tolerance X]\n");
  if (!full)
    return;
  std::fprintf(
      to,
      "\n"
      "Runs entry NAME of a .hymir artifact (from hymir-compile) once and\n"
      "writes its outputs. Flags take their value as --flag=value or\n"
      "--flag value.\n"
      "\n"
      "  --entry NAME        the entry (function) to run; hymir-dump lists "
      "them\n"
      "  --inputs FILE       safetensors file holding every input of the "
      "entry\n"
      "                      by name, with the entry's dtypes and shapes\n"
      "  --outputs FILE      safetensors file the outputs are written to (via "
      "a\n"
      "                      temporary file in the same folder and a rename);\n"
      "                      it may not be the artifact, inputs, weights or\n"
      "                      reference file\n"
      "  --weights FILE      safetensors file binding the module's parameters\n"
      "                      by name (needed when the artifact has params);\n"
      "                      or a checkpoint's model.safetensors.index.json\n"
      "                      (its shards), or a model directory\n"
      "  --random-weights SEED instead of --weights: parameters made on the\n"
      "                      device from SEED (hymir-bench's option; not with\n"
      "                      --check)\n"
      "  --device DEV        cpu (default), cuda, cuda:N, or cuda:N,M,... for\n"
      "                      an artifact compiled for several devices\n"
      "                      As one rank of a job (RANK/WORLD_SIZE,\n"
      "                      MASTER_ADDR/MASTER_PORT as torchrun sets them,\n"
      "                      or OMPI_COMM_WORLD_* / PMI_* with MASTER_PORT):\n"
      "                      this process runs device RANK of the artifact's\n"
      "                      WORLD_SIZE (plain cuda: GPU LOCAL_RANK); every\n"
      "                      rank writes the whole outputs\n"
      "  --check             recompute the outputs with the fp64 oracle (the\n"
      "                      entry's reference program, stored in the "
      "artifact)\n"
      "                      on the same inputs and weights, and compare\n"
      "  --reference FILE    compare with the tensors of the same names in "
      "FILE\n"
      "                      (hymir-reference --outputs writes one); each "
      "must\n"
      "                      have the output's shape and its dtype or the\n"
      "                      oracle's (f64 for float outputs, i64 for integer\n"
      "                      ones), and hold no NaN\n"
      "  --tolerance X       the largest relative L2 error ||got - want|| /\n"
      "                      ||want|| an output may have, for every output;\n"
      "                      default per element type: f32 and f64 1e-4, bf16\n"
      "                      2e-2, f16 1e-2, integers 0 (exact). These are "
      "the\n"
      "                      bounds the end-to-end tests hold every graph to\n"
      "  -h, --help          this text\n"
      "  --version           hymir's version and the artifact schema version\n"
      "\n"
      "Prints the call time of the compiled code, and with --check the fp64\n"
      "oracle's time beside it (the cpu target's code is for correctness: see\n"
      "docs/running.md for how slow it is). Each compared output prints\n"
      "  check NAME relative error E  max abs error A  tolerance T  PASS|FAIL\n"
      "A step that takes more than a few seconds prints progress on stderr.\n"
      "\n"
      "Exit status: 0 when every compared output passes; 1 when one fails or\n"
      "anything goes wrong (a one-line message); 2 on a usage error.\n");
}

/// 0 when parsed, 1 after --help or --version (exit 0), 2 on a usage error.
int parse(int argc, char **argv, Options &o) {
  hymir::tools::Args args(kTool, argc, argv);
  while (args.next()) {
    if (args.is("-h") || args.is("--help")) {
      usage(stdout, true);
      return 1;
    }
    if (args.is("--version")) {
      hymir::tools::printVersion(kTool);
      return 1;
    }
    std::string *text = args.is("--entry")       ? &o.entry
                        : args.is("--inputs")    ? &o.inputs
                        : args.is("--weights")   ? &o.weights
                        : args.is("--outputs")   ? &o.outputs
                        : args.is("--device")    ? &o.device
                        : args.is("--reference") ? &o.reference
                                                 : nullptr;
    if (text) {
      if (!args.value(*text))
        return 2;
    } else if (args.is("--random-weights")) {
      std::string v;
      if (!args.value(v))
        return 2;
      uint64_t seed = 0;
      char *end = nullptr;
      errno = 0;
      seed = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || v[0] == '-' || !end || *end || errno) {
        std::fprintf(stderr,
                     "hymir-run: --random-weights '%s' must be an integer "
                     ">= 0 (the seed)\n",
                     v.c_str());
        return 2;
      }
      o.randomWeightsSeed = seed;
    } else if (args.is("--check")) {
      if (!args.noValue())
        return 2;
      o.check = true;
    } else if (args.is("--tolerance")) {
      std::string t;
      if (!args.value(t))
        return 2;
      char *end = nullptr;
      o.tolerance = std::strtod(t.c_str(), &end);
      if (t.empty() || !end || *end || !(o.tolerance >= 0) ||
          !std::isfinite(o.tolerance)) {
        std::fprintf(stderr,
                     "hymir-run: --tolerance must be a finite number >= 0, "
                     "got '%s'\n",
                     t.c_str());
        return 2;
      }
    } else if (args.isFlag()) {
      return args.unknown();
    } else if (o.artifact.empty()) {
      o.artifact = args.arg();
    } else {
      std::fprintf(stderr, "hymir-run: unexpected argument %s%s\n",
                   args.arg().c_str(),
                   o.check ? " (--check takes no file: it recomputes the "
                             "outputs with the oracle; --reference FILE "
                             "compares with a file)"
                           : "");
      return 2;
    }
  }
  if (o.artifact.empty() || o.entry.empty() || o.inputs.empty() ||
      o.outputs.empty()) {
    std::fprintf(stderr, "hymir-run: the artifact, --entry, --inputs and "
                         "--outputs are required (see hymir-run --help)\n");
    return 2;
  }
  if (o.randomWeightsSeed && !o.weights.empty()) {
    std::fprintf(stderr, "hymir-run: --weights and --random-weights are "
                         "alternatives; give one\n");
    return 2;
  }
  if (o.randomWeightsSeed && o.check) {
    std::fprintf(stderr,
                 "hymir-run: --check recomputes with the oracle on the host, "
                 "which needs the weights from a file; --random-weights makes "
                 "them on the device only (use --reference)\n");
    return 2;
  }
  return 0;
}

/// An error when --outputs names a file this run reads: writing it would
/// truncate a file that is still mapped (a SIGBUS for the weights) or
/// destroy the only copy of the inputs. Compared by device and inode, so a
/// second path to the same file (a link, "./x") is caught too.
bool outputsOverwriteAnInput(const Options &o) {
  struct stat out;
  if (::stat(o.outputs.c_str(), &out) != 0)
    return false; // a new file: nothing to overwrite
  const std::pair<const char *, const std::string *> read[] = {
      {"the artifact", &o.artifact},
      {"--inputs", &o.inputs},
      {"--weights", &o.weights},
      {"--reference", &o.reference}};
  for (auto [what, path] : read) {
    struct stat in;
    if (path->empty() || ::stat(path->c_str(), &in) != 0)
      continue;
    if (in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
      std::fprintf(stderr,
                   "hymir-run: --outputs %s is the same file as %s %s; "
                   "refusing to overwrite a file the run reads\n",
                   o.outputs.c_str(), what, path->c_str());
      return true;
    }
  }
  return false;
}

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

/// IEEE half to float (normal, subnormal, inf and NaN).
float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  int exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent == 0) {
    float f = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -f : f;
  } else {
    bits = sign | (uint32_t(exponent - 15 + 127) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// Reads element `i` of a float tensor as a double.
double element(hymir::DType dtype, const uint8_t *data, int64_t i) {
  switch (dtype) {
  case hymir::DType::F32: {
    float f;
    std::memcpy(&f, data + 4 * i, 4);
    return f;
  }
  case hymir::DType::F64: {
    double d;
    std::memcpy(&d, data + 8 * i, 8);
    return d;
  }
  case hymir::DType::BF16: {
    uint16_t h;
    std::memcpy(&h, data + 2 * i, 2);
    return hymir::bf16ToFloat(h);
  }
  case hymir::DType::I32: {
    int32_t v;
    std::memcpy(&v, data + 4 * i, 4);
    return v;
  }
  case hymir::DType::I64: {
    int64_t v;
    std::memcpy(&v, data + 8 * i, 8);
    return static_cast<double>(v);
  }
  case hymir::DType::F16: {
    uint16_t h;
    std::memcpy(&h, data + 2 * i, 2);
    return halfToFloat(h);
  }
  case hymir::DType::U8:
    return data[i];
  default:
    return std::nan("");
  }
}

int fail(const absl::Status &s) {
  std::fprintf(stderr, "hymir-run: %s\n", std::string(s.message()).c_str());
  return 1;
}

/// The tolerance output `got` is held to.
double toleranceFor(const Options &o, const hymir::Tensor &got) {
  return o.tolerance >= 0 ? o.tolerance : defaultTolerance(got.dtype());
}

/// Prints the errors of output `got` against `want(i)` (its element i), and
/// PASS when it is finite and its relative L2 error is within `tolerance`,
/// FAIL otherwise. Returns whether it passed. The line starts
/// "check NAME relative error E" (scripts read the fifth word).
bool compare(const std::string &name, const hymir::Tensor &got,
             const std::function<double(int64_t)> &want, double tolerance) {
  double diff = 0, norm = 0, maxAbs = 0;
  bool finite = true;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = element(got.dtype(), got.data(), i);
    double w = want(i);
    finite &= std::isfinite(g);
    diff += (g - w) * (g - w);
    norm += w * w;
    maxAbs = std::max(maxAbs, std::fabs(g - w));
  }
  // An all-zero want: the error is absolute (diff over 1e-30 would turn any
  // rounding into a huge relative error).
  double rel = norm > 0 ? std::sqrt(diff) / std::sqrt(norm) : std::sqrt(diff);
  bool pass = finite && rel <= tolerance;
  std::printf("check %-24s relative error %.3e  max abs error %.3e  "
              "tolerance %.0e  %s\n",
              hymir::printableName(name).c_str(), rel, maxAbs, tolerance,
              pass ? "PASS" : (finite ? "FAIL" : "FAIL (non-finite output)"));
  return pass;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// --check: evaluates the entry's reference program with the oracle on the
/// inputs and weights the entry ran on, and compares every output with it.
/// Returns whether all outputs pass; an error when the check cannot be made.
absl::StatusOr<bool> checkWithOracle(const Options &o,
                                     const hymir::ModuleDesc &module,
                                     const hymir::TensorMap &inputs,
                                     const hymir::ShardedSafetensors *weights,
                                     const hymir::TensorMap &outputs,
                                     double callMs) {
  const hymir::EntryDesc *entry = nullptr;
  for (const hymir::EntryDesc &e : module.entries)
    if (e.name == o.entry)
      entry = &e;
  std::string where = o.artifact + ": entry '" + o.entry + "': --check";
  if (!entry || !entry->reference)
    return absl::FailedPreconditionError(
        where + ": the artifact carries no reference program for this entry "
                "(hymir-compile could not express its ops for the oracle "
                "evaluator, and said why when it compiled it)");
  const hymir::RefProgramDesc &program = *entry->reference;
  std::vector<hymir::ReferenceValue> args;
  for (size_t i = 0; i < program.arguments.size(); ++i) {
    const std::string &name = program.argumentNames[i];
    hymir::RefValueKind kind = program.values[program.arguments[i]].kind;
    absl::StatusOr<hymir::ReferenceValue> value = absl::InvalidArgumentError(
        where + ": the reference reads '" + hymir::printableName(name) +
        "', which is neither an input nor a "
        "weight given");
    if (auto it = inputs.find(name); it != inputs.end()) {
      const hymir::Tensor &t = it->second;
      value = hymir::referenceValueFromBytes(
          t.dtype(), t.shape(), t.data(), t.sizeBytes(), kind,
          where + ": input '" + hymir::printableName(name) + "'");
    } else if (const hymir::TensorView *v =
                   weights ? weights->find(name) : nullptr) {
      value = hymir::referenceValueFromBytes(
          v->dtype, v->shape, v->data, v->sizeBytes, kind,
          where + ": weight '" + hymir::printableName(name) + "'");
    }
    if (!value.ok())
      return value.status();
    args.push_back(*std::move(value));
  }
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<hymir::ReferenceValue>> results = [&] {
    hymir::tools::Progress progress(kTool, "--check: the fp64 oracle runs the "
                                           "entry's reference program");
    return hymir::evaluateReference(program, std::move(args));
  }();
  if (!results.ok())
    return absl::Status(results.status().code(),
                        where + ": " + std::string(results.status().message()));
  double ms = msSince(start);
  std::printf("hymir-run: --check: the fp64 oracle ran the entry's reference "
              "program (%zu ops) in %.3f ms; the compiled call took %.3f ms "
              "(%.2fx the oracle's time)\n",
              program.ops.size(), ms, callMs, ms > 0 ? callMs / ms : 0.0);
  bool ok = true;
  for (size_t i = 0; i < entry->outputs.size() && i < results->size(); ++i) {
    const std::string &name = entry->outputs[i].name;
    auto got = outputs.find(name);
    if (got == outputs.end())
      return absl::InternalError(where + ": the run produced no output '" +
                                 name + "'");
    const hymir::ReferenceValue &want = (*results)[i];
    std::vector<int64_t> wantShape;
    std::function<double(int64_t)> at;
    if (const auto *t = std::get_if<hymir::oracle::Tensor>(&want)) {
      wantShape = t->shape;
      at = [t](int64_t k) { return t->data[static_cast<size_t>(k)]; };
    } else if (const auto *t = std::get_if<hymir::oracle::IntTensor>(&want)) {
      wantShape = t->shape;
      at = [t](int64_t k) {
        return static_cast<double>(t->data[static_cast<size_t>(k)]);
      };
    }
    if (!at || wantShape != got->second.shape())
      return absl::InvalidArgumentError(
          where + ": output '" + hymir::printableName(name) + "' is " +
          shapeString(got->second.shape()) + ", but the oracle computed " +
          hymir::describeReferenceValue(want));
    ok &= compare(name, got->second, at, toleranceFor(o, got->second));
  }
  return ok;
}

/// Whether a reference tensor of dtype `ref` may be compared with an output
/// of dtype `out`: the output's own dtype, or the oracle's form of it (f64
/// for float outputs, i64 for integer ones, as hymir-reference writes).
bool referenceDTypeFits(hymir::DType ref, hymir::DType out) {
  return ref == out || (isFloat(out) && ref == hymir::DType::F64) ||
         (isInteger(out) && ref == hymir::DType::I64);
}

/// --reference: compares every output with the tensor of the same name in
/// the file. Returns whether all pass; an error naming the tensor when the
/// file cannot serve as the reference: a tensor missing, of another shape
/// or dtype, or holding NaN (a comparison with NaN passes nothing).
absl::StatusOr<bool> checkWithFile(const Options &o,
                                   const hymir::TensorMap &outputs) {
  auto ref = hymir::SafetensorsFile::open(o.reference);
  if (!ref.ok())
    return ref.status();
  std::string where = "--reference " + o.reference + ": tensor '";
  for (const auto &[name, t] : outputs) {
    const hymir::TensorView *r = ref->find(name);
    if (!r)
      return absl::InvalidArgumentError(
          "--reference " + o.reference + " has no tensor '" +
          hymir::printableName(name) + "' (an output of the entry)");
    if (r->shape != t.shape())
      return absl::InvalidArgumentError(
          where + hymir::printableName(name) + "' is " + shapeString(r->shape) +
          ", but the output is " + shapeString(t.shape()));
    if (!referenceDTypeFits(r->dtype, t.dtype()))
      return absl::InvalidArgumentError(
          where + hymir::printableName(name) + "' is " +
          std::string(hymir::dtypeName(r->dtype)) + ", but the output is " +
          std::string(hymir::dtypeName(t.dtype())) +
          " (a reference holds the output's dtype or " +
          (isInteger(t.dtype()) ? "I64" : "F64") + ")");
    for (int64_t i = 0; i < t.numel(); ++i)
      if (std::isnan(element(r->dtype, r->data, i)))
        return absl::InvalidArgumentError(
            where + hymir::printableName(name) + "' holds NaN (element " +
            std::to_string(i) + "): it cannot serve as a reference");
  }
  std::printf("hymir-run: --reference: comparing with %s\n",
              o.reference.c_str());
  bool ok = true;
  for (const auto &[name, t] : outputs) {
    const hymir::TensorView view = *ref->find(name);
    ok &= compare(
        name, t,
        [&view](int64_t i) { return element(view.dtype, view.data, i); },
        toleranceFor(o, t));
  }
  return ok;
}

/// Writes the outputs to a temporary file next to `path` and renames it
/// over `path`, so a failed or interrupted write leaves no half-written
/// file and never truncates a file another process (or this one) has open.
absl::Status writeOutputs(const hymir::TensorMap &outputs,
                          const std::string &path) {
  hymir::SafetensorsWriter writer;
  for (const auto &[name, t] : outputs)
    writer.add(name, t.dtype(), t.shape(), t.data(), t.sizeBytes());
  writer.setMetadata("producer", "hymir-run");
  std::string tmp = path + ".hymir-run-" + std::to_string(::getpid()) + ".tmp";
  if (absl::Status s = writer.write(tmp); !s.ok()) {
    std::remove(tmp.c_str());
    return s;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    return absl::InternalError("cannot rename " + tmp + " to " + path + ": " +
                               std::strerror(err));
  }
  return absl::OkStatus();
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  if (int r = parse(argc, argv, o); r != 0)
    return r == 1 ? 0 : 2;
  if (outputsOverwriteAnInput(o))
    return 2;
  // One rank of a job when a launcher's variables say so (torchrun,
  // mpirun: hymir/Runtime/Distributed.h).
  auto group = hymir::processGroupFromEnvironment();
  if (!group.ok())
    return fail(group.status());
  const std::string device = o.device;
  if (*group) // messages below name the rank
    o.device += " (rank " + std::to_string((*group)->rank) + " of " +
                std::to_string((*group)->worldSize) + ")";
  auto runtime = *group ? hymir::Runtime::create(device, **group)
                        : hymir::Runtime::create(device);
  if (!runtime.ok())
    return fail(runtime.status());
  auto module = (*runtime)->load(o.artifact);
  if (!module.ok())
    return fail(module.status());
  std::optional<hymir::ShardedSafetensors> weights;
  if (!o.weights.empty()) {
    hymir::tools::Progress progress(kTool, "binding weights from " + o.weights);
    auto opened = hymir::ShardedSafetensors::open(o.weights);
    if (!opened.ok())
      return fail(opened.status());
    weights.emplace(*std::move(opened));
    if (absl::Status s = (*module)->bindWeights(*weights); !s.ok())
      return fail(s);
  } else if (o.randomWeightsSeed) {
    hymir::tools::Progress progress(kTool,
                                    "making random weights on " + o.device);
    if (absl::Status s = (*module)->bindRandomWeights(*o.randomWeightsSeed);
        !s.ok())
      return fail(s);
  }
  hymir::TensorMap inputs;
  {
    hymir::tools::Progress progress(kTool, "reading inputs from " + o.inputs);
    absl::StatusOr<hymir::TensorMap> read =
        hymir::tools::readTensorFile(o.inputs);
    if (!read.ok())
      return fail(read.status());
    inputs = std::move(*read);
  }
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<hymir::TensorMap> outputs = [&] {
    hymir::tools::Progress progress(kTool,
                                    "running " + o.entry + " on " + o.device);
    return (*module)->call(o.entry, inputs);
  }();
  if (!outputs.ok())
    return fail(outputs.status());
  const double callMs = msSince(start);

  if (absl::Status s = writeOutputs(*outputs, o.outputs); !s.ok())
    return fail(s);
  std::printf("hymir-run: %s on %s: call %.3f ms (inputs copied in and "
              "outputs out included); %zu output(s) written to %s\n",
              o.entry.c_str(), o.device.c_str(), callMs, outputs->size(),
              o.outputs.c_str());

  bool compared = false, failed = false;
  if (o.check) {
    absl::StatusOr<bool> pass =
        checkWithOracle(o, (*module)->desc(), inputs,
                        weights ? &*weights : nullptr, *outputs, callMs);
    if (!pass.ok())
      return fail(pass.status());
    compared = true;
    failed |= !*pass;
  }
  if (!o.reference.empty()) {
    absl::StatusOr<bool> pass = checkWithFile(o, *outputs);
    if (!pass.ok())
      return fail(pass.status());
    compared = true;
    failed |= !*pass;
  }
  if (failed) {
    std::fprintf(stderr,
                 "hymir-run: check failed: an output is FAIL (not finite or "
                 "above its tolerance; see the check lines)\n");
    return 1;
  }
  if (compared)
    std::printf("hymir-run: every compared output PASS\n");
  return 0;
}
