"""Helpers shared by the GPU-host benchmark scripts: the median time of a
PyTorch callable (CUDA events, after warm-up) and of a compiled hymir entry
(hymir-bench from the bundle, random inputs made on the host)."""
import os
import re
import subprocess

import torch


def timed(fn, warmup=3, iters=10):
    """Median milliseconds of fn() over `iters` runs after `warmup`."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def copy_bandwidth(dev):
    """GB/s of a 1 GiB device-to-device copy (read + written bytes): the
    bandwidth ceiling the benchmarks compare with, measured in their call."""
    big = torch.empty(1 << 30, dtype=torch.uint8, device=dev).random_()
    dst = torch.empty_like(big)
    gbs = 2 * big.numel() / timed(lambda: dst.copy_(big)) / 1e6
    del big, dst
    return gbs


def hymir(bundle, artifact, entry, tokens, iters, warmup=3, extra=()):
    """hymir-bench's median milliseconds for bench/`artifact`, or None (with
    what it printed) when it fails. `extra`: more hymir-bench arguments
    (--set NAME=VALUE)."""
    cmd = [os.path.join(bundle, "bin", "hymir-bench"), os.path.join(bundle, "bench", artifact),
           "--entry", entry, "--device", "cuda:0", "--random-inputs", str(tokens),
           "--warmup", str(warmup), "--iterations", str(iters)] + list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"^bench .* median_ms=([0-9.eE+-]+)", r.stdout, re.M)
    if r.returncode != 0 or not m:
        print("hymir-bench failed:", " ".join(cmd), r.stdout[-2000:], r.stderr[-2000:])
        return None
    return float(m.group(1))
