#!/usr/bin/env python3
"""Train/generate agreement of per-token probabilities (issue 14 item 5).

A policy's samples are scored twice in RL: while generating (the sampler's
log-probs) and by the training step (`score` / `cispo_step`). MiniMax-M1
found the two disagreeing until its LM head ran in FP32. This script
measures the agreement for hymir and, on the GPU host, for transformers on
the same checkpoint: generate with sampling (temperature 1, no top-k or
top-p), then score the same sequences with a full forward pass, and report
over all generated tokens the Pearson correlation of the two probabilities
and the largest absolute difference of the log-probs.

The model: scripts/make-checkpoint.py's m1 preset (4 layers, the last
softmax attention) widened to a vocabulary of 8192 and a hidden size of 128
(so the head's rounding has a wide sum to act on), seed 7, bf16 weights;
bf16 activations, the LM head in bf16 or f32 (hymir-import --lm-head).

  agreement.py prepare BIN_DIR WORK [--target cpu|cuda]
      writes the checkpoint, imports it twice (head bf16 and f32) and
      compiles each for the target into WORK.
  agreement.py hymir BIN_DIR WORK [--device cpu|cuda:0]
      generates with hymir-generate (log-probs from the model's `logprobs`
      entry, and once more with --logprobs host), scores with hymir-run
      --entry score, prints the table.
  agreement.py transformers WORK
      (GPU host: torch, transformers) the same checkpoint in transformers'
      MiniMaxForCausalLM, bf16 on cuda, lm_head in bf16 or f32: its
      generate(do_sample=True, output_logits) against its forward; prints
      the table rows.
"""
import argparse
import importlib.util
import json
import math
import os
import random
import subprocess
import sys

# In the repository (bench/) or in a GPU bundle (beside e2e_util.py, with
# scripts/make-checkpoint.py and scripts/make-golden.py under it).
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = HERE if os.path.exists(os.path.join(HERE, "scripts", "make-golden.py")) \
    else os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
sys.path.insert(0, HERE)

OVERRIDES = {"vocab_size": 8192, "hidden_size": 128}
SEED = 7
PROMPTS, PROMPT_TOKENS, NEW_TOKENS = 8, 8, 48
BATCH, CONTEXT = 4, 64
HEADS = ("bf16", "f32")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("agreement: failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout, r.stderr


def prompts():
    rng = random.Random(2026)
    return [[rng.randrange(OVERRIDES["vocab_size"]) for _ in range(PROMPT_TOKENS)]
            for _ in range(PROMPTS)]


def stats(a, b):
    """Pearson correlation of exp(a) and exp(b), max |a - b|, token count."""
    pa, pb = [math.exp(x) for x in a], [math.exp(x) for x in b]
    n = len(pa)
    ma, mb = sum(pa) / n, sum(pb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(pa, pb))
    va = sum((x - ma) ** 2 for x in pa)
    vb = sum((y - mb) ** 2 for y in pb)
    r = cov / math.sqrt(va * vb) if va > 0 and vb > 0 else float("nan")
    return r, max(abs(x - y) for x, y in zip(a, b)), n


def row(who, head, gen_source, a, b):
    r, d, n = stats(a, b)
    print(f"| {who} | {head} | {gen_source} | {n} | {r:.9f} | {1 - r:.2e} | {d:.3e} |",
          flush=True)


def header():
    print("| engine | LM head | generation log-probs from | tokens | Pearson r of p | 1 - r | "
          "max abs log-prob diff |")
    print("|---|---|---|---|---|---|---|")


def make_checkpoint(ckpt):
    """The checkpoint (the same bytes on any machine: prepare writes it, and
    hymir remakes it when a bundle leaves it out)."""
    cmd = [sys.executable, os.path.join(ROOT, "scripts", "make-checkpoint.py"), "--preset", "m1",
           "--seed", str(SEED), "--dtype", "bf16", ckpt]
    for k, v in OVERRIDES.items():
        cmd += ["--config", f"{k}={json.dumps(v)}"]
    run(cmd)


def prepare(args):
    os.makedirs(args.work, exist_ok=True)
    ckpt = os.path.join(args.work, "ckpt")
    make_checkpoint(ckpt)
    tool = lambda name: os.path.join(args.bin_dir, name)
    for head in HEADS:
        mlir = os.path.join(args.work, f"head_{head}.mlir")
        run([tool("hymir-import"), ckpt, "-o", mlir, f"--max-batch={BATCH}",
             f"--max-context={CONTEXT}", "--activation=bf16", f"--lm-head={head}"])
        run([tool("hymir-compile"), mlir, "-o", os.path.join(args.work, f"head_{head}.hymir"),
             f"--target={args.target}", f"--max-tokens={CONTEXT}"])
        os.remove(mlir)
    print(f"agreement: prepared {args.work} for {args.target}")


def hymir(args):
    from e2e_util import read_tensors, write_tensors
    tool = lambda name: os.path.join(args.bin_dir, name)
    ckpt = os.path.join(args.work, "ckpt")
    if not os.path.exists(os.path.join(ckpt, "config.json")):
        make_checkpoint(ckpt)
    ps = prompts()
    pfile = os.path.join(args.work, "prompts.jsonl")
    with open(pfile, "w") as f:
        for p in ps:
            f.write(json.dumps(p) + "\n")
    header()
    for head in HEADS:
        art = os.path.join(args.work, f"head_{head}.hymir")
        gen = {}
        for source in ("model", "host"):
            out, _ = run([tool("hymir-generate"), art, "--weights", ckpt, "--prompts", pfile,
                          "--max-new-tokens", str(NEW_TOKENS), "--temperature", "1",
                          "--seed", "1", "--device", args.device, "--logprobs", source,
                          "--progress-every", "-1"])
            gen[source] = {o["index"]: o for o in map(json.loads, out.splitlines())}
        # Score every sequence (prompt + new tokens) through `score`.
        seqs = [ps[i] + gen["model"][i]["tokens"] for i in range(PROMPTS)]
        length = max(len(s) for s in seqs) - 1
        scored = {}
        for start in range(0, PROMPTS, BATCH):
            group = list(range(start, min(start + BATCH, PROMPTS)))
            ids, targets = [], []
            for b in range(BATCH):
                s = seqs[group[b]] if b < len(group) else seqs[group[0]]
                s = s + [0] * (length + 1 - len(s))  # later padding cannot reach earlier positions
                ids += s[:-1]
                targets += s[1:]
            inp = os.path.join(args.work, "score_in.safetensors")
            outp = os.path.join(args.work, "score_out.safetensors")
            write_tensors(inp, {"input_ids": ("I32", [BATCH, length], ids),
                                "targets": ("I32", [BATCH, length], targets)})
            run([tool("hymir-run"), art, "--entry", "score", "--inputs", inp, "--weights", ckpt,
                 "--device", args.device, "--outputs", outp])
            lp = read_tensors(outp)["logprobs"][2]
            for b, i in enumerate(group):
                n = len(gen["model"][i]["tokens"])
                scored[i] = lp[b * length + PROMPT_TOKENS - 1:b * length + PROMPT_TOKENS - 1 + n]
        for source, label in (("model", "`logprobs` entry (score's head kernel)"),
                              ("host", "host log-softmax of decode's logits")):
            if any(gen[source][i]["tokens"] != gen["model"][i]["tokens"] for i in range(PROMPTS)):
                sys.exit("agreement: --logprobs changed the sampled tokens")
            a = [x for i in range(PROMPTS) for x in gen[source][i]["logprobs"]]
            b = [x for i in range(PROMPTS) for x in scored[i]]
            row(f"hymir ({args.device})", head, label, a, b)


def transformers_rows(args):
    import torch
    from transformers import MiniMaxForCausalLM
    spec = importlib.util.spec_from_file_location(
        "make_golden", os.path.join(ROOT, "scripts", "make-golden.py"))
    mg = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mg)
    mc = mg.load_make_checkpoint()
    config = mc.preset_config("m1")
    config.update(OVERRIDES)
    torch.manual_seed(0)
    ps = prompts()
    header()
    for head in HEADS:
        cfg = mg.transformers_config(mc, config)
        cfg._attn_implementation = "sdpa"
        model = MiniMaxForCausalLM(cfg).eval()
        sd = mg.state_dict(mc, config, SEED, torch)
        missing, unexpected = model.load_state_dict(sd, strict=False)
        bad = [k for k in missing if k.split(".")[-1] not in mg.DECAY_BUFFERS]
        if bad or unexpected:
            sys.exit(f"agreement: weights do not match: {bad} {list(unexpected)}")
        model = model.to("cuda", torch.bfloat16)
        if head == "f32":
            # M1's fix: the LM head (and its input) in FP32.
            model.lm_head.float()
            model.lm_head.register_forward_pre_hook(lambda m, a: (a[0].float(),))
        model.generation_config.eos_token_id = None
        model.generation_config.pad_token_id = 0
        with torch.no_grad():
            g = model.generate(torch.tensor(ps, device="cuda"), max_new_tokens=NEW_TOKENS,
                               do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                               eos_token_id=None, pad_token_id=0, output_logits=True,
                               return_dict_in_generate=True)
            new = g.sequences[:, PROMPT_TOKENS:]
            gen_lp = torch.stack([torch.log_softmax(step.float(), -1) for step in g.logits], 1)
            a = gen_lp.gather(-1, new.unsqueeze(-1)).squeeze(-1)
            logits = model(g.sequences, use_cache=False).logits.float()
            full = torch.log_softmax(logits[:, PROMPT_TOKENS - 1:-1], -1)
            b = full.gather(-1, new.unsqueeze(-1)).squeeze(-1)
        row("transformers (cuda, bf16)", head, "generate's logits (its caches)",
            a.flatten().tolist(), b.flatten().tolist())
        del model
        torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("bin_dir")
    p.add_argument("work")
    p.add_argument("--target", default="cpu", choices=["cpu", "cuda"])
    h = sub.add_parser("hymir")
    h.add_argument("bin_dir")
    h.add_argument("work")
    h.add_argument("--device", default="cpu")
    t = sub.add_parser("transformers")
    t.add_argument("work")
    args = ap.parse_args()
    {"prepare": prepare, "hymir": hymir, "transformers": transformers_rows}[args.mode](args)


if __name__ == "__main__":
    main()
