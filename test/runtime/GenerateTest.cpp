//===- GenerateTest.cpp - tests of sampling and continuous batching -------===//
//
// The model-independent half of hymir/Runtime/Generate.h: log-softmax, the
// candidates of top-k, top-p and temperature, seeded draws, and generate()
// over a fake stepper whose logits follow a rule of the sequence so far
// (stop tokens, the maximum of new tokens, the context, early truncation,
// more prompts than slots, the order of the output, bad inputs). The fake
// also checks the stepper protocol: a prompt starts a free slot, and every
// later feed is the token sampled last.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Generate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <ios>
#include <string>
#include <vector>

using namespace hymir;

namespace {

std::vector<float> logitsOf(const std::vector<double> &probabilities) {
  std::vector<float> out;
  for (double p : probabilities)
    out.push_back(static_cast<float>(std::log(p)));
  return out;
}

SamplingOptions sampling(double temperature, int64_t topK = 0, double topP = 1,
                         uint64_t seed = 0) {
  return SamplingOptions{temperature, topK, topP, seed};
}

std::vector<int32_t> idsOf(const std::vector<float> &logits,
                           const SamplingOptions &options) {
  return samplingCandidates(logits, options).ids;
}

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

TEST(GenerateSampling, LogSoftmaxInDouble) {
  std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  std::vector<double> lp = logSoftmax(logits);
  double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(lp[i], logits[i] - lse, 1e-15);
  // Large logits do not overflow; a huge gap gives a log-prob, not -inf.
  lp = logSoftmax(std::vector<float>{1e4f, 1e4f - 1, -1e4f});
  EXPECT_NEAR(lp[0], -std::log1p(std::exp(-1.0)), 1e-12);
  EXPECT_NEAR(lp[2], -2e4 - std::log1p(std::exp(-1.0)), 1e-9);
  EXPECT_TRUE(std::isfinite(lp[2]));
}

TEST(GenerateSampling, GreedyIsArgmaxLowestIdOnTies) {
  std::vector<float> logits = {0.5f, 3.0f, -1.0f, 3.0f};
  SamplingCandidates c = samplingCandidates(logits, sampling(0));
  EXPECT_EQ(c.ids, std::vector<int32_t>{1});
  EXPECT_EQ(c.probabilities, std::vector<double>{1.0});
  SequenceRandom random(1, 0);
  SampledToken t = sampleToken(logits, sampling(0), random);
  EXPECT_EQ(t.token, 1);
  EXPECT_NEAR(t.logprob, logSoftmax(logits)[1], 1e-15);
}

TEST(GenerateSampling, TopKMask) {
  std::vector<float> logits = {1, 5, 3, 5, 2};
  EXPECT_EQ(idsOf(logits, sampling(1, 1)), (std::vector<int32_t>{1}));
  EXPECT_EQ(idsOf(logits, sampling(1, 2)), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(idsOf(logits, sampling(1, 3)), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(idsOf(logits, sampling(1, 5)).size(), 5u);
  EXPECT_EQ(idsOf(logits, sampling(1, 99)).size(), 5u); // more than V
  EXPECT_EQ(idsOf(logits, sampling(1, 0)).size(), 5u);  // 0: all
  // The kept tokens' probabilities are their softmax, renormalised.
  SamplingCandidates c = samplingCandidates(logits, sampling(1, 3));
  double z = std::exp(5.0) * 2 + std::exp(3.0);
  EXPECT_NEAR(c.probabilities[0], std::exp(5.0) / z, 1e-12);
  EXPECT_NEAR(c.probabilities[1], std::exp(3.0) / z, 1e-12);
  EXPECT_NEAR(c.probabilities[2], std::exp(5.0) / z, 1e-12);
}

TEST(GenerateSampling, TopPMask) {
  std::vector<float> logits = logitsOf({0.05, 0.5, 0.15, 0.2, 0.1});
  EXPECT_EQ(idsOf(logits, sampling(1, 0, 0.3)), (std::vector<int32_t>{1}));
  EXPECT_EQ(idsOf(logits, sampling(1, 0, 0.5)), (std::vector<int32_t>{1}));
  EXPECT_EQ(idsOf(logits, sampling(1, 0, 0.6)), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(idsOf(logits, sampling(1, 0, 0.8)),
            (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(idsOf(logits, sampling(1, 0, 0.96)).size(), 5u);
  EXPECT_EQ(idsOf(logits, sampling(1, 0, 1)).size(), 5u);
  SamplingCandidates c = samplingCandidates(logits, sampling(1, 0, 0.6));
  EXPECT_NEAR(c.probabilities[0], 0.5 / 0.7, 1e-6);
  EXPECT_NEAR(c.probabilities[1], 0.2 / 0.7, 1e-6);
  // Top-k first, then top-p over what top-k left (renormalised): of {1, 3}
  // (0.5 and 0.2 -> 0.714 and 0.286), 0.6 keeps token 1 alone.
  EXPECT_EQ(idsOf(logits, sampling(1, 2, 0.6)), (std::vector<int32_t>{1}));
  EXPECT_EQ(idsOf(logits, sampling(1, 2, 0.8)), (std::vector<int32_t>{1, 3}));
}

TEST(GenerateSampling, TopPOverALargeVocabulary) {
  // Past the first sorted head of 256 tokens: a flat distribution over
  // 5000 tokens needs 4500 of them for 0.8999 (not 0.9 itself, which the
  // rounded sum of 4500 x 0.0002 may fall short of).
  std::vector<float> logits(5000, 0.0f);
  std::vector<int32_t> ids = idsOf(logits, sampling(1, 0, 0.8999));
  EXPECT_EQ(ids.size(), 4500u);
  // Equal logits rank the lower id first: tokens 0..4499, in id order.
  for (size_t i = 0; i < ids.size(); ++i)
    ASSERT_EQ(ids[i], static_cast<int32_t>(i));
}

TEST(GenerateSampling, Temperature) {
  std::vector<float> logits = {0, 1, 2};
  for (double t : {0.5, 1.0, 2.0}) {
    SamplingCandidates c = samplingCandidates(logits, sampling(t));
    double z = std::exp(0 / t) + std::exp(1 / t) + std::exp(2 / t);
    for (int i = 0; i < 3; ++i)
      EXPECT_NEAR(c.probabilities[i], std::exp(i / t) / z, 1e-12) << t;
  }
  // A tiny temperature is greedy in all but name; the log-prob stays the
  // model's, whatever the temperature.
  SequenceRandom random(3, 0);
  SampledToken s = sampleToken(logits, sampling(1e-3), random);
  EXPECT_EQ(s.token, 2);
  EXPECT_NEAR(s.logprob, logSoftmax(logits)[2], 1e-15);
}

TEST(GenerateSampling, DrawsFollowTheProbabilities) {
  std::vector<float> logits = logitsOf({0.5, 0.3, 0.2});
  SequenceRandom random(42, 0);
  std::vector<int> counts(3, 0);
  const int n = 20000;
  for (int i = 0; i < n; ++i)
    ++counts[sampleToken(logits, sampling(1), random).token];
  EXPECT_NEAR(counts[0] / double(n), 0.5, 0.015);
  EXPECT_NEAR(counts[1] / double(n), 0.3, 0.015);
  EXPECT_NEAR(counts[2] / double(n), 0.2, 0.015);
  // Top-k 2 never draws token 2.
  counts.assign(3, 0);
  for (int i = 0; i < n; ++i)
    ++counts[sampleToken(logits, sampling(1, 2), random).token];
  EXPECT_EQ(counts[2], 0);
  EXPECT_NEAR(counts[0] / double(n), 0.625, 0.015);
}

TEST(GenerateSampling, SeedDeterminism) {
  // The stream is fixed by the seed and the sequence index, and the same
  // on every platform (std::mt19937_64 is specified by the standard): the
  // first draws are pinned.
  SequenceRandom a(7, 3), b(7, 3), c(8, 3), d(7, 4);
  std::vector<double> da, db, dc, dd;
  for (int i = 0; i < 100; ++i) {
    da.push_back(a.uniform());
    db.push_back(b.uniform());
    dc.push_back(c.uniform());
    dd.push_back(d.uniform());
    ASSERT_GE(da.back(), 0.0);
    ASSERT_LT(da.back(), 1.0);
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
  EXPECT_NE(da, dd);
  SequenceRandom pinned(0, 0);
  double first = pinned.uniform();
  EXPECT_EQ(first, 0x1.96a818b3132c5p-1) << std::hexfloat << first;
}

TEST(GenerateSampling, OptionErrors) {
  auto message = [](const SamplingOptions &o) {
    return std::string(validateSamplingOptions(o).message());
  };
  EXPECT_TRUE(validateSamplingOptions(sampling(0)).ok());
  EXPECT_TRUE(validateSamplingOptions(sampling(0.7, 40, 0.95)).ok());
  EXPECT_NE(message(sampling(-1))
                .find("temperature must be a finite number "
                      ">= 0"),
            std::string::npos);
  EXPECT_NE(message(sampling(NAN)).find("temperature"), std::string::npos);
  EXPECT_NE(message(sampling(INFINITY)).find("temperature"), std::string::npos);
  EXPECT_NE(message(sampling(1, -2)).find("top-k must be >= 0"),
            std::string::npos);
  EXPECT_NE(message(sampling(1, 0, 0)).find("top-p must be in (0, 1]"),
            std::string::npos);
  EXPECT_NE(message(sampling(1, 0, 1.5)).find("top-p must be in (0, 1]"),
            std::string::npos);
  EXPECT_NE(message(sampling(0, 5)).find("need a temperature above 0"),
            std::string::npos);
  EXPECT_NE(message(sampling(0, 0, 0.9)).find("need a temperature above 0"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// generate() over a fake stepper
//===----------------------------------------------------------------------===//

/// A model whose next token after a sequence ending in t is (t + 1) % V,
/// with logit `margin` over every other token's 0 (a probability of
/// e^m / (e^m + V - 1)); with `unsureEveryOther`, after an odd token the
/// margin is 0.5 instead. Checks the stepper protocol as it goes.
class FakeStepper : public Stepper {
public:
  FakeStepper(int64_t slots, int64_t vocab, int64_t context, double margin = 10,
              bool unsureEveryOther = false)
      : vocab_(vocab), context_(context), margin_(margin),
        unsure_(unsureEveryOther), sequences_(slots) {}

  int64_t slotCount() const override {
    return static_cast<int64_t>(sequences_.size());
  }
  int64_t vocabSize() const override { return vocab_; }
  int64_t maxContext() const override { return context_; }
  std::string describe() const override { return "the fake model"; }

  absl::StatusOr<std::vector<float>>
  step(absl::Span<const StepFeed> feeds) override {
    ++steps;
    stepFeeds.emplace_back(feeds.begin(), feeds.end());
    if (failAtStep == steps)
      return absl::InternalError("the fake failed");
    std::vector<float> out(feeds.size() * vocab_, 0.0f);
    int64_t previousSlot = -1;
    for (size_t f = 0; f < feeds.size(); ++f) {
      const StepFeed &feed = feeds[f];
      EXPECT_GT(feed.slot, previousSlot) << "feeds in ascending slot order";
      previousSlot = feed.slot;
      std::vector<int32_t> &seq = sequences_.at(feed.slot);
      if (feed.start) {
        EXPECT_TRUE(seq.empty()) << "a prompt starts only a free slot";
        seq = feed.tokens;
      } else {
        EXPECT_EQ(feed.tokens.size(), 1u);
        EXPECT_FALSE(seq.empty()) << "a slot continues a sequence it holds";
        seq.push_back(feed.tokens[0]);
      }
      EXPECT_LE(static_cast<int64_t>(seq.size()), context_);
      int32_t last = seq.back();
      int32_t next = (last + 1) % vocab_;
      float margin = unsure_ && last % 2 ? 0.5f : static_cast<float>(margin_);
      out[f * vocab_ + next] = margin;
      if (nanAtStep == steps)
        out[f * vocab_] = NAN;
    }
    return out;
  }

  void release(int64_t slot) override {
    released.push_back(slot);
    sequences_.at(slot).clear();
  }

  int64_t steps = 0;
  int64_t failAtStep = -1, nanAtStep = -1;
  std::vector<std::vector<StepFeed>> stepFeeds;
  std::vector<int64_t> released;

private:
  int64_t vocab_, context_;
  double margin_;
  bool unsure_;
  std::vector<std::vector<int32_t>> sequences_;
};

GenerateOptions greedy(int64_t maxNew) {
  GenerateOptions o;
  o.maxNewTokens = maxNew;
  return o;
}

TEST(Generate, GreedyStopTokenAndLogprobs) {
  FakeStepper model(2, 32, 100);
  GenerateOptions o = greedy(10);
  o.stopTokens = {6};
  auto out = generate(model, {{1, 3}}, o);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u);
  const Generation &g = (*out)[0];
  EXPECT_EQ(g.tokens, (std::vector<int32_t>{4, 5, 6})); // the stop kept
  EXPECT_EQ(g.finish, FinishReason::Stop);
  double lp = 10 - std::log(std::exp(10.0) + 31);
  ASSERT_EQ(g.logprobs.size(), 3u);
  for (double l : g.logprobs)
    EXPECT_NEAR(l, lp, 1e-6);
  EXPECT_EQ(model.released, std::vector<int64_t>{0});
}

TEST(Generate, MaxNewTokensAndContext) {
  FakeStepper model(1, 32, 6);
  auto out = generate(model, {{1, 2}}, greedy(3));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].tokens, (std::vector<int32_t>{3, 4, 5}));
  EXPECT_EQ((*out)[0].finish, FinishReason::Length);
  // A context of 6 feeds at most 6 tokens: a 2-token prompt makes 5 new
  // tokens (the last is never fed).
  out = generate(model, {{1, 2}}, greedy(100));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].tokens, (std::vector<int32_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ((*out)[0].finish, FinishReason::Length);
  // A prompt as long as the context makes one.
  out = generate(model, {{1, 2, 3, 4, 5, 6}}, greedy(100));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].tokens, (std::vector<int32_t>{7}));
  // A stop token sampled as the last allowed token is a stop.
  GenerateOptions o = greedy(3);
  o.stopTokens = {5};
  out = generate(model, {{1, 2}}, o);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].finish, FinishReason::Stop);
}

TEST(Generate, EarlyTruncationWithSmallN) {
  // Every token certain (p = e^10 / (e^10 + 31) > 0.99): truncated after
  // exactly N tokens.
  FakeStepper sure(1, 32, 1000);
  GenerateOptions o = greedy(50);
  o.truncationRun = 4;
  auto out = generate(sure, {{0}}, o);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].tokens, (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ((*out)[0].finish, FinishReason::Truncated);
  // Off (0), the same model runs to the maximum.
  o.truncationRun = 0;
  out = generate(sure, {{0}}, o);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].tokens.size(), 50u);
  EXPECT_EQ((*out)[0].finish, FinishReason::Length);
  // Every other token unsure (p = e^0.5 / (e^0.5 + 31) < 0.99): the run
  // restarts, and never reaches 2.
  FakeStepper unsure(1, 32, 1000, 10, /*unsureEveryOther=*/true);
  o.truncationRun = 2;
  out = generate(unsure, {{0}}, o);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].finish, FinishReason::Length);
  // ... but a run of 1 ends at the first sure token.
  o.truncationRun = 1;
  out = generate(unsure, {{1}}, o);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].tokens, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ((*out)[0].finish, FinishReason::Truncated);
  // The probability is an option: at 0.999 the sure tokens (0.9986) are
  // not sure enough.
  o.truncationRun = 3;
  o.truncationProbability = 0.999;
  out = generate(sure, {{0}}, o);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].finish, FinishReason::Length);
}

TEST(Generate, ContinuousBatchingMorePromptsThanSlots) {
  // Prompt i = {20 - k_i}: it stops at token 20 after k_i new tokens.
  const std::vector<int> lengths = {5, 2, 7, 1, 3, 4, 2, 6};
  std::vector<std::vector<int32_t>> prompts;
  for (int k : lengths)
    prompts.push_back({20 - k});
  FakeStepper model(3, 64, 100);
  GenerateOptions o = greedy(100);
  o.stopTokens = {20};
  std::vector<int64_t> finishOrder;
  std::vector<std::pair<int64_t, int32_t>> streamed;
  int64_t stepsSeen = 0;
  GenerateCallbacks callbacks;
  callbacks.onFinish = [&](const Generation &g) {
    finishOrder.push_back(g.index);
  };
  callbacks.onToken = [&](int64_t index, int64_t position, int32_t token,
                          double) {
    EXPECT_EQ(token, 20 - lengths[index] + 1 + position)
        << "position counts the sequence's new tokens";
    streamed.emplace_back(index, token);
  };
  callbacks.onStep = [&](const GenerateProgress &p) {
    ++stepsSeen;
    EXPECT_LE(p.running, 3);
    EXPECT_EQ(p.finished + p.running + p.waiting,
              static_cast<int64_t>(lengths.size()));
  };
  auto out = generate(model, prompts, o, callbacks);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), lengths.size());
  int64_t total = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    const Generation &g = (*out)[i];
    EXPECT_EQ(g.index, static_cast<int64_t>(i)) << "results in prompt order";
    EXPECT_EQ(static_cast<int>(g.tokens.size()), lengths[i]);
    EXPECT_EQ(g.tokens.back(), 20);
    EXPECT_EQ(g.finish, FinishReason::Stop);
    total += lengths[i];
  }
  EXPECT_EQ(static_cast<int64_t>(streamed.size()), total);
  EXPECT_EQ(stepsSeen, model.steps);
  // Slots 0-2 start with prompts 0-2; prompt 1 finishes at step 2, so
  // prompt 3 joins slot 1 at step 3 and finishes there; prompt 4 takes
  // slot 1 at step 4; ... Simulated by hand, (step, prompt) finishing:
  // (2,1) (3,3) (5,0) (6,4) (7,2) (8,6) (9,5) (13,7).
  EXPECT_EQ(finishOrder, (std::vector<int64_t>{1, 3, 0, 4, 2, 6, 5, 7}));
  EXPECT_EQ(model.steps, 13);
  // Each step: a prompt that took a slot starts it; a slot freed in a step
  // is taken in the next one by the first waiting prompt.
  ASSERT_GE(model.stepFeeds.size(), 3u);
  EXPECT_EQ(model.stepFeeds[0].size(), 3u);
  for (const StepFeed &f : model.stepFeeds[0])
    EXPECT_TRUE(f.start);
  EXPECT_TRUE(model.stepFeeds[2][1].start);
  EXPECT_EQ(model.stepFeeds[2][1].tokens, std::vector<int32_t>{19});
  for (const auto &feeds : model.stepFeeds)
    EXPECT_LE(feeds.size(), 3u);
}

TEST(Generate, SampledOutputDoesNotDependOnSlots) {
  // A model with real choices: margin 1 over 7 tokens.
  std::vector<std::vector<int32_t>> prompts = {{1},       {2, 3}, {4},
                                               {5, 6, 0}, {1},    {2}};
  GenerateOptions o = greedy(12);
  o.sampling = sampling(1.0, 0, 1.0, 1234);
  std::vector<std::vector<Generation>> runs;
  for (int slots : {1, 2, 6}) {
    FakeStepper model(slots, 7, 100, /*margin=*/1);
    auto out = generate(model, prompts, o);
    ASSERT_TRUE(out.ok()) << out.status();
    runs.push_back(*out);
  }
  for (size_t r = 1; r < runs.size(); ++r)
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(runs[r][i].tokens, runs[0][i].tokens) << r << " " << i;
      EXPECT_EQ(runs[r][i].logprobs, runs[0][i].logprobs) << r << " " << i;
    }
  // The same prompt twice (0 and 4) draws from two streams.
  EXPECT_NE(runs[0][0].tokens, runs[0][4].tokens);
  // Another seed, other tokens; the same seed, the same tokens.
  FakeStepper model(2, 7, 100, 1);
  auto again = generate(model, prompts, o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[3].tokens, runs[0][3].tokens);
  o.sampling.seed = 99;
  auto other = generate(model, prompts, o);
  ASSERT_TRUE(other.ok());
  bool differs = false;
  for (size_t i = 0; i < prompts.size(); ++i)
    differs |= (*other)[i].tokens != runs[0][i].tokens;
  EXPECT_TRUE(differs);
}

TEST(Generate, FewerSlotsThanTheStepper) {
  FakeStepper model(4, 32, 100);
  GenerateOptions o = greedy(3);
  o.slots = 2;
  auto out = generate(model, {{1}, {2}, {3}}, o);
  ASSERT_TRUE(out.ok()) << out.status();
  for (const auto &feeds : model.stepFeeds)
    for (const StepFeed &f : feeds)
      EXPECT_LT(f.slot, 2);
  o.slots = 5;
  out = generate(model, {{1}}, o);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(std::string(out.status().message()),
            "asked for 5 slots, but the model has 4 (its batch size)");
}

TEST(Generate, NoPrompts) {
  FakeStepper model(2, 32, 100);
  auto out = generate(model, {}, greedy(3));
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->empty());
  EXPECT_EQ(model.steps, 0);
}

std::string errorOf(Stepper &model,
                    const std::vector<std::vector<int32_t>> &prompts,
                    const GenerateOptions &o) {
  auto out = generate(model, prompts, o);
  return out.ok() ? "ok" : std::string(out.status().message());
}

TEST(Generate, PromptErrors) {
  FakeStepper model(2, 32, 8);
  EXPECT_EQ(errorOf(model, {{1}, {}}, greedy(3)),
            "prompt 1: the prompt is empty (it needs at least one token)");
  EXPECT_EQ(errorOf(model, {{1}, {2}, {3, 32}}, greedy(3)),
            "prompt 2: token 32 at position 1 is not in the model's "
            "vocabulary [0, 32)");
  EXPECT_EQ(errorOf(model, {{-1}}, greedy(3)),
            "prompt 0: token -1 at position 0 is not in the model's "
            "vocabulary [0, 32)");
  EXPECT_EQ(errorOf(model, {{1, 2, 3, 4, 5, 6, 7, 8, 9}}, greedy(3)),
            "prompt 0: the prompt has 9 tokens, more than the model's "
            "context of 8");
  EXPECT_EQ(model.steps, 0) << "errors come before any step";
}

TEST(Generate, OptionErrors) {
  FakeStepper model(2, 32, 8);
  GenerateOptions o = greedy(0);
  EXPECT_EQ(errorOf(model, {{1}}, o),
            "the maximum of new tokens must be >= 1, got 0");
  o = greedy(3);
  o.stopTokens = {3, 40};
  EXPECT_EQ(errorOf(model, {{1}}, o),
            "stop token 40 is not in the model's vocabulary [0, 32)");
  o = greedy(3);
  o.truncationRun = -1;
  EXPECT_EQ(errorOf(model, {{1}}, o),
            "the early-truncation run must be >= 0 (0 is off), got -1");
  o = greedy(3);
  o.truncationProbability = 1;
  EXPECT_EQ(errorOf(model, {{1}}, o),
            "the early-truncation probability must be in (0, 1), got 1");
  o = greedy(3);
  o.sampling.topP = 2;
  EXPECT_EQ(errorOf(model, {{1}}, o),
            "top-p must be in (0, 1] (1 keeps every token), got 2");
  o = greedy(3);
  o.slots = -1;
  EXPECT_EQ(errorOf(model, {{1}}, o),
            "the number of slots must be >= 0 (0 uses all), got -1");
  EXPECT_EQ(model.steps, 0);
}

TEST(Generate, StepErrors) {
  FakeStepper failing(2, 32, 100);
  failing.failAtStep = 3;
  EXPECT_EQ(errorOf(failing, {{1}, {2}}, greedy(10)),
            "step 3 (the fake model): the fake failed");
  FakeStepper nan(2, 32, 100);
  nan.nanAtStep = 2;
  EXPECT_EQ(errorOf(nan, {{1}, {2}}, greedy(10)),
            "step 2: the logits of prompt 0 after 2 tokens hold nan (token "
            "0); no token can be sampled from non-finite logits");
}

} // namespace
