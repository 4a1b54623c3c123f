#!/usr/bin/env python3
"""Rewrites a MiniMax-M1 checkpoint whose experts are stored one tensor each
(model.layers.L.block_sparse_moe.experts.E.{w1,w3,w2}.weight, as the
released checkpoints and make-checkpoint.py's m1 preset store them) with the
experts of each layer stacked into one tensor each, named as
`hymir-import --no-weights --weight-layout=stacked` declares them:
model.layers.L.mlp.experts.{w1,w3,w2} ([E, I, N], [E, I, N], [E, N, I]) and
the router model.layers.L.mlp.gate.weight. Every other tensor is copied
as it is.

Why: hymir-shard places experts on devices (expert parallelism, E / N per
device) only when they are one parameter, split along dim 0; experts
stored one tensor each are split by their intermediate dim instead (tensor
parallel). With the stacked copy:

  scripts/stack-experts.py CKPT OUT
  hymir-import OUT --no-weights --weight-layout=stacked -o m.mlir ...
  hymir-compile m.mlir --devices=8 --shard-moe=expert ...
  hymir-run m.hymir --weights OUT ...

CKPT is a checkpoint directory (model.safetensors, or its shards and
model.safetensors.index.json). OUT gets config.json (and the tokenizer's
files) copied, one safetensors file per layer plus one for the rest, and
model.safetensors.index.json naming them. Tensors are read through mmap and
written one at a time: a layer's stacked experts are the only large buffer
(3.6 GB per tensor at M1's size). Plain python3.
Usage: stack-experts.py CKPT OUT
"""
import json
import mmap
import os
import re
import shutil
import struct
import sys

EXPERT = re.compile(r"model\.layers\.(\d+)\.block_sparse_moe\.experts\.(\d+)\.(w[123])\.weight$")
GATE = re.compile(r"model\.layers\.(\d+)\.block_sparse_moe\.gate\.weight$")


class Source:
    """The tensors of a checkpoint directory, by name, read through mmap."""

    def __init__(self, ckpt):
        index = os.path.join(ckpt, "model.safetensors.index.json")
        if os.path.exists(index):
            files = sorted(set(json.load(open(index))["weight_map"].values()))
        elif os.path.exists(os.path.join(ckpt, "model.safetensors")):
            files = ["model.safetensors"]
        else:
            sys.exit(f"stack-experts: {ckpt} has neither model.safetensors nor "
                     f"model.safetensors.index.json")
        self.specs, self.maps = {}, []
        for name in files:
            f = open(os.path.join(ckpt, name), "rb")
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            n = struct.unpack("<Q", data[:8])[0]
            for key, spec in json.loads(data[8:8 + n]).items():
                if key != "__metadata__":
                    self.specs[key] = (spec, len(self.maps), 8 + n)
            self.maps.append(data)

    def bytes(self, name):
        spec, m, base = self.specs[name]
        a, b = spec["data_offsets"]
        return self.maps[m][base + a:base + b]


def plan(src):
    """The output tensors, grouped by file: name -> (dtype, shape, [sources])."""
    experts = {}
    for name in src.specs:
        m = EXPERT.match(name)
        if m:
            experts.setdefault((int(m.group(1)), m.group(3)), {})[int(m.group(2))] = name
    groups = {}
    for name, (spec, _, _) in src.specs.items():
        if EXPERT.match(name):
            continue
        m = GATE.match(name)
        out = f"model.layers.{m.group(1)}.mlp.gate.weight" if m else name
        layer = re.match(r"model\.layers\.(\d+)\.", name)
        key = int(layer.group(1)) if layer else -1
        groups.setdefault(key, {})[out] = (spec["dtype"], spec["shape"], [name])
    for (layer, w), by_index in sorted(experts.items()):
        count = len(by_index)
        if sorted(by_index) != list(range(count)):
            sys.exit(f"stack-experts: layer {layer} {w}: experts {sorted(by_index)} are not "
                     f"0..{count - 1}")
        names = [by_index[e] for e in range(count)]
        first = src.specs[names[0]][0]
        for n in names[1:]:
            s = src.specs[n][0]
            if s["dtype"] != first["dtype"] or s["shape"] != first["shape"]:
                sys.exit(f"stack-experts: {n} is {s['dtype']} {s['shape']}, but {names[0]} "
                         f"is {first['dtype']} {first['shape']}: experts stack only alike")
        groups.setdefault(layer, {})[f"model.layers.{layer}.mlp.experts.{w}"] = (
            first["dtype"], [count] + first["shape"], names)
    return groups


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: stack-experts.py CKPT OUT")
    ckpt, out = sys.argv[1], sys.argv[2]
    src = Source(ckpt)
    groups = plan(src)
    if not any(".mlp.experts." in n for g in groups.values() for n in g):
        sys.exit(f"stack-experts: {ckpt} has no per-expert tensors "
                 f"(model.layers.L.block_sparse_moe.experts.E.w1.weight)")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(ckpt):
        if (name.endswith(".json") and name != "model.safetensors.index.json") or \
                name.startswith("tokenizer"):
            shutil.copy(os.path.join(ckpt, name), os.path.join(out, name))
    weight_map = {}
    for key in sorted(groups):
        fname = "model-rest.safetensors" if key < 0 else f"model-layer-{key:05d}.safetensors"
        header, offset = {}, 0
        for name, (dtype, shape, parts) in groups[key].items():
            size = sum(len(src.bytes(p)) for p in parts)
            header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
            offset += size
            weight_map[name] = fname
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        with open(os.path.join(out, fname), "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text)
            for name, (_, _, parts) in groups[key].items():
                for p in parts:
                    f.write(src.bytes(p))
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=1)
    stacked = sum(".mlp.experts." in n for n in weight_map)
    print(f"stack-experts: wrote {out}: {len(weight_map)} tensors in "
          f"{len(set(weight_map.values()))} files, {stacked} of them stacked experts")


if __name__ == "__main__":
    main()
