//===- Passes.td - hymir codegen passes -------------------*- tablegen -*-===//
//
// Passes that turn the target-neutral kernel form (gpu.launch_func plus
// gpu.module kernels) into code for one target.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_PASSES_TD
#define HYMIR_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def HymirExtractHostKernels
    : Pass<"hymir-extract-host-kernels", "::mlir::ModuleOp"> {
  let summary = "Replace a module by its GPU kernels rewritten as host functions";
  let description = [{
    For the cpu target. Each `gpu.func` kernel `@K` of `gpu.module @M`
    becomes `func.func @M__K(%block_x: index, <kernel args>)` marked
    `hymir.kernel`, whose body loops over the block's threads
    (`known_block_size` x 1 x 1) and runs the kernel body for each, with
    `gpu.thread_id x` the loop index and `gpu.block_id x` the new argument.
    Everything else in the module (the host functions that launched the
    kernels, which hymir-lower-to-plan has read already) is erased, except
    the constant globals the kernels read (`hymir-materialize-constants`),
    which the module keeps under their names. Kernels with
    barriers, shared memory, several blocks or 2-d or 3-d blocks are rejected.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def HymirAddPackedKernelEntries
    : Pass<"hymir-add-packed-kernel-entries", "::mlir::ModuleOp"> {
  let summary = "Give every host kernel a uniform (block, words) entry point";
  let description = [{
    For the cpu target, after lowering to the LLVM dialect. For each
    `llvm.func @K` marked `hymir.kernel` (first parameter the block index,
    then the expanded kernel arguments: for a memref the allocated and aligned
    pointers, the offset, the sizes and the strides; for an index an i64), adds
    `llvm.func @K.packed(%block: i64, %words: !llvm.ptr)` which reads every
    other parameter from consecutive 8-byte words and calls `@K`. The runtime
    fills the same word list for the cpu and the cuda drivers.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def HymirMoeExpertsToGpu
    : Pass<"hymir-moe-experts-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "Routed MoE experts as GPU kernels, chosen per call by the token count";
  let description = [{
    For the cuda target, on tensors (before bufferization). Rewrites each
    `hymir.moe_experts` with static expert shapes whose widths are
    multiples of 8 (bf16 or f32) into kernels writing an intermediate `act`
    [P, I] (bf16 for bf16 experts, else f32) and `down` [P, N] (f32), then
    the combine (below):

    - decode calls (the default, `decode-wave` blocks): a fixed grid of
      8-warp blocks; each block ranks the experts that have tokens (a warp
      scan over the offsets) and trims each such expert's group of its
      closing padding once, into shared memory; then the grid's warps
      stride over the items (expert rank, weight row): a warp streams
      `W1[e, i, :]` and `W3[e, i, :]` (gate/up) or `W2[e, n, :]` (down) in
      16-byte loads, about 12 in flight per lane, once per batch of 4
      routed rows (the rest one by one), each product summed by fma into
      one f32 per (matrix, row), a shuffle butterfly, lane 0 stores;
    - with `decode-wave=0`, the previous decode kernels, warp-per-row
      (grid (outputs / 8, top_k or `decode-slots`),
      8 warps a block): every warp ranks the experts that have tokens (a
      shuffle scan over the offsets) and block row y takes those of rank y
      modulo the grid's height; warp (e, i) streams `W1[e, i, :]` and
      `W3[e, i, :]` (8 elements per lane per step, 16- or 32-byte loads,
      2-4 steps per iteration) once per batch of 4 routed rows of expert
      e's group (the remainder one row per pass), reduces across the warp
      and stores `SiLU(g) * u`; warp (e, n) does the same over `W2[e, n, :]`
      and `act`. The padding rows that close a group are left out, so
      decode-sized calls read only the selected experts' weights, each row
      once;
    - tensor-core kernels (bf16, widths multiples of 64, a layout padded to
      64-row tiles): blocks of 4 warps over one 64-row tile of one expert
      and 64 columns, each warp 16 rows with mma.sync m16n8k16, fragments
      loaded from global memory (A rows gathered through their tokens),
      SwiGLU in the gate/up epilogue; warps of padding rows skip.

    - with `wgmma` (off by default; hymir-compile turns it on for sm_90a;
      bf16, widths multiples of 128, a layout padded
      to 128-row tiles) the larger calls take wgmma kernels instead: blocks
      of two warpgroups over one 128-row tile of one expert and 256 output
      columns (gate/up: 128 of W1 and the same 128 of W3; down: 256 of
      W2), both operands staged by cp.async into four 128-byte-swizzled
      shared-memory stages and multiplied by wgmma.mma_async m64n128k16
      with f32 accumulators in registers; SwiGLU in the gate/up epilogue;
      blocks in the experts' order (each expert's row tiles side by side
      over the column blocks, one expert after another; each block finds
      its expert, row tile and column block by a walk over the offsets) so
      that a weight chunk is read from memory once; `wgmma-group` N > 0
      numbers them in groups of N row tiles instead (the order before: a
      group boundary inside an expert reads its weights twice).
    - with `wgmma-persistent` N > 0 the wgmma kernels are persistent: a
      grid of N blocks (one per SM) walks the tiles of all experts (in
      the experts' order each block takes its next tile from a counter,
      one atomic add per tile, zeroed by a one-thread launch before; with
      groups, tile t = block, block + N, ...), each tile's
      expert and first row found from the offsets (each expert's group cut
      into 128-row tiles from its start). On a layout padded to 64 rows an
      expert's last tile may be 64 rows: the second warpgroup, whose rows
      lie past the group, skips its products and stores.
    - with `wgmma-multicast` (the grid form in the experts' order only) the
      blocks run in clusters of two CTAs over two row tiles of one expert
      and the same column block: each K step's weight tile is loaded by
      TMA, each CTA loading half of it and multicasting it to both (a
      full mbarrier per stage counting the bytes, an empty one that both
      CTAs' consumers arrive on); A rows stay on cp.async. An expert's odd
      last tile runs alone (its partner CTA exits at once). The kernels
      carry `nvvm.cluster_dim` (`hymir-gpu-cluster-dims`), so a plain
      launch runs them in clusters.

    Decode calls take the one-wave kernels up to `decode-wave-tokens`
    tokens (default 8) and the warp-per-row kernels above, up to the
    decode cut-off: the wave spreads the rows of the experts with tokens
    over one fixed grid, which wins while few experts have tokens and
    loses to the per-expert grid once most have some (H200: 0.198 against
    0.261 ms at 1 token, 2.314 against 2.125 at 16).

    Where a tensor-core set applies, both sets are emitted under
    `scf.if (tokens <= 16)` (wgmma) or `scf.if (tokens <= 64)` (mma.sync),
    the decode cut-offs of `chip`'s target description, which the plan
    turns into launches guarded by the token count;
    otherwise the warp-per-row kernels serve every call. Other shapes keep
    the generic lowering. The combine `y[t] = sum_j weights[t, j]
    down[slots[t, j]]` is one kernel (8 columns of a token a thread) when
    top_k is static.

    The layouts the experts read (`hymir.moe_route`, `hymir.moe_layout`)
    are left to `hymir-moe-layout-to-gpu`, which runs after this pass: the
    kernels are chosen by the layout's tile, read from the op that makes
    it.
  }];
  let options = [
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "use the wgmma kernels for larger calls where they apply (only "
           "where `chip` has wgmma: sm_90a)">,
    Option<"wgmmaGroup", "wgmma-group", "int64_t", /*default=*/"0",
           "the wgmma kernels' block order: 0 (the default), the experts' "
           "order (each expert's row tiles side by side over the column "
           "blocks, one expert after another; the persistent form takes "
           "its tiles in the same order from a counter, one atomic add per "
           "tile); N > 0, groups of N row tiles side by side over the "
           "column blocks (the persistent form strides statically)">,
    Option<"decodeSlots", "decode-slots", "int64_t", /*default=*/"0",
           "grid height of the warp-per-row kernels: block y takes the "
           "experts with tokens of rank y modulo it (0: top_k, at most E)">,
    Option<"decodeWave", "decode-wave", "int64_t", /*default=*/"396",
           "blocks of the one-wave decode kernels, whose warps stride over "
           "(expert with tokens, weight row), the experts ranked and their "
           "groups trimmed once per block (396: 3 blocks on each of 132 "
           "SMs); 0: the warp-per-row kernels (one block per 8 weight rows "
           "and expert rank)">,
    Option<"decodeWaveTokens", "decode-wave-tokens", "int64_t",
           /*default=*/"8",
           "with decode-wave: the one-wave kernels serve calls of at most "
           "this many tokens, larger decode calls the warp-per-row kernels "
           "(at or above the decode cut-off: every decode call)">,
    Option<"wgmmaPersistent", "wgmma-persistent", "int64_t",
           /*default=*/"0",
           "blocks of the persistent wgmma kernels (the SM count: 132 on an "
           "H100 SXM or H200), which walk the tiles of all experts; 0: one "
           "block per tile (the grid form)">,
    Option<"wgmmaMulticast", "wgmma-multicast", "bool",
           /*default=*/"false",
           "the grid-form wgmma kernels in the experts' order run in "
           "clusters of two CTAs (two row tiles of one expert) that load "
           "each weight tile once with TMA multicast (ignored with "
           "wgmma-group > 0 or wgmma-persistent > 0)">,
    Option<"wgmmaMulticastMinTokens", "wgmma-multicast-min-tokens",
           "int64_t", /*default=*/"0",
           "with wgmma-multicast: the cluster kernels serve calls of at "
           "least this many tokens, the one-block wgmma kernels the larger "
           "calls below (0: every call the wgmma kernels serve)">,
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "the GPU whose target description (hymir/Codegen/Target.h) gives "
           "the decode cut-offs, the tensor-core tiles and whether wgmma "
           "exists">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::nvgpu::NVGPUDialect"];
}

def HymirMoeLayoutToGpu
    : Pass<"hymir-moe-layout-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "The grouped layout of routed MoE rows as one GPU kernel";
  let description = [{
    For the cuda target, on tensors (before bufferization), after
    `hymir-moe-experts-to-gpu` (which reads each layout's tile from the op
    that makes it). Every `hymir.moe_route` and `hymir.moe_layout` gets its
    grouped layout from one block of 1024 threads: counts by shared-memory
    atomics, group starts (each group's size rounded up to the tile) by a
    warp scan, pairs placed at their expert's cursor by atomics (so the
    order of the pairs within a group is not fixed; results do not depend
    on it). Picks outside [0, E) get slot -1 and no row. The offsets and
    slots are allocated with static shapes [E + 1] and [T, K] and cast to
    the op's result types.

    With `fused-routing` (the default), a `hymir.moe_route` with a static
    expert count is routed by warps in the same kernel, one warp a token
    (softmax, top-k, renormalisation with the cpu lowering's arithmetic, so
    both targets pick and weigh the same experts to the bit), up to 64
    tokens; larger calls route over all SMs in a first kernel and lay out
    in a second (the two variants under token guards when the token count
    is dynamic). Without it, the routing is linalg (generic kernels) and
    only the layout is a kernel.
  }];
  let options = [
    Option<"fusedRouting", "fused-routing", "bool", /*default=*/"true",
           "route hymir.moe_route in the layout's kernel (one kernel up to "
           "64 tokens, two above) rather than as linalg">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def HymirSoftmaxAttentionToKernels
    : Pass<"hymir-softmax-attention-to-kernels", "::mlir::func::FuncOp"> {
  let summary = "Softmax attention as flash-attention kernels for cpu and cuda";
  let description = [{
    On tensors (before bufferization), for both targets. Rewrites each
    `hymir.softmax_attention` into kernels over buffers (operands through
    `bufferization.to_buffer`, the result a fresh allocation through
    `bufferization.to_tensor`). Every kernel is the same tiled algorithm: per
    query row, the visible keys in tiles, an online softmax (running maximum
    and denominator, the accumulator rescaled once per tile) in f32, the
    output normalised at the end. Sequence lengths (`lengths`) and the causal
    limit bound each row's key range, so masked tiles are never read.

    Without `chip` (the cpu target, and shapes the GPU kernels do not cover)
    it is an `scf.forall` over (batch, query, head) whose body runs one row
    with scratch buffers, mapped later by `hymir-map-forall-to-grid`.

    With `chip` (the cuda target), head dims that are multiples of 32 (at most
    256) take warp kernels: a thread block holds the query heads that share a
    KV head (GQA: each key and value row is read once per block), one warp per
    head, the lanes splitting the head dim, four keys in flight per warp.
    Short static query counts (decode, at most 16 queries) split each row's
    keys across `splits` blocks (flash-decoding: the count chosen so the grid
    is about one block per SM, 128 blocks, which measured best on an H200),
    each writing a partial maximum, denominator and
    accumulator; a combine kernel merges them. A dynamic query count gets the
    split kernels for calls of at most 16 tokens and the unsplit kernel above
    (launches guarded by the token count).

    bf16 attention with head dims of 32, 64, 96 or 128 on a chip with bf16
    mma.sync (`tensor-cores`, the default) takes the tensor-core kernel
    instead of the warp kernel, with the same splits and combine. A block
    owns 64 query rows of one KV head (GQA packing: row r is query r / G of
    query head r % G of the group, so a decode step's G heads share one
    tile and each K and V tile is read once per group). Tiles of 64 keys
    arrive by cp.async in two shared-memory stages (the next tile loads
    while the current one is used). Each warp computes S = Q K^T for its 16
    rows with mma.sync m16n8k16 (bf16 operands, f32 accumulation; K through
    ldmatrix, V through ldmatrix.trans), masks by the lengths, the causal
    limit and the split's end, runs the online softmax on the accumulator
    fragments, and adds P V with P rounded to bf16 and reused from the S
    accumulators as A fragments. When all rows of a KV head fit 16 (a
    decode step), the 4 warps split each key tile instead and merge their
    statistics and accumulators through shared memory at the end.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"\"",
           "the GPU (cuda target) whose kernels to emit; empty: the portable "
           "forall form of the cpu target">,
    Option<"splits", "splits", "int64_t", /*default=*/"0",
           "key splits per row of a short query count (0: automatic)">,
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"true",
           "bf16 attention on tensor cores (mma.sync m16n8k16) where the "
           "chip and the shapes allow">,
    Option<"pipeline", "pipeline", "bool", /*default=*/"true",
           "bf16 prefill (more than 16 queries) on the Hopper pipeline layer "
           "(TMA rings, warp roles, wgmma) on chips with wgmma, for head dims "
           "64 and 128">,
    Option<"schedule", "schedule", "int64_t", /*default=*/"0",
           "consumer order in the pipeline kernel: 0 serial, 1 ping-pong "
           "(the two warpgroups take turns issuing products), 2 ping-pong "
           "with the next tile's S issued before this tile's softmax">,
    Option<"fuseRope", "fuse-rope", "bool", /*default=*/"false",
           "a hymir.rope on q read only by the attention is done inside the "
           "pipeline kernel (its short calls rotate q in a kernel of their "
           "own)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::nvgpu::NVGPUDialect"];
}

def HymirCispoLossToGpu
    : Pass<"hymir-cispo-loss-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "The CISPO loss and token log-probs as tensor-core GPU kernels";
  let description = [{
    For the cuda target, on tensors (before bufferization and before
    `hymir-tile-cispo-loss`, which then finds nothing left). Each
    `hymir.cispo_loss` and `hymir.token_logprobs` with a static `lm_head`
    [V, N], N a multiple of 16, becomes kernels that never hold the [T, V]
    logits; every head product is an `mma.sync` m16n8k16 tile (bf16
    operands, f32 accumulators) loaded from global memory. With
    `precision = "f32"` an f32 operand is split into a bf16 high part and a
    bf16 low part and a tile takes three products (hi hi + lo hi + hi lo);
    with `"bf16"` f32 operands are rounded to bf16.

    - partials: blocks of 64 tokens (4 warps of 16) by chunks of 2048
      vocabulary rows; per token the chunk's logits in tiles of 64 with an
      online maximum and sum of exponentials; the target's logit written by
      the lane that holds it;
    - lse (a thread per token): the chunks merged in order, the log-sum-exp
      and `logp = z_y - lse`; a target outside [0, V) is a run-time check;
    - weights (one block of 256 threads): mask count, clipped stop-gradient
      IS weight, unified mask, loss and per-token coefficients (f64 sums,
      thread 0 adds the threads' sums in order);
    - d_hidden: blocks of 64 tokens by vocabulary chunks; the logits tile is
      recomputed, `g = coef (1[v = y] - exp(z - lse))` split into bf16 hi + lo
      fragments and `g W` added atomically into f32 rows;
    - d_lm_head: blocks of 64 vocabulary rows by chunks of 256 tokens; the
      transposed tile `W h^T` recomputed and `g^T h` added atomically.

    A gradient of f32 is accumulated in place; a bf16 one in an f32 buffer
    converted at the end. Kernels of unused results are not emitted, and
    `hymir.token_logprobs` is the partials and lse kernels alone, built by
    the same code as the loss's, so its result equals `logp_new` bitwise.
    Other shapes are an error naming the op.

    A warp's tile is `m-tiles` x 16 rows by `n-tiles` x 8 columns (blocks of
    4 warps); a B fragment serves every m-tile, and a gradient is added to
    memory once per tile of `8 n-tiles` vocabulary rows (d_hidden) or
    tokens (d_lm_head). With `wgmma` (sm_90a) the partials kernel of bf16
    operands takes its logits from `WgmmaTiles` (cp.async stages, wgmma
    m64n128k16; blocks of 128 tokens, two warpgroups) instead.

    With `wgmma` and `wgmma-grads` (the default), N a multiple of 128, the
    gradients are GEMMs on `WgmmaTiles` too, in passes of 16384 vocabulary
    rows, every output tile owned by one block (no atomics): per pass the
    head's rows transposed (W^T [N, rows], for d_hidden), the logits
    recomputed into g planes as bf16 (g [T, rows] and g^T [rows, T]; with
    the f32 head a hi and a lo plane of each, two products per gradient
    tile), d_lm_head's rows = g^T h (over h^T, transposed once) written once,
    and d_hidden += g W into one f32 [T, N] accumulator converted at the end.
    Memory above inputs and results: the pass's planes, W^T, h^T and the
    accumulator (0.59 GiB at T = 4096, N = 6144; 0.85 GiB with the f32 head).

    With `token-chunk` = Tc > 0 as well (a multiple of 128; the bf16 head
    only) the logits are not recomputed: per chunk of Tc tokens (unrolled up
    to the static token count or `max-tokens`, chunk k under a token guard
    of T > k Tc) the forward's wgmma kernel over the chunk's tokens (the
    same blocks, so `logp_new` is unchanged) also stores `e = exp(z - m)`
    as bf16 [Tc, V rounded up to 128] with each thread's running maximum m
    per 128-row tile; then the chunk's lse, its coefficients (the weights
    kernel), `g = coef (1[v = y] - e exp(m - lse))` as bf16 over e in place
    and as g^T, `d_lm_head (+)= g^T h` (K = Tc; chunk 0 stores, later chunks
    add into the result, one rounding to its type per chunk), and the
    chunk's `d_hidden` rows = g W (passes of 8192 vocabulary rows of W^T, an
    f32 [Tc, N] accumulator). The loss comes from the weights kernel over
    every token at the end. g carries two bf16 roundings (e and g) where
    the recomputing backward has one. With `mn-major` the two gradient
    products read g, W and h as stored (wgmma operands in MN-major shared
    memory, taken transposed): no g^T, W^T or h^T, and d_hidden's rows are
    one product over the whole vocabulary, written to the result.
  }];
  let options = [
    Option<"mTiles", "m-tiles", "int64_t", /*default=*/"1",
           "m16 row tiles of a warp (1, 2 or 4)">,
    Option<"nTiles", "n-tiles", "int64_t", /*default=*/"8",
           "n8 column tiles of a warp (2, 4, 8 or 16)">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "sm_90a: the forward's logits tiles on wgmma (WgmmaTiles, 128 "
           "tokens x 128 vocabulary rows) where both operands are bf16, N "
           "is a multiple of 64 and V at least 128">,
    Option<"wgmmaGrads", "wgmma-grads", "bool", /*default=*/"true",
           "with wgmma and N a multiple of 128: the gradients as wgmma "
           "products per pass of 16384 vocabulary rows (g planes, g^T h, "
           "g W; no atomics, no f32 copy of a bf16 gradient)">,
    Option<"tokenChunk", "token-chunk", "int64_t", /*default=*/"0",
           "with wgmma-grads and the bf16 head: the token-chunked backward "
           "with chunks of this many tokens (a multiple of 128; 0: off)">,
    Option<"maxTokens", "max-tokens", "int64_t", /*default=*/"0",
           "the most tokens of a call (the token-chunked backward unrolls "
           "its chunks up to it where the token count is dynamic)">,
    Option<"mnMajor", "mn-major", "bool", /*default=*/"false",
           "with token-chunk: the gradient products read g, W and h as "
           "stored (MN-major wgmma operands) instead of transposed copies">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::nvgpu::NVGPUDialect"];
}

def HymirChooseLightningBlocks
    : Pass<"hymir-choose-lightning-blocks", "::mlir::func::FuncOp"> {
  let summary = "Tokens per block for each lightning attention, by the cuda "
                "kernel that will take it";
  let description = [{
    For the cuda target, before `hymir-tile-lightning-attention`. The kernels
    of `hymir-lightning-to-gpu` need different block sizes: the Hopper
    pipeline-layer kernel 64 tokens, the tensor-core kernel 32, the
    exact-f32 SIMT kernel up to 64 (the cuda pipeline tiles at 32). Tiling
    is target-neutral and takes one block size, so this pass decides per
    op: where the Hopper kernel will take the op (`hopper` on, a chip with
    wgmma, bf16 q/k/v, key dim 64 or 128, 64-wide value chunks after the
    tiling's value split, a non-empty sequence, and the kernel's shared
    memory within what `chip` allows a block), it sets
    `hymir.tile_block_size = 64` on the op, which the tiling honours. Other
    ops are left alone (tiled at the pipeline's block size). An op that
    already carries the attribute keeps it.
  }];
  let options = [
    Option<"hopper", "hopper", "bool", /*default=*/"true",
           "choose 64-token blocks for the ops the Hopper kernel takes">,
    Option<"valueSplit", "value-split", "int64_t", /*default=*/"0",
           "the value split the tiling will use (0: automatic)">,
    Option<"hopperConsumers", "hopper-consumers", "int64_t",
           /*default=*/"2", "consumer warpgroups of the Hopper kernel">,
    Option<"hopperStages", "hopper-stages", "int64_t", /*default=*/"3",
           "slots of the Hopper kernel's TMA ring">,
    Option<"hopperStagedOutput", "hopper-staged-output", "bool",
           /*default=*/"true", "o staged through shared memory">,
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "the GPU whose target description says whether wgmma exists and "
           "how much shared memory a block may have">
  ];
}

def HymirLightningToGpu
    : Pass<"hymir-lightning-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "Tiled lightning attention as one cooperative GPU kernel";
  let description = [{
    For the cuda target, on tensors (before bufferization), after
    `hymir-tile-lightning-attention`: the algorithm is written once, as that
    pass's tiled form, and this pass maps it. For each forall marked
    `hymir.lightning = "heads"` it recovers the parameters from the IR --
    q, k, v (the tensors the block's slices read), the slopes (the tensor
    whose `slopes[head]` the decay powers of the "intra", "inter" and
    "state" contractions use), the initial state (the forall's state init
    unless that is a zero fill), the block size (the step of the loop marked
    "blocks") and the value split (the forall's last bound) -- and checks the
    rest of the form (the contractions' operands and indexing maps, the
    carried state and output tiles, the published tiles). A form it cannot
    map is refused with a diagnostic at the forall naming what differs; an
    untiled `hymir.lightning_attention` is refused too.

    The forall becomes a `gpu.launch` with one thread block per (value
    chunk, head, batch) -- the forall's iterations as the grid -- that runs
    the blocked algorithm: a loop over the token blocks carrying the
    f32 state tile [D, Dv / value-split] in shared memory, and per block
    four phases separated by barriers:

      load    QdT[d][i] = q[i][d] lambda^(i+1), Kd[j][d] = k[j][d]
              lambda^(m-1-j) (and its transpose), Vs[j][e] = v[j][e]
      scores  AT[j][i] = (QdT^T KdT)[i][j] / lambda^m for j <= i, else 0
              (= (Q K^T)[i][j] lambda^(i-j), the decay mask)
      output  O = A V (keys j <= i only) + QdT^T S, written in the
              activation type
      state   S = lambda^m S + Kd^T V

    Each contraction is an outer-product loop over register tiles shared out
    to the block's threads, in f32 with fused multiply-adds. The tiles live
    in dynamic shared memory (about 92 KiB for 32-token blocks, D = 128 and
    64-wide value chunks; at most what `chip` allows a block). The operands
    become buffers through `bufferization.to_buffer` and the results fresh
    allocations through
    `bufferization.to_tensor`, so one-shot bufferization and the planner see
    ordinary buffers. The cuda pipeline tiles with 64-token blocks the ops
    the Hopper kernel takes on sm_90a (hymir-choose-lightning-blocks), with
    32-token blocks the others, and with 64-wide value chunks where they
    divide the value dim.

    A static token count of at most 16 (the decode cut-off of `chip`'s
    target description; with `decode-kernel`, the default) takes a decode
    kernel instead: the recurrence with the state in registers, read and
    written once. A dynamic token count gets both kernels, each under a
    `hymir.token_guard` (decode up to 16 tokens, blocked above), which
    hymir-lower-to-plan turns into launches guarded by the token count of
    each call.

    With `tensor-cores` (the default) and a chip with bf16 mma.sync (sm_80
    on), bf16 graphs whose shapes allow it
    (32-token blocks, key dim a multiple of 16, the m16n8 tiles of the state
    and of a block's output shared evenly by the 8 warps with each warp's
    tiles in one row, 256 threads) run the four contractions
    as `nvvm.mma.sync` m16n8k16 with bf16 operands and f32 accumulation: the
    state tile stays in the warps' accumulator registers, a bf16 transposed
    copy of it in shared memory feeds the inter-block product, and the
    decay factors are applied in f32 to the scores and to the inter-block
    rows. As in the M1 reference code, the scores and the state are rounded
    to bf16 where they enter a product.

    With `sequence-split` = N >= 2 (and the `hopper` kernel taken) the
    tokens are cut into N chunks of L = 64 ceil(T / 64 N) tokens (from the
    run-time T) and the grid's z covers (batch, chunk): a first launch (a
    producer loading k and v, one state warpgroup) computes each chunk's
    own state from zero, Delta_c, into f32 scratch (chunks 0 .. N - 2);
    then the Hopper kernel runs every chunk, its state warpgroup first
    carrying the state into its chunk, S_in(c + 1) = lambda^(n_c) S_in(c) +
    Delta_c from the initial state (or zeros), and the last chunk writes
    the final state. o is written once and rounded once, as without the
    split; the split reads k and v a second time (1.5x the minimal bytes).
    It is for grids of fewer thread blocks than SMs (8 heads a GPU under
    8-way tensor parallelism): by default (0) an op whose (value chunks x
    heads x batch) thread blocks fill at most half of the SMs (132 on
    sm_90a) gets floor(SMs / blocks) chunks, at most 8 (measured on the
    H200: 16 blocks, 8 chunks, 2.3-4.3x; 32 blocks, 4 chunks, 1.7-2.3x;
    128 blocks, 2 chunks, 1.3x slower: no split there). A static sequence
    gets at most one chunk a block.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"256",
           "threads per block">,
    Option<"decodeColumns", "decode-columns", "int64_t", /*default=*/"0",
           "value columns per thread block of the decode kernel (a power "
           "of two in [4, 128]; 0: 64, or the value dim where smaller); "
           "where they do not divide the value dim, the default">,
    Option<"decodeVector", "decode-vector", "bool", /*default=*/"false",
           "the decode kernel with 16-byte state accesses: a warp reads "
           "whole row segments of its block's columns, each thread 8 "
           "consecutive key rows of 4 columns, the output summed over the "
           "warps in shared memory (where that layout divides the shapes)">,
    Option<"decodeRows", "decode-rows", "int64_t", /*default=*/"0",
           "key rows per thread of the vector decode kernel (1, 2, 4 or 8; "
           "0: 8): fewer rows, more threads for the same state">,
    Option<"decodeKernel", "decode-kernel", "bool", /*default=*/"true",
           "the decode kernel for short static sequences and, under a "
           "token guard, for short calls of a dynamic one">,
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"true",
           "bf16 prefill on tensor cores (mma.sync m16n8k16, bf16 operands, "
           "f32 accumulation) where the shapes allow">,
    Option<"hopper", "hopper", "bool", /*default=*/"false",
           "on sm_90a, bf16 prefill tiled in 64-token blocks on the Hopper "
           "pipeline layer (TMA ring, producer warpgroup, wgmma; key dim 64 "
           "or 128, 64-wide value chunks; the cuda pipeline turns it on)">,
    Option<"hopperConsumers", "hopper-consumers", "int64_t",
           /*default=*/"2",
           "consumer warpgroups of the hopper kernel: 2, an output and a "
           "state warpgroup side by side; 1, one doing both in sequence">,
    Option<"hopperStages", "hopper-stages", "int64_t", /*default=*/"3",
           "slots of the hopper kernel's TMA ring (2 to 4; 40 KiB each at "
           "key dim 128)">,
    Option<"hopperStagedOutput", "hopper-staged-output", "bool",
           /*default=*/"true",
           "with two consumers, o goes through shared memory (stmatrix) and "
           "out in 16-byte stores of whole rows; false: each thread stores "
           "its accumulator fragments">,
    Option<"sequenceSplit", "sequence-split", "int64_t", /*default=*/"0",
           "sequence chunks of the hopper kernel (0: automatic, where (value "
           "chunks x heads x batch) thread blocks fill at most half of "
           "`chip`'s SMs, SMs / blocks chunks, at most 8; 1: none; 2 to "
           "32): a state pass computes each chunk's own state from zero (k, "
           "v only), then the kernel runs every chunk from the state "
           "carried into it, so (value chunks x heads x batch x chunks) "
           "thread blocks share the work">,
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "the GPU whose target description (hymir/Codegen/Target.h) gives "
           "the decode cut-off, the shared-memory limit and whether bf16 "
           "mma.sync exists">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def HymirLightningStateInPlace
    : Pass<"hymir-lightning-state-in-place", "::mlir::func::FuncOp"> {
  let summary = "A tied lightning state updated by its decode kernel in place";
  let description = [{
    For the cuda target, after one-shot bufferization and before kernel
    outlining. An entry whose lightning-attention state is tied (state in,
    state out in one runtime buffer) bufferizes to a decode launch that
    writes the new state into a fresh buffer and a `memref.copy` of that
    buffer into the argument's (4 MiB per layer at B = 1, M1's shapes; the
    same bytes again as the kernel moves). Where the copy's source is a
    `memref.alloc` written only by one `gpu.launch` marked
    `hymir.lightning = "decode"` and its target is an argument of the entry
    that the launch only loads (its initial state), the launch writes the
    argument directly and the copy and the allocation go.

    This is safe because of what the decode kernel is: every thread loads
    its elements of the initial state before the token loop and stores the
    same elements of the final state after it, and no thread touches
    another's elements; so in place, each element is read before it is
    overwritten, by the thread that overwrites it. The rewrite also needs
    the argument's old value to be dead after the launch: no op between the
    launch and the copy may use the argument or a view of it. Anything else
    (a blocked kernel, a state read again later, a launch under a token
    guard) keeps its copy.

    The model's decode has no copy but an elementwise op in its place: a
    slot without a token keeps its state, `select(counts[b] > 0, new, old)`
    written into the argument by a `linalg.generic` reading the fresh
    buffer, the argument and the counts (one more kernel that reads the
    state twice). Where such an op (all parallel; the fresh buffer, the
    argument and its only init with the identity map; other inputs at a
    projection of the point; a payload of pure ops) is the only reader of
    the fresh buffer, nothing between the launch and it uses the argument or
    its other inputs, and the launch only loads the argument, its payload is
    computed in the launch at each store of the state (the old element
    loaded again by the thread that stores it, the other inputs at their
    projection) and stored into the argument; the op and the buffer go.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::vector::VectorDialect"];
}

def HymirExternDynamicSharedMemory
    : Pass<"hymir-extern-dynamic-shared-memory", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Make dynamic shared memory an external, 1024-aligned array";
  let description = [{
    For the cuda target, after conversion to NVVM. `gpu.dynamic_shared_memory`
    becomes a zero-sized internal `addrspace(3)` global, which the NVPTX
    backend emits as a separate one-byte static `.shared` variable instead of
    the dynamic region: every access then lands outside the memory the launch
    provides. Declaring every zero-sized `addrspace(3)` global external with
    1024-byte alignment makes the PTX say `.extern .shared .align 1024 .b8
    name[]`, the dynamic region itself.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def HymirGpuClusterDims
    : Pass<"hymir-gpu-cluster-dims", "::mlir::ModuleOp"> {
  let summary = "Give each kernel launched in clusters its cluster shape";
  let description = [{
    For the cuda target, after kernel outlining. A `gpu.launch_func` with
    `clusters in (x, y, z)` (constants) marks its kernel with
    `nvvm.cluster_dim = array<i32: x, y, z>`, which the NVPTX backend
    emits as `.explicitcluster` and `.reqnctapercluster x, y, z`: the
    driver then runs every launch of the kernel in clusters of that shape,
    also through a plain `cuLaunchKernel`, so the runtime needs no cluster
    launch of its own (the grid must be a multiple of the cluster shape).
    Cluster sizes that are not constants, or two launches of one kernel
    with different shapes, are errors.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::NVVM::NVVMDialect"];
}

def HymirTestHopperProbes
    : Pass<"hymir-test-hopper-probes", "::mlir::ModuleOp"> {
  let summary = "Test only: add probe kernels of the Hopper pipeline layer";
  let description = [{
    Adds `gpu.module @hopper_probes` with one kernel per piece of the Hopper
    pipeline layer (codegen/lib/HopperPipeline.h), built with the layer's own
    builders, for the GPU probe test (test/gpu/hopper-probes), which launches
    them on an sm_90a GPU and compares each with a host reference:

    - `hopper_probe_tma`: a TMA load of a 64 x 64 bf16 box from a tensor map
      passed as a kernel parameter, 128-byte swizzle, boxes hanging over the
      tensor's edges (zero fill), written back to global memory;
    - `hopper_probe_ring`: an mbarrier ring of 3 slots streaming 10 tiles from
      a producer warpgroup (one thread issuing the copies) to a consumer
      warpgroup, so barrier phases wrap around; the consumer sums;
    - `hopper_probe_setmaxnreg`: the ring with two consumer warpgroups holding
      64 f32 accumulators per thread, the producer's register budget lowered
      to 40 and the consumers' raised to 232 (`setmaxnreg`);
    - `hopper_probe_wgmma`: `wgmma.mma_async` m64n128k16, bf16 operands both
      in shared memory (K-major, 128-byte swizzle, loaded by TMA), f32
      accumulators: one k step and four.

    Shapes, launch sizes and shared-memory bytes are in
    `hymir/Codegen/HopperProbes.h`; lower the result with
    `hymir-cuda-kernels`.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::hymir::HymirDialect"];
}

#endif // HYMIR_CODEGEN_PASSES_TD
