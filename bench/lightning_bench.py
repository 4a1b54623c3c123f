"""Lightning attention on the GPU host: hymir's compiled entries (through
hymir-bench, random inputs made on the host) beside, in the same call, a
device-to-device copy (the bandwidth ceiling) and PyTorch implementations of
the same work (the blocked algorithm for prefill, one recurrence step for
decode). Prints one row per shape with the achieved bandwidth over the
minimal bytes, its share of the copy bandwidth, and the ratio to PyTorch.

Minimal bytes: prefill reads q, k, v and writes o once (4 B T H D x 2 bytes);
decode reads and writes the f32 state once (2 B H D D x 4 bytes).

Usage: python3 lightning_bench.py BUNDLE_DIR [quick]
"""
import os
import sys

import torch

import anchors
from bench_util import copy_bandwidth, hymir, timed

BUNDLE = sys.argv[1]
QUICK = len(sys.argv) > 2 and sys.argv[2] == "quick"
H, D = 64, 128
# anchors.md (H100, flash-linear-attention and vLLM), for reading beside; FLA
# itself is timed in the same call when HYMIR_ANCHOR_SRC holds its source
# (bench/anchors.py): chunk_simple_gla with g_gamma = -slopes, scale = 1, in
# [B, T, H, D] layout, and fused_recurrent_simple_gla for one decode step.
FLA_PREFILL = {(1, 4096): 0.253, (1, 16384): 0.962, (1, 65536): 3.799, (4, 16384): 4.125}
FLA_DECODE = {1: 8.4e-3, 64: 192.4e-3, 256: 790.9e-3}
VLLM_DECODE = {1: 5.7e-3, 64: 212.3e-3, 256: 843.8e-3}


def slopes(dev):
    return (2.0 ** (-8.0 * (torch.arange(H, device=dev) + 1) / H)) * (1 + 1e-5)


def blocked(q, k, v, s, block=256):
    B, T, _, _ = q.shape
    q, k, v = (x.transpose(1, 2).float() for x in (q, k, v))
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


def decode_step(q, k, v, s, state):
    # q, k, v: [B, H, D] bf16; state [B, H, D, D] f32, updated in place.
    lam = torch.exp(-s)[None, :, None, None]
    state.mul_(lam).add_(k.float().unsqueeze(-1) * v.float().unsqueeze(-2))
    return torch.matmul(q.float().unsqueeze(-2), state).squeeze(-2).to(torch.bfloat16)


def check_fla(fla, s, dev):
    """FLA's prefill and decode step against the PyTorch forms above on a
    small shape, so its timed rows are known to compute the same thing."""
    q, k, v = (torch.randn(1, 512, H, D, device=dev, dtype=torch.bfloat16) * 0.3 for _ in range(3))
    ref, ref_state = blocked(q, k, v, s)
    out = fla[0](q, k, v, g_gamma=-s, scale=1.0)
    out = out[0] if isinstance(out, tuple) else out
    err = ((out.float() - ref.float()).norm() / ref.float().norm()).item()
    state = torch.randn(2, H, D, D, device=dev) * 0.1
    q1, k1, v1 = (torch.randn(2, H, D, device=dev, dtype=torch.bfloat16) for _ in range(3))
    want_state = state.clone()
    want = decode_step(q1, k1, v1, s, want_state)
    got, got_state = fla[1](q1.unsqueeze(1), k1.unsqueeze(1), v1.unsqueeze(1), g_gamma=-s, scale=1.0,
                            initial_state=state.clone(), output_final_state=True)
    derr = ((got[:, 0].float() - want.float()).norm() / want.float().norm()).item()
    serr = ((got_state - want_state).norm() / want_state.norm()).item()
    print(f"FLA check: prefill rel L2 vs torch blocked {err:.2e}; decode out {derr:.2e}, state {serr:.2e} "
          f"({'agrees' if max(err, derr, serr) < 2e-2 else 'DISAGREES: its rows time different work'})")


def main():
    dev = "cuda"
    print("card", torch.cuda.get_device_name())
    copy_gbs = copy_bandwidth(dev)
    print(f"copy GB/s={copy_gbs:.0f}")
    s = slopes(dev)
    fla = anchors.load_fla()
    if fla is not None:
        check_fla(fla, s, dev)
    print("| B, T | hymir ms | GB/s | of copy | torch blocked ms | hymir / torch speed | FLA ms (this call) "
          "| hymir / FLA speed | FLA H100 (anchors.md) ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    shapes = [(1, 4096), (1, 16384)] if QUICK else [(1, 4096), (1, 16384), (1, 65536), (4, 16384)]
    for B, T in shapes:
        art = "lightning_prefill.hymir" if B == 1 else "lightning_prefill_b%d.hymir" % B
        ms = hymir(BUNDLE, art, "prefill", T, 5 if T >= 65536 or B > 1 else 10)
        q, k, v = (torch.randn(B, T, H, D, device=dev, dtype=torch.bfloat16) for _ in range(3))
        tms = timed(lambda: blocked(q, k, v, s), warmup=1, iters=3)
        fms = None
        if fla is not None:
            fms = timed(lambda: fla[0](q, k, v, g_gamma=-s, scale=1.0), warmup=2, iters=10)
        del q, k, v
        torch.cuda.empty_cache()
        minimal = 4 * B * T * H * D * 2
        fcol = f"{fms:.3f}" if fms is not None else "-"
        if ms is None:
            print(f"| {B}, {T} | failed | | | {tms:.3f} | | {fcol} | | {FLA_PREFILL[(B, T)]} |")
            continue
        gbs = minimal / ms / 1e6
        ratio = f"{fms / ms:.2f}x" if fms is not None else "-"
        print(f"| {B}, {T} | {ms:.3f} | {gbs:.0f} | {gbs / copy_gbs:.3f} | {tms:.3f} | "
              f"{tms / ms:.2f}x | {fcol} | {ratio} | {FLA_PREFILL[(B, T)]} |")
    print()
    print("Variants at B = 1, T = 16384 (same call):")
    print("| variant | hymir ms | of copy |")
    print("|---|---|---|")
    minimal = 4 * 16384 * H * D * 2
    for art, what in (("lightning_prefill.hymir", "default (automatic value split)"),
                      ("lightning_prefill_split4.hymir", "tensor cores, 4 value chunks per head"),
                      ("lightning_prefill_simt.hymir", "f32 SIMT kernel")):
        if not os.path.exists(os.path.join(BUNDLE, "bench", art)):
            continue
        ms = hymir(BUNDLE, art, "prefill", 16384, 10)
        if ms is not None:
            print(f"| {what} | {ms:.3f} | {minimal / ms / 1e6 / copy_gbs:.3f} |")
    print()
    print("| B (decode, 1 token) | hymir us | GB/s (state) | of copy | torch step us | hymir / torch speed "
          "| FLA us (this call) | FLA H100 us | vLLM H100 us |")
    print("|---|---|---|---|---|---|---|---|---|")
    for B in (1, 64, 256):
        ms = hymir(BUNDLE, "lightning_decode_b%d.hymir" % B, "decode", 1, 50)
        q, k, v = (torch.randn(B, H, D, device=dev, dtype=torch.bfloat16) for _ in range(3))
        state = torch.randn(B, H, D, D, device=dev)
        tms = timed(lambda: decode_step(q, k, v, s, state), warmup=5, iters=50)
        fcol = "-"
        if fla is not None:
            q1, k1, v1 = (x.unsqueeze(1) for x in (q, k, v))
            fms = timed(lambda: fla[1](q1, k1, v1, g_gamma=-s, scale=1.0, initial_state=state,
                                       output_final_state=True), warmup=5, iters=50)
            fcol = f"{fms * 1e3:.1f}"
        minimal = 2 * B * H * D * D * 4
        if ms is None:
            print(f"| {B} | failed | | | {tms * 1e3:.1f} | | {fcol} | | |")
            continue
        gbs = minimal / ms / 1e6
        print(f"| {B} | {ms * 1e3:.1f} | {gbs:.0f} | {gbs / copy_gbs:.3f} | {tms * 1e3:.1f} | "
              f"{tms / ms:.2f}x | {fcol} | {FLA_DECODE[B] * 1e3:.1f} | {VLLM_DECODE[B] * 1e3:.1f} |")


if __name__ == "__main__":
    main()
