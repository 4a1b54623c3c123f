// hymir-import on broken model directories: each error names the file and
// the key or tensor at fault (tiny checkpoints from scripts/make-checkpoint.py).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/missing --drop model.layers.1.self_attn.qkv_proj.weight
// RUN: not hymir-import %t/missing 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: hymir-import: error: no tensor 'model.layers.1.self_attn.qkv_proj.weight' in model.safetensors (layer 1 (lightning attention)'s q|k|v projection: 3 x num_attention_heads 4 x head_dim 16, hidden_size)

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/shape --reshape model.layers.3.self_attn.k_proj.weight
// RUN: not hymir-import %t/shape 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: hymir-import: error: tensor 'model.layers.3.self_attn.k_proj.weight' in model.safetensors has shape [33, 64]; the config needs [32, 64] (layer 3 (softmax attention)'s k projection: num_key_value_heads 2 x head_dim 16, hidden_size)

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/expert --preset hf --reshape model.layers.2.mlp.experts.down_proj
// RUN: not hymir-import %t/expert 2>&1 | FileCheck %s --check-prefix=EXPERT
// EXPERT: error: tensor 'model.layers.2.mlp.experts.down_proj' in model.safetensors has shape [5, 64, 32]; the config needs [4, 64, 32] (layer 2's experts W2: num_local_experts 4, intermediate_size 32, hidden_size 64)

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/router --drop model.layers.0.block_sparse_moe.gate.weight
// RUN: not hymir-import %t/router 2>&1 | FileCheck %s --check-prefix=ROUTER
// ROUTER: error: no tensor 'model.layers.0.mlp.gate.weight' (transformers layout) or 'model.layers.0.block_sparse_moe.gate.weight' (MiniMax layout) in model.safetensors: layer 0 has no MoE router

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/head --preset hf --drop lm_head.weight
// RUN: not hymir-import %t/head 2>&1 | FileCheck %s --check-prefix=HEAD
// HEAD: error: no tensor 'lm_head.weight' in model.safetensors (the LM head: vocab_size 128, hidden_size 64 (the config does not tie it to the embedding))

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/unknown --set rope_flavour=1
// RUN: not hymir-import %t/unknown 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: error: {{.*}}unknown/config.json: unknown key 'rope_flavour' (neither MiniMax-M1 nor transformers MiniMaxConfig has it; --allow-unknown-keys ignores it)
// RUN: hymir-import %t/unknown --allow-unknown-keys | FileCheck %s --check-prefix=IGNORED
// IGNORED: // Ignored config key 'rope_flavour'.
// IGNORED: func.func @forward

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/layers --set num_hidden_layers=5
// RUN: not hymir-import %t/layers 2>&1 | FileCheck %s --check-prefix=LAYERS
// LAYERS: error: {{.*}}layers/config.json: 'num_hidden_layers' is 5, but 'attn_type_list' has 4 entries

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/gqa --set num_key_value_heads=3
// RUN: not hymir-import %t/gqa 2>&1 | FileCheck %s --check-prefix=GQA
// GQA: config.json: 'num_attention_heads' 4 is not a multiple of 'num_key_value_heads' 3

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/mixed --preset hf --set postnorm=true
// RUN: not hymir-import %t/mixed 2>&1 | FileCheck %s --check-prefix=MIXED
// MIXED: config.json: 'postnorm' is a MiniMax-M1 key, but 'layer_types' makes this a transformers MiniMaxConfig config; a config uses the keys of one

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/both --set 'layer_types=["linear_attention"]'
// RUN: not hymir-import %t/both 2>&1 | FileCheck %s --check-prefix=BOTH
// BOTH: config.json: both 'attn_type_list' (MiniMax-M1) and 'layer_types' (transformers MiniMaxConfig) are set; a config has one

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/kinds --set 'attn_type_list=[0,0,2,1]'
// RUN: not hymir-import %t/kinds 2>&1 | FileCheck %s --check-prefix=KINDS
// KINDS: config.json: 'attn_type_list' holds 2; its entries are 0 (lightning) and 1 (softmax attention)

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/rotary --set rotary_dim=17
// RUN: not hymir-import %t/rotary 2>&1 | FileCheck %s --check-prefix=ROTARY
// ROTARY: config.json: 'rotary_dim' 17 must be even and at most 'head_dim' 16

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/theta --unset rope_theta
// RUN: not hymir-import %t/theta 2>&1 | FileCheck %s --check-prefix=THETA
// THETA: config.json: missing key 'rope_theta'

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/type --set 'hidden_size="64"'
// RUN: not hymir-import %t/type 2>&1 | FileCheck %s --check-prefix=TYPE
// TYPE: config.json: 'hidden_size' must be an integer in [1, 2147483647], got "64"

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/window --preset hf --set sliding_window=4096
// RUN: not hymir-import %t/window 2>&1 | FileCheck %s --check-prefix=WINDOW
// WINDOW: config.json: 'sliding_window' is 4096; hymir's softmax attention has no sliding window (null)

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/shared --set shared_intermediate_size=64
// RUN: not hymir-import %t/shared 2>&1 | FileCheck %s --check-prefix=SHARED
// SHARED: config.json: 'shared_intermediate_size' is 64; hymir's MoE has no shared expert (0)

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/partial --preset hf --set 'rope_parameters={"rope_type":"default","rope_theta":1e7,"partial_rotary_factor":0.5}'
// RUN: not hymir-import %t/partial 2>&1 | FileCheck %s --check-prefix=PARTIAL
// PARTIAL: config.json: 'rope_parameters.partial_rotary_factor' is 0.5; transformers' MiniMax rotates the whole head (1.0)

// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/llama --set model_type='"llama"'
// RUN: not hymir-import %t/llama 2>&1 | FileCheck %s --check-prefix=LLAMA
// LLAMA: config.json: 'model_type' is 'llama'; hymir-import reads MiniMax models (minimax_m1, minimax_text_01, minimax)

// A sharded checkpoint whose index names a tensor its shard lacks; one
// without any weights file.
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/shards --shards 2
// RUN: sed -i 's/"model.norm.weight": "model-00002-of-00002/"model.norm.weight": "model-00001-of-00002/' %t/shards/model.safetensors.index.json
// RUN: not hymir-import %t/shards 2>&1 | FileCheck %s --check-prefix=SHARDS
// SHARDS: model.safetensors.index.json: 'weight_map' maps 'model.norm.weight' to model-00001-of-00002.safetensors, which has no such tensor
// RUN: rm %t/shards/model.safetensors.index.json
// RUN: not hymir-import %t/shards 2>&1 | FileCheck %s --check-prefix=NOWEIGHTS
// NOWEIGHTS: shards: no model.safetensors or model.safetensors.index.json (a Hugging Face model directory holds one of them; hymir-import --no-weights reads config.json alone)

// Options.
// RUN: not hymir-import %t/missing --lm-head=f16 2>&1 | FileCheck %s --check-prefix=OPTION
// OPTION: hymir-import: error: --lm-head must be bf16 or f32, got 'f16'
// RUN: not hymir-import %t/missing --max-batch=0 2>&1 | FileCheck %s --check-prefix=BATCH
// BATCH: hymir-import: error: --max-batch must be in [1, 4096], got 0
