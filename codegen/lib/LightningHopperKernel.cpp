//===- LightningHopperKernel.cpp - tiled lightning attention on sm_90a ----===//
//
// The sm_90a mapping of the tiled form of lightning attention (one thread
// block per (value chunk of 64, head, batch): the forall; 64-token blocks:
// the block loop) on the Hopper pipeline layer (HopperPipeline.h). A
// producer warpgroup and one or two consumer warpgroups:
//
// - the producer (one thread) loads, per block, q and k (D / 64 boxes of
//   64 tokens x 64 columns each) and this chunk's v box by TMA into a ring
//   of `stages` slots (128-byte swizzle; rows past the sequence read zeros),
//   each slot guarded by a full barrier (arrive with the expected bytes)
//   and an empty barrier (released by every consumer warp);
// - the consumers run the tiled form's three contractions on wgmma, the
//   f32 state S [D, 64] in registers (D / 64 accumulators of m64n64) and a
//   bf16 copy of it in shared memory:
//     scores = Q K^T                 (both operands K-major from the ring)
//     inter  = Q S_bf16              (B: the bf16 state copy, K-major)
//     o      = lambda^(i+1) inter + (scores * M) V
//              (M_ij = lambda^(i-j) for j <= i, else 0, applied to the
//              accumulator; the product as bf16 A fragments in registers,
//              V MN-major from the ring)
//     S      = lambda^m S + K^T (w V),  w_j = lambda^(m-1-j) for j < m
//              (K^T read transposed from the ring, w V written once into
//              shared memory as bf16)
//   As in the tensor-core kernel, the scores and the state are rounded to
//   bf16 where they enter a product (here w V rather than K
//   lambda^(m-1-j)).
//
// With one consumer warpgroup it does all of a block in sequence: the
// products, o (bf16) to global memory, then the new S's bf16 copy for the
// next block. With two (the default form), the state chain and the output
// run side by side:
//
// - the state warpgroup keeps S in its registers: per block w V, the
//   update, then (except after the last block) S's bf16 copy into one of
//   two buffers (block j's into buffer j % 2, the initial state's into
//   buffer 1) with stmatrix (transposed 8 x 8 tiles), and a named-barrier
//   arrive saying it is ready;
// - the output warpgroup, on block j, issues the scores, waits for S_(j-1)'s
//   copy (buffer (j + 1) % 2), issues the inter-block product, and once
//   both are done arrives on the buffer's "free" barrier (the state
//   warpgroup waits on it before writing S_(j+1) there), then the output
//   product and o to global memory.
// So the output of block j overlaps the update of block j (and the copy
// of S_j), and only the state update is a serial chain.
//
// The final state is written from the registers after the last block.
//
// A sequence split (LightningHopperSplit, for grids of fewer thread blocks
// than SMs) runs the kernel per chunk of the sequence: a state pass (the
// producer with k and v only, and one state warpgroup) computes each
// chunk's own state from zero into f32 scratch; then in the kernel above
// each thread block's state warpgroup first carries the state into its
// chunk over the earlier chunks' (S_in(c + 1) = lambda^(n_c) S_in(c) +
// Delta_c: one f32 tile a chunk, read as 16-byte loads) and its blocks run
// over the chunk's tokens only. o is written once, rounded once, as
// without the split; k and v are read twice.
//
//===----------------------------------------------------------------------===//

#include "LightningHopperKernel.h"
#include "HopperPipeline.h"

#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::hymir;

namespace {

using Shape = LightningHopperShape;

/// One box: 64 rows of 128 bytes (64 bf16 columns).
constexpr int64_t kBox = 64 * 128;

/// Named barriers of the two-consumer form (0 is the block's): the state
/// warpgroup's own, then "copy b ready" and "copy b free" for b = 0, 1.
constexpr int64_t kStateSync = 1, kReady = 2, kFree = 4;

struct Layout {
  Ring ring;
  /// Offsets within a slot: q boxes, k boxes, the v box.
  int64_t q = 0, k = 0, v = 0;
  /// The bf16 state copies (`copies` of D / 64 boxes each: rows are value
  /// columns, each row 64 key rows of S) and w V (one box).
  int64_t state = 0, copies = 1, scaledV = 0;
  /// o's bf16 tile on its way to global memory (0: none), 64 rows of 128
  /// bytes, 16-byte chunk c of row r at c ^ (r % 8).
  int64_t outStage = 0;
  int64_t bytes = 0;
};

Layout layoutFor(int64_t d, const LightningHopperForm &form,
                 bool statePass = false) {
  SharedLayout l;
  Layout out;
  int64_t boxes = d / 64;
  if (statePass) {
    // A sequence split's state pass: k and v only, no state copy, no o.
    out.k = 0;
    out.v = boxes * kBox;
    out.ring = Ring::carve(l, form.stages, (boxes + 1) * kBox);
    out.copies = 0;
    out.scaledV = l.region(kBox);
    out.ring.carveBarriers(l);
    out.bytes = l.bytes;
    return out;
  }
  out.q = 0;
  out.k = boxes * kBox;
  out.v = 2 * boxes * kBox;
  out.ring = Ring::carve(l, form.stages, (2 * boxes + 1) * kBox);
  out.copies = form.consumers == 2 ? 2 : 1;
  out.state = l.region(out.copies * boxes * kBox);
  out.scaledV = l.region(kBox);
  if (form.consumers == 2 && form.stagedOutput)
    out.outStage = l.region(kBox);
  out.ring.carveBarriers(l);
  out.bytes = l.bytes;
  return out;
}

/// Where a thread's m64n64 accumulator registers sit: register r of warp
/// w holds row rows[(r >> 1) & 1] = 16 w + lane / 4 (+ 8), column
/// 8 (r >> 2) + 2 (lane % 4) + (r & 1).
struct Fragment {
  Value warp, lane, quad, rows[2];
};

struct HopperLightning : LightningKernel {
  HopperLightning(ImplicitLocOpBuilder &b, const LightningOperands &operands,
                  int64_t d, const LightningHopperForm &form, Value qMap,
                  Value kMap, Value vMap, const LightningHopperSplit &split)
      : LightningKernel(b, operands), d(d), boxes(d / 64),
        consumers(split.statePass ? 1 : form.consumers), p(b),
        layout(layoutFor(d, form, split.statePass)), qMap(qMap), kMap(kMap),
        vMap(vMap), split(split) {
    // The state pass computes each chunk's own state, from zero.
    if (split.statePass)
      initialState = Value();
  }
  int64_t d, boxes, consumers;
  HopperPipeline p;
  Layout layout;
  Value qMap, kMap, vMap;
  LightningHopperSplit split;
  /// Under a sequence split: the chunk length L and this block's first
  /// token (set by emit()).
  Value chunkLength, begin;

  bool splits() const { return split.chunks > 1; }
  /// The first token of block i of this thread block's range.
  Value blockStart(Value i) {
    Value t0 = mul(i, Shape::kBlock);
    return begin ? add(begin, t0) : t0;
  }
  /// Tokens of chunk c: min(L, T - c L), 0 past the sequence.
  Value tokensOfChunk(Value c) {
    Value first = mul(c, chunkLength);
    Value left = select(ult(first, tokens), sub(tokens, first), idx(0));
    return arith::MinUIOp::create(b, chunkLength, left);
  }

  Value isZero(Value x) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::eq, x, idx(0));
  }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  Value toFloat(Value index) {
    return arith::UIToFPOp::create(
        b, b.getF32Type(),
        arith::IndexCastUIOp::create(b, b.getI64Type(), index));
  }
  /// lambda^n = exp(-slope n) for an index n.
  Value power(Value negSlope, Value n) {
    return math::ExpOp::create(b, fmul(negSlope, toFloat(n)));
  }
  /// Block i's ring slot, once the producer's loads into it have landed.
  Value awaitFullSlot(Value i) {
    Value slot = p.slotOf(layout.ring, i);
    p.wait(p.barrier(layout.ring.full, slot), p.parityOf(layout.ring, i));
    return slot;
  }
  Value slotAddress(Value slot) {
    return p.sharedAddress(
        arith::AddIOp::create(b, p.i64(layout.ring.base),
                              p.mul64(p.toI64(slot), layout.ring.slotBytes)));
  }
  Value plus(Value address, int64_t bytes) {
    return arith::AddIOp::create(b, address, p.i64(bytes));
  }
  Value plus(Value address, Value bytes) {
    return arith::AddIOp::create(b, address, p.toI64(bytes));
  }
  /// K-major operand (rows of 128 bytes along K) for k16 step `ks` of a
  /// D-wide row set split into 64-column boxes from `base`.
  Value kMajor(Value base, int64_t ks) {
    return p.matrixDescriptor(plus(base, ks / 4 * kBox + (ks % 4) * 32), 16,
                              1024);
  }
  /// MN-major operand (one 128-byte row of 64 M or N elements per K) for
  /// k16 step `kk` of a box at `base`.
  Value mnMajor(Value base, int64_t kk) {
    return p.matrixDescriptor(plus(base, kk * 16 * 128), kBox, 1024);
  }
  /// acc += A B (m64n64k16, both from shared memory), A transposed
  /// (MN-major) where `transposeA`, B MN-major where `transposeB`.
  Value wgmma(Value acc, Value descA, Value descB, bool transposeA,
              bool transposeB) {
    auto shape = NVVM::MMAShapeAttr::get(b.getContext(), 64, 64, 16);
    return NVVM::WgmmaMmaAsyncOp::create(
               b, acc.getType(), acc, descA, descB, shape,
               NVVM::WGMMATypes::bf16, NVVM::WGMMATypes::bf16,
               NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one,
               NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one,
               transposeA ? NVVM::MMALayout::col : NVVM::MMALayout::row,
               transposeB ? NVVM::MMALayout::row : NVVM::MMALayout::col,
               NVVM::MMAIntOverflowAttr())
        .getResult();
  }
  SmallVector<Value> unpack(Value acc) {
    SmallVector<Value> x;
    for (int64_t r = 0; r < 32; ++r)
      x.push_back(LLVM::ExtractValueOp::create(b, acc, r));
    return x;
  }
  Value pack(ArrayRef<Value> x) {
    Value acc = LLVM::UndefOp::create(b, p.accumulatorType(32));
    for (int64_t r = 0; r < 32; ++r)
      acc = LLVM::InsertValueOp::create(b, acc, x[r], r);
    return acc;
  }
  void asyncFence() {
    NVVM::FenceProxyOp::create(
        b, NVVM::ProxyKind::async_shared,
        NVVM::SharedSpaceAttr::get(b.getContext(),
                                   NVVM::SharedSpace::shared_cta));
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  /// then() under `cond`.
  void when(Value cond, function_ref<void()> then) {
    auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&op.getThenRegion().front());
    then();
  }

  Fragment fragmentOf(Value t) {
    Fragment f;
    f.warp = div(t, 32);
    f.lane = rem(t, 32);
    f.quad = rem(f.lane, 4);
    f.rows[0] = add(mul(f.warp, 16), div(f.lane, 4));
    f.rows[1] = add(f.rows[0], idx(8));
    return f;
  }
  Value column(const Fragment &f, int64_t r) {
    return add(mul(f.quad, 2), idx(8 * (r >> 2) + (r & 1)));
  }
  Value negativeSlope() {
    return arith::NegFOp::create(
        b, memref::LoadOp::create(b, slopes, ValueRange{head}));
  }

  void emit() {
    p.begin();
    Value blocks;
    if (splits()) {
      // L = 64 ceil(T / (64 chunks)): whole blocks, so only the chunk that
      // holds the last token has a partial block.
      chunkLength = mul(arith::CeilDivUIOp::create(
                            b, tokens, idx(Shape::kBlock * split.chunks)),
                        Shape::kBlock);
      begin = mul(split.chunk, chunkLength);
      blocks = arith::CeilDivUIOp::create(b, tokensOfChunk(split.chunk),
                                          idx(Shape::kBlock));
    } else {
      blocks = arith::CeilDivUIOp::create(b, tokens, idx(Shape::kBlock));
    }
    int64_t stages = layout.ring.stages;
    p.initBarriers(tid, {{layout.ring.full, stages, 1},
                         {layout.ring.empty, stages, 4 * consumers}});
    p.roles(
        tid, /*producerRegisters=*/40, /*consumerRegisters=*/232,
        [&](Value t) { producer(t, blocks); },
        [&](Value w, Value t) {
          if (split.statePass) {
            statePassRole(t, blocks);
            return;
          }
          if (consumers == 1) {
            consumer(t, blocks);
            return;
          }
          auto which = scf::IfOp::create(b, isZero(w), /*withElseRegion=*/true);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(&which.getThenRegion().front());
          outputRole(t, blocks);
          b.setInsertionPointToStart(&which.getElseRegion().front());
          stateRole(t, blocks);
        });
  }

  void producer(Value t, Value blocks) {
    auto one = scf::IfOp::create(b, isZero(t), /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&one.getThenRegion().front());
    Value qDesc = split.statePass ? Value() : p.descriptor(qMap),
          kDesc = p.descriptor(kMap), vDesc = p.descriptor(vMap);
    auto loop = scf::ForOp::create(b, idx(0), blocks, idx(1));
    b.setInsertionPoint(loop.getBody()->getTerminator());
    Value i = loop.getInductionVar();
    Value t0 = blockStart(i);
    Value slot = p.slotOf(layout.ring, i);
    // A fresh barrier counts its "previous" phase as done: the first pass
    // over the ring does not wait.
    p.wait(p.barrier(layout.ring.empty, slot),
           arith::XOrIOp::create(b, p.parityOf(layout.ring, i), i32(1)));
    Value full = p.barrier(layout.ring.full, slot);
    p.arriveExpectBytes(full, layout.ring.slotBytes);
    Value base = slotAddress(slot);
    for (int64_t h = 0; h < boxes; ++h) {
      if (!split.statePass)
        p.tmaLoad(qDesc, plus(base, layout.q + h * kBox), full,
                  {idx(64 * h), head, t0, batch});
      p.tmaLoad(kDesc, plus(base, layout.k + h * kBox), full,
                {idx(64 * h), head, t0, batch});
    }
    p.tmaLoad(vDesc, plus(base, layout.v), full, {vOff, head, t0, batch});
  }

  /// The decay mask of a thread's score registers (fixed over the
  /// blocks).
  SmallVector<Value> decayMask(const Fragment &f, Value negSlope) {
    SmallVector<Value> mask;
    for (int64_t r = 0; r < 32; ++r) {
      Value i = f.rows[(r >> 1) & 1], j = column(f, r);
      Value causal = arith::CmpIOp::create(b, arith::CmpIPredicate::uge, i, j);
      Value gap = select(causal, sub(i, j), idx(0));
      mask.push_back(select(causal, power(negSlope, gap), f32(0)));
    }
    return mask;
  }

  /// The state this thread block starts from as D / 64 accumulators: the
  /// initial state (or zeros), under a sequence split carried over the
  /// chunks before this block's (chunk c: S_in(c)).
  SmallVector<Value> initialStateOf(const Fragment &f, Value negSlope) {
    SmallVector<Value> state = givenStateOf(f);
    return splits() ? carried(f, state, negSlope) : state;
  }

  /// Tile (batch, chunk c, head, value chunk) of the deltas.
  Value deltaTile(Value c) {
    auto qType = cast<MemRefType>(q.getType());
    int64_t heads = qType.getDimSize(2);
    int64_t valueChunks =
        cast<MemRefType>(this->out.getType()).getDimSize(3) / Shape::kColumns;
    Value z = add(mul(batch, split.chunks - 1), c);
    return add(mul(add(mul(z, heads), head), valueChunks),
               div(vOff, Shape::kColumns));
  }
  /// Group g (4 registers) of thread t's accumulators in a delta tile.
  Value deltaRow(Value t, int64_t g) { return add(mul(idx(g), 128), t); }

  /// S_in(c) = lambda^(n_(c-1)) S_in(c-1) + Delta_(c-1), from S_in(0) =
  /// `state`, for this block's chunk c.
  SmallVector<Value> carried(const Fragment &f, ArrayRef<Value> state,
                             Value negSlope) {
    Value t = add(mul(f.warp, 32), f.lane);
    auto loop = scf::ForOp::create(b, idx(0), split.chunk, idx(1), state);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value c = loop.getInductionVar();
    Value decay = power(negSlope, tokensOfChunk(c));
    Value tile = deltaTile(c);
    Type vec = VectorType::get({4}, b.getF32Type());
    SmallVector<Value> next;
    for (int64_t h = 0; h < boxes; ++h) {
      SmallVector<Value> x = unpack(loop.getRegionIterArgs()[h]);
      for (int64_t g = 0; g < 8; ++g) {
        Value v4 = vector::LoadOp::create(
            b, vec, split.deltas,
            ValueRange{tile, deltaRow(t, 8 * h + g), idx(0)},
            /*nontemporal=*/false, llvm::MaybeAlign(16));
        for (int64_t e = 0; e < 4; ++e) {
          Value &r = x[4 * g + e];
          r = math::FmaOp::create(b, r, decay,
                                  vector::ExtractOp::create(b, v4, e));
        }
      }
      next.push_back(pack(x));
    }
    scf::YieldOp::create(b, next);
    return SmallVector<Value>(loop.getResults());
  }

  /// The initial state (or zeros) as D / 64 accumulators.
  SmallVector<Value> givenStateOf(const Fragment &f) {
    SmallVector<Value> state;
    for (int64_t h = 0; h < boxes; ++h) {
      SmallVector<Value> x;
      for (int64_t r = 0; r < 32; ++r) {
        if (!initialState) {
          x.push_back(f32(0));
          continue;
        }
        Value key = add(f.rows[(r >> 1) & 1], idx(64 * h));
        x.push_back(memref::LoadOp::create(
            b, initialState,
            ValueRange{batch, head, key, add(vOff, column(f, r))}));
      }
      state.push_back(pack(x));
    }
    return state;
  }

  /// w V into its box (same swizzled layout as the v box): 512 chunks of
  /// 8 values, 4 per thread t of a warpgroup; w_j = lambda^(m-1-j), 0 past
  /// the block.
  void writeScaledV(Value t, Value vBase, Value scaledV, Value m,
                    Value negSlope) {
    Type bf16 = b.getBF16Type();
    Type vec = VectorType::get({8}, bf16);
    for (int64_t c = 0; c < 4; ++c) {
      Value item = add(t, idx(128 * c));
      Value j = div(item, 8);
      Value chunk = arith::XOrIOp::create(b, rem(item, 8), rem(j, 8));
      Value offset = add(mul(j, 128), mul(chunk, 16));
      Value inBlock = ult(j, m);
      Value w =
          select(inBlock, power(negSlope, sub(sub(m, j), idx(1))), f32(0));
      Value v8 =
          LLVM::LoadOp::create(b, vec, p.sharedPtr(plus(vBase, offset)), 16);
      Value scaled = v8;
      for (int64_t e = 0; e < 8; ++e) {
        Value ve = arith::ExtFOp::create(
            b, b.getF32Type(), Value(vector::ExtractOp::create(b, v8, e)));
        scaled = vector::InsertOp::create(
            b, arith::TruncFOp::create(b, bf16, fmul(ve, w)), scaled, e);
      }
      LLVM::StoreOp::create(b, scaled, p.sharedPtr(plus(scaledV, offset)), 16);
    }
  }

  /// S = lambda^m S + K^T (w V) issued and waited for: A = K^T read
  /// transposed from the k boxes (box h: keys 64 h ..), B = w V MN-major.
  SmallVector<Value> updateState(ValueRange s, Value kBase, Value scaledV,
                                 Value m, Value negSlope) {
    Value blockDecay = power(negSlope, m);
    SmallVector<Value> next;
    for (int64_t h = 0; h < boxes; ++h) {
      SmallVector<Value> z = unpack(s[h]);
      for (int64_t r = 0; r < 32; ++r)
        z[r] = fmul(z[r], blockDecay);
      next.push_back(pack(z));
    }
    p.wgmmaFence();
    for (int64_t h = 0; h < boxes; ++h)
      for (int64_t kk = 0; kk < Shape::kBlock / 16; ++kk)
        next[h] = wgmma(next[h], mnMajor(plus(kBase, h * kBox), kk),
                        mnMajor(scaledV, kk), /*transposeA=*/true,
                        /*transposeB=*/true);
    p.wgmmaCommit();
    p.wgmmaWait(0);
    return next;
  }

  /// Each warp of a consumer warpgroup releases the slot once.
  void releaseSlot(const Fragment &f, Value slot) {
    when(isZero(f.lane), [&] { p.arrive(p.barrier(layout.ring.empty, slot)); });
  }

  /// o to global memory: rows t0 + row below the token count.
  void storeOutput(const Fragment &f, Value o, Value t0) {
    Type bf16 = b.getBF16Type();
    SmallVector<Value> x = unpack(o);
    Type pair = VectorType::get({2}, bf16);
    for (int64_t half = 0; half < 2; ++half) {
      Value token = add(t0, f.rows[half]);
      when(ult(token, tokens), [&] {
        for (int64_t r = 0; r < 32; r += 2) {
          if (((r >> 1) & 1) != half)
            continue;
          Value v2 = LLVM::UndefOp::create(b, pair);
          v2 = vector::InsertOp::create(
              b, arith::TruncFOp::create(b, bf16, x[r]), v2, 0);
          v2 = vector::InsertOp::create(
              b, arith::TruncFOp::create(b, bf16, x[r + 1]), v2, 1);
          vector::StoreOp::create(
              b, v2, this->out,
              ValueRange{batch, token, head, add(vOff, column(f, r))});
        }
      });
    }
  }

  /// The final state from the registers (under a sequence split, by the
  /// last chunk's blocks only).
  void storeFinalState(const Fragment &f, ValueRange state) {
    if (splits()) {
      when(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, split.chunk,
                                 idx(split.chunks - 1)),
           [&] { storeFinalStateNow(f, state); });
      return;
    }
    storeFinalStateNow(f, state);
  }
  void storeFinalStateNow(const Fragment &f, ValueRange state) {
    for (int64_t h = 0; h < boxes; ++h) {
      SmallVector<Value> z = unpack(state[h]);
      for (int64_t r = 0; r < 32; ++r)
        memref::StoreOp::create(
            b, z[r], finalState,
            ValueRange{batch, head, add(f.rows[(r >> 1) & 1], idx(64 * h)),
                       add(vOff, column(f, r))});
    }
  }

  /// The one-consumer form: the whole block in sequence.
  void consumer(Value t, Value blocks) {
    Type bf16 = b.getBF16Type();
    Fragment f = fragmentOf(t);
    Value negSlope = negativeSlope();
    // Per thread, fixed over the blocks: the decay mask of its score
    // registers and the inter-block factor of its two rows.
    SmallVector<Value> mask = decayMask(f, negSlope);
    Value rowDecay[2] = {power(negSlope, add(f.rows[0], idx(1))),
                         power(negSlope, add(f.rows[1], idx(1)))};
    Value stateCopy = p.sharedAddress(layout.state);
    Value scaledV = p.sharedAddress(layout.scaledV);
    Value barrierId = i32(1);

    // The bf16 copy of S: row n (value column) of box h holds S[64 h .. 64 h
    // + 63, n], 16-byte chunk c of row n at chunk c ^ (n % 8).
    auto writeStateCopy = [&](ArrayRef<Value> state) {
      for (int64_t h = 0; h < boxes; ++h) {
        SmallVector<Value> x = unpack(state[h]);
        for (int64_t r = 0; r < 32; ++r) {
          Value key = f.rows[(r >> 1) & 1], n = column(f, r);
          Value chunk = arith::XOrIOp::create(b, div(key, 8), rem(n, 8));
          Value offset =
              add(add(mul(n, 128), mul(chunk, 16)), mul(rem(key, 8), 2));
          Value at = p.sharedPtr(plus(plus(stateCopy, h * kBox), offset));
          LLVM::StoreOp::create(b, arith::TruncFOp::create(b, bf16, x[r]), at,
                                2);
        }
      }
      // The generic-proxy writes before the wgmmas read them.
      asyncFence();
      p.namedSync(barrierId, 128);
    };

    SmallVector<Value> state = initialStateOf(f, negSlope);
    writeStateCopy(state);

    auto loop = scf::ForOp::create(b, idx(0), blocks, idx(1), state);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value i = loop.getInductionVar();
      SmallVector<Value> s(loop.getRegionIterArgs());
      Value t0 = blockStart(i);
      Value m = arith::MinUIOp::create(b, idx(Shape::kBlock), sub(tokens, t0));
      Value slot = awaitFullSlot(i);
      Value base = slotAddress(slot);
      Value qBase = plus(base, layout.q), kBase = plus(base, layout.k),
            vBase = plus(base, layout.v);

      // Scores and the inter-block product (the previous state's copy).
      p.wgmmaFence();
      Value scores = p.anyAccumulator(32), inter = p.anyAccumulator(32);
      for (int64_t ks = 0; ks < d / 16; ++ks)
        scores = p.wgmmaShared(scores, kMajor(qBase, ks), kMajor(kBase, ks), 64,
                               /*overwrite=*/ks == 0);
      for (int64_t ks = 0; ks < d / 16; ++ks)
        inter = p.wgmmaShared(inter, kMajor(qBase, ks), kMajor(stateCopy, ks),
                              64, /*overwrite=*/ks == 0);
      p.wgmmaCommit();
      p.wgmmaWait(0);

      SmallVector<Value> frag = maskedScores(scores, mask);
      Value o = outputProduct(frag, inter, rowDecay, vBase);
      p.wgmmaCommit();

      writeScaledV(t, vBase, scaledV, m, negSlope);
      asyncFence();
      p.namedSync(barrierId, 128);
      SmallVector<Value> next = updateState(s, kBase, scaledV, m, negSlope);

      releaseSlot(f, slot);
      storeOutput(f, o, t0);
      // The next block's inter-block product reads the new state's copy
      // (every wgmma reading the old one is done).
      writeStateCopy(next);
      scf::YieldOp::create(b, next);
    }
    storeFinalState(f, loop.getResults());
  }

  /// (scores * M) as bf16 A fragments.
  SmallVector<Value> maskedScores(Value scores, ArrayRef<Value> mask) {
    SmallVector<Value> x = unpack(scores);
    SmallVector<Value> frag;
    for (int64_t r = 0; r < 32; r += 2)
      frag.push_back(
          p.packBf16x2(fmul(x[r], mask[r]), fmul(x[r + 1], mask[r + 1])));
    return frag;
  }

  /// o = lambda^(i+1) inter + (scores * M) V issued (not committed), V
  /// MN-major from the ring.
  Value outputProduct(ArrayRef<Value> frag, Value inter, Value rowDecay[2],
                      Value vBase) {
    SmallVector<Value> y = unpack(inter);
    for (int64_t r = 0; r < 32; ++r)
      y[r] = fmul(y[r], rowDecay[(r >> 1) & 1]);
    Value o = pack(y);
    p.wgmmaFence();
    for (int64_t kk = 0; kk < Shape::kBlock / 16; ++kk)
      o = p.wgmmaRegisterA(o, ArrayRef<Value>(frag).slice(4 * kk, 4),
                           mnMajor(vBase, kk), 64, /*transposeB=*/true);
    return o;
  }

  /// Shared address of state copy `buffer` (an index, 0 or 1).
  Value copyAddress(Value buffer) {
    return plus(p.sharedAddress(layout.state), mul(buffer, boxes * kBox));
  }

  /// The output warpgroup of the two-consumer form.
  void outputRole(Value t, Value blocks) {
    Fragment f = fragmentOf(t);
    Value negSlope = negativeSlope();
    SmallVector<Value> mask = decayMask(f, negSlope);
    Value rowDecay[2] = {power(negSlope, add(f.rows[0], idx(1))),
                         power(negSlope, add(f.rows[1], idx(1)))};
    auto loop = scf::ForOp::create(b, idx(0), blocks, idx(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    Value i = loop.getInductionVar();
    Value t0 = blockStart(i);
    Value slot = awaitFullSlot(i);
    Value base = slotAddress(slot);
    Value qBase = plus(base, layout.q), kBase = plus(base, layout.k),
          vBase = plus(base, layout.v);

    // The scores go first; the inter-block product waits for S_(i-1)'s
    // copy, in buffer (i + 1) % 2.
    p.wgmmaFence();
    Value scores = p.anyAccumulator(32);
    for (int64_t ks = 0; ks < d / 16; ++ks)
      scores = p.wgmmaShared(scores, kMajor(qBase, ks), kMajor(kBase, ks), 64,
                             /*overwrite=*/ks == 0);
    p.wgmmaCommit();
    Value buffer = rem(add(i, idx(1)), 2);
    p.namedSync(add32(kReady, buffer), 256);
    Value copy = copyAddress(buffer);
    p.wgmmaFence();
    Value inter = p.anyAccumulator(32);
    for (int64_t ks = 0; ks < d / 16; ++ks)
      inter = p.wgmmaShared(inter, kMajor(qBase, ks), kMajor(copy, ks), 64,
                            /*overwrite=*/ks == 0);
    p.wgmmaCommit();
    // The scores are done first: mask and round them while Q S runs.
    p.wgmmaWait(1);
    SmallVector<Value> frag = maskedScores(scores, mask);
    p.wgmmaWait(0);
    // The copy is read: the state warpgroup may write S_(i+1) there (when
    // it will: not after the last two blocks).
    when(ult(add(i, idx(2)), blocks),
         [&] { p.namedArrive(add32(kFree, buffer), 256); });

    Value o = outputProduct(frag, inter, rowDecay, vBase);
    p.wgmmaCommit();
    p.wgmmaWait(0);
    releaseSlot(f, slot);
    if (layout.outStage)
      storeOutputStaged(f, o, t0);
    else
      storeOutput(f, o, t0);
  }

  /// o to global memory through shared memory: each warp stores its 16
  /// rows with stmatrix (8 x 8 tiles: lane L names row L % 8 of tile L / 8,
  /// tile (g, L / 8) = rows 16 warp + 8 ((L / 8) % 2), columns 16 g + 8
  /// ((L / 8) / 2)), then reads them back as 16-byte chunks, 4 rows of 128
  /// bytes per warp instruction, and stores those below the token count.
  /// Only the warp's own rows: a warp barrier orders the two.
  void storeOutputStaged(const Fragment &f, Value o, Value t0) {
    SmallVector<Value> x = unpack(o);
    Value stage = p.sharedAddress(layout.outStage);
    Value tile = div(f.lane, 8), i = rem(f.lane, 8);
    Value row = add(add(mul(f.warp, 16), mul(rem(tile, 2), 8)), i);
    for (int64_t g = 0; g < 4; ++g) {
      Value c = add(div(tile, 2), idx(2 * g));
      Value chunk = arith::XOrIOp::create(b, c, i);
      SmallVector<Value> sources;
      for (int64_t mi = 0; mi < 4; ++mi) {
        int64_t r = 4 * (2 * g + mi / 2) + 2 * (mi % 2);
        sources.push_back(p.packBf16x2(x[r], x[r + 1]));
      }
      NVVM::StMatrixOp::create(
          b, p.sharedPtr(plus(stage, add(mul(row, 128), mul(chunk, 16)))),
          sources, NVVM::MMALayout::row,
          NVVM::LdStMatrixShapeAttr::get(b.getContext(), 8, 8),
          NVVM::LdStMatrixEltType::B16);
    }
    NVVM::SyncWarpOp::create(b, i32(-1));
    Type vec = VectorType::get({8}, b.getBF16Type());
    for (int64_t it = 0; it < 4; ++it) {
      Value r = add(add(mul(f.warp, 16), div(f.lane, 8)), idx(4 * it));
      Value c = rem(f.lane, 8);
      Value chunk = arith::XOrIOp::create(b, c, rem(r, 8));
      Value v8 = LLVM::LoadOp::create(
          b, vec, p.sharedPtr(plus(stage, add(mul(r, 128), mul(chunk, 16)))),
          16);
      Value token = add(t0, r);
      when(ult(token, tokens), [&] {
        vector::StoreOp::create(
            b, v8, this->out,
            ValueRange{batch, token, head, add(vOff, mul(c, 8))},
            /*nontemporal=*/false, llvm::MaybeAlign(16));
      });
    }
    // The next block's stmatrix must not overwrite rows still being read.
    NVVM::SyncWarpOp::create(b, i32(-1));
  }

  /// Named barrier `base` + `buffer` (an index) as an i32.
  Value add32(int64_t base, Value buffer) {
    return arith::AddIOp::create(b, i32(base), p.toI32(buffer));
  }

  /// S's bf16 copy (the layout of the one-consumer form's) at `copy` by
  /// stmatrix: 8 x 8 tiles of the accumulator stored transposed, so that a
  /// row of the copy (a value column) holds 8 consecutive keys. Per box,
  /// instruction g stores the tiles of columns 16 g .. 16 g + 15 and both
  /// row halves of the warp's 16 rows; lane L names row L % 8 (value column
  /// 16 g + 8 ((L / 8) / 2) + L % 8) of tile L / 8, whose keys are the
  /// 16-byte chunk 2 warp + (L / 8) % 2 of that row.
  void writeCopy(const Fragment &f, ArrayRef<Value> state, Value copy) {
    Value tile = div(f.lane, 8), row = rem(f.lane, 8);
    Value n = add(mul(div(tile, 2), 8), row);
    Value chunk =
        arith::XOrIOp::create(b, add(mul(f.warp, 2), rem(tile, 2)), row);
    Value laneAddress = plus(copy, add(mul(n, 128), mul(chunk, 16)));
    for (int64_t h = 0; h < boxes; ++h) {
      SmallVector<Value> x = unpack(state[h]);
      for (int64_t g = 0; g < 4; ++g) {
        SmallVector<Value> sources;
        for (int64_t mi = 0; mi < 4; ++mi) {
          int64_t r = 4 * (2 * g + mi / 2) + 2 * (mi % 2);
          sources.push_back(p.packBf16x2(x[r], x[r + 1]));
        }
        NVVM::StMatrixOp::create(
            b, p.sharedPtr(plus(laneAddress, h * kBox + g * 16 * 128)), sources,
            NVVM::MMALayout::col,
            NVVM::LdStMatrixShapeAttr::get(b.getContext(), 8, 8),
            NVVM::LdStMatrixEltType::B16);
      }
    }
  }

  /// One block of the state chain: wait for block i's slot, write its
  /// decayed V (w V is this warpgroup's alone: its previous update is done),
  /// S = lambda^m S + K^T (w V), free the slot. Returns the new state.
  SmallVector<Value> stateStep(Value t, Fragment f, Value i, ValueRange s,
                               Value scaledV, Value negSlope) {
    Value t0 = blockStart(i);
    Value m = arith::MinUIOp::create(b, idx(Shape::kBlock), sub(tokens, t0));
    Value slot = awaitFullSlot(i);
    Value base = slotAddress(slot);
    Value kBase = plus(base, layout.k), vBase = plus(base, layout.v);
    writeScaledV(t, vBase, scaledV, m, negSlope);
    asyncFence();
    p.namedSync(i32(kStateSync), 128);
    SmallVector<Value> next = updateState(s, kBase, scaledV, m, negSlope);
    releaseSlot(f, slot);
    return next;
  }

  /// A sequence split's state pass: the state warpgroup's chain alone over
  /// this block's chunk, from zero, into the chunk's delta tile.
  void statePassRole(Value t, Value blocks) {
    Fragment f = fragmentOf(t);
    Value negSlope = negativeSlope();
    Value scaledV = p.sharedAddress(layout.scaledV);
    SmallVector<Value> state = givenStateOf(f);
    auto loop = scf::ForOp::create(b, idx(0), blocks, idx(1), state);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      SmallVector<Value> next =
          stateStep(t, f, loop.getInductionVar(), loop.getRegionIterArgs(),
                    scaledV, negSlope);
      scf::YieldOp::create(b, next);
    }
    Value tile = deltaTile(split.chunk);
    for (int64_t h = 0; h < boxes; ++h) {
      SmallVector<Value> x = unpack(loop.getResult(h));
      for (int64_t g = 0; g < 8; ++g) {
        Value v4 =
            LLVM::UndefOp::create(b, VectorType::get({4}, b.getF32Type()));
        for (int64_t e = 0; e < 4; ++e)
          v4 = vector::InsertOp::create(b, x[4 * g + e], v4, e);
        vector::StoreOp::create(
            b, v4, split.deltas,
            ValueRange{tile, deltaRow(t, 8 * h + g), idx(0)},
            /*nontemporal=*/false, llvm::MaybeAlign(16));
      }
    }
  }

  /// The state warpgroup of the two-consumer form.
  void stateRole(Value t, Value blocks) {
    Fragment f = fragmentOf(t);
    Value negSlope = negativeSlope();
    Value scaledV = p.sharedAddress(layout.scaledV);
    SmallVector<Value> state = initialStateOf(f, negSlope);
    // S_(-1) into buffer 1; the generic-proxy writes before the wgmmas
    // read them. (Under a sequence split a chunk past the sequence has no
    // blocks: no output warpgroup waits for it.)
    auto firstCopy = [&] {
      writeCopy(f, state, copyAddress(idx(1)));
      asyncFence();
      p.namedArrive(i32(kReady + 1), 256);
    };
    if (splits())
      when(ult(idx(0), blocks), firstCopy);
    else
      firstCopy();

    auto loop = scf::ForOp::create(b, idx(0), blocks, idx(1), state);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value i = loop.getInductionVar();
      SmallVector<Value> next =
          stateStep(t, f, i, loop.getRegionIterArgs(), scaledV, negSlope);
      // S_i's copy into buffer i % 2 for the output of block i + 1, once
      // the output warpgroup has read S_(i-2) there.
      when(ult(add(i, idx(1)), blocks), [&] {
        Value buffer = rem(i, 2);
        when(arith::CmpIOp::create(b, arith::CmpIPredicate::uge, i, idx(1)),
             [&] { p.namedSync(add32(kFree, buffer), 256); });
        writeCopy(f, next, copyAddress(buffer));
        asyncFence();
        p.namedArrive(add32(kReady, buffer), 256);
      });
      scf::YieldOp::create(b, next);
    }
    storeFinalState(f, loop.getResults());
  }
};

} // namespace

int64_t LightningHopperShape::sharedBytes(int64_t d,
                                          const LightningHopperForm &form) {
  return layoutFor(d, form).bytes;
}

int64_t LightningHopperShape::statePassSharedBytes(int64_t d, int64_t stages) {
  LightningHopperForm form;
  form.stages = stages;
  return layoutFor(d, form, /*statePass=*/true).bytes;
}

Value mlir::hymir::buildLightningHopperTensorMap(ImplicitLocOpBuilder &b,
                                                 Value buffer) {
  return TensorMapOp::create(b, MemRefType::get({16}, b.getI64Type()), buffer,
                             b.getDenseI64ArrayAttr({1, Shape::kBlock, 1, 64}),
                             b.getI64IntegerAttr(128));
}

void mlir::hymir::buildLightningHopperKernel(
    ImplicitLocOpBuilder &b, const LightningOperands &operands, int64_t keyDim,
    const LightningHopperForm &form, Value qMap, Value kMap, Value vMap,
    const LightningHopperSplit &split) {
  HopperLightning(b, operands, keyDim, form, qMap, kMap, vMap, split).emit();
}
