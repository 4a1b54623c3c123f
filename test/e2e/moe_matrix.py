#!/usr/bin/env python3
"""hymir.moe on the cpu target against the fp64 oracle, over the matrix of
issue 5: T in {1, 7, 64, 1000}, E in {4, 32}, top_k in {1, 2}, bf16 and f32
experts (the router in f32, as M1's is), random routing, and a router whose
rows are all equal: every logit of a token ties, so the lower-index rule
sends every token to experts 0..k-1 (skewed routing, exact ties, and experts
that receive no tokens at once).

The cpu lowering is dense (every expert on every token, weighted by the
routing weights, zero for unpicked experts), with f32 logits, softmax and
accumulation. Tolerances (relative L2 error): f32 1e-4; bf16 2e-2 (the
output is rounded to bf16, 2^-9 relative, the rest is f32 accumulation).
Routing itself must agree exactly with the oracle's: a flip would show as
an error of order one. Random router weights make a near-tie within f32
rounding of the logits unlikely (about 1e-4 per thousand tokens).

Usage: moe_matrix.py BIN_DIR
"""
import os
import sys
import tempfile

from e2e_util import replace_tensor, run

BIN = sys.argv[1]
WORK = tempfile.mkdtemp(prefix="hymir-moe-")
N, I = 32, 16


def graph(e, k, dt):
    x = "tensor<?x%dx%s>" % (N, dt)
    r = "tensor<%dx%dxf32>" % (e, N)
    w13 = "tensor<%dx%dx%dx%s>" % (e, I, N, dt)
    w2 = "tensor<%dx%dx%dx%s>" % (e, N, I, dt)
    return f"""func.func @moe(%x: {x} {{hymir.name = "x"}}, %router: {r} {{hymir.name = "router"}},
                %w1: {w13} {{hymir.name = "w1"}}, %w3: {w13} {{hymir.name = "w3"}},
                %w2: {w2} {{hymir.name = "w2"}}) -> ({x} {{hymir.name = "y"}}) {{
  %y = hymir.moe %x, %router, %w1, %w3, %w2 {{top_k = {k} : i64}}
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


def check(tag, e, k, dt, tokens, tied=False):
    path = os.path.join(WORK, tag + ".mlir")
    with open(path, "w") as f:
        f.write(graph(e, k, dt))
    art = os.path.join(WORK, tag + ".hymir")
    run([BIN + "/hymir-compile", path, "-o", art, "--target=cpu", "--max-tokens=1024"])
    tol = "2e-2" if dt == "bf16" else "1e-4"
    for t in tokens:
        inp = os.path.join(WORK, "%s.in_%d.safetensors" % (tag, t))
        run([BIN + "/hymir-reference", path, "--function", "moe", "--tokens", str(t),
             "--write-inputs", inp])
        if tied:
            tie_router(inp)
        out = run([BIN + "/hymir-run", art, "--entry", "moe", "--device", "cpu",
                   "--inputs", inp, "--outputs", os.path.join(WORK, "out.safetensors"),
                   "--check", "--tolerance", tol])
        errs = [l.split()[4] for l in out.splitlines() if l.startswith("check ")]
        print("ok %-24s T=%-5d %s" % (tag, t, " ".join(errs)))


def main():
    check("e4_top1_f32", 4, 1, "f32", [1, 7, 64, 1000])
    check("e32_top2_bf16", 32, 2, "bf16", [1, 7, 64, 1000])
    check("e32_top1_bf16", 32, 1, "bf16", [64])
    check("e4_top2_f32", 4, 2, "f32", [7])
    check("tied_e32_top2_f32", 32, 2, "f32", [64], tied=True)
    check("tied_e4_top1_bf16", 4, 1, "bf16", [7, 1000], tied=True)
    print("moe matrix (cpu): all passed")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        print("FAIL:", e)
        sys.exit(1)
