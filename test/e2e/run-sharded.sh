#!/usr/bin/env bash
# End-to-end check of hymir-shard on the cpu target's simulated devices:
# compile one graph for each device count, then for each token count draw
# fresh random inputs and weights (hymir-reference, on the graph as written)
# and run the SPMD artifact with hymir-run --check, which compares every
# output with the fp64 oracle on the unsharded program. The runtime hands
# each device its part of every split parameter and input.
# Usage: run-sharded.sh BIN_DIR GRAPH.mlir TOLERANCE "N1 N2 ..." T1 [T2 ...]
# DEVICE (environment, default cpu): the device to run on, e.g. cuda:0,1;
# TARGET (default cpu) the compile target.
set -euo pipefail
bin=$1 graph=$2 tol=$3 counts=$4
shift 4
device=${DEVICE:-cpu} target=${TARGET:-cpu}
entry=$(sed -n 's/^func\.func @\([A-Za-z0-9_]*\).*/\1/p' "$graph" | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
weights=()
grep -q 'hymir.param' "$graph" && weights=(--write-weights "$work/w.safetensors")
for n in $counts; do
  "$bin/hymir-compile" "$graph" -o "$work/graph.hymir" --target="$target" \
    --devices="$n" --max-tokens=1024
  run_device=$device
  # An explicit cuda list names exactly n devices.
  if [[ $device == cuda:* ]]; then
    run_device=cuda:$(seq -s, 0 $((n - 1)))
  fi
  for t in "$@"; do
    echo "== $(basename "$graph") @$entry on $n device(s), T = $t"
    "$bin/hymir-reference" "$graph" --function "$entry" --tokens "$t" \
      --write-inputs "$work/in.safetensors" "${weights[@]}" >/dev/null
    w=()
    [[ ${#weights[@]} -gt 0 ]] && w=(--weights "$work/w.safetensors")
    "$bin/hymir-run" "$work/graph.hymir" --entry "$entry" --device "$run_device" \
      --inputs "$work/in.safetensors" "${w[@]}" --outputs "$work/out.safetensors" \
      --check --tolerance "$tol"
  done
done
