#!/usr/bin/env bash
# Fails if a runtime-world binary or library needs LLVM or MLIR.
# Usage: check-no-llvm-deps.sh PROBE_EXECUTABLE [LIBRARY_OR_EXECUTABLE...]
set -euo pipefail
probe=$1
for f in "$@"; do
  if readelf -d "$f" 2>/dev/null | grep -E 'NEEDED.*(LLVM|MLIR)'; then
    echo "FAIL: $f needs an LLVM/MLIR shared library"; exit 1
  fi
  if nm -C --undefined-only "$f" 2>/dev/null | grep -E ' (mlir|llvm)::'; then
    echo "FAIL: $f references LLVM/MLIR symbols"; exit 1
  fi
done
"$probe"
echo "ok: no LLVM or MLIR dependency in $*"
