#!/usr/bin/env bash
# GPU benchmarks of compiled entries against cuBLAS called directly on the
# same shapes in the same run (hymir-bench prints both and their ratio).
# Runs on the GPU host from a bundle made by scripts/gpu-bundle.
# Usage: bench.sh BUNDLE_DIR RESULTS_DIR
set -uo pipefail
bundle=$1
results=$2
bench=$bundle/bin/hymir-bench
export LD_LIBRARY_PATH="$bundle/lib:${LD_LIBRARY_PATH:-}"
# HYMIR_BENCH_LINEAR=0 skips the linear rows (measured and recorded already).
[ "${HYMIR_BENCH_LINEAR:-1}" = 0 ] || for t in 1 16 256 4096 16384; do
  "$bench" "$bundle/bench/linear_bf16.hymir" --entry linear --device cuda:0 \
    --random-inputs $t --warmup 10 --iterations 50 --linear-anchor $t,6144,6144,bf16
done
[ "${HYMIR_BENCH_LINEAR:-1}" = 0 ] || for t in 16 1024 4096; do
  "$bench" "$bundle/bench/linear_f32.hymir" --entry linear --device cuda:0 \
    --random-inputs $t --warmup 10 --iterations 30 --linear-anchor $t,4096,4096,f32
done
# Lightning attention (H = 64, D = 128, bf16 activations, f32 state):
# prefill and decode against the copy ceiling and PyTorch, in the same call.
python3 "$bundle/lightning_bench.py" "$bundle" ${HYMIR_LIGHTNING_BENCH:-} ||
  echo "lightning benchmark failed"
# Softmax attention (64/8 heads, D = 128, bf16): prefill and decode against
# the copy ceiling and SDPA's backends, the RoPE share and the fused form.
[ -f "$bundle/bench/attention_prefill.hymir" ] && [ -f "$bundle/attention_bench.py" ] &&
  { python3 "$bundle/attention_bench.py" "$bundle" || echo "attention benchmark failed"; }
