#!/usr/bin/env python3
"""hymir.cispo_loss on the cpu target against the fp64 oracle, over issue
14's matrix: T in {1, 7, 300}, V in {1000, 1003 (not a multiple of the
128-row vocabulary tile), 32000}, N in {64, 256}, bf16 and f32 operands,
both head precisions (a bf16 head over f32 operands rounds them to bf16),
the unified mask on and off. Not the full cross product (the oracle and the
scalar cpu kernels would take minutes): the cases below cover every value
of every axis, the largest vocabulary at T = 300, and the longest hidden
size at T = 300.

Inputs are fresh random values from hymir-reference; then the targets are
drawn in [0, V), every fifth token is masked out, the advantages take both
signs (|A| in [0.3, 1.5]), and logp_old is built from this call's own
logp_new (a forward-only artifact of the same graph: only its logp_new is
used, so it runs the forward kernel alone) so that the IS ratio r cycles
through 2.0 and 0.5 (clipped at 1 + eps_high = 1.28 and 1 - eps_low = 0.8)
and 1.05 and 0.9 (inside), each with both advantage signs: both clips occur,
and with the unified mask tokens are dropped. The ratios sit far from the
bounds, so an f32 rounding of logp_new cannot move a token across one.

Tolerances (relative L2 error against the oracle; the oracle applies the
bf16 head's rounding too, so both precisions are held to f32 accumulation):
f32 outputs 1e-4 (measured 1e-8..4e-6: dot products of N terms and sums of
V exponentials in f32); bf16 gradients 1e-2 (the result is rounded to bf16,
2^-9 relative per element). The forward-only logp_new must equal the full
graph's bitwise (the same kernel), and so must hymir.token_logprobs' result
(issue 14 item 3: the same forward kernel; also within 1e-4 of the oracle's
tokenLogprobs). A mask of zeros gives loss 0 and zero
gradients exactly, and a target outside [0, V) fails the call with a
message naming the op, the tensor and the value.

Usage: cispo_matrix.py BIN_DIR
"""
import math
import os
import random
import struct
import subprocess
import sys
import tempfile

from e2e_util import read_tensor, replace_tensor, run

BIN = sys.argv[1]
WORK = tempfile.mkdtemp(prefix="hymir-cispo-")
EPS_LOW, EPS_HIGH = 0.2, 0.28
RATIOS = [2.0, 0.5, 1.05, 0.9]
RNG = random.Random()
SEED = RNG.randrange(1 << 30)
RNG.seed(SEED)


def graph(v, n, dt, precision, unified, outputs):
    h = "tensor<?x%dx%s>" % (n, dt)
    w = "tensor<%dx%dx%s>" % (v, n, dt)
    r = "tensor<?xf32>"
    results = [("loss", "%loss", "tensor<f32>"), ("logp_new", "%logp", r),
               ("d_hidden", "%dh", h), ("d_lm_head", "%dw", w)]
    results = [x for x in results if x[0] in outputs]
    sig = ", ".join('%s {hymir.name = "%s"}' % (t, name) for name, _, t in results)
    return f"""func.func @cispo(%hidden: {h} {{hymir.name = "hidden"}},
    %lm_head: {w} {{hymir.name = "lm_head"}},
    %targets: tensor<?xi32> {{hymir.name = "targets"}},
    %logp_old: {r} {{hymir.name = "logp_old"}},
    %advantages: {r} {{hymir.name = "advantages"}},
    %mask: {r} {{hymir.name = "mask"}}) -> ({sig}) {{
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets, %logp_old, %advantages, %mask
      {{eps_low = {EPS_LOW} : f32, eps_high = {EPS_HIGH} : f32, unified_mask = {str(unified).lower()}, precision = "{precision}"}}
      : ({h}, {w}, tensor<?xi32>, {r}, {r}, {r}) -> (tensor<f32>, {r}, {h}, {w})
  return {", ".join(x[1] for x in results)} : {", ".join(x[2] for x in results)}
}}
"""


def logprobs_graph(v, n, dt, precision):
    """hymir.token_logprobs over the loss graph's arguments (the ones it does
    not read are ignored), so that one inputs file serves both."""
    h = "tensor<?x%dx%s>" % (n, dt)
    w = "tensor<%dx%dx%s>" % (v, n, dt)
    r = "tensor<?xf32>"
    return f"""func.func @cispo(%hidden: {h} {{hymir.name = "hidden"}},
    %lm_head: {w} {{hymir.name = "lm_head"}},
    %targets: tensor<?xi32> {{hymir.name = "targets"}},
    %logp_old: {r} {{hymir.name = "logp_old"}},
    %advantages: {r} {{hymir.name = "advantages"}},
    %mask: {r} {{hymir.name = "mask"}}) -> ({r} {{hymir.name = "logprobs"}}) {{
  %lp = hymir.token_logprobs %hidden, %lm_head, %targets {{precision = "{precision}"}}
      : ({h}, {w}, tensor<?xi32>) -> {r}
  return %lp : {r}
}}
"""


def compile_graph(tag, text, t):
    path = os.path.join(WORK, tag + ".mlir")
    with open(path, "w") as f:
        f.write(text)
    art = os.path.join(WORK, tag + ".hymir")
    run([BIN + "/hymir-compile", path, "-o", art, "--target=cpu",
         "--max-tokens=%d" % max(t, 8)])
    return path, art


def f32s(values):
    return struct.pack("<%df" % len(values), *values)


def set_f32(path, name, values):
    replace_tensor(path, name, lambda spec, old: f32s(values))


def check(tag, t, v, n, dt, precision, unified, zero_mask=False):
    full_path, full = compile_graph(tag, graph(v, n, dt, precision, unified,
                                               {"loss", "logp_new", "d_hidden", "d_lm_head"}), t)
    _, fwd = compile_graph(tag + "_fwd", graph(v, n, dt, precision, unified, {"logp_new"}), t)
    inp = os.path.join(WORK, tag + ".in.safetensors")
    run([BIN + "/hymir-reference", full_path, "--function", "cispo", "--tokens", str(t),
         "--seed", str(RNG.randrange(1 << 30)), "--write-inputs", inp])
    targets = [RNG.randrange(v) for _ in range(t)]
    replace_tensor(inp, "targets", lambda spec, old: struct.pack("<%di" % t, *targets))
    mask = [0.0 if zero_mask or k % 5 == 3 else 1.0 for k in range(t)]
    set_f32(inp, "mask", mask)
    # (ratio, sign) by t mod 8: every ratio with both signs.
    signs = [-1, 1, 1, -1, 1, -1, -1, 1]
    adv = [signs[k % 8] * RNG.uniform(0.3, 1.5) for k in range(t)]
    set_f32(inp, "advantages", adv)
    fwd_out = os.path.join(WORK, tag + ".fwd.safetensors")
    run([BIN + "/hymir-run", fwd, "--entry", "cispo", "--inputs", inp, "--outputs", fwd_out])
    logp = read_tensor(fwd_out, "logp_new")
    set_f32(inp, "logp_old", [logp[k] - math.log(RATIOS[k % 4]) for k in range(t)])
    out = os.path.join(WORK, tag + ".out.safetensors")
    text = run([BIN + "/hymir-run", full, "--entry", "cispo", "--inputs", inp,
                "--outputs", out, "--check", "--tolerance", "1"])
    errors = {}
    for line in text.splitlines():
        if line.startswith("check "):
            words = line.split()
            errors[words[1]] = (float(words[4]), float(words[8]))
    grad_tol = 1e-2 if dt == "bf16" else 1e-4
    tols = {"loss": 1e-4, "logp_new": 1e-4, "d_hidden": grad_tol, "d_lm_head": grad_tol}
    for name, tol in tols.items():
        rel, max_abs = errors[name]
        if zero_mask and name != "logp_new":
            if max_abs != 0.0:
                raise RuntimeError("%s: %s of a zero mask is not exactly zero (max abs %.3e)"
                                   % (tag, name, max_abs))
        elif not rel <= tol:
            raise RuntimeError("%s: %s relative error %.3e > %g" % (tag, name, rel, tol))
    if read_tensor(out, "logp_new") != logp:
        raise RuntimeError("%s: the forward-only logp_new differs from the full graph's" % tag)
    # hymir.token_logprobs: against the oracle, and bitwise cispo_loss's
    # logp_new (the same forward kernel).
    _, lp_art = compile_graph(tag + "_logprobs", logprobs_graph(v, n, dt, precision), t)
    lp_out = os.path.join(WORK, tag + ".logprobs.safetensors")
    text = run([BIN + "/hymir-run", lp_art, "--entry", "cispo", "--inputs", inp,
                "--outputs", lp_out, "--check", "--tolerance", "1"])
    lp_err = [float(l.split()[4]) for l in text.splitlines() if l.startswith("check logprobs")]
    if len(lp_err) != 1 or not lp_err[0] <= 1e-4:
        raise RuntimeError("%s: token_logprobs against the oracle: %s" % (tag, lp_err or text))
    if read_tensor(lp_out, "logprobs") != logp:
        raise RuntimeError("%s: token_logprobs differs from cispo_loss's logp_new" % tag)
    clipped = sum(1 for k in range(t) if mask[k] and RATIOS[k % 4] in (2.0, 0.5))
    print("ok %-34s T=%-4d V=%-5d N=%-3d loss %.1e logp %.1e d_hidden %.1e d_lm_head %.1e"
          " (%d clipped tokens); token_logprobs %.1e, = logp_new bitwise"
          % (tag, t, v, n, errors["loss"][0], errors["logp_new"][0],
             errors["d_hidden"][0], errors["d_lm_head"][0], clipped, lp_err[0]))
    return full, inp


def check_bad_target(art, inp, v):
    """A target equal to V fails the call, naming the op, tensor and value."""
    replace_tensor(inp, "targets",
                   lambda spec, old: struct.pack("<i", v) + old[4:])
    r = subprocess.run([BIN + "/hymir-run", art, "--entry", "cispo", "--inputs", inp,
                        "--outputs", os.path.join(WORK, "bad.safetensors")],
                       capture_output=True, text=True)
    message = r.stdout + r.stderr
    want = ["hymir.cispo_loss", "targets", str(v)]
    if r.returncode == 0 or not all(w in message for w in want):
        raise RuntimeError("a target of %d: expected a failure naming %s, got rc %d:\n%s"
                           % (v, want, r.returncode, message))
    print("ok bad target fails: " + message.strip().splitlines()[-1])


def main():
    print("cispo matrix: seed %d, work %s" % (SEED, WORK))
    # tag: T, V, N, operand dtype, head precision, unified mask
    check("t300_v32000_n64_f32_unified", 300, 32000, 64, "f32", "f32", True)
    check("t300_v1003_n256_f32_bf16head", 300, 1003, 256, "f32", "bf16", False)
    check("t300_v1000_n64_bf16_unified", 300, 1000, 64, "bf16", "bf16", True)
    check("t7_v32000_n256_bf16_f32head", 7, 32000, 256, "bf16", "f32", True)
    check("t7_v1003_n64_f32_bf16head_unified", 7, 1003, 64, "f32", "bf16", True)
    check("t7_v1000_n256_f32", 7, 1000, 256, "f32", "f32", False)
    check("t1_v32000_n64_f32_bf16head", 1, 32000, 64, "f32", "bf16", False)
    art, inp = check("t1_v1003_n256_bf16_unified", 1, 1003, 256, "bf16", "f32", True)
    check("t1_v1000_n64_f32_unified", 1, 1000, 64, "f32", "f32", True)
    check("t7_v1000_n64_f32_zero_mask", 7, 1000, 64, "f32", "f32", True, zero_mask=True)
    check_bad_target(art, inp, 1003)
    print("cispo matrix (cpu): all passed")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        print("FAIL (seed %d): %s" % (SEED, e))
        sys.exit(1)
