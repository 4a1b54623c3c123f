//===- GenerateForward.cpp - generation steps through `forward` -----------===//
//
// ForwardStepper: each step calls an entry input_ids [B, T] i32 ->
// logits [B, T, V] f32 on the fed slots' whole sequences and keeps the
// logits of each one's last position. makeStepper picks the stepper for a
// module (PrefillDecodeStepper, in GeneratePrefillDecode.cpp, when it has
// the cached entries).
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Generate.h"
#include "hymir/Runtime/Runtime.h"
#include "hymir/Support/Names.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstring>

namespace hymir {

namespace {

std::string entryNames(const ModuleDesc &desc) {
  std::vector<std::string> names;
  for (const EntryDesc &e : desc.entries)
    names.push_back(printableName(e.name));
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

const EntryDesc *findEntry(const ModuleDesc &desc, const std::string &name) {
  for (const EntryDesc &e : desc.entries)
    if (e.name == name)
      return &e;
  return nullptr;
}

/// "[B, T]" with "?" for a dim that is not a constant.
std::string shapeText(const TensorSpecDesc &spec) {
  std::vector<std::string> dims;
  for (const SizeExprSpec &d : spec.shape)
    dims.push_back(d.isConstant() ? absl::StrCat(d.constant) : "?");
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

/// The largest value of a dim that is one symbol of `entry` (T of a
/// [B, T] input), or -1.
int64_t symbolMax(const EntryDesc &entry, const SizeExprSpec &dim) {
  if (dim.constant != 0 || dim.divisor != 1 || dim.terms.size() != 1 ||
      dim.terms[0].second != 1 || dim.terms[0].first >= entry.symbols.size())
    return -1;
  return entry.symbols[dim.terms[0].first].max;
}

} // namespace

ForwardStepper::ForwardStepper(Module &module, std::string entry,
                               std::string input, std::string output,
                               int64_t batch, int64_t vocab, int64_t context)
    : module_(module), entry_(std::move(entry)), input_(std::move(input)),
      output_(std::move(output)), batch_(batch), vocab_(vocab),
      context_(context), sequences_(batch) {}

absl::StatusOr<std::unique_ptr<ForwardStepper>>
ForwardStepper::create(Module &module, const std::string &entryName) {
  const ModuleDesc &desc = module.desc();
  const EntryDesc *entry = findEntry(desc, entryName);
  const std::string needs =
      absl::StrCat("generation needs an entry '", printableName(entryName),
                   "' taking input_ids [B, T] i32 (T dynamic) and returning "
                   "logits [B, T, V] f32, as hymir-import writes it");
  if (!entry)
    return absl::NotFoundError(
        absl::StrCat(module.label(), ": no entry '", printableName(entryName),
                     "' (entries: ", entryNames(desc), "): ", needs));
  std::string where =
      absl::StrCat(module.label(), ": entry '", printableName(entryName), "'");
  if (entry->inputs.size() != 1 || entry->outputs.size() != 1)
    return absl::InvalidArgumentError(
        absl::StrCat(where, " has ", entry->inputs.size(), " inputs and ",
                     entry->outputs.size(), " outputs: ", needs));
  const TensorSpecDesc &in = entry->inputs[0];
  const TensorSpecDesc &out = entry->outputs[0];
  if (in.dtype != DType::I32 || in.shape.size() != 2 ||
      !in.shape[0].isConstant() || symbolMax(*entry, in.shape[1]) < 1 ||
      in.shardDim >= 0)
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": input '", printableName(in.name), "' is ",
        std::string(dtypeName(in.dtype)), shapeText(in), ": ", needs));
  const int64_t batch = in.shape[0].constant;
  if (out.dtype != DType::F32 || out.shape.size() != 3 ||
      !(out.shape[0] == in.shape[0]) || !(out.shape[1] == in.shape[1]) ||
      !out.shape[2].isConstant() || out.shape[2].constant < 1 ||
      out.tiedTo >= 0)
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": output '", printableName(out.name), "' is ",
                     std::string(dtypeName(out.dtype)), shapeText(out),
                     " for input ", shapeText(in), ": ", needs));
  if (batch < 1)
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": batch ", batch, ": ", needs));
  return std::unique_ptr<ForwardStepper>(new ForwardStepper(
      module, entryName, in.name, out.name, batch, out.shape[2].constant,
      symbolMax(*entry, in.shape[1])));
}

std::string ForwardStepper::describe() const {
  return absl::StrCat("entry '", printableName(entry_),
                      "' on each sequence's whole tokens");
}

void ForwardStepper::release(int64_t slot) {
  if (slot >= 0 && slot < batch_)
    sequences_[slot].clear();
}

absl::StatusOr<std::vector<float>>
ForwardStepper::step(absl::Span<const StepFeed> feeds) {
  int64_t longest = 0;
  for (const StepFeed &feed : feeds) {
    if (feed.slot < 0 || feed.slot >= batch_)
      return absl::InvalidArgumentError(absl::StrCat(
          "slot ", feed.slot, " is not one of the entry's ", batch_));
    std::vector<int32_t> &seq = sequences_[feed.slot];
    if (!feed.start && seq.empty())
      return absl::FailedPreconditionError(absl::StrCat(
          "slot ", feed.slot, " continues a sequence it does not hold"));
    if (feed.start)
      seq = feed.tokens;
    else
      seq.insert(seq.end(), feed.tokens.begin(), feed.tokens.end());
    if (static_cast<int64_t>(seq.size()) > context_)
      return absl::InvalidArgumentError(
          absl::StrCat("slot ", feed.slot, " holds ", seq.size(),
                       " tokens, more than the context of ", context_));
    longest = std::max<int64_t>(longest, seq.size());
  }
  if (feeds.empty())
    return std::vector<float>();
  // Rows of slots not fed (and the ends of shorter rows) hold token 0: a
  // causal model's logits at a position ignore every later one.
  Tensor ids(DType::I32, {batch_, longest});
  auto *idData = reinterpret_cast<int32_t *>(ids.data());
  for (const StepFeed &feed : feeds) {
    const std::vector<int32_t> &seq = sequences_[feed.slot];
    std::memcpy(idData + feed.slot * longest, seq.data(),
                seq.size() * sizeof(int32_t));
  }
  TensorMap inputs;
  inputs.emplace(input_, std::move(ids));
  absl::StatusOr<TensorMap> outputs = module_.call(entry_, inputs);
  if (!outputs.ok())
    return outputs.status();
  auto it = outputs->find(output_);
  if (it == outputs->end() || it->second.dtype() != DType::F32 ||
      it->second.shape() != std::vector<int64_t>{batch_, longest, vocab_})
    return absl::InternalError(
        absl::StrCat("entry '", printableName(entry_), "' returned no logits [",
                     batch_, ", ", longest, ", ", vocab_, "] f32"));
  const auto *logits = reinterpret_cast<const float *>(it->second.data());
  std::vector<float> rows(feeds.size() * vocab_);
  for (size_t f = 0; f < feeds.size(); ++f) {
    int64_t last = static_cast<int64_t>(sequences_[feeds[f].slot].size()) - 1;
    std::memcpy(rows.data() + f * vocab_,
                logits + (feeds[f].slot * longest + last) * vocab_,
                vocab_ * sizeof(float));
  }
  return rows;
}

absl::StatusOr<std::unique_ptr<Stepper>>
makeStepper(Module &module, std::string *note, StepperKind kind,
            const StepperOptions &options) {
  const ModuleDesc &desc = module.desc();
  bool cached =
      findEntry(desc, "prefill") != nullptr && findEntry(desc, "decode");
  if (kind == StepperKind::Cache || (kind == StepperKind::Auto && cached)) {
    absl::StatusOr<std::unique_ptr<PrefillDecodeStepper>> stepper =
        PrefillDecodeStepper::create(module, options);
    if (!stepper.ok())
      return stepper.status();
    if (note)
      *note = absl::StrCat(
          "generating with 'prefill' (each step's new prompts, one call) and "
          "'decode' (one token per running sequence, one call) over caches "
          "kept on the device (",
          "the model's ", (*stepper)->slotCount(), " slots, context ",
          (*stepper)->maxContext(), ")");
    return std::unique_ptr<Stepper>(std::move(*stepper));
  }
  absl::StatusOr<std::unique_ptr<ForwardStepper>> stepper =
      ForwardStepper::create(module, "forward");
  if (!stepper.ok())
    return stepper.status();
  if (note)
    *note = absl::StrCat(
        kind == StepperKind::Forward ? "the forward stepper was asked for"
        : cached                     ? "the artifact has prefill and decode"
                                     : "the artifact has no prefill and "
                                       "decode entries",
        ": generating with 'forward' on each sequence's whole tokens per new "
        "token (O(T^2) in the sequence length; the model's ",
        (*stepper)->slotCount(), " slots, context ", (*stepper)->maxContext(),
        ")");
  return std::unique_ptr<Stepper>(std::move(*stepper));
}

} // namespace hymir
