#!/usr/bin/env bash
# Builds a small artifact with parameters, its inputs and weights, checks a
# clean run against the oracle (the artifact's reference program and
# hymir-reference's outputs), then runs corrupt-inputs.sh on them.
# Usage: run-corruption.sh BIN_DIR [HYMIR_RUN]
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
  --check --reference "$work/ref.safetensors" --tolerance 1e-5
# An entry the oracle evaluator cannot express compiles without a reference
# program (hymir-compile says so), and hymir-run --check then fails cleanly.
cat >"$work/wave.mlir" <<'EOF'
func.func @wave(%x: tensor<?x32xf32> {hymir.name = "x"}) -> (tensor<?x32xf32> {hymir.name = "y"}) {
  %y = math.sin %x : tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
EOF
"$bin/hymir-compile" "$work/wave.mlir" -o "$work/wave.hymir" --target=cpu 2>"$work/note"
grep -q "note: entry 'wave' carries no reference program" "$work/note" ||
  { echo "FAIL: no note for an entry without a reference program"; exit 1; }
rc=0
"$run" "$work/wave.hymir" --entry wave --inputs "$work/in.safetensors" \
  --outputs "$work/wave.safetensors" --check >/dev/null 2>"$work/err" || rc=$?
[ $rc -eq 1 ] && grep -q "carries no reference program for this entry" "$work/err" ||
  { echo "FAIL: --check without a reference program: exit $rc: $(cat "$work/err")"; exit 1; }
"$here/corrupt-inputs.sh" "$run" "$work/p.hymir" "$work/in.safetensors" project "$work/w.safetensors"
