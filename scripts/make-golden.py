#!/usr/bin/env python3
"""Golden data from transformers for hymir's imported model (issue 13).

Run on the GPU host (Python 3.12, torch, transformers 5.17 with
MiniMaxForCausalLM; no network needed), not on the build machine:

    scripts/make-golden.py test/e2e/golden

For each tiny checkpoint of scripts/make-checkpoint.py (preset m1: MiniMax-M1
keys, softmax layer last; preset hf: transformers keys, head_dim x heads !=
hidden), rebuilt here from its preset and seed (the same bytes on any
machine), it builds transformers' MiniMaxForCausalLM with the SAME weights in
float32 on the CPU (no TF32, eager attention) and writes, in OUT/<preset>/:

  ids.safetensors     input_ids [2, 16] I32 (fixed ids), named as hymir-run
                      --inputs expects for entry forward
  logits.safetensors  logits [2, 16, V] F32, transformers' forward (no
                      cache): hymir-run --reference reads it
  generate.json       greedy generation (model.generate, do_sample=False,
                      its caches) of 64 new tokens from an 8-token prompt,
                      with the top-two logit gap of every step (to explain a
                      divergence by a near tie), the sha256 of the checkpoint
                      the data was made from, and the versions used

M1 keys are converted as a converter would (model-math.md 3b): layer_types
from attn_type_list, the *_factor keys from layernorm_*_alpha/beta,
rope_parameters from rope_theta (rotary_dim must equal head_dim:
transformers rotates the whole head), experts stored one tensor each fused
into mlp.experts.gate_up_proj ([W1; W3] per expert) and down_proj. The
decay-rate buffers (slope_rate, ...) are transformers' own, from the config:
for the m1 preset they follow transformers' variant of the layer factor,
1 - l/(L-1+1e-5) + 1e-5, while hymir follows M1's 1 - l/(L-1) + 1e-5; with
the softmax layer last the two differ by under 1e-5 relative.

The data is small (about 40 KB per preset). test/e2e/golden_transformers.py
checks it on the cpu target (`scripts/test`).
"""
import argparse
import hashlib
import importlib.util
import json
import os
import random
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = {"m1": 7, "hf": 7}  # preset -> checkpoint seed
FORWARD_BATCH, FORWARD_TOKENS = 2, 16
PROMPT_TOKENS, NEW_TOKENS = 8, 64
DECAY_BUFFERS = ("slope_rate", "query_decay", "key_decay", "diagonal_decay")


def load_make_checkpoint():
    path = os.path.join(ROOT, "scripts", "make-checkpoint.py")
    spec = importlib.util.spec_from_file_location("make_checkpoint", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def transformers_config(mc, config):
    """MiniMaxConfig keyword arguments for a make-checkpoint config."""
    from transformers import MiniMaxConfig
    kw = {}
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "head_dim", "intermediate_size", "num_local_experts",
                "num_experts_per_tok", "vocab_size", "hidden_act", "rms_norm_eps",
                "tie_word_embeddings", "max_position_embeddings"):
        if key in config:
            kw[key] = config[key]
    if "layer_types" in config:
        kw["layer_types"] = config["layer_types"]
        kw["rope_parameters"] = config["rope_parameters"]
        for key in ("full_attn_alpha_factor", "full_attn_beta_factor", "linear_attn_alpha_factor",
                    "linear_attn_beta_factor", "mlp_alpha_factor", "mlp_beta_factor",
                    "block_size"):
            if key in config:
                kw[key] = config[key]
    else:
        assert config.get("postnorm", False), "transformers' MiniMax is postnorm only"
        assert config.get("rotary_dim", config["head_dim"]) == config["head_dim"], \
            "transformers' MiniMax rotates the whole head: rotary_dim must be head_dim"
        assert config.get("shared_intermediate_size", 0) == 0
        kw["layer_types"] = ["full_attention" if t else "linear_attention"
                             for t in config["attn_type_list"]]
        kw["rope_parameters"] = {"rope_type": "default", "rope_theta": float(config["rope_theta"])}
        for m1_key, key in (("layernorm_full_attention_alpha", "full_attn_alpha_factor"),
                            ("layernorm_full_attention_beta", "full_attn_beta_factor"),
                            ("layernorm_linear_attention_alpha", "linear_attn_alpha_factor"),
                            ("layernorm_linear_attention_beta", "linear_attn_beta_factor"),
                            ("layernorm_mlp_alpha", "mlp_alpha_factor"),
                            ("layernorm_mlp_beta", "mlp_beta_factor")):
            kw[key] = config.get(m1_key, 1.0)
    kw["sliding_window"] = None
    cfg = MiniMaxConfig(**kw)
    cfg._attn_implementation = "eager"
    return cfg


def state_dict(mc, config, seed, torch):
    """The checkpoint's tensors (f32 values of the bf16 weights) under
    transformers' names, experts fused."""
    tensors = {}
    for name, dtype, shape, data in mc.make_tensors(config, seed):
        assert dtype == "BF16"
        halves = struct.unpack(f"<{len(data) // 2}H", data)
        values = struct.unpack(f"<{len(halves)}f", struct.pack(f"<{len(halves)}I",
                                                              *[h << 16 for h in halves]))
        tensors[name] = torch.tensor(values, dtype=torch.float32).reshape(shape)
    out = {}
    experts = {}
    for name, t in tensors.items():
        if ".block_sparse_moe.experts." in name:
            prefix, rest = name.split(".block_sparse_moe.experts.")
            e, w, _ = rest.split(".")
            experts.setdefault(prefix, {})[(int(e), w)] = t
        elif ".block_sparse_moe.gate." in name:
            out[name.replace(".block_sparse_moe.gate.", ".mlp.gate.")] = t
        else:
            out[name] = t
    for prefix, ws in experts.items():
        count = config["num_local_experts"]
        out[prefix + ".mlp.experts.gate_up_proj"] = torch.stack(
            [torch.cat([ws[(e, "w1")], ws[(e, "w3")]], dim=0) for e in range(count)])
        out[prefix + ".mlp.experts.down_proj"] = torch.stack(
            [ws[(e, "w2")] for e in range(count)])
    return out


def write_safetensors(path, tensors):
    """{name: (dtype, shape, list)} as a safetensors file (I32 or F32)."""
    parts, header, offset = [], {}, 0
    for name, (dtype, shape, values) in tensors.items():
        fmt = {"I32": "i", "F32": "f"}[dtype]
        blob = struct.pack(f"<{len(values)}{fmt}", *values)
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        parts.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(parts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="folder for the golden data (test/e2e/golden)")
    args = ap.parse_args()

    import torch
    import transformers
    from transformers import MiniMaxForCausalLM

    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    mc = load_make_checkpoint()
    for preset, seed in PRESETS.items():
        config = mc.preset_config(preset)
        checksum = hashlib.sha256(mc.checkpoint_bytes(config, seed)).hexdigest()
        cfg = transformers_config(mc, config)
        model = MiniMaxForCausalLM(cfg).to(torch.float32).eval()
        sd = state_dict(mc, config, seed, torch)
        missing, unexpected = model.load_state_dict(sd, strict=False)
        # Only the decay buffers, which transformers computes from the
        # config, may be absent from the checkpoint.
        bad = [k for k in missing if k.split(".")[-1] not in DECAY_BUFFERS]
        if bad or unexpected:
            sys.exit(f"make-golden: {preset}: weights do not match transformers' names: "
                     f"missing {bad}, unexpected {list(unexpected)}")
        vocab = config["vocab_size"]
        rng = random.Random(1000 + seed)
        ids = [[rng.randrange(vocab) for _ in range(FORWARD_TOKENS)]
               for _ in range(FORWARD_BATCH)]
        with torch.no_grad():
            logits = model(torch.tensor(ids), use_cache=False).logits.float()
        out = os.path.join(args.out, preset)
        os.makedirs(out, exist_ok=True)
        write_safetensors(os.path.join(out, "ids.safetensors"),
                          {"input_ids": ("I32", [FORWARD_BATCH, FORWARD_TOKENS],
                                         [i for row in ids for i in row])})
        write_safetensors(os.path.join(out, "logits.safetensors"),
                          {"logits": ("F32", list(logits.shape),
                                      logits.flatten().tolist())})

        prompt = [rng.randrange(vocab) for _ in range(PROMPT_TOKENS)]
        model.generation_config.eos_token_id = None
        model.generation_config.pad_token_id = 0
        with torch.no_grad():
            gen = model.generate(torch.tensor([prompt]), max_new_tokens=NEW_TOKENS,
                                 do_sample=False, eos_token_id=None, pad_token_id=0,
                                 output_logits=True, return_dict_in_generate=True)
        tokens = gen.sequences[0, PROMPT_TOKENS:].tolist()
        gaps = []
        for step in gen.logits:
            top = torch.topk(step[0].float(), 2).values.tolist()
            gaps.append(top[0] - top[1])
        assert len(tokens) == NEW_TOKENS, tokens
        with open(os.path.join(out, "generate.json"), "w") as f:
            json.dump({
                "preset": preset, "seed": seed, "checkpoint_sha256": checksum,
                "prompt": prompt, "tokens": tokens, "top2_gap": gaps,
                "forward_ids": "ids.safetensors", "forward_logits": "logits.safetensors",
                "transformers": transformers.__version__, "torch": torch.__version__,
                "python": sys.version.split()[0],
                "made_by": "scripts/make-golden.py (transformers MiniMaxForCausalLM, float32, "
                           "cpu, eager attention; generate with its caches, greedy)",
            }, f, indent=1)
            f.write("\n")
        print(f"{preset}: forward logits {tuple(logits.shape)}, {len(tokens)} greedy tokens, "
              f"smallest top-2 gap {min(gaps):.3g} -> {out}")


if __name__ == "__main__":
    main()
