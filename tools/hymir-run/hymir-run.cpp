//===- hymir-run.cpp - run an entry of a .hymir artifact ------------------===//
//
//   hymir-run OUT.hymir --entry NAME --inputs IN.safetensors
//             [--weights W.safetensors] [--device cpu|cuda:0]
//             --outputs OUT.safetensors [--check REF.safetensors]
//             [--tolerance X]
//
// Inputs and outputs are safetensors files whose tensor names are the
// entry's argument and result names. --check compares every output with the
// tensor of the same name in REF (computed by the oracle: see
// `hymir-reference --outputs`) and prints the relative error per output;
// with --tolerance it fails when an error exceeds it. A runtime-world tool:
// no LLVM or MLIR. Every failure exits non-zero with a message.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Runtime.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

struct Options {
  std::string artifact, entry, inputs, weights, outputs, check;
  std::string device = "cpu";
  double tolerance = -1;
};

void usage() {
  std::fprintf(stderr,
               "usage: hymir-run OUT.hymir --entry NAME --inputs IN.safetensors"
               " [--weights W.safetensors] [--device cpu|cuda:N]\n"
               "                 --outputs OUT.safetensors [--check "
               "REF.safetensors] [--tolerance X]\n");
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
      if (!value(o.check))
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
    uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
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
  if (!o.weights.empty()) {
    auto weights = hymir::SafetensorsFile::open(o.weights);
    if (!weights.ok())
      return fail(weights.status());
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

  if (o.check.empty())
    return 0;
  auto ref = hymir::SafetensorsFile::open(o.check);
  if (!ref.ok())
    return fail(ref.status());
  bool ok = true;
  for (const auto &[name, t] : *outputs) {
    std::vector<int64_t> shape = t.shape();
    const hymir::TensorView *r = ref->find(name);
    if (!r || r->shape != shape) {
      std::fprintf(stderr,
                   "hymir-run: --check: %s has no tensor '%s' of "
                   "the output's shape\n",
                   o.check.c_str(), name.c_str());
      return 1;
    }
    double diff = 0, norm = 0, maxAbs = 0;
    bool finite = true;
    for (int64_t i = 0; i < t.numel(); ++i) {
      double got = element(t.dtype(), t.data(), i);
      double want = element(r->dtype, r->data, i);
      finite &= std::isfinite(got);
      diff += (got - want) * (got - want);
      norm += want * want;
      maxAbs = std::max(maxAbs, std::fabs(got - want));
    }
    double rel = std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
    bool pass = finite && (o.tolerance < 0 || rel <= o.tolerance);
    ok &= pass;
    std::printf("check %-24s relative error %.3e  max abs error %.3e%s\n",
                name.c_str(), rel, maxAbs,
                !finite ? "  NON-FINITE" : (pass ? "" : "  ABOVE TOLERANCE"));
  }
  return ok ? 0 : 1;
}
