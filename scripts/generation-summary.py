#!/usr/bin/env python3
"""Prints what hymir-generate wrote as a readable summary.

Usage: hymir-generate ... --stream-tokens --progress-every 0 >LOG 2>&1
       generation-summary.py LOG [--prompts FILE] [--wrap N]

LOG holds hymir-generate's JSON lines and, when stderr went to the same
file, its note, progress and last lines. For each sequence, in prompt
order: its prompt (from the --prompts file hymir-generate read), finish
reason, new tokens and their log-probs (N to a line, default 12). With the
--stream-tokens lines and a progress line per step (--progress-every 0),
a timeline follows: one row per sequence, one column per step, '.' while it
waits for a slot and '#' for each token made, which shows sequences leaving
and waiting ones joining (continuous batching). Then the note (which
entries run) and the last line (tokens/s). Plain python3.
"""
import argparse
import json
import sys


def read_log(path):
    """(JSON objects, other lines) of hymir-generate's output; the JSON ones
    get "step": the number of progress lines before them plus 1."""
    rows, other, step = [], [], 1
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if not line.startswith("{"):
                other.append(line)
                if ": step " in line:
                    step += 1
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"generation-summary: {path} line {number}: not JSON ({e.msg})")
            row["step"] = step
            rows.append(row)
    return rows, other


def read_prompts(path):
    """Prompt token ids by index from a --prompts file (arrays or {"tokens"})."""
    prompts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                prompts.append(row["tokens"] if isinstance(row, dict) else row)
    return prompts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("--prompts")
    ap.add_argument("--wrap", type=int, default=12)
    args = ap.parse_args()

    rows, other = read_log(args.log)
    finished = {r["index"]: r for r in rows if "finish_reason" in r}
    stream = [r for r in rows if "position" in r]
    order = [r["index"] for r in rows if "finish_reason" in r]
    prompts = read_prompts(args.prompts) if args.prompts else []
    if not finished:
        sys.exit(f"generation-summary: {args.log} holds no finished sequence")

    wrap = max(1, args.wrap)
    for i in sorted(finished):
        r = finished[i]
        tokens, logprobs = r["tokens"], r["logprobs"]
        prompt = " ".join(map(str, prompts[i])) if i < len(prompts) else "?"
        mean = sum(logprobs) / len(logprobs) if logprobs else 0.0
        print(f"  #{i}  prompt [{prompt}] ({r['prompt_tokens']} token{'s' if r['prompt_tokens'] != 1 else ''}) -> "
              f"{len(tokens)} new, {r['finish_reason']}, mean log-prob {mean:.2f}")
        for at in range(0, len(tokens), wrap):
            print("      tokens  " + "".join(f"{t:7d}" for t in tokens[at:at + wrap]))
            print("      logprob " + "".join(f"{p:7.2f}" for p in logprobs[at:at + wrap]))
    print("  finished in the order: " + " ".join(f"#{i}" for i in order))

    if stream and any(": step " in line for line in other):
        total = max(r["step"] for r in stream)
        print(f"  timeline, one column per step ('.' waiting for a slot, '#' a token made):")
        for i in sorted(finished):
            made = [r["step"] - 1 for r in stream if r["index"] == i]
            if not made:
                continue
            cells = ["."] * made[0] + [" "] * (total - made[0])
            for s in made:
                cells[s] = "#"
            print(f"    #{i:<3d}|{''.join(cells)}|")

    for line in other:
        if ": note:" in line:
            print("  " + line)
    last = [l for l in other if "tokens/s" in l and " sequences, " in l]
    if last:
        print("  " + last[-1])


if __name__ == "__main__":
    main()
