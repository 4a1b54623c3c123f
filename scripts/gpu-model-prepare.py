#!/usr/bin/env python3
"""Prepares the whole-model share of a GPU bundle (scripts/gpu-bundle).

For the m1 preset of scripts/make-checkpoint.py, in OUT:
  bf16/ model.safetensors, model.hymir (cuda), ids.safetensors: `forward`
        on fixed ids; gpu-check runs it with --check (the oracle on the
        artifact's reference program).
  f32/  model.safetensors, model.hymir (cuda), prompts.jsonl and
        expected.jsonl: hymir-generate's greedy tokens on the cpu target
        (f32 weights and activations, so cuda must give the same tokens
        unless two logits nearly tie; gpu-check prints the first
        divergence with the cpu log-probs there).
Usage: gpu-model-prepare.py BIN_DIR OUT
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
from e2e_util import write_tensors  # noqa: E402

CONTEXT = 128
PROMPTS = [[3, 17, 42, 5, 99, 12, 7, 64], [1, 2, 3], [100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 5]]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("gpu-model-prepare: failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def main():
    bin_dir, out = sys.argv[1], sys.argv[2]
    tool = lambda name: os.path.join(bin_dir, name)
    with tempfile.TemporaryDirectory() as tmp:
        for dtype in ("bf16", "f32"):
            d = os.path.join(out, dtype)
            os.makedirs(d, exist_ok=True)
            ckpt = os.path.join(tmp, "ckpt_" + dtype)
            run([sys.executable, os.path.join(ROOT, "scripts", "make-checkpoint.py"),
                 "--preset", "m1", "--seed", "7", "--dtype", dtype, ckpt])
            mlir = os.path.join(tmp, dtype + ".mlir")
            run([tool("hymir-import"), ckpt, "-o", mlir, "--max-batch=3",
                 f"--max-context={CONTEXT}", f"--activation={dtype}"])
            run([tool("hymir-compile"), mlir, "-o", os.path.join(d, "model.hymir"),
                 "--target=cuda", f"--max-tokens={CONTEXT}"])
            os.replace(os.path.join(ckpt, "model.safetensors"),
                       os.path.join(d, "model.safetensors"))
            if dtype == "bf16":
                # forward's batch is the import's --max-batch (3).
                ids = [(7 * i + 3) % 128 for i in range(3 * 8)]
                write_tensors(os.path.join(d, "ids.safetensors"),
                              {"input_ids": ("I32", [3, 8], ids)})
                continue
            with open(os.path.join(d, "prompts.jsonl"), "w") as f:
                for p in PROMPTS:
                    f.write(json.dumps(p) + "\n")
            cpu = os.path.join(tmp, "cpu.hymir")
            run([tool("hymir-compile"), mlir, "-o", cpu, "--target=cpu",
                 f"--max-tokens={CONTEXT}"])
            expected = run([tool("hymir-generate"), cpu, "--weights",
                            os.path.join(d, "model.safetensors"), "--prompts",
                            os.path.join(d, "prompts.jsonl"), "--max-new-tokens", "32"])
            with open(os.path.join(d, "expected.jsonl"), "w") as f:
                f.write(expected)
    print("gpu-model-prepare: whole-model share in", out)


if __name__ == "__main__":
    main()
