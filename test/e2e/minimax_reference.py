"""An independent MiniMax forward in plain Python (fp64), written from
../shared/model-math.md and transformers' / MiniMax-M1's modeling code, not
from hymir's graph: it reads a Hugging Face model directory (config.json of
either dialect, one safetensors file) and computes the logits of every
position. hymir's oracle evaluates the graph hymir-import wrote, so it
cannot see a graph that computes the wrong model (q and k swapped, W1 and
W3 exchanged, the wrong decay rule); this can. Slow (pure Python), for tiny
models only.
"""
import json
import math
import os

from e2e_util import read_tensor


def _slopes(config, layer):
    heads = config["num_attention_heads"]
    layers = config["num_hidden_layers"]
    if "layer_types" in config:
        # transformers: 2^(-8 (h+1) / H) x (1 - l / (L - 1 + 1e-5) + 1e-5).
        factor = 1 - layer / (layers - 1 + 1e-5) + 1e-5
        return [2.0 ** (-8.0 * (h + 1) / heads) * factor for h in range(heads)]

    # MiniMax-M1: ALiBi slopes (non-powers of two: those of the lower power
    # of two, then every other one of twice that) x (1 - l / (L - 1) + 1e-5).
    def alibi(n):
        if math.log2(n).is_integer():
            start = 2.0 ** (-(2.0 ** -(math.log2(n) - 3)))
            return [start * start ** i for i in range(n)]
        p = 2 ** math.floor(math.log2(n))
        return alibi(p) + alibi(2 * p)[0::2][:n - p]

    factor = 1 - layer / (layers - 1) + 1e-5 if layers > 1 else 1 + 1e-5
    return [s * factor for s in alibi(heads)]


def _matvec(w, x, rows, cols):
    """w [rows, cols] (flat) times x [cols]."""
    return [sum(w[r * cols + c] * x[c] for c in range(cols)) for r in range(rows)]


def _rmsnorm(x, w, eps):
    scale = 1.0 / math.sqrt(sum(v * v for v in x) / len(x) + eps)
    return [v * scale * g for v, g in zip(x, w)]


def _silu(v):
    return v / (1.0 + math.exp(-v))


def _sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


def forward(model_dir, ids):
    """Logits [B][T][V] of the token ids [B][T]."""
    config = json.load(open(os.path.join(model_dir, "config.json")))
    path = os.path.join(model_dir, "model.safetensors")
    cache = {}

    def w(name):
        if name not in cache:
            cache[name] = read_tensor(path, name)
        return cache[name]

    hf = "layer_types" in config
    n = config["hidden_size"]
    heads = config["num_attention_heads"]
    kv = config["num_key_value_heads"]
    d = config.get("head_dim") or n // heads
    e_count = config["num_local_experts"]
    inter = config["intermediate_size"]
    top_k = config["num_experts_per_tok"]
    vocab = config["vocab_size"]
    eps = config.get("rms_norm_eps", 1e-5)
    if hf:
        kinds = [t == "full_attention" for t in config["layer_types"]]
        rope = config.get("rope_parameters", {})
        theta = rope.get("rope_theta", config.get("rope_theta", 1e6))
        rotary = d
        factors = {False: (config.get("linear_attn_alpha_factor", 1),
                           config.get("linear_attn_beta_factor", 1)),
                   True: (config.get("full_attn_alpha_factor", 1),
                          config.get("full_attn_beta_factor", 1))}
        mlp = (config.get("mlp_alpha_factor", 1), config.get("mlp_beta_factor", 1))
        postnorm = True
    else:
        kinds = [t == 1 for t in config["attn_type_list"]]
        theta = config["rope_theta"]
        rotary = config.get("rotary_dim") or d
        factors = {False: (config.get("layernorm_linear_attention_alpha", 1),
                           config.get("layernorm_linear_attention_beta", 1)),
                   True: (config.get("layernorm_full_attention_alpha", 1),
                          config.get("layernorm_full_attention_beta", 1))}
        mlp = (config.get("layernorm_mlp_alpha", 1), config.get("layernorm_mlp_beta", 1))
        postnorm = config.get("postnorm", False)

    table = w("model.embed_tokens.weight")
    out = []
    for seq in ids:
        xs = [table[i * n:(i + 1) * n] for i in seq]
        t_count = len(seq)
        for layer, softmax in enumerate(kinds):
            p = f"model.layers.{layer}."
            hs = [_rmsnorm(x, w(p + "input_layernorm.weight"), eps) for x in xs]
            if softmax:
                q = [_matvec(w(p + "self_attn.q_proj.weight"), h, heads * d, n) for h in hs]
                k = [_matvec(w(p + "self_attn.k_proj.weight"), h, kv * d, n) for h in hs]
                v = [_matvec(w(p + "self_attn.v_proj.weight"), h, kv * d, n) for h in hs]

                def rotate(vec, count, pos):
                    vec = list(vec)
                    half = rotary // 2
                    for g in range(count):
                        base = g * d
                        for i in range(half):
                            angle = pos * theta ** (-2.0 * i / rotary)
                            c, s = math.cos(angle), math.sin(angle)
                            a, b = vec[base + i], vec[base + i + half]
                            vec[base + i] = a * c - b * s
                            vec[base + i + half] = b * c + a * s
                    return vec

                q = [rotate(x, heads, t) for t, x in enumerate(q)]
                k = [rotate(x, kv, t) for t, x in enumerate(k)]
                group = heads // kv
                mixed = []
                for t in range(t_count):
                    o = []
                    for g in range(heads):
                        j = g // group
                        qs = q[t][g * d:(g + 1) * d]
                        scores = [sum(a * b for a, b in zip(qs, k[s][j * d:(j + 1) * d]))
                                  / math.sqrt(d) for s in range(t + 1)]
                        top = max(scores)
                        ws = [math.exp(sc - top) for sc in scores]
                        total = sum(ws)
                        o += [sum(ws[s] * v[s][j * d + c] for s in range(t + 1)) / total
                              for c in range(d)]
                    mixed.append(_matvec(w(p + "self_attn.o_proj.weight"), o, n, heads * d))
            else:
                qkv = [[_silu(v) for v in _matvec(w(p + "self_attn.qkv_proj.weight"), h,
                                                  3 * heads * d, n)] for h in hs]
                lam = [math.exp(-s) for s in _slopes(config, layer)]
                state = [[[0.0] * d for _ in range(d)] for _ in range(heads)]
                mixed = []
                for t in range(t_count):
                    o = []
                    for g in range(heads):
                        row = qkv[t][g * 3 * d:(g + 1) * 3 * d]
                        qh, kh, vh = row[:d], row[d:2 * d], row[2 * d:]
                        st = state[g]
                        for a in range(d):
                            for b in range(d):
                                st[a][b] = lam[g] * st[a][b] + kh[a] * vh[b]
                        o += [sum(qh[a] * st[a][b] for a in range(d)) for b in range(d)]
                    o = _rmsnorm(o, w(p + "self_attn.norm.weight"), 1e-6)
                    gate = _matvec(w(p + "self_attn.output_gate.weight"), hs[t], heads * d, n)
                    o = [_sigmoid(gv) * ov for gv, ov in zip(gate, o)]
                    mixed.append(_matvec(w(p + "self_attn.out_proj.weight"), o, n, heads * d))
            alpha, beta = factors[softmax]
            x1 = [[alpha * r + beta * m for r, m in zip(h if postnorm else x, mx)]
                  for x, h, mx in zip(xs, hs, mixed)]
            h2 = [_rmsnorm(x, w(p + "post_attention_layernorm.weight"), eps) for x in x1]
            if hf:
                router = w(p + "mlp.gate.weight")
                gate_up, down = w(p + "mlp.experts.gate_up_proj"), w(p + "mlp.experts.down_proj")
                w1 = lambda e: gate_up[e * 2 * inter * n:(e * 2 * inter + inter) * n]  # noqa: E731
                w3 = lambda e: gate_up[(e * 2 * inter + inter) * n:(e + 1) * 2 * inter * n]  # noqa: E731
                w2 = lambda e: down[e * n * inter:(e + 1) * n * inter]  # noqa: E731
            else:
                router = w(p + "block_sparse_moe.gate.weight")
                q = p + "block_sparse_moe.experts."
                w1 = lambda e: w(f"{q}{e}.w1.weight")  # noqa: E731
                w3 = lambda e: w(f"{q}{e}.w3.weight")  # noqa: E731
                w2 = lambda e: w(f"{q}{e}.w2.weight")  # noqa: E731
            ys = []
            for x, h in zip(x1, h2):
                logits = _matvec(router, h, e_count, n)
                top = max(logits)
                probs = [math.exp(lv - top) for lv in logits]
                total = sum(probs)
                probs = [pv / total for pv in probs]
                picks = sorted(range(e_count), key=lambda e: (-probs[e], e))[:top_k]
                norm = sum(probs[e] for e in picks)
                moe = [0.0] * n
                for e in picks:
                    a = _matvec(w1(e), h, inter, n)
                    b = _matvec(w3(e), h, inter, n)
                    y = _matvec(w2(e), [_silu(u) * v for u, v in zip(a, b)], n, inter)
                    moe = [m + probs[e] / norm * yv for m, yv in zip(moe, y)]
                ys.append([mlp[0] * r + mlp[1] * m for r, m in zip(h if postnorm else x, moe)])
            xs = ys
        head = w("lm_head.weight")
        out.append([_matvec(head, _rmsnorm(x, w("model.norm.weight"), eps), vocab, n)
                    for x in xs])
    return out
