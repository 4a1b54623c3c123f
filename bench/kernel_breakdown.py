#!/usr/bin/env python3
"""Per-kernel GPU time of one entry, from Nsight Compute, on the GPU host.

Usage: kernel_breakdown.py BIN_DIR ARTIFACT OUT_PREFIX -- HYMIR_BENCH_ARGS...

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


def main():
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
