#!/usr/bin/env python3
"""Writes a small random MiniMax checkpoint in Hugging Face layout.

The directory gets config.json and model.safetensors (or, with --shards N,
N files and model.safetensors.index.json), with weights drawn from a seeded
generator, so the same preset and seed always give the same bytes, on any
machine (Python's random module; bf16 rounding done on integers). Plain
python3: no numpy or torch.

Presets (each a tiny model of the MiniMax-M1 family):
  m1          MiniMax-M1 config keys (attn_type_list, layernorm_*_alpha/beta,
              postnorm, rotary_dim), experts stored one per tensor as the
              released checkpoints do (block_sparse_moe.experts.{e}.w1 ...),
              4 layers with the softmax layer last, rotary_dim = head_dim (as
              transformers rotates the whole head).
  hf          transformers MiniMaxConfig keys (layer_types, *_alpha_factor,
              rope_parameters), fused experts (mlp.experts.gate_up_proj), 4
              layers with a lightning layer last, head_dim 24 x 4 heads = 96,
              not the hidden width 64.
  m1-partial  MiniMax-M1 keys at M1's proportions: 8 layers (layer 7
              softmax), partial RoPE (rotary_dim half the head).

--config KEY=JSON changes the preset (the weights follow it). Options for
tests of the importer's errors: --drop NAME leaves a tensor out, --reshape
NAME writes it with its first dim one larger, --set KEY=JSON and --unset KEY
edit config.json only.

make-golden.py imports this file to build the same checkpoints on the GPU
host (checkpoint_bytes() gives the bytes to compare checksums).
Usage: make-checkpoint.py OUT_DIR [--preset m1|hf|m1-partial] [--seed N]
                          [--dtype bf16|f32] [--shards N] [--drop NAME]
                          [--reshape NAME] [--config KEY=JSON]
                          [--set KEY=JSON] [--unset KEY]
"""
import argparse
import json
import math
import os
import random
import struct
import sys

M1_ALPHA = 3.5565588200778455


def preset_config(name):
    """The config.json dict of a preset."""
    if name in ("m1", "m1-partial"):
        layers = 4 if name == "m1" else 8
        head_dim = 16
        return {
            "architectures": ["MiniMaxM1ForCausalLM"],
            "model_type": "minimax_m1",
            "attn_type_list": [1 if l % 8 == 7 or l == layers - 1 else 0 for l in range(layers)],
            "hidden_size": 64,
            "num_hidden_layers": layers,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": head_dim,
            "rotary_dim": head_dim if name == "m1" else head_dim // 2,
            "rope_theta": 10000000,
            "intermediate_size": 32,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "shared_intermediate_size": 0,
            "vocab_size": 128,
            "hidden_act": "silu",
            "rms_norm_eps": 1e-05,
            "postnorm": True,
            "layernorm_linear_attention_alpha": M1_ALPHA,
            "layernorm_linear_attention_beta": 1.0,
            "layernorm_full_attention_alpha": M1_ALPHA,
            "layernorm_full_attention_beta": 1.0,
            "layernorm_mlp_alpha": M1_ALPHA,
            "layernorm_mlp_beta": 1.0,
            "max_position_embeddings": 10240000,
            "tie_word_embeddings": False,
            "torch_dtype": "bfloat16",
        }
    if name == "hf":
        return {
            "architectures": ["MiniMaxForCausalLM"],
            "model_type": "minimax",
            "layer_types": ["linear_attention", "full_attention", "linear_attention",
                            "linear_attention"],
            "hidden_size": 64,
            "num_hidden_layers": 4,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 24,
            "intermediate_size": 32,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "vocab_size": 128,
            "hidden_act": "silu",
            "rms_norm_eps": 1e-05,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000000.0},
            "full_attn_alpha_factor": M1_ALPHA,
            "full_attn_beta_factor": 1.0,
            "linear_attn_alpha_factor": M1_ALPHA,
            "linear_attn_beta_factor": 1.0,
            "mlp_alpha_factor": M1_ALPHA,
            "mlp_beta_factor": 1.0,
            "block_size": 256,
            "max_position_embeddings": 131072,
            "tie_word_embeddings": False,
            "sliding_window": None,
            "dtype": "bfloat16",
        }
    raise SystemExit(f"make-checkpoint: unknown preset '{name}' (m1, hf, m1-partial)")


def is_softmax_layer(config, layer):
    if "layer_types" in config:
        return config["layer_types"][layer] == "full_attention"
    return config["attn_type_list"][layer] == 1


def tensor_specs(config):
    """(name, shape, scale kind) of every weight, in a fixed order."""
    n = config["hidden_size"]
    heads = config["num_attention_heads"]
    kv = config["num_key_value_heads"]
    d = config.get("head_dim") or n // heads
    e = config["num_local_experts"]
    i = config["intermediate_size"]
    v = config["vocab_size"]
    fused = "layer_types" in config
    specs = [("model.embed_tokens.weight", [v, n], "embed")]
    for l in range(config["num_hidden_layers"]):
        p = f"model.layers.{l}."
        specs += [(p + "input_layernorm.weight", [n], "norm"),
                  (p + "post_attention_layernorm.weight", [n], "norm")]
        if is_softmax_layer(config, l):
            specs += [(p + "self_attn.q_proj.weight", [heads * d, n], "proj"),
                      (p + "self_attn.k_proj.weight", [kv * d, n], "proj"),
                      (p + "self_attn.v_proj.weight", [kv * d, n], "proj"),
                      (p + "self_attn.o_proj.weight", [n, heads * d], "proj")]
        else:
            specs += [(p + "self_attn.qkv_proj.weight", [3 * heads * d, n], "proj"),
                      (p + "self_attn.output_gate.weight", [heads * d, n], "proj"),
                      (p + "self_attn.out_proj.weight", [n, heads * d], "proj"),
                      (p + "self_attn.norm.weight", [heads * d], "norm")]
        if fused:
            specs += [(p + "mlp.gate.weight", [e, n], "router"),
                      (p + "mlp.experts.gate_up_proj", [e, 2 * i, n], "proj"),
                      (p + "mlp.experts.down_proj", [e, n, i], "proj")]
        else:
            specs.append((p + "block_sparse_moe.gate.weight", [e, n], "router"))
            for x in range(e):
                q = f"{p}block_sparse_moe.experts.{x}."
                specs += [(q + "w1.weight", [i, n], "proj"), (q + "w2.weight", [n, i], "proj"),
                          (q + "w3.weight", [i, n], "proj")]
    specs += [("model.norm.weight", [n], "norm")]
    if not config.get("tie_word_embeddings", False):
        specs.append(("lm_head.weight", [v, n], "head"))
    return specs


def values(rng, shape, kind):
    """Uniform values scaled so that activations stay O(1)."""
    count = math.prod(shape)
    fan_in = shape[-1]
    if kind == "norm":
        return [1.0 + 0.1 * rng.uniform(-1.0, 1.0) for _ in range(count)]
    scale = {"embed": 1.0, "proj": 1.0 / math.sqrt(fan_in),
             # Routers and the head spread their logits, so that near ties
             # (between experts, between the top two tokens) stay rare.
             "router": 4.0 / math.sqrt(fan_in), "head": 4.0 / math.sqrt(fan_in)}[kind]
    return [scale * rng.uniform(-1.0, 1.0) for _ in range(count)]


def to_bf16(vals):
    """Round-to-nearest-even bf16 bit patterns of the f32 values."""
    out = []
    for bits in struct.unpack(f"<{len(vals)}I", struct.pack(f"<{len(vals)}f", *vals)):
        out.append(((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) & 0xFFFF)
    return struct.pack(f"<{len(out)}H", *out)


def make_tensors(config, seed, dtype="bf16", drop=(), reshape=()):
    """[(name, dtype, shape, bytes)] of the checkpoint's weights."""
    rng = random.Random(seed)
    tensors = []
    for name, shape, kind in tensor_specs(config):
        vals = values(rng, shape, kind)
        if name in drop:
            continue
        if name in reshape:
            # One more row, from the same generator stream.
            shape = [shape[0] + 1] + shape[1:]
            vals = vals + values(rng, shape[1:] or [1], kind)
        data = to_bf16(vals) if dtype == "bf16" else struct.pack(f"<{len(vals)}f", *vals)
        tensors.append((name, "BF16" if dtype == "bf16" else "F32", shape, data))
    return tensors


def safetensors_bytes(tensors):
    header, offset = {}, 0
    for name, dt, shape, data in tensors:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors)


def checkpoint_bytes(config, seed, dtype="bf16"):
    """The bytes of model.safetensors for one file (what make-golden checks)."""
    return safetensors_bytes(make_tensors(config, seed, dtype))


def write(out, config, tensors, shards=1):
    """config.json and the tensors of make_tensors, in one file or `shards`."""
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.startswith("model") and (old.endswith(".safetensors") or old.endswith(".json")):
            os.remove(os.path.join(out, old))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    if shards <= 1:
        with open(os.path.join(out, "model.safetensors"), "wb") as f:
            f.write(safetensors_bytes(tensors))
        return
    per = -(-len(tensors) // shards)
    weight_map, total = {}, 0
    for s in range(shards):
        part = tensors[s * per:(s + 1) * per]
        name = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        with open(os.path.join(out, name), "wb") as f:
            f.write(safetensors_bytes(part))
        for t in part:
            weight_map[t[0]] = name
            total += len(t[3])
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--preset", default="m1", choices=["m1", "hf", "m1-partial"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--reshape", action="append", default=[])
    ap.add_argument("--config", action="append", default=[], metavar="KEY=JSON",
                    help="change the preset before the weights are made")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="change config.json only (the weights follow the preset)")
    ap.add_argument("--unset", action="append", default=[], metavar="KEY")
    args = ap.parse_args()
    config = preset_config(args.preset)
    for item in args.config:
        key, _, value = item.partition("=")
        config[key] = json.loads(value)
    known = {name for name, _, _ in tensor_specs(config)}
    for name in args.drop + args.reshape:
        if name not in known:
            sys.exit(f"make-checkpoint: no tensor '{name}' in preset {args.preset}")
    # The weights follow the preset; --set and --unset edit config.json only.
    tensors = make_tensors(config, args.seed, args.dtype, set(args.drop), set(args.reshape))
    for item in args.set:
        key, _, value = item.partition("=")
        config[key] = json.loads(value)
    for key in args.unset:
        config.pop(key, None)
    write(args.out, config, tensors, args.shards)


if __name__ == "__main__":
    main()
