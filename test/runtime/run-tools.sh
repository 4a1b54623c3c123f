#!/usr/bin/env bash
# hymir-run and hymir-bench as a user meets them, on the cpu target:
#  - --check and --reference print PASS/FAIL per output against a default
#    tolerance per dtype (or --tolerance) and exit 1 on a FAIL: a reference
#    of another seed fails, the right one passes;
#  - a reference file that cannot serve (U8 or F16 for an f32 output, a
#    wrong shape, NaN, a missing tensor) is a one-line error naming the
#    tensor;
#  - --outputs may not be a file the run reads (same inode, also through a
#    link), and is written through a temporary file and a rename;
#  - --help (exit 0, every flag explained), --version, --flag=value and
#    --flag value, unknown flags (one line, exit 2);
#  - the call time beside the oracle's, hymir-bench's min/median/max/spread
#    and tokens/s, and progress lines of slow steps (the mark set to 0 s);
#  - names with control characters print escaped in hymir-run's messages,
#    the plan listing (hymir-dump, hymir-compile --print-plan) and
#    hymir-bench's lines and messages.
# Usage: run-tools.sh BIN_DIR GRAPH.mlir (an f32 graph with entry @linear)
set -euo pipefail
bin=$1 graph=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }
# expect CODE CMD...: runs CMD, keeps stdout/stderr in out/err, checks the
# exit status.
expect() {
  local want=$1 rc=0
  shift
  "$@" >out 2>err || rc=$?
  [[ $rc == "$want" ]] || { cat out err; fail "exit $rc, wanted $want: $*"; }
}
one_line() { [[ $(wc -l <err) == 1 ]] || { cat err; fail "not one line: $*"; }; }

"$bin/hymir-compile" "$graph" -o g.hymir --target=cpu --max-tokens=256 2>/dev/null
"$bin/hymir-reference" "$graph" --function linear --tokens 9 --seed 1 \
  --write-inputs in.st --outputs ref.st >/dev/null
"$bin/hymir-reference" "$graph" --function linear --tokens 9 --seed 2 \
  --write-inputs in2.st --outputs ref2.st >/dev/null
run=("$bin/hymir-run" g.hymir --entry linear --inputs in.st)

# The right reference and the oracle pass; flags in both styles.
expect 0 "${run[@]}" --outputs=out.st --check --reference ref.st
grep -q "^check y  .*relative error .* tolerance 1e-04  PASS$" out || fail "no PASS line"
[[ $(grep -c "^check .*  PASS$" out) == 4 ]] || fail "not 4 PASS lines"
grep -q "call .* ms" out || fail "no call time"
grep -q "fp64 oracle ran .* ms; the compiled call took .* ms" out || fail "no oracle time"
ls | grep -q tmp && fail "a temporary file is left"
# Another seed's reference fails, exit 1, FAIL per output.
expect 1 "${run[@]}" --outputs out.st --reference=ref2.st
[[ $(grep -c "^check .*  FAIL$" out) == 2 ]] || fail "not 2 FAIL lines"
grep -q "check failed" err || fail "no failure summary"
# ... and passes with a tolerance that forgives it.
expect 0 "${run[@]}" --outputs out.st --reference ref2.st --tolerance 10
grep -q "tolerance 1e+01  PASS" out || fail "--tolerance not used"
expect 2 "${run[@]}" --outputs out.st --tolerance=-1
one_line

# References that cannot serve: one line naming the tensor.
python3 - <<'PY'
import json, struct
def read(p):
    d = open(p, "rb").read(); n = struct.unpack("<Q", d[:8])[0]
    h = json.loads(d[8:8 + n]); return h, d[8 + n:]
def write(p, tensors):
    header, blob = {}, b""
    for name, (dt, shape, data) in tensors.items():
        header[name] = {"dtype": dt, "shape": shape,
                        "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    h = json.dumps(header).encode()
    open(p, "wb").write(struct.pack("<Q", len(h)) + h + blob)
h, blob = read("ref.st")
def t(name):
    e = h[name]; a, b = e["data_offsets"]; return e["dtype"], e["shape"], blob[a:b]
y, y3 = t("y"), t("y3")
n = len(y[2]) // 8
write("u8.st", {"y": ("U8", y[1], bytes(n)), "y3": y3})
write("f16.st", {"y": ("F16", y[1], bytes(2 * n)), "y3": y3})
write("shape.st", {"y": (y[0], [n], y[2]), "y3": y3})
write("nan.st", {"y": ("F64", y[1], struct.pack("<d", float("nan")) * n), "y3": y3})
write("missing.st", {"y3": y3})
PY
for bad in u8 f16 shape nan missing; do
  expect 1 "${run[@]}" --outputs out.st --reference $bad.st
  one_line "--reference $bad.st"
  grep -q "'y'" err || { cat err; fail "$bad: the message does not name y"; }
  cat err
done


# --outputs that is a file the run reads: refused, the file unchanged.
cp ref.st w.st
ln in.st hard.st
ln -s ref.st soft.st
for target in in.st g.hymir ./ref.st hard.st soft.st w.st; do
  cp "$target" before
  expect 2 "${run[@]}" --weights w.st --reference ref.st --outputs "$target"
  one_line "--outputs $target"
  grep -q "same file as" err || fail "--outputs $target: $(cat err)"
  cmp -s before "$target" || fail "--outputs $target changed the file"
done

# --help, --version, unknown and malformed flags.
expect 0 "$bin/hymir-run" --help
for flag in --entry --inputs --outputs --weights --device --check --reference \
            --tolerance --help --version "f32 and f64 1e-4" "bf16" "f16 1e-2"; do
  grep -q -- "$flag" out || fail "hymir-run --help does not explain $flag"
done
expect 0 "$bin/hymir-run" --version
grep -q "^hymir-run (hymir [0-9.]*), artifact schema version [0-9]*$" out || fail "version"
expect 2 "${run[@]}" --outputs out.st --bogus
one_line; grep -q "unknown option --bogus" err || fail "unknown option"
expect 2 "${run[@]}" --outputs out.st --check=yes
one_line
expect 2 "${run[@]}" --outputs
one_line

# hymir-bench: both flag styles, min/median/max/spread, tokens/s.
expect 0 "$bin/hymir-bench" g.hymir --entry=linear --random-inputs=17 --warmup 1 --iterations=5
grep -q "^bench linear device=cpu median_ms=[0-9.e+-]* iterations=5 min_ms=[0-9.e+-]* max_ms=[0-9.e+-]* spread=[0-9.]*% tokens=17 tokens_per_s=[0-9.e+]*$" out \
  || { cat out; fail "bench line"; }
expect 0 "$bin/hymir-bench" g.hymir --entry linear --inputs in.st --iterations 3
grep -q "tokens=9 " out || fail "bench tokens from --inputs"
expect 0 "$bin/hymir-bench" --help
grep -q -- "--random-inputs" out || fail "bench help"
expect 0 "$bin/hymir-bench" --version
expect 2 "$bin/hymir-bench" g.hymir --entry linear --random-inputs 0
one_line
expect 2 "$bin/hymir-bench" g.hymir --nope
one_line
# Random inputs too large for the machine: one line naming the input, no
# abort in the allocator.
"$bin/hymir-compile" "$graph" -o big.hymir --target=cpu --max-tokens=2147483647 2>/dev/null
expect 1 "$bin/hymir-bench" big.hymir --entry linear --random-inputs 2147483647
one_line
grep -q "input 'x' at --random-inputs 2147483647 would take .* bytes, more than half" err || { cat err; fail "no size error"; }

# Names with control characters (legal in artifacts and safetensors files)
# are printed escaped: no raw escape sequence reaches the terminal.
cat >esc.mlir <<'MLIR'
func.func @f(%x: tensor<?x4xf32> {hymir.name = "x\1B[2J"}) -> (tensor<?x4xf32> {hymir.name = "y"}) {
  %y = math.exp %x : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
MLIR
"$bin/hymir-compile" esc.mlir -o esc.hymir --target=cpu 2>/dev/null
expect 1 "$bin/hymir-run" esc.hymir --entry f --inputs in.st --outputs out.st
grep -qF "its inputs are: x\033[2J" err || { cat err; fail "name not escaped"; }
if LC_ALL=C grep -q $'\x1b' err; then fail "a raw escape character was printed"; fi
# The same for the listing (hymir-dump, hymir-compile --print-plan) and for
# hymir-bench: entry, input, output, param and symbol-free names escaped.
cat >esc2.mlir <<'MLIR'
func.func @"f\1B[1m"(%x: tensor<?x4xf32> {hymir.name = "x\1B[2J"}) -> (tensor<?x4xf32> {hymir.name = "y\07"}) {
  %y = math.exp %x : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
func.func @g(%x: tensor<2x4xf32> {hymir.name = "x"}, %w: tensor<4xf32> {hymir.name = "w\1B[3J", hymir.param}) -> (tensor<2x4xf32> {hymir.name = "y"}) {
  %y = hymir.rms_norm %x, %w {epsilon = 1.0e-5 : f32} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
MLIR
"$bin/hymir-compile" esc2.mlir -o esc2.hymir --target=cpu --print-plan >plan 2>/dev/null
expect 0 "$bin/hymir-dump" esc2.hymir
for f in plan out; do
  for name in 'entry f\033[1m' 'input 0 x\033[2J' 'output 0 y\007' 'param 0 w\033[3J'; do
    grep -qF "$name" $f || { cat $f; fail "$f: no escaped '$name'"; }
  done
  if LC_ALL=C grep -q $'[\x1b\x07]' $f; then fail "$f: a raw control character was printed"; fi
done
expect 1 "$bin/hymir-bench" esc2.hymir --entry $'f\e[1m' --random-inputs 3
grep -qF "parameters (first 'w\033[3J') and none are bound" err || { cat err; fail "bench: param name not escaped"; }
"$bin/hymir-reference" esc2.mlir --function g --tokens 1 --write-inputs gin.st \
  --write-weights w2.st >/dev/null
expect 0 "$bin/hymir-bench" esc2.hymir --entry $'f\e[1m' --weights w2.st --random-inputs 3 --iterations 2
grep -qF 'bench f\033[1m device=cpu' out || { cat out; fail "bench name not escaped"; }
expect 1 "$bin/hymir-bench" esc2.hymir --entry $'h\e[1m' --random-inputs 3
grep -qF "no entry 'h\033[1m'" err || { cat err; fail "bench: missing entry not escaped"; }
expect 1 "$bin/hymir-bench" big.hymir --entry linear --random-inputs 2147483647
if LC_ALL=C grep -q $'[\x1b\x07]' out err; then fail "bench: a raw control character was printed"; fi

# Progress lines on stderr, the first mark moved to 0 s.
HYMIR_PROGRESS_AFTER_S=0 expect 0 "${run[@]}" --outputs out.st --check
grep -q "^hymir-run: running linear on cpu: done in" err || { cat err; fail "no progress"; }
grep -q "^hymir-run: --check: the fp64 oracle .*: done in" err || fail "no oracle progress"
HYMIR_PROGRESS_AFTER_S=0 expect 0 "$bin/hymir-bench" g.hymir --entry linear --random-inputs 3
grep -q "^hymir-bench: drawing random inputs for linear: done in" err || fail "no bench progress"
echo "run-tools: all cases pass"
