#!/usr/bin/env bash
# hymir-run never crashes on a corrupt file: flipped bytes and truncations of
# the artifact, of the inputs and of the weights, and inputs that do not fit
# the entry, each end with a non-zero exit and a message (or, for a flip in
# bytes nothing reads, with exactly the clean run's outputs). Every run has
# --check, so the oracle evaluator also sees whatever still loads.
# Usage: corrupt-inputs.sh HYMIR_RUN ARTIFACT INPUTS ENTRY WEIGHTS
set -uo pipefail
run=$1 artifact=$2 inputs=$3 entry=$4 weights=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
cases=0

"$run" "$artifact" --entry "$entry" --inputs "$inputs" --weights "$weights" \
  --outputs "$work/clean.safetensors" --check >/dev/null || { echo "clean run failed"; exit 1; }

# expect NAME FILE_UNDER_TEST ARGS...: a clean error (exit 1 with a message)
# or a run whose outputs equal the clean ones.
expect() {
  local name=$1
  shift
  cases=$((cases + 1))
  "$run" "$@" --check --outputs "$work/out.safetensors" >"$work/stdout" 2>"$work/stderr"
  local rc=$?
  if [ $rc -eq 1 ] && [ -s "$work/stderr" ]; then
    return 0
  fi
  if [ $rc -eq 0 ] && cmp -s "$work/out.safetensors" "$work/clean.safetensors"; then
    return 0
  fi
  failures=$((failures + 1))
  echo "FAIL: $name: exit $rc: $(head -c 300 "$work/stderr")"
}

flip() { # FILE OFFSET OUT
  cp "$1" "$3"
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $(( (byte ^ 0xA5) & 255 )))" |
    dd of="$3" bs=1 seek="$2" conv=notrunc status=none
}

size=$(stat -c %s "$artifact")
step=$(( size / 150 + 1 ))
for ((off = 0; off < size; off += step)); do
  flip "$artifact" $off "$work/a.hymir"
  expect "artifact byte $off flipped" "$work/a.hymir" --entry "$entry" \
    --inputs "$inputs" --weights "$weights"
done
for len in 0 1 4 7 8 12 16 64 $((size / 3)) $((size / 2)) $((size - 1)); do
  head -c $len "$artifact" >"$work/a.hymir"
  expect "artifact truncated to $len" "$work/a.hymir" --entry "$entry" \
    --inputs "$inputs" --weights "$weights"
done
for file in inputs weights; do
  src=${!file}
  fsize=$(stat -c %s "$src")
  header=$(( $(od -An -tu8 -N8 "$src" | tr -d ' ') + 8 ))
  for ((off = 0; off < header && off < fsize; off += 3)); do
    flip "$src" $off "$work/f.safetensors"
    if [ $file = inputs ]; then
      expect "$file byte $off flipped" "$artifact" --entry "$entry" \
        --inputs "$work/f.safetensors" --weights "$weights"
    else
      expect "$file byte $off flipped" "$artifact" --entry "$entry" \
        --inputs "$inputs" --weights "$work/f.safetensors"
    fi
  done
  for len in 0 5 8 $((header - 1)) $((fsize - 1)); do
    head -c $len "$src" >"$work/f.safetensors"
    if [ $file = inputs ]; then
      expect "$file truncated to $len" "$artifact" --entry "$entry" \
        --inputs "$work/f.safetensors" --weights "$weights"
    else
      expect "$file truncated to $len" "$artifact" --entry "$entry" \
        --inputs "$inputs" --weights "$work/f.safetensors"
    fi
  done
done
# Files that are fine but do not fit: swapped roles, a missing file, an
# unknown entry, a directory.
expect "weights as inputs" "$artifact" --entry "$entry" --inputs "$weights" --weights "$weights"
expect "inputs as weights" "$artifact" --entry "$entry" --inputs "$inputs" --weights "$inputs"
expect "no weights" "$artifact" --entry "$entry" --inputs "$inputs"
expect "missing inputs" "$artifact" --entry "$entry" --inputs "$work/none" --weights "$weights"
expect "unknown entry" "$artifact" --entry nope --inputs "$inputs" --weights "$weights"
expect "artifact is a directory" "$work" --entry "$entry" --inputs "$inputs" --weights "$weights"
expect "inputs as artifact" "$inputs" --entry "$entry" --inputs "$inputs" --weights "$weights"
expect "cuda device on this machine" "$artifact" --entry "$entry" --inputs "$inputs" --weights "$weights" --device cuda:0

echo "corrupt-inputs: $cases cases, $failures failures"
[ $failures -eq 0 ]
