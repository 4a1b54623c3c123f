#!/usr/bin/env bash
# Per-kernel GPU time of one entry on the GPU host: Nsight Systems traces a
# hymir-bench run and its CUDA kernel summary (total time, instances,
# average per kernel, sorted by total) goes to RESULTS_DIR.
# Usage: timeline.sh BUNDLE_DIR RESULTS_DIR ARTIFACT ENTRY TOKENS
set -uo pipefail
bundle=$1 results=$2 artifact=$3 entry=$4 tokens=$5
export LD_LIBRARY_PATH="$bundle/lib:${LD_LIBRARY_PATH:-}"
nsys=$(command -v nsys || ls /usr/local/cuda/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys 2>/dev/null | head -n 1)
[ -n "$nsys" ] && [ -x "$nsys" ] || { echo "timeline: no nsys"; exit 0; }
name="timeline-${artifact%.hymir}-$tokens"
"$nsys" profile --trace=cuda --force-overwrite=true -o "$results/$name" \
  "$bundle/bin/hymir-bench" "$bundle/bench/$artifact" --entry "$entry" --device cuda:0 \
  --random-inputs "$tokens" --warmup 2 --iterations 10 >"$results/$name.log" 2>&1
"$nsys" stats --report cuda_gpu_kern_sum --format csv "$results/$name.nsys-rep" \
  >"$results/$name.csv" 2>>"$results/$name.log"
rm -f "$results/$name.nsys-rep" "$results/$name.sqlite"
echo "timeline: $name ($(wc -l <"$results/$name.csv") lines)"
