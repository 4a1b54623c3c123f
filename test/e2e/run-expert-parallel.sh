#!/usr/bin/env bash
# End-to-end check of expert parallelism (hymir-shard) on the cpu target's
# simulated devices: compile the graph for 1 device and for each count N,
# require all_to_all steps in every N > 1 plan, run each artifact on the same
# random inputs and weights (hymir-reference) with hymir-run --check (the
# fp64 oracle), and compare every output of N devices with 1 device's within
# TOLERANCE (max |a - b| / (1 + |b|); the summation order may differ).
# Usage: run-expert-parallel.sh BIN_DIR GRAPH.mlir TOLERANCE "N1 N2 ..."
# Environment: MOE (--shard-moe, default auto), EXPECT (the plan step every
# N > 1 plan must have, default all_to_all), TOKENS (hymir-reference
# --tokens, for a graph with a dynamic token count).
set -euo pipefail
bin=$1 graph=$2 tol=$3 counts=$4
moe=${MOE:-auto} expect=${EXPECT:-all_to_all}
entry=$(sed -n 's/^func\.func @\([A-Za-z0-9_]*\).*/\1/p' "$graph" | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tokens=()
[[ -n ${TOKENS:-} ]] && tokens=(--tokens "$TOKENS")
"$bin/hymir-reference" "$graph" --function "$entry" "${tokens[@]}" \
  --write-inputs "$work/in.safetensors" --write-weights "$work/w.safetensors" >/dev/null
for n in 1 $counts; do
  "$bin/hymir-compile" "$graph" -o "$work/g$n.hymir" --target=cpu \
    --devices="$n" --shard-moe="$moe" --print-plan >"$work/plan$n.txt"
  steps=$(grep -c ": $expect " "$work/plan$n.txt" || true)
  echo "== $(basename "$graph") @$entry on $n device(s), --shard-moe=$moe: $steps $expect steps"
  if [[ $n -gt 1 && $steps -eq 0 ]]; then
    echo "FAIL: no $expect in the plan for $n devices" >&2
    exit 1
  fi
  "$bin/hymir-run" "$work/g$n.hymir" --entry "$entry" --device cpu \
    --inputs "$work/in.safetensors" --weights "$work/w.safetensors" \
    --outputs "$work/out$n.safetensors" --check --tolerance "$tol"
done
python3 - "$tol" "$work" $counts <<'PY'
import json, struct, sys

def load(path):
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, spec in header.items():
        if name == '__metadata__':
            continue
        lo, hi = spec['data_offsets']
        raw = body[lo:hi]
        if spec['dtype'] == 'F32':
            out[name] = struct.unpack('<%df' % (len(raw) // 4), raw)
        elif spec['dtype'] == 'BF16':
            out[name] = [struct.unpack('<f', b'\0\0' + raw[i:i + 2])[0]
                         for i in range(0, len(raw), 2)]
        else:
            out[name] = struct.unpack('<%di' % (len(raw) // 4), raw)
    return out

tol, work, counts = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
one = load(f'{work}/out1.safetensors')
bad = False
for n in counts:
    got = load(f'{work}/out{n}.safetensors')
    for name, ref in one.items():
        err = max((abs(a - b) / (1 + abs(b)) for a, b in zip(got[name], ref)),
                  default=0.0)
        ok = len(got[name]) == len(ref) and err <= tol
        bad |= not ok
        print(f"{n} devices vs 1: {name} max error {err:.3g} "
              f"{'PASS' if ok else 'FAIL'}")
sys.exit(1 if bad else 0)
PY
