//===- GeneratePrefillDecode.cpp - generation steps through the caches ----===//
//
// PrefillDecodeStepper: the caches (lightning states, KV caches) and the
// cache lengths of every slot are device values allocated once; each step
// runs the feeds that start a sequence as one `prefill` call (right-padded
// to the longest starting prompt, cache_lengths 0) and the others as one
// `decode` call, and downloads only the logits.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Generate.h"
#include "hymir/Runtime/Runtime.h"
#include "hymir/Support/Names.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cstring>
#include <memory>

namespace hymir {

namespace {

const EntryDesc *findEntry(const ModuleDesc &desc, const std::string &name) {
  for (const EntryDesc &e : desc.entries)
    if (e.name == name)
      return &e;
  return nullptr;
}

std::string shapeText(const TensorSpecDesc &spec) {
  std::vector<std::string> dims;
  for (const SizeExprSpec &d : spec.shape)
    dims.push_back(d.isConstant() ? absl::StrCat(d.constant) : "?");
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

std::string specText(const TensorSpecDesc &spec) {
  return absl::StrCat("'", printableName(spec.name), "' ",
                      std::string(dtypeName(spec.dtype)), shapeText(spec));
}

/// The largest value of a dim that is one symbol of `entry`, or -1.
int64_t symbolMax(const EntryDesc &entry, const SizeExprSpec &dim) {
  if (dim.constant != 0 || dim.divisor != 1 || dim.terms.size() != 1 ||
      dim.terms[0].second != 1 || dim.terms[0].first >= entry.symbols.size())
    return -1;
  return entry.symbols[dim.terms[0].first].max;
}

bool isVector(const TensorSpecDesc &spec, DType dtype, int64_t batch) {
  return spec.dtype == dtype && spec.shape.size() == 1 &&
         spec.shape[0].isConstant() && spec.shape[0].constant == batch &&
         spec.shardDim < 0;
}

bool staticShape(const TensorSpecDesc &spec) {
  for (const SizeExprSpec &d : spec.shape)
    if (!d.isConstant())
      return false;
  return true;
}

/// Checks one cached entry's interface (see MiniMaxImporter.h): input_ids
/// [B, T], a count vector, cache_lengths, the caches; logits [B, V],
/// cache_lengths_out and the caches' new values, result i >= 1 tied to
/// argument i + 1. Returns an error naming what differs.
/// Whether the last output of `e` is the untied `hidden` rows [B, N] that
/// recent imports add after the caches.
bool hasHiddenOutput(const EntryDesc &e) {
  return !e.outputs.empty() && e.outputs.size() == e.inputs.size() &&
         e.outputs.back().name == "hidden" && e.outputs.back().tiedTo < 0;
}

absl::Status checkCachedEntry(const std::string &where, const EntryDesc &e,
                              int64_t batch, const std::string &needs) {
  const size_t hidden = hasHiddenOutput(e) ? 1 : 0;
  if (e.inputs.size() < 3 || e.outputs.size() + 1 != e.inputs.size() + hidden)
    return absl::InvalidArgumentError(
        absl::StrCat(where, " has ", e.inputs.size(), " inputs and ",
                     e.outputs.size(), " outputs: ", needs));
  for (size_t i = 1; i < 3; ++i)
    if (!isVector(e.inputs[i], DType::I32, batch))
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": input ", i, " is ", specText(e.inputs[i]),
                       ", not i32[", batch, "]: ", needs));
  // (A cache may be split across devices, by heads: each device holds
  // its part in its device value.)
  for (size_t i = 3; i < e.inputs.size(); ++i)
    if (!staticShape(e.inputs[i]) || e.inputs[i].shape.empty() ||
        e.inputs[i].shape[0].constant != batch || e.inputs[i].shardDim == 0)
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": cache input ", specText(e.inputs[i]),
          " is not a static tensor of ", batch, " slots: ", needs));
  const TensorSpecDesc &logits = e.outputs[0];
  if (logits.dtype != DType::F32 || logits.shape.size() != 2 ||
      !staticShape(logits) || logits.shape[0].constant != batch ||
      logits.shape[1].constant < 1 || logits.tiedTo >= 0)
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": output 0 is ", specText(logits),
                     ", not logits f32[", batch, ", V]: ", needs));
  if (hidden) {
    const TensorSpecDesc &h = e.outputs.back();
    if (h.shape.size() != 2 || !staticShape(h) ||
        h.shape[0].constant != batch || h.shardDim >= 0 ||
        (h.dtype != DType::F32 && h.dtype != DType::BF16))
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": output ", specText(h),
                       " is not hidden rows f32 or bf16 [", batch, ", N]"));
  }
  for (size_t i = 1; i + hidden < e.outputs.size(); ++i)
    if (e.outputs[i].tiedTo != static_cast<int32_t>(i + 1))
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": output ", i, " ", specText(e.outputs[i]),
                       " is not tied to input ", i + 1, " (",
                       printableName(e.inputs[i + 1].name), "): ", needs));
  return absl::OkStatus();
}

} // namespace

PrefillDecodeStepper::PrefillDecodeStepper(Module &module) : module_(module) {}

absl::StatusOr<std::unique_ptr<PrefillDecodeStepper>>
PrefillDecodeStepper::create(Module &module, const StepperOptions &options) {
  const ModuleDesc &desc = module.desc();
  const std::string needs =
      "generation through the caches needs the entries 'prefill' and "
      "'decode' as hymir-import writes them (input_ids, prompt_lengths or "
      "active, cache_lengths, the caches; logits [B, V] f32 and the tied "
      "caches)";
  const EntryDesc *prefill = findEntry(desc, "prefill");
  const EntryDesc *decode = findEntry(desc, "decode");
  if (!prefill || !decode) {
    std::vector<std::string> names;
    for (const EntryDesc &e : desc.entries)
      names.push_back(printableName(e.name));
    return absl::NotFoundError(absl::StrCat(
        module.label(), ": no entry '", prefill ? "decode" : "prefill",
        "' (entries: ", names.empty() ? "none" : absl::StrJoin(names, ", "),
        "): ", needs));
  }
  const std::string pWhere = absl::StrCat(module.label(), ": entry 'prefill'");
  const std::string dWhere = absl::StrCat(module.label(), ": entry 'decode'");
  const TensorSpecDesc &pIds =
      prefill->inputs.empty() ? TensorSpecDesc() : prefill->inputs[0];
  if (prefill->inputs.empty() || pIds.dtype != DType::I32 ||
      pIds.shape.size() != 2 || !pIds.shape[0].isConstant() ||
      pIds.shape[0].constant < 1 || pIds.shardDim >= 0 ||
      !(pIds.shape[1].isConstant() ? pIds.shape[1].constant >= 1
                                   : symbolMax(*prefill, pIds.shape[1]) >= 1))
    return absl::InvalidArgumentError(
        absl::StrCat(pWhere, ": input 0 is ",
                     prefill->inputs.empty() ? "missing" : specText(pIds),
                     ", not input_ids i32[B, T]: ", needs));
  const int64_t batch = pIds.shape[0].constant;
  if (absl::Status s = checkCachedEntry(pWhere, *prefill, batch, needs);
      !s.ok())
    return s;
  const TensorSpecDesc &dIds =
      decode->inputs.empty() ? TensorSpecDesc() : decode->inputs[0];
  if (decode->inputs.empty() || dIds.dtype != DType::I32 ||
      dIds.shape.size() != 2 || !staticShape(dIds) ||
      dIds.shape[0].constant != batch || dIds.shape[1].constant != 1)
    return absl::InvalidArgumentError(
        absl::StrCat(dWhere, ": input 0 is ",
                     decode->inputs.empty() ? "missing" : specText(dIds),
                     ", not input_ids i32[", batch, ", 1]: ", needs));
  if (absl::Status s = checkCachedEntry(dWhere, *decode, batch, needs); !s.ok())
    return s;
  if (decode->inputs.size() != prefill->inputs.size() ||
      !(decode->outputs[0] == prefill->outputs[0]))
    return absl::InvalidArgumentError(absl::StrCat(
        dWhere, " has ", decode->inputs.size(), " inputs and logits ",
        specText(decode->outputs[0]), "; 'prefill' has ",
        prefill->inputs.size(), " and ", specText(prefill->outputs[0]),
        ": the two must share their caches"));
  for (size_t i = 2; i < prefill->inputs.size(); ++i) {
    const TensorSpecDesc &p = prefill->inputs[i], &d = decode->inputs[i];
    if (p.name != d.name || p.dtype != d.dtype || !(p.shape == d.shape) ||
        p.shardDim != d.shardDim)
      return absl::InvalidArgumentError(absl::StrCat(
          dWhere, ": input ", i, " is ", specText(d),
          d.shardDim >= 0 ? absl::StrCat(" split along dim ", d.shardDim) : "",
          " where 'prefill' has ", specText(p),
          p.shardDim >= 0 ? absl::StrCat(" split along dim ", p.shardDim) : "",
          ": the two must share their caches"));
  }

  // Generation's log-probs through the head kernel training uses: prefill
  // and decode return the hidden rows, `logprobs` maps them and the chosen
  // tokens to log-probs. Optional; when present it must fit.
  std::string hiddenName, lpHidden, lpTokens, lpOutput;
  const EntryDesc *lp = findEntry(desc, "logprobs");
  if (lp && hasHiddenOutput(*prefill) && hasHiddenOutput(*decode)) {
    const TensorSpecDesc &h = prefill->outputs.back();
    const std::string where =
        absl::StrCat(module.label(), ": entry 'logprobs'");
    if (!(decode->outputs.back() == h))
      return absl::InvalidArgumentError(
          absl::StrCat(dWhere, ": output ", specText(decode->outputs.back()),
                       " differs from 'prefill''s ", specText(h)));
    if (lp->inputs.size() < 2 || lp->outputs.size() != 1 ||
        lp->inputs[0].dtype != h.dtype || !(lp->inputs[0].shape == h.shape) ||
        !isVector(lp->inputs[1], DType::I32, batch) ||
        !isVector(lp->outputs[0], DType::F32, batch))
      return absl::InvalidArgumentError(absl::StrCat(
          where, " is not (hidden ", specText(h), ", tokens i32[", batch,
          "]) -> f32[", batch, "] as hymir-import writes it"));
    hiddenName = h.name;
    lpHidden = lp->inputs[0].name;
    lpTokens = lp->inputs[1].name;
    lpOutput = lp->outputs[0].name;
  }

  auto stepper =
      std::unique_ptr<PrefillDecodeStepper>(new PrefillDecodeStepper(module));
  PrefillDecodeStepper &s = *stepper;
  s.options_ = options;
  if (!hiddenName.empty()) {
    const TensorSpecDesc &h = prefill->outputs.back();
    s.hiddenName_ = hiddenName;
    s.lpHiddenName_ = lpHidden;
    s.lpTokensName_ = lpTokens;
    s.lpOutputName_ = lpOutput;
    s.hiddenDtype_ = h.dtype;
    s.hiddenSize_ = h.shape[1].constant;
    s.hiddenRows_.assign(
        static_cast<size_t>(batch * s.hiddenSize_) * dtypeSize(h.dtype), 0);
  }
  s.batch_ = batch;
  s.vocab_ = prefill->outputs[0].shape[1].constant;
  s.fixedPrefillTokens_ =
      pIds.shape[1].isConstant() ? pIds.shape[1].constant : int64_t(0);
  s.context_ = s.fixedPrefillTokens_ ? s.fixedPrefillTokens_
                                     : symbolMax(*prefill, pIds.shape[1]);
  s.prefillNames_ = {prefill->inputs[0].name, prefill->inputs[1].name};
  s.decodeNames_ = {decode->inputs[0].name, decode->inputs[1].name};
  s.logitsName_ = prefill->outputs[0].name;
  s.lengthsName_ = prefill->inputs[2].name;
  // The KV caches [B, C, Hkv, D] bound the tokens a sequence may hold.
  for (size_t i = 3; i < prefill->inputs.size(); ++i) {
    const TensorSpecDesc &c = prefill->inputs[i];
    if (c.shape.size() == 4 && (absl::EndsWith(c.name, "key_cache") ||
                                absl::EndsWith(c.name, "value_cache")))
      s.context_ = std::min(s.context_, c.shape[1].constant);
  }
  absl::StatusOr<DeviceValue> lengths =
      module.allocate("prefill", s.lengthsName_);
  if (!lengths.ok())
    return lengths.status();
  s.lengthsValue_ = std::make_unique<DeviceValue>(std::move(*lengths));
  for (size_t i = 3; i < prefill->inputs.size(); ++i) {
    absl::StatusOr<DeviceValue> cache =
        module.allocate("prefill", prefill->inputs[i].name);
    if (!cache.ok())
      return cache.status();
    s.cacheNames_.push_back(prefill->inputs[i].name);
    s.caches_.push_back(std::make_unique<DeviceValue>(std::move(*cache)));
  }
  s.held_.assign(batch, 0);
  return stepper;
}

PrefillDecodeStepper::~PrefillDecodeStepper() = default;

std::string PrefillDecodeStepper::describe() const {
  return hiddenName_.empty()
             ? "entries 'prefill' and 'decode' over device-resident caches"
             : "entries 'prefill' and 'decode' over device-resident caches, "
               "'logprobs' for the sampled tokens";
}

std::string PrefillDecodeStepper::cudaGraphsNote() const {
  if (!options_.cudaGraphs)
    return "cuda graphs: off";
  CudaGraphUse use = module_.cudaGraphUse("decode");
  std::string calls = absl::StrCat(
      use.graphs, " graph", use.graphs == 1 ? "" : "s", " captured, ",
      use.replays, " replay", use.replays == 1 ? "" : "s", ", ", use.plainCalls,
      " call", use.plainCalls == 1 ? "" : "s", " with plain launches");
  if (!use.notUsed.empty())
    return absl::StrCat("cuda graphs: not used for entry 'decode': ",
                        use.notUsed, " (", calls, ")");
  if (use.replays == 0)
    return absl::StrCat("cuda graphs: none replayed for entry 'decode' yet (",
                        calls,
                        "; a graph is captured on the second decode call)");
  return absl::StrCat("cuda graphs: used for entry 'decode' (", calls, ")");
}

void PrefillDecodeStepper::release(int64_t slot) {
  if (slot >= 0 && slot < batch_)
    held_[slot] = 0;
}

absl::StatusOr<std::vector<float>> PrefillDecodeStepper::call(
    bool isPrefill, absl::Span<const StepFeed *const> feeds, int64_t tokens) {
  const std::string entry = isPrefill ? "prefill" : "decode";
  const auto &names = isPrefill ? prefillNames_ : decodeNames_;
  Tensor ids(DType::I32, {batch_, tokens});
  Tensor counts(DType::I32, {batch_});
  Tensor lengths(DType::I32, {batch_});
  auto *idData = reinterpret_cast<int32_t *>(ids.data());
  auto *countData = reinterpret_cast<int32_t *>(counts.data());
  auto *lengthData = reinterpret_cast<int32_t *>(lengths.data());
  // Slots not in this call are idle (count 0): they keep their caches and
  // lengths. A starting slot's length is 0: a new sequence.
  for (int64_t b = 0; b < batch_; ++b)
    lengthData[b] = static_cast<int32_t>(held_[b]);
  for (const StepFeed *feed : feeds) {
    const int64_t n = static_cast<int64_t>(feed->tokens.size());
    std::memcpy(idData + feed->slot * tokens, feed->tokens.data(),
                n * sizeof(int32_t));
    countData[feed->slot] = static_cast<int32_t>(n);
    if (feed->start)
      lengthData[feed->slot] = 0;
  }
  if (absl::Status s = lengthsValue_->upload(lengths); !s.ok())
    return s;
  TensorMap inputs;
  inputs.emplace(names[0], std::move(ids));
  inputs.emplace(names[1], std::move(counts));
  DeviceValueMap values;
  values.emplace(lengthsName_, lengthsValue_.get());
  for (size_t i = 0; i < caches_.size(); ++i)
    values.emplace(cacheNames_[i], caches_[i].get());
  // Decode repeats with the same caches every step: with cudaGraphs it
  // runs as one graph. Prefill's token count changes from call to call.
  CallOptions callOptions;
  callOptions.cudaGraphs = options_.cudaGraphs && !isPrefill;
  absl::StatusOr<TensorMap> outputs =
      module_.call(entry, inputs, values, callOptions);
  if (!outputs.ok())
    return outputs.status();
  auto it = outputs->find(logitsName_);
  if (it == outputs->end() || it->second.dtype() != DType::F32 ||
      it->second.shape() != std::vector<int64_t>{batch_, vocab_})
    return absl::InternalError(absl::StrCat("entry '", entry,
                                            "' returned no logits [", batch_,
                                            ", ", vocab_, "] f32"));
  if (!hiddenName_.empty()) {
    auto h = outputs->find(hiddenName_);
    const size_t rowBytes =
        static_cast<size_t>(hiddenSize_) * dtypeSize(hiddenDtype_);
    if (h == outputs->end() || h->second.dtype() != hiddenDtype_ ||
        h->second.shape() != std::vector<int64_t>{batch_, hiddenSize_})
      return absl::InternalError(absl::StrCat(
          "entry '", entry, "' returned no '", hiddenName_, "' [", batch_, ", ",
          hiddenSize_, "] ", std::string(dtypeName(hiddenDtype_))));
    const auto *rows = static_cast<const uint8_t *>(h->second.data());
    for (const StepFeed *feed : feeds)
      std::memcpy(hiddenRows_.data() + feed->slot * rowBytes,
                  rows + feed->slot * rowBytes, rowBytes);
  }
  for (const StepFeed *feed : feeds)
    held_[feed->slot] =
        lengthData[feed->slot] + static_cast<int64_t>(feed->tokens.size());
  const auto *logits = reinterpret_cast<const float *>(it->second.data());
  return std::vector<float>(logits, logits + batch_ * vocab_);
}

absl::StatusOr<std::vector<float>>
PrefillDecodeStepper::step(absl::Span<const StepFeed> feeds) {
  std::vector<const StepFeed *> starting, continuing;
  int64_t longest = 0;
  for (const StepFeed &feed : feeds) {
    if (feed.slot < 0 || feed.slot >= batch_)
      return absl::InvalidArgumentError(absl::StrCat(
          "slot ", feed.slot, " is not one of the entries' ", batch_));
    const int64_t n = static_cast<int64_t>(feed.tokens.size());
    if (feed.start) {
      if (n < 1)
        return absl::InvalidArgumentError(
            absl::StrCat("slot ", feed.slot, " starts with no tokens"));
      // A new sequence's prefill starts at cache length 0, padded to the
      // longest starting prompt: it fits when that prompt fits the caches.
      if (n > context_)
        return absl::InvalidArgumentError(absl::StrCat(
            "slot ", feed.slot, " starts with ", n,
            " tokens, more than the caches hold (", context_, ")"));
      starting.push_back(&feed);
      longest = std::max(longest, n);
    } else {
      if (held_[feed.slot] == 0)
        return absl::FailedPreconditionError(absl::StrCat(
            "slot ", feed.slot, " continues a sequence it does not hold"));
      if (n != 1)
        return absl::InvalidArgumentError(
            absl::StrCat("slot ", feed.slot, " continues with ", n,
                         " tokens; the decode entry takes one per step"));
      if (held_[feed.slot] + 1 > context_)
        return absl::InvalidArgumentError(absl::StrCat(
            "slot ", feed.slot, " holds ", held_[feed.slot],
            " tokens: one more does not fit the context of ", context_));
      continuing.push_back(&feed);
    }
  }
  std::vector<float> rows(feeds.size() * vocab_);
  auto place = [&](const std::vector<float> &logits,
                   const std::vector<const StepFeed *> &group) {
    for (const StepFeed *feed : group)
      std::memcpy(rows.data() + (feed - feeds.data()) * vocab_,
                  logits.data() + feed->slot * vocab_, vocab_ * sizeof(float));
  };
  if (!starting.empty()) {
    absl::StatusOr<std::vector<float>> logits = call(
        true, starting, fixedPrefillTokens_ ? fixedPrefillTokens_ : longest);
    if (!logits.ok())
      return logits.status();
    place(*logits, starting);
  }
  if (!continuing.empty()) {
    absl::StatusOr<std::vector<float>> logits = call(false, continuing, 1);
    if (!logits.ok())
      return logits.status();
    place(*logits, continuing);
  }
  return rows;
}

absl::StatusOr<std::vector<float>>
PrefillDecodeStepper::tokenLogprobs(absl::Span<const StepFeed> feeds,
                                    absl::Span<const int32_t> tokens) {
  if (hiddenName_.empty())
    return Stepper::tokenLogprobs(feeds, tokens);
  if (tokens.size() != feeds.size())
    return absl::InvalidArgumentError(absl::StrCat(
        tokens.size(), " tokens for ", feeds.size(), " sequences"));
  Tensor hidden(hiddenDtype_, {batch_, hiddenSize_});
  std::memcpy(hidden.data(), hiddenRows_.data(), hiddenRows_.size());
  Tensor ids(DType::I32, {batch_});
  auto *idData = reinterpret_cast<int32_t *>(ids.data());
  std::fill(idData, idData + batch_, 0);
  for (size_t f = 0; f < feeds.size(); ++f) {
    if (feeds[f].slot < 0 || feeds[f].slot >= batch_)
      return absl::InvalidArgumentError(absl::StrCat(
          "slot ", feeds[f].slot, " is not one of the entries' ", batch_));
    idData[feeds[f].slot] = tokens[f];
  }
  TensorMap inputs;
  inputs.emplace(lpHiddenName_, std::move(hidden));
  inputs.emplace(lpTokensName_, std::move(ids));
  absl::StatusOr<TensorMap> outputs = module_.call("logprobs", inputs);
  if (!outputs.ok())
    return outputs.status();
  auto it = outputs->find(lpOutputName_);
  if (it == outputs->end() || it->second.dtype() != DType::F32 ||
      it->second.shape() != std::vector<int64_t>{batch_})
    return absl::InternalError(absl::StrCat("entry 'logprobs' returned no '",
                                            lpOutputName_, "' [", batch_,
                                            "] f32"));
  const auto *lp = reinterpret_cast<const float *>(it->second.data());
  std::vector<float> out(feeds.size());
  for (size_t f = 0; f < feeds.size(); ++f)
    out[f] = lp[feeds[f].slot];
  return out;
}

} // namespace hymir
