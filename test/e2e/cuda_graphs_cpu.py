#!/usr/bin/env python3
"""The CUDA-graph options where there is no GPU (CTest e2e/cpu/cuda-graphs).

On a tiny M1 import compiled for cpu:
  - hymir-generate --cuda-graphs on: accepted, the same tokens and log-probs
    as off, and a note that graphs are a cuda feature (no failure); the
    default on cpu is off and the note says so; --stepper forward says it
    runs no decode entry; a bad value is a usage error (exit 2).
  - hymir-bench --cuda-graphs: the plain line, then a line saying why no
    graph was used; a value given to it is a usage error.
(The GPU side is cuda_graphs_gpu_check.py.)
Usage: cuda_graphs_cpu.py BIN_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMPTS = [[5, 17, 99, 3], [116, 100, 72, 108, 68, 8, 96, 69], [42]]
failed = 0


def check(ok, what):
    global failed
    print(("PASS " if ok else "FAIL ") + what)
    failed += not ok


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r


def main():
    bin_dir = sys.argv[1]
    tool = lambda name: os.path.join(bin_dir, name)
    with tempfile.TemporaryDirectory() as work:
        ckpt = os.path.join(work, "ckpt")
        run([sys.executable, os.path.join(ROOT, "scripts", "make-checkpoint.py"), ckpt,
             "--preset", "m1", "--seed", "3"])
        mlir = os.path.join(work, "m.mlir")
        art = mlir + ".hymir"
        run([tool("hymir-import"), ckpt, "-o", mlir, "--activation=f32", "--max-batch=3",
             "--max-context=32", "--entries=forward,prefill,decode,logprobs"])
        run([tool("hymir-compile"), mlir, "-o", art, "--target=cpu", "--max-tokens=32"])
        weights = os.path.join(ckpt, "model.safetensors")
        base = [tool("hymir-generate"), art, "--weights", weights, "--max-new-tokens", "8"]
        for p in PROMPTS:
            base += ["--prompt", ",".join(map(str, p))]

        def generate(extra):
            r = subprocess.run(base + extra, capture_output=True, text=True)
            lines = [json.loads(l) for l in r.stdout.splitlines()]
            return r, sorted((d for d in lines if "finish_reason" in d), key=lambda d: d["index"])

        on, on_out = generate(["--cuda-graphs", "on"])
        off, off_out = generate(["--cuda-graphs=off"])
        dflt, _ = generate([])
        check(on.returncode == 0 and off.returncode == 0, "--cuda-graphs on and off run on cpu")
        check(len(on_out) == 3 and on_out == off_out,
              "the same tokens and log-probs with --cuda-graphs on and off")
        check("cuda graphs: not used for entry 'decode': CUDA graphs are a cuda feature" in on.stderr,
              "on cpu, --cuda-graphs on notes that graphs are a cuda feature")
        check("calls with plain launches" in on.stderr and
              "tokens/s" in on.stderr.strip().splitlines()[-1],
              "the note counts the plain calls, and the tokens/s line stays last")
        check("cuda graphs: off" in off.stderr and "cuda graphs: off" in dflt.stderr,
              "--cuda-graphs off, and the cpu default, note 'cuda graphs: off'")
        fwd, fwd_out = generate(["--cuda-graphs", "on", "--stepper", "forward"])
        check(fwd.returncode == 0 and "runs no decode entry" in fwd.stderr
              and [d["tokens"] for d in fwd_out] == [d["tokens"] for d in off_out],
              "--stepper forward with graphs: same tokens, notes it runs no decode entry")
        bad = subprocess.run(base + ["--cuda-graphs", "maybe"], capture_output=True, text=True)
        check(bad.returncode == 2 and "--cuda-graphs must be on or off, got 'maybe'" in bad.stderr,
              f"--cuda-graphs maybe is a usage error: exit {bad.returncode}: {bad.stderr.strip()}")

        # The decode inputs as the GPU prepare script writes them (it reads
        # hymir-dump), here for the cpu artifact.
        prepare = os.path.join(ROOT, "test", "e2e", "cuda_graphs_gpu_prepare.py")
        folder = os.path.join(work, "model")
        os.makedirs(folder)
        os.link(art, os.path.join(folder, "model.hymir"))
        run([sys.executable, prepare, bin_dir, folder])
        inputs = os.path.join(folder, "decode_inputs.safetensors")
        bench = [tool("hymir-bench"), art, "--entry", "decode", "--weights", weights,
                 "--inputs", inputs, "--warmup", "1", "--iterations", "3"]
        r = subprocess.run(bench + ["--cuda-graphs"], capture_output=True, text=True)
        lines = r.stdout.splitlines()
        check(r.returncode == 0 and len(lines) == 2 and lines[0].startswith("bench decode device=cpu")
              and lines[1].startswith("cuda graphs: not used for entry 'decode': CUDA graphs are a "
                                      "cuda feature"),
              f"hymir-bench --cuda-graphs on cpu: the plain line and why no graph: {r.stdout!r} "
              f"{r.stderr.strip()}")
        r = subprocess.run(bench + ["--cuda-graphs=1"], capture_output=True, text=True)
        check(r.returncode == 2 and "--cuda-graphs takes no value" in r.stderr,
              f"hymir-bench --cuda-graphs=1 is a usage error: {r.stderr.strip()}")
    print("cuda graphs on cpu:", "all PASS" if not failed else f"{failed} FAIL")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
