#!/usr/bin/env python3
"""The M1-width model on one GPU (issue 13 item 8), run on the GPU host.

Usage: model_bench.py BIN_DIR PREPARED_DIR [--device cuda:0] [--json OUT.json]
                      [--skip-hymir] [--skip-transformers]

PREPARED_DIR is what scripts/model-bench-prepare.py wrote on the build
machine (config.json, model-b1/b16/b64.hymir, params.txt, meta.json). In one
call, in this order:

 1. the ceilings, with torch: device-to-device copy of 1 GiB (bytes read +
    written per second) and a bf16 GEMM 8192^3 (TFLOP/s);
 2. hymir (hymir-bench, parameters made on the device with
    --random-weights 1): prefill of one sequence of 4096 and 16384 tokens
    (prompt_lengths = T, cache_lengths = 0, restored before every run), and
    decode at batch 1, 16 and 64 with every sequence's caches at position
    DECODE_POSITION (1024; each timed run appends one token);
 3. the agreement check: hymir-run prefill (--random-weights 1) of one
    256-token prompt; its last logits are compared with transformers' on
    the same weights (relative L2, top-1 and top-10) once step 4 has built
    the model;
 4. transformers' MiniMaxForCausalLM on the same config, built on the GPU in
    bf16 with the SAME parameter values (the rule of
    runtime/include/hymir/Runtime/RandomWeights.h, rebuilt here in torch),
    SDPA attention: prefill with use_cache and logits_to_keep=1, and decode
    as users run it, model.generate (greedy): (time of 1 + S new tokens -
    time of 1) / S after a prompt of DECODE_POSITION tokens per sequence.

Floors. Decode: the bytes of weights one step must read, over the copy
bandwidth of step 1: every dense weight (attention, routers, norms, the LM
head), B rows of the embedding, and per layer the experts a batch of B
tokens selects, E (1 - (1 - k/E)^B) on average when routing is uniform (2
at B = 1, 20.6 at 16, 31.5 at 64); "with caches" adds the lightning states
(read and written, f32) and the KV cache read at the decode position.
Prefill: FLOPs over the GEMM rate of step 1 (and over 989 TFLOP/s, the
H200's dense bf16 peak): 2 x the weights each token multiplies (attention
projections, router, k experts), causal softmax attention 2 Hq D T^2,
lightning attention 4 T D (C + D) H per layer (C = block size), the LM head
on the last token.

Prints one line per measurement and a Markdown table; --json writes every
number. A run that fails prints its error and the table says so.
"""
import argparse
import array
import json
import math
import os
import re
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import time

SEED = 1
STDDEV = 0.02
PERIOD = 4194301  # random_weights::kPeriod
PREFILL_TOKENS = (4096, 16384)
DECODE_BATCHES = {1: "b1", 16: "b16", 64: "b64"}
H200_BF16_DENSE = 989e12
AGREE_TOKENS = 256  # prompt of the agreement check
M64 = (1 << 64) - 1


# --- the parameter values of RandomWeights.h -------------------------------

def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def fnv1a64(name):
    h = 0xCBF29CE484222325
    for c in name.encode():
        h = ((h ^ c) * 0x100000001B3) & M64
    return h


def normal_block_python(seed, count):
    """The first `count` values of the block, in plain Python (the check)."""
    base = splitmix64(seed)
    out = []
    for k in range(count):
        u1 = ((splitmix64((base + 2 * k) & M64) >> 11) + 1) * 2.0 ** -53
        u2 = (splitmix64((base + 2 * k + 1) & M64) >> 11) * 2.0 ** -53
        out.append(math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2))
    return out


def normal_block_torch(torch, seed, device):
    """The whole block on the device, float64 (int64 arithmetic wraps)."""
    def s64(c):
        return c - (1 << 64) if c >= 1 << 63 else c

    def lsr(z, k):
        return (z >> k) & ((1 << (64 - k)) - 1)

    def mix(x):
        z = x + s64(0x9E3779B97F4A7C15)
        z = (z ^ lsr(z, 30)) * s64(0xBF58476D1CE4E5B9)
        z = (z ^ lsr(z, 27)) * s64(0x94D049BB133111EB)
        return z ^ lsr(z, 31)

    base = s64(splitmix64(seed))
    i = torch.arange(PERIOD, dtype=torch.int64, device=device) * 2 + base
    u1 = (lsr(mix(i), 11) + 1).to(torch.float64) * 2.0 ** -53
    u2 = lsr(mix(i + 1), 11).to(torch.float64) * 2.0 ** -53
    block = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2 * math.pi * u2)
    want = normal_block_python(seed, 8)
    got = block[:8].tolist()
    if any(abs(a - b) > 1e-12 * max(1.0, abs(a)) for a, b in zip(want, got)):
        raise RuntimeError("the torch block differs from the rule: %s vs %s" % (got, want))
    return block


def fill_rule(torch, flat, name, src):
    """Contiguous `flat` as the rule fills hymir's parameter `name`."""
    n = flat.numel()
    o = fnv1a64(name) % PERIOD
    filled = min(n, PERIOD)
    flat[:filled].copy_(src[o:o + filled])
    while filled < n:
        c = min(filled, n - filled)
        flat[filled:filled + c].copy_(flat[:c])
        filled += c


def fill_like_hymir(torch, model, seed, stddev, stacked):
    """Every parameter of `model` as hymir-bench --random-weights makes it.
    With `stacked` hymir's experts are mlp.experts.w1, w3 [E, I, N] and w2:
    transformers' gate_up_proj [E, 2I, N] gets w1 in rows [0, I) of each
    expert and w3 in [I, 2I) (its gate and up halves), down_proj w2."""
    block = normal_block_torch(torch, seed, "cuda")
    scaled = {}
    for name, p in model.named_parameters():
        if p.dim() == 1:
            p.data.fill_(1.0)
            continue
        if p.dtype not in scaled:
            b = (stddev * block).to(torch.float32).to(p.dtype)
            scaled[p.dtype] = torch.cat([b, b])
        src = scaled[p.dtype]
        if stacked and name.endswith("mlp.experts.gate_up_proj"):
            stem = name[:-len("gate_up_proj")]
            half = p.shape[1] // 2
            part = torch.empty((p.shape[0], half, p.shape[2]), dtype=p.dtype, device=p.device)
            for w, rows in (("w1", slice(0, half)), ("w3", slice(half, 2 * half))):
                fill_rule(torch, part.view(-1), stem + w, src)
                p.data[:, rows, :].copy_(part)
            del part
        elif stacked and name.endswith("mlp.experts.down_proj"):
            fill_rule(torch, p.data.view(-1), name[:-len("down_proj")] + "w2", src)
        else:
            fill_rule(torch, p.data.view(-1), name, src)
    torch.cuda.synchronize()


def transformers_shapes(params):
    """transformers' parameter shapes for hymir's parameters (stacked
    experts as gate_up_proj and down_proj)."""
    shapes = {}
    for name, _, shape in params:
        if name.endswith("mlp.experts.w1"):
            stem = name[:-len("w1")]
            shapes[stem + "gate_up_proj"] = [shape[0], 2 * shape[1], shape[2]]
        elif name.endswith("mlp.experts.w3"):
            continue
        elif name.endswith("mlp.experts.w2"):
            shapes[name[:-len("w2")] + "down_proj"] = shape
        else:
            shapes[name] = shape
    return shapes


# --- floors ----------------------------------------------------------------

def read_params(path):
    params = []
    with open(path) as f:
        for line in f:
            m = re.match(r"param \d+ (\S+): (\w+)\[([^\]]*)\]", line.strip())
            if m:
                shape = [int(x) for x in m.group(3).split(",") if x.strip()]
                params.append((m.group(1), m.group(2), shape))
    return params


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def floors(cfg, params, position):
    E, k = cfg["num_local_experts"], cfg["num_experts_per_tok"]
    N, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, D, Hkv = cfg["num_attention_heads"], cfg["head_dim"], cfg["num_key_value_heads"]
    kinds = cfg["layer_types"]
    L = len(kinds)
    size = {"BF16": 2, "F32": 4}
    expert_bytes = 0      # all experts of all layers
    dense_bytes = 0       # read whole every step
    embed_row = 0
    dense_macs = 0        # per token, attention projections and routers
    for name, dtype, shape in params:
        b = numel(shape) * size[dtype]
        if ".mlp.experts." in name:
            expert_bytes += b
        elif name == "model.embed_tokens.weight":
            embed_row = shape[1] * size[dtype]
        else:
            dense_bytes += b
            if len(shape) == 2 and name != "lm_head.weight":
                dense_macs += numel(shape)
    per_expert_layer = expert_bytes / (E * L)
    lightning = sum(1 for t in kinds if t == "linear_attention")
    softmax = L - lightning

    def decode_bytes(batch, caches):
        experts = E * (1 - (1 - k / E) ** batch)
        b = dense_bytes + batch * embed_row + L * experts * per_expert_layer
        if caches:
            b += lightning * batch * H * D * D * 4 * 2
            b += softmax * batch * position * Hkv * D * 2 * 2
        return b, experts

    def prefill_flops(T):
        f = 2.0 * T * (dense_macs + L * k * 3 * I * N)
        f += softmax * 2.0 * H * D * T * T
        f += lightning * 4.0 * T * D * (cfg.get("block_size", 256) + D) * H
        f += 2.0 * V * N
        return f

    return decode_bytes, prefill_flops, {
        "dense_bytes": dense_bytes, "expert_bytes": expert_bytes,
        "weight_bytes": dense_bytes + expert_bytes + embed_row * V}


# --- agreement: hymir's prefill logits against transformers' ---------------

def entry_inputs(bin_dir, artifact, entry):
    """[(name, dtype, shape)] of the entry's inputs (a dynamic dim, the token
    count, is None): from ENTRY-inputs.json beside the artifact
    (model-bench-prepare.py writes it for prefill), else from hymir-dump."""
    listed = os.path.join(os.path.dirname(artifact), entry + "-inputs.json")
    if os.path.exists(listed):
        with open(listed) as f:
            return [tuple(x) for x in json.load(f)]
    text = subprocess.run([os.path.join(bin_dir, "hymir-dump"), artifact], capture_output=True,
                          text=True, check=True).stdout
    section = text.split("\nentry %s\n" % entry, 1)[1].split("\nentry ", 1)[0]
    inputs = []
    for line in section.splitlines():
        line = line.strip()
        if line.startswith("input "):
            name, spec = line.split(" ", 2)[2].split(": ")
            dtype, shape = spec.rstrip("]").split("[")
            inputs.append((name, dtype, [int(x) if x.isdigit() else None
                                         for x in shape.split(", ")]))
    return inputs


def write_safetensors(path, tensors):
    """tensors: name -> (dtype, shape, bytes)."""
    header, offset = {}, 0
    for name, (dtype, shape, blob) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for _, _, blob in tensors.values():
            f.write(blob)


def read_f32(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        a, b = header[name]["data_offsets"]
        assert header[name]["dtype"] == "F32", header[name]
        f.seek(8 + n + a)
        return array.array("f", f.read(b - a))


def hymir_prefill_logits(bin_dir, artifact, device, ids, tmp):
    """The last position's logits of hymir's prefill of `ids` (one
    sequence, fresh caches), parameters made with --random-weights."""
    sizes = {"I32": 4, "F32": 4, "BF16": 2}
    tensors = {}
    for name, dtype, shape in entry_inputs(bin_dir, artifact, "prefill"):
        shape = [len(ids) if d is None else d for d in shape]
        if name == "input_ids":  # every slot the same prompt
            blob = struct.pack("<%di" % (len(ids) * shape[0]), *(ids * shape[0]))
        elif name == "prompt_lengths":
            blob = struct.pack("<%di" % shape[0], *([len(ids)] * shape[0]))
        else:  # cache_lengths 0: the caches' contents are not read
            blob = bytes(numel(shape) * sizes[dtype])
        tensors[name] = (dtype, shape, blob)
    inputs, outputs = os.path.join(tmp, "agree-in.safetensors"), os.path.join(
        tmp, "agree-out.safetensors")
    write_safetensors(inputs, tensors)
    r = subprocess.run([os.path.join(bin_dir, "hymir-run"), artifact, "--entry", "prefill",
                        "--device", device, "--random-weights", str(SEED), "--inputs", inputs,
                        "--outputs", outputs], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("hymir-run: %s %s" % (r.stdout[-1000:], r.stderr[-1000:]))
    every = read_f32(outputs, "logits")  # [B, V]: slot 0's row
    logits = every[:len(every) // tensors["input_ids"][1][0]]
    os.remove(inputs)
    os.remove(outputs)
    return logits


def agreement(torch, model, ids, hymir_logits):
    """Relative L2 error and top-token agreement of transformers' last
    logits against hymir's."""
    with torch.inference_mode():
        theirs = model(input_ids=torch.tensor([ids], device="cuda"), use_cache=False,
                       logits_to_keep=1).logits[0, -1].float()
    ours = torch.tensor(hymir_logits, device="cuda")
    rel = ((ours - theirs).norm() / theirs.norm()).item()
    top_ours = torch.topk(ours, 10).indices.tolist()
    top_theirs = torch.topk(theirs, 10).indices.tolist()
    return {"relative_l2": rel, "same_top1": top_ours[0] == top_theirs[0],
            "top10_overlap": len(set(top_ours) & set(top_theirs)),
            "finite": bool(torch.isfinite(ours).all().item())}


# --- measurements ----------------------------------------------------------

def cuda_ms(torch, fn, warmup, iterations):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def ceilings(torch):
    n = 1 << 30
    src = torch.empty(n, dtype=torch.uint8, device="cuda").random_(0, 255)
    dst = torch.empty_like(src)
    ms = cuda_ms(torch, lambda: dst.copy_(src), 3, 20)
    copy = 2 * n / (ms * 1e-3)
    del src, dst
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    ms = cuda_ms(torch, lambda: a @ b, 3, 20)
    gemm = 2 * 8192 ** 3 / (ms * 1e-3)
    del a, b
    torch.cuda.empty_cache()
    return copy, gemm


def hymir_bench(bin_dir, artifact, device, args, label, graphs=False):
    """The median of the plain launches and, with `graphs` (hymir-bench
    --cuda-graphs), of the CUDA-graph replays (None where none was made)."""
    cmd = [os.path.join(bin_dir, "hymir-bench"), artifact, "--device", device,
           "--random-weights", str(SEED)] + args + (["--cuda-graphs"] if graphs else [])
    t = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        print("hymir %s: FAILED (timed out after 300 s)" % label, flush=True)
        return None, None
    plain = re.search(r"^bench (?!.*cuda_graph=1).* median_ms=([0-9.e+-]+).* min_ms=([0-9.e+-]+)",
                      r.stdout, re.M)
    graph = re.search(r"^bench .*cuda_graph=1.* median_ms=([0-9.e+-]+)", r.stdout, re.M)
    if r.returncode != 0 or not plain:
        print("hymir %s: FAILED (exit %d): %s %s" % (label, r.returncode, r.stdout[-1500:],
                                                     r.stderr[-1500:]), flush=True)
        return None, None
    ms = float(plain.group(1))
    graph_ms = float(graph.group(1)) if graph else None
    note = ""
    if graphs:
        why = re.search(r"^cuda graphs: .*$", r.stdout + r.stderr, re.M)
        note = (", as a CUDA graph %.4g ms" % graph_ms if graph_ms is not None else
                "; %s" % (why.group(0) if why else "no CUDA-graph line"))
    print("hymir %s: median %.4g ms, min %s ms%s (process %.0f s)" % (
        label, ms, plain.group(2), note, time.time() - t), flush=True)
    return ms, graph_ms


def build_transformers(torch, config_path, params):
    from transformers import MiniMaxConfig, MiniMaxForCausalLM
    cfg = MiniMaxConfig.from_json_file(config_path)
    cfg._attn_implementation = "sdpa"
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device("cuda"):
            model = MiniMaxForCausalLM(cfg)
    finally:
        torch.set_default_dtype(previous)
    model.eval()
    ours = transformers_shapes(params)
    stacked = any(name.endswith("mlp.experts.w1") for name, _, _ in params)
    theirs = {name: list(p.shape) for name, p in model.named_parameters()}
    if ours != theirs:
        only_ours = sorted(set(ours) - set(theirs))[:5]
        only_theirs = sorted(set(theirs) - set(ours))[:5]
        shapes = [n for n in set(ours) & set(theirs) if ours[n] != theirs[n]][:5]
        print("WARNING: transformers' parameters differ from hymir's: only hymir %s, only "
              "transformers %s, shapes differ %s" % (only_ours, only_theirs, shapes))
    fill_like_hymir(torch, model, SEED, STDDEV, stacked)
    return model


def transformers_prefill(torch, model, vocab, T, reps):
    ids = torch.randint(0, vocab, (1, T), device="cuda")
    times = []
    with torch.inference_mode():
        for _ in range(1 + reps):
            torch.cuda.synchronize()
            t = time.perf_counter()
            model(input_ids=ids, use_cache=True, logits_to_keep=1)
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times[1:])


def transformers_decode(torch, model, vocab, batch, position, steps):
    ids = torch.randint(0, vocab, (batch, position), device="cuda")
    mask = torch.ones_like(ids)
    # No token ends a sequence: every call makes exactly `new` tokens.
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0

    def generate(new):
        torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new,
                                 do_sample=False, eos_token_id=None, pad_token_id=0)
        torch.cuda.synchronize()
        assert out.shape[1] == position + new, out.shape
        return (time.perf_counter() - t) * 1e3

    generate(1)  # warm-up
    one = generate(1)
    many = generate(1 + steps)
    return (many - one) / steps


# --- main ------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin_dir")
    ap.add_argument("prepared")
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--json")
    ap.add_argument("--skip-hymir", action="store_true")
    ap.add_argument("--skip-transformers", action="store_true")
    ap.add_argument("--decode-steps", type=int, default=16, help="transformers' timed steps")
    args = ap.parse_args()
    lib = os.path.join(os.path.dirname(os.path.abspath(args.bin_dir)), "lib")
    if os.path.isdir(lib):
        os.environ["LD_LIBRARY_PATH"] = lib + ":" + os.environ.get("LD_LIBRARY_PATH", "")

    import torch
    with open(os.path.join(args.prepared, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(args.prepared, "meta.json")) as f:
        meta = json.load(f)
    params = read_params(os.path.join(args.prepared, "params.txt"))
    position = meta["decode_position"]
    decode_bytes, prefill_flops, sizes = floors(cfg, params, position)
    print("card: %s; torch %s" % (torch.cuda.get_device_name(0), torch.__version__), flush=True)
    print("model: %d layers (%s), %.2f GB of weights (experts %.2f GB)" % (
        len(cfg["layer_types"]), ",".join("S" if t == "full_attention" else "L"
                                           for t in cfg["layer_types"]),
        sizes["weight_bytes"] / 1e9, sizes["expert_bytes"] / 1e9), flush=True)

    copy, gemm = ceilings(torch)
    print("ceilings: copy %.0f GB/s (read + written, 1 GiB), bf16 GEMM 8192^3 %.0f TFLOP/s"
          % (copy / 1e9, gemm / 1e12), flush=True)
    results = {"copy_bytes_per_s": copy, "gemm_flops_per_s": gemm, "config": cfg,
               "decode_position": position, "rows": []}

    hymir, hymir_plain = {}, {}
    help_text = subprocess.run([os.path.join(args.bin_dir, "hymir-bench"), "--help"],
                               capture_output=True, text=True).stdout
    graphs = "--cuda-graphs" in help_text
    if not args.skip_hymir:
        art = lambda v: os.path.join(args.prepared, meta["variants"][v]["artifact"])
        for T in PREFILL_TOKENS:
            if "b1" in meta["variants"] and T <= meta["variants"]["b1"]["max_tokens"]:
                hymir[("prefill", T)], _ = hymir_bench(
                    args.bin_dir, art("b1"), args.device,
                    ["--entry", "prefill", "--random-inputs", str(T),
                     "--set", "prompt_lengths=%d" % T, "--set", "cache_lengths=0",
                     "--restore", "cache_lengths", "--warmup", "2", "--iterations", "5"],
                    "prefill T=%d" % T)
        for B, v in DECODE_BATCHES.items():
            if v in meta["variants"]:
                # The decode step as a CUDA graph where hymir-bench offers it
                # (hymir-generate replays it so); the plain launches beside.
                plain, graph = hymir_bench(
                    args.bin_dir, art(v), args.device,
                    ["--entry", "decode", "--random-inputs", "1", "--set", "active=1",
                     "--set", "cache_lengths=%d" % position, "--warmup", "5",
                     "--iterations", "20"], "decode B=%d" % B, graphs)
                hymir_plain[("decode", B)] = plain
                hymir[("decode", B)] = graph if graph is not None else plain
        if "b1t" in meta["variants"]:
            # The same step with transformers' expert layout, whose halves the
            # graph slices into W1 and W3 by a copy per call.
            plain, graph = hymir_bench(
                args.bin_dir, art("b1t"), args.device,
                ["--entry", "decode", "--random-inputs", "1", "--set", "active=1",
                 "--set", "cache_lengths=%d" % position, "--warmup", "3",
                 "--iterations", "10"], "decode B=1, transformers' expert layout", graphs)
            hymir_plain[("decode-tl", 1)] = plain
            hymir[("decode-tl", 1)] = graph if graph is not None else plain

    agree_ids = [random.Random(5).randrange(cfg["vocab_size"]) for _ in range(AGREE_TOKENS)]
    hymir_logits = None
    if not args.skip_hymir and "b1" in meta["variants"]:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                hymir_logits = hymir_prefill_logits(
                    args.bin_dir, os.path.join(args.prepared, meta["variants"]["b1"]["artifact"]),
                    args.device, agree_ids, tmp)
            print("hymir prefill of %d tokens for the agreement check: done" % AGREE_TOKENS,
                  flush=True)
        except Exception as e:  # noqa: BLE001 (reported; the benchmark goes on)
            print("hymir prefill for the agreement check: FAILED %s" % e, flush=True)

    tf = {}
    if not args.skip_transformers:
        try:
            t = time.time()
            model = build_transformers(torch, os.path.join(args.prepared, "config.json"), params)
            print("transformers: model built and filled in %.0f s, %.1f GiB allocated" % (
                time.time() - t, torch.cuda.memory_allocated() / 2**30), flush=True)
            if hymir_logits is not None:
                a = agreement(torch, model, agree_ids, hymir_logits)
                results["agreement"] = a
                print("agreement, last logits of a %d-token prefill, hymir vs transformers (same "
                      "weights, bf16): relative L2 %.3g, same top-1 %s, top-10 overlap %d/10, "
                      "hymir finite %s" % (AGREE_TOKENS, a["relative_l2"], a["same_top1"],
                                           a["top10_overlap"], a["finite"]), flush=True)
            for T in PREFILL_TOKENS:
                try:
                    tf[("prefill", T)] = transformers_prefill(torch, model, cfg["vocab_size"], T, 2)
                    print("transformers prefill T=%d: %.4g ms" % (T, tf[("prefill", T)]), flush=True)
                except Exception as e:  # noqa: BLE001 (reported, the table goes on)
                    print("transformers prefill T=%d: FAILED %s" % (T, e), flush=True)
                torch.cuda.empty_cache()
            for B in DECODE_BATCHES:
                try:
                    tf[("decode", B)] = transformers_decode(torch, model, cfg["vocab_size"], B,
                                                            position, args.decode_steps)
                    print("transformers decode B=%d: %.4g ms/step" % (B, tf[("decode", B)]),
                          flush=True)
                except Exception as e:  # noqa: BLE001
                    print("transformers decode B=%d: FAILED %s" % (B, e), flush=True)
                torch.cuda.empty_cache()
        except Exception as e:  # noqa: BLE001
            print("transformers: FAILED %s" % e, flush=True)

    fmt = lambda x, f="%.4g": "n/a" if x is None else f % x
    print()
    print("| workload | floor | floor ms | hymir ms | hymir tokens/s | hymir / floor time | "
          "transformers ms | transformers tokens/s | hymir speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for T in PREFILL_TOKENS:
        flops = prefill_flops(T)
        floor_ms = flops / gemm * 1e3
        h, t = hymir.get(("prefill", T)), tf.get(("prefill", T))
        row = {"workload": "prefill", "tokens": T, "flops": flops, "floor_ms": floor_ms,
               "floor_ms_989": flops / H200_BF16_DENSE * 1e3, "hymir_ms": h, "transformers_ms": t}
        results["rows"].append(row)
        print("| prefill B=1 T=%d | %.1f TFLOP at %.0f TFLOP/s (%.1f ms at 989) | %.2f | %s | %s | "
              "%s | %s | %s | %s |" % (
                  T, flops / 1e12, gemm / 1e12, row["floor_ms_989"], floor_ms, fmt(h),
                  fmt(h and T / (h * 1e-3), "%.0f"), fmt(h and h / floor_ms, "%.2fx"), fmt(t),
                  fmt(t and T / (t * 1e-3), "%.0f"), fmt(h and t and t / h, "%.1fx")))
    for B in DECODE_BATCHES:
        weights, experts = decode_bytes(B, False)
        with_caches, _ = decode_bytes(B, True)
        floor_ms = weights / copy * 1e3
        h, t = hymir.get(("decode", B)), tf.get(("decode", B))
        row = {"workload": "decode", "batch": B, "position": position, "experts_per_layer": experts,
               "weight_bytes": weights, "bytes_with_caches": with_caches, "floor_ms": floor_ms,
               "floor_ms_with_caches": with_caches / copy * 1e3, "hymir_ms": h,
               "transformers_ms": t, "hymir_plain_launches_ms": hymir_plain.get(("decode", B))}
        results["rows"].append(row)
        how = " (CUDA graph)" if h is not None and h != hymir_plain.get(("decode", B)) else ""
        print("| decode B=%d at %d%s | %.1f GB (%.1f experts/layer; %.1f GB with caches) | %.3f "
              "(%.3f) | %s | %s | %s | %s | %s | %s |" % (
                  B, position, how, weights / 1e9, experts, with_caches / 1e9, floor_ms,
                  row["floor_ms_with_caches"], fmt(h), fmt(h and B / (h * 1e-3), "%.1f"),
                  fmt(h and h / floor_ms, "%.2fx"), fmt(t), fmt(t and B / (t * 1e-3), "%.1f"),
                  fmt(h and t and t / h, "%.1fx")))
    if ("decode-tl", 1) in hymir:
        h = hymir[("decode-tl", 1)]
        weights, _ = decode_bytes(1, False)
        floor_ms = weights / copy * 1e3
        results["rows"].append({"workload": "decode, transformers' expert layout", "batch": 1,
                                "floor_ms": floor_ms, "hymir_ms": h,
                                "hymir_plain_launches_ms": hymir_plain.get(("decode-tl", 1))})
        print("| decode B=1 at %d, transformers' expert layout (W1/W3 sliced by a copy per "
              "call) | same | %.3f | %s | %s | %s | | | |" % (
                  position, floor_ms, fmt(h), fmt(h and 1 / (h * 1e-3), "%.1f"),
                  fmt(h and h / floor_ms, "%.2fx")))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
