#!/usr/bin/env python3
"""hymir's imported model against transformers' MiniMaxForCausalLM, on the
cpu target, from golden data made on the GPU host by scripts/make-golden.py
(test/e2e/golden/<preset>/: fixed ids, transformers' f32 logits, its greedy
generation with the top-two logit gap of each step).

For each preset: the tiny checkpoint is rebuilt with scripts/make-checkpoint.py
(its sha256 must be the one the data was made from), imported with f32
activations, compiled for cpu, and
  - forward on the golden ids: logits within 1e-4 relative (L2) of
    transformers' f32 logits (both f32: measured differences are f32
    rounding, about 1e-6; the m1 preset also carries transformers' variant
    of the decay-rate layer factor, under 1e-5 relative);
  - greedy generation of 64 tokens from the golden prompt, by calling
    forward on the whole sequence for each new token (the argmax of the
    last position), and again through the caches (prefill of the prompt,
    then one decode call per token): identical to transformers' tokens, or
    diverging only at a near tie, which is printed: transformers' top two
    logits within 1e-3 and hymir's logits of the two tokens within 1e-3 too
    (f32 rounding may break such a tie either way; the tokens after it no
    longer compare).
Without golden data the test is skipped (exit 77) with the command that
makes it.
Usage: golden_transformers.py BIN_DIR [GOLDEN_DIR]
"""
import hashlib
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import entry_inputs, read_tensor, read_tensors, run, write_tensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE = os.path.join(ROOT, "scripts", "make-checkpoint.py")
LOGITS_TOLERANCE = 1e-4
NEAR_TIE = 1e-3
SKIP = 77


def write_ids(path, rows):
    values = [i for row in rows for i in row]
    header = {"input_ids": {"dtype": "I32", "shape": [len(rows), len(rows[0])],
                            "data_offsets": [0, 4 * len(values)]}}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + struct.pack(f"<{len(values)}i", *values))


def check_preset(bin_dir, golden, work):
    meta = json.load(open(os.path.join(golden, "generate.json")))
    preset, seed = meta["preset"], meta["seed"]
    ckpt = os.path.join(work, preset)
    run([sys.executable, MAKE, ckpt, "--preset", preset, "--seed", str(seed)])
    weights = os.path.join(ckpt, "model.safetensors")
    digest = hashlib.sha256(open(weights, "rb").read()).hexdigest()
    if digest != meta["checkpoint_sha256"]:
        print(f"FAIL {preset}: scripts/make-checkpoint.py no longer writes the checkpoint the "
              "golden data was made from (sha256 differs): rerun scripts/make-golden.py on "
              "the GPU host")
        return False
    ok = True
    tool = lambda name: os.path.join(bin_dir, name)  # noqa: E731
    total = len(meta["prompt"]) + len(meta["tokens"])

    # Forward on the golden ids, batch 2.
    ids = os.path.join(golden, "ids.safetensors")
    batch = len(read_tensor_int(ids))
    mlir = os.path.join(work, preset + "-forward.mlir")
    run([tool("hymir-import"), ckpt, "-o", mlir, "--activation=f32", f"--max-batch={batch}",
         f"--max-context={total}", "--entries=forward"])
    run([tool("hymir-compile"), mlir, "-o", mlir + ".hymir", "--target=cpu",
         f"--max-tokens={total}"])
    try:
        out = run([tool("hymir-run"), mlir + ".hymir", "--entry", "forward", "--device", "cpu",
                   "--inputs", ids, "--weights", weights, "--outputs",
                   os.path.join(work, "out.safetensors"), "--reference",
                   os.path.join(golden, "logits.safetensors"), "--tolerance",
                   str(LOGITS_TOLERANCE)])
        line = next(l for l in out.splitlines() if l.startswith("check logits"))
        print(f"{preset} forward vs transformers: {line}")
    except RuntimeError as e:
        print(f"FAIL {preset} forward vs transformers: {e}")
        ok = False

    # Greedy generation, one forward call per new token. (Only the entries
    # this test runs are compiled: compiling is most of its time.)
    mlir = os.path.join(work, preset + "-greedy.mlir")
    run([tool("hymir-import"), ckpt, "-o", mlir, "--activation=f32", "--max-batch=1",
         f"--max-context={total}", "--entries=forward,prefill,decode"])
    run([tool("hymir-compile"), mlir, "-o", mlir + ".hymir", "--target=cpu",
         f"--max-tokens={total}"])
    artifact = mlir + ".hymir"
    inputs, outputs = os.path.join(work, "ids.safetensors"), os.path.join(work, "out.safetensors")

    def by_forward(seq):
        write_ids(inputs, [seq])
        run([tool("hymir-run"), artifact, "--entry", "forward", "--device", "cpu",
             "--inputs", inputs, "--weights", weights, "--outputs", outputs])
        logits = read_tensor(outputs, "logits")
        return logits[-(len(logits) // len(seq)):]

    ok &= greedy(preset, "greedy (forward per token)", meta, by_forward)

    # The same through the caches: prefill of the prompt (caches of zeros),
    # then one decode call per token, each fed the caches the last returned.
    caches = {name: (dtype, shape, [0] * prod(shape))
              for name, dtype, shape in entry_inputs(bin_dir, artifact, "prefill")[3:]}
    state = {"caches": caches, "length": 0}

    def by_caches(seq):
        new = seq[state["length"]:]
        entry = "prefill" if state["length"] == 0 else "decode"
        tensors = {"input_ids": ("I32", [1, len(new)], new),
                   ("prompt_lengths" if entry == "prefill" else "active"): ("I32", [1], [len(new)]),
                   "cache_lengths": ("I32", [1], [state["length"]])}
        tensors.update(state["caches"])
        write_tensors(inputs, tensors)
        run([tool("hymir-run"), artifact, "--entry", entry, "--device", "cpu",
             "--inputs", inputs, "--weights", weights, "--outputs", outputs])
        out = read_tensors(outputs)
        state["caches"] = {name: (dtype, shape, out[name + "_out"][2])
                           for name, (dtype, shape, _) in state["caches"].items()}
        state["length"] = out["cache_lengths_out"][2][0]
        return out["logits"][2]

    ok &= greedy(preset, "greedy (prefill, then decode per token)", meta, by_caches)
    return ok


def prod(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def greedy(preset, how, meta, next_logits):
    """Greedy generation of meta's tokens from its prompt, next_logits(seq)
    giving the logits after seq: identical tokens, or a divergence at a near
    tie (printed)."""
    seq = list(meta["prompt"])
    want = meta["tokens"]
    for step, expected in enumerate(want):
        last = next_logits(seq)
        vocab = len(last)
        order = sorted(range(vocab), key=lambda v: (-last[v], v))
        token = order[0]
        if token != expected:
            # A near tie: transformers' top two were within NEAR_TIE, and so
            # are hymir's logits of the two tokens.
            gap = meta["top2_gap"][step]
            ours = last[token] - last[expected]
            if gap < NEAR_TIE and ours < NEAR_TIE:
                print(f"{preset} {how}: diverges at step {step} (hymir {token}, transformers "
                      f"{expected}) on a near tie: transformers' top-2 gap {gap:.3g}, hymir's "
                      f"logits of the two {ours:.3g} apart; the {step} tokens before it are "
                      "identical")
                return True
            print(f"FAIL {preset} {how}: step {step}: hymir {token}, transformers {expected}: "
                  f"transformers' top-2 gap {gap:.3g}, hymir's logits of the two {ours:.3g} "
                  f"apart (a near tie is under {NEAR_TIE} in both)")
            return False
        seq.append(token)
    print(f"{preset} {how}: {len(want)} tokens identical to transformers' "
          f"(smallest top-2 gap {min(meta['top2_gap']):.3g})")
    return True


def read_tensor_int(path):
    """The rows of the I32 tensor input_ids."""
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    spec = json.loads(data[8:8 + n])["input_ids"]
    s, e = spec["data_offsets"]
    values = struct.unpack(f"<{(e - s) // 4}i", data[8 + n + s:8 + n + e])
    cols = spec["shape"][1]
    return [list(values[r * cols:(r + 1) * cols]) for r in range(spec["shape"][0])]


def main():
    bin_dir = sys.argv[1]
    golden_root = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "golden")
    presets = sorted(d for d in os.listdir(golden_root)
                     if os.path.exists(os.path.join(golden_root, d, "generate.json"))) \
        if os.path.isdir(golden_root) else []
    if not presets:
        print(f"skipped: no golden data in {golden_root}; make it on the GPU host with "
              f"scripts/make-golden.py {golden_root} (transformers 5.17)")
        return SKIP
    ok = True
    with tempfile.TemporaryDirectory() as work:
        for preset in presets:
            try:
                ok &= check_preset(bin_dir, os.path.join(golden_root, preset), work)
            except RuntimeError as e:
                print(f"FAIL {preset}: {e}")
                ok = False
    print("transformers golden data: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
