#!/usr/bin/env python3
"""The whole model on the cpu target: tiny MiniMax checkpoints in Hugging Face
layout (scripts/make-checkpoint.py) imported (hymir-import), compiled
(hymir-compile --target=cpu) and run (hymir-run --entry forward --weights
model.safetensors) on fresh random token ids, against the fp64 oracle on the
same weights and ids (hymir-run --check).

Cases: the MiniMax-M1 config (softmax layer last, experts one tensor each),
the transformers MiniMaxConfig (head_dim x heads != hidden, a lightning layer
last, fused experts) and M1's proportions (8 layers, partial RoPE), with f32
and bf16 activations and batches of 1 to 3.

Tolerances (relative L2 error of the logits): f32 activations 1e-4, as the
f32 e2e graphs (f32 rounding of RoPE angles and of the accumulations; the
runs measure 2-3e-7); bf16 activations 3e-2: every activation between ops is
rounded to bf16 (2^-9 relative) through 4 to 8 layers (the runs measure
6-8e-3), the ids then drawn from a fixed seed, because a bf16 rounding can
tip a near-tied top-2 expert choice and move a token's logits far more than
any tolerance (the f32 runs keep fresh ids).

The oracle evaluates the graph hymir-import wrote, so it cannot see a
graph of the wrong model; test/e2e/minimax_reference.py, a plain-Python fp64
MiniMax written apart from the graph (from model-math.md and the modeling
code), checks the f32 imports of the three presets on fixed ids (1e-4).

The cached entries, prefill and decode (f32, batch 3, each preset): prompts
of 5, 1 and 9 tokens in one prefill (right-padded with random ids, over
caches of random values), 3 decode steps, then slot 1 idle through a decode
step and a prefill of 2 and 1 more tokens for the others, and a last decode
step: every step's logits against forward's on the whole sequences at the
same positions (1e-5, see CACHED_TOLERANCE), zero logits and caches and
length unchanged bit for bit for the idle slot; bad prompt lengths, active
flags and cache lengths, and a KV cache overrun, fail the call with their
message.

Also: a sharded checkpoint (model.safetensors.index.json) imports to the
same module as the single file and binds from its shards (hymir-run
--weights INDEX or DIR); T past --max-context fails the call.
Usage: imported_model.py BIN_DIR
"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import (entry_inputs, read_tensor, read_tensors, relative_error,  # noqa: E402
                      run, write_tensors)
import minimax_reference  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE = os.path.join(ROOT, "scripts", "make-checkpoint.py")

# (preset, activation, batch, token counts, tolerance, fresh ids)
CASES = [
    ("m1", "f32", 1, [1, 37, 130], 1e-4, True),
    ("m1", "f32", 3, [1, 20], 1e-4, True),
    ("hf", "f32", 2, [1, 37, 130], 1e-4, True),
    ("m1-partial", "f32", 2, [1, 45], 1e-4, True),
    ("m1", "bf16", 2, [1, 37], 3e-2, False),
    ("hf", "bf16", 1, [1, 64], 3e-2, False),
]
MAX_CONTEXT = 512
# The entries compiled: forward for the forward cases; the f32 batch-3
# artifacts also serve the cached check (prefill, decode). Nothing here runs
# score, cispo_step or logprobs (e2e/cpu/training-entries does), and the
# compile is most of this test's time: compiling only what runs makes it
# about 3x shorter.
CACHED_ENTRIES = "forward,prefill,decode"


def import_and_compile(bin_dir, work, preset, act, batch, entries):
    """hymir-import of the checkpoint `preset` and hymir-compile for cpu;
    (mlir, artifact)."""
    name = f"{preset}-{act}-b{batch}"
    mlir = os.path.join(work, name + ".mlir")
    artifact = os.path.join(work, name + ".hymir")
    run([os.path.join(bin_dir, "hymir-import"), os.path.join(work, preset), "-o", mlir,
         f"--activation={act}", f"--max-batch={batch}", f"--max-context={MAX_CONTEXT}",
         f"--entries={entries}"])
    run([os.path.join(bin_dir, "hymir-compile"), mlir, "-o", artifact, "--target=cpu",
         f"--max-tokens={MAX_CONTEXT}"])
    return mlir, artifact


def check_case(bin_dir, work, preset, act, batch, tokens, tol, fresh):
    ckpt = os.path.join(work, preset)
    if not os.path.exists(os.path.join(ckpt, "config.json")):
        run([sys.executable, MAKE, ckpt, "--preset", preset, "--seed", "7"])
    weights = os.path.join(ckpt, "model.safetensors")
    name = f"{preset}-{act}-b{batch}"
    mlir, artifact = import_and_compile(
        bin_dir, work, preset, act, batch,
        CACHED_ENTRIES if (act, batch) == ("f32", 3) else "forward")
    for t in tokens:
        seed = random.randrange(1 << 31) if fresh else 1000 + t
        inputs = os.path.join(work, "in.safetensors")
        run([os.path.join(bin_dir, "hymir-reference"), mlir, "--function", "forward",
             "--tokens", str(t), "--seed", str(seed), "--weights", weights,
             "--write-inputs", inputs])
        out = run([os.path.join(bin_dir, "hymir-run"), artifact, "--entry", "forward",
                   "--device", "cpu", "--inputs", inputs, "--weights", weights,
                   "--outputs", os.path.join(work, "out.safetensors"), "--check",
                   "--tolerance", str(tol)])
        line = next(l for l in out.splitlines() if l.startswith("check logits"))
        print(f"{name} T={t} ids seed {seed}: {line}")
    return artifact, weights


def write_ids(path, rows):
    values = [i for row in rows for i in row]
    header = {"input_ids": {"dtype": "I32", "shape": [len(rows), len(rows[0])],
                            "data_offsets": [0, 4 * len(values)]}}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + struct.pack(f"<{len(values)}i", *values))


def independent_check(bin_dir, work, preset, batch, tokens=6):
    """hymir's forward (f32) against test/e2e/minimax_reference.py, a model
    written apart from hymir's graph, on fixed ids: 1e-4 as above."""
    ckpt = os.path.join(work, preset)
    rng = random.Random(5)
    ids = [[rng.randrange(128) for _ in range(tokens)] for _ in range(batch)]
    inputs, outputs = os.path.join(work, "ids.safetensors"), os.path.join(work, "out.safetensors")
    write_ids(inputs, ids)
    run([os.path.join(bin_dir, "hymir-run"), os.path.join(work, f"{preset}-f32-b{batch}.hymir"),
         "--entry", "forward", "--device", "cpu", "--inputs", inputs, "--weights",
         os.path.join(ckpt, "model.safetensors"), "--outputs", outputs])
    got = read_tensor(outputs, "logits")
    want = [v for seq in minimax_reference.forward(ckpt, ids) for row in seq for v in row]
    err = relative_error(got, want)
    ok = err <= 1e-4
    print(f"{preset} batch {batch} T={tokens} against the independent Python model: "
          f"relative error {err:.3e} {'PASS' if ok else 'FAIL'}")
    return ok


# --- prefill and decode (the cached entries) ---
class Cached:
    """Sequences run through prefill and decode of one artifact (B slots),
    each step checked against forward on the whole sequences: the logits of
    a slot with tokens equal forward's at its last new token, a slot without
    tokens gets zero logits and keeps its caches and cache length bit for
    bit."""

    def __init__(self, bin_dir, work, artifact, weights, batch, vocab, seqs, rng):
        self.bin_dir, self.work, self.artifact, self.weights = bin_dir, work, artifact, weights
        self.batch, self.vocab, self.seqs, self.rng = batch, vocab, seqs, rng
        width = len(seqs[0])
        out = self.call("forward", {"input_ids": ("I32", [batch, width], sum(seqs, []))})
        self.forward = out["logits"][2]
        self.width = width
        # Caches of random values: a slot whose cache length is 0 starts a
        # new sequence whatever its states hold, and no cache position past
        # a sequence's length is read.
        self.caches = {}
        for name, dtype, shape in entry_inputs(bin_dir, artifact, "prefill")[3:]:
            count = 1
            for d in shape:
                count *= d
            self.caches[name] = (dtype, shape, [rng.uniform(-1, 1) for _ in range(count)])
        self.lengths = [0] * batch
        self.worst = 0.0

    def call(self, entry, tensors):
        inputs = os.path.join(self.work, "cached-in.safetensors")
        outputs = os.path.join(self.work, "cached-out.safetensors")
        write_tensors(inputs, tensors)
        run([os.path.join(self.bin_dir, "hymir-run"), self.artifact, "--entry", entry,
             "--device", "cpu", "--inputs", inputs, "--weights", self.weights,
             "--outputs", outputs])
        return read_tensors(outputs)

    def step(self, entry, counts, width):
        """One call: counts[b] new tokens of sequence b (right-padded with
        random ids to `width`); returns the worst relative error."""
        b_, v = self.batch, self.vocab
        ids = []
        for b in range(b_):
            row = self.seqs[b][self.lengths[b]:self.lengths[b] + counts[b]]
            ids += row + [self.rng.randrange(v) for _ in range(width - len(row))]
        tensors = {"input_ids": ("I32", [b_, width], ids),
                   ("active" if entry == "decode" else "prompt_lengths"): ("I32", [b_], counts),
                   "cache_lengths": ("I32", [b_], self.lengths)}
        tensors.update(self.caches)
        out = self.call(entry, tensors)
        logits = out["logits"][2]
        worst = 0.0
        for b in range(b_):
            got = logits[b * v:(b + 1) * v]
            if counts[b] == 0:
                if any(got):
                    raise RuntimeError(f"{entry} {counts}: slot {b} has no token but nonzero logits")
                continue
            t = self.lengths[b] + counts[b] - 1
            want = self.forward[(b * self.width + t) * v:(b * self.width + t + 1) * v]
            worst = max(worst, relative_error(got, want))
        new_lengths = out["cache_lengths_out"][2]
        if new_lengths != [n + c for n, c in zip(self.lengths, counts)]:
            raise RuntimeError(f"{entry} {counts}: cache_lengths_out {new_lengths}, "
                               f"expected {self.lengths} + {counts}")
        caches = {name: (dtype, shape, out[name + "_out"][2])
                  for name, (dtype, shape, _) in self.caches.items()}
        for b in range(b_):
            if counts[b]:
                continue
            for name, (_, _, old) in self.caches.items():
                per = len(old) // b_
                if old[b * per:(b + 1) * per] != caches[name][2][b * per:(b + 1) * per]:
                    raise RuntimeError(f"{entry} {counts}: slot {b} has no token but its "
                                       f"{name} changed")
        self.caches, self.lengths = caches, new_lengths
        self.worst = max(self.worst, worst)
        return worst


# Prefill then decode against forward: relative L2 error of each step's
# logits (the active slots') at most 1e-5. Both paths compute in f32 with
# the same weights: the cached path reads keys and values from the caches,
# resumes the lightning state of the previous call (after a prefill, the
# state after each sequence's own length: lambda^n S + the decay-weighted
# sum of its keys, see MiniMaxImporter.cpp) and steps the recurrence one
# token at a time, each a different f32 rounding order than forward's
# blocked algorithm (the runs measure 2-4e-7 through 4-8 layers); a wrong
# position, a padded token leaking in or a stale state moves the logits by
# 1e-2 or more.
CACHED_TOLERANCE = 1e-5


def cached_check(bin_dir, work, preset, artifact):
    """Prompts of 5, 1 and 9 tokens in one prefill, 3 decode steps, a decode
    step and a prefill of 2 and 1 more tokens with slot 1 idle, a last
    decode step: every step's logits against forward, and slot 1's caches
    and length unchanged while it is idle."""
    ckpt = os.path.join(work, preset)
    weights = os.path.join(ckpt, "model.safetensors")
    vocab = json.load(open(os.path.join(ckpt, "config.json")))["vocab_size"]
    seed = random.randrange(1 << 31)
    rng = random.Random(seed)
    prompts, steps = [5, 1, 9], 3
    # Each sequence: its prompt and the 6 tokens of the later calls.
    width = max(prompts) + steps + 3
    seqs = [[rng.randrange(vocab) for _ in range(width)] for _ in prompts]
    c = Cached(bin_dir, work, artifact, weights, 3, vocab, seqs, rng)
    plan = [("prefill", prompts, max(prompts))] + [("decode", [1, 1, 1], 1)] * steps + [
        ("decode", [1, 0, 1], 1), ("prefill", [2, 0, 1], 4), ("decode", [1, 1, 1], 1)]
    errors = [c.step(entry, counts, w) for entry, counts, w in plan]
    ok = c.worst <= CACHED_TOLERANCE
    print(f"{preset} prefill {prompts} + {steps} decode steps, slot 1 idle for a decode step "
          f"and a prefill of [2, 0, 1] (seed {seed}): relative error per step "
          f"{' '.join(f'{e:.1e}' for e in errors)}, idle slot unchanged "
          f"{'PASS' if ok else 'FAIL'} (tolerance {CACHED_TOLERANCE})")
    # Bad counts and lengths fail the call with a message naming the
    # argument (or, past the KV cache, the cache write).
    caches = dict(c.caches)
    bad = [("prefill", "prompt_lengths", [10, 1, 9], [0, 0, 0], 9, "'prompt_lengths': id 10"),
           ("prefill", "prompt_lengths", [3, -1, 2], [0, 0, 0], 9, "'prompt_lengths': id -1"),
           ("decode", "active", [1, 2, 1], [3, 3, 3], 1, "'active': id 2"),
           ("decode", "active", [1, 1, 1], [3, -2, 3], 1, "'cache_lengths': id -2")]
    keys = [name for name in caches if name.endswith("key_cache")]
    if keys:
        context = caches[keys[0]][1][1]
        bad.append(("prefill", "prompt_lengths", [1, 1, 1], [0, context - 3, 0], 4,
                    "hymir.kv_cache_write at"))
    for entry, counts_name, counts, lengths, w, expect in bad:
        tensors = {"input_ids": ("I32", [3, w], [0] * 3 * w), counts_name: ("I32", [3], counts),
                   "cache_lengths": ("I32", [3], lengths)}
        tensors.update(caches)
        path = os.path.join(work, "bad.safetensors")
        write_tensors(path, tensors)
        r = subprocess.run([os.path.join(bin_dir, "hymir-run"), artifact, "--entry", entry,
                            "--device", "cpu", "--inputs", path, "--weights", weights,
                            "--outputs", os.path.join(work, "bad-out.safetensors")],
                           capture_output=True, text=True)
        message = (r.stderr.strip().splitlines() or ["?"])[-1]
        if r.returncode == 0 or expect not in message:
            print(f"FAIL {preset} {entry} {counts_name}={counts} cache_lengths={lengths} T={w}: "
                  f"expected an error with {expect!r}, got rc {r.returncode}: {message}")
            ok = False
        else:
            print(f"{preset} {entry} {counts_name}={counts} cache_lengths={lengths} T={w} fails: "
                  f"{message}")
    return ok


def main():
    bin_dir = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as work:
        for case in CASES:
            try:
                artifact, weights = check_case(bin_dir, work, *case)
            except (RuntimeError, StopIteration) as e:
                print(f"FAIL {case[0]} {case[1]} batch {case[2]}: {e}")
                failures += 1

        for preset, batch in (("m1", 3), ("hf", 2), ("m1-partial", 2)):
            if not independent_check(bin_dir, work, preset, batch):
                failures += 1

        # prefill and decode, batch 3, f32, against forward of the same
        # artifact.
        for preset in ("m1", "hf", "m1-partial"):
            artifact = os.path.join(work, f"{preset}-f32-b3.hymir")
            try:
                if not os.path.exists(artifact):
                    import_and_compile(bin_dir, work, preset, "f32", 3, CACHED_ENTRIES)
                if not cached_check(bin_dir, work, preset, artifact):
                    failures += 1
            except RuntimeError as e:
                print(f"FAIL {preset} prefill/decode: {e}")
                failures += 1

        # Shards: the same module as the single file (but for the header
        # line naming the source).
        sharded = os.path.join(work, "hf-sharded")
        run([sys.executable, MAKE, sharded, "--preset", "hf", "--seed", "7", "--shards", "3"])
        texts = []
        for d in (os.path.join(work, "hf"), sharded):
            text = run([os.path.join(bin_dir, "hymir-import"), d, "-o", "-"])
            texts.append([l for l in text.splitlines() if not l.startswith("// Imported by")])
        if texts[0] != texts[1]:
            print("FAIL a sharded checkpoint imports to another module than its single file")
            failures += 1
        else:
            print("sharded checkpoint (3 shards, index): same module as the single file")
        # ... and binds from its shards at run time (the index, or the
        # directory), checked against the oracle reading them too.
        inputs = os.path.join(work, "sharded-in.safetensors")
        run([os.path.join(bin_dir, "hymir-reference"), os.path.join(work, "hf-f32-b2.mlir"),
             "--function", "forward", "--tokens", "11", "--weights",
             os.path.join(work, "hf", "model.safetensors"), "--write-inputs", inputs])
        for weights in (os.path.join(sharded, "model.safetensors.index.json"), sharded):
            out = run([os.path.join(bin_dir, "hymir-run"), os.path.join(work, "hf-f32-b2.hymir"),
                       "--entry", "forward", "--device", "cpu", "--inputs", inputs, "--weights",
                       weights, "--outputs", os.path.join(work, "out.safetensors"), "--check"])
            line = next(l for l in out.splitlines() if l.startswith("check logits"))
            print(f"weights from the shards ({os.path.basename(weights)}): {line}")

        # Past the positions table: the call fails, it never reads past it.
        inputs = os.path.join(work, "long.safetensors")
        mlir = os.path.join(work, "m1-f32-b1.mlir")
        run([os.path.join(bin_dir, "hymir-reference"), mlir, "--function", "forward",
             "--tokens", "8", "--seed", "1", "--weights", os.path.join(work, "m1", "model.safetensors"),
             "--write-inputs", inputs])
        small = os.path.join(work, "small.mlir")
        run([os.path.join(bin_dir, "hymir-import"), os.path.join(work, "m1"), "-o", small,
             "--activation=f32", "--max-context=4", "--entries=forward"])
        run([os.path.join(bin_dir, "hymir-compile"), small, "-o", small + ".hymir",
             "--target=cpu", "--max-tokens=64"])
        r = subprocess.run([os.path.join(bin_dir, "hymir-run"), small + ".hymir", "--entry",
                            "forward", "--device", "cpu", "--inputs", inputs, "--weights",
                            os.path.join(work, "m1", "model.safetensors"), "--outputs",
                            os.path.join(work, "out.safetensors")],
                           capture_output=True, text=True)
        if r.returncode == 0:
            print("FAIL 8 tokens past a context of 4 ran")
            failures += 1
        else:
            print("8 tokens past --max-context=4 fail the call: " +
                  (r.stderr.strip().splitlines() or ["?"])[-1])
    if failures:
        print(f"{failures} case(s) failed")
        return 1
    print("imported model: every case PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
