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
from e2e_util import read_tensor, relative_error, run  # noqa: E402
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


def check_case(bin_dir, work, preset, act, batch, tokens, tol, fresh):
    ckpt = os.path.join(work, preset)
    if not os.path.exists(os.path.join(ckpt, "config.json")):
        run([sys.executable, MAKE, ckpt, "--preset", preset, "--seed", "7"])
    weights = os.path.join(ckpt, "model.safetensors")
    name = f"{preset}-{act}-b{batch}"
    mlir = os.path.join(work, name + ".mlir")
    artifact = os.path.join(work, name + ".hymir")
    run([os.path.join(bin_dir, "hymir-import"), ckpt, "-o", mlir, f"--activation={act}",
         f"--max-batch={batch}", f"--max-context={MAX_CONTEXT}"])
    run([os.path.join(bin_dir, "hymir-compile"), mlir, "-o", artifact, "--target=cpu",
         f"--max-tokens={MAX_CONTEXT}"])
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
             "--activation=f32", "--max-context=4"])
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
