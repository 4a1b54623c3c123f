//===- MiniMaxImporter.h - a MiniMax checkpoint as a hymir module -*- C++
//-*-===//
//
// hymir-import's library: reads a Hugging Face model directory of the
// MiniMax-M1 family (config.json and the safetensors headers, see
// ModelConfig.h and Checkpoint.h) and builds one hymir module whose
// parameters are the checkpoint's tensors under their own names
// (`hymir.name`, `hymir.param`), bound at run time from the same files
// (`hymir-run --weights`, Module::bindWeights).
//
// Entries (names are a contract, design.md "The imported model"):
//
//   forward  input_ids [B, T] i32 -> logits [B, T, V] f32: every position,
//            no caches. B is the import's batch (ImportOptions::maxBatch),
//            T the call's token count, at most ImportOptions::maxContext.
//
//   prefill  a batch of sequences through the caches, B slots, C =
//            ImportOptions::maxContext, H heads of D, Hkv KV heads, V vocab.
//            Arguments, in this order:
//              input_ids       [B, T] i32: slot b's new tokens in columns
//                              [0, prompt_lengths[b]), right-padded with
//                              any ids in [0, V);
//              prompt_lengths  [B] i32 in [0, T]: 0 leaves the slot idle;
//              cache_lengths   [B] i32 in [0, C]: the tokens slot b's
//                              caches hold, where its new tokens start; 0
//                              starts a new sequence (its lightning states
//                              count as zeros, whatever they hold);
//              per layer l, in order: lightning `layers.<l>.state`
//                              [B, H, D, D] f32; softmax
//                              `layers.<l>.key_cache`, then
//                              `layers.<l>.value_cache` [B, C, Hkv, D] in the
//                              activation dtype;
//              the parameters (as forward's).
//            Results: `logits` [B, V] f32 after each slot's last new token
//            (zeros for an idle slot), `cache_lengths_out` [B] i32 =
//            cache_lengths + prompt_lengths, then each cache's new value,
//            `<name>_out`; result i >= 1 is tied (hymir.tied, updated in
//            place) to argument i + 1; last, untied, `hidden` [B, N] in the
//            activation dtype: the final RMSNorm's output at each slot's
//            last new token (the rows `logits` come from, the `logprobs`
//            entry's input). An idle slot's caches and length are
//            left bit for bit. An active slot needs cache_lengths[b] + T <= C
//            when the model has softmax layers (its padding's keys land past
//            its length, where nothing reads them).
//   decode   one token per slot: prefill with T = 1 (input_ids [B, 1]) and
//            `active` [B] i32 in {0, 1} for prompt_lengths, all shapes
//            static; a slot's state is used as it is (start sequences with
//            prefill). Same cache names and shapes as prefill, so one set of
//            device values serves both.
//            Bad counts or lengths fail the call at run time: the message
//            names the argument, the value and the slot (or, for
//            cache_lengths[b] + T past C, the KV-cache write).
//
//   score    input_ids [B, T] i32, targets [B, T] i32 in [0, V), then the
//            parameters -> `logprobs` [B, T] f32: log p(targets[b, t] |
//            input_ids[b, 0..t]) under forward's model (no caches), by
//            hymir.token_logprobs with the LM head's precision.
//   cispo_step  score's arguments plus logp_old, advantages, mask [B, T]
//            f32 (after targets, before the parameters) -> `loss` (scalar
//            f32), `logp_new` [B, T] f32 (bitwise score's logprobs),
//            `d_hidden` [B, T, N] (activation dtype; the gradient with
//            respect to the final RMSNorm's output) and `d_lm_head` [V, N]
//            (lm_head's dtype): hymir.cispo_loss over all B*T tokens (the
//            mask normalises), clip ImportOptions::cispoEpsLow/High, unified
//            mask cispoUnifiedMask. A target outside [0, V) fails the call.
//   logprobs hidden [B, N] (activation dtype, prefill's or decode's
//            `hidden`), tokens [B] i32 in [0, V), then the parameters ->
//            `logprobs` [B] f32: log p(tokens[b]) under the LM head by
//            hymir.token_logprobs with score's precision, so generation
//            reports the log-probs of the kernel training scores with.
//
// The graph follows model-math.md: embedding, per layer RMSNorm, the token
// mixer (lightning attention with the config dialect's decay rates, or
// softmax attention with RoPE), the residual with the config's alpha and
// beta, RMSNorm, the MoE block and its residual; the final RMSNorm and the
// LM head (precision ImportOptions::lmHeadPrecision, f32 logits). The
// decay rates and the positions 0..maxContext-1 are constants of the graph.
// Experts stored one tensor per expert (the released MiniMax checkpoints)
// are stacked in the graph with tensor.concat, so each call copies them;
// the fused layout (transformers) has its gate_up_proj sliced into W1 and W3,
// which the cuda plan also copies each call (two copy kernels per layer);
// declared weights in the stacked layout (ImportOptions::declaredLayout) are
// hymir.moe's operands as they are.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_FRONTEND_MINIMAXIMPORTER_H
#define HYMIR_FRONTEND_MINIMAXIMPORTER_H

#include "hymir/Frontend/ModelConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace hymir::frontend {

struct ImportOptions {
  /// Sequences per call of `forward` (its static B).
  int64_t maxBatch = 1;
  /// The most tokens a sequence may have (the size of the positions table).
  int64_t maxContext = 4096;
  /// "bf16" or "f32" (true fp32 products) for the LM head.
  std::string lmHeadPrecision = "f32";
  /// "bf16" or "f32"; empty: the config's dtype (bf16 when it names none).
  std::string activation;
  /// Config keys neither dialect knows are ignored instead of failing.
  bool allowUnknownKeys = false;
  /// Empty: the parameters are the checkpoint's tensors (read from its
  /// safetensors headers). "bf16" or "f32": no safetensors file is read (the
  /// directory needs only config.json); every parameter is declared from the
  /// config in transformers' layout (fused experts, `mlp.gate`) with this
  /// dtype, for weights bound later from any source of those names and
  /// shapes, or made on the device (Module::bindRandomWeights).
  std::string declaredWeights;
  /// With declaredWeights, the experts' layout: "transformers" (default:
  /// `mlp.experts.gate_up_proj` [E, 2I, N], whose halves the graph slices
  /// into W1 and W3, a copy per call) or "stacked" (hymir's own names
  /// `mlp.experts.w1`, `w3` [E, I, N] and `w2` [E, N, I], the operands of
  /// hymir.moe as they are: no copy).
  std::string declaredLayout;
  /// The clip of `cispo_step`'s IS weight, [1 - eps_low, 1 + eps_high]
  /// (MiniMax-M1: no lower bound in practice, only eps_high tuned), and its
  /// unified mask.
  double cispoEpsLow = 1.0;
  double cispoEpsHigh = 0.28;
  bool cispoUnifiedMask = false;
};

struct ImportedModel {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  ModelConfig config;
  /// Lines for the top of the written module: where it came from and what
  /// was decided from the config (dialect, slope rule, RoPE, layout).
  std::string summary;
};

/// Imports the model directory `dir`. Errors name the file and the key or
/// tensor at fault: an unknown or inconsistent config key, a missing tensor,
/// a tensor whose shape or dtype does not fit the config. With
/// ImportOptions::declaredWeights only config.json is read.
llvm::Expected<ImportedModel> importMiniMax(mlir::MLIRContext &context,
                                            llvm::StringRef dir,
                                            const ImportOptions &options);

} // namespace hymir::frontend

#endif // HYMIR_FRONTEND_MINIMAXIMPORTER_H
