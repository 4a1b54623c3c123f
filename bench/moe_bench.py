"""The MoE block at MiniMax-M1 size on the GPU host (issue 5's table):
hymir's compiled hymir.moe (routing and experts, through hymir-bench with
random inputs made on the host) beside, in the same call, PyTorch's expert
GEMMs on the same shapes with uniform random top-2 routing: a per-expert
torch.matmul loop, torch._grouped_mm, and a dense GEMM over the same total
rows (the ceiling), plus a device-to-device copy (the bandwidth ceiling).

Rows: TFLOP/s over the routed FLOPs (2 T k (3 N I)); for T <= 256 also the
bandwidth over the bytes of the selected experts' weights (3 N I x 2 bytes
each; the count of distinct experts the anchors' routing selects) against
the copy bandwidth. The anchors time only the expert GEMMs (the tokens are
already sorted); hymir's time includes its routing. "mma ms" is hymir
compiled with --moe-wgmma=false (mma.sync kernels on 64-row tiles above 64
tokens), when the bundle has it.

Usage: python3 moe_bench.py BUNDLE_DIR [T ...]
"""
import os
import sys

import torch

from bench_util import hymir, timed

BUNDLE = sys.argv[1]
TOKENS = [int(t) for t in sys.argv[2:]] or [1, 16, 256, 4096, 16384]
E, K, N, I = 32, 2, 6144, 9216
DEV = "cuda"


def main():
    print("card", torch.cuda.get_device_name(0))
    buf = torch.empty(2 << 30, dtype=torch.uint8, device=DEV)
    out = torch.empty_like(buf)
    copy_ms = timed(lambda: out.copy_(buf), warmup=2)
    copy_gbs = 2 * buf.numel() / copy_ms / 1e6
    print("copy %.0f GB/s (2 GiB read + written)" % copy_gbs)
    del buf, out
    w13 = torch.randn(E, 2 * I, N, device=DEV, dtype=torch.bfloat16) * 0.02
    w2 = torch.randn(E, N, I, device=DEV, dtype=torch.bfloat16) * 0.02
    mma = os.path.exists(os.path.join(BUNDLE, "bench", "moe_m1_mma.hymir"))
    print("%6s %12s %12s %12s %12s %9s %9s %9s %10s" % (
        "T", "hymir ms", "loop ms", "grouped ms", "dense ms", "TFLOP/s", "vs best", "vs dense",
        "mma ms"))
    for t in TOKENS:
        torch.manual_seed(t)
        x = torch.randn(t, N, device=DEV, dtype=torch.bfloat16)
        idx = torch.stack([torch.randperm(E, device=DEV)[:K] for _ in range(t)])  # uniform top-2
        flat = idx.flatten()
        order = torch.argsort(flat, stable=True)
        rows = x.repeat_interleave(K, dim=0)[order]
        counts = torch.bincount(flat, minlength=E)
        offs = torch.cumsum(counts, 0).to(torch.int32)
        ends = offs.tolist()
        starts = [0] + ends[:-1]

        def loop():
            for e in range(E):
                a, b = starts[e], ends[e]
                if b > a:
                    h = rows[a:b] @ w13[e].t()
                    g, u = h[:, :I], h[:, I:]
                    (torch.nn.functional.silu(g) * u) @ w2[e].t()

        def grouped():
            h = torch._grouped_mm(rows, w13.transpose(1, 2), offs=offs)
            g, u = h[:, :I], h[:, I:]
            torch._grouped_mm(torch.nn.functional.silu(g) * u, w2.transpose(1, 2), offs=offs)

        wd13, wd2 = w13[0], w2[0]

        def dense():
            h = rows @ wd13.t()
            (torch.nn.functional.silu(h[:, :I]) * h[:, I:]) @ wd2.t()

        iters = 10 if t <= 4096 else 5
        loop_ms = timed(loop, warmup=2, iters=iters)
        grouped_ms = timed(grouped, warmup=2, iters=iters)
        dense_ms = timed(dense, warmup=2, iters=iters) if t >= 4096 else float("nan")
        h_ms = hymir(BUNDLE, "moe_m1.hymir", "moe", t, 3 if t >= 4096 else 5, warmup=1)
        mma_ms = (hymir(BUNDLE, "moe_m1_mma.hymir", "moe", t, 3 if t >= 4096 else 5, warmup=1)
                  if mma and t > 64 else None)
        for slots in (2, 32):
            name = "moe_m1_slots%d.hymir" % slots
            if t <= 64 and os.path.exists(os.path.join(BUNDLE, "bench", name)):
                print("  T=%d --moe-decode-slots=%d: %.3f ms" % (
                    t, slots, hymir(BUNDLE, name, "moe", t, 5, warmup=1) or float("nan")))
        for group in (4, 16, 32):
            name = "moe_m1_group%d.hymir" % group
            if t >= 4096 and os.path.exists(os.path.join(BUNDLE, "bench", name)):
                print("  T=%d --moe-wgmma-group=%d: %.3f ms" % (
                    t, group, hymir(BUNDLE, name, "moe", t, 3, warmup=1) or float("nan")))
        flops = 2.0 * t * K * 3 * N * I
        best = min(loop_ms, grouped_ms)
        line = "%6d %12s %12.3f %12.3f %12.3f %9s %9s %9s" % (
            t, "%.3f" % h_ms if h_ms else "failed", loop_ms, grouped_ms, dense_ms,
            "%.1f" % (flops / h_ms / 1e9) if h_ms else "-",
            "%.3f" % (best / h_ms) if h_ms else "-",
            "%.3f" % (dense_ms / h_ms) if h_ms and t >= 4096 else "-")
        line += " %10s" % ("%.3f" % mma_ms if mma_ms else "-")
        if t <= 256:
            selected = int((counts > 0).sum())
            nbytes = selected * 3 * N * I * 2
            line += "  | %d experts, %.2f GB: hymir %s GB/s (%s of copy), grouped %.0f GB/s" % (
                selected, nbytes / 1e9,
                "%.0f" % (nbytes / h_ms / 1e6) if h_ms else "-",
                "%.1f%%" % (100 * nbytes / h_ms / 1e6 / copy_gbs) if h_ms else "-",
                nbytes / grouped_ms / 1e6)
        print(line, flush=True)


if __name__ == "__main__":
    main()
