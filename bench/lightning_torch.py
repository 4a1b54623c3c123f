"""PyTorch anchors for lightning attention, run on the GPU host beside
hymir-bench: the blocked algorithm of model-math.md §3 written with torch
ops (bf16 inputs, fp32 state and accumulation), and a device-to-device copy
for the bandwidth ceiling. Prints one line per measurement.
Usage: python3 lightning_torch.py
"""
import torch

def timed(fn, warmup=3, iters=10):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]

def blocked(q, k, v, s, block=256):
    # q, k, v: [B, T, H, D] bf16; s: [H] decay rates (lambda = exp(-s)).
    B, T, H, D = q.shape
    q, k, v = (x.transpose(1, 2).float() for x in (q, k, v))  # [B, H, T, D]
    state = torch.zeros(B, H, D, D, device=q.device)
    out = torch.empty_like(q)
    for t0 in range(0, T, block):
        m = min(block, T - t0)
        qb, kb, vb = q[:, :, t0:t0 + m], k[:, :, t0:t0 + m], v[:, :, t0:t0 + m]
        i = torch.arange(m, device=q.device, dtype=torch.float32)
        gap = i[:, None] - i[None, :]
        mask = torch.where(gap >= 0, torch.exp(-s[:, None, None] * gap), 0.0)
        intra = ((qb @ kb.transpose(-1, -2)) * mask) @ vb
        inter = (qb * torch.exp(-s[:, None] * (i + 1))[..., None]) @ state
        out[:, :, t0:t0 + m] = intra + inter
        state = state * torch.exp(-s * m)[:, None, None] + \
            (kb * torch.exp(-s[:, None] * (m - 1 - i))[..., None]).transpose(-1, -2) @ vb
    return out.transpose(1, 2).to(torch.bfloat16), state

def main():
    dev = "cuda"
    print("card", torch.cuda.get_device_name())
    big = torch.empty(1 << 30, dtype=torch.uint8, device=dev).random_()
    dst = torch.empty_like(big)
    ms = timed(lambda: dst.copy_(big))
    copy_gbs = 2 * big.numel() / ms / 1e6
    print(f"copy bytes={2 * big.numel()} median_ms={ms:.4f} GB/s={copy_gbs:.0f}")
    H, D = 64, 128
    s = (2.0 ** (-8.0 * (torch.arange(H, device=dev) + 1) / H)) * (1 + 1e-5)
    for B, T in ((1, 4096), (1, 16384), (1, 65536), (4, 16384)):
        q, k, v = (torch.randn(B, T, H, D, device=dev, dtype=torch.bfloat16) for _ in range(3))
        ms = timed(lambda: blocked(q, k, v, s), warmup=1, iters=3)
        minimal = 4 * B * T * H * D * 2
        print(f"torch-blocked prefill B={B} T={T} median_ms={ms:.3f} "
              f"GB/s={minimal / ms / 1e6:.0f} of_copy={minimal / ms / 1e6 / copy_gbs:.3f}")

if __name__ == "__main__":
    main()
