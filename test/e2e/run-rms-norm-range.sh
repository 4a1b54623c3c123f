#!/usr/bin/env bash
# rms_norm where the sum of squares overflows f32 (|x| around 1e20 and
# 1e30, every row) and where it does not (ordinary inputs), f32 and bf16,
# compiled for cpu and checked against the fp64 oracle (which squares in
# double): the lowering must stay correct wherever its output is finite.
# Usage: run-rms-norm-range.sh BIN_DIR
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for dt in f32 bf16; do
  graph=$here/Inputs/rms_norm_$dt.mlir
  tol=1e-4
  [ $dt = bf16 ] && tol=2e-2
  "$bin/hymir-compile" "$graph" -o "$work/g.hymir" --target=cpu --max-tokens=64 2>/dev/null
  for scale in 1 1e20 1e30; do
    "$bin/hymir-reference" "$graph" --function rms_norm --tokens 5 \
      --write-inputs "$work/in.safetensors" >/dev/null
    PYTHONPATH=$here python3 - "$work/in.safetensors" "$dt" "$scale" <<'PY'
import struct, sys
from e2e_util import replace_tensor
path, dt, scale = sys.argv[1], sys.argv[2], float(sys.argv[3])
def scaled(spec, old):
    if dt == "f32":
        vals = struct.unpack("<%df" % (len(old) // 4), old)
        return struct.pack("<%df" % len(vals), *[v * scale for v in vals])
    # bf16: the high half of the f32 bits (values are bf16-exact already
    # after scaling by a power of ten only approximately: round by truncation)
    out = bytearray()
    for i in range(0, len(old), 2):
        f = struct.unpack("<f", b"\x00\x00" + old[i:i + 2])[0] * scale
        out += struct.pack("<f", f)[2:]
    return bytes(out)
replace_tensor(path, "x", scaled)
PY
    echo "== rms_norm $dt, |x| scaled by $scale"
    "$bin/hymir-run" "$work/g.hymir" --entry rms_norm --device cpu \
      --inputs "$work/in.safetensors" --outputs "$work/out.safetensors" \
      --check --tolerance "$tol" | grep -E "check|PASS|FAIL"
  done
done
