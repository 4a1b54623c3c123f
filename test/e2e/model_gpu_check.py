#!/usr/bin/env python3
"""The whole-model checks of scripts/gpu-check on the GPU host, on the share
scripts/gpu-model-prepare.py made: `forward` of the bf16 import against the
oracle (hymir-run --check), then greedy generation of the f32 import with
hymir-generate on cuda against the cpu tokens made on the build machine,
with every stepper the tool offers. Exits non-zero when a check fails.
Usage: model_gpu_check.py BIN_DIR MODEL_DIR DEVICE
"""
import json
import os
import subprocess
import sys


def main():
    bin_dir, model, device = sys.argv[1:4]
    failed = 0
    bf16 = os.path.join(model, "bf16")
    r = subprocess.run([os.path.join(bin_dir, "hymir-run"), os.path.join(bf16, "model.hymir"),
                        "--entry", "forward", "--device", device, "--weights",
                        os.path.join(bf16, "model.safetensors"), "--inputs",
                        os.path.join(bf16, "ids.safetensors"), "--outputs", "/tmp/model-out.safetensors",
                        "--check", "--tolerance", "3e-2"], capture_output=True, text=True)
    print(r.stdout.strip()[-600:], r.stderr.strip()[-600:])
    print("model bf16 forward vs oracle:", "PASS" if r.returncode == 0 else "FAIL")
    failed += r.returncode != 0
    f32 = os.path.join(model, "f32")
    with open(os.path.join(f32, "expected.jsonl")) as f:
        expected = {d["index"]: d for d in map(json.loads, f) if "finish_reason" in d}
    help_text = subprocess.run([os.path.join(bin_dir, "hymir-generate"), "--help"],
                               capture_output=True, text=True).stdout
    steppers = [[]] + ([["--stepper", s] for s in ("forward", "cache")]
                       if "--stepper" in help_text else [])
    for extra in steppers:
        what = " ".join(extra) or "default stepper"
        r = subprocess.run([os.path.join(bin_dir, "hymir-generate"), os.path.join(f32, "model.hymir"),
                            "--weights", os.path.join(f32, "model.safetensors"), "--prompts",
                            os.path.join(f32, "prompts.jsonl"), "--max-new-tokens", "32",
                            "--device", device] + extra, capture_output=True, text=True)
        print(r.stderr.strip()[-800:])
        if r.returncode != 0:
            print(f"model f32 generate ({what}): FAIL (exit {r.returncode})")
            failed += 1
            continue
        got = {d["index"]: d for d in map(json.loads, r.stdout.splitlines()) if "finish_reason" in d}
        ok = True
        for i, want in sorted(expected.items()):
            have = got.get(i)
            if have is None:
                print(f"  prompt {i}: no output")
                ok = False
                continue
            if have["tokens"] != want["tokens"]:
                k = next((j for j, (a, b) in enumerate(zip(have["tokens"], want["tokens"])) if a != b),
                         min(len(have["tokens"]), len(want["tokens"])))
                print(f"  prompt {i}: diverges at new token {k}: cuda {have['tokens'][k:k+3]} "
                      f"cpu {want['tokens'][k:k+3]}, cpu log-prob there {want['logprobs'][k]:.6f}")
                ok = False
            else:
                diff = max(abs(a - b) for a, b in zip(have["logprobs"], want["logprobs"]))
                print(f"  prompt {i}: {len(have['tokens'])} tokens identical, "
                      f"largest log-prob difference {diff:.2e}")
        print(f"model f32 generate ({what}) vs cpu:", "PASS" if ok else "FAIL")
        failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
