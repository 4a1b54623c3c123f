#!/usr/bin/env python3
"""Per-kernel GPU time of one entry, from Nsight Compute, on the GPU host.

Usage: kernel_breakdown.py BIN_DIR ARTIFACT OUT_PREFIX -- HYMIR_BENCH_ARGS...
       kernel_breakdown.py --align BIN_DIR ARTIFACT ENTRY TOKENS OUT_PREFIX.csv

The second form (on any machine with hymir-dump) reads the saved ncu rows
and attributes the last run's kernels to the entry's plan steps (every
hymir kernel has the same name, so only the order says which step it is):
launch steps take the next hymir kernel, gemm steps the library kernels
before it, steps guarded by a token range that excludes TOKENS are
skipped; the steps are printed grouped, slowest first.

Runs hymir-bench ARTIFACT HYMIR_BENCH_ARGS under `ncu --metrics
gpu__time_duration.sum` (every launch, one pass each: each kernel's own
duration, serialized, so launch gaps are not counted) and prints the
kernels grouped by name: launches, total and share of the summed time,
sorted by total. OUT_PREFIX.csv keeps ncu's raw rows. The sum is the GPU
work of every run hymir-bench made (warm-up runs included), so pass
--warmup 1 --iterations 1 and divide by the run count printed.
"""
import collections
import csv
import io
import os
import shutil
import subprocess
import sys


HYMIR_KERNELS = ("decode_kernel", "prefill_kernel", "forward_kernel", "score_kernel")


def ncu_rows(path):
    """(kernel name, microseconds) per launch, in launch order."""
    with open(path) as f:
        text = f.read()
    text = text[text.find('"ID"'):]
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        scale = {"nsecond": 1e-3, "ns": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3,
                 "ms": 1e3}.get(row.get("Metric Unit", "nsecond"), 1e-3)
        rows.append((row["Kernel Name"].split("(")[0],
                     float(row["Metric Value"].replace(",", "")) * scale))
    return rows


def align(bin_dir, artifact, entry, tokens, csv_path):
    import re
    dump = subprocess.run([os.path.join(bin_dir, "hymir-dump"), artifact],
                          capture_output=True, text=True).stdout
    steps, current = [], None
    for line in dump.splitlines():
        m = re.match(r"^entry (\S+)", line)
        if m:
            current = m.group(1)
        elif current == entry and re.match(r"\s+step \d+:", line):
            steps.append(line.strip())
    runnable = []
    for st in steps:
        # Guards: "when tokens <= B", "when tokens >= A", "when A <= tokens <= B".
        both = re.search(r"when (\d+) <= tokens <= (\d+)", st)
        at_most = both or re.search(r"when tokens <= (\d+)", st)
        at_least = both or re.search(r"when tokens >= (\d+)", st)
        low = int(at_least.group(1)) if at_least else None
        high = int(at_most.group(2 if both else 1)) if at_most else None
        if (high is not None and tokens > high) or (low is not None and tokens < low):
            continue
        kind = st.split(":")[1].split()[0]
        if kind in ("launch", "gemm"):
            runnable.append((kind, st))
    rows = ncu_rows(csv_path)
    is_ours = lambda name: name.startswith(HYMIR_KERNELS)
    runs, i = [], 0
    while i < len(rows):
        run = []
        for kind, st in runnable:
            if kind == "launch":
                while i < len(rows) and not is_ours(rows[i][0]):
                    i += 1
                if i >= len(rows):
                    break
                run.append((st, rows[i][1]))
                i += 1
            else:
                t = 0.0
                while i < len(rows) and not is_ours(rows[i][0]):
                    t += rows[i][1]
                    i += 1
                run.append((st, t))
        if len(run) == len(runnable):
            runs.append(run)
        else:
            break
    if not runs:
        print("kernel_breakdown: the rows do not follow the plan of", entry)
        return
    last = runs[-1]
    total = sum(t for _, t in last)
    grouped = collections.defaultdict(float)
    for st, t in last:
        grouped[re.sub(r" \(.*", "", re.sub(r"step \d+: ", "", st))[:110]] += t
    print("%s %s at %d tokens, run %d of %d: %.1f us in %d steps" % (
        os.path.basename(artifact), entry, tokens, len(runs), len(runs), total, len(last)))
    for key, t in sorted(grouped.items(), key=lambda kv: -kv[1])[:30]:
        print("%9.1f us %5.1f%%  %s" % (t, 100 * t / total if total else 0, key))


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "--align":
        align(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
        return
    if len(sys.argv) < 5 or "--" not in sys.argv:
        sys.exit(__doc__)
    split = sys.argv.index("--")
    bin_dir, artifact, prefix = sys.argv[1:4]
    bench_args = sys.argv[split + 1:]
    ncu = shutil.which("ncu") or "/usr/local/cuda/bin/ncu"
    if not os.path.exists(ncu):
        print("kernel_breakdown: no ncu; skipped")
        return
    cmd = [ncu, "--metrics", "gpu__time_duration.sum", "--csv",
           os.path.join(bin_dir, "hymir-bench"), artifact] + bench_args
    r = subprocess.run(cmd, capture_output=True, text=True)
    with open(prefix + ".csv", "w") as f:
        f.write(r.stdout)
    start = r.stdout.find('"ID"')
    if start < 0:
        print("kernel_breakdown: ncu wrote no table (exit %d): %s" % (r.returncode, r.stderr[-1500:]))
        return
    per = collections.defaultdict(lambda: [0, 0.0])
    for row in csv.DictReader(io.StringIO(r.stdout[start:])):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        value = float(row["Metric Value"].replace(",", ""))
        scale = {"nsecond": 1e-3, "ns": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3,
                 "ms": 1e3}.get(row.get("Metric Unit", "nsecond"), 1e-3)
        name = row["Kernel Name"].split("(")[0][:70]
        per[name][0] += 1
        per[name][1] += value * scale
    total = sum(t for _, t in per.values())
    print("kernels of %s %s: %d launches, %.1f us in all" % (
        os.path.basename(artifact), " ".join(bench_args), sum(n for n, _ in per.values()), total))
    print("| kernel | launches | total us | share |")
    print("|---|---|---|---|")
    for name, (n, t) in sorted(per.items(), key=lambda kv: -kv[1][1])[:30]:
        print("| %s | %d | %.1f | %.1f%% |" % (name, n, t, 100 * t / total if total else 0))


if __name__ == "__main__":
    main()
