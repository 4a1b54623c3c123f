"""Helpers shared by the end-to-end matrix scripts: running a tool,
rewriting one tensor of a safetensors file in place (same dtype and size),
writing and reading whole F32/I32 safetensors files, and an artifact
entry's inputs."""
import json
import os
import struct
import subprocess


def run(cmd):
    """Runs `cmd`; its stdout, or RuntimeError with everything it printed."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed:\n%s%s" % (cmd[0], r.stdout, r.stderr))
    return r.stdout


def replace_tensor(path, name, make):
    """Replaces the bytes of tensor `name` by make(header_entry, old_bytes),
    which must return as many bytes; every other tensor stays as it is."""
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    s, e = header[name]["data_offsets"]
    body = bytearray(data[8 + n:])
    blob = make(header[name], bytes(body[s:e]))
    assert len(blob) == e - s, (name, len(blob), e - s)
    body[s:e] = blob
    with open(path, "wb") as f:
        f.write(data[:8 + n] + bytes(body))


def read_tensor(path, name):
    """The values of tensor `name` (F64, F32 or BF16) as a list of floats."""
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    spec = header[name]
    s, e = spec["data_offsets"]
    blob = data[8 + n + s:8 + n + e]
    if spec["dtype"] == "F64":
        return list(struct.unpack("<%dd" % (len(blob) // 8), blob))
    if spec["dtype"] == "F32":
        return list(struct.unpack("<%df" % (len(blob) // 4), blob))
    if spec["dtype"] == "BF16":
        halves = struct.unpack("<%dH" % (len(blob) // 2), blob)
        return list(struct.unpack("<%df" % len(halves),
                                  struct.pack("<%dI" % len(halves), *[h << 16 for h in halves])))
    raise ValueError("%s: dtype %s not handled" % (name, spec["dtype"]))


def relative_error(got, want):
    """||got - want|| / ||want|| (L2)."""
    num = sum((g - w) ** 2 for g, w in zip(got, want))
    den = sum(w * w for w in want)
    return (num / den) ** 0.5 if den > 0 else num ** 0.5


ST_FORMAT = {"F32": "f", "I32": "i"}


def write_tensors(path, tensors):
    """tensors: name -> (dtype "F32" or "I32", shape, list of values)."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, values) in tensors.items():
        blob = struct.pack(f"<{len(values)}{ST_FORMAT[dtype]}", *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_tensors(path):
    """name -> (dtype, shape, list of values) of an F32/I32 safetensors file."""
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    out = {}
    for name, spec in json.loads(data[8:8 + n]).items():
        if name == "__metadata__":
            continue
        s, e = spec["data_offsets"]
        fmt = ST_FORMAT[spec["dtype"]]
        out[name] = (spec["dtype"], spec["shape"],
                     list(struct.unpack(f"<{(e - s) // 4}{fmt}", data[8 + n + s:8 + n + e])))
    return out


def entry_inputs(bin_dir, artifact, entry):
    """[(name, dtype, shape)] of the entry's inputs, from hymir-dump (a
    dynamic dim is None)."""
    text = run([os.path.join(bin_dir, "hymir-dump"), artifact])
    section = text.split(f"\nentry {entry}\n", 1)[1].split("\nentry ", 1)[0]
    inputs = []
    for line in section.splitlines():
        line = line.strip()
        if line.startswith("input "):
            name, spec = line.split(" ", 2)[2].split(": ")
            dtype, shape = spec.rstrip("]").split("[")
            # A dynamic dim (the token count) reads as a name.
            inputs.append((name, dtype, [int(x) if x.isdigit() else None
                                         for x in shape.split(", ")]))
    return inputs
