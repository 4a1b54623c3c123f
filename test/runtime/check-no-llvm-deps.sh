#!/usr/bin/env bash
# Fails if a runtime-world binary or library needs LLVM or MLIR.
# Usage: check-no-llvm-deps.sh EXECUTABLE [STATIC_LIB...]
set -euo pipefail
exe=$1; shift
if readelf -d "$exe" | grep -E 'NEEDED.*(LLVM|MLIR)'; then
  echo "FAIL: $exe needs an LLVM/MLIR shared library"; exit 1
fi
for lib in "$@"; do
  if nm -C --undefined-only "$lib" 2>/dev/null | grep -E ' (mlir|llvm)::'; then
    echo "FAIL: $lib references LLVM/MLIR symbols"; exit 1
  fi
done
"$exe"
echo "ok: no LLVM or MLIR dependency in $exe $*"
