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

import anchors

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


def liger(h, w, targets, logp_old, adv, mask):
    """Liger-Kernel's chunked fused linear GRPO loss with loss_type="cispo"
    (not compiled, no KL term, clip at 1 + EPS_HIGH as CISPO's upper bound)
    on the same tokens: one sequence of T, and 4 sequences of T / 4 (its chunk
    is one sequence). Skipped with a message when HYMIR_ANCHOR_SRC does not
    hold its source (bench/anchors.py)."""
    cls = anchors.load_liger_grpo()
    if cls is None:
        print("anchor liger cispo: skipped (no source)")
        return
    loss_fn = cls(beta=0.0, compiled=False, use_ref_model=False, chunk_size=1,
                  epsilon_low=EPS_LOW, epsilon_high=1 + EPS_HIGH, loss_type="cispo")
    for batch in (1, 4):
        seq = T // batch
        x = h.detach().view(batch, seq, N).clone().requires_grad_()
        lw = w.detach().clone().requires_grad_()
        ids = targets.view(batch, seq)
        am = mask.view(batch, seq)
        old = logp_old.view(batch, seq)
        a = adv.view(batch, seq)[:, 0].contiguous()

        def step():
            x.grad = None
            lw.grad = None
            out = loss_fn(x, lw, ids, am, a, old_per_token_logps=old)
            (out[0] if isinstance(out, tuple) else out).backward()
        try:
            ms, peak = timed_with_peak(step, (x, lw), iters=3, warmup=1)
        except Exception as e:  # noqa: BLE001 - report and go on
            print("anchor liger cispo B=%d: failed: %s" % (batch, e))
            continue
        print("anchor liger cispo (LigerFusedLinearGRPOLoss, chunked, not compiled) fwd+bwd B=%d x %d N=%d V=%d: "
              "median_ms=%.2f peak_above_inputs=%.2f GiB" % (batch, seq, N, V, ms, peak / 2**30))
        del x, lw
        torch.cuda.empty_cache()


def timed_with_peak(step, grads_of, **timing):
    """timed(step) after one untimed step, and the peak memory its runs
    allocate above what is live before them (the inputs; the gradients of
    `grads_of` are dropped first)."""
    step()
    for t in grads_of:
        t.grad = None
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    ms = timed(step, **timing)
    return ms, torch.cuda.max_memory_allocated() - base


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
        ms, peak = timed_with_peak(step, (h, w))
        print("anchor torch cispo %s head fwd+bwd T=%d N=%d V=%d: median_ms=%.2f peak_above_inputs=%.2f GiB"
              % ("fp32" if fp32 else "bf16", T, N, V, ms, peak / 2**30))
    liger(h, w, targets, logp_old, adv, mask)
    a = torch.randn(T, N, device=dev, dtype=torch.bfloat16)
    b = torch.randn(V, N, device=dev, dtype=torch.bfloat16)
    ms = timed(lambda: a @ b.t())
    print("anchor torch bf16 GEMM [T,N]x[N,V]: median_ms=%.2f (floor of three: %.2f ms)" % (ms, 3 * ms))


if __name__ == "__main__":
    main()
