#!/usr/bin/env python3
"""Prepares the CUDA-graph check of the decode step (cuda_graphs_gpu_check.py)
on the build machine.

MODEL_DIR is a folder scripts/gpu-model-prepare.py made (its f32/ share: a
cuda model.hymir of the tiny M1 import, model.safetensors, prompts.jsonl),
or OUT itself (f32/ is then used). This adds decode_inputs.safetensors there:
the `decode` entry's inputs read from `hymir-dump` (input_ids 1, every slot
active, cache lengths 0, zero caches), so that hymir-bench can time decode
without --set. Writes F32, BF16 and I32 inputs.
Usage: cuda_graphs_gpu_prepare.py BIN_DIR MODEL_DIR
"""
import json
import os
import re
import struct
import subprocess
import sys

ELEMENT = {"F32": 4, "BF16": 2, "I32": 4}


def model_dir(path):
    f32 = os.path.join(path, "f32")
    return f32 if os.path.isdir(f32) else path


def decode_inputs(bin_dir, artifact):
    """[(name, dtype, shape)] of entry decode, from hymir-dump."""
    r = subprocess.run([os.path.join(bin_dir, "hymir-dump"), artifact], capture_output=True,
                       text=True)
    if r.returncode != 0:
        sys.exit(f"cuda_graphs_gpu_prepare: hymir-dump {artifact} failed:\n{r.stderr}")
    inputs, inside = [], False
    for line in r.stdout.splitlines():
        if line.startswith("entry "):
            inside = line.strip() == "entry decode"
            continue
        m = re.match(r"\s+input \d+ (\S+): (\w+)\[([\d, ]*)\]", line) if inside else None
        if m:
            shape = [int(d) for d in m.group(3).split(",") if d.strip()]
            inputs.append((m.group(1), m.group(2), shape))
    if not inputs:
        sys.exit(f"cuda_graphs_gpu_prepare: {artifact} has no entry 'decode' (hymir-dump)")
    return inputs


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    bin_dir, folder = sys.argv[1], model_dir(sys.argv[2])
    artifact = os.path.join(folder, "model.hymir")
    header, blobs, offset = {}, [], 0
    for name, dtype, shape in decode_inputs(bin_dir, artifact):
        if dtype not in ELEMENT:
            sys.exit(f"cuda_graphs_gpu_prepare: decode input {name} is {dtype}")
        count = 1
        for d in shape:
            count *= d
        if name in ("input_ids", "active"):
            blob = struct.pack(f"<{count}i", *([1] * count))
        else:  # cache lengths and caches: empty
            blob = bytes(count * ELEMENT[dtype])
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    out = os.path.join(folder, "decode_inputs.safetensors")
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    print("cuda_graphs_gpu_prepare: wrote", out)


if __name__ == "__main__":
    main()
