//===- Generate.cpp - sampling and continuous batching --------------------===//
//
// The model-independent half of Generate.h: log-probabilities, the sampling
// candidates of temperature, top-k and top-p, the per-sequence random
// streams, and generate(), which schedules prompts over a stepper's slots.
// The steppers live in GenerateForward.cpp.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Generate.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <numeric>
#include <optional>

namespace hymir {

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

absl::Status validateSamplingOptions(const SamplingOptions &o) {
  if (!std::isfinite(o.temperature) || o.temperature < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("temperature must be a finite number >= 0 (0 is "
                     "greedy), got ",
                     o.temperature));
  if (o.topK < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("top-k must be >= 0 (0 keeps every token), got ", o.topK));
  if (!(o.topP > 0 && o.topP <= 1))
    return absl::InvalidArgumentError(absl::StrCat(
        "top-p must be in (0, 1] (1 keeps every token), got ", o.topP));
  if (o.temperature == 0 && (o.topK != 0 || o.topP != 1))
    return absl::InvalidArgumentError(
        "top-k and top-p need a temperature above 0 (temperature 0 is "
        "greedy: the most probable token, whatever top-k or top-p say)");
  return absl::OkStatus();
}

namespace {

/// log(sum(exp(x))) over the logits, in double.
double logSumExp(absl::Span<const float> logits) {
  double max = -std::numeric_limits<double>::infinity();
  for (float x : logits)
    max = std::max(max, static_cast<double>(x));
  double sum = 0;
  for (float x : logits)
    sum += std::exp(static_cast<double>(x) - max);
  return max + std::log(sum);
}

/// The id of the largest logit, the lowest id among equal ones.
int32_t argmax(absl::Span<const float> logits) {
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best])
      best = i;
  return static_cast<int32_t>(best);
}

} // namespace

std::vector<double> logSoftmax(absl::Span<const float> logits) {
  double lse = logSumExp(logits);
  std::vector<double> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    out[i] = static_cast<double>(logits[i]) - lse;
  return out;
}

SamplingCandidates samplingCandidates(absl::Span<const float> logits,
                                      const SamplingOptions &options) {
  SamplingCandidates out;
  if (logits.empty())
    return out;
  if (options.temperature == 0) {
    out.ids = {argmax(logits)};
    out.probabilities = {1.0};
    return out;
  }
  const int64_t vocab = static_cast<int64_t>(logits.size());
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  // Most probable first, the lower id first among equal logits; the order
  // does not change with the temperature.
  auto before = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  if (options.topK > 0 && options.topK < vocab) {
    std::nth_element(ids.begin(), ids.begin() + options.topK, ids.end(),
                     before);
    ids.resize(options.topK);
  }
  // Probabilities of the tokens left, at the temperature.
  double max = -std::numeric_limits<double>::infinity();
  for (int32_t id : ids)
    max = std::max(max, static_cast<double>(logits[id]));
  std::vector<double> weight(logits.size(), 0.0);
  double sum = 0;
  for (int32_t id : ids) {
    weight[id] =
        std::exp((static_cast<double>(logits[id]) - max) / options.temperature);
    sum += weight[id];
  }
  if (options.topP < 1) {
    // The smallest most-probable prefix reaching topP. Sorting all of a
    // large vocabulary per token is slow, so sort a growing head (256,
    // 1024, ... tokens) until it reaches topP: usually the first.
    size_t head = std::min<size_t>(ids.size(), 256);
    size_t keep = ids.size();
    for (;;) {
      if (head < ids.size())
        std::nth_element(ids.begin(), ids.begin() + head, ids.end(), before);
      std::sort(ids.begin(), ids.begin() + head, before);
      double cumulative = 0;
      size_t i = 0;
      for (; i < head; ++i) {
        cumulative += weight[ids[i]] / sum;
        if (cumulative >= options.topP)
          break;
      }
      if (i < head) {
        keep = i + 1;
        break;
      }
      if (head == ids.size())
        break; // rounding kept the total under topP: keep every token
      head = std::min(ids.size(), head * 4);
    }
    ids.resize(keep);
    sum = 0;
    for (int32_t id : ids)
      sum += weight[id];
  }
  // Top-k and top-p reorder the ids; without them they are in order.
  if ((options.topK > 0 && options.topK < vocab) || options.topP < 1)
    std::sort(ids.begin(), ids.end());
  out.ids = std::move(ids);
  out.probabilities.reserve(out.ids.size());
  for (int32_t id : out.ids)
    out.probabilities.push_back(weight[id] / sum);
  return out;
}

SequenceRandom::SequenceRandom(uint64_t seed, uint64_t sequence) {
  // splitmix64 of the pair, so that nearby seeds and indices give
  // unrelated streams.
  uint64_t z =
      seed ^ (sequence + 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  engine_.seed(z ^ (z >> 31));
}

double SequenceRandom::uniform() {
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

SampledToken sampleToken(absl::Span<const float> logits,
                         const SamplingOptions &options,
                         SequenceRandom &random) {
  SampledToken out;
  SamplingCandidates candidates = samplingCandidates(logits, options);
  out.token = candidates.ids.front();
  if (candidates.ids.size() > 1) {
    // Walk the candidates in id order; the last one with a non-zero
    // probability takes what rounding leaves short of 1.
    double u = random.uniform(), cumulative = 0;
    for (size_t i = 0; i < candidates.ids.size(); ++i) {
      if (candidates.probabilities[i] <= 0)
        continue;
      out.token = candidates.ids[i];
      cumulative += candidates.probabilities[i];
      if (u < cumulative)
        break;
    }
  }
  out.logprob = static_cast<double>(logits[out.token]) - logSumExp(logits);
  return out;
}

//===----------------------------------------------------------------------===//
// Generation
//===----------------------------------------------------------------------===//

Stepper::~Stepper() = default;

std::string Stepper::cudaGraphsNote() const {
  return "cuda graphs: not used: this stepper runs no decode entry (graphs "
         "serve the decode step of the cache stepper)";
}

absl::StatusOr<std::vector<float>>
Stepper::tokenLogprobs(absl::Span<const StepFeed>, absl::Span<const int32_t>) {
  return absl::UnimplementedError(
      absl::StrCat(describe(), ": no head kernel for given tokens"));
}

std::string_view finishReasonName(FinishReason reason) {
  switch (reason) {
  case FinishReason::Stop:
    return "stop";
  case FinishReason::Length:
    return "length";
  case FinishReason::Truncated:
    return "truncated";
  }
  return "?";
}

absl::Status validateGenerateOptions(const GenerateOptions &o,
                                     int64_t vocabSize) {
  if (absl::Status s = validateSamplingOptions(o.sampling); !s.ok())
    return s;
  if (o.maxNewTokens < 1)
    return absl::InvalidArgumentError(absl::StrCat(
        "the maximum of new tokens must be >= 1, got ", o.maxNewTokens));
  for (int32_t t : o.stopTokens)
    if (t < 0 || t >= vocabSize)
      return absl::InvalidArgumentError(absl::StrCat(
          "stop token ", t, " is not in the model's vocabulary [0, ", vocabSize,
          ")"));
  if (o.truncationRun < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("the early-truncation run must be >= 0 (0 is off), got ",
                     o.truncationRun));
  if (!(o.truncationProbability > 0 && o.truncationProbability < 1))
    return absl::InvalidArgumentError(
        absl::StrCat("the early-truncation probability must be in (0, 1), "
                     "got ",
                     o.truncationProbability));
  if (o.slots < 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "the number of slots must be >= 0 (0 uses all), got ", o.slots));
  return absl::OkStatus();
}

absl::Status validatePrompt(absl::Span<const int32_t> prompt, int64_t vocab,
                            int64_t context) {
  if (prompt.empty())
    return absl::InvalidArgumentError("the prompt is empty (it needs at least "
                                      "one token)");
  if (static_cast<int64_t>(prompt.size()) > context)
    return absl::InvalidArgumentError(
        absl::StrCat("the prompt has ", prompt.size(),
                     " tokens, more than the model's context of ", context));
  for (size_t i = 0; i < prompt.size(); ++i)
    if (prompt[i] < 0 || prompt[i] >= vocab)
      return absl::InvalidArgumentError(
          absl::StrCat("token ", prompt[i], " at position ", i,
                       " is not in the model's vocabulary [0, ", vocab, ")"));
  return absl::OkStatus();
}

namespace {

/// A sequence holding a slot.
struct Running {
  int64_t index = 0;
  int64_t promptTokens = 0;
  SequenceRandom random;
  Generation generation;
  int64_t confidentRun = 0; // consecutive tokens above the probability
  bool started = false;     // its prompt has been fed
};

} // namespace

absl::StatusOr<std::vector<Generation>>
generate(Stepper &stepper, const std::vector<std::vector<int32_t>> &prompts,
         const GenerateOptions &options, const GenerateCallbacks &callbacks) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t vocab = stepper.vocabSize();
  const int64_t context = stepper.maxContext();
  if (absl::Status s = validateGenerateOptions(options, vocab); !s.ok())
    return s;
  if (options.slots > stepper.slotCount())
    return absl::InvalidArgumentError(
        absl::StrCat("asked for ", options.slots, " slots, but the model has ",
                     stepper.slotCount(), " (its batch size)"));
  for (size_t i = 0; i < prompts.size(); ++i)
    if (absl::Status s = validatePrompt(prompts[i], vocab, context); !s.ok())
      return absl::Status(s.code(),
                          absl::StrCat("prompt ", i, ": ", s.message()));
  const int64_t slots = options.slots ? options.slots : stepper.slotCount();

  std::vector<Generation> results(prompts.size());
  std::vector<std::optional<Running>> slot(slots);
  std::deque<int64_t> waiting(prompts.size());
  std::iota(waiting.begin(), waiting.end(), 0);
  GenerateProgress progress;
  progress.waiting = static_cast<int64_t>(prompts.size());
  std::vector<StepFeed> feeds;
  while (progress.running > 0 || !waiting.empty()) {
    // Waiting prompts take the free slots, in order.
    for (int64_t s = 0; s < slots && !waiting.empty(); ++s) {
      if (slot[s])
        continue;
      int64_t index = waiting.front();
      waiting.pop_front();
      slot[s].emplace(Running{
          index, static_cast<int64_t>(prompts[index].size()),
          SequenceRandom(options.sampling.seed, static_cast<uint64_t>(index)),
          Generation{index, {}, {}, FinishReason::Length}, 0, false});
      ++progress.running;
      --progress.waiting;
    }
    feeds.clear();
    for (int64_t s = 0; s < slots; ++s) {
      if (!slot[s])
        continue;
      Running &r = *slot[s];
      if (!r.started) {
        feeds.push_back(StepFeed{s, true, prompts[r.index]});
        progress.promptTokens += r.promptTokens;
        r.started = true;
      } else {
        feeds.push_back(StepFeed{s, false, {r.generation.tokens.back()}});
      }
    }
    absl::StatusOr<std::vector<float>> logits = stepper.step(feeds);
    if (!logits.ok())
      return absl::Status(logits.status().code(),
                          absl::StrCat("step ", progress.steps + 1, " (",
                                       stepper.describe(),
                                       "): ", logits.status().message()));
    if (logits->size() != feeds.size() * static_cast<size_t>(vocab))
      return absl::InternalError(
          absl::StrCat("step ", progress.steps + 1, ": the stepper returned ",
                       logits->size(), " logits for ", feeds.size(),
                       " sequences of a vocabulary of ", vocab));
    ++progress.steps;
    std::vector<SampledToken> sampled(feeds.size());
    for (size_t f = 0; f < feeds.size(); ++f) {
      Running &r = *slot[feeds[f].slot];
      absl::Span<const float> row(logits->data() + f * vocab, vocab);
      for (int64_t v = 0; v < vocab; ++v)
        if (!std::isfinite(row[v]))
          return absl::InternalError(absl::StrCat(
              "step ", progress.steps, ": the logits of prompt ", r.index,
              " after ", r.promptTokens + r.generation.tokens.size(),
              " tokens hold ", row[v], " (token ", v,
              "); no token can be "
              "sampled from non-finite logits"));
      sampled[f] = sampleToken(row, options.sampling, r.random);
    }
    // The model's head kernel recomputes the chosen tokens' log-probs, as
    // training will score them.
    if (options.modelLogprobs && stepper.hasTokenLogprobs()) {
      std::vector<int32_t> chosen(feeds.size());
      for (size_t f = 0; f < feeds.size(); ++f)
        chosen[f] = sampled[f].token;
      absl::StatusOr<std::vector<float>> lp =
          stepper.tokenLogprobs(feeds, chosen);
      if (!lp.ok())
        return absl::Status(lp.status().code(),
                            absl::StrCat("step ", progress.steps,
                                         ": log-probs of the sampled tokens: ",
                                         lp.status().message()));
      if (lp->size() != feeds.size())
        return absl::InternalError(absl::StrCat(
            "step ", progress.steps, ": the stepper returned ", lp->size(),
            " log-probs for ", feeds.size(), " sequences"));
      for (size_t f = 0; f < feeds.size(); ++f)
        sampled[f].logprob = (*lp)[f];
    }
    for (size_t f = 0; f < feeds.size(); ++f) {
      Running &r = *slot[feeds[f].slot];
      const SampledToken &next = sampled[f];
      Generation &g = r.generation;
      g.tokens.push_back(next.token);
      g.logprobs.push_back(next.logprob);
      ++progress.generatedTokens;
      if (callbacks.onToken)
        callbacks.onToken(r.index, static_cast<int64_t>(g.tokens.size()) - 1,
                          next.token, next.logprob);
      if (options.truncationRun > 0) {
        r.confidentRun = std::exp(next.logprob) > options.truncationProbability
                             ? r.confidentRun + 1
                             : 0;
      }
      const int64_t total =
          r.promptTokens + static_cast<int64_t>(g.tokens.size());
      std::optional<FinishReason> finish;
      if (std::find(options.stopTokens.begin(), options.stopTokens.end(),
                    next.token) != options.stopTokens.end())
        finish = FinishReason::Stop;
      else if (options.truncationRun > 0 &&
               r.confidentRun >= options.truncationRun)
        finish = FinishReason::Truncated;
      // The next step would feed the whole sequence: it must fit the
      // context.
      else if (static_cast<int64_t>(g.tokens.size()) >= options.maxNewTokens ||
               total > context)
        finish = FinishReason::Length;
      if (!finish)
        continue;
      g.finish = *finish;
      if (callbacks.onFinish)
        callbacks.onFinish(g);
      results[r.index] = std::move(g);
      stepper.release(feeds[f].slot);
      slot[feeds[f].slot].reset();
      --progress.running;
      ++progress.finished;
    }
    progress.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (callbacks.onStep)
      callbacks.onStep(progress);
  }
  return results;
}

} // namespace hymir
