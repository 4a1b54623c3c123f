#!/usr/bin/env bash
# Nsight Compute profile of one lightning-attention prefill kernel launch
# (B = 1, T = 16384, H = 64, D = 128, bf16) on the GPU host: speed of light,
# warp stall reasons, shared-memory bank conflicts, occupancy.
# Usage: profile.sh BUNDLE_DIR RESULTS_DIR [artifact, default lightning_prefill.hymir]
set -uo pipefail
bundle=$1
results=$2
artifact=${3:-lightning_prefill.hymir}
export LD_LIBRARY_PATH="$bundle/lib:${LD_LIBRARY_PATH:-}"
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
[ -x "$ncu" ] || { echo "profile: no ncu"; exit 0; }
"$ncu" --kernel-name regex:prefill --launch-count 1 \
  --section SpeedOfLight --section WarpStateStats --section Occupancy \
  --section MemoryWorkloadAnalysis_Tables --section ComputeWorkloadAnalysis \
  --section LaunchStats --section SchedulerStats \
  "$bundle/bin/hymir-bench" "$bundle/bench/$artifact" --entry prefill --device cuda:0 \
  --random-inputs 16384 --warmup 0 --iterations 1 >"$results/ncu-${artifact%.hymir}.txt" 2>&1
echo "profile: ncu exit $?"
