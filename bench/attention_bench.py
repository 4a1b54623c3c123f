"""Softmax attention on the GPU host: hymir's compiled entries (hymir-bench,
random inputs made on the host) beside, in the same call, a device-to-device
copy (the bandwidth ceiling) and PyTorch's scaled_dot_product_attention with
each backend that accepts the shape (flash, cuDNN, efficient).

Prefill (causal, B = 1, 64 query heads sharing 8 KV heads, D = 128, bf16):
TFLOP/s counted as 2 T^2 D Hq (the causal half of 4 T^2 D Hq). Decode (one
query token that sees every cached key): GB/s over the bytes of K and V
(2 B S Hkv D x 2 bytes), against the copy bandwidth of the same call.

Partial RoPE (rotary 64 of 128, hymir.rope on q and k, its own kernels):
its time beside the attention's of the same shape, to decide whether it
must be fused (issue 12 asks for fusion unless it costs under 3%).

Usage: python3 attention_bench.py BUNDLE_DIR [quick]
"""
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from bench_util import copy_bandwidth, hymir, timed

BUNDLE = sys.argv[1]
QUICK = len(sys.argv) > 2 and sys.argv[2] == "quick"
HQ, HKV, D = 64, 8, 128
BACKENDS = [("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
            ("efficient", SDPBackend.EFFICIENT_ATTENTION)]


def sdpa_times(q, k, v, causal, warmup, iters):
    """{backend: median ms} for the backends that run this shape."""
    out = {}
    for name, backend in BACKENDS:
        try:
            with sdpa_kernel(backend):
                fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal,
                                                            enable_gqa=True)
                fn()
                out[name] = timed(fn, warmup=warmup, iters=iters)
        except RuntimeError as e:
            out[name] = None
    return out


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def main():
    dev = "cuda"
    print("card", torch.cuda.get_device_name())
    copy_gbs = copy_bandwidth(dev)
    print(f"copy GB/s={copy_gbs:.0f}")
    print()
    # Variants of the same graph, timed when the bundle has them: the
    # pipeline kernel with the ping-pong orders (--attention-schedule 1 and
    # 2; the default is the serial order) and the warp kernels
    # (--attention-pipeline=false).
    variants = [(name, f) for name, f in (("ping-pong", "attention_prefill_s1.hymir"),
                                          ("ping-pong, S ahead", "attention_prefill_s2.hymir"),
                                          ("warp kernels", "attention_prefill_warp.hymir"))
                if os.path.exists(os.path.join(BUNDLE, "bench", f))]
    print("| prefill T | hymir ms | hymir TFLOP/s | " + "".join(f"{n} ms | " for n, _ in variants) +
          "SDPA flash ms | SDPA cuDNN ms | best SDPA TFLOP/s | hymir / best SDPA speed |")
    print("|---|---|---|" + "---|" * len(variants) + "---|---|---|---|")
    for t in ([4096] if QUICK else [4096, 16384, 65536]):
        flop = 2.0 * t * t * D * HQ
        q = torch.randn(1, HQ, t, D, device=dev, dtype=torch.bfloat16)
        k, v = (torch.randn(1, HKV, t, D, device=dev, dtype=torch.bfloat16) for _ in range(2))
        st = sdpa_times(q, k, v, True, 3, 10)
        del q, k, v
        torch.cuda.empty_cache()
        # One warm-up run at least: a cold first run (clocks, lazy loading)
        # measured 7.7 ms at 16K where the warm kernel takes 6.85 ms.
        iters = 2 if t >= 65536 else 5
        ms = hymir(BUNDLE, "attention_prefill.hymir", "prefill", t, iters, warmup=1)
        other = [hymir(BUNDLE, f, "prefill", t, iters, warmup=1) for _, f in variants]
        best = min([x for x in st.values() if x is not None], default=None)
        print(f"| {t} | {fmt(ms, '.3f')} | {fmt(ms and flop / ms / 1e9, '.1f')} | "
              + "".join(f"{fmt(x, '.3f')} | " for x in other) +
              f"{fmt(st['flash'], '.3f')} | {fmt(st['cudnn'], '.3f')} | "
              f"{fmt(best and flop / best / 1e9, '.0f')} | {fmt(ms and best and best / ms, '.3f')}x |")
    # RoPE inside a call: the same attention with hymir.rope on q and k first
    # (bench/attention_rope_*.mlir), against the attention alone, both timed
    # here; the standalone RoPE entries (bench/rope_*.mlir) add the call's
    # own fixed cost and are printed for reference.
    print()
    fused_file = "attention_rope_prefill_fused.hymir"
    has_fused = os.path.exists(os.path.join(BUNDLE, "bench", fused_file))
    print("| RoPE on q and k | attention alone us | attention with RoPE us | RoPE share | RoPE alone (own call) us |"
          + (" q RoPE fused us | fused share |" if has_fused else ""))
    print("|---|---|---|---|---|" + ("---|---|" if has_fused else ""))
    rope_cases = [("prefill T 4096", "attention_prefill.hymir", "attention_rope_prefill.hymir",
                   "prefill", "rope_prefill.hymir", 4096),
                  ("prefill T 16384", "attention_prefill.hymir", "attention_rope_prefill.hymir",
                   "prefill", "rope_prefill.hymir", 16384),
                  ("decode B 1, S 8192", "attention_decode_b1_s8192.hymir",
                   "attention_rope_decode_b1_s8192.hymir", "decode", "rope_decode_b1.hymir", 1),
                  ("decode B 64, S 8192", "attention_decode_b64_s8192.hymir",
                   "attention_rope_decode_b64_s8192.hymir", "decode", "rope_decode_b64.hymir", 1)]
    for what, plain, fused, entry, alone, tokens in rope_cases:
        if QUICK and tokens > 4096:
            continue
        iters = 5 if tokens >= 16384 else 30
        a = hymir(BUNDLE, plain, entry, tokens, iters, warmup=2)
        w = hymir(BUNDLE, fused, entry, tokens, iters, warmup=2)
        r = hymir(BUNDLE, alone, "rope", tokens, 30, warmup=5)
        share = a and w and (w - a) / a
        extra = ""
        # The same graph compiled with --attention-fuse-rope (q's RoPE in
        # the attention kernel), when the bundle has it.
        this_fused = fused.replace(".hymir", "_fused.hymir")
        if has_fused and os.path.exists(os.path.join(BUNDLE, "bench", this_fused)):
            f = hymir(BUNDLE, this_fused, entry, tokens, iters, warmup=2)
            fshare = a and f and (f - a) / a
            extra = (f" {fmt(f and f * 1e3, '.1f')} | "
                     f"{fmt(fshare * 100 if fshare is not None else None, '.2f')}% |")
        print(f"| {what} | {fmt(a and a * 1e3, '.1f')} | {fmt(w and w * 1e3, '.1f')} | "
              f"{fmt(share is not None and share * 100 if share is not None else None, '.2f')}% | "
              f"{fmt(r and r * 1e3, '.1f')} |" + extra)
    print()
    # RoPE as the model's prefill pays it: the layer through KV caches
    # (bench/attention_layer_prefill*.mlir) without RoPE, with the RoPE
    # kernels, and with --attention-fuse-rope (k's RoPE in the cache write,
    # q's in the attention kernel).
    layer = [("no RoPE", "attention_layer_prefill_norope.hymir"),
             ("RoPE kernels", "attention_layer_prefill.hymir"),
             ("fused", "attention_layer_prefill_fused.hymir")]
    if all(os.path.exists(os.path.join(BUNDLE, "bench", f)) for _, f in layer):
        print("| layer prefill T | no RoPE us | RoPE kernels us | share | fused us | fused share |")
        print("|---|---|---|---|---|---|")
        for t in ([4096] if QUICK else [4096, 16384]):
            ts = [hymir(BUNDLE, f, "prefill", t, 5, warmup=2, extra=["--set", f"lengths={t}"])
                  for _, f in layer]
            base = ts[0]
            share = [base and x and (x - base) / base * 100 for x in ts[1:]]
            print(f"| {t} | {fmt(base and base * 1e3, '.1f')} | {fmt(ts[1] and ts[1] * 1e3, '.1f')} | "
                  f"{fmt(share[0], '.2f')}% | {fmt(ts[2] and ts[2] * 1e3, '.1f')} | "
                  f"{fmt(share[1], '.2f')}% |")
        print()
    # Key-split counts other than the automatic one (hymir-compile
    # --attention-splits N, files attention_decode_bB_sS_spN.hymir), timed
    # beside the default when the bundle has them.
    split_counts = sorted({int(f.split("_sp")[1].split(".")[0])
                           for f in os.listdir(os.path.join(BUNDLE, "bench"))
                           if f.startswith("attention_decode_") and "_sp" in f})
    print("| decode B, S | hymir us | hymir GB/s | of copy | " +
          "".join(f"splits {n} us | " for n in split_counts) +
          "SDPA flash us | SDPA cuDNN us | SDPA efficient us | hymir / best SDPA speed |")
    print("|---|---|---|---|" + "---|" * len(split_counts) + "---|---|---|---|")
    for b in (1, 16, 64):
        for s in (8192, 65536):
            if QUICK and (b, s) != (1, 65536):
                continue
            kv_bytes = 2.0 * b * s * HKV * D * 2
            q = torch.randn(b, HQ, 1, D, device=dev, dtype=torch.bfloat16)
            k, v = (torch.randn(b, HKV, s, D, device=dev, dtype=torch.bfloat16) for _ in range(2))
            # One query against every key: not causal in SDPA's top-left
            # alignment (hymir aligns causal queries to the end).
            st = sdpa_times(q, k, v, False, 5, 30)
            del q, k, v
            torch.cuda.empty_cache()
            ms = hymir(BUNDLE, "attention_decode_b%d_s%d.hymir" % (b, s), "decode", 1, 30, warmup=5)
            alt = []
            for n in split_counts:
                f = "attention_decode_b%d_s%d_sp%d.hymir" % (b, s, n)
                have = os.path.exists(os.path.join(BUNDLE, "bench", f))
                alt.append(hymir(BUNDLE, f, "decode", 1, 30, warmup=5) if have else None)
            best = min([x for x in st.values() if x is not None], default=None)
            gbs = ms and kv_bytes / ms / 1e6
            print(f"| {b}, {s} | {fmt(ms and ms * 1e3, '.1f')} | {fmt(gbs, '.0f')} | "
                  f"{fmt(gbs and gbs / copy_gbs, '.3f')} | " +
                  "".join(f"{fmt(x and x * 1e3, '.1f')} | " for x in alt) +
                  f"{fmt(st['flash'] and st['flash'] * 1e3, '.1f')} | "
                  f"{fmt(st['cudnn'] and st['cudnn'] * 1e3, '.1f')} | "
                  f"{fmt(st['efficient'] and st['efficient'] * 1e3, '.1f')} | "
                  f"{fmt(ms and best and best / ms, '.3f')}x |")


if __name__ == "__main__":
    main()
