#!/usr/bin/env python3
"""Softmax attention (hymir.softmax_attention, hymir.kv_cache_write) against
the fp64 oracle, over the matrix of issue 12: every listed value of T and S
(1, 2, 63, 64, 65, 255, 256, 1000) causal and not, Hq/Hkv 64/8, 8/8 and 4/1,
D 64 and 128, B 1 and 3 with different valid lengths per sequence (the
`lengths` operand, including a sequence with no key), bf16 and f32. Not the
cross product: a covering set. Three sweeps with T = S = the token count
(f32; bf16 with lengths; bf16 with 4 query heads per KV head) run causal
and not on the same inputs, the first every value; the other cases vary one
thing each: fewer queries than keys (decode and speculative verification
against a cache, static T), more queries than keys (non-causal), a dynamic
token count against a static cache (lengths [T, C, C/2 + 3]), a static query
count against a dynamic key count, and MiniMax-M1's 64/8 heads of 128 in a
decode step ([1, C, C/2 + 3] valid keys of C = 1000) and a causal prefill
(T = S = 255, and 1000 on a GPU only: on cpu its fp64 check alone took ~55 s
of a loaded machine, and the cpu kernel sees T = 1000 in the sweeps). Two
cases use a large scale (2.0), so each row's softmax is nearly one-hot
and the running maximum of the online softmax changes along the keys.

On cuda the cases reach each kernel the pass chooses: a static T <= 16
takes the split-KV kernels (key splits, then a combine kernel; C >= 512
gives two splits or more), a dynamic T the token-guarded ones (split up to
16 tokens, one block per row above), a dynamic key count up to 64 splits
(most of them empty at S = 1). bf16 kernels that tile the T G query rows
of a KV head (G = Hq / Hkv) and the keys by 64 see T G and S on both sides
of a tile edge (G = 1, 4, 8).

Plus a decode loop through the cache: a `prefill` entry (q, k, v of T
tokens, caches kc and vc [B, C, Hkv, D], lengths)
writes the step's keys and values with hymir.kv_cache_write and attends over
lengths[b] keys; a `decode` entry does the same for one token. Three
sequences with prompts of different lengths, left-padded (lengths[b] = the
sequence's length so far; rows at negative positions are not written and
their queries see no key): a prefill of T tokens, then k decode steps fed
with the caches each call returns, must give the outputs of one prefill of
T + k tokens token by token and the same caches (relative error below 1e-5,
f32). The caches are tied to the results kc_out and vc_out (hymir.tied),
and the compiled plan of `decode` must hold no copy step (the caches are
updated in place; `--tie-caches off` leaves them untied).

Inputs are fresh random values (this script's generator: magnitudes in
[0.5, 2) with random signs, exactly representable in the element type; the
seed is printed, --seed N repeats a run); hymir-run --check evaluates the
reference program stored in each artifact (fp64) on the same inputs.
Tolerances (relative L2 error of the output): f32 1e-4 (scores, softmax
and the weighted sum of up to 1000 values in f32, in a different order than
the oracle's); bf16 2e-2 (the inputs are exactly representable and the
oracle sees them as they are; what remains is the bf16 rounding of the
output, 2^-9 relative, and f32 accumulation; tensor-core kernels also
round the probabilities to bf16 where they enter P V).

The same matrix runs on a GPU in two halves, since the GPU host has no
compiler: on the build machine `--prepare DIR --target cuda` compiles every
graph into DIR; on the GPU host `--prepared DIR --device cuda:0` generates
the inputs and runs and checks every case (a case that fails or whose
artifact is missing is reported, the others still run; the exit status is 1
when any failed). --prepared also leaves the inputs of the sanitize_*
cases next to their artifacts (ARTIFACT-without-.hymir.in.safetensors), for
the compute-sanitizer runs of scripts/gpu-check.

Usage: attention_matrix.py BIN_DIR [--seed N] [--only SUBSTRING] [--tie-caches off]  (cpu)
       attention_matrix.py BIN_DIR --prepare DIR --target cuda
       attention_matrix.py BIN_DIR --prepared DIR --device cuda:0
"""
import array
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

from e2e_util import relative_error

BIN = sys.argv[1]
OPTS = dict(zip(sys.argv[2::2], sys.argv[3::2]))
TARGET = OPTS.get("--target", "cpu")
DEVICE = OPTS.get("--device", "cpu")
PREPARE = "--prepare" in OPTS      # compile only
RUN_ONLY = "--prepared" in OPTS    # run what --prepare compiled
WORK = OPTS.get("--prepare") or OPTS.get("--prepared") or tempfile.mkdtemp(prefix="hymir-attention-")
TEMP_WORK = not (PREPARE or RUN_ONLY)
os.makedirs(WORK, exist_ok=True)
SEED = int(OPTS["--seed"]) if "--seed" in OPTS else random.SystemRandom().randrange(1 << 32)
ONLY = OPTS.get("--only", "")
TOLERANCE = {"f32": "1e-4", "bf16": "2e-2"}
CALL_TIMEOUT_S = 600
FAILED = []
CHAIN_COMPILED = []


class Case:
    """One graph shape. t and s are static sizes, or None for the call's
    token count; lengths is None (every key valid) or a function of (S, T)
    giving the B valid lengths; causal lists the modes run on the same
    inputs."""

    def __init__(self, tag, b, hq, hkv, d, dt, causal, t, s, tokens, lengths=None, scale=None,
                 sanitize=False, gpu_tokens=()):
        self.tag, self.b, self.hq, self.hkv, self.d, self.dt = tag, b, hq, hkv, d, dt
        self.causal, self.t, self.s, self.lengths = causal, t, s, lengths
        # gpu_tokens: token counts run only on a GPU (--device other than cpu).
        self.tokens = list(tokens) + (list(gpu_tokens) if DEVICE != "cpu" else [])
        self.scale = scale if scale is not None else d ** -0.5
        self.sanitize = sanitize


def half_plus_3(s, t):
    return [1, s, min(s, s // 2 + 3)]


CASES = [
    # T = S = the token count: every value, causal and not.
    Case("sweep_f32", 1, 4, 1, 64, "f32", (True, False), None, None,
         [1, 2, 63, 64, 65, 255, 256, 1000]),
    Case("sweep_lengths_d128_bf16", 3, 8, 8, 128, "bf16", (True, False), None, None,
         [1, 2, 17, 63, 64, 65, 256], lengths=lambda s, t: [s, 1, min(s, s // 2 + 3)]),
    Case("sweep_gqa4_bf16", 1, 4, 1, 64, "bf16", (True, False), None, None,
         [16, 17, 255, 1000]),
    # MiniMax-M1's heads: a causal prefill and a decode step over a cache.
    Case("m1_prefill_bf16", 1, 64, 8, 128, "bf16", (True,), None, None, [255],
         gpu_tokens=[1000]),
    Case("m1_decode_bf16", 3, 64, 8, 128, "bf16", (True,), 1, 1000, [1], lengths=half_plus_3),
    # Fewer queries than keys, static T (decode, verification of 16 drafted
    # tokens), with and without lengths; one sequence without keys.
    Case("decode_len0_f32", 3, 4, 1, 64, "f32", (False,), 1, 600, [1],
         lengths=lambda s, t: [0, s, s // 2 + 3]),
    Case("verify_t16_scale2_f32", 3, 8, 8, 64, "f32", (True,), 16, 1000, [16],
         lengths=lambda s, t: [16, s, s // 2 + 3], scale=2.0),
    Case("t2_s256_d128_f32", 1, 4, 1, 128, "f32", (True, False), 2, 256, [2]),
    Case("t63_s255_bf16", 3, 8, 8, 64, "bf16", (True,), 63, 255, [63],
         lengths=lambda s, t: [t, s, s // 2 + 3]),
    # More queries than keys (non-causal).
    Case("t65_s64_scale2_f32", 3, 4, 1, 128, "f32", (False,), 65, 64, [65],
         lengths=half_plus_3, scale=2.0),
    Case("t1000_s63_bf16", 1, 8, 8, 64, "bf16", (False,), 1000, 63, [1000]),
    Case("t2_s1_bf16", 3, 4, 1, 64, "bf16", (False,), 2, 1, [2], lengths=lambda s, t: [1, 0, 1]),
    # A dynamic query count against a static cache (token-guarded kernels).
    Case("cache_dyn_t_bf16", 3, 64, 8, 64, "bf16", (True,), None, 600, [1, 2, 16, 17, 65],
         lengths=lambda s, t: [t, s, s // 2 + 3]),
    Case("cache_dyn_t_d128_f32", 1, 4, 1, 128, "f32", (False,), None, 1000, [1, 16, 17, 255],
         lengths=lambda s, t: [700]),
    # One query against a dynamic key count.
    Case("decode_dyn_s_f32", 3, 8, 8, 128, "f32", (True,), 1, None, [1, 64, 1000],
         lengths=half_plus_3),
    # Small shapes that scripts/gpu-check also runs under compute-sanitizer
    # (memcheck, racecheck): split decode steps (two key splits and the
    # combine kernel) in bf16 and f32, and a causal prefill with partial
    # query and key tiles.
    Case("sanitize_decode_bf16", 2, 8, 2, 64, "bf16", (True,), 1, 512, [1],
         lengths=lambda s, t: [s, s // 2 + 3], sanitize=True),
    Case("sanitize_decode_f32", 2, 4, 1, 64, "f32", (True,), 1, 512, [1],
         lengths=lambda s, t: [s, s // 2 + 3], sanitize=True),
    Case("sanitize_prefill_bf16", 2, 8, 2, 64, "bf16", (True,), 70, 70, [70],
         lengths=lambda s, t: [s, s // 2 + 3], sanitize=True),
]


# --- graphs ---
def tensor(dims, dt):
    return "tensor<%s>" % "x".join(["?" if x is None else str(x) for x in dims] + [dt])


def graph(c, causal):
    q = tensor([c.b, c.t, c.hq, c.d], c.dt)
    kv = tensor([c.b, c.s, c.hkv, c.d], c.dt)
    args = ['%%q: %s {hymir.name = "q"}' % q, '%%k: %s {hymir.name = "k"}' % kv,
            '%%v: %s {hymir.name = "v"}' % kv]
    types = [q, kv, kv]
    lengths = ""
    if c.lengths:
        args.append('%%len: tensor<%dxi32> {hymir.name = "lengths"}' % c.b)
        types.append("tensor<%dxi32>" % c.b)
        lengths = " lengths(%len)"
    return f"""func.func @attention({", ".join(args)})
    -> ({q} {{hymir.name = "out"}}) {{
  %o = hymir.softmax_attention %q, %k, %v{lengths} {{causal = {str(causal).lower()}, scale = {c.scale!r} : f32}}
      : ({", ".join(types)}) -> {q}
  return %o : {q}
}}
"""


CHAIN_B, CHAIN_HQ, CHAIN_HKV, CHAIN_D, CHAIN_C = 3, 8, 2, 64, 520
# The caches are tied to the results (updated in place) unless
# `--tie-caches off` (then the plans copy them, and the results must agree
# just the same).
TIE_CACHES = OPTS.get("--tie-caches", "on") == "on"


def chain_module():
    """prefill (dynamic T) and decode (T = 1); with TIE_CACHES the caches
    are tied to the results kc_out and vc_out."""
    b, hq, hkv, d, c = CHAIN_B, CHAIN_HQ, CHAIN_HKV, CHAIN_D, CHAIN_C
    cache = tensor([b, c, hkv, d], "f32")
    tie_k, tie_v = (", hymir.tied = 3 : i64", ", hymir.tied = 4 : i64") if TIE_CACHES else ("", "")
    text = ""
    for name, t in (("prefill", None), ("decode", 1)):
        q = tensor([b, t, hq, d], "f32")
        kv = tensor([b, t, hkv, d], "f32")
        text += f"""func.func @{name}(%q: {q} {{hymir.name = "q"}}, %k: {kv} {{hymir.name = "k"}},
    %v: {kv} {{hymir.name = "v"}}, %kc: {cache} {{hymir.name = "kc"}},
    %vc: {cache} {{hymir.name = "vc"}}, %len: tensor<{b}xi32> {{hymir.name = "lengths"}})
    -> ({q} {{hymir.name = "out"}}, {cache} {{hymir.name = "kc_out"{tie_k}}},
        {cache} {{hymir.name = "vc_out"{tie_v}}}) {{
  %kc1 = hymir.kv_cache_write %kc, %k, %len : ({cache}, {kv}, tensor<{b}xi32>) -> {cache}
  %vc1 = hymir.kv_cache_write %vc, %v, %len : ({cache}, {kv}, tensor<{b}xi32>) -> {cache}
  %o = hymir.softmax_attention %q, %kc1, %vc1 lengths(%len) {{causal = true, scale = 0.125 : f32}}
      : ({q}, {cache}, {cache}, tensor<{b}xi32>) -> {q}
  return %o, %kc1, %vc1 : {q}, {cache}, {cache}
}}
"""
    return text


# --- safetensors ---
DTYPES = {"f32": ("F32", 4), "bf16": ("BF16", 2), "i32": ("I32", 4)}
SIGN_EXP = bytes(0x3F | (x & 0x80) for x in range(256))


def random_bytes(rng, n, dt):
    """n values with magnitudes in [0.5, 2) and random signs: the sign and
    exponent byte of each little-endian value is set to 0x3F or 0xBF, the
    rest of its bits are random (so the low exponent bit picks [0.5, 1) or
    [1, 2))."""
    size = DTYPES[dt][1]
    blob = bytearray(rng.getrandbits(8 * n * size).to_bytes(n * size, "little"))
    blob[size - 1::size] = bytes(blob[size - 1::size]).translate(SIGN_EXP)
    return bytes(blob)


def write_st(path, tensors):
    """tensors: name -> (dtype key, shape, bytes)."""
    header, off = {}, 0
    for name, (dt, shape, blob) in tensors.items():
        header[name] = {"dtype": DTYPES[dt][0], "shape": shape, "data_offsets": [off, off + len(blob)]}
        off += len(blob)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for _, _, blob in tensors.values():
            f.write(blob)


def read_st(path):
    """name -> (shape, bytes)."""
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    return {name: (v["shape"], data[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for name, v in header.items() if name != "__metadata__"}


def i32(values):
    return struct.pack("<%di" % len(values), *values)


def f32_list(blob):
    a = array.array("f")
    a.frombytes(blob)
    return a


# --- running ---
def compile_graph(text, art, extra=()):
    """Writes and compiles one graph (in --prepared mode: nothing); returns
    hymir-compile's stdout, or None after recording a failure."""
    if RUN_ONLY:
        return ""
    src = art[:-len(".hymir")] + ".mlir"
    with open(src, "w") as f:
        f.write(text)
    if os.path.exists(art):
        os.remove(art)
    r = subprocess.run([BIN + "/hymir-compile", src, "-o", art, "--target=" + TARGET,
                        "--max-tokens=4096"] + list(extra), capture_output=True, text=True)
    if r.returncode != 0:
        fail(os.path.basename(src), "does not compile for %s:\n%s" % (TARGET, (r.stdout + r.stderr)[-3000:]))
        return None
    return r.stdout


def fail(what, why):
    FAILED.append(what)
    print("FAIL %s: %s" % (what, why), flush=True)


def call(art, entry, inputs, outputs, extra=()):
    """Runs one entry; (ok, stdout + stderr). The output file is removed
    first, so a failed call cannot leave an earlier call's output behind."""
    if os.path.exists(outputs):
        os.remove(outputs)
    if not os.path.exists(art):
        return False, "%s is missing (did --prepare compile it?)" % art
    try:
        r = subprocess.run([BIN + "/hymir-run", art, "--entry", entry, "--device", DEVICE,
                            "--inputs", inputs, "--outputs", outputs] + list(extra),
                           capture_output=True, text=True, timeout=CALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False, "hymir-run did not finish in %d s" % CALL_TIMEOUT_S
    log = r.stdout + r.stderr
    if r.returncode < 0:
        log += "\nhymir-run was killed by signal %d" % -r.returncode
    return r.returncode == 0 and os.path.exists(outputs), log


def artifact(c, causal):
    return os.path.join(WORK, "%s_%s.hymir" % (c.tag, "causal" if causal else "full"))


def make_inputs(c, n, rng):
    """The inputs of case c at token count n: (tensors, T, S, lengths)."""
    t = c.t if c.t is not None else n
    s = c.s if c.s is not None else n
    tensors = {"q": (c.dt, [c.b, t, c.hq, c.d], random_bytes(rng, c.b * t * c.hq * c.d, c.dt))}
    for name in ("k", "v"):
        tensors[name] = (c.dt, [c.b, s, c.hkv, c.d], random_bytes(rng, c.b * s * c.hkv * c.d, c.dt))
    lengths = c.lengths(s, t) if c.lengths else None
    if lengths:
        assert len(lengths) == c.b and all(0 <= x <= s for x in lengths), (c.tag, lengths)
        tensors["lengths"] = ("i32", [c.b], i32(lengths))
    return tensors, t, s, lengths


def run_case(c, rng):
    for causal in c.causal:
        compile_graph(graph(c, causal), artifact(c, causal))
    if PREPARE:
        return
    if c.sanitize and RUN_ONLY:
        # Inputs for compute-sanitizer, which scripts/gpu-check runs after
        # this script on ARTIFACT and ARTIFACT-less-.hymir.in.safetensors.
        tensors = make_inputs(c, c.tokens[0], rng)[0]
        for causal in c.causal:
            write_st(artifact(c, causal)[:-len(".hymir")] + ".in.safetensors", tensors)
    inp = os.path.join(WORK, "in.safetensors")
    out = os.path.join(WORK, "out.safetensors")
    for n in c.tokens:
        tensors, t, s, lengths = make_inputs(c, n, rng)
        write_st(inp, tensors)
        for causal in c.causal:
            what = "%s %s T=%d S=%d%s" % (c.tag, "causal" if causal else "non-causal", t, s,
                                           " lengths=%s" % lengths if lengths else "")
            start = time.time()
            ok, log = call(artifact(c, causal), "attention", inp, out,
                           ["--check", "--tolerance", TOLERANCE[c.dt]])
            errs = [l.split()[4] for l in log.splitlines() if l.startswith("check ")]
            if not ok or not errs:
                fail(what, "\n" + log[-3000:])
                continue
            print("ok %-68s error %s (%.1f s)" % (what, " ".join(errs), time.time() - start), flush=True)
    for path in (inp, out):
        if os.path.exists(path):
            os.remove(path)


def token_slice(blob, shape, t0, t1):
    """Tokens [t0, t1) of a [B, T, H, D] f32 tensor."""
    b, t, h, d = shape
    row = h * d * 4
    return b"".join(blob[(bi * t + t0) * row:(bi * t + t1) * row] for bi in range(b))


def prefill_then_decode(t, k, rng):
    """One prefill of t + k tokens == a prefill of t tokens, then k decode
    steps through the returned caches, for three left-padded prompts."""
    b, hq, hkv, d, c = CHAIN_B, CHAIN_HQ, CHAIN_HKV, CHAIN_D, CHAIN_C
    art = os.path.join(WORK, "chain.hymir")
    if not RUN_ONLY and not CHAIN_COMPILED:
        CHAIN_COMPILED.append(art)
        plan = compile_graph(chain_module(), art, ["--print-plan"])
        if plan is not None and TIE_CACHES:
            # The decode entry's plan: no copy step (kc, vc updated in place).
            section = plan.split("entry decode\n", 1)[-1].split("\nentry ", 1)[0]
            copies = [l.strip() for l in section.splitlines() if ": copy" in l]
            if "entry decode\n" not in plan:
                fail("chain decode plan", "no entry decode in --print-plan's output:\n" + plan)
            elif copies:
                fail("chain decode plan", "copy steps in the decode entry: %s" % copies)
            else:
                print("ok decode entry: caches tied, no copy step in its plan", flush=True)
    if PREPARE:
        return
    what = "prefill %d + %d decode steps == prefill %d" % (t, k, t + k)
    prompts = [t, 1, (t + 1) // 2]
    total = t + k
    full = {"q": [b, total, hq, d], "k": [b, total, hkv, d], "v": [b, total, hkv, d]}
    data = {n: random_bytes(rng, b * total * shape[2] * d, "f32") for n, shape in full.items()}
    caches = {n: random_bytes(rng, b * c * hkv * d, "f32") for n in ("kc", "vc")}
    inp = os.path.join(WORK, "chain.in.safetensors")
    out = os.path.join(WORK, "chain.out.safetensors")

    def step(entry, t0, t1, kc, vc, lengths):
        tensors = {n: ("f32", [b, t1 - t0] + full[n][2:], token_slice(data[n], full[n], t0, t1))
                   for n in ("q", "k", "v")}
        tensors["kc"] = ("f32", [b, c, hkv, d], kc)
        tensors["vc"] = ("f32", [b, c, hkv, d], vc)
        tensors["lengths"] = ("i32", [b], i32(lengths))
        write_st(inp, tensors)
        ok, log = call(art, entry, inp, out)
        if not ok:
            raise RuntimeError("%s tokens [%d, %d): %s" % (entry, t0, t1, log[-3000:]))
        res = read_st(out)
        return res["out"][1], res["kc_out"][1], res["vc_out"][1]

    try:
        whole, whole_kc, whole_vc = step("prefill", 0, total, caches["kc"], caches["vc"],
                                         [p + k for p in prompts])
        outs = [step("prefill", 0, t, caches["kc"], caches["vc"], prompts)]
        for i in range(k):
            outs.append(step("decode", t + i, t + i + 1, outs[-1][1], outs[-1][2],
                             [p + i + 1 for p in prompts]))
    except RuntimeError as e:
        fail(what, str(e))
        return
    # Token by token: row tok of every sequence, chained against whole.
    row = hq * d * 4
    worst, worst_tok = 0.0, 0
    for tok in range(total):
        part, local, n = (0, tok, t) if tok < t else (tok - t + 1, 0, 1)
        got = b"".join(outs[part][0][(bi * n + local) * row:(bi * n + local + 1) * row] for bi in range(b))
        want = b"".join(whole[(bi * total + tok) * row:(bi * total + tok + 1) * row] for bi in range(b))
        err = relative_error(f32_list(got), f32_list(want))
        if err > worst:
            worst, worst_tok = err, tok
    e_kc = relative_error(f32_list(outs[-1][1]), f32_list(whole_kc))
    e_vc = relative_error(f32_list(outs[-1][2]), f32_list(whole_vc))
    summary = "worst token %.2e (token %d), caches %.2e %.2e (prompts %s)" % (
        worst, worst_tok, e_kc, e_vc, prompts)
    if worst < 1e-5 and e_kc < 1e-5 and e_vc < 1e-5:
        print("ok %s: %s" % (what, summary), flush=True)
    else:
        fail(what, summary)
    for path in (inp, out):
        if os.path.exists(path):
            os.remove(path)


def main():
    print("attention matrix: %s, seed %d" % ("compiling for " + TARGET if PREPARE else "on " + DEVICE,
                                            SEED), flush=True)
    rng = random.Random(SEED)
    start = time.time()
    for c in CASES:
        if ONLY in c.tag:
            run_case(c, rng)
    if ONLY in "chain":
        prefill_then_decode(70, 5, rng)
        prefill_then_decode(5, 3, rng)
    where = TARGET if PREPARE else DEVICE
    if FAILED:
        more = "; ..." if len(FAILED) > 10 else ""
        print("attention matrix (%s, seed %d): %d FAILED: %s%s"
              % (where, SEED, len(FAILED), "; ".join(FAILED[:10]), more))
        return 1
    print("attention matrix (%s): %s in %.0f s"
          % (where, "prepared" if PREPARE else "all passed", time.time() - start))
    if TEMP_WORK:
        shutil.rmtree(WORK, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
