//===- ModelConfig.cpp - reading a MiniMax config.json --------------------===//
//
// See ModelConfig.h. The keys each dialect knows are listed once below; a
// key is read by the accessor of its type, which names the key and the value
// it found when the value has another type or lies outside its range.
//
//===----------------------------------------------------------------------===//

#include "hymir/Frontend/ModelConfig.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <optional>

using namespace llvm;

namespace hymir::frontend {
namespace {

/// Keys of both dialects (and of every transformers config) that hymir reads
/// or that do not change what the model computes.
constexpr StringLiteral kCommonKeys[] = {
    // Read.
    "hidden_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "head_dim", "intermediate_size", "num_local_experts",
    "num_experts_per_tok", "vocab_size", "hidden_act", "rms_norm_eps",
    "tie_word_embeddings", "sliding_window", "rope_theta", "rope_scaling",
    "norm_topk_prob", "torch_dtype", "dtype", "model_type",
    // Training, generation and bookkeeping: no effect on the logits.
    "architectures", "auto_map", "transformers_version", "_name_or_path",
    "max_position_embeddings", "initializer_range", "use_cache", "bos_token_id",
    "eos_token_id", "pad_token_id", "sep_token_id", "decoder_start_token_id",
    "attention_dropout", "output_router_logits", "router_aux_loss_coef",
    "router_jitter_noise", "block_size", "return_dict", "output_hidden_states",
    "output_attentions", "torchscript", "use_return_dict",
    "chunk_size_feed_forward", "is_encoder_decoder", "is_decoder",
    "add_cross_attention", "tie_encoder_decoder", "id2label", "label2id",
    "problem_type", "tokenizer_class", "prefix", "task_specific_params",
    "finetuning_task", "cross_attention_hidden_size", "pruned_heads"};

/// Keys only MiniMax-M1's config has.
constexpr StringLiteral kM1Keys[] = {"attn_type_list",
                                     "layernorm_linear_attention_alpha",
                                     "layernorm_linear_attention_beta",
                                     "layernorm_full_attention_alpha",
                                     "layernorm_full_attention_beta",
                                     "layernorm_mlp_alpha",
                                     "layernorm_mlp_beta",
                                     "postnorm",
                                     "rotary_dim",
                                     "shared_intermediate_size",
                                     "shared_moe_mode"};

/// Keys only transformers' MiniMaxConfig has.
constexpr StringLiteral kTransformersKeys[] = {"layer_types",
                                               "rope_parameters",
                                               "full_attn_alpha_factor",
                                               "full_attn_beta_factor",
                                               "linear_attn_alpha_factor",
                                               "linear_attn_beta_factor",
                                               "mlp_alpha_factor",
                                               "mlp_beta_factor"};

/// Reads typed values of one config object, naming the file and the key in
/// every error.
class Reader {
public:
  Reader(const json::Object &object, StringRef path)
      : object(object), path(path) {}

  Error error(const Twine &message) const {
    return createStringError(inconvertibleErrorCode(), path + ": " + message);
  }

  bool has(StringRef key) const {
    const json::Value *v = object.get(key);
    return v && v->kind() != json::Value::Null;
  }
  const json::Value *get(StringRef key) const { return object.get(key); }

  /// An integer in [lo, hi]; `fallback` when absent (or null), an error
  /// naming the key when absent without one.
  Expected<int64_t> integer(StringRef key, std::optional<int64_t> fallback,
                            int64_t lo = 1, int64_t hi = INT32_MAX) const {
    if (!has(key)) {
      if (fallback)
        return *fallback;
      return missing(key);
    }
    std::optional<int64_t> v = object.get(key)->getAsInteger();
    if (!v || *v < lo || *v > hi)
      return error(formatv("'{0}' must be an integer in [{1}, {2}], got {3}",
                           key, lo, hi, *object.get(key)));
    return *v;
  }

  /// A finite number; positive when `positive`.
  Expected<double> number(StringRef key, std::optional<double> fallback,
                          bool positive = false) const {
    if (!has(key)) {
      if (fallback)
        return *fallback;
      return missing(key);
    }
    std::optional<double> v = object.get(key)->getAsNumber();
    if (!v || !std::isfinite(*v) || (positive && *v <= 0))
      return error(formatv("'{0}' must be a {1}number, got {2}", key,
                           positive ? "positive " : "", *object.get(key)));
    return *v;
  }

  Expected<bool> boolean(StringRef key, bool fallback) const {
    if (!has(key))
      return fallback;
    std::optional<bool> v = object.get(key)->getAsBoolean();
    if (!v)
      return error(formatv("'{0}' must be true or false, got {1}", key,
                           *object.get(key)));
    return *v;
  }

  Expected<std::string> string(StringRef key, StringRef fallback) const {
    if (!has(key))
      return fallback.str();
    std::optional<StringRef> v = object.get(key)->getAsString();
    if (!v)
      return error(
          formatv("'{0}' must be a string, got {1}", key, *object.get(key)));
    return v->str();
  }

  Error missing(StringRef key) const {
    return error(formatv("missing key '{0}'", key));
  }

  const json::Object &object;
  StringRef path;
};

/// ALiBi slopes (the M1 code's rule): for a power of two H, 2^(-8 (h+1) / H);
/// otherwise those of the largest power of two P below H, then every other
/// slope of 2P.
std::vector<double> alibiSlopes(int64_t heads) {
  auto powerOfTwo = [](int64_t n) {
    std::vector<double> s;
    for (int64_t h = 0; h < n; ++h)
      s.push_back(std::exp2(-8.0 * static_cast<double>(h + 1) /
                            static_cast<double>(n)));
    return s;
  };
  if (isPowerOf2_64(static_cast<uint64_t>(heads)))
    return powerOfTwo(heads);
  int64_t lower = static_cast<int64_t>(bit_floor(static_cast<uint64_t>(heads)));
  std::vector<double> s = powerOfTwo(lower);
  std::vector<double> wider = alibiSlopes(2 * lower);
  for (int64_t h = 0; static_cast<int64_t>(s.size()) < heads; h += 2)
    s.push_back(wider[static_cast<size_t>(h)]);
  return s;
}

Expected<ModelConfig> parse(const json::Object &object, StringRef path,
                            bool allowUnknownKeys) {
  Reader r(object, path);
  ModelConfig c;

  // The dialect: which key lists the layer kinds.
  bool m1 = r.has("attn_type_list"), hf = r.has("layer_types");
  if (m1 && hf)
    return r.error("both 'attn_type_list' (MiniMax-M1) and 'layer_types' "
                   "(transformers MiniMaxConfig) are set; a config has one");
  Expected<std::string> modelType = r.string("model_type", "");
  if (!modelType)
    return modelType.takeError();
  if (!modelType->empty() &&
      !is_contained({"minimax_m1", "minimax_text_01", "minimax"}, *modelType))
    return r.error(formatv("'model_type' is '{0}'; hymir-import reads "
                           "MiniMax models (minimax_m1, minimax_text_01, "
                           "minimax)",
                           *modelType));
  // transformers itself fills in alternating layer types when a MiniMax
  // config has none.
  if (!m1 && !hf && *modelType != "minimax")
    return r.error("neither 'attn_type_list' (MiniMax-M1) nor 'layer_types' "
                   "(transformers MiniMaxConfig) says which layers are "
                   "softmax attention");
  c.dialect = m1 ? ConfigDialect::MiniMaxM1 : ConfigDialect::Transformers;

  // Every key must be one this dialect knows.
  StringSet<> common, own, other;
  for (StringRef k : kCommonKeys)
    common.insert(k);
  for (StringRef k : kM1Keys)
    (m1 ? own : other).insert(k);
  for (StringRef k : kTransformersKeys)
    (m1 ? other : own).insert(k);
  std::vector<std::string> keys;
  for (const auto &entry : object)
    keys.push_back(entry.first.str());
  llvm::sort(keys);
  for (const std::string &key : keys) {
    if (common.contains(key) || own.contains(key))
      continue;
    if (other.contains(key))
      return r.error(formatv(
          "'{0}' is a {1} key, but {2} makes this a {3} config; a config "
          "uses the keys of one",
          key, m1 ? "transformers MiniMaxConfig" : "MiniMax-M1",
          m1 ? "'attn_type_list'" : (hf ? "'layer_types'" : "'model_type'"),
          c.dialectName()));
    if (!allowUnknownKeys)
      return r.error(formatv("unknown key '{0}' (neither MiniMax-M1 nor "
                             "transformers MiniMaxConfig has it; "
                             "--allow-unknown-keys ignores it)",
                             key));
    c.ignoredKeys.push_back(key);
  }

  // Sizes. MiniMax-M1 configs set them; transformers omits a key left at
  // MiniMaxConfig's default, so those defaults apply.
  auto dflt = [&](int64_t v) -> std::optional<int64_t> {
    return m1 ? std::nullopt : std::optional<int64_t>(v);
  };
  auto read = [&](int64_t &out, StringRef key, std::optional<int64_t> fallback,
                  int64_t lo = 1) -> Error {
    Expected<int64_t> v = r.integer(key, fallback, lo);
    if (!v)
      return v.takeError();
    out = *v;
    return Error::success();
  };
  if (Error e = read(c.hiddenSize, "hidden_size", dflt(4096)))
    return std::move(e);
  if (Error e = read(c.numLayers, "num_hidden_layers", dflt(32)))
    return std::move(e);
  if (Error e = read(c.numHeads, "num_attention_heads", dflt(32)))
    return std::move(e);
  if (Error e = read(c.numKvHeads, "num_key_value_heads", m1 ? c.numHeads : 8))
    return std::move(e);
  if (Error e = read(c.intermediateSize, "intermediate_size", dflt(14336)))
    return std::move(e);
  if (Error e = read(c.numExperts, "num_local_experts", dflt(8)))
    return std::move(e);
  if (Error e = read(c.expertsPerToken, "num_experts_per_tok", dflt(2)))
    return std::move(e);
  if (Error e = read(c.vocabSize, "vocab_size", dflt(32000)))
    return std::move(e);
  if (!r.has("head_dim") && c.hiddenSize % c.numHeads != 0)
    return r.error(formatv("'head_dim' is not set and 'hidden_size' {0} is "
                           "not a multiple of 'num_attention_heads' {1}",
                           c.hiddenSize, c.numHeads));
  if (Error e = read(c.headDim, "head_dim", c.hiddenSize / c.numHeads))
    return std::move(e);
  if (c.expertsPerToken > c.numExperts)
    return r.error(formatv("'num_experts_per_tok' {0} is more than "
                           "'num_local_experts' {1}",
                           c.expertsPerToken, c.numExperts));

  // Layer kinds.
  if (m1) {
    const json::Array *list = r.get("attn_type_list")->getAsArray();
    if (!list)
      return r.error("'attn_type_list' must be a list of 0 (lightning) and "
                     "1 (softmax attention)");
    for (const json::Value &v : *list) {
      std::optional<int64_t> kind = v.getAsInteger();
      if (!kind || (*kind != 0 && *kind != 1))
        return r.error(formatv("'attn_type_list' holds {0}; its entries are "
                               "0 (lightning) and 1 (softmax attention)",
                               v));
      c.layers.push_back(*kind ? LayerKind::Softmax : LayerKind::Lightning);
    }
  } else if (hf) {
    const json::Array *list = r.get("layer_types")->getAsArray();
    if (!list)
      return r.error("'layer_types' must be a list of \"linear_attention\" "
                     "and \"full_attention\"");
    for (const json::Value &v : *list) {
      std::optional<StringRef> kind = v.getAsString();
      if (!kind || (*kind != "linear_attention" && *kind != "full_attention"))
        return r.error(formatv("'layer_types' holds {0}; its entries are "
                               "\"linear_attention\" and \"full_attention\"",
                               v));
      c.layers.push_back(*kind == "full_attention" ? LayerKind::Softmax
                                                   : LayerKind::Lightning);
    }
  } else {
    for (int64_t l = 0; l < c.numLayers; ++l)
      c.layers.push_back(l % 2 == 0 ? LayerKind::Softmax
                                    : LayerKind::Lightning);
  }
  if (static_cast<int64_t>(c.layers.size()) != c.numLayers)
    return r.error(formatv("'num_hidden_layers' is {0}, but '{1}' has {2} "
                           "entries",
                           c.numLayers, m1 ? "attn_type_list" : "layer_types",
                           c.layers.size()));
  bool anySoftmax = is_contained(c.layers, LayerKind::Softmax);
  if (anySoftmax && c.numHeads % c.numKvHeads != 0)
    return r.error(formatv("'num_attention_heads' {0} is not a multiple of "
                           "'num_key_value_heads' {1}",
                           c.numHeads, c.numKvHeads));

  // Features hymir does not compile.
  Expected<std::string> act = r.string("hidden_act", "silu");
  if (!act)
    return act.takeError();
  if (*act != "silu")
    return r.error(formatv("'hidden_act' is '{0}'; hymir compiles the "
                           "SiLU-gated model only (\"silu\")",
                           *act));
  if (r.has("sliding_window"))
    return r.error(formatv("'sliding_window' is {0}; hymir's softmax "
                           "attention has no sliding window (null)",
                           *r.get("sliding_window")));
  if (m1) {
    Expected<int64_t> shared = r.integer("shared_intermediate_size", 0, 0);
    if (!shared)
      return shared.takeError();
    if (*shared != 0)
      return r.error(formatv("'shared_intermediate_size' is {0}; hymir's MoE "
                             "has no shared expert (0)",
                             *shared));
  }
  if (r.has("rope_scaling")) {
    const json::Object *scaling = r.get("rope_scaling")->getAsObject();
    std::optional<StringRef> type =
        scaling ? scaling->getString("rope_type") : std::nullopt;
    if (!type)
      type = scaling ? scaling->getString("type") : std::nullopt;
    if (!type || *type != "default")
      return r.error(formatv("'rope_scaling' is {0}; hymir's RoPE has no "
                             "scaling (null)",
                             *r.get("rope_scaling")));
  }
  Expected<bool> normTopK = r.boolean("norm_topk_prob", true);
  if (!normTopK)
    return normTopK.takeError();
  c.renormalize = *normTopK;
  Expected<bool> tie = r.boolean("tie_word_embeddings", false);
  if (!tie)
    return tie.takeError();
  c.tieWordEmbeddings = *tie;
  Expected<std::string> dtype =
      r.string(r.has("dtype") ? "dtype" : "torch_dtype", "");
  if (!dtype)
    return dtype.takeError();
  c.dtype = *dtype;

  std::optional<double> epsDefault;
  if (!m1)
    epsDefault = 1e-5;
  Expected<double> eps = r.number("rms_norm_eps", epsDefault, true);
  if (!eps)
    return eps.takeError();
  c.rmsNormEps = *eps;

  // Residual factors, RoPE.
  auto factor = [&](double &out, StringRef key) -> Error {
    Expected<double> v = r.number(key, 1.0);
    if (!v)
      return v.takeError();
    out = *v;
    return Error::success();
  };
  if (m1) {
    Expected<bool> postnorm = r.boolean("postnorm", false);
    if (!postnorm)
      return postnorm.takeError();
    c.postnorm = *postnorm;
    for (auto [out, key] :
         {std::pair<double *, StringRef>{&c.lightningAlpha,
                                         "layernorm_linear_attention_alpha"},
          {&c.lightningBeta, "layernorm_linear_attention_beta"},
          {&c.softmaxAlpha, "layernorm_full_attention_alpha"},
          {&c.softmaxBeta, "layernorm_full_attention_beta"},
          {&c.mlpAlpha, "layernorm_mlp_alpha"},
          {&c.mlpBeta, "layernorm_mlp_beta"}})
      if (Error e = factor(*out, key))
        return std::move(e);
    Expected<double> theta = r.number("rope_theta", std::nullopt, true);
    if (!theta)
      return theta.takeError();
    c.ropeTheta = *theta;
    Expected<int64_t> rotary = r.integer("rotary_dim", c.headDim);
    if (!rotary)
      return rotary.takeError();
    c.rotaryDim = *rotary;
    if (c.rotaryDim % 2 != 0 || c.rotaryDim > c.headDim)
      return r.error(formatv("'rotary_dim' {0} must be even and at most "
                             "'head_dim' {1}",
                             c.rotaryDim, c.headDim));
    return c;
  }

  c.postnorm = true;
  for (auto [out, key] : {std::pair<double *, StringRef>{
                              &c.lightningAlpha, "linear_attn_alpha_factor"},
                          {&c.lightningBeta, "linear_attn_beta_factor"},
                          {&c.softmaxAlpha, "full_attn_alpha_factor"},
                          {&c.softmaxBeta, "full_attn_beta_factor"},
                          {&c.mlpAlpha, "mlp_alpha_factor"},
                          {&c.mlpBeta, "mlp_beta_factor"}})
    if (Error e = factor(*out, key))
      return std::move(e);
  // RoPE over the whole head (transformers' MiniMax attention rotates all
  // head_dim dims); theta from rope_parameters, or the older top-level key.
  c.rotaryDim = c.headDim;
  c.ropeTheta = 1e6;
  std::optional<double> topLevelTheta;
  if (r.has("rope_theta")) {
    Expected<double> theta = r.number("rope_theta", std::nullopt, true);
    if (!theta)
      return theta.takeError();
    topLevelTheta = c.ropeTheta = *theta;
  }
  if (r.has("rope_parameters")) {
    const json::Object *rope = r.get("rope_parameters")->getAsObject();
    if (!rope)
      return r.error(formatv("'rope_parameters' must be an object, got {0}",
                             *r.get("rope_parameters")));
    Reader inner(*rope, path);
    for (const auto &entry : *rope) {
      StringRef key = entry.first;
      if (key != "rope_type" && key != "rope_theta" &&
          key != "partial_rotary_factor")
        return r.error(formatv("'rope_parameters.{0}': hymir's RoPE takes "
                               "rope_type \"default\", rope_theta and no "
                               "other setting",
                               key));
    }
    Expected<std::string> type = inner.string("rope_type", "default");
    if (!type)
      return type.takeError();
    if (*type != "default")
      return r.error(formatv("'rope_parameters.rope_type' is '{0}'; hymir's "
                             "RoPE is the default one (no scaling)",
                             *type));
    Expected<double> theta = inner.number("rope_theta", c.ropeTheta, true);
    if (!theta)
      return theta.takeError();
    if (topLevelTheta && *topLevelTheta != *theta)
      return r.error(formatv("'rope_theta' {0} and 'rope_parameters."
                             "rope_theta' {1} differ",
                             *r.get("rope_theta"), *rope->get("rope_theta")));
    c.ropeTheta = *theta;
    Expected<double> partial = inner.number("partial_rotary_factor", 1.0, true);
    if (!partial)
      return partial.takeError();
    if (*partial != 1.0)
      return r.error(formatv("'rope_parameters.partial_rotary_factor' is "
                             "{0}; transformers' MiniMax rotates the whole "
                             "head (1.0)",
                             *rope->get("partial_rotary_factor")));
  }
  return c;
}

} // namespace

StringRef ModelConfig::dialectName() const {
  return dialect == ConfigDialect::MiniMaxM1 ? "MiniMax-M1"
                                             : "transformers MiniMaxConfig";
}

std::vector<double> ModelConfig::lightningSlopes(int64_t layer) const {
  double l = static_cast<double>(layer);
  double last = static_cast<double>(numLayers - 1);
  std::vector<double> slopes;
  if (dialect == ConfigDialect::MiniMaxM1) {
    // modeling_minimax_m1.py: ALiBi slopes times 1 - l / (L - 1) + 1e-5
    // (1 + 1e-5 for a single layer).
    double factor = numLayers > 1 ? 1 - l / last + 1e-5 : 1 + 1e-5;
    for (double s : alibiSlopes(numHeads))
      slopes.push_back(s * factor);
    return slopes;
  }
  // transformers' MiniMaxLightningAttention.get_slope_rate: 2^(-8 (h+1) / H)
  // for every head count, times 1 - l / (L - 1 + 1e-5) + 1e-5.
  double factor = 1 - l / (last + 1e-5) + 1e-5;
  for (int64_t h = 0; h < numHeads; ++h)
    slopes.push_back(std::exp2(-8.0 * static_cast<double>(h + 1) /
                               static_cast<double>(numHeads)) *
                     factor);
  return slopes;
}

Expected<ModelConfig> parseModelConfig(StringRef text, StringRef path,
                                       bool allowUnknownKeys) {
  Expected<json::Value> value = json::parse(text);
  if (!value)
    return createStringError(
        inconvertibleErrorCode(),
        path + ": not valid JSON: " + toString(value.takeError()));
  const json::Object *object = value->getAsObject();
  if (!object)
    return createStringError(inconvertibleErrorCode(),
                             path + ": not a JSON object");
  return parse(*object, path, allowUnknownKeys);
}

} // namespace hymir::frontend
