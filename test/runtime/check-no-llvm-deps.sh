#!/usr/bin/env bash
# Fails if a runtime-world binary or library needs LLVM or MLIR, or if the
# embeddable runtime carries the oracle, the reference evaluator or the
# artifact writer (design decisions 1 and 11).
# Usage: check-no-llvm-deps.sh PROBE_EXECUTABLE [LIBRARY_OR_EXECUTABLE...]
#          [--lean LIBRARY_OR_EXECUTABLE...]
# Every file is checked for LLVM/MLIR; those after --lean (the runtime
# library and the embedding example) also for oracle, reference and writer
# symbols, defined or referenced.
set -euo pipefail
probe=$1
shift
all=("$probe")
lean=()
inLean=0
for f in "$@"; do
  if [ "$f" = --lean ]; then inLean=1; continue; fi
  all+=("$f")
  if [ $inLean = 1 ]; then lean+=("$f"); fi
done
for f in "${all[@]}"; do
  if readelf -d "$f" 2>/dev/null | grep -E 'NEEDED.*(LLVM|MLIR)'; then
    echo "FAIL: $f needs an LLVM/MLIR shared library"; exit 1
  fi
  if nm -C --undefined-only "$f" 2>/dev/null | grep -E ' (mlir|llvm)::'; then
    echo "FAIL: $f references LLVM/MLIR symbols"; exit 1
  fi
done
for f in "${lean[@]}"; do
  symbols=$(nm -C "$f" 2>/dev/null) || { echo "FAIL: nm cannot read $f"; exit 1; }
  if [ -z "$symbols" ]; then echo "FAIL: $f has no symbols to inspect"; exit 1; fi
  if grep -E 'hymir::oracle::|hymir::(evaluateReference|referenceValueFromBytes|isReferenceOp)\(|hymir::(serializeArtifact|writeArtifact)\(' <<<"$symbols"; then
    echo "FAIL: $f carries the oracle, the reference evaluator or the artifact writer"; exit 1
  fi
done
"$probe"
echo "ok: no LLVM or MLIR dependency in ${all[*]}; no oracle, reference or writer in ${lean[*]:-nothing}"
