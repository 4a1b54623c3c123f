#!/usr/bin/env bash
# Nsight Compute profile of one lightning-attention kernel launch on the GPU
# host (default: the prefill at B = 1, T = 16384, H = 64, D = 128, bf16):
# kernel duration, speed of light, warp states, bank conflicts, occupancy.
# Usage: profile.sh BUNDLE_DIR RESULTS_DIR [ARTIFACT ENTRY TOKENS]
#        (default lightning_prefill.hymir prefill 16384)
set -uo pipefail
bundle=$1
results=$2
artifact=${3:-lightning_prefill.hymir}
entry=${4:-prefill}
tokens=${5:-16384}
export LD_LIBRARY_PATH="$bundle/lib:${LD_LIBRARY_PATH:-}"
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
[ -x "$ncu" ] || { echo "profile: no ncu"; exit 0; }
"$ncu" --kernel-name "regex:$entry" --launch-count 1 \
  --section SpeedOfLight --section WarpStateStats --section Occupancy \
  --section MemoryWorkloadAnalysis_Tables --section ComputeWorkloadAnalysis \
  --section LaunchStats --section SchedulerStats \
  "$bundle/bin/hymir-bench" "$bundle/bench/$artifact" --entry "$entry" --device cuda:0 \
  --random-inputs "$tokens" --warmup 0 --iterations 1 >"$results/ncu-${artifact%.hymir}.txt" 2>&1
echo "profile: ncu exit $?"
