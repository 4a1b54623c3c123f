// scripts/stack-experts.py: a checkpoint with experts stored one tensor each
// (make-checkpoint.py's m1 preset, as the released MiniMax-M1 checkpoints)
// rewritten with each layer's experts stacked, as --weight-layout=stacked
// declares them, so that hymir-shard can place experts on devices (E / N
// each): at 2 devices with --shard-moe=expert the stacked copy gives the
// per-expert checkpoint's one-device logits (the same sums; the bound is
// the f32 reordering of sharding, 1e-5 as in e2e/cpu/sharded-model).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %hymir_src/scripts/make-checkpoint.py %t/ckpt --preset m1 \
// RUN:   --config num_local_experts=4 --config num_hidden_layers=2 \
// RUN:   --config 'attn_type_list=[0, 1]' > /dev/null
// RUN: %python %hymir_src/scripts/stack-experts.py %t/ckpt %t/stacked | FileCheck %s --check-prefix=STACK
// RUN: hymir-import %t/ckpt -o %t/per-expert.mlir --activation=f32 --max-batch=1 \
// RUN:   --max-context=16 --entries=forward
// RUN: hymir-import %t/stacked -o %t/stacked.mlir --no-weights --weight-layout=stacked \
// RUN:   --activation=f32 --max-batch=1 --max-context=16 --entries=forward
// RUN: hymir-compile %t/per-expert.mlir -o %t/one.hymir --target=cpu --max-tokens=16
// RUN: hymir-compile %t/stacked.mlir -o %t/two.hymir --target=cpu --max-tokens=16 \
// RUN:   --devices=2 --shard-moe=expert --print-plan | FileCheck %s --check-prefix=PLAN
// RUN: %python -c "import sys; sys.path.insert(0, '%hymir_src/test/e2e'); \
// RUN:   from e2e_util import write_tensors; \
// RUN:   write_tensors('%t/in.st', {'input_ids': ('I32', [1, 5], [3, 17, 5, 99, 12])})"
// RUN: hymir-run %t/one.hymir --entry forward --inputs %t/in.st --weights %t/ckpt \
// RUN:   --outputs %t/one.st > /dev/null
// RUN: hymir-run %t/two.hymir --entry forward --inputs %t/in.st --weights %t/stacked \
// RUN:   --outputs %t/two.st --reference %t/one.st --tolerance 1e-5 | FileCheck %s --check-prefix=CMP

// STACK: stack-experts: wrote {{.*}}stacked: {{[0-9]+}} tensors in 3 files, 6 of them stacked experts
// PLAN: param {{[0-9]+}} model.layers.0.mlp.experts.w1: BF16[4, {{[0-9]+}}, 64] sharded along dim 0
// PLAN: param {{[0-9]+}} model.layers.0.mlp.experts.w2: BF16[4, 64, {{[0-9]+}}] sharded along dim 0
// CMP: check logits relative error {{.*}} PASS
