#!/usr/bin/env python3
"""The imported tiny model sharded over simulated cpu devices (issue 16 items
2 and 4): hymir-import, hymir-compile --devices=N (hymir-shard), hymir-run /
hymir-generate on the cpu driver's N simulated devices, against the same
model on one device.

The model: the MiniMax-M1 preset of scripts/make-checkpoint.py with 8 heads
of 8 (8 KV heads), 8 experts and 2 layers (lightning, then softmax), so
that heads, experts and the vocabulary (128) divide by 1, 2, 4 and 8; f32
activations, bf16 weights.

  - checkpoint layout (experts one tensor each, stacked in the graph by
    tensor.concat): forward on 4 devices, heads and the vocabulary split,
    each expert's tensors split by the intermediate dim (hymir-shard takes
    the stack's parts from its parameters' parts; the plan lists the
    per-expert w1 "sharded along dim 0"); the
    log-prob entries score and logprobs, whose LM head is split by
    vocabulary (a distributed log-sum-exp); and cispo_step, its CISPO loss
    over the vocabulary-split head (loss, logp_new, d_hidden and the head's
    rows of d_lm_head on each device; CISPO_TOLERANCE);
  - stacked experts (hymir-import --no-weights --weight-layout=stacked,
    the checkpoint's tensors stacked into w1/w3/w2 here): forward with
    --shard-moe=tensor (experts split by their intermediate dim) on 2
    devices, and --shard-moe=expert (mixed: heads tensor parallel, experts
    placed E/N per device, both checked in the plan's parameters) on 4
    and 8;
  - generation: prefill and decode (batch 4) on one device sharded as a
    group of one (hymir-shard{single}: every collective over one device, the
    plan a GPU checks with NCCL initialised for one rank), 2 devices (--shard-moe=
    auto: experts tensor parallel), 4 and 8 (--shard-moe=expert: mixed,
    heads split and experts placed; on 4 decode's static batch takes the
    all_to_all form): the tied lightning states and KV caches are split by
    heads with the attention (each device's device values hold its heads:
    the plan lists them "sharded along dim 1 / 2"), and hymir-generate's
    greedy tokens equal one device's, their log-probs (a log-softmax of
    the logits) within TOLERANCE (relative L2).

The plans (hymir-compile --print-plan) must hold hymir.reduce_scatter steps
(the row-parallel products feeding a residual and a distributed RMSNorm)
and, for the decode entry, all_to_all steps.

Tolerance, forward logits: relative L2 error <= 1e-5 against one device.
Sharding changes only the order of f32 sums: a row-parallel product is a
sum of N per-device dot products added in device order, a distributed
RMSNorm's sum of squares is N partial sums added, an all_reduce adds in
device order (reduce_scatter blocks equal it bit for bit). Each reordering
is within a few f32 ulps (2^-24 relative) of the one-device value; through
2 layers the runs measure 1.5-3.3e-7. 1e-5 leaves 30x margin and is still
far below a wrong split (a misplaced head or expert moves logits by O(1)).
Ids come from a fixed seed: a near tie of the top-2 routing could tip on a
last-bit difference and move one token's logits further than any tolerance.
Usage: sharded_model.py BIN_DIR
"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import read_tensor, relative_error, run, write_tensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE = os.path.join(ROOT, "scripts", "make-checkpoint.py")
# Two layers (a lightning layer, then a softmax one): every kind of layer
# and the step from one layer to the next, at half the compile time of the
# preset's four (compiling is almost all of this test's time).
CONFIG = {"num_attention_heads": 8, "num_key_value_heads": 8, "head_dim": 8,
          "rotary_dim": 8, "num_local_experts": 8, "num_hidden_layers": 2,
          "attn_type_list": [0, 1]}
# The split cache inputs of prefill: each lightning layer's state, each
# softmax layer's key and value caches.
SPLIT_CACHES = CONFIG["attn_type_list"].count(0) + 2 * CONFIG["attn_type_list"].count(1)
TOLERANCE = 1e-5
# cispo_step with the LM head split by vocabulary: logp_new and d_hidden as
# the forward (f32 sums in another order); the loss is a sum of terms of both
# signs (advantages alternate), so its relative error is the terms' (~1e-7)
# times their cancellation (~30x here: measured 2.9e-6); d_lm_head is bf16 (the
# head's dtype): an f32 difference of a few ulps moves an element across a
# bf16 rounding boundary (2^-8 relative) now and then (measured 1.8e-6).
CISPO_TOLERANCE = {"logp_new": 1e-5, "d_hidden": 1e-5, "loss": 1e-4, "d_lm_head": 1e-4}
CONTEXT = 64
BATCH = 2


def stack_experts(src, dst):
    """The checkpoint with experts.{e}.w1/w3/w2 stacked into [E, ...] tensors
    named as hymir-import --weight-layout=stacked declares them."""
    data = open(src, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n

    def raw(name):
        a, b = header[name]["data_offsets"]
        return data[base + a:base + b]

    out = {}
    for name, spec in header.items():
        if name == "__metadata__" or ".experts." in name:
            continue
        out[name.replace("block_sparse_moe.gate", "mlp.gate")] = (
            spec["dtype"], spec["shape"], raw(name))
    experts = CONFIG["num_local_experts"]
    layers = sorted({int(k.split(".")[2]) for k in header if k.startswith("model.layers.")})
    for layer in layers:
        for w in ("w1", "w3", "w2"):
            parts = [f"model.layers.{layer}.block_sparse_moe.experts.{e}.{w}.weight"
                     for e in range(experts)]
            first = header[parts[0]]
            out[f"model.layers.{layer}.mlp.experts.{w}"] = (
                first["dtype"], [experts] + first["shape"], b"".join(raw(p) for p in parts))
    meta, blobs, offset = {}, [], 0
    for name, (dtype, shape, blob) in out.items():
        meta[name] = {"dtype": dtype, "shape": shape,
                      "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(meta).encode()
    text += b" " * (-len(text) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def compile_model(bin_dir, mlir, out, devices, moe):
    """hymir-compile for `devices`; the printed plan's step counts per kind."""
    plan = run([os.path.join(bin_dir, "hymir-compile"), mlir, "-o", out, "--target=cpu",
                f"--devices={devices}", f"--shard-moe={moe}", f"--max-tokens={CONTEXT}",
                "--print-plan"])
    counts = {}
    entry = None
    for line in plan.splitlines():
        if line.startswith("entry "):
            entry = line.split()[1]
        # Mixed parallelism: experts placed (w1 split by experts) and heads
        # split (q/k/v rows) in the same plan.
        if line.startswith("param ") and line.endswith("sharded along dim 0"):
            for what, key in (("experts", ".experts.w1:"), ("heads", "qkv_proj."),
                              ("heads", "q_proj.")):
                if key in line:
                    counts[("params", what)] = counts.get(("params", what), 0) + 1
            # Experts stored one tensor each, each split (tensor parallel).
            if ".experts." in line and ".w1.weight:" in line:
                counts[("params", "expert slices")] = (
                    counts.get(("params", "expert slices"), 0) + 1)
        for kind in ("all_to_all", "reduce_scatter", "all_reduce", "all_gather"):
            if f": {kind} " in line:
                counts[(entry, kind)] = counts.get((entry, kind), 0) + 1
    return counts


def forward(bin_dir, artifact, weights, ids, work):
    inputs = os.path.join(work, "ids.safetensors")
    outputs = os.path.join(work, "logits.safetensors")
    write_tensors(inputs, {"input_ids": ("I32", [BATCH, len(ids) // BATCH], ids)})
    run([os.path.join(bin_dir, "hymir-run"), artifact, "--entry", "forward", "--device", "cpu",
         "--inputs", inputs, "--weights", weights, "--outputs", outputs])
    return read_tensor(outputs, "logits")


def check_logprobs(bin_dir, work, one, many, devices, weights, failures):
    """score and logprobs of `many` against `one` on the same inputs."""
    rng = random.Random(13)
    t = 37
    score_in = os.path.join(work, "score.safetensors")
    write_tensors(score_in, {
        "input_ids": ("I32", [BATCH, t], [rng.randrange(128) for _ in range(BATCH * t)]),
        "targets": ("I32", [BATCH, t], [rng.randrange(128) for _ in range(BATCH * t)])})
    logprobs_in = os.path.join(work, "logprobs.safetensors")
    write_tensors(logprobs_in, {
        "hidden": ("F32", [BATCH, 64], [rng.uniform(-2, 2) for _ in range(BATCH * 64)]),
        "tokens": ("I32", [BATCH], [rng.randrange(128) for _ in range(BATCH)])})
    # cispo_step (hymir.cispo_loss with the LM head split by vocabulary).
    mask = [0.0 if k % 5 == 3 else 1.0 for k in range(BATCH * t)]
    adv = [(-1) ** k * rng.uniform(0.3, 1.5) for k in range(BATCH * t)]
    old = [-4.8 + rng.uniform(-0.5, 0.5) for _ in range(BATCH * t)]
    step_in = os.path.join(work, "step.safetensors")
    write_tensors(step_in, {
        "input_ids": ("I32", [BATCH, t], [rng.randrange(128) for _ in range(BATCH * t)]),
        "targets": ("I32", [BATCH, t], [rng.randrange(128) for _ in range(BATCH * t)]),
        "logp_old": ("F32", [BATCH, t], old), "advantages": ("F32", [BATCH, t], adv),
        "mask": ("F32", [BATCH, t], mask)})
    outs = []
    for artifact in (one, many):
        out = os.path.join(work, "step.out.safetensors" + str(len(outs)))
        run([os.path.join(bin_dir, "hymir-run"), artifact, "--entry", "cispo_step", "--device",
             "cpu", "--inputs", step_in, "--weights", weights, "--outputs", out])
        outs.append(out)
    errors = {k: relative_error(read_tensor(outs[1], k), read_tensor(outs[0], k))
              for k in CISPO_TOLERANCE}
    ok = all(errors[k] <= tol for k, tol in CISPO_TOLERANCE.items())
    print(f"checkpoint cispo_step on {devices} devices (LM head split by vocabulary): relative "
          f"error " + ", ".join(f"{k} {e:.2e}" for k, e in errors.items()) +
          f" against 1 device {'PASS' if ok else 'FAIL'}")
    if not ok:
        failures.append(f"cispo_step {devices}")
    for entry, inputs in (("score", score_in), ("logprobs", logprobs_in)):
        got = []
        for artifact in (one, many):
            out = os.path.join(work, entry + ".out.safetensors")
            run([os.path.join(bin_dir, "hymir-run"), artifact, "--entry", entry, "--device",
                 "cpu", "--inputs", inputs, "--weights", weights, "--outputs", out])
            got.append(read_tensor(out, "logprobs"))
        err = relative_error(got[1], got[0])
        ok = err <= TOLERANCE
        print(f"checkpoint {entry} on {devices} devices (LM head split by vocabulary): "
              f"relative error {err:.3e} against 1 device {'PASS' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"{entry} {devices}")


def _ids(seed, tokens):
    rng = random.Random(seed)
    return [rng.randrange(128) for _ in range(BATCH * tokens)]


ID_SETS = [_ids(11, 1), _ids(12, 37)]


def check_forward(bin_dir, work, mlir, weights, label, cases, want, failures):
    """Forward logits of `mlir` compiled for each (devices, moe) case against
    `want`, one device's logits of ID_SETS."""
    id_sets = ID_SETS
    for devices, moe in cases:
        artifact = os.path.join(work, f"{label}-{moe}-{devices}.hymir")
        counts = compile_model(bin_dir, mlir, artifact, devices, moe)
        scatters = counts.get(("forward", "reduce_scatter"), 0)
        experts = counts.get(("params", "experts"), 0)
        heads = counts.get(("params", "heads"), 0)
        mixed = moe != "expert" or (experts > 0 and heads > 0)
        slices = counts.get(("params", "expert slices"), 0)
        mixed = mixed and (label != "checkpoint" or slices > 0)
        for ids, w in zip(id_sets, want):
            got = forward(bin_dir, artifact, weights, ids, work)
            err = relative_error(got, w)
            ok = err <= TOLERANCE and scatters > 0 and mixed
            print(f"{label} forward T={len(ids) // BATCH} on {devices} devices, "
                  f"--shard-moe={moe} ({scatters} reduce_scatter steps; experts split in "
                  f"{experts} layers, heads in {heads}"
                  f"{f', {slices} per-expert w1 split' if label == 'checkpoint' else ''}): "
                  f"relative error "
                  f"{err:.3e} against 1 device {'PASS' if ok else 'FAIL'}")
            if not ok:
                failures.append(f"{label} {moe} {devices}")


PROMPTS = [[1, 2, 3, 4, 5], [7, 8], [9], [100, 3, 5, 7, 9, 11, 13]]


def generate(bin_dir, artifact, weights):
    """hymir-generate's greedy tokens and their log-probs per prompt."""
    cmd = [os.path.join(bin_dir, "hymir-generate"), artifact, "--weights", weights,
           "--max-new-tokens", "8", "--device", "cpu"]
    for p in PROMPTS:
        cmd += ["--prompt", ",".join(map(str, p))]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"hymir-generate failed:\n{r.stderr}")
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    return ({l["index"]: l["tokens"] for l in lines if "tokens" in l},
            [p for l in sorted(lines, key=lambda l: l["index"]) for p in l.get("logprobs", [])])


def split_caches(bin_dir, artifact):
    """The cache inputs of `prefill` listed as split (by hymir-dump)."""
    listing = run([os.path.join(bin_dir, "hymir-dump"), artifact])
    entry, split = None, []
    for line in listing.splitlines():
        if line.startswith("entry "):
            entry = line.split()[1]
        if entry == "prefill" and line.strip().startswith("input ") and (
                "state" in line or "cache:" in line) and "sharded along dim" in line:
            split.append(line.split()[2].rstrip(":"))
    return split


def main():
    bin_dir = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as work:
        ckpt = os.path.join(work, "ckpt")
        cmd = [sys.executable, MAKE, ckpt, "--preset", "m1", "--seed", "7"]
        for k, v in CONFIG.items():
            cmd += ["--config", f"{k}={json.dumps(v)}"]
        run(cmd)
        weights = os.path.join(ckpt, "model.safetensors")
        stacked = os.path.join(work, "stacked.safetensors")
        stack_experts(weights, stacked)
        imp = os.path.join(bin_dir, "hymir-import")
        common = ["--activation=f32", f"--max-context={CONTEXT}"]

        per_expert = os.path.join(work, "per-expert.mlir")
        run([imp, ckpt, "-o", per_expert, f"--max-batch={BATCH}",
             "--entries=forward,score,logprobs,cispo_step"] + common)
        # One device: the baseline of both layouts (the graph stacks the
        # per-expert tensors into the same [E, ...] values).
        base = os.path.join(work, "checkpoint-1.hymir")
        compile_model(bin_dir, per_expert, base, 1, "auto")
        want = [forward(bin_dir, base, weights, ids, work) for ids in ID_SETS]
        check_forward(bin_dir, work, per_expert, weights, "checkpoint", [(4, "auto")], want,
                      failures)
        check_logprobs(bin_dir, work, os.path.join(work, "checkpoint-1.hymir"),
                       os.path.join(work, "checkpoint-auto-4.hymir"), 4, weights, failures)

        stacked_mlir = os.path.join(work, "stacked.mlir")
        run([imp, ckpt, "-o", stacked_mlir, "--no-weights", "--weight-layout=stacked",
             f"--max-batch={BATCH}", "--entries=forward"] + common)
        check_forward(bin_dir, work, stacked_mlir, stacked, "stacked",
                      [(2, "tensor"), (4, "expert"), (8, "expert")], want, failures)

        cached = os.path.join(work, "cached.mlir")
        run([imp, ckpt, "-o", cached, "--no-weights", "--weight-layout=stacked",
             "--max-batch=4", "--entries=prefill,decode"] + common)
        one = os.path.join(work, "cached-1.hymir")
        compile_model(bin_dir, cached, one, 1, "expert")
        want, want_lp = generate(bin_dir, one, stacked)
        # "1s": hymir-shard{single}, the sharded program over a group of one
        # device (what runs on one GPU with NCCL for one rank).
        for devices, moe in (("1s", "expert"), (2, "auto"), (4, "expert"), (8, "expert")):
            many = os.path.join(work, f"cached-{devices}.hymir")
            if devices == "1s":
                single = os.path.join(work, "cached-single.mlir")
                run([os.path.join(bin_dir, "hymir-opt"), cached, "--inline",
                     f"--hymir-shard=devices=1 moe={moe} single=1", "-o", single])
                counts = compile_model(bin_dir, single, many, 1, moe)
            else:
                counts = compile_model(bin_dir, cached, many, devices, moe)
            got, got_lp = generate(bin_dir, many, stacked)
            err = relative_error(got_lp, want_lp)
            split = split_caches(bin_dir, many)
            to_all = counts.get(("decode", "all_to_all"), 0)
            scatters = sum(v for (e, k), v in counts.items() if k == "reduce_scatter")
            ok = (got == want and len(want) == len(PROMPTS) and err <= TOLERANCE
                  and len(split) == SPLIT_CACHES and scatters > 0 and (to_all > 0 or devices != 4))
            where = ("1 device sharded as a group of one" if devices == "1s"
                     else f"{devices} devices")
            print(f"generation (prefill + decode) on {where}, --shard-moe={moe}: "
                  f"{len(split)} states and caches split by heads, decode plan {to_all} "
                  f"all_to_all, {scatters} reduce_scatter steps; greedy tokens "
                  f"{'equal' if got == want else 'DIFFER from'} 1 device's, log-probs "
                  f"relative error {err:.3e} {'PASS' if ok else 'FAIL'}")
            if not ok:
                print(f"  1 device: {want}\n  {devices} devices: {got}\n  split: {split}")
                failures.append(f"generation {devices}")
    if failures:
        print("FAILED: " + ", ".join(failures))
        return 1
    print("PASS: the sharded model equals one device")
    return 0


if __name__ == "__main__":
    sys.exit(main())
