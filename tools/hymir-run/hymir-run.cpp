//===- hymir-run.cpp - run an entry of a .hymir artifact ------------------===//
//
//   hymir-run OUT.hymir --entry NAME --inputs IN.safetensors
//             [--weights W.safetensors] [--device cpu|cuda:0[,1..]]
//             --outputs OUT.safetensors [--check] [--reference REF.safetensors]
//             [--tolerance X]
//
// Inputs and outputs are safetensors files whose tensor names are the
// entry's argument and result names. --check recomputes the entry with the
// fp64 oracle (the entry's reference program, stored by hymir-compile, on
// the same inputs and weights) and prints the relative error per output;
// --reference compares with the tensors of the same names in REF instead
// (computed by the oracle: see `hymir-reference --outputs`); both may be
// given. With --tolerance a run fails when an error exceeds it. A
// runtime-world tool: no LLVM or MLIR. Every failure exits non-zero with a
// message.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Reference.h"
#include "hymir/Runtime/Runtime.h"
#include "hymir/Support/BFloat16.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>

namespace {

struct Options {
  std::string artifact, entry, inputs, weights, outputs, reference;
  std::string device = "cpu";
  bool check = false;
  double tolerance = -1;
};

void usage() {
  std::fprintf(stderr,
               "usage: hymir-run OUT.hymir --entry NAME --inputs IN.safetensors"
               " [--weights W.safetensors] [--device cpu|cuda:N[,M..]]\n"
               "                 --outputs OUT.safetensors [--check] "
               "[--reference REF.safetensors] [--tolerance X]\n");
}

bool parse(int argc, char **argv, Options &o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string &out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "hymir-run: %s needs a value\n", a.c_str());
        return false;
      }
      out = argv[++i];
      return true;
    };
    if (a == "--entry") {
      if (!value(o.entry))
        return false;
    } else if (a == "--inputs") {
      if (!value(o.inputs))
        return false;
    } else if (a == "--weights") {
      if (!value(o.weights))
        return false;
    } else if (a == "--outputs") {
      if (!value(o.outputs))
        return false;
    } else if (a == "--device") {
      if (!value(o.device))
        return false;
    } else if (a == "--check") {
      o.check = true;
    } else if (a == "--reference") {
      if (!value(o.reference))
        return false;
    } else if (a == "--tolerance") {
      std::string t;
      if (!value(t))
        return false;
      char *end = nullptr;
      o.tolerance = std::strtod(t.c_str(), &end);
      if (!end || *end || !(o.tolerance >= 0)) {
        std::fprintf(stderr, "hymir-run: bad --tolerance '%s'\n", t.c_str());
        return false;
      }
    } else if (a == "-h" || a == "--help") {
      return false;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "hymir-run: unknown option %s\n", a.c_str());
      return false;
    } else if (o.artifact.empty()) {
      o.artifact = a;
    } else {
      std::fprintf(stderr, "hymir-run: unexpected argument %s\n", a.c_str());
      if (i > 1 && std::string(argv[i - 1]) == "--check")
        std::fprintf(stderr, "hymir-run: --check takes no file: it "
                             "recomputes the outputs with the oracle; "
                             "--reference FILE compares with a file\n");
      return false;
    }
  }
  if (o.artifact.empty() || o.entry.empty() || o.inputs.empty() ||
      o.outputs.empty()) {
    std::fprintf(stderr, "hymir-run: the artifact, --entry, --inputs and "
                         "--outputs are required\n");
    return false;
  }
  return true;
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
  default:
    return std::nan("");
  }
}

int fail(const absl::Status &s) {
  std::fprintf(stderr, "hymir-run: %s\n", std::string(s.message()).c_str());
  return 1;
}

/// Prints the errors of output `got` against `want(i)` (its element i) and
/// returns whether it passes: finite, and within the tolerance if one is
/// set.
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
  double rel = std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
  bool pass = finite && (tolerance < 0 || rel <= tolerance);
  std::printf("check %-24s relative error %.3e  max abs error %.3e%s\n",
              name.c_str(), rel, maxAbs,
              !finite ? "  NON-FINITE" : (pass ? "" : "  ABOVE TOLERANCE"));
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
                                     const hymir::SafetensorsFile *weights,
                                     const hymir::TensorMap &outputs) {
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
    absl::StatusOr<hymir::ReferenceValue> value =
        absl::InvalidArgumentError(where + ": the reference reads '" + name +
                                   "', which is neither an input nor a "
                                   "weight given");
    if (auto it = inputs.find(name); it != inputs.end()) {
      const hymir::Tensor &t = it->second;
      value = hymir::referenceValueFromBytes(t.dtype(), t.shape(), t.data(),
                                             t.sizeBytes(), kind,
                                             where + ": input '" + name + "'");
    } else if (const hymir::TensorView *v =
                   weights ? weights->find(name) : nullptr) {
      value = hymir::referenceValueFromBytes(v->dtype, v->shape, v->data,
                                             v->sizeBytes, kind,
                                             where + ": weight '" + name + "'");
    }
    if (!value.ok())
      return value.status();
    args.push_back(*std::move(value));
  }
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<hymir::ReferenceValue>> results =
      hymir::evaluateReference(program, std::move(args));
  if (!results.ok())
    return absl::Status(results.status().code(),
                        where + ": " + std::string(results.status().message()));
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  std::printf("hymir-run: --check: the fp64 oracle ran the entry's reference "
              "program (%zu ops) in %.1f ms\n",
              program.ops.size(), ms);
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
      return absl::InvalidArgumentError(where + ": output '" + name + "' is " +
                                        shapeString(got->second.shape()) +
                                        ", but the oracle computed " +
                                        hymir::describeReferenceValue(want));
    ok &= compare(name, got->second, at, o.tolerance);
  }
  return ok;
}

/// --reference: compares every output with the tensor of the same name in
/// the file. Returns whether all pass; an error when a tensor is missing.
absl::StatusOr<bool> checkWithFile(const Options &o,
                                   const hymir::TensorMap &outputs) {
  auto ref = hymir::SafetensorsFile::open(o.reference);
  if (!ref.ok())
    return ref.status();
  std::printf("hymir-run: --reference: comparing with %s\n",
              o.reference.c_str());
  bool ok = true;
  for (const auto &[name, t] : outputs) {
    const hymir::TensorView *r = ref->find(name);
    if (!r || r->shape != t.shape())
      return absl::InvalidArgumentError(
          "--reference: " + o.reference + " has no tensor '" + name +
          "' of the output's shape " + shapeString(t.shape()));
    const hymir::TensorView view = *r;
    ok &= compare(
        name, t,
        [&view](int64_t i) { return element(view.dtype, view.data, i); },
        o.tolerance);
  }
  return ok;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    usage();
    return 2;
  }
  auto runtime = hymir::Runtime::create(o.device);
  if (!runtime.ok())
    return fail(runtime.status());
  auto module = (*runtime)->load(o.artifact);
  if (!module.ok())
    return fail(module.status());
  std::optional<hymir::SafetensorsFile> weights;
  if (!o.weights.empty()) {
    auto opened = hymir::SafetensorsFile::open(o.weights);
    if (!opened.ok())
      return fail(opened.status());
    weights.emplace(*std::move(opened));
    if (absl::Status s = (*module)->bindWeights(*weights); !s.ok())
      return fail(s);
  }
  auto inputFile = hymir::SafetensorsFile::open(o.inputs);
  if (!inputFile.ok())
    return fail(inputFile.status());
  hymir::TensorMap inputs;
  for (const hymir::TensorView &v : inputFile->tensors()) {
    auto t = hymir::Tensor::fromBytes(v.dtype, v.shape, v.data, v.sizeBytes);
    if (!t.ok())
      return fail(t.status());
    inputs[v.name] = std::move(*t);
  }
  auto outputs = (*module)->call(o.entry, inputs);
  if (!outputs.ok())
    return fail(outputs.status());

  hymir::SafetensorsWriter writer;
  for (const auto &[name, t] : *outputs)
    writer.add(name, t.dtype(), t.shape(), t.data(), t.sizeBytes());
  writer.setMetadata("producer", "hymir-run");
  if (absl::Status s = writer.write(o.outputs); !s.ok())
    return fail(s);
  std::printf("hymir-run: %s on %s: %zu output(s) written to %s\n",
              o.entry.c_str(), o.device.c_str(), outputs->size(),
              o.outputs.c_str());

  bool ok = true;
  if (o.check) {
    absl::StatusOr<bool> pass = checkWithOracle(
        o, (*module)->desc(), inputs, weights ? &*weights : nullptr, *outputs);
    if (!pass.ok())
      return fail(pass.status());
    ok &= *pass;
  }
  if (!o.reference.empty()) {
    absl::StatusOr<bool> pass = checkWithFile(o, *outputs);
    if (!pass.ok())
      return fail(pass.status());
    ok &= *pass;
  }
  if (!ok) {
    std::fprintf(stderr, "hymir-run: check failed: an output is %s\n",
                 o.tolerance < 0 ? "not finite"
                                 : "not finite or above the tolerance");
    return 1;
  }
  return 0;
}
