#!/usr/bin/env bash
# Every graph in examples/: compiled for cpu and cuda (PTX only, so no CUDA
# toolkit is needed), and every public function run on cpu against the fp64
# oracle (hymir-run --check, fresh random inputs from hymir-reference) at
# several token counts. Tolerances (relative L2 error per output) as for the
# e2e graphs: bf16 graphs 2e-2, f32 graphs 1e-4; whole bf16 models through
# their f32 twin (see check_in_f32).
#
# Examples that do not compile yet must fail with the message that says
# why; the lists below name them, the reason and the message, and the test
# fails when one of them starts to compile (then it belongs in the checked
# set).
# Usage: run-examples.sh BIN_DIR EXAMPLES_DIR
set -euo pipefail
bin=$1 examples=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Keys: graph:target.
declare -A expected_failure=()
declare -A expected_message=()
# Whole bf16 models are checked through their f32 twin (every bf16 of the
# graph read as f32): rounding each activation of eight layers to bf16 flips
# near-tied MoE routes, after which no tolerance against the fp64 oracle
# means anything; the f32 twin runs the same graph, kernels and plan.
declare -A check_in_f32=(
  [tiny_model.mlir]=yes
)
for graph in "$examples"/*.mlir; do
  name=$(basename "$graph")
  for target in cpu cuda; do
    log="$work/$name.$target.log"
    if "$bin/hymir-compile" "$graph" -o "$work/$name.$target.hymir" --target=$target \
      --ptxas=none --max-tokens=1024 >"$log" 2>&1; then
      compiled=yes
    else
      compiled=no
    fi
    if [ -n "${expected_failure[$name:$target]:-}" ]; then
      if [ $compiled = yes ]; then
        echo "FAIL $name ($target) compiles now: move it out of the expected failures"
        exit 1
      fi
      grep -q "${expected_message[$name:$target]}" "$log" || { cat "$log"; echo "FAIL $name ($target): unexpected error"; exit 1; }
      echo "expected failure: $name ($target): ${expected_failure[$name:$target]}"
      continue
    fi
    [ $compiled = yes ] || { cat "$log"; echo "FAIL $name does not compile for $target"; exit 1; }
    echo "compiled: $name ($target)"
  done
  [ -n "${expected_failure[$name:cpu]:-}" ] && continue
  tol=1e-4
  grep -q bf16 "$graph" && tol=2e-2
  artifact="$work/$name.cpu.hymir"
  if [ -n "${check_in_f32[$name]:-}" ]; then
    sed 's/bf16/f32/g' "$graph" >"$work/f32-$name"
    graph="$work/f32-$name"
    tol=1e-4
    artifact="$work/f32-$name.cpu.hymir"
    "$bin/hymir-compile" "$graph" -o "$artifact" --target=cpu --max-tokens=1024 >/dev/null
    echo "compiled: $name (cpu, f32 twin)"
  fi
  for entry in $(sed -n 's/^ *func\.func @\([A-Za-z0-9_]*\).*/\1/p' "$graph"); do
    for t in 1 37 130; do
      "$bin/hymir-reference" "$graph" --function "$entry" --tokens "$t" \
        --write-inputs "$work/in.safetensors" >/dev/null
      "$bin/hymir-run" "$artifact" --entry "$entry" --device cpu \
        --inputs "$work/in.safetensors" --outputs "$work/out.safetensors" \
        --check --tolerance "$tol" | sed "s/^/$name @$entry T=$t: /" | grep "^.*check "
    done
  done
done
