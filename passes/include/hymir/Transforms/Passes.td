//===- Passes.td - hymir passes ---------------------------*- tablegen -*-===//
//
// Declarations of hymir's passes. Each pass does one thing; pipelines in
// Pipelines.cpp compose them.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TRANSFORMS_PASSES_TD
#define HYMIR_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def HymirLowerToLinalg : Pass<"hymir-lower-to-linalg"> {
  let summary = "Lower linear, rms_norm, embedding and rope to linalg on tensors";
  let description = [{
    Rewrites the simple hymir ops into `linalg.generic` ops on tensors, the
    target-neutral form both the CPU and the GPU paths start from:

    - `hymir.linear`: leading dims collapsed to one row dim M, a contraction
      over K accumulating in f32 (products of f32-extended operands, so
      `precision = "f32"` is true fp32), a cast to the result type;
    - `hymir.rms_norm`: an f32 sum-of-squares reduction per row, then one
      elementwise op `x * rsqrt(ss / N + eps) * w`;
    - `hymir.embedding`: a gather; an id outside `[0, V)` (one unsigned
      compare per element) reads row 0, so no read leaves the table, and
      flags a run-time check (`hymir.check_slot`, made here) with its
      position, which the runtime reports as the call's error;
    - `hymir.rope`: one elementwise op over `[B, T, H, D]` that reads each
      channel's rotate-half partner, with angles and rotation in f32.

    With `library-gemm`, `hymir.linear` instead becomes one contraction
    `linalg.generic` marked `hymir.library_call = "gemm"` (and
    `hymir.precision`), whose init is left uninitialised: it is executed by
    the target's BLAS (cuBLASLt on cuda, with beta = 0), never lowered to
    loops. The BLAS multiplies operands of one dtype, so an x and a weight
    of two dtypes are made one first, by an elementwise op: a bf16 x is
    widened to f32 (exact); an f32 x over a bf16 weight is rounded to bf16
    where the precision is `"bf16"` (which allows it; activation-sized, and
    the weight is read as stored), else the weight is widened.

    With `collectives`, `hymir.all_reduce` and `hymir.all_gather` become
    `linalg.generic` ops marked `hymir.library_call = "all_reduce"` /
    `"all_gather"` that read as a single device's meaning, over an outermost
    device axis of extent 1 (a sum of one contribution; a stack of the
    device count's copies, then a transpose and a reshape to the gathered
    dim), which hymir-lower-to-plan turns into collective steps over the real
    devices. `hymir.reduce_scatter` becomes a copy of x with the scattered
    dim cut into [devices, part] and the device axis moved outermost, summed
    over that axis by a generic marked `"reduce_scatter"`. Inputs that may be
    strided views (slices) are copied into buffers of their own first. They
    are lowered after elementwise fusion, so nothing fuses into them.

    Ops it does not handle (attention, MoE, the loss) are left alone for
    their own passes.
  }];
  let options = [
    Option<"collectives", "collectives", "bool", /*default=*/"false",
           "lower the collectives (hymir.all_reduce, all_gather, "
           "reduce_scatter, all_to_all, device_index) to marked generics">,
    Option<"libraryGemm", "library-gemm", "bool", /*default=*/"false",
           "leave linear to the target's BLAS as a marked contraction">,
    Option<"skipLinear", "skip-linear", "bool", /*default=*/"false",
           "leave hymir.linear alone (to lower it after elementwise fusion, "
           "which must not fuse into a library call)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect",
    "::mlir::scf::SCFDialect", "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect"
  ];
}

def HymirShard : Pass<"hymir-shard", "::mlir::ModuleOp"> {
  let summary = "Turn a single-device graph into an SPMD program for N devices";
  let description = [{
    Rewrites every public function into the program each of `devices` devices
    runs on its own part of the data (tensor parallelism, Megatron style),
    inserting `hymir.all_reduce`, `hymir.all_gather` and
    `hymir.reduce_scatter` where parts must be combined. Every value is *replicated* (whole on every device), *split*
    along one dim (device r holds part r of N equal contiguous parts) or
    *partial* (the whole is the sum over devices). Ops are visited in order:

    - `hymir.linear` with a splittable weight: a replicated x splits the
      weight's rows (the result is split along its last dim); an x split
      along its last dim splits the weight's columns (the result is
      partial), unless the product widens (more rows than columns of the
      whole weight) or its last dim is expanded into heads (a q/k/v
      projection): then x is gathered and the weight split by rows;
      x split by rows (an expert-parallel MoE's tokens) is gathered when
      the weight can be split by rows, so that a parameter is split the same
      way by every entry;
    - element-wise ops keep a common split; splats and splat constants are
      re-created at the part's shape, other constants and replicated values
      computed on every device are read in parts (each device at its
      offset, from `hymir.device_index`: no communication); an element-wise op
      with a partial operand (a row-parallel product feeding a residual) sums
      it with `hymir.reduce_scatter` along the last dim and runs on its part
      (a replicated operand read at the device's offset): the split result
      feeds the split consumers after it (an RMSNorm, the next residual), and
      the all_gather where a whole value is needed moves the rest of what an
      all_reduce would have;
    - `hymir.rms_norm` over a split (or partial) last dim is distributed:
      each device's sums of squares, one `hymir.all_reduce` of them ([rows,
      2] f32: the sums and the overflow-safe scaled sums), its columns
      normalised by the whole width with its part of the weight (the
      weight stays whole, N elements, and is read at the device's offset,
      so every entry sharing it agrees on its layout);
    - `hymir.token_logprobs` with an LM head that can be split by rows
      (vocabulary): each device's logits of its rows, their log-sum-exp
      (gathered, [T, N]) and the target's logit where its row is here (an
      all_reduce); the log-prob from the parts' log-sum-exps on every
      device (a target outside the vocabulary gives -lse instead of an
      error);
    - `hymir.cispo_loss` with such an LM head: logp_new as
      `hymir.token_logprobs`', the loss and the gradient coefficients on
      every device (f64 sums, as `hymir-tile-cispo-loss`), each device's dz
      over its rows; d_lm_head is its rows (split as the head), d_hidden the
      sum over the devices (an all_reduce of f32 [T, N]);
    - `hymir.embedding` with a table that can be split by rows (vocabulary):
      each device looks up the ids in its rows (others read row 0 and are
      zeroed), a partial result; ids outside the table read zeros instead of
      failing the call;
    - `tensor.expand_shape` / `collapse_shape` move a split to the outermost
      dim of its group when the sizes divide; `tensor.extract_slice` keeps a
      split it does not cut; `tensor.dim` of another dim is left alone;
    - `hymir.lightning_attention`, `hymir.rope`, `hymir.softmax_attention`
      and `hymir.kv_cache_write` keep a split over heads (dim 2); slopes,
      an initial state (dim 1) and a cache (dim 2) are split to match;
    - `linalg.generic` with projected-permutation maps keeps a split along
      one of its parallel loops (the operands indexing that loop take their
      parts: split values, undecided arguments, a new `tensor.empty`, a
      replicated value read at the device's offset; the others are whole)
      unless its payload reads that loop's index;
    - `hymir.moe`, by the rule below or the `moe` option:
      *tensor parallel*: with replicated x and router, w1 and w3 split along
      the intermediate dim (1) and w2 along its dim 2: the result is
      partial; *expert parallel*: device r holds experts [r E/N, (r + 1)
      E/N) (w1, w3, w2 split along dim 0) and tokens [r T/N, (r + 1) T/N)
      (x split along dim 0), routes its tokens (`hymir.moe_route` with
      tile 1), sends each (token, pick) row to the device of its expert
      with `hymir.all_to_all` (counts per peer from the routing's
      per-expert offsets), runs its experts on the rows received
      (`hymir.routed_experts`, f32 rows), sends the results back the same
      way and combines its tokens' picks: the result is split along dim 0.
      Rule (`moe=auto`): expert parallel when x can be split by tokens
      without communication (it is split by rows already, or it is an
      argument whose token count is static and divisible by N) and E is
      divisible by N; tensor parallel otherwise (a replicated x, or a
      dynamic token count: with replicated tokens, tensor parallelism moves
      as much, one all_reduce, and loads the devices evenly). `moe=expert`
      with replicated tokens of a static count divisible by N (a decode
      step's batch) reads each device's rows of x at its offset and takes
      the all_to_all form; with any other replicated token count, the form
      without all_to_all: every device routes every token and computes the picks
      of its own experts (`hymir.device_index` says which), a partial
      result; experts that cannot be split (E not divisible by N) are an
      error naming why. `moe=tensor` never splits experts. The all_to_all
      form's capacities are static (every device's buffers hold all
      T * top_k pairs), so it needs a static token count. Experts stored
      one tensor each (a `tensor.concat` along dim 0 of arguments each
      given a leading unit dim, as hymir-import stacks a checkpoint's
      per-expert tensors) are tensor parallel: each parameter is split
      (w1, w3 along dim 0, w2 along dim 1) and the parts stacked again; a
      device cannot hold a subset of the parameters, so `moe=expert` is an
      error there saying so (a stack used whole keeps its parameters whole);
    - anything else, and every returned value but a split tied one, gets
      its operands replicated (an all_gather of a split value, an
      all_reduce of a partial one).

    A function argument (parameter or input) is splittable when its dim is
    static and divisible by `devices` and no use so far needed it whole; the
    pass marks it `hymir.shard_dim` and gives it the part's type (the runtime
    hands each device its part). A parameter (`hymir.param`, by its `hymir.name`)
    is bound once for the module: the entries are sharded in order and a
    later entry takes the layout an earlier one chose for it (gathering it
    where it needs it whole, as `hymir.cispo_loss` does the LM head). Results and unsplit arguments keep their
    types, so callers see the original signature. An argument a result is
    tied to (`hymir.tied`) is split by heads when it holds them: a
    lightning state (dim 1, the `initial_state` of a
    `hymir.lightning_attention`) or a KV cache (dim 2, the cache of a
    `hymir.kv_cache_write`), found through the element-wise generics
    between the argument and that use, when the dim divides; each device
    updates its part and returns it as the tied result (a replicated value
    read at the device's offset, a partial one reduce_scattered), and an
    earlier entry's choice for an argument of the same `hymir.name` holds
    (prefill and decode share their caches). Other tied arguments stay
    whole: every device updates all of it in place. `devices` = 1 changes
    nothing unless `single` is set (then the program of a group of one
    device: the same collectives, each over one device); a graph that
    already holds collectives is refused.
  }];
  let options = [
    Option<"devices", "devices", "int64_t", /*default=*/"1",
           "devices the program is split across">,
    Option<"moe", "moe", "std::string", /*default=*/"\"auto\"",
           "how hymir.moe is split: auto (the rule), expert or tensor">,
    Option<"single", "single", "bool", /*default=*/"false",
           "with devices = 1, write the SPMD program anyway: the sharded "
           "plan's collectives over a group of one device (each an "
           "identity), to run a sharded plan's steps on one GPU">
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect"];
}

def HymirFuseMoeRouting : Pass<"hymir-fuse-moe-routing", "::mlir::func::FuncOp"> {
  let summary = "Split hymir.moe into one fused routing step and grouped experts";
  let description = [{
    Rewrites each `hymir.moe` into the router scores (`hymir.linear` with
    `precision = "f32"` on f32-extended operands, a BLAS call on cuda),
    `hymir.moe_route` (softmax, top-k, renormalisation and the token
    permutation: tokens sorted by expert into groups padded to `tile` rows,
    the inverse permutation and the weights) and `hymir.moe_experts` (a
    grouped gate/up GEMM with the SwiGLU, a grouped down GEMM and the
    weighted combine), so that the experts compute only the rows routed to
    them.

    Routing written step by step and fed to `hymir.routed_experts` (a
    `linalg.softmax` over dim 1 of f32 logits, `hymir.top_k`, optionally the
    renormalisation `w / broadcast(sum(w))` as `linalg.reduce` with `addf`
    from zeros, `linalg.broadcast` and `arith.divf` or `linalg.div`) fuses
    the same way into `hymir.moe_route` + `hymir.moe_experts`. Other routing
    stays as written; its picks reach `hymir.moe_experts` through
    `hymir.moe_layout`.

    With `tile` 0 each op's tile is chosen from its experts' shapes for the
    kernels of `chip` (`TargetDescription::moeTile`): bf16 experts whose
    widths (I and N) are multiples of 128 take the wgmma tile (128) where
    the chip has wgmma and `wgmma` is on; bf16 experts whose widths are
    multiples of 64 the mma.sync tile (64); other experts, which only the
    warp-per-row kernels serve, the largest of the two the target uses.
    Without a chip the tile is 1 (no padding: the cpu kernels are untiled).
  }];
  let options = [
    Option<"tile", "tile", "int64_t", /*default=*/"64",
           "rows of the grouped GEMM tile each expert's group is padded to "
           "(0: chosen per op from its shapes and `chip`)">,
    Option<"chip", "chip", "std::string", /*default=*/"\"\"",
           "with tile 0: the GPU whose tensor-core kernels the tile is "
           "chosen for (hymir/Codegen/Target.h); empty: no GPU kernels, "
           "tile 1">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"true",
           "with tile 0: the wgmma kernels' tile may be chosen (where "
           "`chip` has wgmma)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def HymirFuseKvCacheRope
    : Pass<"hymir-fuse-kv-cache-rope", "::mlir::func::FuncOp"> {
  let summary = "Apply the RoPE of keys in the KV-cache write that stores them";
  let description = [{
    Rewrites `hymir.kv_cache_write(cache, hymir.rope(x, positions), lengths)`
    into `hymir.kv_cache_write(cache, x, lengths) positions(positions)` with
    the rope's `rotary_dim` and `theta`, where the write is the rope's only
    use: the write's store loop rotates each element as it stores it (the
    same arithmetic as `hymir.rope`), so a decode step of a softmax layer
    runs no RoPE kernel for its keys. A rope with other uses, or a write
    that already applies a RoPE, is left alone.

    `hymir-compile --attention-fuse-rope` (KernelFormOptions
    `attention-fuse-rope`) runs it on both targets, beside the fused RoPE of
    the queries in the attention kernels.
  }];
}

def HymirTileLightningAttention
    : Pass<"hymir-tile-lightning-attention", "::mlir::func::FuncOp"> {
  let summary = "Tile lightning attention into intra-block and inter-block parts";
  let description = [{
    Rewrites `hymir.lightning_attention` into the blocked algorithm of
    hymir.lightning_attention (docs/dialect/HymirOps.md) on target-neutral tiled IR:

    - an `scf.forall` over (batch, head, value chunk), mapped to blocks,
      whose shared outputs are the output and the final state; each
      iteration owns the state tile `S` [D, Dv / value-split] of its head;
    - inside, an `scf.for` over the blocks of `block-size` tokens (the last
      block may be partial) carrying `S` and the output tile;
    - per block, the **intra-block** part `((Q K^T) * M) V` with
      `M_ij = lambda^(i-j)` for `i >= j`, the **inter-block** part
      `(Q * lambda^(i+1)) S`, and the state update
      `S = lambda^m S + (K * lambda^(m-1-j))^T V` (in place on the carried
      tile), each one `linalg.generic` computing in f32 (decay powers as
      `exp(-s * n)`; the causal mask is applied inside the intra-block
      contraction), marked `hymir.lightning = "intra" | "inter" | "state"`.

    An op carrying `hymir.tile_block_size` (an i64, set by a target that
    needs that block size for one of its kernels: hymir-choose-lightning-blocks
    on cuda) is tiled with that many tokens per block. Otherwise
    `block-size` 0 keeps the op's own `block_size`; a static sequence
    shorter than a block gets the next power of two covering it (at least
    2; the loop runs the same single iteration). `value-split` divides the
    value dimension across iterations of the forall (it must divide Dv; 0
    picks 64-wide chunks where they divide a value dim above 64, else 1).
    Splitting the sequence across thread blocks (a two-pass state prefix) is
    not implemented yet.

    This form is the input of both targets: the cpu path lowers it to loops,
    and on cuda `hymir-lightning-to-gpu` recovers the algorithm's parameters
    from it (operands, block size as the loop's step, value split as the
    forall's last bound, the initial state as the forall's state init) and
    maps it onto its GPU kernels.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"0",
           "tokens per block (0: the op's block_size)">,
    Option<"valueSplit", "value-split", "int64_t", /*default=*/"1",
           "chunks of the value dimension handled in parallel (0: 64-wide "
           "chunks where they divide)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::affine::AffineDialect",
    "::mlir::gpu::GPUDialect"
  ];
}

def HymirTileCispoLoss
    : Pass<"hymir-tile-cispo-loss", "::mlir::func::FuncOp"> {
  let summary = "The CISPO loss as kernels that stream the vocabulary in tiles";
  let description = [{
    On tensors (before bufferization). Rewrites each `hymir.cispo_loss` and
    `hymir.token_logprobs` into
    `scf.forall` kernels over buffers (operands through
    `bufferization.to_buffer`, results fresh allocations through
    `bufferization.to_tensor`), mapped later by `hymir-map-forall-to-grid`.
    The `[T, V]` logits are never stored: every kernel recomputes the logits
    it needs, `vocab-tile` rows of `lm_head` at a time.

    - forward, one iteration per token: a loop over vocabulary tiles with an
      online log-sum-exp (running maximum and sum, rescaled once per tile),
      the target's logit picked out as its tile passes, `logp_new` and the
      token's log-sum-exp (scratch `[T]`). A target outside `[0, V)` flags
      a run-time check;
    - weights, one iteration: the masked token count, the clipped IS weight,
      the unified mask, the loss, and each token's gradient coefficient
      `-mask M sg(r^) A / sum(mask)` (scratch `[T]`);
    - `d_hidden`, one iteration per token, and `d_lm_head`, one per
      vocabulary row: the logits recomputed, `dz = coef (1[v == y] - p)`
      accumulated in f32 against the other operand's row. Tokens with a zero
      coefficient (masked, dropped, or no advantage) are skipped.

    Only what the used results need runs: `logp_new` alone is the forward
    kernel; the loss adds the weights kernel; each gradient its own kernel.
    `hymir.token_logprobs` becomes the forward kernel alone, built by the
    same code, so its result equals `logp_new` bitwise for the same operands
    and precision.
    Products follow `precision`: `"f32"` multiplies in f32, `"bf16"` rounds
    both operands to bf16 first; accumulation is always f32.
  }];
  let options = [
    Option<"vocabTile", "vocab-tile", "int64_t", /*default=*/"128",
           "vocabulary rows per tile of the forward kernel's online "
           "log-sum-exp and of the d_hidden kernel">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect"
  ];
}

def HymirMapForallToGrid
    : Pass<"hymir-map-forall-to-grid", "::mlir::func::FuncOp"> {
  let summary = "Map each outermost scf.forall on buffers onto a grid of single-thread blocks";
  let description = [{
    Each outermost `scf.forall` (after bufferization, without shared
    outputs) becomes a `gpu.launch` with one block per iteration point of
    the linearised iteration space and one thread per block; the body runs
    sequentially in that thread. Buffers allocated inside become
    `memref.alloca` (kernel-local scratch). This is the first, simple mapping
    of tiled ops such as the blocked lightning attention: correct on every
    target, not tuned for any.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::memref::MemRefDialect"];
}

def HymirLinalgToParallelLoops
    : Pass<"hymir-linalg-to-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Lower linalg ops on buffers to scf.parallel, except library calls";
  let description = [{
    Like the upstream `convert-linalg-to-parallel-loops` (parallel dims to one
    `scf.parallel`, reductions to `scf.for` inside it), but linalg ops marked
    `hymir.library_call` are kept: hymir-lower-to-plan turns them into library
    steps. A `memref.copy` between buffers that are not both contiguous
    (a copy out of a strided view, such as a slice of a fused projection)
    becomes loops too, so that it runs as a kernel; the plan's copy step
    moves contiguous bytes only.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::linalg::LinalgDialect"];
}

def HymirMaterializeConstants
    : Pass<"hymir-materialize-constants", "::mlir::func::FuncOp"> {
  let summary = "Fill a buffer from each constant global the host reads, inside a loop nest";
  let description = [{
    An execution plan holds buffers, not data, so a `memref.get_global` of a
    constant global in a host function (what bufferization makes of an
    `arith.constant` tensor, such as the per-head decay rates of lightning
    attention or a table of positions) cannot be one of its steps. This pass
    replaces each such read by a new buffer (`memref.alloc`) and an
    `scf.parallel` over its elements that copies them from the global, which
    it reads inside the loop body. `hymir-map-parallel-loops-to-grid` makes a
    kernel of the loop and kernel outlining copies the global into the
    kernel's module, so the constant travels with the kernel code (the host
    shared object on cpu, the PTX on cuda) and the plan sees one more buffer
    and one more launch.

    Reads of a global inside a kernel or a loop (already part of a kernel's
    body) and reads of globals that are not constant are left alone.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def HymirMapParallelLoopsToGrid
    : Pass<"hymir-map-parallel-loops-to-grid", "::mlir::func::FuncOp"> {
  let summary = "Map each outermost scf.parallel onto a 1-d grid of thread blocks";
  let description = [{
    Turns every outermost `scf.parallel` (as `convert-linalg-to-parallel-loops`
    produces, one per linalg op) into a `gpu.launch`: the iteration space is
    linearised, each thread computes one point (`gid = block_id.x *
    block-size + thread_id.x`, guarded by `gid < points`) and the loop body,
    reductions included, runs sequentially in that thread. The grid has
    `ceildiv(points, block-size)` blocks. This is the target-neutral kernel
    form: the cuda path outlines and lowers it to NVVM, the cpu path runs each
    block as a host function that loops over its threads.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "threads per block">,
    Option<"warpReductions", "warp-reductions", "bool", /*default=*/"false",
           "a point whose body reduces along the contiguous dim of its reads "
           "(an scf.for loading, combining with one associative op and "
           "storing accumulators) is owned by a warp: lanes stride over the "
           "dim, shuffles combine them (cuda; the cpu's thread loop has no "
           "shuffles)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
    "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect"
  ];
}

def HymirFuseElementwise
    : Pass<"hymir-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Fuse chains of elementwise and broadcast linalg ops into one op";
  let description = [{
    Runs after the upstream `linalg-fuse-elementwise-ops` and catches what it
    leaves as separate kernels:

    - A splat input (`tensor.splat` of a scalar, or `linalg.fill` of a
      `tensor.empty`) of a `linalg.generic` becomes the scalar itself inside
      the body: the operand is dropped, so no kernel fills a tensor with one
      value for another kernel to read back.
    - A `linalg.generic` whose result has several users fuses into an
      all-parallel `linalg.generic` user too (upstream fuses single-use
      producers only), when its other users (shape queries aside) come
      after that user; a producer whose value a reduction reads before the
      user (a norm's statistics) is left alone.
    - Then all-parallel generics of the same domain (the same
      `tensor.empty` sizes) that share an input merge into one generic with
      the results of both, placed where every operand of both exists and
      before every user of both (such as a producer and the users it was
      fused into); CSE of the merged body computes their common values
      once. The chain is one kernel that reads each input once and writes
      each result once. Generics with side effects in their body (run-time
      checks) are not merged.

    - An all-parallel 2-d generic whose operand is the only use of a
      kernel's result (`bufferization.to_tensor` of a buffer that one
      `gpu.launch` writes with a single aligned `vector.store` per thread,
      as the MoE combine writes its weighted sum) runs in that kernel's
      epilogue: its payload is applied to the stored vector, its other
      operands (whole tensors, rows or columns of one, defined before the
      kernel) are loaded at the same place, and the kernel stores its
      result into a buffer of its own. The residual add after an MoE block
      is then no kernel of its own.

    Ops marked `hymir.library_call` (GEMMs, collectives) are neither fused
    nor fused into.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect"];
}

def HymirVectorizeElementwise
    : Pass<"hymir-vectorize-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Lower elementwise linalg ops on buffers to loops over vectors of contiguous elements";
  let description = [{
    Every all-parallel `linalg.generic` on buffers whose payload is
    elementwise arithmetic (`arith`, `math`) becomes an `scf.parallel` whose
    innermost dimension steps by a vector width V: one iteration (one GPU
    thread after `hymir-map-parallel-loops-to-grid`) loads V contiguous
    elements of each operand with `vector.load`, computes the payload on
    `vector<V x T>` and stores V results with `vector.store`. Operands that
    do not vary along the innermost dimension (a per-row statistic, a
    scalar) are loaded once and broadcast. Where fewer than V elements are
    left in a row, the iteration computes them one by one (the tail).

    V is `vector-bytes` divided by the smallest element size among the
    vector operands, clamped to [2, 8] (8 for bf16, 4 for f32). Loads and
    stores carry `alignment = V * element size` where the address is known to
    be a multiple of it: an identity-layout buffer (the arena places every
    buffer at a multiple of 256 bytes) or a strided view with static strides
    and offset, whose innermost size is a static multiple of V.

    Left to `hymir-linalg-to-parallel-loops`: ops with reductions, library
    calls, payloads with `linalg.index`, `tensor.extract` or other
    non-elementwise ops, operands that step through memory along the
    innermost dimension with a stride other than 1 (transposes), element
    types narrower than 8 bits, and innermost sizes that are dynamic (a
    token-count vector: its grid would be a ceildiv of a ceildiv of the
    token count, which the plan cannot size) or below V.
  }];
  let options = [
    Option<"vectorBytes", "vector-bytes", "int64_t", /*default=*/"16",
           "bytes each thread loads per operand (4, 8, 16 or 32)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def HymirTieArguments : Pass<"hymir-tie-arguments", "::mlir::ModuleOp"> {
  let summary = "Tell one-shot bufferization which entry arguments it may write";
  let description = [{
    Lowers `hymir.tied` to what one-shot bufferization reads: on every entry
    (public function), an argument a result is tied to gets
    `bufferization.writable = true`, so the op computing that result writes
    into the argument's buffer where the analysis finds it safe (the plan
    then has no copy for the result), and every other argument gets
    `bufferization.writable = false`, so no kernel writes into an untied
    input or a parameter (a caller may pass them as device values it reuses
    across calls). A tied result that is not the argument itself is
    materialized in it (`bufferization.materialize_in_destination`), and
    the `tensor.empty` its computation starts from is replaced by the
    argument (empty-tensor elimination, for these materializations only), so
    that the computation writes the argument's buffer directly. That is kept,
    tied result by tied result, only where the bufferization analysis still
    succeeds with it (tried on a copy of the module): when the argument's old
    value is read or returned after the result is computed, the result is
    left where bufferization puts it and the plan copies it into the
    argument at the end. Runs right before one-shot bufferization.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // HYMIR_TRANSFORMS_PASSES_TD
