#!/usr/bin/env bash
# End-to-end check of one graph on the cpu target: compile it once, then for
# each token count draw fresh random inputs (hymir-reference, which also
# writes its fp64 oracle outputs), run the artifact (hymir-run) and compare
# the outputs both with the oracle run by hymir-run itself on the reference
# program stored in the artifact (--check) and with hymir-reference's file
# (--reference); either above the tolerance fails.
# Usage: run-e2e.sh BIN_DIR GRAPH.mlir TOLERANCE T1 [T2 ...]
set -euo pipefail
bin=$1 graph=$2 tol=$3
shift 3
entry=$(sed -n 's/^func\.func @\([A-Za-z0-9_]*\).*/\1/p' "$graph" | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/hymir-compile" "$graph" -o "$work/graph.hymir" --target=cpu --max-tokens=1024
for t in "$@"; do
  echo "== $(basename "$graph") @$entry, T = $t"
  "$bin/hymir-reference" "$graph" --function "$entry" --tokens "$t" \
    --write-inputs "$work/in.safetensors" --outputs "$work/ref.safetensors" >/dev/null
  "$bin/hymir-run" "$work/graph.hymir" --entry "$entry" --device cpu \
    --inputs "$work/in.safetensors" --outputs "$work/out.safetensors" \
    --check --reference "$work/ref.safetensors" --tolerance "$tol"
done
