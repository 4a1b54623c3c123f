#!/usr/bin/env python3
"""Run-time checks: a value only the run can see that is outside its range
fails the call with one line naming the op, the tensor, the value and its
position, and valid values compute as before.

hymir.embedding over ids [2, T] (i32) and a 100-row table: ids -1, 100 (the
table size), INT32_MAX and INT32_MIN at several positions, each alone, two
bad ids at once (the lowest position is reported, whatever order the blocks
run in), and bad ids near the end of T = 1000 (many blocks); ids computed
in the graph (not an entry input) are named by the op's location, and a bad
id the embedding does not read (outside the slice it takes) is no error.
The same inputs with every id valid are checked against the fp64 oracle
(hymir-run --check; f32 tolerance 1e-4, bf16 2e-2, as the e2e tests: a
gather copies the table's values exactly, so any error is a wrong row).
hymir-bench (Module::time) reports a bad id the same way.

hymir.kv_cache_write over caches [3, 64, 2, 16] and a decode step (the
attention over the updated cache after it): a length past the capacity
(65), a negative one, and both (the lower sequence is reported) fail the
call naming the op, the lengths tensor, the value and the sequence; valid
lengths pass --check. hymir.softmax_attention's own lengths (a graph
without a cache write) are checked the same way against its key count.

On cuda the compiler is needed on one machine and the GPU on another:
`--prepare DIR --target cuda` compiles every graph and writes every input
into DIR; `--prepared DIR --device cuda:0` runs and checks them.

Usage: run_checks.py BIN_DIR
       run_checks.py BIN_DIR --prepare DIR --target cuda
       run_checks.py BIN_DIR --prepared DIR --device cuda:0
"""
import os
import struct
import subprocess
import sys
import tempfile

from e2e_util import replace_tensor, run

BIN = sys.argv[1]
OPTS = dict(zip(sys.argv[2::2], sys.argv[3::2]))
TARGET = OPTS.get("--target", "cpu")
DEVICE = OPTS.get("--device", "cpu")
PREPARE = "--prepare" in OPTS
RUN_ONLY = "--prepared" in OPTS
WORK = OPTS.get("--prepare") or OPTS.get("--prepared") or tempfile.mkdtemp(prefix="hymir-checks-")
os.makedirs(WORK, exist_ok=True)
V, N = 100, 8
INT32_MAX, INT32_MIN = 2**31 - 1, -2**31

GRAPH = """func.func @embed(%table: tensor<{v}x{n}x{dt}> {{hymir.name = "table"}},
                  %ids: tensor<2x?xi32> {{hymir.name = "ids"}})
    -> (tensor<2x?x{n}x{dt}> {{hymir.name = "rows"}}) {{
  %y = hymir.embedding %table, %ids : (tensor<{v}x{n}x{dt}>, tensor<2x?xi32>) -> tensor<2x?x{n}x{dt}>
  return %y : tensor<2x?x{n}x{dt}>
}}
"""

# The ids are computed (row 1 of the input): the check has no tensor name
# and names the op's location instead.
COMPUTED = """func.func @embed(%table: tensor<{v}x{n}x{dt}> {{hymir.name = "table"}},
                  %ids: tensor<2x?xi32> {{hymir.name = "ids"}})
    -> (tensor<?x{n}x{dt}> {{hymir.name = "rows"}}) {{
  %c1 = arith.constant 1 : index
  %t = tensor.dim %ids, %c1 : tensor<2x?xi32>
  %row = tensor.extract_slice %ids[1, 0] [1, %t] [1, 1] : tensor<2x?xi32> to tensor<?xi32>
  %y = hymir.embedding %table, %row : (tensor<{v}x{n}x{dt}>, tensor<?xi32>) -> tensor<?x{n}x{dt}>
  return %y : tensor<?x{n}x{dt}>
}}
"""


CACHE = """func.func @step(%q: tensor<3x1x4x16xf32> {hymir.name = "q"},
                 %kc: tensor<3x64x2x16xf32> {hymir.name = "kc"},
                 %k: tensor<3x1x2x16xf32> {hymir.name = "k"},
                 %len: tensor<3xi32> {hymir.name = "lengths"})
    -> (tensor<3x1x4x16xf32> {hymir.name = "out"},
        tensor<3x64x2x16xf32> {hymir.name = "kc_out", hymir.tied = 1 : i64}) {
  %c = hymir.kv_cache_write %kc, %k, %len
      : (tensor<3x64x2x16xf32>, tensor<3x1x2x16xf32>, tensor<3xi32>) -> tensor<3x64x2x16xf32>
  %o = hymir.softmax_attention %q, %c, %c lengths(%len) {causal = true, scale = 0.25 : f32}
      : (tensor<3x1x4x16xf32>, tensor<3x64x2x16xf32>, tensor<3x64x2x16xf32>, tensor<3xi32>)
      -> tensor<3x1x4x16xf32>
  return %o, %c : tensor<3x1x4x16xf32>, tensor<3x64x2x16xf32>
}
"""


ATTENTION = """func.func @step(%q: tensor<3x1x4x16xf32> {hymir.name = "q"},
                 %kc: tensor<3x64x2x16xf32> {hymir.name = "kc"},
                 %len: tensor<3xi32> {hymir.name = "lengths"})
    -> (tensor<3x1x4x16xf32> {hymir.name = "out"}) {
  %o = hymir.softmax_attention %q, %kc, %kc lengths(%len) {causal = true, scale = 0.25 : f32}
      : (tensor<3x1x4x16xf32>, tensor<3x64x2x16xf32>, tensor<3x64x2x16xf32>, tensor<3xi32>)
      -> tensor<3x1x4x16xf32>
  return %o : tensor<3x1x4x16xf32>
}
"""


def cache_case(name, lengths, expected, graph="cache"):
    """A decode step through the cache with `lengths`: fails with
    `expected`, or passes --check when it is None."""
    path = os.path.join(WORK, graph + ".mlir")
    art = os.path.join(WORK, graph + ".hymir")
    inp = os.path.join(WORK, name + ".safetensors")
    if not RUN_ONLY:
        run([BIN + "/hymir-reference", path, "--function", "step", "--write-inputs", inp])
        replace_tensor(inp, "lengths", lambda spec, old: struct.pack("<3i", *lengths))
    if PREPARE:
        return
    cmd = [BIN + "/hymir-run", art, "--entry", "step", "--device", DEVICE,
           "--inputs", inp, "--outputs", os.path.join(WORK, "out.safetensors")]
    if expected is None:
        out = run(cmd + ["--check", "--tolerance", "1e-4"])
        if "PASS" not in out or "FAIL" in out:
            raise RuntimeError("%s: valid lengths did not pass --check:\n%s" % (name, out))
        print("ok %-24s lengths %s, --check PASS" % (name, lengths))
        return
    line = fails(cmd, expected)
    print("ok %-24s lengths %s: %s" % (name, lengths, line.split("': ", 1)[-1]))


def set_ids(path, t, bad):
    """Sets ids[i, j] = value for each ((i, j), value) of `bad`."""
    def make(spec, old):
        ids = list(struct.unpack("<%di" % (len(old) // 4), old))
        for (i, j), value in bad:
            ids[i * t + j] = value
        return struct.pack("<%di" % len(ids), *ids)
    replace_tensor(path, "ids", make)


def fails(cmd, expected):
    """Runs `cmd`, which must fail with one line of stderr holding `expected`."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    lines = r.stderr.strip().splitlines()
    if r.returncode == 0 or len(lines) != 1 or expected not in lines[0]:
        raise RuntimeError("%s: expected one error line with\n  %s\ngot exit %d, stderr:\n%s"
                           % (" ".join(cmd[:2]), expected, r.returncode, r.stderr))
    return lines[0]


def case(name, graph, t, bad, expected):
    """Writes random inputs for `graph` (compiled by main) at T = `t` with
    the ids of `bad` set, and runs them: the call must fail with `expected`,
    or pass --check when `bad` is empty. Returns the inputs' path."""
    path = os.path.join(WORK, graph + ".mlir")
    art = os.path.join(WORK, graph + ".hymir")
    inp = os.path.join(WORK, name + ".safetensors")
    if not RUN_ONLY:
        run([BIN + "/hymir-reference", path, "--function", "embed", "--tokens", str(t),
             "--write-inputs", inp])
        set_ids(inp, t, bad)
    if PREPARE:
        return inp
    cmd = [BIN + "/hymir-run", art, "--entry", "embed", "--device", DEVICE,
           "--inputs", inp, "--outputs", os.path.join(WORK, "out.safetensors")]
    if not bad:
        tol = "2e-2" if "bf16" in graph else "1e-4"
        out = run(cmd + ["--check", "--tolerance", tol])
        if "PASS" not in out:
            raise RuntimeError("%s: valid ids did not pass --check:\n%s" % (name, out))
        print("ok %-24s T=%-4d valid ids, --check PASS" % (name, t))
        return inp
    line = fails(cmd, expected)
    print("ok %-24s T=%-4d %s" % (name, t, line.split("': ", 1)[-1]))
    return inp


def compile_graph(graph, text, dt):
    if RUN_ONLY:
        return
    path = os.path.join(WORK, graph + ".mlir")
    with open(path, "w") as f:
        f.write(text.format(v=V, n=N, dt=dt))
    run([BIN + "/hymir-compile", path, "-o", os.path.join(WORK, graph + ".hymir"),
         "--target=" + TARGET, "--max-tokens=1024"])


def main():
    where = "entry 'embed': hymir.embedding 'ids': "
    for dt in ["f32", "bf16"]:
        g = "embed_" + dt
        compile_graph(g, GRAPH, dt)
        case(g + "_valid", g, 7, [], None)
        case(g + "_minus1", g, 7, [((1, 3), -1)],
             where + "id -1 at position 10 is outside [0, 100)")
        case(g + "_v", g, 7, [((0, 0), V)],
             where + "id 100 at position 0 is outside [0, 100)")
        case(g + "_int32max", g, 7, [((1, 6), INT32_MAX)],
             where + "id 2147483647 at position 13 is outside [0, 100)")
    g = "embed_f32"
    case(g + "_int32min", g, 7, [((0, 2), INT32_MIN)],
         where + "id -2147483648 at position 2 is outside [0, 100)")
    # Two bad ids: the lower position is reported, not the one found first.
    two = case(g + "_two", g, 7, [((1, 2), -5), ((0, 5), V)],
               where + "id 100 at position 5 is outside [0, 100)")
    case(g + "_t1000", g, 1000, [((1, 999), 1000), ((1, 998), -7)],
         where + "id -7 at position 1998 is outside [0, 100)")
    case(g + "_t1000_valid", g, 1000, [], None)
    # Computed ids (row 1 of the input): named by the op's location (line 7,
    # column 8), the position counted in the row.
    compile_graph("computed_f32", COMPUTED, "f32")
    case("computed_f32_valid", "computed_f32", 7, [], None)
    case("computed_f32_bad", "computed_f32", 7, [((1, 4), V + 5), ((0, 1), -1)],
         "computed_f32.mlir:7:8: id 105 at position 4 is outside [0, 100)")
    # KV-cache lengths: in [0, C] (C = 64), checked per sequence.
    if not RUN_ONLY:
        with open(os.path.join(WORK, "cache.mlir"), "w") as f:
            f.write(CACHE)
        run([BIN + "/hymir-compile", os.path.join(WORK, "cache.mlir"), "-o",
             os.path.join(WORK, "cache.hymir"), "--target=" + TARGET])
    if not RUN_ONLY:
        with open(os.path.join(WORK, "attention.mlir"), "w") as f:
            f.write(ATTENTION)
        run([BIN + "/hymir-compile", os.path.join(WORK, "attention.mlir"), "-o",
             os.path.join(WORK, "attention.hymir"), "--target=" + TARGET])
    sa = "entry 'step': hymir.softmax_attention 'lengths': "
    cache_case("attention_valid", [1, 64, 0], None, "attention")
    cache_case("attention_past", [3, 9, 65], sa + "length 65 at position 2 is outside [0, 65)",
               "attention")
    cache_case("attention_negative", [-1, 64, 70], sa + "length -1 at position 0 is outside [0, 65)",
               "attention")
    cw = "entry 'step': hymir.kv_cache_write 'lengths': "
    cache_case("cache_valid", [1, 64, 33], None)
    cache_case("cache_past", [1, 65, 33], cw + "length 65 at position 1 is outside [0, 65)")
    cache_case("cache_negative", [5, 64, -3], cw + "length -3 at position 2 is outside [0, 65)")
    cache_case("cache_both", [2147483647, -1, 3],
               cw + "length 2147483647 at position 0 is outside [0, 65)")
    # Module::time (hymir-bench) reads the checks after its runs too.
    if not PREPARE and os.path.exists(BIN + "/hymir-bench"):
        fails([BIN + "/hymir-bench", os.path.join(WORK, g + ".hymir"), "--entry", "embed",
               "--device", DEVICE, "--inputs", two, "--warmup", "1", "--iterations", "2"],
              where + "id 100 at position 5 is outside [0, 100)")
        print("ok %-24s T=%-4d hymir-bench reports it too" % (g + "_two", 7))
    if PREPARE:
        print("run-time checks: prepared in", WORK)
    else:
        print("run-time checks (%s): all passed" % DEVICE)


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        print("FAIL:", e)
        sys.exit(1)
