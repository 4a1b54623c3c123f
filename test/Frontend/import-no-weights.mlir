// hymir-import --no-weights: only config.json is read; every parameter is
// declared from the config in transformers' layout (fused experts,
// mlp.gate) with --weight-dtype (default bf16), for weights bound later or
// made on the device (hymir-bench --random-weights).
// RUN: rm -rf %t && mkdir -p %t/m1 %t/hf
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/m1-ckpt --preset m1
// RUN: cp %t/m1-ckpt/config.json %t/m1/
// RUN: hymir-import %t/m1 --no-weights --max-context=8 | FileCheck %s --check-prefix=M1
// RUN: hymir-import %t/m1 --no-weights --weight-dtype=f32 --max-context=8 | FileCheck %s --check-prefix=F32

// The M1 dialect's config, transformers' names and layout.
// M1: // Imported by hymir-import from {{.*}}m1 (MiniMax-M1 config, no weights read: parameters declared from the config in transformers' layout, bf16).
// M1: experts fused.
// M1-LABEL: func.func @forward
// M1-SAME: tensor<128x64xbf16> {hymir.name = "model.embed_tokens.weight", hymir.param}
// M1-SAME: tensor<4x64xbf16> {hymir.name = "model.layers.0.mlp.gate.weight", hymir.param}
// M1-SAME: tensor<4x64x64xbf16> {hymir.name = "model.layers.0.mlp.experts.gate_up_proj", hymir.param}
// M1-SAME: tensor<4x64x32xbf16> {hymir.name = "model.layers.0.mlp.experts.down_proj", hymir.param}
// M1-SAME: tensor<128x64xbf16> {hymir.name = "lm_head.weight", hymir.param}
// M1-NOT: block_sparse_moe

// F32: parameters declared from the config in transformers' layout, f32).
// F32-LABEL: func.func @forward
// F32-SAME: tensor<128x64xf32> {hymir.name = "model.embed_tokens.weight", hymir.param}

// The same module as importing the transformers-layout checkpoint itself.
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/hf-ckpt --preset hf
// RUN: cp %t/hf-ckpt/config.json %t/hf/
// RUN: hymir-import %t/hf --no-weights --max-batch=2 --max-context=8 | grep -v '^//' > %t/declared.mlir
// RUN: hymir-import %t/hf-ckpt --max-batch=2 --max-context=8 | grep -v '^//' > %t/read.mlir
// RUN: diff %t/declared.mlir %t/read.mlir

// --entries keeps the entries named and the layer functions they call.
// RUN: hymir-import %t/hf --no-weights --entries=decode | FileCheck %s --check-prefix=ENTRIES
// ENTRIES: // Entries kept (--entries): decode.
// ENTRIES-NOT: @forward
// ENTRIES-NOT: _prefill
// ENTRIES: func.func private @lightning_layer_decode
// ENTRIES: func.func @decode
// ENTRIES-NOT: func.func
// RUN: not hymir-import %t/hf --no-weights --entries=decode,bogus 2>&1 | FileCheck %s --check-prefix=BADENTRY
// BADENTRY: hymir-import: error: --entries names 'bogus', which the model does not have; its entries: forward, score, cispo_step, prefill, decode

// --weight-layout=stacked: the experts as hymir.moe takes them, no slices.
// RUN: hymir-import %t/hf --no-weights --weight-layout=stacked --entries=decode | FileCheck %s --check-prefix=STACKED
// STACKED: // Imported by hymir-import from {{.*}}hf (transformers MiniMaxConfig config, no weights read: parameters declared from the config in the stacked layout, bf16).
// STACKED: experts stacked (w1, w3, w2).
// STACKED-LABEL: func.func @decode
// STACKED-SAME: tensor<4x64xbf16> {hymir.name = "model.layers.0.mlp.gate.weight", hymir.param}
// STACKED-SAME: tensor<4x32x64xbf16> {hymir.name = "model.layers.0.mlp.experts.w1", hymir.param}
// STACKED-SAME: tensor<4x32x64xbf16> {hymir.name = "model.layers.0.mlp.experts.w3", hymir.param}
// STACKED-SAME: tensor<4x64x32xbf16> {hymir.name = "model.layers.0.mlp.experts.w2", hymir.param}
// STACKED-NOT: tensor.extract_slice
// RUN: not hymir-import %t/hf-ckpt --weight-layout=stacked 2>&1 | FileCheck %s --check-prefix=LAYOUTNEEDS
// LAYOUTNEEDS: hymir-import: error: --weight-layout declares the parameters' layout and needs --no-weights (a checkpoint has its own)
// RUN: not hymir-import %t/hf --no-weights --weight-layout=fused 2>&1 | FileCheck %s --check-prefix=LAYOUT
// LAYOUT: hymir-import: error: --weight-layout must be transformers or stacked, got 'fused'

// Errors.
// RUN: not hymir-import %t/hf 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: hymir-import: error: {{.*}}hf: no model.safetensors or model.safetensors.index.json (a Hugging Face model directory holds one of them; hymir-import --no-weights reads config.json alone)
// RUN: not hymir-import %t/hf-ckpt --weight-dtype=f32 2>&1 | FileCheck %s --check-prefix=NEEDS
// NEEDS: hymir-import: error: --weight-dtype declares the parameters' dtype and needs --no-weights (with a checkpoint the tensors' own dtypes are used)
// RUN: not hymir-import %t/hf --no-weights --weight-dtype=f16 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: hymir-import: error: --weight-dtype must be bf16 or f32, got 'f16'
