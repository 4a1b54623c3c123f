#!/usr/bin/env python3
"""hymir-generate on the imported tiny models, cpu target.

For each preset with golden data (test/e2e/golden/<preset>, made by
scripts/make-golden.py; the m1 and hf checkpoints of
scripts/make-checkpoint.py otherwise): the checkpoint is imported with f32
activations and 3 sequence slots, compiled for cpu, and
  - hymir-generate greedy, 16 new tokens, on 3 prompts of different lengths
    served together: the same tokens as a greedy loop over `forward` made
    here, one hymir-run call per token on a batch-1 artifact, and log-probs
    within 1e-5 of the log-softmax (fp64, in Python) of that loop's f32
    logits;
  - greedy 64 tokens from the golden prompt: transformers' tokens
    (generate.json), or a divergence at a near tie of transformers' top two
    logits (under 1e-3), as test/e2e/golden_transformers.py allows;
  - the cache stepper (prefill and decode over device-resident caches, the
    default for these artifacts) against the forward stepper (--stepper
    forward): the same greedy tokens, log-probs within 1e-5, and the same
    seeded sampled tokens, on prompts of different lengths, with more
    prompts than slots (slots reused by new prompts after finished ones);
  - sampled tokens' log-probs from the `logprobs` entry (the default)
    against --logprobs host (a log-softmax of the logits): the same tokens,
    log-probs within 1e-5;
  - one slot against three (continuous batching, right-padded rows): the
    same greedy and seeded sampled tokens; the same seed twice, the same
    output; five prompts over two slots with --stream-tokens all finish,
    each token line before its sequence's line;
  - a stop token ends a sequence at its first occurrence (finish "stop");
    early truncation with N = 3 and a probability every token passes ends
    each sequence after 3 tokens ("truncated"); --max-new-tokens ("length").
Text (a byte-level tokenizer.json written here, beside a link to the
weights: ids 0-124 are the bytes 0-124, 125 the special token <|end|>, 126
and 127 the merges "he" and "ll"): --prompt-text and {"text": ...} lines
give the same tokens as the ids of the same text (encoded here), in
command-line order with --prompt; each finished line's "text" is its new
tokens decoded here; a text prompt without a tokenizer, an unsupported or
missing tokenizer, a byte the vocabulary lacks fail naming it; an id-only
run beside an unsupported tokenizer.json notes it and succeeds, without
"text".
Errors, each a one-line message and a non-zero exit: an artifact without
`forward`, --stepper cache on one without prefill, a bad --stepper or --logprobs, a prompt longer than the context, an id outside the vocabulary,
bad option values, bad prompt files, missing weights.
Usage: generate_model.py BIN_DIR
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import read_tensor, run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE = os.path.join(ROOT, "scripts", "make-checkpoint.py")
GOLDEN = os.path.join(ROOT, "test", "e2e", "golden")
CONTEXT = 72  # the golden prompt (8) and 64 new tokens
PROMPTS = [[5, 17, 99, 3], [116, 100, 72, 108, 68, 8, 96, 69], [42]]
NEAR_TIE = 1e-3
LOGPROB_TOLERANCE = 1e-5

failures = []


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def write_ids(path, rows):
    values = [i for row in rows for i in row]
    header = {"input_ids": {"dtype": "I32", "shape": [len(rows), len(rows[0])],
                            "data_offsets": [0, 4 * len(values)]}}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + struct.pack(f"<{len(values)}i", *values))


def generate(bin_dir, artifact, weights, args, prompts=None):
    """Runs hymir-generate; (finished lines by index, token lines, stderr)."""
    cmd = [os.path.join(bin_dir, "hymir-generate"), artifact, "--weights", weights]
    for p in prompts or []:
        cmd += ["--prompt", ",".join(map(str, p))]
    r = subprocess.run(cmd + args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"hymir-generate {' '.join(args)} failed:\n{r.stderr}")
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    done = {l["index"]: l for l in lines if "tokens" in l}
    tokens = [l for l in lines if "token" in l]
    return done, tokens, r.stderr, lines


def forward_loop(bin_dir, artifact, weights, prompt, count, work):
    """Greedy tokens and their log-probs (fp64 log-softmax of the f32
    logits), one hymir-run call of forward per token."""
    seq, tokens, logprobs = list(prompt), [], []
    inputs, outputs = os.path.join(work, "ids.safetensors"), os.path.join(work, "out.safetensors")
    for _ in range(count):
        write_ids(inputs, [seq])
        run([os.path.join(bin_dir, "hymir-run"), artifact, "--entry", "forward", "--device",
             "cpu", "--inputs", inputs, "--weights", weights, "--outputs", outputs])
        logits = read_tensor(outputs, "logits")
        vocab = len(logits) // len(seq)
        last = logits[-vocab:]
        token = max(range(vocab), key=lambda v: (last[v], -v))
        m = max(last)
        lse = m + math.log(sum(math.exp(x - m) for x in last))
        tokens.append(token)
        logprobs.append(last[token] - lse)
        seq.append(token)
    return tokens, logprobs


def import_compile(bin_dir, ckpt, work, name, batch):
    mlir = os.path.join(work, name + ".mlir")
    # The entries hymir-generate calls (score and cispo_step, unused here,
    # would double the compile, most of this test's time).
    run([os.path.join(bin_dir, "hymir-import"), ckpt, "-o", mlir, "--activation=f32",
         f"--max-batch={batch}", f"--max-context={CONTEXT}",
         "--entries=forward,prefill,decode,logprobs"])
    run([os.path.join(bin_dir, "hymir-compile"), mlir, "-o", mlir + ".hymir", "--target=cpu",
         f"--max-tokens={CONTEXT}"])
    return mlir + ".hymir"


def check_preset(bin_dir, preset, seed, golden, work):
    ckpt = os.path.join(work, preset)
    run([sys.executable, MAKE, ckpt, "--preset", preset, "--seed", str(seed)])
    weights = os.path.join(ckpt, "model.safetensors")
    art3 = import_compile(bin_dir, ckpt, work, preset + "-b3", 3)
    art1 = import_compile(bin_dir, ckpt, work, preset + "-b1", 1)

    # Greedy, 16 tokens, three prompts at once, against the forward loop.
    done, _, err, _ = generate(bin_dir, art3, weights, ["--max-new-tokens", "16"], PROMPTS)
    check("generating with 'prefill'" in err and "tokens/s" in err.splitlines()[-1],
          f"{preset}: stderr notes the cache stepper (the default) and ends with tokens/s: "
          f"{err.splitlines()[-1]}")
    _, _, ferr, _ = generate(bin_dir, art3, weights,
                             ["--max-new-tokens", "1", "--stepper", "forward"], PROMPTS[:1])
    check("generating with 'forward'" in ferr,
          f"{preset}: --stepper forward notes the forward stepper")
    for i, prompt in enumerate(PROMPTS):
        want, want_lp = forward_loop(bin_dir, art1, weights, prompt, 16, work)
        got = done[i]
        err_lp = max(abs(a - b) for a, b in zip(got["logprobs"], want_lp))
        check(got["tokens"] == want and got["finish_reason"] == "length" and
              err_lp <= LOGPROB_TOLERANCE,
              f"{preset} prompt {i} ({len(prompt)} tokens): greedy 16 tokens equal to the "
              f"forward loop's, log-probs within {err_lp:.2e} of its fp64 log-softmax")

    # The cache stepper against the forward stepper: 7 prompts of 1 to 11
    # tokens over 3 slots and over 2 (slots reused after finished
    # sequences; their caches start anew), greedy and sampled. A stop token
    # (prompt 0's third greedy token) ends some sequences early, so that
    # steps mix a new prompt's prefill with the others' decode.
    seven = PROMPTS + [[7, 7], [1, 2, 3, 4, 5, 6], [9] * 11, [30, 31, 32]]
    base, _, _, _ = generate(bin_dir, art3, weights,
                             ["--max-new-tokens", "10", "--stepper", "forward"], seven)
    stop = ["--stop", str(base[0]["tokens"][2])]
    for args in (["--max-new-tokens", "10"] + stop,
                 ["--max-new-tokens", "10", "--slots", "2"] + stop,
                 ["--max-new-tokens", "10", "--temperature", "0.9", "--top-k", "50",
                  "--seed", "5"],
                 ["--max-new-tokens", "10", "--temperature", "1", "--top-p", "0.9",
                  "--seed", "3", "--slots", "2"] + stop):
        cache, _, cerr, _ = generate(bin_dir, art3, weights, args + ["--stepper", "cache"],
                                     seven)
        forward, _, _, _ = generate(bin_dir, art3, weights, args + ["--stepper", "forward"],
                                    seven)
        same = all(cache[i]["tokens"] == forward[i]["tokens"] and
                   cache[i]["finish_reason"] == forward[i]["finish_reason"]
                   for i in range(len(seven)))
        lp = max(abs(a - b) for i in range(len(seven))
                 for a, b in zip(cache[i]["logprobs"], forward[i]["logprobs"]))
        reasons = sorted(set(cache[i]["finish_reason"] for i in cache))
        check("generating with 'prefill'" in cerr and same and lp <= LOGPROB_TOLERANCE,
              f"{preset} {' '.join(args[2:])}: cache and forward steppers give the same "
              f"tokens for {len(seven)} prompts (finish {reasons}), log-probs within {lp:.2e}")
    # The cache stepper's log-probs come from the `logprobs` entry (the head
    # kernel of `score`); --logprobs host takes them from the logits on the
    # host instead: the same tokens, log-probs within the tolerance.
    args = ["--max-new-tokens", "10", "--temperature", "1", "--seed", "11"]
    model, _, merr, _ = generate(bin_dir, art3, weights, args, seven)
    host, _, herr, _ = generate(bin_dir, art3, weights, args + ["--logprobs", "host"], seven)
    lp = max(abs(a - b) for i in range(len(seven))
             for a, b in zip(model[i]["logprobs"], host[i]["logprobs"]))
    check("log-probs from the 'logprobs' entry" in merr and "log-softmax of the logits" in herr
          and all(model[i]["tokens"] == host[i]["tokens"] for i in range(len(seven)))
          and lp <= LOGPROB_TOLERANCE,
          f"{preset}: log-probs from the 'logprobs' entry and from the host's log-softmax "
          f"agree within {lp:.2e}, same sampled tokens")

    # Greedy 64 from the golden prompt against transformers, through the
    # caches (one prefill, then one decode call per token).
    if golden:
        meta = json.load(open(os.path.join(golden, "generate.json")))
        done, _, _, _ = generate(bin_dir, art3, weights,
                                 ["--max-new-tokens", "64", "--stepper", "cache"],
                                 [meta["prompt"]])
        got, want = done[0]["tokens"], meta["tokens"]
        diverge = next((k for k in range(len(want)) if got[k] != want[k]), None)
        if diverge is None:
            check(True, f"{preset}: greedy 64 tokens (cache stepper) identical to "
                  "transformers'")
        else:
            gap = meta["top2_gap"][diverge]
            check(gap < NEAR_TIE, f"{preset}: greedy diverges from transformers at step "
                  f"{diverge}: transformers' top-2 gap {gap:.3g} (a near tie is under "
                  f"{NEAR_TIE})")

    # One slot or three: the same tokens, greedy and sampled.
    for args in (["--max-new-tokens", "12"],
                 ["--max-new-tokens", "12", "--temperature", "1", "--top-k", "40",
                  "--top-p", "0.95", "--seed", "11"]):
        one, _, _, _ = generate(bin_dir, art3, weights, args + ["--slots", "1"], PROMPTS)
        three, _, _, _ = generate(bin_dir, art3, weights, args, PROMPTS)
        same = all(one[i]["tokens"] == three[i]["tokens"] for i in range(len(PROMPTS)))
        lp = max(abs(a - b) for i in range(len(PROMPTS))
                 for a, b in zip(one[i]["logprobs"], three[i]["logprobs"]))
        check(same and lp <= LOGPROB_TOLERANCE,
              f"{preset} {' '.join(args[2:]) or 'greedy'}: --slots 1 and 3 give the same "
              f"tokens, log-probs within {lp:.2e}")
    sampled = ["--max-new-tokens", "12", "--temperature", "1", "--seed"]
    a, _, _, _ = generate(bin_dir, art3, weights, sampled + ["11"], PROMPTS)
    b, _, _, _ = generate(bin_dir, art3, weights, sampled + ["11"], PROMPTS)
    c, _, _, _ = generate(bin_dir, art3, weights, sampled + ["12"], PROMPTS)
    greedy, _, _, _ = generate(bin_dir, art3, weights, ["--max-new-tokens", "12"], PROMPTS)
    check(a == b and a != c and a != greedy,
          f"{preset}: sampling with seed 11 twice gives the same output, seed 12 and "
          "greedy others")

    # Continuous batching: five prompts over two slots, streamed.
    five = PROMPTS + [[7, 7], [1, 2, 3, 4, 5, 6]]
    done, tokens, _, lines = generate(
        bin_dir, art3, weights, ["--max-new-tokens", "6", "--slots", "2", "--stream-tokens"],
        five)
    order_ok = True
    for i in range(len(five)):
        finish_at = next(k for k, l in enumerate(lines) if l.get("index") == i and "tokens" in l)
        mine = [k for k, l in enumerate(lines) if l.get("index") == i and "token" in l]
        order_ok &= len(mine) == 6 and max(mine) < finish_at and \
            [lines[k]["token"] for k in mine] == done[i]["tokens"]
    check(sorted(done) == list(range(5)) and len(tokens) == 30 and order_ok,
          f"{preset}: 5 prompts over 2 slots all finish, each token line before its "
          f"sequence; finish order {[l['index'] for l in lines if 'tokens' in l]}")

    # Stop tokens, early truncation, length.
    stop = greedy[0]["tokens"][2]
    first = greedy[0]["tokens"].index(stop)
    done, _, _, _ = generate(bin_dir, art3, weights,
                             ["--max-new-tokens", "12", "--stop", str(stop)], PROMPTS[:1])
    check(done[0]["tokens"] == greedy[0]["tokens"][:first + 1] and
          done[0]["finish_reason"] == "stop",
          f"{preset}: --stop {stop} ends the sequence after {first + 1} tokens (stop)")
    done, _, _, _ = generate(bin_dir, art3, weights,
                             ["--max-new-tokens", "12", "--early-truncation", "3",
                              "--early-truncation-probability", "0.001"], PROMPTS)
    check(all(done[i]["finish_reason"] == "truncated" and len(done[i]["tokens"]) == 3 and
              all(math.exp(l) > 0.001 for l in done[i]["logprobs"]) for i in done),
          f"{preset}: early truncation N=3 ends each sequence after 3 tokens (truncated)")
    done, _, _, _ = generate(bin_dir, art3, weights,
                             ["--max-new-tokens", "12", "--early-truncation", "3"], PROMPTS)
    check(all(done[i]["finish_reason"] == "length" for i in done),
          f"{preset}: at probability 0.99 no sequence of the random model is truncated")
    # The context: a sequence feeds at most CONTEXT tokens, so a prompt of
    # CONTEXT - 1 makes 2 new ones (the last is never fed).
    for stepper in ("cache", "forward"):
        done, _, _, _ = generate(bin_dir, art3, weights,
                                 ["--max-new-tokens", "16", "--stepper", stepper],
                                 [[3] * (CONTEXT - 1), [4]])
        check(len(done[0]["tokens"]) == 2 and done[0]["finish_reason"] == "length" and
              len(done[1]["tokens"]) == 16,
              f"{preset} {stepper}: a prompt of {CONTEXT - 1} tokens ends with 2 new ones at "
              f"the context of {CONTEXT} (length), beside a short one that makes 16")
    return art3, weights


def expect_error(bin_dir, args, code, text, what):
    r = subprocess.run([os.path.join(bin_dir, "hymir-generate")] + args, capture_output=True,
                       text=True)
    lines = r.stderr.strip().splitlines()
    ok = r.returncode == code and len(lines) >= 1 and text in lines[-1]
    check(ok, f"error, {what}: exit {r.returncode}: {lines[-1] if lines else '(nothing)'}")


def check_errors(bin_dir, artifact, weights, work):
    base = [artifact, "--weights", weights]
    linear = os.path.join(work, "linear.hymir")
    run([os.path.join(bin_dir, "hymir-compile"),
         os.path.join(ROOT, "test", "e2e", "Inputs", "linear_f32.mlir"), "-o", linear,
         "--target=cpu"])
    expect_error(bin_dir, [linear, "--prompt", "1"], 1,
                 "no entry 'forward' (entries: linear): generation needs an entry 'forward'",
                 "an artifact without forward")
    expect_error(bin_dir, [linear, "--prompt", "1", "--stepper", "cache"], 1,
                 "no entry 'prefill' (entries: linear): generation through the caches needs "
                 "the entries 'prefill' and 'decode'", "--stepper cache without prefill")
    long = ",".join(["1"] * (CONTEXT + 1))
    expect_error(bin_dir, base + ["--prompt", "1", "--prompt", long], 1,
                 f"--prompt #2: the prompt has {CONTEXT + 1} tokens, more than the model's "
                 f"context of {CONTEXT}", "a prompt longer than the context")
    expect_error(bin_dir, base + ["--prompt", "1 2 128"], 1,
                 "--prompt #1: token 128 at position 2 is not in the model's vocabulary "
                 "[0, 128)", "an id outside the vocabulary")
    prompts = os.path.join(work, "prompts.jsonl")
    with open(prompts, "w") as f:
        f.write('[1, 2]\n\n{"tokens": [3, -4]}\n')
    expect_error(bin_dir, base + ["--prompts", prompts], 1,
                 f"{prompts} line 3: token -4 at position 1 is not in the model's "
                 "vocabulary", "a negative id in a prompts file")
    with open(prompts, "w") as f:
        f.write('[1, 2]\n[3, "x"]\n')
    expect_error(bin_dir, base + ["--prompts", prompts], 1,
                 f'{prompts} line 2: element 1 ("x") is not a token id',
                 "a prompts file with a string id")
    with open(prompts, "w") as f:
        f.write('[1, 2\n')
    expect_error(bin_dir, base + ["--prompts", prompts], 1, f"{prompts} line 1: not JSON",
                 "a prompts file with a broken line")
    expect_error(bin_dir, base + ["--prompts", os.path.join(work, "none.jsonl")], 1,
                 "cannot read --prompts", "a missing prompts file")
    expect_error(bin_dir, base + ["--prompt", "1,x"], 1,
                 "--prompt #1: 'x' is not a token id", "a word in --prompt")
    expect_error(bin_dir, base, 2,
                 "no prompts: give --prompts FILE, --prompt IDS or --prompt-text TEXT",
                 "no prompts")
    for args, text in (
            (["--temperature", "-1"], "temperature must be a finite number >= 0"),
            (["--temperature", "abc"], "--temperature must be a finite number, got 'abc'"),
            (["--top-k", "-1"], "--top-k must be an integer >= 0, got"),
            (["--temperature", "1", "--top-p", "1.5"], "top-p must be in (0, 1]"),
            (["--temperature", "1", "--top-p", "0"], "top-p must be in (0, 1]"),
            (["--top-k", "5"], "top-k and top-p need a temperature above 0"),
            (["--max-new-tokens", "0"], "--max-new-tokens must be an integer >= 1, got"),
            (["--slots", "0"], "--slots must be an integer >= 1, got"),
            (["--slots", "4"], "--slots 4 is more than the model's 3 sequence slots"),
            (["--stop", "128"], "stop token 128 is not in the model's vocabulary [0, 128)"),
            (["--stop", ""], "--stop needs at least one token id"),
            (["--early-truncation", "-3"], "--early-truncation must be an integer >= 0, got"),
            (["--early-truncation-probability", "1"],
             "the early-truncation probability must be in (0, 1), got 1"),
            (["--seed", "-1"], "--seed must be an integer in [0, 2^64)"),
            (["--stepper", "kv"], "--stepper must be auto, cache or forward, got 'kv'"),
            (["--logprobs", "gpu"], "--logprobs must be model or host, got 'gpu'"),
            (["--bogus"], "unknown option --bogus")):
        expect_error(bin_dir, base + ["--prompt", "1"] + args, 2, text, " ".join(args))
    expect_error(bin_dir, [artifact, "--prompt", "1"], 1,
                 "parameters: give the checkpoint with --weights", "no --weights")


def byte_chars():
    """The ByteLevel alphabet: printable bytes stand for themselves, the
    others for 256 + their rank among the others."""
    chars, extra = [], 0
    for b in range(256):
        if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


SPECIAL = "<|end|>"
MERGED = {b"he": 126, b"ll": 127}


def tokenizer_json():
    chars = byte_chars()
    vocab = {chars[b]: b for b in range(125)}
    for pair, i in MERGED.items():
        vocab["".join(chars[b] for b in pair)] = i
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 125, "content": SPECIAL, "single_word": False,
                          "lstrip": False, "rstrip": False, "normalized": False,
                          "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False,
                          "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": ["h e", "l l"]}}


def encode(text):
    """The ids of `text` under tokenizer_json(), for texts whose "he" and
    "ll" never straddle a pre-token boundary (letters only around them)."""
    ids = []
    for k, part in enumerate(text.split(SPECIAL)):
        if k:
            ids.append(125)
        data, i = part.encode(), 0
        while i < len(data):
            if data[i:i + 2] in MERGED:
                ids.append(MERGED[data[i:i + 2]])
                i += 2
            else:
                assert data[i] < 125
                ids.append(data[i])
                i += 1
    return ids


def decode(ids):
    pieces = {125: SPECIAL.encode(), **{i: pair for pair, i in MERGED.items()}}
    return b"".join(pieces.get(i, bytes([i])) for i in ids).decode()


def check_text(bin_dir, artifact, weights, work):
    exe = os.path.join(bin_dir, "hymir-generate")
    text_dir, broken_dir = os.path.join(work, "text-model"), os.path.join(work, "broken-model")
    for d in (text_dir, broken_dir):
        os.makedirs(d)
        os.symlink(weights, os.path.join(d, "model.safetensors"))
    with open(os.path.join(text_dir, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f)
    unsupported = tokenizer_json()
    unsupported["model"]["type"] = "WordPiece"
    with open(os.path.join(broken_dir, "tokenizer.json"), "w") as f:
        json.dump(unsupported, f)

    # Text prompts against the ids of the same text: a file's lines first,
    # then --prompt-text and --prompt in command-line order.
    texts = ["hello, shell", "Hi" + SPECIAL + " hell\nyes", "ll"]
    file_text = "Well, the bells"
    prompts = os.path.join(work, "text-prompts.jsonl")
    with open(prompts, "w") as f:
        f.write(json.dumps({"text": file_text}) + "\n[7, 7]\n")
    args = ["--max-new-tokens", "8", "--slots", "2"]
    cmd = [exe, artifact, "--weights", text_dir, "--prompts", prompts,
           "--prompt-text", texts[0], "--prompt", "5,17", "--prompt-text", texts[1],
           "--prompt-text", texts[2]] + args
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        check(False, f"text prompts: hymir-generate failed: {r.stderr}")
        return
    by_text = {l["index"]: l for l in map(json.loads, r.stdout.splitlines())}
    want_ids = [encode(file_text), [7, 7], encode(texts[0]), [5, 17], encode(texts[1]),
                encode(texts[2])]
    by_ids, _, _, _ = generate(bin_dir, artifact, os.path.join(text_dir, "model.safetensors"),
                               args, want_ids)
    check(sorted(by_text) == list(range(6)) and
          all(by_text[i]["tokens"] == by_ids[i]["tokens"] and
              by_text[i]["prompt_tokens"] == len(want_ids[i]) for i in range(6)),
          f"text prompts (file line, --prompt-text, mixed with ids) give the tokens of the "
          f"ids {want_ids[2]}, ... in command-line order")
    check(all(l.get("text") == decode(l["tokens"]) for l in
              list(by_text.values()) + list(by_ids.values())),
          f"each finished line's \"text\" is its new tokens decoded: "
          f"{by_text[0]['text']!r}")

    # Errors.
    expect_error(bin_dir, [artifact, "--weights", weights, "--prompt-text", "hi"], 1,
                 "--prompt-text #1: a text prompt needs a tokenizer: no --tokenizer given and "
                 f"no {os.path.join(os.path.dirname(weights), 'tokenizer.json')} beside the "
                 "weights", "a text prompt without a tokenizer")
    expect_error(bin_dir, [artifact, "--weights", weights, "--tokenizer",
                           os.path.join(work, "none.json"), "--prompt", "1"], 1,
                 "cannot open tokenizer file", "a missing --tokenizer")
    expect_error(bin_dir, [artifact, "--weights", broken_dir, "--prompt", "1",
                           "--prompt-text", "hi"], 1,
                 "--prompt-text #1: " + os.path.join(broken_dir, "tokenizer.json") +
                 ": model.type is WordPiece; only BPE is supported",
                 "a text prompt with an unsupported tokenizer.json beside the weights")
    expect_error(bin_dir, [artifact, "--weights", weights, "--tokenizer",
                           os.path.join(broken_dir, "tokenizer.json"), "--prompt", "1"], 1,
                 "model.type is WordPiece; only BPE is supported",
                 "an unsupported --tokenizer, even with id prompts")
    expect_error(bin_dir, [artifact, "--weights", text_dir, "--prompt", "1",
                           "--prompt-text", "ok", "--prompt-text", "a}"], 1,
                 "--prompt-text #2: " + os.path.join(text_dir, "tokenizer.json") +
                 ": model.vocab has no token for byte 0x7d", "a byte the vocabulary lacks")
    with open(prompts, "w") as f:
        f.write('{"text": "hi", "tokens": [1]}\n')
    expect_error(bin_dir, [artifact, "--weights", text_dir, "--prompts", prompts], 1,
                 f'{prompts} line 1: an object with both "tokens" and "text"',
                 "a prompts line with tokens and text")
    with open(prompts, "w") as f:
        f.write('{"text": 5}\n')
    expect_error(bin_dir, [artifact, "--weights", text_dir, "--prompts", prompts], 1,
                 f'{prompts} line 1: "text" is number, not a string',
                 "a prompts line whose text is a number")

    # Id prompts beside an unsupported tokenizer.json: a note, no text.
    r = subprocess.run([exe, artifact, "--weights",
                        os.path.join(broken_dir, "model.safetensors"), "--prompt", "1,2"] +
                       args, capture_output=True, text=True)
    lines = [json.loads(l) for l in r.stdout.splitlines()] if r.returncode == 0 else []
    note = next((l for l in r.stderr.splitlines() if "tokenizer.json" in l), "")
    check(r.returncode == 0 and len(lines) == 1 and "text" not in lines[0] and
          'note: no "text" in the output: ' in note and "WordPiece" in note,
          f"id prompts beside an unsupported tokenizer.json: exit {r.returncode}, {note}")


def main():
    bin_dir = sys.argv[1]
    presets = {"m1": 7, "hf": 7}
    with tempfile.TemporaryDirectory() as work:
        artifact = weights = None
        for preset, seed in presets.items():
            golden = os.path.join(GOLDEN, preset)
            if os.path.exists(os.path.join(golden, "generate.json")):
                seed = json.load(open(os.path.join(golden, "generate.json")))["seed"]
            else:
                print(f"note: no golden data for {preset} in {GOLDEN}: the comparison with "
                      "transformers is skipped")
                golden = None
            try:
                a, w = check_preset(bin_dir, preset, seed, golden, work)
                artifact, weights = artifact or a, weights or w
            except (RuntimeError, KeyError, StopIteration) as e:
                check(False, f"{preset}: {e}")
        if artifact:
            check_errors(bin_dir, artifact, weights, work)
            check_text(bin_dir, artifact, weights, work)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("hymir-generate: every check PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
