#!/usr/bin/env python3
"""CUDA graphs for the decode step, on the GPU host.

MODEL_DIR: the f32 share scripts/gpu-model-prepare.py writes (or its OUT;
f32/ is then used): a cuda model.hymir of the tiny M1 import with prefill
and decode, model.safetensors, prompts.jsonl; cuda_graphs_gpu_prepare.py
adds decode_inputs.safetensors (needed only when hymir-bench has no --set).

1. hymir-generate greedy on the prompts with --cuda-graphs on and off: the
   same tokens, log-probs equal (printed: the largest difference), the note
   says graphs were used (on) and off (off); tokens/s of both.
2. The same with every prompt repeated to fill the slots over a longer run
   (more decode steps), tokens/s of both.
3. hymir-bench of the decode entry with --cuda-graphs: the median of plain
   launches and of graph replays, and their ratio.
Prints PASS/FAIL lines; exits 1 when a check fails.
Usage: cuda_graphs_gpu_check.py BIN_DIR MODEL_DIR [DEVICE (default cuda)]
"""
import json
import os
import re
import subprocess
import sys

failed = 0


def report(ok, what):
    global failed
    print(f"cuda graphs: {what}: {'PASS' if ok else 'FAIL'}")
    failed += not ok


def generate(bin_dir, folder, device, graphs, prompts_file, new_tokens):
    cmd = [os.path.join(bin_dir, "hymir-generate"), os.path.join(folder, "model.hymir"),
           "--weights", os.path.join(folder, "model.safetensors"), "--prompts", prompts_file,
           "--max-new-tokens", str(new_tokens), "--device", device, "--cuda-graphs", graphs,
           "--progress-every", "-1"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    print("  $", " ".join(cmd))
    for line in r.stderr.strip().splitlines():
        print("   ", line[-300:])
    if r.returncode != 0:
        return None, r.stderr, None
    done = {d["index"]: d for d in map(json.loads, r.stdout.splitlines()) if "finish_reason" in d}
    m = re.search(r"([\d.]+) tokens/s", r.stderr.strip().splitlines()[-1])
    return done, r.stderr, float(m.group(1)) if m else None


def compare(bin_dir, folder, device, prompts_file, new_tokens, what):
    on, on_err, on_rate = generate(bin_dir, folder, device, "on", prompts_file, new_tokens)
    off, off_err, off_rate = generate(bin_dir, folder, device, "off", prompts_file, new_tokens)
    if on is None or off is None:
        report(False, f"{what}: hymir-generate failed")
        return
    report("cuda graphs: used for entry 'decode'" in on_err,
           f"{what}: --cuda-graphs on replays the decode graph (the note)")
    report("cuda graphs: off" in off_err, f"{what}: --cuda-graphs off says so")
    same, diff = on.keys() == off.keys(), 0.0
    for i in sorted(off):
        a, b = on.get(i), off[i]
        if a is None or a["tokens"] != b["tokens"]:
            same = False
            if a is not None:
                k = next((j for j, (x, y) in enumerate(zip(a["tokens"], b["tokens"])) if x != y),
                         min(len(a["tokens"]), len(b["tokens"])))
                print(f"  prompt {i}: diverges at new token {k}: graphs {a['tokens'][k:k+3]} "
                      f"plain {b['tokens'][k:k+3]}")
            continue
        diff = max([diff] + [abs(x - y) for x, y in zip(a["logprobs"], b["logprobs"])])
    print(f"  {what}: {len(off)} sequences, largest log-prob difference {diff:.3g}")
    report(same and diff <= 1e-6, f"{what}: identical tokens and log-probs with and without")
    if on_rate and off_rate:
        print(f"cuda graphs: {what}: tokens/s graphs {on_rate:.1f} plain {off_rate:.1f} "
              f"(x{on_rate / off_rate:.2f})")


def bench(bin_dir, folder, device):
    tool = os.path.join(bin_dir, "hymir-bench")
    help_text = subprocess.run([tool, "--help"], capture_output=True, text=True).stdout
    cmd = [tool, os.path.join(folder, "model.hymir"), "--entry", "decode", "--weights",
           os.path.join(folder, "model.safetensors"), "--device", device, "--warmup", "10",
           "--iterations", "100", "--cuda-graphs"]
    if "--set" in help_text and "--restore" in help_text:
        cmd += ["--random-inputs", "1", "--set", "active=1", "--set", "cache_lengths=0",
                "--restore", "cache_lengths"]
    elif os.path.exists(os.path.join(folder, "decode_inputs.safetensors")):
        # Without --restore every run adds one token: 110 runs fit a context of 128.
        cmd += ["--inputs", os.path.join(folder, "decode_inputs.safetensors")]
    else:
        print("cuda graphs: bench skipped: hymir-bench has no --set and there is no "
              "decode_inputs.safetensors (run cuda_graphs_gpu_prepare.py)")
        return
    print("  $", " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(r.stdout.strip())
    if r.returncode != 0:
        print(r.stderr.strip()[-800:])
        report(False, "hymir-bench decode --cuda-graphs")
        return
    plain = re.search(r"^bench decode .*?median_ms=([\d.e+-]+)", r.stdout, re.M)
    graph = re.search(r"^bench decode .*cuda_graph=1 median_ms=([\d.e+-]+).*"
                      r"plain_over_graph=([\d.e+-]+)", r.stdout, re.M)
    report(plain is not None and graph is not None,
           "hymir-bench times decode as plain launches and as a graph")
    if plain and graph:
        print(f"cuda graphs: decode step median: plain {float(plain.group(1)) * 1e3:.1f} us, "
              f"graph {float(graph.group(1)) * 1e3:.1f} us (plain/graph "
              f"{float(graph.group(2)):.2f})")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    bin_dir, folder = sys.argv[1], sys.argv[2]
    device = sys.argv[3] if len(sys.argv) > 3 else "cuda"
    if os.path.isdir(os.path.join(folder, "f32")):
        folder = os.path.join(folder, "f32")
    prompts_file = os.path.join(folder, "prompts.jsonl")
    compare(bin_dir, folder, device, prompts_file, 32, "greedy, 32 new tokens")
    # Longer: the prompts three times over (continuous batching over the
    # slots), 96 new tokens each (the context is 128).
    with open(prompts_file) as f:
        prompts = [l for l in f.read().splitlines() if l.strip()]
    longer = os.path.join(folder, "prompts_x3.jsonl")
    try:
        with open(longer, "w") as f:
            f.write("\n".join(prompts * 3) + "\n")
    except OSError:
        longer = "/tmp/cuda_graphs_prompts_x3.jsonl"
        with open(longer, "w") as f:
            f.write("\n".join(prompts * 3) + "\n")
    compare(bin_dir, folder, device, longer, 96, "greedy, 9 prompts, 96 new tokens")
    bench(bin_dir, folder, device)
    print("cuda graphs:", "all PASS" if not failed else f"{failed} FAIL")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
