//===- cispo_step.cpp - a CISPO training step through the C++ API --------===//
//
// What a training framework does with an imported MiniMax model (docs/
// running.md, "The training entries"): score sampled sequences for
// logp_old, then call cispo_step for the loss, logp_new and the gradients
// with respect to the final hidden states and the LM head, and continue the
// backward pass itself (here: print their sizes). Links the runtime only.
//
// Checks, exiting 1 on a failure: on-policy (logp_old = score's log-probs)
// logp_new equals logp_old bitwise (one forward kernel), so every IS weight
// is exactly 1 and loss = -sum(mask A logp) / sum(mask), recomputed here in
// double; the gradients are finite and not all zero.
//
// Usage: hymir-cispo-step-example ARTIFACT WEIGHTS [device]
// (ARTIFACT: hymir-import --activation=f32 of a checkpoint, compiled.)
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Runtime.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

template <typename T> std::vector<T> values(const hymir::Tensor &t) {
  std::vector<T> out(static_cast<size_t>(t.numel()));
  std::memcpy(out.data(), t.data(), out.size() * sizeof(T));
  return out;
}

template <typename T>
hymir::Tensor tensor(hymir::DType dtype, std::vector<int64_t> shape,
                     const std::vector<T> &data) {
  hymir::Tensor t(dtype, std::move(shape));
  std::memcpy(t.data(), data.data(), data.size() * sizeof(T));
  return t;
}

int fail(const char *what, const absl::Status &status) {
  std::fprintf(stderr, "cispo_step example: %s: %s\n", what,
               std::string(status.message()).c_str());
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ARTIFACT WEIGHTS [device]\n", argv[0]);
    return 2;
  }
  auto runtime = hymir::Runtime::create(argc > 3 ? argv[3] : "cpu");
  if (!runtime.ok())
    return fail("runtime", runtime.status());
  auto module = (*runtime)->load(argv[1]);
  if (!module.ok())
    return fail("load", module.status());
  auto weights = hymir::SafetensorsFile::open(argv[2]);
  if (!weights.ok())
    return fail("weights", weights.status());
  if (absl::Status s = (*module)->bindWeights(*weights); !s.ok())
    return fail("bind", s);

  // B sequences of T tokens: ids, and the next token of each as the target
  // (a shifted sequence, as a trainer builds them). B is the import's batch
  // (--max-batch, here 1); a vocabulary of at least 64.
  const int64_t batch = 1, tokens = 12, vocab = 64;
  std::vector<int32_t> ids(batch * (tokens + 1));
  uint32_t state = 12345;
  for (int32_t &id : ids) {
    state = state * 1664525u + 1013904223u;
    id = static_cast<int32_t>((state >> 8) % vocab);
  }
  std::vector<int32_t> input(batch * tokens), target(batch * tokens);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < tokens; ++t) {
      input[b * tokens + t] = ids[b * (tokens + 1) + t];
      target[b * tokens + t] = ids[b * (tokens + 1) + t + 1];
    }
  std::vector<int64_t> shape = {batch, tokens};
  hymir::TensorMap scoreIn = {
      {"input_ids", tensor(hymir::DType::I32, shape, input)},
      {"targets", tensor(hymir::DType::I32, shape, target)}};
  auto scored = (*module)->call("score", scoreIn);
  if (!scored.ok())
    return fail("score", scored.status());
  std::vector<float> logpOld = values<float>(scored->at("logprobs"));

  // Advantages of both signs (a group's normalised rewards), the last two
  // tokens masked out.
  std::vector<float> adv(logpOld.size()), mask(logpOld.size());
  for (size_t k = 0; k < adv.size(); ++k) {
    adv[k] = (k % 3 == 0) ? -0.75f : 1.25f;
    mask[k] = (k % tokens) >= static_cast<size_t>(tokens - 2) ? 0.f : 1.f;
  }
  hymir::TensorMap stepIn = scoreIn;
  stepIn["logp_old"] = tensor(hymir::DType::F32, shape, logpOld);
  stepIn["advantages"] = tensor(hymir::DType::F32, shape, adv);
  stepIn["mask"] = tensor(hymir::DType::F32, shape, mask);
  auto step = (*module)->call("cispo_step", stepIn);
  if (!step.ok())
    return fail("cispo_step", step.status());

  float loss = values<float>(step->at("loss"))[0];
  std::vector<float> logpNew = values<float>(step->at("logp_new"));
  if (std::memcmp(logpNew.data(), logpOld.data(),
                  logpNew.size() * sizeof(float)) != 0) {
    std::fprintf(stderr, "cispo_step example: logp_new differs from score's "
                         "log-probs on the same sequences\n");
    return 1;
  }
  double sum = 0, count = 0;
  for (size_t k = 0; k < adv.size(); ++k) {
    sum += double(mask[k]) * adv[k] * logpNew[k];
    count += mask[k];
  }
  double want = -sum / count;
  if (!(std::fabs(loss - want) <= 1e-5 * (1 + std::fabs(want)))) {
    std::fprintf(stderr, "cispo_step example: loss %.9g, expected %.9g\n", loss,
                 want);
    return 1;
  }
  for (const char *name : {"d_hidden", "d_lm_head"}) {
    const hymir::Tensor &g = step->at(name);
    if (g.dtype() != hymir::DType::F32 && g.dtype() != hymir::DType::BF16) {
      std::fprintf(stderr, "cispo_step example: %s is neither f32 nor bf16\n",
                   name);
      return 1;
    }
    // bf16 holds the top half of an f32.
    double norm = 0;
    for (int64_t i = 0; i < g.numel(); ++i) {
      float x;
      if (g.dtype() == hymir::DType::F32) {
        std::memcpy(&x, g.data() + 4 * i, 4);
      } else {
        uint32_t bits =
            uint32_t(g.data()[2 * i]) | uint32_t(g.data()[2 * i + 1]) << 8;
        bits <<= 16;
        std::memcpy(&x, &bits, 4);
      }
      norm += double(x) * x;
    }
    if (!std::isfinite(norm) || norm == 0) {
      std::fprintf(stderr, "cispo_step example: %s has norm %g\n", name,
                   std::sqrt(norm));
      return 1;
    }
    std::printf("%s [", name);
    for (size_t d = 0; d < g.shape().size(); ++d)
      std::printf(d ? ", %lld" : "%lld", static_cast<long long>(g.shape()[d]));
    std::printf("] norm %.4g\n", std::sqrt(norm));
  }
  std::printf("loss %.6g (on-policy: logp_new = logp_old bitwise, IS weights "
              "1)\ncispo_step example: ok\n",
              loss);
  return 0;
}
