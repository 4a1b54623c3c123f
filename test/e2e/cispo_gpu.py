#!/usr/bin/env python3
"""hymir.cispo_loss and hymir.token_logprobs on cuda (hymir-cispo-loss-to-gpu)
against the fp64 oracle, over the cases of cispo_matrix.py (issue 14: T in
{1, 7, 300}, V in {1000, 1003, 32000}, N in {64, 256}, bf16 and f32 operands,
both head precisions, both clips, unified mask on and off, a zero mask, a
target outside [0, V)), in two halves since the GPU host has no compiler:

  on the build machine:  cispo_gpu.py BIN_DIR --prepare DIR [--tiles MxN]
                             [--wgmma true|false] [--wgmma-grads true|false]
                             [--bench-tiles MxN,...] [--bench]
                             [--bench-old-grads true|false]
                             [--bench-token-chunks N[mn],... | none]
      compiles, per case, the full graph (loss, logp_new, d_hidden,
      d_lm_head), the forward-only graph (logp_new) and hymir.token_logprobs
      for cuda into DIR/CASE/, with inputs (logp_old built from the cpu
      target's logp_new so that the IS ratio cycles through 2.0, 0.5, 1.05,
      0.9: both clips, and tokens dropped by the unified mask); and, with
      --bench, the head of MiniMax-M1 (T = 4096, N = 6144, V = 200064, bf16
      operands, bf16 and f32 head, forward only and with both gradients;
      the atomic backward beside the wgmma one unless --bench-old-grads
      false; the bf16 head's token-chunked backward, --cispo-token-chunk=N,
      for each N of --bench-token-chunks, with --cispo-mn-major where N
      ends in mn, default 1024,2048,1024mn,2048mn) into
      DIR/bench/, with each plan's arena in bench/arena.json.
  on the GPU host:       cispo_gpu.py BIN_DIR --prepared DIR [--device cuda:0]
      runs every case with hymir-run --check (the artifact's reference
      program, fp64) and prints PASS/FAIL per case; then, when DIR/bench
      exists, the timings (hymir-bench, median of 10) and the PyTorch
      anchors in the same call (bench/cispo_bench.py).

Tolerances (relative L2 error against the oracle, as on cpu): loss and
logp_new 1e-4; gradients 1e-4 for f32 results, 1e-2 for bf16 ones; with the
f32 head over f32 operands the log-probs within 1e-5 absolute of fp64 (the
issue's bound for the hi + lo split). The forward-only logp_new and
token_logprobs' result must equal the full graph's logp_new bitwise (also
for the cases compiled with --cispo-token-chunk, whose full graph keeps a
chunk's logits instead of recomputing them: its forward kernel is the
forward-only graph's over the chunk's tokens). A mask
of zeros gives loss and gradients exactly 0; a target equal to V fails the
call naming the op, the tensor and the value.
"""
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from e2e_util import read_tensor, replace_tensor, run  # noqa: E402

BIN = sys.argv[1]
OPTS = dict(zip(sys.argv[2::2], sys.argv[3::2]))
FLAGS = set(sys.argv[2:])
DEVICE = OPTS.get("--device", "cuda:0")
EPS_LOW, EPS_HIGH = 0.2, 0.28
RATIOS = [2.0, 0.5, 1.05, 0.9]

# tag: T, V, N, operand dtype, head precision, unified mask, zero mask[,
# hymir-compile flags of the case]
CASES = [
    ("t300_v32000_n64_f32_unified", 300, 32000, 64, "f32", "f32", True, False),
    ("t300_v1003_n256_f32_bf16head", 300, 1003, 256, "f32", "bf16", False, False),
    ("t300_v1000_n64_bf16_unified", 300, 1000, 64, "bf16", "bf16", True, False),
    ("t7_v32000_n256_bf16_f32head", 7, 32000, 256, "bf16", "f32", True, False),
    ("t7_v1003_n64_f32_bf16head_unified", 7, 1003, 64, "f32", "bf16", True, False),
    ("t7_v1000_n256_f32", 7, 1000, 256, "f32", "f32", False, False),
    ("t1_v32000_n64_f32_bf16head", 1, 32000, 64, "f32", "bf16", False, False),
    ("t1_v1003_n256_bf16_unified", 1, 1003, 256, "bf16", "f32", True, False),
    ("t1_v1000_n64_f32_unified", 1, 1000, 64, "f32", "f32", True, False),
    ("t7_v1000_n64_f32_zero_mask", 7, 1000, 64, "f32", "f32", True, True),
    ("t1000_v1003_n256_f32", 1000, 1003, 256, "f32", "f32", False, False),
    # bf16 operands, N a multiple of 128: the wgmma backward (passes of 16384
    # vocabulary rows; 17000 and 20000 take two, the second partial; N = 128
    # keeps the inputs small, t7_v32000_n256 above takes the path at 256).
    ("t300_v17000_n128_bf16_bf16head", 300, 17000, 128, "bf16", "bf16", False, False),
    ("t130_v20000_n128_bf16_f32head_unified", 130, 20000, 128, "bf16", "f32", True, False),
    ("t1000_v1003_n256_bf16_bf16head", 1000, 1003, 256, "bf16", "bf16", False, False),
    ("t7_v1000_n128_bf16_zero_mask", 7, 1000, 128, "bf16", "f32", True, True),
    # The token-chunked backward (bf16 head): 2 chunks of 256 (the second 44
    # tokens) over 3 passes of 8192 vocabulary rows (the last 616, V not a
    # multiple of 128: the forward's last tile overlaps the one before);
    # 8 chunks of 128 (the last 104); 2 chunks of 128 (the second 2 tokens,
    # most of its blocks past T); one chunk with a zero mask.
    ("t300_v17000_n128_bf16_bf16head_chunk256", 300, 17000, 128, "bf16", "bf16", False, False,
     ["--cispo-token-chunk=256"]),
    ("t1000_v1003_n256_bf16_bf16head_unified_chunk128", 1000, 1003, 256, "bf16", "bf16", True,
     False, ["--cispo-token-chunk=128"]),
    ("t130_v20000_n128_bf16_bf16head_unified_chunk128", 130, 20000, 128, "bf16", "bf16", True,
     False, ["--cispo-token-chunk=128"]),
    ("t7_v1000_n128_bf16_bf16head_zero_mask_chunk128", 7, 1000, 128, "bf16", "bf16", True, True,
     ["--cispo-token-chunk=128"]),
    # The same with --cispo-mn-major: g, W and h read as stored (MN-major
    # wgmma operands), no transposed copies.
    ("t300_v17000_n128_bf16_bf16head_chunk256_mn", 300, 17000, 128, "bf16", "bf16", False, False,
     ["--cispo-token-chunk=256", "--cispo-mn-major"]),
    ("t1000_v1003_n256_bf16_bf16head_unified_chunk128_mn", 1000, 1003, 256, "bf16", "bf16", True,
     False, ["--cispo-token-chunk=128", "--cispo-mn-major"]),
    ("t130_v20000_n128_bf16_bf16head_unified_chunk128_mn", 130, 20000, 128, "bf16", "bf16", True,
     False, ["--cispo-token-chunk=128", "--cispo-mn-major"]),
]


def graph(v, n, dt, precision, unified, outputs, t="?"):
    h = "tensor<%sx%dx%s>" % (t, n, dt)
    w = "tensor<%dx%dx%s>" % (v, n, dt)
    r = "tensor<%sxf32>" % t
    i = "tensor<%sxi32>" % t
    results = [("loss", "%loss", "tensor<f32>"), ("logp_new", "%logp", r),
               ("d_hidden", "%dh", h), ("d_lm_head", "%dw", w)]
    results = [x for x in results if x[0] in outputs]
    sig = ", ".join('%s {hymir.name = "%s"}' % (ty, name) for name, _, ty in results)
    return f"""func.func @cispo(%hidden: {h} {{hymir.name = "hidden"}},
    %lm_head: {w} {{hymir.name = "lm_head"}},
    %targets: {i} {{hymir.name = "targets"}},
    %logp_old: {r} {{hymir.name = "logp_old"}},
    %advantages: {r} {{hymir.name = "advantages"}},
    %mask: {r} {{hymir.name = "mask"}}) -> ({sig}) {{
  %loss, %logp, %dh, %dw = hymir.cispo_loss %hidden, %lm_head, %targets, %logp_old, %advantages, %mask
      {{eps_low = {EPS_LOW} : f32, eps_high = {EPS_HIGH} : f32, unified_mask = {str(unified).lower()}, precision = "{precision}"}}
      : ({h}, {w}, {i}, {r}, {r}, {r}) -> (tensor<f32>, {r}, {h}, {w})
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


def tile_flags(tiles):
    """hymir-compile flags of a warp tile "MxN" (m16 by n8 tiles), and
    --cispo-wgmma=VALUE from --wgmma VALUE, --cispo-wgmma-grads=VALUE from
    --wgmma-grads VALUE."""
    flags = ["--cispo-wgmma=" + OPTS["--wgmma"]] if "--wgmma" in OPTS else []
    if "--wgmma-grads" in OPTS:
        flags.append("--cispo-wgmma-grads=" + OPTS["--wgmma-grads"])
    if not tiles:
        return flags
    m, n = tiles.split("x")
    return flags + ["--cispo-m-tiles=" + m, "--cispo-n-tiles=" + n]


def compile_graph(d, name, text, target, t, tiles=None, extra=()):
    path = os.path.join(d, name + ".mlir")
    with open(path, "w") as f:
        f.write(text)
    art = os.path.join(d, name + ".hymir")
    flags = tile_flags(tiles or OPTS.get("--tiles")) if target == "cuda" else []
    flags += list(extra)
    run([BIN + "/hymir-compile", path, "-o", art, "--target=" + target,
         "--max-tokens=%d" % max(t, 8)] + flags)
    return path, art


def set_f32(path, name, values):
    replace_tensor(path, name, lambda spec, old: struct.pack("<%df" % len(values), *values))


def prepare_case(root, rng, case):
    tag, t, v, n, dt, precision, unified, zero_mask = case[:8]
    flags = case[8] if len(case) > 8 else []
    d = os.path.join(root, tag)
    os.makedirs(d, exist_ok=True)
    full_mlir, _ = compile_graph(d, "full", graph(v, n, dt, precision, unified,
                                                  {"loss", "logp_new", "d_hidden", "d_lm_head"}),
                                 "cuda", t, extra=flags)
    compile_graph(d, "fwd", graph(v, n, dt, precision, unified, {"logp_new"}), "cuda", t,
                  extra=flags)
    compile_graph(d, "logprobs", logprobs_graph(v, n, dt, precision), "cuda", t, extra=flags)
    # The cpu forward (for logp_old only; removed afterwards).
    _, cpu_fwd = compile_graph(d, "cpu_fwd", graph(v, n, dt, precision, unified, {"logp_new"}),
                               "cpu", t)
    inp = os.path.join(d, "in.safetensors")
    run([BIN + "/hymir-reference", full_mlir, "--function", "cispo", "--tokens", str(t),
         "--seed", str(rng.randrange(1 << 30)), "--write-inputs", inp])
    targets = [rng.randrange(v) for _ in range(t)]
    replace_tensor(inp, "targets", lambda spec, old: struct.pack("<%di" % t, *targets))
    mask = [0.0 if zero_mask or k % 5 == 3 else 1.0 for k in range(t)]
    set_f32(inp, "mask", mask)
    signs = [-1, 1, 1, -1, 1, -1, -1, 1]
    set_f32(inp, "advantages", [signs[k % 8] * rng.uniform(0.3, 1.5) for k in range(t)])
    out = os.path.join(d, "cpu_fwd.out.safetensors")
    run([BIN + "/hymir-run", cpu_fwd, "--entry", "cispo", "--inputs", inp, "--outputs", out])
    logp = read_tensor(out, "logp_new")
    set_f32(inp, "logp_old", [logp[k] - math.log(RATIOS[k % 4]) for k in range(t)])
    for f in ("cpu_fwd.hymir", "cpu_fwd.mlir", "cpu_fwd.out.safetensors"):
        os.remove(os.path.join(d, f))
    return {"tag": tag, "t": t, "v": v, "n": n, "dt": dt, "precision": precision,
            "unified": unified, "zero_mask": zero_mask, "flags": flags}


BENCH_T, BENCH_N, BENCH_V = 4096, 6144, 200064


def prepare_bench(root):
    """bf16 operands with the bf16 head, per warp tile of --bench-tiles
    (default the compiler's; the warp tiles only matter to the mma.sync
    kernels); bf16 operands with the f32 head (the same forward products,
    the backward's g in two bf16 planes: M1's FP32 head over bf16 weights);
    the same two with --cispo-wgmma-grads=false (the atomic mma.sync
    backward) unless --bench-old-grads false; and f32 operands with the
    f32 head (hi + lo split, mma.sync). Each artifact's plan arena (memory
    above inputs and results) goes to bench/arena.json."""
    d = os.path.join(root, "bench")
    os.makedirs(d, exist_ok=True)
    full = {"loss", "logp_new", "d_hidden", "d_lm_head"}
    for tiles in OPTS.get("--bench-tiles", "default").split(","):
        t = None if tiles == "default" else tiles
        for kind, outputs in (("fwd", {"logp_new"}), ("full", full)):
            compile_graph(d, "%s_bf16_%s" % (kind, tiles),
                          graph(BENCH_V, BENCH_N, "bf16", "bf16", False, outputs),
                          "cuda", BENCH_T, t)
    compile_graph(d, "full_bf16ops_f32head",
                  graph(BENCH_V, BENCH_N, "bf16", "f32", False, full), "cuda", BENCH_T)
    if OPTS.get("--bench-old-grads", "true") != "false":
        for precision in ("bf16", "f32"):
            compile_graph(d, "full_bf16ops_%shead_oldgrads" % precision,
                          graph(BENCH_V, BENCH_N, "bf16", precision, False, full),
                          "cuda", BENCH_T, extra=["--cispo-wgmma-grads=false"])
    for kind, outputs in (("fwd", {"logp_new"}), ("full", full)):
        compile_graph(d, "%s_f32ops_f32head" % kind,
                      graph(BENCH_V, BENCH_N, "f32", "f32", False, outputs), "cuda", BENCH_T)
    for chunk in token_chunks():
        compile_graph(d, "full_bf16_chunk" + chunk,
                      graph(BENCH_V, BENCH_N, "bf16", "bf16", False, full), "cuda", BENCH_T,
                      extra=arena_flags("full_bf16_chunk" + chunk))
    arenas = {}
    for name in sorted(os.listdir(d)):
        if name.endswith(".mlir"):
            text = run([BIN + "/hymir-compile", os.path.join(d, name), "-o", os.devnull,
                        "--target=cuda", "--max-tokens=%d" % BENCH_T, "--ptxas=none",
                        "--print-plan"] + arena_flags(name))
            sizes = [int(l.split()[1]) for l in text.splitlines() if l.strip().startswith("arena ")]
            arenas[name[:-5]] = sizes[0] if sizes else None
    with open(os.path.join(d, "arena.json"), "w") as f:
        json.dump(arenas, f, indent=1)


def token_chunks():
    """The token chunks of --bench-token-chunks, each N or Nmn (with
    --cispo-mn-major); "none": no chunked rows."""
    spec = OPTS.get("--bench-token-chunks", "1024,2048,1024mn,2048mn")
    return [] if spec == "none" else spec.split(",")


def arena_flags(mlir_name):
    """The compile flags prepare_bench gave the artifact of `mlir_name`."""
    if "oldgrads" in mlir_name:
        return ["--cispo-wgmma-grads=false"]
    if "_chunk" in mlir_name:
        chunk = mlir_name.split("_chunk")[1].split(".")[0]
        if chunk.endswith("mn"):
            return ["--cispo-token-chunk=" + chunk[:-2], "--cispo-mn-major"]
        return ["--cispo-token-chunk=" + chunk]
    return []


def prepare(root):
    rng = random.Random(int(OPTS.get("--seed", "1")))
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    cases = [prepare_case(root, rng, c) for c in CASES]
    with open(os.path.join(root, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    if "--bench" in FLAGS:
        prepare_bench(root)
    print("cispo gpu: prepared %d cases in %s%s" % (len(cases), root,
                                                     " with the M1 head benchmark" if "--bench" in FLAGS else ""))


def check_lines(text):
    errors = {}
    for line in text.splitlines():
        if line.startswith("check "):
            w = line.split()
            errors[w[1]] = (float(w[4]), float(w[8]))
    return errors


def run_case(root, c):
    d = os.path.join(root, c["tag"])
    inp = os.path.join(d, "in.safetensors")
    out = os.path.join(d, "out.safetensors")
    text = run([BIN + "/hymir-run", os.path.join(d, "full.hymir"), "--entry", "cispo",
                "--inputs", inp, "--outputs", out, "--device", DEVICE, "--check",
                "--tolerance", "1"])
    errors = check_lines(text)
    grad_tol = 1e-2 if c["dt"] == "bf16" else 1e-4
    tols = {"loss": 1e-4, "logp_new": 1e-4, "d_hidden": grad_tol, "d_lm_head": grad_tol}
    problems = []
    for name, tol in tols.items():
        if name not in errors:
            problems.append("%s not checked" % name)
            continue
        rel, max_abs = errors[name]
        if c["zero_mask"] and name != "logp_new":
            if max_abs != 0.0:
                problems.append("%s of a zero mask is not 0 (max abs %.3e)" % (name, max_abs))
        elif not rel <= tol:
            problems.append("%s relative error %.3e > %g" % (name, rel, tol))
    if c["precision"] == "f32" and c["dt"] == "f32" and "logp_new" in errors:
        if not errors["logp_new"][1] <= 1e-5:
            problems.append("f32 head: logp_new max abs error %.3e > 1e-5" % errors["logp_new"][1])
    logp = read_tensor(out, "logp_new")
    fwd_out = os.path.join(d, "fwd.out.safetensors")
    run([BIN + "/hymir-run", os.path.join(d, "fwd.hymir"), "--entry", "cispo", "--inputs", inp,
         "--outputs", fwd_out, "--device", DEVICE])
    if read_tensor(fwd_out, "logp_new") != logp:
        problems.append("the forward-only logp_new differs from the full graph's")
    lp_out = os.path.join(d, "logprobs.out.safetensors")
    run([BIN + "/hymir-run", os.path.join(d, "logprobs.hymir"), "--entry", "cispo", "--inputs", inp,
         "--outputs", lp_out, "--device", DEVICE])
    if read_tensor(lp_out, "logprobs") != logp:
        problems.append("token_logprobs differs from cispo_loss's logp_new")
    summary = " ".join("%s %.1e/%.1e" % (k, *errors.get(k, (float("nan"),) * 2)) for k in tols)
    return problems, summary


def run_bad_target(root, c):
    d = os.path.join(root, c["tag"])
    inp = os.path.join(d, "in.safetensors")
    bad = os.path.join(d, "bad.in.safetensors")
    shutil.copy(inp, bad)
    replace_tensor(bad, "targets", lambda spec, old: struct.pack("<i", c["v"]) + old[4:])
    r = subprocess.run([BIN + "/hymir-run", os.path.join(d, "full.hymir"), "--entry", "cispo",
                        "--inputs", bad, "--outputs", os.path.join(d, "bad.out.safetensors"),
                        "--device", DEVICE], capture_output=True, text=True)
    message = r.stdout + r.stderr
    want = ["hymir.cispo_loss", "targets", str(c["v"])]
    if r.returncode == 0 or not all(w in message for w in want):
        return ["a target of %d: expected a failure naming %s, got rc %d: %s"
                % (c["v"], want, r.returncode, message.strip())]
    return []


def bench(root):
    d = os.path.join(root, "bench")
    if not os.path.isdir(d):
        return
    arenas = {}
    if os.path.exists(os.path.join(d, "arena.json")):
        with open(os.path.join(d, "arena.json")) as f:
            arenas = json.load(f)
    for name, size in sorted(arenas.items()):
        if size is not None:
            print("arena cispo %-34s %.3f GiB above inputs and results" % (name, size / 2**30))
    for name in sorted(os.listdir(d)):
        if not name.endswith(".hymir"):
            continue
        r = subprocess.run([BIN + "/hymir-bench", os.path.join(d, name), "--entry", "cispo",
                            "--random-inputs", str(BENCH_T), "--set", "mask=1",
                            "--device", DEVICE, "--warmup", "2", "--iterations", "10"],
                           capture_output=True, text=True)
        lines = [l for l in (r.stdout + r.stderr).splitlines() if l.startswith("bench")]
        print("bench cispo %-22s T=%d N=%d V=%d: %s" % (
            name[:-6], BENCH_T, BENCH_N, BENCH_V,
            lines[0] if lines and r.returncode == 0 else "FAIL rc %d %s" % (r.returncode, (r.stdout + r.stderr)[-400:])))
    anchor = os.path.join(HERE, "cispo_bench.py")
    if not os.path.exists(anchor):
        anchor = os.path.join(HERE, "..", "..", "bench", "cispo_bench.py")
    if os.path.exists(anchor):
        r = subprocess.run([sys.executable, anchor], capture_output=True, text=True)
        print((r.stdout + r.stderr).rstrip())


def prepared(root):
    with open(os.path.join(root, "cases.json")) as f:
        cases = json.load(f)
    failed = 0
    for c in cases:
        try:
            problems, summary = run_case(root, c)
            if c["tag"] == "t1_v1003_n256_bf16_unified":
                problems += run_bad_target(root, c)
        except (RuntimeError, OSError, KeyError) as e:
            problems, summary = [str(e).strip()[-600:]], ""
        if problems:
            failed += 1
            print("FAIL cispo cuda %s: %s" % (c["tag"], "; ".join(problems)))
        else:
            print("PASS cispo cuda %-34s rel err (max abs) %s; logp_new = fwd = token_logprobs bitwise"
                  % (c["tag"], summary))
    print("cispo cuda matrix: %d of %d cases passed" % (len(cases) - failed, len(cases)))
    if "--no-bench" not in FLAGS:
        bench(root)
    return failed


def main():
    if "--prepare" in OPTS:
        prepare(OPTS["--prepare"])
        return 0
    if "--prepared" in OPTS:
        return 1 if prepared(OPTS["--prepared"]) else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
