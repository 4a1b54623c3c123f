#!/usr/bin/env python3
"""Golden data for hymir's tokenizer (runtime/lib/Tokenizer.cpp), made with
the Hugging Face `tokenizers` library (on the GPU host, which has it).

Trains small byte-level BPE tokenizers on deterministic mixed-script text
and writes, for each, its tokenizer.json and the ids and decoded text of a
few hundred test strings (280 for qwen, the first 150 for the others), so that test/runtime/TokenizerGoldenTest.cpp can
check hymir's encoder and decoder against `tokenizers` without it:

  qwen/      Split on the Qwen2-style pattern (\\p{N} one digit a piece) +
             ByteLevel(use_regex false), vocabulary ~2000, like MiniMax's and
             Qwen2's tokenizer.json; specials <|endoftext|>, <|im_start|>,
             <|im_end|> and an added non-special token <think>
  cl100k/    the same with digit runs of up to 3 (\\p{N}{1,3}), vocab ~500
  gpt2/      ByteLevel(use_regex true): GPT-2's own pattern, vocab ~500

Each folder: tokenizer.json and golden.json = {"tokenizers": version,
"cases": [{"text", "ids", "decoded" (decode with skip_special_tokens
false, only where it is not the text), "decoded_skip" (true, only where it
is not "decoded")}], "decode_cases": [{"ids", "decoded"}]} where
decode_cases are id sequences that split multi-byte characters (the
decoder's replacement of invalid UTF-8).

Usage: make-tokenizer-golden.py OUT_DIR
"""
import json
import os
import random
import sys

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

QWEN_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
CL100K_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

WORDS = {
    "latin": ["the", "model", "token", "café", "naïve", "résumé", "Straße", "garçon", "Ångström",
              "über", "piñata", "don't", "we'll", "I'M", "they've", "it's", "She'd", "you're",
              "HTTP", "camelCase", "snake_case", "x86_64", "ﬁne", "Ǆemal", "ǅ"],
    "cyrillic": ["привет", "мир", "Москва", "ёлка", "ЖУРНАЛ", "съешь", "щётка", "Україна", "ґанок"],
    "cjk": ["你好", "世界", "模型", "東京", "日本語", "한국어", "테스트", "カタカナ", "ひらがな", "漢字"],
    "arabic": ["مرحبا", "العالم", "كتاب", "שלום", "עולם", "नमस्ते", "हिन्दी", "ไทย", "ελληνικά", "Ωμέγα"],
    "digits": ["0", "7", "42", "123", "2024", "31415926", "1,000,000", "3.14", "٣٤٥", "१२३", "Ⅻ", "½",
               "①②", "０１２"],
    "punct": [".", ",", "!", "?", "...", "--", "—", "«»", "“quoted”", "(x)", "[y]", "{z}", "#",
              "@", "$5", "%", "&&", "||", "->", "=>", "::", "\\n", "'", "''", "`code`", "¿", "¡"],
    "emoji": ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷", "🤖", "✨", "🧑🏿‍💻", "☕", "🔥🔥"],
}
SPACES = [" ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", " \n", "\r\n", "\u3000", "\u00a0", " \t "]


def sentence(rng, n):
    parts = []
    for _ in range(n):
        kind = rng.choice(list(WORDS))
        parts.append(rng.choice(WORDS[kind]))
        parts.append(rng.choice(SPACES))
    return "".join(parts)


def corpus(seed):
    rng = random.Random(seed)
    return [sentence(rng, rng.randint(3, 40)) for _ in range(3000)]


def test_strings():
    rng = random.Random(13)
    cases = [
        "", " ", "  ", "\n", "\t", "a", "Hello, world!", "Hello  world", "Hello\n\nworld",
        "trailing space ", "  leading", "tabs\t\tand\ttabs", "\r\n\r\nwindows\r\n",
        "12345678901234567890", "a1b22c333d4444", " 42 ", "3.14159 2.71828",
        "don't can't won't I'll you've he'd she's THEY'RE We'Ll", "'s 's' ''s",
        "naïve café résumé", "привет, мир!", "你好，世界。", "مرحبا بالعالم", "नमस्ते दुनिया",
        "👨‍👩‍👧‍👦 family", "🏳️‍🌈🇫🇷👍🏽", "emoji🤖inside", "x" * 300, " " * 40, "\n" * 10,
        "a \n b", "a\n b", "a \nb", "word   \n\n   word", "end\n", "end \n ",
        "<|endoftext|>", "a<|endoftext|>b", "<|im_start|>user\nhi<|im_end|>\n",
        "<|im_start|><|im_end|>", "<|im_start", "im_end|>", "<think>reason</think>",
        "text <think> text", "<|endoftext|><|endoftext|>", " <|endoftext|> ",
        "\u200b\u200d\ufeff", "\u0301\u0308e\u0301", "ﬁ ﬂ ﬀ", "Ǆ ǅ ǆ", "ſ 'ſ 'S",
        "\x00\x01\x1f\x7f", "\u0085\u2028\u2029", "\u00a0x\u00a0", "\u3000全角\u3000",
        "\U0001F600\U0001F600\U0001F600", "\U00010348 gothic", "\U0002A6D6 ext-B",
        "mixed123abc!!!???...", "path/to/file.txt", "https://example.com/a?b=c&d=e",
        "def f(x):\n    return x + 1\n", "    indented\n\tcode\n", "== != <= >= ->",
        "$100.00 €5 £3 ¥7", "#hashtag @mention", "a.b.c", "…", "“”‘’", "٣٤٥ ١٢", "१२३", "Ⅻ ½ ①",
    ]
    alphabet = "".join(w for ws in WORDS.values() for w in ws) + "".join(SPACES) + "<|>_-"
    while len(cases) < 280:
        r = rng.random()
        if r < 0.5:
            s = sentence(rng, rng.randint(1, 12))
        elif r < 0.8:
            s = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))
        else:
            s = sentence(rng, 3) + rng.choice(SPECIALS + ["<think>"]) + sentence(rng, 3)
        cases.append(s)
    return cases


def train(pattern, vocab_size, seed):
    tok = Tokenizer(models.BPE(byte_fallback=False))
    if pattern is None:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus(seed), trainer)
    tok.add_tokens(["<think>"])
    return tok


def write(out, name, tok, count):
    import tokenizers
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    tok.save(os.path.join(folder, "tokenizer.json"))
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    cases = []
    for text in test_strings()[:count]:
        ids = tok.encode(text, add_special_tokens=False).ids
        case = {"text": text, "ids": ids}
        decoded = tok.decode(ids, skip_special_tokens=False)
        skipped = tok.decode(ids, skip_special_tokens=True)
        if decoded != text:
            case["decoded"] = decoded
        if skipped != decoded:
            case["decoded_skip"] = skipped
        cases.append(case)
    rng = random.Random(7)
    vocab = tok.get_vocab_size(with_added_tokens=False)
    decode_cases = []
    for _ in range(40):
        ids = [rng.randrange(vocab) for _ in range(rng.randint(1, 8))]
        decode_cases.append({"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
    for text in ["😀", "你好", "👨‍👩‍👧‍👦", "é"]:
        ids = tok.encode(text).ids
        for cut in range(1, len(ids)):
            decode_cases.append({"ids": ids[:cut], "decoded": tok.decode(ids[:cut], skip_special_tokens=False)})
            decode_cases.append({"ids": ids[cut:], "decoded": tok.decode(ids[cut:], skip_special_tokens=False)})
    with open(os.path.join(folder, "golden.json"), "w") as f:
        json.dump({"tokenizers": tokenizers.__version__, "cases": cases,
                   "decode_cases": decode_cases}, f, ensure_ascii=False, separators=(",", ":"))


def main():
    out = sys.argv[1]
    write(out, "qwen", train(QWEN_PATTERN, 2000, 1), 280)
    write(out, "cl100k", train(CL100K_PATTERN, 500, 2), 150)
    write(out, "gpt2", train(None, 500, 3), 150)


if __name__ == "__main__":
    main()
