#!/usr/bin/env python3
"""hymir.moe against the fp64 oracle, over the matrix of issue 5: T in
{1, 7, 64, 1000}, E in {4, 32}, top_k in {1, 2}, bf16 and f32 experts (the
router in f32, as M1's is), random routing, and a router whose rows are all
equal: every logit of a token ties, so the lower-index rule sends every
token to experts 0..k-1 (skewed routing, exact ties, and experts that
receive no tokens at once).

hymir-compile splits each hymir.moe into hymir.moe_route (routing and the
grouped layout of the routed rows) and hymir.moe_experts (the experts on
those rows only), with f32 logits, softmax and accumulation. Most cases use
the target's default layout (cpu: no padding; cuda: groups padded to the
64-row tiles of its tensor-core kernels) at hidden 32 and intermediate 16; the
`_tile4` cases pad every expert's group to 4 rows (--moe-tile=4), so the
padding and group-offset paths run too, and the `_wide` and `_narrow` cases have
widths at which the GPU kernels unroll and the tensor-core kernels apply (on
cuda, calls above 64 tokens take them: T = 200, 1000).
Tolerances (relative L2 error): f32 1e-4; bf16 2e-2 (the output is rounded
to bf16, 2^-9 relative, the rest is f32 accumulation). Routing itself must
agree exactly with the oracle's: a flip would show as an error of order
one. Random router weights make a near-tie within f32 rounding of the
logits unlikely (about 1e-4 per thousand tokens).

On cuda the compiler is needed on one machine and the GPU on another:
`--prepare DIR --target cuda` compiles every graph and writes every input
into DIR on the build machine; `--prepared DIR --device cuda:0` runs and
checks them on the GPU host.

Usage: moe_matrix.py BIN_DIR
       moe_matrix.py BIN_DIR --prepare DIR --target cuda
       moe_matrix.py BIN_DIR --prepared DIR --device cuda:0 [--skip-missing 1]
"""
import os
import sys
import tempfile

from e2e_util import read_tensor, relative_error, replace_tensor, run

BIN = sys.argv[1]
OPTS = dict(zip(sys.argv[2::2], sys.argv[3::2]))
TARGET = OPTS.get("--target", "cpu")
DEVICE = OPTS.get("--device", "cpu")
PREPARE = "--prepare" in OPTS      # compile and write inputs only
RUN_ONLY = "--prepared" in OPTS    # run what --prepare wrote
# With --prepared: skip the token counts whose inputs were left out of DIR
# (scripts/moe-gpu-prepare drops the largest to keep its folder small).
SKIP_MISSING = OPTS.get("--skip-missing") == "1"
WORK = OPTS.get("--prepare") or OPTS.get("--prepared") or tempfile.mkdtemp(prefix="hymir-moe-")
os.makedirs(WORK, exist_ok=True)
N, I = 32, 16


def signature(e, dt, n=N, i=I):
    x = "tensor<?x%dx%s>" % (n, dt)
    r = "tensor<%dx%dxf32>" % (e, n)
    w13 = "tensor<%dx%dx%dx%s>" % (e, i, n, dt)
    w2 = "tensor<%dx%dx%dx%s>" % (e, n, i, dt)
    head = f"""func.func @moe(%x: {x} {{hymir.name = "x"}}, %router: {r} {{hymir.name = "router"}},
                %w1: {w13} {{hymir.name = "w1"}}, %w3: {w13} {{hymir.name = "w3"}},
                %w2: {w2} {{hymir.name = "w2"}}) -> ({x} {{hymir.name = "y"}}) {{"""
    return x, r, w13, w2, head


def routed_tail(x, w13, w2, k, weights):
    return f"""  %y = hymir.routed_experts %x, %idx, {weights}, %w1, %w3, %w2
      : ({x}, tensor<?x{k}xi32>, tensor<?x{k}xf32>, {w13}, {w13}, {w2}) -> {x}
  return %y : {x}
}}
"""


def logits_of(x, r, e, dt):
    ext = "%xf = arith.extf %x : {0} to {1}".format(x, x.replace(dt, "f32")) if dt != "f32" else ""
    src = "%xf" if dt != "f32" else "%x"
    return f"""  {ext}
  %logits = hymir.linear {src}, %router {{precision = "f32"}} : ({x.replace(dt, "f32")}, {r}) -> tensor<?x{e}xf32>
"""


def decomposed_graph(e, k, dt, renormalize):
    """The routing of hymir.moe written out: linalg.softmax, hymir.top_k,
    [linalg.reduce + linalg.broadcast + arith.divf,] hymir.routed_experts;
    hymir-fuse-moe-routing fuses it back into hymir.moe_route."""
    x, r, w13, w2, head = signature(e, dt)
    body = head + "\n" + logits_of(x, r, e, dt) + f"""  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %t = tensor.dim %x, %c0 : {x}
  %e0 = tensor.empty(%t) : tensor<?x{e}xf32>
  %p = linalg.softmax dimension(1) ins(%logits : tensor<?x{e}xf32>) outs(%e0 : tensor<?x{e}xf32>) -> tensor<?x{e}xf32>
  %v, %idx = hymir.top_k %p {{k = {k} : i64}} : (tensor<?x{e}xf32>) -> (tensor<?x{k}xf32>, tensor<?x{k}xi32>)
"""
    if renormalize:
        body += f"""  %e1 = tensor.empty(%t) : tensor<?xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?xf32>) -> tensor<?xf32>
  %s = linalg.reduce ins(%v : tensor<?x{k}xf32>) outs(%z : tensor<?xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {{
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }}
  %e2 = tensor.empty(%t) : tensor<?x{k}xf32>
  %b = linalg.broadcast ins(%s : tensor<?xf32>) outs(%e2 : tensor<?x{k}xf32>) dimensions = [1]
  %w = arith.divf %v, %b : tensor<?x{k}xf32>
"""
    return body + routed_tail(x, w13, w2, k, "%w" if renormalize else "%v")


def unfused_graph(e, k, dt):
    """Top-k of the raw logits, the logits themselves as weights: routing
    hymir-fuse-moe-routing must not fuse (no softmax); hymir.moe_layout lays
    the picks out."""
    x, r, w13, w2, head = signature(e, dt)
    return head + "\n" + logits_of(x, r, e, dt) + f"""  %v, %idx = hymir.top_k %logits {{k = {k} : i64}} : (tensor<?x{e}xf32>) -> (tensor<?x{k}xf32>, tensor<?x{k}xi32>)
""" + routed_tail(x, w13, w2, k, "%v")


def picks_graph(e, k, dt):
    """hymir.routed_experts on picks and weights given as inputs: the
    reference draws picks in [-1, E], so picks outside [0, E) (which add
    nothing) occur too."""
    x, r, w13, w2, _ = signature(e, dt)
    return f"""func.func @moe(%x: {x} {{hymir.name = "x"}}, %idx: tensor<?x{k}xi32> {{hymir.name = "idx"}},
                %gates: tensor<?x{k}xf32> {{hymir.name = "gates"}},
                %w1: {w13} {{hymir.name = "w1"}}, %w3: {w13} {{hymir.name = "w3"}},
                %w2: {w2} {{hymir.name = "w2"}}) -> ({x} {{hymir.name = "y"}}) {{
""" + routed_tail(x, w13, w2, k, "%gates")


def graph(e, k, dt, n=N, i=I, renormalize=True):
    x = "tensor<?x%dx%s>" % (n, dt)
    r = "tensor<%dx%dxf32>" % (e, n)
    w13 = "tensor<%dx%dx%dx%s>" % (e, i, n, dt)
    w2 = "tensor<%dx%dx%dx%s>" % (e, n, i, dt)
    return f"""func.func @moe(%x: {x} {{hymir.name = "x"}}, %router: {r} {{hymir.name = "router"}},
                %w1: {w13} {{hymir.name = "w1"}}, %w3: {w13} {{hymir.name = "w3"}},
                %w2: {w2} {{hymir.name = "w2"}}) -> ({x} {{hymir.name = "y"}}) {{
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {{top_k = {k} : i64, renormalize = {str(renormalize).lower()}}}
      : ({x}, {r}, {w13}, {w13}, {w2}) -> {x}
  return %y : {x}
}}
"""


def tie_router(path):
    """Makes every row of the f32 "router" input equal to its first row."""
    def tie(spec, old):
        assert spec["dtype"] == "F32"
        rows, width = spec["shape"]
        return old[:4 * width] * rows
    replace_tensor(path, "router", tie)


def check(tag, e, k, dt, tokens, tied=False, tile=None, width=(N, I), text=None):
    """Compiles `text` (default: the hymir.moe graph) and checks every token
    count against the oracle with hymir-run --check."""
    path = os.path.join(WORK, tag + ".mlir")
    art = os.path.join(WORK, tag + ".hymir")
    if not RUN_ONLY:
        with open(path, "w") as f:
            f.write(text or graph(e, k, dt, *width))
        tile_flag = [] if tile is None else ["--moe-tile=%d" % tile]
        run([BIN + "/hymir-compile", path, "-o", art, "--target=" + TARGET,
             "--max-tokens=1024"] + tile_flag)
    tol = "2e-2" if dt == "bf16" else "1e-4"
    for t in tokens:
        inp = os.path.join(WORK, "%s.in_%d.safetensors" % (tag, t))
        if not RUN_ONLY:
            run([BIN + "/hymir-reference", path, "--function", "moe", "--tokens", str(t),
                 "--write-inputs", inp])
            if tied:
                tie_router(inp)
        if PREPARE:
            continue
        if SKIP_MISSING and not os.path.exists(inp):
            print("skip %-22s T=%-5d (inputs not prepared)" % (tag, t))
            continue
        out = run([BIN + "/hymir-run", art, "--entry", "moe", "--device", DEVICE,
                   "--inputs", inp, "--outputs", os.path.join(WORK, "out.safetensors"),
                   "--check", "--tolerance", tol])
        errs = [l.split()[4] for l in out.splitlines() if l.startswith("check ")]
        print("ok %-24s T=%-5d %s" % (tag, t, " ".join(errs)))


def check_decomposed(tag, e, k, dt, tokens, renormalize):
    """The decomposed routing graph against the oracle's hymir.moe on the
    same inputs (the oracle evaluator does not read linalg ops)."""
    path = os.path.join(WORK, tag + ".mlir")
    ref_path = os.path.join(WORK, tag + ".moe.mlir")
    art = os.path.join(WORK, tag + ".hymir")
    if not RUN_ONLY:
        with open(path, "w") as f:
            f.write(decomposed_graph(e, k, dt, renormalize))
        with open(ref_path, "w") as f:
            f.write(graph(e, k, dt, renormalize=renormalize))
        run([BIN + "/hymir-compile", path, "-o", art, "--target=" + TARGET,
             "--max-tokens=1024"])
    tol = 2e-2 if dt == "bf16" else 1e-4
    for t in tokens:
        inp = os.path.join(WORK, "%s.in_%d.safetensors" % (tag, t))
        want = os.path.join(WORK, "%s.want_%d.safetensors" % (tag, t))
        if not RUN_ONLY:
            run([BIN + "/hymir-reference", ref_path, "--function", "moe", "--tokens", str(t),
                 "--write-inputs", inp, "--outputs", want])
        if PREPARE:
            continue
        got = os.path.join(WORK, "out.safetensors")
        run([BIN + "/hymir-run", art, "--entry", "moe", "--device", DEVICE,
             "--inputs", inp, "--outputs", got])
        err = relative_error(read_tensor(got, "y"), read_tensor(want, "y"))
        if not err <= tol:
            raise RuntimeError("%s T=%d: relative error %.3e > %g" % (tag, t, err, tol))
        print("ok %-24s T=%-5d %.3e (against the oracle's hymir.moe)" % (tag, t, err))


def main():
    check("e4_top1_f32", 4, 1, "f32", [1, 7, 64, 1000])
    check("e32_top2_bf16", 32, 2, "bf16", [1, 7, 64, 1000])
    check("e32_top1_bf16", 32, 1, "bf16", [64])
    check("e4_top2_f32", 4, 2, "f32", [7])
    # More than 32 experts: the GPU decode kernels rank experts 32 at a time.
    check("e40_top2_f32", 40, 2, "f32", [7, 64])
    check("tied_e32_top2_f32", 32, 2, "f32", [64], tied=True)
    check("tied_e4_top1_bf16", 4, 1, "bf16", [7, 1000], tied=True)
    check("e32_top2_f32_tile4", 32, 2, "f32", [1, 7, 64], tile=4)
    check("tied_e4_top2_bf16_tile4", 4, 2, "bf16", [7, 1000], tied=True, tile=4)
    # Widths at which the GPU kernels unroll their loads and the tensor-core
    # kernels apply (hidden 1024, intermediate 256: on sm_90a the wgmma
    # kernels from 65 tokens, 4 and 16 K steps, several row-tile groups at
    # T = 1000), and narrow ones (256, 128: 4 and 2 K steps, fewer than the
    # wgmma pipeline's stages).
    check("e4_top2_bf16_wide", 4, 2, "bf16", [1, 64, 200, 1000], width=(1024, 256))
    check("e4_top2_bf16_narrow", 4, 2, "bf16", [200], width=(256, 128))
    # Widths that are multiples of 64 but not of 128 (hidden 192,
    # intermediate 64): on sm_90a too the per-op tile is 64, so calls above
    # 64 tokens reach the mma.sync kernels rather than the warp kernels.
    check("e4_top2_bf16_mid", 4, 2, "bf16", [7, 200], width=(192, 64))
    # Routing written step by step (fused by the compiler), and routing it
    # must not fuse (top-k of raw logits).
    check_decomposed("decomposed_e32_top2_bf16", 32, 2, "bf16", [1, 64, 200], True)
    check_decomposed("decomposed_e4_top2_f32_raw", 4, 2, "f32", [7], False)
    check("unfused_e8_top2_bf16", 8, 2, "bf16", [1, 100], text=unfused_graph(8, 2, "bf16"))
    check("picks_e4_top2_f32", 4, 2, "f32", [7, 64], text=picks_graph(4, 2, "f32"))
    # A static token count: the layout of a static bf16 call above 16
    # tokens holds a cast to a dynamic size, which the plan could not place
    # before hymir_plan (200 tokens reach the tensor-core kernels on cuda,
    # 7 the warp kernels).
    check("static200_e8_top2_bf16", 8, 2, "bf16", [200],
          text=graph(8, 2, "bf16").replace("tensor<?x", "tensor<200x"))
    check("static7_e4_top2_f32", 4, 2, "f32", [7],
          text=graph(4, 2, "f32").replace("tensor<?x", "tensor<7x"))
    if PREPARE:
        print("moe matrix: prepared in", WORK)
    else:
        print("moe matrix (%s): all passed" % DEVICE)


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        print("FAIL:", e)
        sys.exit(1)
