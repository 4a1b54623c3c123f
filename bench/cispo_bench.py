#!/usr/bin/env python3
"""PyTorch anchors of the CISPO loss over MiniMax-M1's LM head (T = 4096,
N = 6144, V = 200064, bf16 hidden states and head), forward and backward
(d_hidden and d_lm_head), for issue 14's table: the bf16 head (logits in
bf16, log-softmax in fp32), the fp32 head (operands cast to fp32, logits and
log-softmax in fp32, no TF32), and the floor of three bf16 GEMMs of the same
size. Prints one line each: median ms of 5 after 2 warm-up runs, and peak
memory above the inputs. Run by test/e2e/cispo_gpu.py --prepared on the GPU
host (or alone: python3 cispo_bench.py [T N V]).
"""
import sys

import torch

T, N, V = (int(x) for x in sys.argv[1:4]) if len(sys.argv) >= 4 else (4096, 6144, 200064)
EPS_LOW, EPS_HIGH = 0.2, 0.28


def cispo(h, w, targets, logp_old, adv, mask, fp32):
    if fp32:
        logits = h.float() @ w.float().t()
    else:
        logits = (h @ w.t()).float()
    logp = torch.log_softmax(logits, dim=-1).gather(1, targets[:, None])[:, 0]
    r = torch.exp(logp.detach() - logp_old).clamp(1 - EPS_LOW, 1 + EPS_HIGH)
    return -(r * adv * mask * logp).sum() / mask.sum()


def timed(fn, iters=5, warmup=2):
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
    return sorted(times)[len(times) // 2]


def main():
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = "cuda"
    g = torch.Generator(device=dev).manual_seed(0)
    h = (torch.randn(T, N, device=dev, generator=g) * 0.5).to(torch.bfloat16).requires_grad_()
    w = (torch.randn(V, N, device=dev, generator=g) * 0.02).to(torch.bfloat16).requires_grad_()
    targets = torch.randint(0, V, (T,), device=dev, generator=g)
    logp_old = torch.randn(T, device=dev, generator=g) - 10
    adv = torch.randn(T, device=dev, generator=g)
    mask = torch.ones(T, device=dev)
    for fp32 in (False, True):
        def step():
            h.grad = None
            w.grad = None
            cispo(h, w, targets, logp_old, adv, mask, fp32).backward()
        step()
        h.grad = None
        w.grad = None
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        ms = timed(step)
        peak = torch.cuda.max_memory_allocated() - base
        print("anchor torch cispo %s head fwd+bwd T=%d N=%d V=%d: median_ms=%.2f peak_above_inputs=%.2f GiB"
              % ("fp32" if fp32 else "bf16", T, N, V, ms, peak / 2**30))
    a = torch.randn(T, N, device=dev, dtype=torch.bfloat16)
    b = torch.randn(V, N, device=dev, dtype=torch.bfloat16)
    ms = timed(lambda: a @ b.t())
    print("anchor torch bf16 GEMM [T,N]x[N,V]: median_ms=%.2f (floor of three: %.2f ms)" % (ms, 3 * ms))


if __name__ == "__main__":
    main()
