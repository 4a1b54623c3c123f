//===- Generate.h - token generation over a compiled model -------*- C++
//-*-===//
//
// Generates tokens from prompts (token ids) with a compiled language model,
// the library under hymir-generate:
//
//   auto stepper = hymir::makeStepper(*module, &note);  // prefill/decode
//   hymir::GenerateOptions options;
//   options.sampling = {/*temperature=*/0.7, /*topK=*/40, /*topP=*/0.95,
//                       /*seed=*/1};
//   options.maxNewTokens = 128;
//   auto generations = hymir::generate(**stepper, prompts, options);
//
// Three parts, kept apart so each can be tested alone:
//   - sampling: the model's log-probabilities of one step's logits, the
//     candidates temperature, top-k and top-p leave, and one draw from them
//     with a per-sequence random stream (Sampler, SequenceRandom);
//   - the scheduler, generate(): continuous batching of the prompts over the
//     stepper's sequence slots (a waiting prompt takes the first slot a
//     finished sequence frees), stop tokens, a maximum of new tokens, the
//     context limit, early truncation, streaming callbacks;
//   - a Stepper, which turns "these slots continue with these tokens" into
//     logits of each slot's next token. ForwardStepper reruns an imported
//     model's `forward` entry on each sequence's whole tokens;
//     PrefillDecodeStepper runs its `prefill` and `decode` entries over
//     device-resident caches.
//
// A sequence's tokens and log-probs depend on its prompt, the options and
// the seed only: not on how many slots there are or which prompts share a
// step with it (each sequence draws from its own stream, seeded by the seed
// and its prompt's index), up to the stepper's rounding.
//
// Links the runtime library only (no LLVM, MLIR or oracle).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_GENERATE_H
#define HYMIR_RUNTIME_GENERATE_H

#include "hymir/Runtime/DType.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace hymir {

class DeviceValue;
class Module;

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

/// How the next token is chosen from a step's logits. Temperature 0 is
/// greedy: the token of the largest logit (the lowest id among equal ones);
/// topK and topP must then keep their defaults. Otherwise the logits are
/// divided by the temperature, the topK largest kept (0: all), then the
/// smallest set of the most probable tokens whose probability sums to at
/// least topP (1: all), and one token drawn from what is left,
/// renormalised.
struct SamplingOptions {
  double temperature = 0;
  int64_t topK = 0;
  double topP = 1;
  uint64_t seed = 0;
};

/// An InvalidArgument error naming the option when `options` is not valid:
/// temperature finite and >= 0, topK >= 0, topP in (0, 1], and topK/topP
/// at their defaults when greedy.
absl::Status validateSamplingOptions(const SamplingOptions &options);

/// The log-softmax of `logits`, computed in double (the largest logit
/// subtracted first): the model's log-probability of every token.
std::vector<double> logSoftmax(absl::Span<const float> logits);

/// The tokens sampling may draw from and their probabilities after
/// temperature, top-k and top-p (summing to 1), in id order. Top-k and
/// top-p rank tokens by logit, the lower id first among equal ones.
/// Greedy: the argmax alone, probability 1.
struct SamplingCandidates {
  std::vector<int32_t> ids;
  std::vector<double> probabilities;
};
SamplingCandidates samplingCandidates(absl::Span<const float> logits,
                                      const SamplingOptions &options);

/// One sequence's random stream: a 64-bit Mersenne Twister (whose output
/// the C++ standard fixes) seeded by a mix of the seed and the sequence's
/// index, and uniform doubles in [0, 1) made from its top 53 bits, so the
/// same seed gives the same draws on every platform and standard library.
class SequenceRandom {
public:
  SequenceRandom(uint64_t seed, uint64_t sequence);
  double uniform();

private:
  std::mt19937_64 engine_;
};

/// A chosen token and the model's log-probability of it (the log-softmax
/// of the unmodified logits, whatever the temperature or top-k/top-p).
struct SampledToken {
  int32_t token = 0;
  double logprob = 0;
};

/// Chooses the next token from one step's logits (all finite): with one
/// uniform draw u from `random` (only when not greedy), the first candidate
/// in id order at which the running sum of probabilities passes u.
SampledToken sampleToken(absl::Span<const float> logits,
                         const SamplingOptions &options,
                         SequenceRandom &random);

//===----------------------------------------------------------------------===//
// Steppers
//===----------------------------------------------------------------------===//

/// What one slot runs in a step: the slot's sequence continues with
/// `tokens` (the token sampled last), or, when `start`, a new sequence
/// begins in the slot with them (a prompt).
struct StepFeed {
  int64_t slot = 0;
  bool start = false;
  std::vector<int32_t> tokens;
};

/// Runs a model over a fixed number of sequence slots, one step at a time.
class Stepper {
public:
  virtual ~Stepper();
  /// How many sequences may run at once.
  virtual int64_t slotCount() const = 0;
  virtual int64_t vocabSize() const = 0;
  /// The most tokens a sequence may feed the model (prompt and generated).
  virtual int64_t maxContext() const = 0;
  /// A phrase saying how it runs the model, for a note on stderr.
  virtual std::string describe() const = 0;
  /// Runs one step for `feeds` (distinct slots, in ascending order) and
  /// returns the logits of each one's next token, feeds.size() rows of
  /// vocabSize() floats. Slots not fed keep their sequences.
  virtual absl::StatusOr<std::vector<float>>
  step(absl::Span<const StepFeed> feeds) = 0;
  /// The sequence in `slot` has finished; the slot may be reused.
  virtual void release(int64_t slot) { (void)slot; }
  /// A line saying whether the steps ran as CUDA graphs (StepperOptions::
  /// cudaGraphs) and if not why, for a note on stderr.
  virtual std::string cudaGraphsNote() const;
  /// Whether tokenLogprobs works: the model has a head kernel for given
  /// tokens (the `logprobs` entry hymir-import writes).
  virtual bool hasTokenLogprobs() const { return false; }
  /// The log-probabilities of `tokens[i]` (one per feed of the last step,
  /// in its order) under the model's LM head, computed by the model's own
  /// head kernel from the final hidden states of the last step: the code
  /// that scores tokens for training, not a host log-softmax of the logits.
  virtual absl::StatusOr<std::vector<float>>
  tokenLogprobs(absl::Span<const StepFeed> feeds,
                absl::Span<const int32_t> tokens);
};

/// How a stepper runs the model.
struct StepperOptions {
  /// Run the `decode` entry with CallOptions::cudaGraphs (Runtime.h): on
  /// cuda its steps are captured once (a graph per set of caches) and the
  /// graph is replayed every step; where that cannot be done, the steps
  /// launch one by one and cudaGraphsNote() says why.
  bool cudaGraphs = false;
};

/// A stepper over an entry `input_ids` [B, T] i32 -> `logits` [B, T, V] f32
/// (the `forward` entry hymir-import writes): every step calls it on each
/// fed slot's whole sequence (right-padded to the longest; a causal model's
/// logits at a position do not depend on later ones) and reads the logits
/// of each sequence's last position. Correct for any model, and O(T^2) in
/// a sequence's length. B slots; the context is the entry's largest T.
/// The module must outlive the stepper, with its weights bound.
class ForwardStepper : public Stepper {
public:
  /// An error naming the entry when `module` has none of that name (with
  /// the entries it has) or the entry has another interface.
  static absl::StatusOr<std::unique_ptr<ForwardStepper>>
  create(Module &module, const std::string &entry = "forward");

  int64_t slotCount() const override { return batch_; }
  int64_t vocabSize() const override { return vocab_; }
  int64_t maxContext() const override { return context_; }
  std::string describe() const override;
  absl::StatusOr<std::vector<float>>
  step(absl::Span<const StepFeed> feeds) override;
  void release(int64_t slot) override;

private:
  ForwardStepper(Module &module, std::string entry, std::string input,
                 std::string output, int64_t batch, int64_t vocab,
                 int64_t context);
  Module &module_;
  std::string entry_, input_, output_;
  int64_t batch_, vocab_, context_;
  std::vector<std::vector<int32_t>> sequences_; // per slot
};

/// A stepper over the entries `prefill` and `decode` hymir-import writes
/// (their contract is in MiniMaxImporter.h and docs/running.md): the caches
/// (lightning states, KV caches) and the cache lengths are device values
/// allocated once, updated in place by the tied results. A step runs its
/// starting feeds as one prefill call (prompts right-padded to the longest,
/// cache_lengths 0: new sequences) and the continuing ones as one decode
/// call (active 1); the other slots are idle in each call and keep their
/// caches. Only the logits come back to the host. O(T) per new token. The
/// context is the prefill's largest T and the KV caches' capacity C, the
/// smaller: a starting prompt always fits (cache_lengths + T <= C). The
/// module must outlive the stepper, with its weights bound.
class PrefillDecodeStepper : public Stepper {
public:
  /// An error naming the entry and what differs when `module` lacks
  /// `prefill` or `decode` (with the entries it has) or their interfaces
  /// are not the importer's; an allocation error.
  static absl::StatusOr<std::unique_ptr<PrefillDecodeStepper>>
  create(Module &module, const StepperOptions &options = {});
  ~PrefillDecodeStepper() override;

  int64_t slotCount() const override { return batch_; }
  int64_t vocabSize() const override { return vocab_; }
  int64_t maxContext() const override { return context_; }
  std::string describe() const override;
  absl::StatusOr<std::vector<float>>
  step(absl::Span<const StepFeed> feeds) override;
  void release(int64_t slot) override;
  std::string cudaGraphsNote() const override;
  /// True when the module has the `logprobs` entry and prefill and decode
  /// return `hidden`.
  bool hasTokenLogprobs() const override { return !hiddenName_.empty(); }
  /// One call of `logprobs` on the hidden rows the last step's calls
  /// returned for the fed slots.
  absl::StatusOr<std::vector<float>>
  tokenLogprobs(absl::Span<const StepFeed> feeds,
                absl::Span<const int32_t> tokens) override;

private:
  explicit PrefillDecodeStepper(Module &module);
  /// One call of prefill or decode for `feeds` ([B, tokens] ids); returns
  /// the [B, V] logits.
  absl::StatusOr<std::vector<float>>
  call(bool isPrefill, absl::Span<const StepFeed *const> feeds, int64_t tokens);

  Module &module_;
  StepperOptions options_;
  int64_t batch_ = 0, vocab_ = 0, context_ = 0;
  int64_t fixedPrefillTokens_ = 0; // a static prefill T, or 0
  std::vector<std::string> prefillNames_, decodeNames_; // ids, counts
  std::string logitsName_, lengthsName_;
  std::vector<std::string> cacheNames_;
  std::unique_ptr<DeviceValue> lengthsValue_;
  std::vector<std::unique_ptr<DeviceValue>> caches_;
  std::vector<int64_t> held_; // tokens in each slot's caches; 0: free
  // The `hidden` result of prefill and decode and the `logprobs` entry's
  // names (empty when the module has no `logprobs` entry), and the hidden
  // rows [B, N] of each slot's last call (bytes of the activation dtype).
  std::string hiddenName_, lpHiddenName_, lpTokensName_, lpOutputName_;
  DType hiddenDtype_ = DType::F32;
  int64_t hiddenSize_ = 0;
  std::vector<uint8_t> hiddenRows_;
};

/// Which stepper makeStepper builds.
enum class StepperKind {
  Auto,    // prefill/decode when the module has both entries, else forward
  Forward, // ForwardStepper over `forward`
  Cache,   // PrefillDecodeStepper (an error without its entries)
};

/// The stepper hymir-generate uses for `module`: by default a
/// PrefillDecodeStepper when the module has `prefill` and `decode`, else a
/// ForwardStepper over `forward`. `note`, when given, receives a line saying
/// which entries run and why. `options` go to a PrefillDecodeStepper (a
/// ForwardStepper runs no decode entry: its cudaGraphsNote says so).
absl::StatusOr<std::unique_ptr<Stepper>>
makeStepper(Module &module, std::string *note,
            StepperKind kind = StepperKind::Auto,
            const StepperOptions &options = {});

//===----------------------------------------------------------------------===//
// Generation
//===----------------------------------------------------------------------===//

enum class FinishReason {
  Stop,      // a stop token was sampled (it is the last token)
  Length,    // maxNewTokens generated, or the context is full
  Truncated, // early truncation: a long run of near-certain tokens
};
std::string_view finishReasonName(FinishReason reason);

struct GenerateOptions {
  SamplingOptions sampling;
  /// At most this many tokens per sequence (>= 1).
  int64_t maxNewTokens = 256;
  /// A sequence ends after sampling any of these (kept in its tokens).
  std::vector<int32_t> stopTokens;
  /// MiniMax-M1's early truncation: a sequence ends once this many
  /// consecutive tokens each had a model probability above
  /// truncationProbability (M1 used 3000 and 0.99). 0: off.
  int64_t truncationRun = 0;
  double truncationProbability = 0.99;
  /// How many slots to use, at most the stepper's; 0: all of them.
  int64_t slots = 0;
  /// Take each sampled token's log-prob from the stepper's tokenLogprobs
  /// (the model's head kernel, the code `score` and `cispo_step` run) when
  /// it has one; otherwise, or when false, from a log-softmax of the step's
  /// logits on the host. The truncation rule reads the same log-prob.
  bool modelLogprobs = true;
};

/// An InvalidArgument error naming the option when `options` is not valid
/// for a model of `vocabSize` tokens (stop tokens must be ids of it).
absl::Status validateGenerateOptions(const GenerateOptions &options,
                                     int64_t vocabSize);

/// Why `prompt` cannot be generated from with a model of `vocabSize`
/// tokens and a context of `context`, or OK: an empty prompt, an id outside
/// [0, vocabSize) (naming it and its position), more tokens than the
/// context.
absl::Status validatePrompt(absl::Span<const int32_t> prompt, int64_t vocabSize,
                            int64_t context);

/// One finished sequence: the new tokens (not the prompt) and the model's
/// log-probability of each.
struct Generation {
  int64_t index = 0; // the prompt's index
  std::vector<int32_t> tokens;
  std::vector<double> logprobs;
  FinishReason finish = FinishReason::Length;
};

/// Counters after each step, for a progress line.
struct GenerateProgress {
  int64_t steps = 0;
  int64_t generatedTokens = 0; // new tokens sampled so far
  int64_t promptTokens = 0;    // prompt tokens fed so far
  int64_t finished = 0, running = 0, waiting = 0;
  double seconds = 0; // since generate() began
};

struct GenerateCallbacks {
  /// Each new token as it is sampled (`position`: its index among the
  /// sequence's new tokens).
  std::function<void(int64_t index, int64_t position, int32_t token,
                     double logprob)>
      onToken;
  /// Each sequence as it finishes, in the order they finish.
  std::function<void(const Generation &)> onFinish;
  /// After every step.
  std::function<void(const GenerateProgress &)> onStep;
};

/// Generates from every prompt and returns the sequences in prompt order.
/// Prompts wait in order for a free slot; each step feeds the prompts that
/// just took a slot and the last token of every other running sequence.
/// Errors (InvalidArgument, before any step) name the prompt and position:
/// an empty prompt, an id outside the vocabulary, a prompt longer than the
/// context; bad options (validateGenerateOptions); a step's error or
/// non-finite logits end generation with an error naming the step.
absl::StatusOr<std::vector<Generation>>
generate(Stepper &stepper, const std::vector<std::vector<int32_t>> &prompts,
         const GenerateOptions &options,
         const GenerateCallbacks &callbacks = {});

} // namespace hymir

#endif // HYMIR_RUNTIME_GENERATE_H
