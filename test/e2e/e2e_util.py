"""Helpers shared by the end-to-end matrix scripts: running a tool, and
rewriting one tensor of a safetensors file in place (same dtype and size)."""
import json
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
