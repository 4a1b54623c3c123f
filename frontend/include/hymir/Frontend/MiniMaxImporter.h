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
// The graph follows model-math.md: embedding, per layer RMSNorm, the token
// mixer (lightning attention with the config dialect's decay rates, or
// softmax attention with RoPE), the residual with the config's alpha and
// beta, RMSNorm, the MoE block and its residual; the final RMSNorm and the
// LM head (precision ImportOptions::lmHeadPrecision, f32 logits). The
// decay rates and the positions 0..maxContext-1 are constants of the graph.
// Experts stored one tensor per expert (the released MiniMax checkpoints)
// are stacked in the graph with tensor.concat, so each call copies them;
// the fused layout (transformers) is read in place.
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
/// a tensor whose shape or dtype does not fit the config.
llvm::Expected<ImportedModel> importMiniMax(mlir::MLIRContext &context,
                                            llvm::StringRef dir,
                                            const ImportOptions &options);

} // namespace hymir::frontend

#endif // HYMIR_FRONTEND_MINIMAXIMPORTER_H
