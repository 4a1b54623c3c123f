#!/usr/bin/env bash
# Builds a small artifact with parameters, its inputs and weights, then runs
# corrupt-inputs.sh on them. Usage: run-corruption.sh BIN_DIR [HYMIR_RUN]
set -euo pipefail
bin=$1
run=${2:-$bin/hymir-run}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
graph=$here/Inputs/param_linear.mlir
"$bin/hymir-compile" "$graph" -o "$work/p.hymir" --target=cpu --max-tokens=64
"$bin/hymir-reference" "$graph" --tokens 5 --write-inputs "$work/in.safetensors" \
  --write-weights "$work/w.safetensors" --outputs "$work/ref.safetensors" >/dev/null
"$run" "$work/p.hymir" --entry project --inputs "$work/in.safetensors" \
  --weights "$work/w.safetensors" --outputs "$work/out.safetensors" \
  --check "$work/ref.safetensors" --tolerance 1e-5
"$here/corrupt-inputs.sh" "$run" "$work/p.hymir" "$work/in.safetensors" project "$work/w.safetensors"
