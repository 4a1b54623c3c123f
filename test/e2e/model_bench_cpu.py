#!/usr/bin/env python3
"""The pieces of the M1-width model benchmark (bench/model_bench.py, issue 13
item 8) on the cpu target with a tiny config, so CI sees them without a GPU:

- hymir-import --no-weights of a config.json alone, compiled for cpu;
- --weight-layout=stacked (mlp.experts.w1, w3, w2: no slicing copy) bound
  from the tiny transformers-layout checkpoint split into those tensors
  gives forward's logits bit for bit as the transformers-layout import;
- hymir-run of it without weights fails with a message saying to bind them;
  with --random-weights it runs (bench/model_bench.py's agreement check:
  prefill's last logits, finite), and refuses --check and --weights beside;
- hymir-bench --random-weights (parameters made on the device) times
  prefill with --set prompt_lengths=T --set cache_lengths=0 and
  --restore cache_lengths over more runs than the KV cache holds (each run
  starts afresh; without --restore the third run overruns the cache and
  fails with its message), and decode at a set cache position;
- hymir-bench's refusals: --weights with --random-weights, --set or
  --restore of an input the entry lacks, a non-integer value for an i32;
- bench/model_bench.py's floors from the artifact's parameter listing
  (hymir-dump), and its plain-Python value rule against the first values
  RandomWeightsTest pins.
Usage: model_bench_cpu.py BIN_DIR
"""
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTEXT = 64


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(cmd, want_rc=0, contains=None):
    r = subprocess.run(cmd, capture_output=True, text=True)
    out = r.stdout + r.stderr
    ok = (r.returncode == 0) if want_rc == 0 else (r.returncode != 0)
    if not ok or (contains and contains not in out):
        sys.exit("FAIL: %s\nexit %d, wanted %s%s\n%s" % (
            " ".join(cmd), r.returncode, "0" if want_rc == 0 else "non-zero",
            "" if not contains else " and '%s'" % contains, out[-3000:]))
    return out


def split_experts(src, dst, intermediate):
    """A copy of safetensors file `src` with each mlp.experts.gate_up_proj
    [E, 2I, N] written as mlp.experts.w1 and w3 [E, I, N] and each down_proj
    as w2 (bytes as they are)."""
    with open(src, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        a, b = spec["data_offsets"]
        blob, shape = body[a:b], spec["shape"]
        if name.endswith("mlp.experts.gate_up_proj"):
            e, rows, width = shape
            size = 2  # BF16
            per = rows * width * size
            half = intermediate * width * size
            w1 = b"".join(blob[x * per:x * per + half] for x in range(e))
            w3 = b"".join(blob[x * per + half:(x + 1) * per] for x in range(e))
            stem = name[:-len("gate_up_proj")]
            out[stem + "w1"] = (spec["dtype"], [e, intermediate, width], w1)
            out[stem + "w3"] = (spec["dtype"], [e, intermediate, width], w3)
        elif name.endswith("mlp.experts.down_proj"):
            out[name[:-len("down_proj")] + "w2"] = (spec["dtype"], shape, blob)
        else:
            out[name] = (spec["dtype"], shape, blob)
    parts, head, offset = [], {}, 0
    for name, (dtype, shape, blob) in out.items():
        head[name] = {"dtype": dtype, "shape": shape,
                      "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        parts.append(blob)
    text = json.dumps(head).encode()
    text += b" " * (-len(text) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(parts))


def main():
    bin_dir = sys.argv[1]
    tool = lambda name: os.path.join(bin_dir, name)
    make = load(os.path.join(ROOT, "scripts", "make-checkpoint.py"), "make_checkpoint")
    bench = load(os.path.join(ROOT, "bench", "model_bench.py"), "model_bench")
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model")
        os.makedirs(model)
        with open(os.path.join(model, "config.json"), "w") as f:
            json.dump(make.preset_config("hf"), f)
        mlir, art = os.path.join(tmp, "m.mlir"), os.path.join(tmp, "m.hymir")
        # The entries run here (compiling is most of this test's time).
        run([tool("hymir-import"), model, "-o", mlir, "--no-weights", "--max-batch=2",
             "--max-context=%d" % CONTEXT, "--lm-head=bf16", "--entries=forward,prefill,decode"])
        run([tool("hymir-compile"), mlir, "-o", art, "--target=cpu",
             "--max-tokens=%d" % CONTEXT])
        ids = os.path.join(tmp, "ids.safetensors")
        sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
        from e2e_util import write_tensors
        write_tensors(ids, {"input_ids": ("I32", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8])})
        run([tool("hymir-run"), art, "--entry", "forward", "--inputs", ids, "--outputs",
             os.path.join(tmp, "out.safetensors")], 1, "none are bound")

        hb = [tool("hymir-bench"), art, "--random-weights", "3"]
        T = 40  # 3 runs x 40 tokens > the cache's 64: only --restore keeps them fresh
        prefill = hb + ["--entry", "prefill", "--random-inputs", str(T), "--set",
                        "prompt_lengths=%d" % T, "--set", "cache_lengths=0", "--warmup", "1",
                        "--iterations", "2"]
        out = run(prefill + ["--restore", "cache_lengths"], 0, "bench prefill device=cpu")
        print(out.strip().splitlines()[-1])
        run(prefill, 1, "cache_lengths")
        out = run(hb + ["--entry", "decode", "--random-inputs", "1", "--set", "active=1",
                        "--set", "cache_lengths=16", "--warmup", "1", "--iterations", "3"],
                  0, "bench decode device=cpu")
        print(out.strip().splitlines()[-1])
        run(hb + ["--weights", ids, "--entry", "decode", "--random-inputs", "1"], 1,
            "--weights and --random-weights are alternatives")
        run(hb + ["--entry", "decode", "--random-inputs", "1", "--set", "bogus=1"], 1,
            "has no input 'bogus'")
        run(hb + ["--entry", "decode", "--random-inputs", "1", "--restore", "bogus"], 1,
            "has no input 'bogus' to restore before each run")
        run(hb + ["--entry", "decode", "--random-inputs", "1", "--set", "active=0.5"], 1,
            "is not an i32 value")
        run(hb + ["--entry", "decode", "--random-inputs", "1", "--set", "active"], 1,
            "must be NAME=VALUE")

        # hymir-run --random-weights, and the agreement check's hymir side.
        logits = bench.hymir_prefill_logits(bin_dir, art, "cpu", [3, 1, 4, 1, 5, 9, 2, 6], tmp)
        assert len(logits) == 128 and all(abs(x) < 1e30 for x in logits), logits[:4]
        assert any(x != 0 for x in logits)
        hr = [tool("hymir-run"), art, "--entry", "forward", "--inputs", ids, "--outputs",
              os.path.join(tmp, "o.safetensors"), "--random-weights", "3"]
        run(hr + ["--check"], 1, "--check recomputes with the oracle on the host")
        run(hr + ["--weights", ids], 1, "--weights and --random-weights are alternatives")
        run(hr[:-1] + ["x"], 1, "must be an integer >= 0")

        listing = run([tool("hymir-dump"), art])
        params_txt = os.path.join(tmp, "params.txt")
        with open(params_txt, "w") as f:
            f.write("\n".join(l.strip() for l in listing.splitlines()
                              if l.strip().startswith("param")))
        params = bench.read_params(params_txt)

        # The stacked layout computes what the transformers layout does.
        ckpt = os.path.join(tmp, "ckpt")
        run([sys.executable, os.path.join(ROOT, "scripts", "make-checkpoint.py"), "--preset",
             "hf", "--seed", "7", ckpt])
        stacked_w = os.path.join(tmp, "stacked.safetensors")
        split_experts(os.path.join(ckpt, "model.safetensors"), stacked_w,
                      make.preset_config("hf")["intermediate_size"])
        logits = {}
        for layout, weights in (("transformers", os.path.join(ckpt, "model.safetensors")),
                                ("stacked", stacked_w)):
            m, a = os.path.join(tmp, layout + ".mlir"), os.path.join(tmp, layout + ".hymir")
            run([tool("hymir-import"), model, "-o", m, "--no-weights",
                 "--weight-layout=" + layout, "--max-batch=2", "--max-context=16",
                 "--entries=forward"])
            run([tool("hymir-compile"), m, "-o", a, "--target=cpu", "--max-tokens=16"])
            out_file = os.path.join(tmp, layout + "-logits.safetensors")
            run([tool("hymir-run"), a, "--entry", "forward", "--inputs", ids, "--weights",
                 weights, "--outputs", out_file])
            with open(out_file, "rb") as f:
                logits[layout] = f.read()
        assert logits["transformers"] == logits["stacked"], "stacked logits differ"
        # model_bench.py's map from hymir's stacked names to transformers'.
        listed = {}
        for layout in ("transformers", "stacked"):
            path = os.path.join(tmp, layout + "-params.txt")
            with open(path, "w") as f:
                f.write(run([tool("hymir-dump"), os.path.join(tmp, layout + ".hymir")]))
            listed[layout] = bench.read_params(path)
        want = {name: shape for name, _, shape in listed["transformers"]}
        assert bench.transformers_shapes(listed["stacked"]) == want, "name map"
        print("stacked layout: forward's logits identical to the transformers layout's")
        config = make.preset_config("hf")
        assert len(params) == 39 and params[-1][0] == "lm_head.weight", params[-1]
        decode_bytes, prefill_flops, sizes = bench.floors(config, params, 16)
        one, experts = decode_bytes(1, False)
        assert abs(experts - 2.0) < 1e-9, experts
        assert 0 < one < sizes["weight_bytes"], (one, sizes)
        assert decode_bytes(64, True)[0] > decode_bytes(64, False)[0]
        assert prefill_flops(64) > 2 * prefill_flops(32) > 0
    want = [-1.3937453360903498, -0.2759684708309307]
    got = bench.normal_block_python(1, 2)
    assert all(abs(a - b) < 1e-14 for a, b in zip(got, want)), got
    assert bench.fnv1a64("w") % bench.PERIOD == 2114261
    print("model-bench pieces on cpu: PASS")


if __name__ == "__main__":
    main()
