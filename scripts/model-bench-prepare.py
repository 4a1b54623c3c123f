#!/usr/bin/env python3
"""Prepares the M1-width model benchmark (issue 13 item 8) on the build machine.

Writes, in OUT (well under the GPU host's 64 MiB per call; no weights: they
are made on the GPU, hymir-bench --random-weights, and by
bench/model_bench.py for transformers):

  config.json       transformers' MiniMaxConfig keys at MiniMax-M1 width:
                    hidden 6144, 64 heads of 128 (8 KV heads in the softmax
                    layer), 32 experts of 9216 (top-2), vocabulary 200064,
                    LAYERS layers (default 8) with the last softmax, bf16
  model-b1.hymir    cuda artifact, batch 1, context PREFILL_MAX (16384),
                    entries prefill (4096 and 16384) and decode (batch 1)
  model-b16.hymir   cuda artifact, batch 16, context DECODE_CONTEXT, decode
  model-b64.hymir   cuda artifact, batch 64, context DECODE_CONTEXT, decode
  model-b1t.hymir   decode at batch 1 with transformers' expert layout
                    (gate_up_proj, whose halves the graph copies into W1
                    and W3 every call), to show what that layout costs
The others declare the experts stacked (mlp.experts.w1, w3, w2: the
operands of hymir.moe, no copy); bench/model_bench.py gives transformers'
gate_up_proj and down_proj the same values.
  prefill-inputs.json  model-b1's prefill inputs (name, dtype, shape)
  params.txt        the artifacts' parameter names, dtypes and shapes
                    (model_bench.py checks transformers' against them)
  plan.txt          hymir-dump's arena line per entry (device memory)

Each is `hymir-import OUT --no-weights --lm-head=bf16 --activation=bf16
--entries=...` (only the entries timed: a smaller artifact) then
`hymir-compile --target=cuda` (3-4 minutes for b1 here). Usage:

    scripts/model-bench-prepare.py BIN_DIR OUT [--layers N] [--only b1,...]

then, on the GPU host (BUNDLE/bin with hymir-bench, BUNDLE/lib):

    python3 bench/model_bench.py BUNDLE/bin OUT
"""
import argparse
import json
import os
import subprocess
import sys
import time

PREFILL_MAX = 16384
DECODE_POSITION = 1024  # tokens in each sequence's caches when decode is timed
DECODE_CONTEXT = 2048   # C of the decode artifacts: the position + the runs
VARIANTS = {  # name: (batch, context, compile --max-tokens, entries, expert layout)
    "b1": (1, PREFILL_MAX, PREFILL_MAX, "prefill,decode", "stacked"),
    "b16": (16, DECODE_CONTEXT, 1, "decode", "stacked"),
    "b64": (64, DECODE_CONTEXT, 1, "decode", "stacked"),
    "b1t": (1, DECODE_CONTEXT, 1, "decode", "transformers"),
}


def m1_width_config(layers):
    """transformers' MiniMaxConfig keys; layer l is softmax when l % 8 == 7
    or it is the last layer, as in MiniMax-M1."""
    kinds = ["full_attention" if l % 8 == 7 or l == layers - 1 else "linear_attention"
             for l in range(layers)]
    alpha = (2 * 80) ** 0.25  # M1's residual alpha (its 80 layers), as in make-checkpoint.py
    return {
        "architectures": ["MiniMaxForCausalLM"],
        "model_type": "minimax",
        "layer_types": kinds,
        "hidden_size": 6144,
        "num_hidden_layers": layers,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "intermediate_size": 9216,
        "num_local_experts": 32,
        "num_experts_per_tok": 2,
        "vocab_size": 200064,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-05,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000000.0},
        "full_attn_alpha_factor": alpha,
        "full_attn_beta_factor": 1.0,
        "linear_attn_alpha_factor": alpha,
        "linear_attn_beta_factor": 1.0,
        "mlp_alpha_factor": alpha,
        "mlp_beta_factor": 1.0,
        "block_size": 256,
        # transformers' default would window the softmax layer; M1 has none.
        "sliding_window": None,
        "max_position_embeddings": 131072,
        "initializer_range": 0.02,
        "tie_word_embeddings": False,
        "dtype": "bfloat16",
    }


def run(cmd):
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("model-bench-prepare: failed: %s\n%s%s" % (" ".join(cmd), r.stdout[-4000:],
                                                           r.stderr[-4000:]))
    print("model-bench-prepare: %.0f s: %s" % (time.time() - t, " ".join(cmd[:2])), flush=True)
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bin_dir", help="folder with hymir-import, hymir-compile, hymir-dump")
    ap.add_argument("out", help="folder to write")
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--only", default=",".join(VARIANTS),
                    help="comma-separated variants (default all: %s)" % ",".join(VARIANTS))
    ap.add_argument("--target", default="cuda", help="cuda (default), or cpu for a dry run")
    ap.add_argument("--compile-arg", action="append", default=[],
                    help="one more hymir-compile argument (repeatable), e.g. --compile-arg=--fuse-elementwise=false")
    args = ap.parse_args()
    tool = lambda name: os.path.join(args.bin_dir, name)
    os.makedirs(args.out, exist_ok=True)
    config = m1_width_config(args.layers)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    meta = {"layers": args.layers, "prefill_max": PREFILL_MAX,
            "decode_position": DECODE_POSITION, "variants": {}}
    params_written = False
    plan_lines = []
    for name in args.only.split(","):
        if name not in VARIANTS:
            sys.exit("model-bench-prepare: unknown variant '%s' (%s)" % (name, ", ".join(VARIANTS)))
        batch, context, max_tokens, entries, layout = VARIANTS[name]
        mlir = os.path.join(args.out, "model-%s.mlir" % name)
        artifact = os.path.join(args.out, "model-%s.hymir" % name)
        run([tool("hymir-import"), args.out, "-o", mlir, "--no-weights", "--lm-head=bf16",
             "--activation=bf16", "--max-batch=%d" % batch, "--max-context=%d" % context,
             "--entries=" + entries, "--weight-layout=" + layout])
        run([tool("hymir-compile"), mlir, "-o", artifact, "--target=" + args.target,
             "--max-tokens=%d" % max_tokens] + args.compile_arg)
        os.remove(mlir)  # the positions table makes it large; the artifact is what runs
        dump = run([tool("hymir-dump"), artifact])
        entry = None
        for line in dump.splitlines():
            if line.startswith("entry ") and ":" not in line:
                entry = line.split()[1]
            elif line.strip().startswith("arena ") and entry:
                plan_lines.append("%s %s: %s" % (name, entry, line.strip()))
        if name == "b1":
            # prefill's inputs, for model_bench.py's agreement check (the
            # GPU host's bundle has no hymir-dump).
            section = dump.split("\nentry prefill\n", 1)[1].split("\nentry ", 1)[0]
            specs = []
            for line in section.splitlines():
                line = line.strip()
                if line.startswith("input "):
                    input_name, spec = line.split(" ", 2)[2].split(": ")
                    dtype, shape = spec.rstrip("]").split("[")
                    specs.append([input_name, dtype, [int(x) if x.isdigit() else None
                                                      for x in shape.split(", ")]])
            with open(os.path.join(args.out, "prefill-inputs.json"), "w") as f:
                json.dump(specs, f)
        if not params_written:
            # "param NAME: DTYPE [shape]" lines of the plan listing, as printed.
            with open(os.path.join(args.out, "params.txt"), "w") as f:
                for line in dump.splitlines():
                    if line.strip().startswith("param"):
                        f.write(line.strip() + "\n")
            params_written = True
        meta["variants"][name] = {"artifact": os.path.basename(artifact), "batch": batch,
                                  "layout": layout,
                                  "context": context, "max_tokens": max_tokens,
                                  "bytes": os.path.getsize(artifact)}
    with open(os.path.join(args.out, "plan.txt"), "w") as f:
        f.write("\n".join(plan_lines) + "\n")
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print("model-bench-prepare: %s holds %.1f MiB" % (args.out, total / 2**20))
    if total > 60 * 2**20:
        sys.exit("model-bench-prepare: more than 60 MiB: too large for one GPU-host call")


if __name__ == "__main__":
    main()
