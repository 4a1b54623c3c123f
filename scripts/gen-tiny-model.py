#!/usr/bin/env python3
"""Writes examples/tiny_model.mlir: a MiniMax-M1-shaped model at toy widths.

8 decoder layers (layer 7 softmax attention, the others lightning attention),
postnorm residuals with M1's alpha, a 4-expert top-2 MoE in every layer, an
embedding table and an untied LM head. Weights are entry arguments named with
the names of the `transformers` MiniMax checkpoints (hymir.name; W1 and
W3 are the two halves of gate_up_proj), the token count is dynamic.
Run: scripts/gen-tiny-model.py > examples/tiny_model.mlir
"""
import math

LAYERS, N, H, D, HKV, E, I, V, ROT = 8, 64, 4, 16, 2, 4, 32, 128, 8
ALPHA = 3.5565588200778455
DT = "bf16"


def slopes(h_count, layer):
    # ALiBi base slopes (power-of-two head count here), scaled per layer (M1).
    base = [2.0 ** (-8.0 * (h + 1) / h_count) for h in range(h_count)]
    return [s * (1 - layer / (LAYERS - 1) + 1e-5) for s in base]


def t(*dims, dt=DT):
    return "tensor<" + "x".join(str(d) for d in dims) + "x" + dt + ">"


ACT = t("?", N)
lines = []
emit = lines.append


def silu_or_sigmoid(name, src, width, silu):
    """Emits sigmoid(src) (or src * sigmoid(src)) on a [?, width] tensor."""
    ty = t("?", width)
    emit(f"    %{name}_neg = arith.negf %{src} : {ty}")
    emit(f"    %{name}_exp = math.exp %{name}_neg : {ty}")
    emit(f"    %{name}_one = tensor.splat %one[%tokens] : {ty}")
    emit(f"    %{name}_den = arith.addf %{name}_one, %{name}_exp : {ty}")
    num = src if silu else f"{name}_one"
    emit(f"    %{name} = arith.divf %{num}, %{name}_den : {ty}")


def layer_header(kind, weights):
    args = [f"%x: {ACT}"] + [f"%{n}: {ty}" for n, ty in weights]
    emit(f"  func.func private @{kind}_layer({', '.join(args)}) -> {ACT} {{")
    emit("    %c0 = arith.constant 0 : index")
    emit(f"    %tokens = tensor.dim %x, %c0 : {ACT}")
    emit(f"    %one = arith.constant 1.0 : {DT}")
    emit(f"    %alpha = arith.constant {ALPHA} : {DT}")
    emit(f"    %alpha_t = tensor.splat %alpha[%tokens] : {ACT}")
    emit(f"    %h = hymir.rms_norm %x, %input_norm {{epsilon = 1.0e-05 : f32}} : ({ACT}, {t(N)}) -> {ACT}")


def layer_footer(mix):
    emit(f"    %h_scaled = arith.mulf %alpha_t, %h : {ACT}")
    emit(f"    %x1 = arith.addf %h_scaled, %{mix} : {ACT}")
    emit(f"    %h2 = hymir.rms_norm %x1, %post_norm {{epsilon = 1.0e-05 : f32}} : ({ACT}, {t(N)}) -> {ACT}")
    gu = t(E, 2 * I, N)
    emit(f"    %w1 = tensor.extract_slice %gate_up[0, 0, 0] [{E}, {I}, {N}] [1, 1, 1] : {gu} to {t(E, I, N)}")
    emit(f"    %w3 = tensor.extract_slice %gate_up[0, {I}, 0] [{E}, {I}, {N}] [1, 1, 1] : {gu} to {t(E, I, N)}")
    emit(f"    %moe = hymir.moe %h2, %router, %w1, %w3, %w2 {{top_k = 2 : i64}} : ({ACT}, {t(E, N, dt='f32')}, {t(E, I, N)}, {t(E, I, N)}, {t(E, N, I)}) -> {ACT}")
    emit(f"    %h2_scaled = arith.mulf %alpha_t, %h2 : {ACT}")
    emit(f"    %y = arith.addf %h2_scaled, %moe : {ACT}")
    emit(f"    return %y : {ACT}")
    emit("  }")


COMMON_W = [("input_norm", t(N)), ("post_norm", t(N)), ("router", t(E, N, dt="f32")),
            ("gate_up", t(E, 2 * I, N)), ("w2", t(E, N, I))]
LIGHT_W = [("qkv_proj", t(3 * H * D, N)), ("output_gate", t(H * D, N)),
           ("out_proj", t(N, H * D)), ("attn_norm", t(H * D)), ("slopes", t(H, dt="f32"))]
SOFT_W = [("q_proj", t(H * D, N)), ("k_proj", t(HKV * D, N)), ("v_proj", t(HKV * D, N)),
          ("o_proj", t(N, H * D)), ("positions", t(1, "?", dt="i32"))]

# Lightning layer: SiLU(x W_qkv^T) split per head into [q | k | v], lightning
# attention, RMSNorm over H*D, sigmoid output gate, output projection.
layer_header("lightning", COMMON_W + LIGHT_W)
emit(f"    %qkv_lin = hymir.linear %h, %qkv_proj : ({ACT}, {t(3 * H * D, N)}) -> {t('?', 3 * H * D)}")
silu_or_sigmoid("qkv", "qkv_lin", 3 * H * D, silu=True)
emit(f"    %qkv4 = tensor.expand_shape %qkv [[0, 1], [2, 3]] output_shape [1, %tokens, {H}, {3 * D}] : {t('?', 3 * H * D)} into {t(1, '?', H, 3 * D)}")
for i, n in enumerate("qkv"):
    emit(f"    %{n} = tensor.extract_slice %qkv4[0, 0, 0, {i * D}] [1, %tokens, {H}, {D}] [1, 1, 1, 1] : {t(1, '?', H, 3 * D)} to {t(1, '?', H, D)}")
BTHD = t(1, "?", H, D)
emit(f"    %attn, %state = hymir.lightning_attention %q, %k, %v, %slopes : ({BTHD}, {BTHD}, {BTHD}, {t(H, dt='f32')}) -> ({BTHD}, {t(1, H, D, D, dt='f32')})")
emit(f"    %attn2 = tensor.collapse_shape %attn [[0, 1], [2, 3]] : {BTHD} into {t('?', H * D)}")
emit(f"    %attn_n = hymir.rms_norm %attn2, %attn_norm {{epsilon = 9.99999997e-07 : f32}} : ({t('?', H * D)}, {t(H * D)}) -> {t('?', H * D)}")
emit(f"    %gate_lin = hymir.linear %h, %output_gate : ({ACT}, {t(H * D, N)}) -> {t('?', H * D)}")
silu_or_sigmoid("gate", "gate_lin", H * D, silu=False)
emit(f"    %gated = arith.mulf %gate, %attn_n : {t('?', H * D)}")
emit(f"    %mix = hymir.linear %gated, %out_proj : ({t('?', H * D)}, {t(N, H * D)}) -> {ACT}")
layer_footer("mix")
emit("")

# Softmax layer: q, k, v projections, partial RoPE on q and k, causal GQA
# attention, output projection.
layer_header("softmax", COMMON_W + SOFT_W)
for n, heads in (("q", H), ("k", HKV), ("v", HKV)):
    emit(f"    %{n}_lin = hymir.linear %h, %{n}_proj : ({ACT}, {t(heads * D, N)}) -> {t('?', heads * D)}")
    emit(f"    %{n}4 = tensor.expand_shape %{n}_lin [[0, 1], [2, 3]] output_shape [1, %tokens, {heads}, {D}] : {t('?', heads * D)} into {t(1, '?', heads, D)}")
for n, heads in (("q", H), ("k", HKV)):
    emit(f"    %{n}_rot = hymir.rope %{n}4, %positions {{rotary_dim = {ROT} : i64, theta = 1.000000e+07 : f64}} : ({t(1, '?', heads, D)}, {t(1, '?', dt='i32')}) -> {t(1, '?', heads, D)}")
emit(f"    %attn = hymir.softmax_attention %q_rot, %k_rot, %v4 {{causal = true, scale = {1 / math.sqrt(D)} : f32}} : ({t(1, '?', H, D)}, {t(1, '?', HKV, D)}, {t(1, '?', HKV, D)}) -> {t(1, '?', H, D)}")
emit(f"    %attn2 = tensor.collapse_shape %attn [[0, 1], [2, 3]] : {t(1, '?', H, D)} into {t('?', H * D)}")
emit(f"    %mix = hymir.linear %attn2, %o_proj : ({t('?', H * D)}, {t(N, H * D)}) -> {ACT}")
layer_footer("mix")
emit("")

# The entry: embedding, 8 layers, final norm, LM head.
args = [f'%ids: {t("?", dt="i32")} {{hymir.name = "input_ids"}}',
        f'%positions: {t(1, "?", dt="i32")} {{hymir.name = "positions"}}',
        f'%embed: {t(V, N)} {{hymir.name = "model.embed_tokens.weight"}}']
call_args = {}
for l in range(LAYERS):
    soft = l % 8 == 7
    p = f"model.layers.{l}."
    names = {"input_norm": p + "input_layernorm.weight", "post_norm": p + "post_attention_layernorm.weight",
             "router": p + "mlp.gate.weight", "gate_up": p + "mlp.experts.gate_up_proj",
             "w2": p + "mlp.experts.down_proj"}
    if soft:
        names.update({n: p + f"self_attn.{n}.weight" for n in ("q_proj", "k_proj", "v_proj", "o_proj")})
    else:
        names.update({"qkv_proj": p + "self_attn.qkv_proj.weight", "output_gate": p + "self_attn.output_gate.weight",
                      "out_proj": p + "self_attn.out_proj.weight", "attn_norm": p + "self_attn.norm.weight"})
    ws = COMMON_W + (SOFT_W if soft else LIGHT_W)
    call_args[l] = []
    for n, ty in ws:
        if n == "positions":
            call_args[l].append(("%positions", ty))
        elif n == "slopes":
            call_args[l].append((f"%slopes{l}", ty))
        else:
            args.append(f'%l{l}_{n}: {ty} {{hymir.name = "{names[n]}"}}')
            call_args[l].append((f"%l{l}_{n}", ty))
args += [f'%final_norm: {t(N)} {{hymir.name = "model.norm.weight"}}',
         f'%lm_head: {t(V, N)} {{hymir.name = "lm_head.weight"}}']

body = []
body.append(f"    %x0 = hymir.embedding %embed, %ids : ({t(V, N)}, {t('?', dt='i32')}) -> {ACT}")
for l in range(LAYERS):
    soft = l % 8 == 7
    if not soft:
        vals = ", ".join(f"{s:.9e}" for s in slopes(H, l))
        body.append(f"    %slopes{l} = arith.constant dense<[{vals}]> : {t(H, dt='f32')}")
    ops = ", ".join(a for a, _ in call_args[l])
    tys = ", ".join(ty for _, ty in call_args[l])
    kind = "softmax" if soft else "lightning"
    body.append(f"    %x{l + 1} = func.call @{kind}_layer(%x{l}, {ops}) : ({ACT}, {tys}) -> {ACT}")
body.append(f"    %xf = hymir.rms_norm %x{LAYERS}, %final_norm {{epsilon = 1.0e-05 : f32}} : ({ACT}, {t(N)}) -> {ACT}")
body.append(f"    %logits = hymir.linear %xf, %lm_head {{precision = \"f32\"}} : ({ACT}, {t(V, N)}) -> {t('?', V, dt='f32')}")
body.append(f"    return %logits : {t('?', V, dt='f32')}")

print("// A MiniMax-M1-shaped model at toy widths, written by scripts/gen-tiny-model.py.")
print(f"// {LAYERS} layers (layer 7 softmax attention, the rest lightning attention),")
print(f"// hidden {N}, {H} heads of {D} ({HKV} KV heads in the softmax layer, rotary_dim {ROT}),")
print(f"// {E} experts of width {I} (top-2), vocabulary {V}, bf16 weights, f32 router and logits.")
print("module {")
for line in lines:
    print(line)
print(f"  func.func @forward({', '.join(args)}) -> ({t('?', V, dt='f32')} {{hymir.name = \"logits\"}}) {{")
for line in body:
    print(line)
print("  }")
print("}")
