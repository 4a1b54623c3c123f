// hymir-import of tiny checkpoints (scripts/make-checkpoint.py): the entry's
// interface, parameters named by the checkpoint, and what the config
// decides: the decay-rate rule, RoPE on rotary_dim or the whole head, the
// residual factors, how the experts are stored.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/m1 --preset m1-partial
// RUN: hymir-import %t/m1 --max-batch=2 --max-context=8 | FileCheck %s --check-prefix=M1
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/hf --preset hf --shards 2
// RUN: hymir-import %t/hf --activation=f32 --lm-head=bf16 --max-context=8 | FileCheck %s --check-prefix=HF

// MiniMax-M1 keys: M1's decay rates (ALiBi slopes x (1 - l/7 + 1e-5)),
// RoPE on rotary_dim 8 of 16, experts one tensor each, stacked.
// M1: // Imported by hymir-import from {{.*}}m1 (MiniMax-M1 config, model.safetensors).
// M1: // 8 layers (7 lightning, 1 softmax), hidden 64, 4 heads of 16 (2 KV heads), 4 experts of 32 (top-2), vocabulary 128.
// M1: // Decay rates: M1's rule
// M1: // Activations bf16, LM head f32, batch 2, at most 8 tokens; experts stored per expert (stacked in the graph).
// M1-LABEL: func.func private @lightning_layer
// M1-SAME: (%{{.*}}: tensor<?x64xbf16>, {{.*}}, %{{.*}}: tensor<4xf32>, %[[T:.*]]: index) -> tensor<?x64xbf16>
// M1: hymir.rms_norm
// M1: hymir.linear %{{.*}} : (tensor<?x64xbf16>, tensor<192x64xbf16>) -> tensor<?x192xbf16>
// M1: tensor.expand_shape {{.*}} output_shape [2, %[[T]], 4, 48]
// M1: hymir.lightning_attention {{.*}} -> (tensor<2x?x4x16xbf16>, tensor<2x4x16x16xf32>)
// M1: hymir.rms_norm {{.*}} {epsilon = 9.99999997E-7 : f32}
// The residual in f32, alpha 3.5565588200778455 (beta 1: no product).
// M1: arith.constant 3.55655885 : f32
// M1: hymir.moe {{.*}} {top_k = 2 : i64}
// M1-LABEL: func.func private @softmax_layer
// M1: hymir.rope {{.*}} {rotary_dim = 8 : i64, theta = 1.000000e+07 : f64}
// M1: hymir.softmax_attention {{.*}} {causal = true, scale = 2.500000e-01 : f32} : (tensor<2x?x4x16xbf16>, tensor<2x?x2x16xbf16>, tensor<2x?x2x16xbf16>)
// M1-LABEL: func.func @forward
// M1-SAME: %{{.*}}: tensor<2x?xi32> {hymir.name = "input_ids"}
// M1-SAME: tensor<128x64xbf16> {hymir.name = "model.embed_tokens.weight", hymir.param}
// M1-SAME: tensor<32x64xbf16> {hymir.name = "model.layers.0.block_sparse_moe.experts.0.w1.weight", hymir.param}
// M1-SAME: tensor<128x64xbf16> {hymir.name = "lm_head.weight", hymir.param}
// M1-SAME: -> (tensor<2x?x128xf32> {hymir.name = "logits"})
// M1: hymir.embedding {{.*}} -> tensor<2x?x64xbf16>
// M1: arith.constant dense<{{\[\[}}0, 1, 2, 3, 4, 5, 6, 7]]> : tensor<1x8xi32>
// M1: tensor.concat dim(0) {{.*}} -> tensor<2x?xi32>
// M1: tensor.concat dim(0) {{.*}} -> tensor<4x32x64xbf16>
// Layer 0: 2^(-2, -4, -6, -8) x (1 + 1e-5); layer 6: x (1/7 + 1e-5).
// M1: arith.constant dense<[0.250002503, 0.0625006258, 0.0156251565, 0.00390628912]> : tensor<4xf32>
// M1: call @lightning_layer
// M1: arith.constant dense<[0.035716787, 0.00892919674, 0.00223229919, 5.58074797E-4]>
// M1: call @softmax_layer
// M1: hymir.linear {{.*}} {precision = "f32"} : (tensor<?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x128xf32>

// transformers keys: its decay-rate variant (the last layer, lightning,
// gets 1 - 3/(3 + 1e-5) + 1e-5, not M1's 1e-5), RoPE on the whole head of
// 24, 4 x 24 = 96 != hidden 64, fused experts sliced in place, read from
// two shards.
// HF: // Imported by hymir-import from {{.*}}hf (transformers MiniMaxConfig config, model.safetensors.index.json).
// HF: // Decay rates: transformers' rule
// HF: // Activations f32, LM head bf16, batch 1, at most 8 tokens; experts fused.
// HF-LABEL: func.func private @lightning_layer
// HF: hymir.linear %{{.*}} : (tensor<?x64xf32>, tensor<288x64xbf16>) -> tensor<?x288xf32>
// HF: hymir.lightning_attention {{.*}} -> (tensor<1x?x4x24xf32>, tensor<1x4x24x24xf32>)
// HF: hymir.linear %{{.*}} : (tensor<?x96xf32>, tensor<64x96xbf16>) -> tensor<?x64xf32>
// HF-LABEL: func.func private @softmax_layer
// HF: hymir.rope {{.*}} {rotary_dim = 24 : i64, theta = 1.000000e+07 : f64}
// HF: hymir.softmax_attention {{.*}} {causal = true, scale = 0.204124153 : f32}
// HF-LABEL: func.func @forward
// HF-SAME: tensor<4x64x64xbf16> {hymir.name = "model.layers.0.mlp.experts.gate_up_proj", hymir.param}
// HF: tensor.extract_slice %{{.*}}[0, 0, 0] [4, 32, 64] [1, 1, 1] : tensor<4x64x64xbf16> to tensor<4x32x64xbf16>
// HF: tensor.extract_slice %{{.*}}[0, 32, 0] [4, 32, 64] [1, 1, 1] : tensor<4x64x64xbf16> to tensor<4x32x64xbf16>
// HF: arith.constant dense<[0.250002503, 0.0625006258, 0.0156251565, 0.00390628912]>
// HF: arith.constant dense<[3.3333306E-6, 8.33332649E-7, 2.08333162E-7, 5.20832906E-8]> : tensor<4xf32>
// The LM head in bf16 precision: the op's default, not printed.
// HF: hymir.linear %{{[^{]*}} : (tensor<?x64xf32>, tensor<128x64xbf16>) -> tensor<?x128xf32>

// Three heads (not a power of two): M1 takes ALiBi's rule (the slopes of 2
// heads, then every other one of 4), transformers 2^(-8 (h+1) / 3).
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/h3 --config num_attention_heads=3 --config num_key_value_heads=3
// RUN: hymir-import %t/h3 --max-context=8 | FileCheck %s --check-prefix=H3-M1
// H3-M1: arith.constant dense<[0.0625006258, 0.00390628912, 0.250002503]> : tensor<3xf32>
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/h3hf --preset hf --config num_attention_heads=3 --config num_key_value_heads=3
// RUN: hymir-import %t/h3hf --max-context=8 | FileCheck %s --check-prefix=H3-HF
// H3-HF: arith.constant dense<[0.157491699, 0.0248033889, 0.00390628912]> : tensor<3xf32>

// Tied word embeddings: the LM head is the embedding table (argument 1),
// and no lm_head tensor is needed.
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/tied --drop lm_head.weight --set tie_word_embeddings=true
// RUN: hymir-import %t/tied --max-context=8 | FileCheck %s --check-prefix=TIED
// TIED-LABEL: func.func @forward
// TIED-SAME: %arg1: tensor<128x64xbf16> {hymir.name = "model.embed_tokens.weight", hymir.param}
// TIED-NOT: lm_head
// TIED: hymir.linear %{{.*}}, %arg1 {precision = "f32"}

// The written module reads back and verifies.
// RUN: hymir-import %t/hf --max-context=8 -o %t/hf.mlir
// RUN: hymir-opt %t/hf.mlir --verify-diagnostics -o /dev/null

// The cached entries (the m1 preset: lightning layers 0-2, softmax layer 3;
// batch 2, context 8): after the ids, the per-sequence counts and cache
// lengths, one state per lightning layer and a key and a value cache per
// softmax layer, then the parameters; results the last token's logits and
// each cache's new value, tied to its argument (updated in place).
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/cached --preset m1
// RUN: hymir-import %t/cached --max-batch=2 --max-context=8 | FileCheck %s --check-prefix=CACHED
// CACHED-LABEL: func.func private @lightning_layer_prefill
// Outputs with the slot's start state (zeros when its cache is empty), the
// state after each sequence's own length from the decay-weighted keys.
// CACHED: hymir.lightning_attention {{.*}} initial_state(%{{.*}}) : (tensor<2x?x4x16xbf16>
// CACHED: hymir.lightning_attention {{.*}} : (tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>, tensor<4xf32>)
// CACHED-LABEL: func.func private @softmax_layer_prefill
// CACHED: hymir.kv_cache_write %{{.*}} : (tensor<2x8x2x16xbf16>, tensor<2x?x2x16xbf16>, tensor<2xi32>) -> tensor<2x8x2x16xbf16>
// CACHED: hymir.softmax_attention {{.*}} lengths(%{{.*}}) {causal = true
// CACHED-LABEL: func.func @prefill
// CACHED-SAME: (%arg0: tensor<2x?xi32> {hymir.name = "input_ids"}, %arg1: tensor<2xi32> {hymir.name = "prompt_lengths"}, %arg2: tensor<2xi32> {hymir.name = "cache_lengths"},
// CACHED-SAME: %arg3: tensor<2x4x16x16xf32> {hymir.name = "layers.0.state"}, %arg4: tensor<2x4x16x16xf32> {hymir.name = "layers.1.state"}, %arg5: tensor<2x4x16x16xf32> {hymir.name = "layers.2.state"},
// CACHED-SAME: %arg6: tensor<2x8x2x16xbf16> {hymir.name = "layers.3.key_cache"}, %arg7: tensor<2x8x2x16xbf16> {hymir.name = "layers.3.value_cache"},
// CACHED-SAME: %arg8: tensor<128x64xbf16> {hymir.name = "model.embed_tokens.weight", hymir.param}
// CACHED-SAME: -> (tensor<2x128xf32> {hymir.name = "logits"}, tensor<2xi32> {hymir.name = "cache_lengths_out", hymir.tied = 2 : i64},
// CACHED-SAME: tensor<2x4x16x16xf32> {hymir.name = "layers.0.state_out", hymir.tied = 3 : i64}, tensor<2x4x16x16xf32> {hymir.name = "layers.1.state_out", hymir.tied = 4 : i64}, tensor<2x4x16x16xf32> {hymir.name = "layers.2.state_out", hymir.tied = 5 : i64},
// CACHED-SAME: tensor<2x8x2x16xbf16> {hymir.name = "layers.3.key_cache_out", hymir.tied = 6 : i64}, tensor<2x8x2x16xbf16> {hymir.name = "layers.3.value_cache_out", hymir.tied = 7 : i64},
// CACHED-SAME: tensor<2x64xbf16> {hymir.name = "hidden"})
// The counts read as rows of a [T + 1, 1] table, the cache lengths of a
// [context + 1, 1] one: the embedding's run-time check names the argument.
// CACHED: hymir.embedding %{{.*}}, %arg1 : (tensor<?x1xf32>, tensor<2xi32>) -> tensor<2x1xf32>
// CACHED: hymir.embedding %{{.*}}, %arg2 : (tensor<9x1xf32>, tensor<2xi32>) -> tensor<2x1xf32>
// CACHED: call @lightning_layer_prefill
// CACHED: call @softmax_layer_prefill
// CACHED: hymir.linear {{.*}} {precision = "f32"} : (tensor<2x64xbf16>, tensor<128x64xbf16>) -> tensor<2x128xf32>
// One token per sequence, static shapes (the decode kernels).
// CACHED-LABEL: func.func private @lightning_layer_decode
// CACHED: hymir.lightning_attention {{.*}} initial_state(%arg13) : (tensor<2x1x4x16xbf16>
// CACHED-LABEL: func.func private @softmax_layer_decode
// CACHED: hymir.kv_cache_write %{{.*}} : (tensor<2x8x2x16xbf16>, tensor<2x1x2x16xbf16>, tensor<2xi32>) -> tensor<2x8x2x16xbf16>
// CACHED-LABEL: func.func @decode
// CACHED-SAME: (%arg0: tensor<2x1xi32> {hymir.name = "input_ids"}, %arg1: tensor<2xi32> {hymir.name = "active"}, %arg2: tensor<2xi32> {hymir.name = "cache_lengths"},
// CACHED-SAME: %arg3: tensor<2x4x16x16xf32> {hymir.name = "layers.0.state"},
// CACHED-SAME: %arg7: tensor<2x8x2x16xbf16> {hymir.name = "layers.3.value_cache"},
// CACHED-SAME: -> (tensor<2x128xf32> {hymir.name = "logits"}, tensor<2xi32> {hymir.name = "cache_lengths_out", hymir.tied = 2 : i64},
// CACHED-SAME: tensor<2x8x2x16xbf16> {hymir.name = "layers.3.value_cache_out", hymir.tied = 7 : i64}, tensor<2x64xbf16> {hymir.name = "hidden"})
// CACHED: hymir.embedding %{{.*}}, %arg1 : (tensor<2x1xf32>, tensor<2xi32>) -> tensor<2x1xf32>
// The head on given tokens, for generation's log-probs: the rows prefill
// and decode return as `hidden`, through score's hymir.token_logprobs.
// CACHED-LABEL: func.func @logprobs
// CACHED-SAME: (%arg0: tensor<2x64xbf16> {hymir.name = "hidden"}, %arg1: tensor<2xi32> {hymir.name = "tokens"},
// CACHED-SAME: -> (tensor<2xf32> {hymir.name = "logprobs"})
// CACHED: hymir.token_logprobs %arg0, %{{.*}}, %arg1 : (tensor<2x64xbf16>, tensor<128x64xbf16>, tensor<2xi32>) -> tensor<2xf32>
