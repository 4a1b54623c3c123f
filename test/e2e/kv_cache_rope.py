#!/usr/bin/env python3
"""The keys' RoPE fused into the KV-cache write (issue 12 item 5;
hymir-compile --attention-fuse-rope runs hymir-fuse-kv-cache-rope).

cpu (ctest e2e/cpu/kv-cache-rope): kv_cache_rope.py BIN_DIR
  1. bench/kv_cache_rope_decode_check.mlir (one M1 decode step, bf16, caches
     of 160 positions tied to the results, three sequences at positions 299,
     11 and 9000 with 160, 12 and 157 valid keys) compiled with and without
     the fusion: the fused artifact has one kernel fewer (the keys' RoPE),
     both match hymir-reference's fp64 outputs within 2e-2 (bf16: roundings
     of stored activations) and hymir-run --check, and the two agree with
     each other to 1e-6 (the same arithmetic in the same order; the caches
     bit for bit).
  2. A prefill-shaped write, f32, T = 3 rows, rotary_dim = D = 8 (every
     channel rotated), a sequence shorter than T (left padding: rows at
     negative positions are not written), fused, within 1e-5 of the oracle
     (f32 angle and rotation against fp64); once as rope then write, once
     written in the fused form (the oracle then evaluates the op's RoPE).
  3. The imported tiny M1 model with partial rotary (scripts/make-checkpoint.py
     --preset m1-partial cut to 2 layers, a lightning and a softmax one: the
     fusion is per softmax layer; f32, entries forward, prefill and decode)
     compiled with --attention-fuse-rope: prefill and decode steps through
     the caches against forward (imported_model.py's cached_check, 1e-5).
GPU host, after this machine prepared the artifacts:
  kv_cache_rope.py BIN_DIR --prepare OUT      (here: cuda artifacts, inputs,
                                               oracle outputs into OUT)
  kv_cache_rope.py BIN_DIR --check OUT [DEVICE (default cuda:0)]
                                              (there: PASS/FAIL per artifact
                                               and hymir-bench timings)
"""
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import read_tensor, relative_error, replace_tensor, run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GRAPH = os.path.join(ROOT, "bench", "kv_cache_rope_decode_check.mlir")
POSITIONS = (299, 11, 9000)
LENGTHS = (160, 12, 157)
OUTPUTS = ("out", "kc_out", "vc_out")

failed = 0


def report(ok, what):
    global failed
    print(f"kv-cache rope: {what}: {'PASS' if ok else 'FAIL'}", flush=True)
    if not ok:
        failed += 1


def compile_graph(bin_dir, graph, out, target, fused, max_tokens=64):
    cmd = [os.path.join(bin_dir, "hymir-compile"), graph, "-o", out, "--target=" + target,
           f"--max-tokens={max_tokens}"]
    # Fused is hymir-compile's default; unfused asks for the RoPE kernels.
    cmd.append("--attention-fuse-rope=" + ("true" if fused else "false"))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    # "hymir-compile: wrote PATH (cpu, 1 entry, N kernels, ...)" (stderr)
    return int((r.stdout + r.stderr).split(" kernels")[0].rsplit(" ", 1)[1])


def decode_inputs(bin_dir, folder):
    """Inputs of the decode check (fresh random values, then the positions
    and lengths above) and their fp64 oracle outputs."""
    ref = os.path.join(bin_dir, "hymir-reference")
    inputs = os.path.join(folder, "decode_in.safetensors")
    outputs = os.path.join(folder, "decode_ref.safetensors")
    run([ref, GRAPH, "--function", "decode", "--write-inputs", inputs])
    replace_tensor(inputs, "positions", lambda h, b: struct.pack("<3i", *POSITIONS))
    replace_tensor(inputs, "lengths", lambda h, b: struct.pack("<3i", *LENGTHS))
    run([ref, GRAPH, "--function", "decode", "--inputs", inputs, "--outputs", outputs])
    return inputs, outputs


def run_artifact(bin_dir, artifact, inputs, reference, out, device, tol, check):
    cmd = [os.path.join(bin_dir, "hymir-run"), artifact, "--entry", "decode", "--device", device,
           "--inputs", inputs, "--outputs", out, "--reference", reference, "--tolerance", tol]
    r = subprocess.run(cmd + (["--check"] if check else []), capture_output=True, text=True)
    return r.returncode == 0, r.stdout + r.stderr


def cpu_decode(bin_dir, work):
    fused = os.path.join(work, "fused.hymir")
    plain = os.path.join(work, "plain.hymir")
    n_fused = compile_graph(bin_dir, GRAPH, fused, "cpu", True)
    n_plain = compile_graph(bin_dir, GRAPH, plain, "cpu", False)
    report(n_fused == n_plain - 1,
           f"decode: the fused artifact has one kernel fewer ({n_fused} vs {n_plain})")
    inputs, reference = decode_inputs(bin_dir, work)
    results = {}
    for name, artifact in (("fused", fused), ("unfused", plain)):
        out = os.path.join(work, name + ".safetensors")
        ok, text = run_artifact(bin_dir, artifact, inputs, reference, out, "cpu", "2e-2", True)
        if not ok:
            print(text)
        report(ok, f"decode {name} against the oracle (2e-2, --check)")
        results[name] = out
    if failed:
        return
    for tensor in OUTPUTS:
        got = read_tensor(results["fused"], tensor)
        want = read_tensor(results["unfused"], tensor)
        err = relative_error(got, want)
        exact = got == want
        report(err <= 1e-6, f"decode {tensor}: fused vs unfused relative error {err:.3g}"
               f"{' (bitwise equal)' if exact else ''}")


PREFILL = """func.func @prefill(%kc: tensor<2x16x2x8xf32> {hymir.name = "kc"},
    %k: tensor<2x3x2x8xf32> {hymir.name = "k"},
    %pos: tensor<2x3xi32> {hymir.name = "positions"},
    %len: tensor<2xi32> {hymir.name = "lengths"})
    -> (tensor<2x16x2x8xf32> {hymir.name = "kc_out", hymir.tied = 0 : i64}) {
  %kr = hymir.rope %k, %pos {rotary_dim = 8 : i64, theta = 1.0e4 : f64}
      : (tensor<2x3x2x8xf32>, tensor<2x3xi32>) -> tensor<2x3x2x8xf32>
  %kc1 = hymir.kv_cache_write %kc, %kr, %len
      : (tensor<2x16x2x8xf32>, tensor<2x3x2x8xf32>, tensor<2xi32>) -> tensor<2x16x2x8xf32>
  return %kc1 : tensor<2x16x2x8xf32>
}
"""


# The same write in its fused form as a user may write it: hymir-reference
# and the reference program stored in the artifact evaluate the op's RoPE.
PREFILL_FUSED = """func.func @prefill(%kc: tensor<2x16x2x8xf32> {hymir.name = "kc"},
    %k: tensor<2x3x2x8xf32> {hymir.name = "k"},
    %pos: tensor<2x3xi32> {hymir.name = "positions"},
    %len: tensor<2xi32> {hymir.name = "lengths"})
    -> (tensor<2x16x2x8xf32> {hymir.name = "kc_out", hymir.tied = 0 : i64}) {
  %kc1 = hymir.kv_cache_write %kc, %k, %len positions(%pos)
      {rotary_dim = 8 : i64, theta = 1.0e4 : f64}
      : (tensor<2x16x2x8xf32>, tensor<2x3x2x8xf32>, tensor<2xi32>, tensor<2x3xi32>)
      -> tensor<2x16x2x8xf32>
  return %kc1 : tensor<2x16x2x8xf32>
}
"""


def cpu_prefill(bin_dir, work, text, form):
    graph = os.path.join(work, "prefill.mlir")
    with open(graph, "w") as f:
        f.write(text)
    artifact = os.path.join(work, "prefill.hymir")
    kernels = compile_graph(bin_dir, graph, artifact, "cpu", True)
    report(kernels == 1, f"prefill ({form}): the fused write is the only kernel ({kernels})")
    ref = os.path.join(bin_dir, "hymir-reference")
    inputs = os.path.join(work, "prefill_in.safetensors")
    outputs = os.path.join(work, "prefill_ref.safetensors")
    run([ref, graph, "--function", "prefill", "--write-inputs", inputs])
    # Sequence 0: 5 valid positions, its 3 rows at 2, 3, 4 (positions 7,
    # 8, 9); sequence 1: 1 valid position, rows 0 and 1 left padding.
    replace_tensor(inputs, "positions", lambda h, b: struct.pack("<6i", 7, 8, 9, 0, 0, 1234))
    replace_tensor(inputs, "lengths", lambda h, b: struct.pack("<2i", 5, 1))
    run([ref, graph, "--function", "prefill", "--inputs", inputs, "--outputs", outputs])
    r = subprocess.run([os.path.join(bin_dir, "hymir-run"), artifact, "--entry", "prefill",
                        "--device", "cpu", "--inputs", inputs, "--outputs",
                        os.path.join(work, "prefill_out.safetensors"), "--check", "--reference",
                        outputs, "--tolerance", "1e-5"], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
    report(r.returncode == 0,
           f"prefill ({form}) f32, T = 3 with left padding, fused, against the oracle (1e-5)")


def cpu_imported(bin_dir, work):
    import imported_model
    ckpt = os.path.join(work, "m1-partial")
    run([sys.executable, imported_model.MAKE, ckpt, "--preset", "m1-partial", "--seed", "5",
         "--config", "num_hidden_layers=2", "--config", "attn_type_list=[0, 1]"])
    mlir = os.path.join(work, "m1-partial.mlir")
    artifact = os.path.join(work, "m1-partial-fused.hymir")
    run([os.path.join(bin_dir, "hymir-import"), ckpt, "-o", mlir, "--activation=f32",
         "--max-batch=3", f"--max-context={imported_model.MAX_CONTEXT}",
         "--entries=forward,prefill,decode"])
    compile_graph(bin_dir, mlir, artifact, "cpu", True, imported_model.MAX_CONTEXT)
    fused = run([os.path.join(bin_dir, "hymir-opt"), mlir, "-hymir-fuse-kv-cache-rope"])
    writes = sum(1 for line in fused.splitlines()
                 if "hymir.kv_cache_write" in line and "positions(" in line)
    report(writes == 2, f"imported model: the keys' RoPE of prefill and decode fuses into "
           f"their cache writes ({writes} fused writes)")
    report(imported_model.cached_check(bin_dir, work, "m1-partial", artifact),
           "imported model (m1-partial, f32) fused: prefill and decode against forward")


def prepare(bin_dir, out):
    os.makedirs(out, exist_ok=True)
    for name, fused in (("kv_cache_rope_fused", True), ("kv_cache_rope_unfused", False)):
        n = compile_graph(bin_dir, GRAPH, os.path.join(out, name + ".hymir"), "cuda", fused)
        print(f"kv-cache rope: prepared {name}.hymir ({n} kernels)")
    decode_inputs(bin_dir, out)
    print(f"kv-cache rope: prepared {out}")


def check(bin_dir, folder, device):
    inputs = os.path.join(folder, "decode_in.safetensors")
    reference = os.path.join(folder, "decode_ref.safetensors")
    with tempfile.TemporaryDirectory() as work:
        for name in ("kv_cache_rope_fused", "kv_cache_rope_unfused"):
            artifact = os.path.join(folder, name + ".hymir")
            ok, text = run_artifact(bin_dir, artifact, inputs, reference,
                                    os.path.join(work, name + ".safetensors"), device, "2e-2",
                                    False)
            if not ok:
                print(text)
            report(ok, f"{name} on {device} against the oracle (2e-2)")
            r = subprocess.run([os.path.join(bin_dir, "hymir-bench"), artifact, "--entry", "decode",
                                "--inputs", inputs, "--device", device, "--iterations", "50"],
                               capture_output=True, text=True)
            print(f"kv-cache rope: {name} timing:\n{r.stdout}{r.stderr}", end="")


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    bin_dir = args[0]
    if len(args) >= 3 and args[1] == "--prepare":
        prepare(bin_dir, args[2])
        return
    if len(args) >= 3 and args[1] == "--check":
        check(bin_dir, args[2], args[3] if len(args) > 3 else "cuda:0")
    else:
        with tempfile.TemporaryDirectory() as work:
            cpu_decode(bin_dir, work)
            cpu_prefill(bin_dir, work, PREFILL, "rope then write")
            cpu_prefill(bin_dir, work, PREFILL_FUSED, "written fused")
            cpu_imported(bin_dir, work)
    print(f"kv-cache rope: {'FAILED' if failed else 'PASSED'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
