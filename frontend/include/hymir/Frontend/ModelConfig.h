//===- ModelConfig.h - a MiniMax config.json, read and checked --*- C++ -*-===//
//
// The settings of a MiniMax-M1-family model as hymir-import needs them, read
// from a Hugging Face config.json of either of its two dialects:
//
//   - MiniMax-M1 (and MiniMax-Text-01), as the released checkpoints ship it:
//     `attn_type_list`, `layernorm_{linear_attention,full_attention,mlp}_
//     {alpha,beta}`, `postnorm`, `rotary_dim`, `rope_theta`;
//   - transformers' `MiniMaxConfig`: `layer_types`, `{linear_attn,full_attn,
//     mlp}_{alpha,beta}_factor`, `rope_parameters`; keys left at their
//     default are absent from a config transformers saved, so absent keys
//     take transformers' defaults.
//
// Which dialect a config speaks decides what the model computes where the
// two codebases differ (docs: ../shared/model-math.md 3, 3b and 4): the layer
// factor of the lightning decay rates, their rule for head counts that are
// not a power of two, and RoPE on `rotary_dim` dims (M1) or the whole head
// (transformers). A key neither dialect has, a key of the other dialect, a
// value out of range, settings that contradict each other, and features
// hymir does not compile (a sliding window, shared experts, RoPE scaling)
// are errors naming the key.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_FRONTEND_MODELCONFIG_H
#define HYMIR_FRONTEND_MODELCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hymir::frontend {

/// The codebase whose config keys (and semantics) a config.json follows.
enum class ConfigDialect { MiniMaxM1, Transformers };

/// The token mixer of a decoder layer.
enum class LayerKind { Lightning, Softmax };

struct ModelConfig {
  ConfigDialect dialect = ConfigDialect::MiniMaxM1;
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0;
  int64_t headDim = 0;
  int64_t intermediateSize = 0;
  int64_t numExperts = 0;
  int64_t expertsPerToken = 0;
  int64_t vocabSize = 0;
  std::vector<LayerKind> layers;
  /// RoPE on the first `rotaryDim` dims of each head of softmax layers.
  int64_t rotaryDim = 0;
  double ropeTheta = 0;
  double rmsNormEps = 0;
  /// The residual of each block is the normed input (M1's postnorm; always
  /// so in transformers) instead of the block's input.
  bool postnorm = true;
  /// Residual factors: y = alpha * residual + beta * block(h).
  double lightningAlpha = 1, lightningBeta = 1;
  double softmaxAlpha = 1, softmaxBeta = 1;
  double mlpAlpha = 1, mlpBeta = 1;
  /// MoE routing weights divided by their sum (always so in both codebases
  /// unless `norm_topk_prob` says otherwise).
  bool renormalize = true;
  bool tieWordEmbeddings = false;
  /// The checkpoint's dtype as the config names it ("bfloat16", "float32",
  /// ...; empty when absent).
  std::string dtype;
  /// Keys that were not recognised but allowed (allowUnknownKeys).
  std::vector<std::string> ignoredKeys;

  /// The per-head decay rates of lightning layer `layer` (the ALiBi slopes
  /// scaled by the layer factor), by the rule of the config's dialect.
  std::vector<double> lightningSlopes(int64_t layer) const;

  /// "MiniMax-M1" or "transformers MiniMaxConfig".
  llvm::StringRef dialectName() const;
};

/// Parses and checks `text`, the contents of `path` (named in errors). With
/// `allowUnknownKeys`, keys neither dialect knows are listed in
/// ModelConfig::ignoredKeys instead of failing.
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef text,
                                             llvm::StringRef path,
                                             bool allowUnknownKeys = false);

} // namespace hymir::frontend

#endif // HYMIR_FRONTEND_MODELCONFIG_H
