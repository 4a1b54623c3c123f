// The imported model with f32 activations over bf16 weights (the tiny model
// of test/e2e/sharded_model.py: 8 heads, 8 experts, stacked experts)
// compiles for cuda, on one device and sharded over 2 (heads split, experts
// placed, all_to_all in decode). cuBLASLt multiplies operands of one dtype:
// each projection's f32 rows are rounded to bf16 (its precision allows it)
// for a bf16 GEMM with an f32 result, the weights read as stored. Before,
// both compiles stopped at 'a library GEMM needs x and the weight in one
// dtype' (scripts/sharded-model-gpu-prepare). PTX only: no ptxas needed.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/ckpt --preset m1 \
// RUN:   --config num_attention_heads=8 --config num_key_value_heads=8 \
// RUN:   --config head_dim=8 --config rotary_dim=8 --config num_local_experts=8 > /dev/null
// RUN: hymir-import %t/ckpt -o %t/m.mlir --no-weights --weight-layout=stacked \
// RUN:   --activation=f32 --max-batch=4 --max-context=64 --entries=prefill,decode
// RUN: hymir-compile %t/m.mlir -o %t/one.hymir --target=cuda --chip=sm_90a \
// RUN:   --ptxas=none --max-tokens=64 --print-plan | FileCheck %s --check-prefixes=COMMON,ONE
// RUN: hymir-compile %t/m.mlir -o %t/two.hymir --target=cuda --chip=sm_90a \
// RUN:   --ptxas=none --max-tokens=64 --devices=2 --shard-moe=expert --print-plan \
// RUN:   | FileCheck %s --check-prefixes=COMMON,TWO

// TWO: devices 2
// TWO: param 3 model.layers.0.self_attn.qkv_proj.weight: BF16[192, 64] sharded along dim 0
// COMMON: entry prefill
// The qkv projection (192 rows; 96 on each of 2 devices) of the first layer.
// ONE: gemm m tokens*4 n 192 k 64 BF16->F32
// TWO: gemm m tokens*4 n 96 k 64 BF16->F32
// TWO: reduce_scatter
// COMMON: entry decode
// COMMON: gemm {{.*}} BF16->F32
// TWO: all_to_all {{.*}} x F32 rows of 64
// ONE-NOT: all_to_all
