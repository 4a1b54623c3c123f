//===- AttentionHopperKernel.cpp - flash-attention prefill on sm_90a ------===//
//
// The bf16 prefill kernel of hymir-softmax-attention-to-kernels on the
// Hopper pipeline layer (HopperPipeline.h), FlashAttention-3 style.
//
// A block owns 128 query rows of one KV head with GQA packing: row r is
// query t0 + r / G of query head kvh G + r % G, so one TMA box of q ([1,
// 128 / G, G, 64] per 64 columns) brings the rows in order and each K and
// V tile serves all G heads of its group. Three warpgroups:
//
// - the producer (warpgroup 0, one thread) loads Q once, then the K and V
//   tiles of 128 keys into two-stage rings by TMA, each slot guarded by a
//   full barrier (arrive with the expected bytes) and an empty barrier
//   (released by the 8 consumer warps);
// - two consumer warpgroups, 64 rows each: S = Q K^T on wgmma (both
//   operands in shared memory, K-major), the lengths and causal limits
//   applied on tiles that reach past the first row's limit, the online
//   softmax in registers (the scale folded into the exponent: p = 2^(s c -
//   m c) with c = scale log2 e), then O += P V on wgmma with P in registers
//   (the S accumulators rounded to bf16 as A fragments) and V MN-major in
//   shared memory.
//
// Row blocks run last-first, so the causal blocks with the most keys start
// first. Output rows are normalised by the row sums and stored as bf16.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernels.h"
#include "HopperPipeline.h"

#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::hymir;

bool HopperAttentionShape::covers(int64_t heads, int64_t kvHeads, int64_t dim) {
  if (kvHeads <= 0 || heads % kvHeads != 0 || (dim != 64 && dim != 128))
    return false;
  int64_t group = heads / kvHeads;
  return group <= kRows && kRows % group == 0;
}

namespace {

/// Bytes of one 64-column slice of a 128-row tile (128-byte rows).
constexpr int64_t kSliceBytes = 128 * 128;

/// Distinct queries among a consumer warpgroup's 64 rows.
int64_t queriesPerWarpgroup(int64_t group) {
  return std::max<int64_t>(1, 64 / group);
}

struct Layout {
  int64_t q = 0, qBarrier = 0;
  Ring k, v;
  /// The fused RoPE's table: per consumer warpgroup, per query of its rows,
  /// per frequency, cos and sin as f32.
  int64_t rope = 0, ropeBytesPerWarpgroup = 0;
  int64_t bytes = 0;
};

Layout layoutFor(int64_t dim, int64_t group, int64_t rotary) {
  using S = HopperAttentionShape;
  SharedLayout l;
  Layout out;
  int64_t tile = dim / 64 * kSliceBytes;
  out.q = l.region(tile);
  out.k = Ring::carve(l, S::kStages, tile);
  out.v = Ring::carve(l, S::kStages, tile);
  if (rotary > 0) {
    out.ropeBytesPerWarpgroup = queriesPerWarpgroup(group) * rotary / 2 * 8;
    out.rope = l.region(2 * out.ropeBytesPerWarpgroup, 16);
  }
  out.qBarrier = l.barriers(1);
  out.k.carveBarriers(l);
  out.v.carveBarriers(l);
  out.bytes = l.bytes;
  return out;
}

struct HopperKernel : AttentionCommon {
  HopperKernel(ImplicitLocOpBuilder &b, const AttentionBuffers &a,
               const HopperAttentionShape &s)
      : AttentionCommon(b, a), s(s), p(b),
        layout(layoutFor(s.dim, s.group, a.ropePositions ? a.ropeRotary : 0)) {}
  const HopperAttentionShape &s;
  HopperPipeline p;
  Layout layout;

  int64_t slices() const { return s.dim / 64; }
  int64_t tileBytes() const { return slices() * kSliceBytes; }

  /// A tensor map of `buffer` with `box` (MLIR order), 128-byte swizzle.
  Value tensorMap(Value buffer, ArrayRef<int64_t> box) {
    return TensorMapOp::create(b, MemRefType::get({16}, b.getI64Type()), buffer,
                               b.getDenseI64ArrayAttr(box),
                               b.getI64IntegerAttr(128));
  }

  void emit() {
    using S = HopperAttentionShape;
    int64_t queriesPerBlock = S::kRows / s.group;
    Value qMap = tensorMap(a.q, {1, queriesPerBlock, s.group, 64});
    Value kMap = tensorMap(a.k, {1, S::kKeys, 1, 64});
    Value vMap = tensorMap(a.v, {1, S::kKeys, 1, 64});
    Value rowBlocks = arith::CeilDivUIOp::create(
        b, mul(a.queries, idx(s.group)), idx(S::kRows));
    Value gridY = mul(a.batch, idx(s.kvHeads));
    Value bytes = i32(layout.bytes);
    launch(rowBlocks, gridY, idx(1), idx(S::kThreads), bytes,
           [&](gpu::LaunchOp launch) {
             Value rb = sub(sub(launch.getGridSizeX(), idx(1)),
                            launch.getBlockIds().x);
             body(launch.getThreadIds().x, rb, launch.getBlockIds().y, qMap,
                  kMap, vMap);
           });
  }

  void body(Value tid, Value rb, Value y, Value qMap, Value kMap, Value vMap) {
    using S = HopperAttentionShape;
    p.begin();
    Value kvh = rem(y, s.kvHeads), bi = div(y, s.kvHeads);
    checkLength(bi, allOf({isZero(rb), isZero(y), isZero(tid)}));
    Value rows = mul(a.queries, idx(s.group));
    Value blockRow0 = mul(rb, S::kRows);
    Value t0 = div(blockRow0, s.group);
    // The block's keys: up to the last row's limit; masks from the first
    // row's limit on.
    Value lastRow = minS(add(blockRow0, idx(S::kRows - 1)), sub(rows, idx(1)));
    Value blockEnd = visibleKeys(bi, div(lastRow, s.group));
    Value firstVisible = visibleKeys(bi, t0);
    Value tiles = arith::CeilDivUIOp::create(b, blockEnd, idx(S::kKeys));

    // The consumer warps release each slot: 2 warpgroups of 4 warps.
    p.initBarriers(tid, {{layout.qBarrier, 1, 1},
                         {layout.k.full, S::kStages, 1},
                         {layout.k.empty, S::kStages, 8},
                         {layout.v.full, S::kStages, 1},
                         {layout.v.empty, S::kStages, 8}});
    p.roles(
        tid, /*producerRegisters=*/40, /*consumerRegisters=*/232,
        [&](Value t) { producer(t, bi, kvh, t0, tiles, qMap, kMap, vMap); },
        [&](Value wg, Value t) {
          consumer(wg, t, bi, kvh, blockRow0, rows, firstVisible, tiles);
        });
  }

  void producer(Value t, Value bi, Value kvh, Value t0, Value tiles, Value qMap,
                Value kMap, Value vMap) {
    auto one = scf::IfOp::create(b, isZero(t), /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&one.getThenRegion().front());
    Value qDesc = p.descriptor(qMap), kDesc = p.descriptor(kMap),
          vDesc = p.descriptor(vMap);
    Value qBar = p.barrier(layout.qBarrier, 0);
    p.arriveExpectBytes(qBar, tileBytes());
    for (int64_t h = 0; h < slices(); ++h)
      p.tmaLoad(qDesc, p.sharedAddress(layout.q + h * kSliceBytes), qBar,
                {idx(64 * h), mul(kvh, idx(s.group)), t0, bi});
    auto loop = scf::ForOp::create(b, idx(0), tiles, idx(1));
    b.setInsertionPoint(loop.getBody()->getTerminator());
    Value i = loop.getInductionVar();
    Value s0 = mul(i, HopperAttentionShape::kKeys);
    for (auto [ring, desc] :
         {std::pair{&layout.k, kDesc}, {&layout.v, vDesc}}) {
      Value slot = p.slotOf(*ring, i);
      Value parity = p.parityOf(*ring, i);
      // A fresh barrier counts its "previous" phase as done, so the first
      // pass over the ring does not wait.
      p.wait(p.barrier(ring->empty, slot),
             arith::XOrIOp::create(b, parity, i32(1)));
      Value full = p.barrier(ring->full, slot);
      p.arriveExpectBytes(full, tileBytes());
      Value slotAddress = p.sharedAddress(arith::AddIOp::create(
          b, p.i64(ring->base), p.mul64(p.toI64(slot), ring->slotBytes)));
      for (int64_t h = 0; h < slices(); ++h)
        p.tmaLoad(desc,
                  arith::AddIOp::create(b, slotAddress, p.i64(h * kSliceBytes)),
                  full, {idx(64 * h), kvh, s0, bi});
    }
  }

  /// The larger of two scores; a NaN operand is ignored. One max.f32: the
  /// LLVM intrinsic, since the kernel pipeline's arith expansion turns
  /// arith.maximumf and arith.maxnumf into compares and selects.
  Value fmaxNum(Value x, Value y) { return LLVM::MaxNumOp::create(b, x, y); }

  /// The online softmax of one S tile (64 registers per thread, masked):
  /// the new row maxima, the factors that rescale the old sums and O, the
  /// tile's row sums and P as 32 registers of bf16 pairs (A fragments).
  struct Softmax {
    Value m[2], corr[2], sum[2];
    SmallVector<Value> frag;
  };
  Softmax softmax(ArrayRef<Value> x, Value m0, Value m1) {
    using S = HopperAttentionShape;
    Value zero = f32(0);
    Value scaleLog2 = f32(a.scale * 1.4426950408889634f);
    Softmax out;
    Value mOld[2] = {m0, m1}, mScaled[2];
    for (int64_t h = 0; h < 2; ++h) {
      Value mx = mOld[h];
      for (int64_t r = 0; r < S::kKeys / 2; ++r)
        if (((r >> 1) & 1) == h)
          mx = fmaxNum(mx, x[r]);
      for (int32_t offset : {1, 2})
        mx = fmaxNum(mx, shuffleXor(mx, offset));
      out.m[h] = mx;
      Value empty =
          arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, mx, negInf());
      mScaled[h] = select(empty, zero, fmul(mx, scaleLog2));
      out.corr[h] =
          math::Exp2Op::create(b, fsub(fmul(mOld[h], scaleLog2), mScaled[h]));
      out.sum[h] = zero;
    }
    SmallVector<Value> prob;
    for (int64_t r = 0; r < S::kKeys / 2; ++r) {
      int64_t h = (r >> 1) & 1;
      Value e = math::Exp2Op::create(
          b, fma(x[r], scaleLog2, arith::NegFOp::create(b, mScaled[h])));
      out.sum[h] = fadd(out.sum[h], e);
      prob.push_back(e);
    }
    for (int64_t r = 0; r < S::kKeys / 2; r += 2)
      out.frag.push_back(p.packBf16x2(prob[r], prob[r + 1]));
    return out;
  }

  /// The RoPE angle's cos and sin of channel pair `i` at `position` (i32),
  /// with the arithmetic of hymir.rope's generic lowering.
  std::pair<Value, Value> ropeAngle(Value i, Value position) {
    float logTheta = std::log(a.ropeTheta);
    Value iF = arith::UIToFPOp::create(
        b, b.getF32Type(), arith::IndexCastUIOp::create(b, b.getI64Type(), i));
    Value invFreq = math::ExpOp::create(
        b, fmul(iF, f32(-2.0f * logTheta / static_cast<float>(a.ropeRotary))));
    Value angle =
        fmul(arith::SIToFPOp::create(b, b.getF32Type(), position), invFreq);
    return {math::CosOp::create(b, angle), math::SinOp::create(b, angle)};
  }

  /// Fused RoPE: each consumer warpgroup rotates the first rotary channels
  /// of its 64 Q rows in shared memory (128-byte swizzle: the 16-byte
  /// chunk k of row r sits at chunk k ^ (r % 8)) before its first wgmma.
  /// First a table of cos and sin per (query, frequency) of its rows, then
  /// the rotation of whole chunk pairs (c .. c + 7, c + half ..).
  void rotateQ(Value wg, Value t, Value bi, Value blockRow0) {
    int64_t half = a.ropeRotary / 2;
    int64_t nq = queriesPerWarpgroup(s.group);
    Value barrierId = p.toI32(add(wg, idx(3)));
    Value table = arith::AddIOp::create(
        b, p.sharedAddress(layout.rope),
        p.mul64(p.toI64(wg), layout.ropeBytesPerWarpgroup));
    Value rowBase = add(blockRow0, mul(wg, 64));
    Value firstQuery = div(rowBase, s.group);
    Value lastQuery = sub(a.queries, idx(1));
    auto tableAt = [&](Value entry) {
      return p.sharedPtr(
          arith::AddIOp::create(b, table, p.mul64(p.toI64(entry), 8)));
    };
    Type f32Type = b.getF32Type();
    {
      auto loop = scf::ForOp::create(b, t, idx(nq * half), idx(128));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value e = loop.getInductionVar();
      Value query = minS(add(firstQuery, div(e, half)), lastQuery);
      Value position =
          memref::LoadOp::create(b, a.ropePositions, ValueRange{bi, query});
      auto [cos, sin] = ropeAngle(rem(e, half), position);
      Value at = tableAt(e);
      LLVM::StoreOp::create(b, cos, at, 4);
      LLVM::StoreOp::create(b, sin,
                            LLVM::GEPOp::create(b, at.getType(), f32Type, at,
                                                ArrayRef<LLVM::GEPArg>{1}),
                            4);
    }
    p.namedSync(barrierId, 128);
    {
      int64_t chunks = half / 8;
      auto loop = scf::ForOp::create(b, t, idx(64 * chunks), idx(128));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value item = loop.getInductionVar();
      Value localRow = div(item, chunks), j = rem(item, chunks);
      Value r = add(mul(wg, 64), localRow);
      Value swz = rem(r, 8);
      auto chunkPtr = [&](Value c) {
        Value slice = div(c, 64), chunk = div(rem(c, 64), 8);
        Value offset = add(add(mul(slice, kSliceBytes), mul(r, 128)),
                           mul(arith::XOrIOp::create(b, chunk, swz), 16));
        return p.sharedPtr(arith::AddIOp::create(b, p.sharedAddress(layout.q),
                                                 p.toI64(offset)));
      };
      Value c1 = mul(j, 8);
      Value ptr1 = chunkPtr(c1), ptr2 = chunkPtr(add(c1, idx(half)));
      Type bf16 = b.getBF16Type();
      auto vecType = VectorType::get({8}, bf16);
      Value x1 = LLVM::LoadOp::create(b, vecType, ptr1, 16);
      Value x2 = LLVM::LoadOp::create(b, vecType, ptr2, 16);
      Value ql = sub(div(add(blockRow0, r), s.group), firstQuery);
      Value y1 = x1, y2 = x2;
      for (int64_t e = 0; e < 8; ++e) {
        Value entry = add(mul(ql, half), add(c1, idx(e)));
        Value at = tableAt(entry);
        Value cos = LLVM::LoadOp::create(b, f32Type, at, 4);
        Value sin = LLVM::LoadOp::create(
            b, f32Type,
            LLVM::GEPOp::create(b, at.getType(), f32Type, at,
                                ArrayRef<LLVM::GEPArg>{1}),
            4);
        Value u = arith::ExtFOp::create(
            b, f32Type, Value(vector::ExtractOp::create(b, x1, e)));
        Value w = arith::ExtFOp::create(
            b, f32Type, Value(vector::ExtractOp::create(b, x2, e)));
        // rotate_half: the first half takes -partner sin, the second +.
        Value o1 = fadd(fmul(u, cos), fmul(w, arith::NegFOp::create(b, sin)));
        Value o2 = fadd(fmul(w, cos), fmul(u, sin));
        y1 = vector::InsertOp::create(b, arith::TruncFOp::create(b, bf16, o1),
                                      y1, e);
        y2 = vector::InsertOp::create(b, arith::TruncFOp::create(b, bf16, o2),
                                      y2, e);
      }
      LLVM::StoreOp::create(b, y1, ptr1, 16);
      LLVM::StoreOp::create(b, y2, ptr2, 16);
    }
    // The writes (generic proxy) before the warpgroup's wgmma reads them.
    NVVM::FenceProxyOp::create(
        b, NVVM::ProxyKind::async_shared,
        NVVM::SharedSpaceAttr::get(b.getContext(),
                                   NVVM::SharedSpace::shared_cta));
    p.namedSync(barrierId, 128);
  }

  void consumer(Value wg, Value t, Value bi, Value kvh, Value blockRow0,
                Value rows, Value firstVisible, Value tiles) {
    using S = HopperAttentionShape;
    Value warp = div(t, 32), lane = rem(t, 32);
    Value groupRow = div(lane, 4), quad = rem(lane, 4);
    // This thread's rows (accumulator registers i with bit 1 clear, then
    // set): r and r + 8.
    Value r0 = add(add(blockRow0, mul(wg, 64)), add(mul(warp, 16), groupRow));
    struct Row {
      Value valid, query, head, visible;
    };
    auto rowOf = [&](Value r) {
      Row row;
      row.valid = ult(r, rows);
      Value safe = minS(r, sub(rows, idx(1)));
      row.query = div(safe, s.group);
      row.head = add(mul(kvh, s.group), rem(safe, s.group));
      row.visible = select(row.valid, visibleKeys(bi, row.query), idx(0));
      return row;
    };
    Row rowPair[2] = {rowOf(r0), rowOf(add(r0, idx(8)))};

    // Q: 64 rows of this warpgroup in each 64-column slice; K-major.
    auto qDescriptor = [&](int64_t ks) {
      int64_t offset = layout.q + ks / 4 * kSliceBytes + (ks % 4) * 32;
      Value at = arith::AddIOp::create(b, p.sharedAddress(offset),
                                       p.mul64(p.toI64(wg), 64 * 128));
      return p.matrixDescriptor(at, 16, 1024);
    };
    p.wait(p.barrier(layout.qBarrier, 0), i32(0));
    if (a.ropePositions)
      rotateQ(wg, t, bi, blockRow0);

    int64_t oRegs = s.dim / 2;
    Value zero = f32(0);
    Value firstLane = isZero(lane);
    auto slotAddress = [&](const Ring &ring, Value slot) {
      return p.sharedAddress(arith::AddIOp::create(
          b, p.i64(ring.base), p.mul64(p.toI64(slot), ring.slotBytes)));
    };
    auto release = [&](const Ring &ring, Value slot) {
      auto one = scf::IfOp::create(b, firstLane, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(&one.getThenRegion().front());
      p.arrive(p.barrier(ring.empty, slot));
    };
    // S = Q K^T of tile i: D / 16 steps of m64n128k16, not waited for.
    // The waits for a tile's K or V come before the warpgroup's
    // wgmma.fence (beginIssue): a spin loop between the fence and the
    // wgmmas made ptxas inject warpgroup.arrives (C7519) and serialise
    // the wgmmas on the divergent path (C7520).
    auto waitK = [&](Value i) {
      Value slot = p.slotOf(layout.k, i);
      p.wait(p.barrier(layout.k.full, slot), p.parityOf(layout.k, i));
    };
    auto waitV = [&](Value i) {
      Value slot = p.slotOf(layout.v, i);
      p.wait(p.barrier(layout.v.full, slot), p.parityOf(layout.v, i));
    };
    auto issueS = [&](Value i) {
      Value slot = p.slotOf(layout.k, i);
      Value kBase = slotAddress(layout.k, slot);
      // The first step overwrites (scale-d 0): no zeroed registers.
      Value acc = p.anyAccumulator(S::kKeys / 2);
      for (int64_t ks = 0; ks < s.dim / 16; ++ks) {
        Value at = arith::AddIOp::create(
            b, kBase, p.i64(ks / 4 * kSliceBytes + (ks % 4) * 32));
        acc = p.wgmmaShared(acc, qDescriptor(ks),
                            p.matrixDescriptor(at, 16, 1024), S::kKeys,
                            /*overwrite=*/ks == 0);
      }
      return acc;
    };
    // O += P V of tile i: 8 steps of m64n(D)k16, P as A fragments.
    auto issuePV = [&](Value o, ArrayRef<Value> frag, Value i) {
      Value slot = p.slotOf(layout.v, i);
      Value vBase = slotAddress(layout.v, slot);
      for (int64_t kk = 0; kk < S::kKeys / 16; ++kk) {
        Value at = arith::AddIOp::create(b, vBase, p.i64(kk * 16 * 128));
        o = p.wgmmaRegisterA(o, frag.slice(4 * kk, 4),
                             p.matrixDescriptor(at, kSliceBytes, 1024), s.dim,
                             /*transposeB=*/true);
      }
      return o;
    };
    // The tile's scores, masked where a key lies past a row's limit (only
    // on tiles that reach past the first row's limit).
    auto scores = [&](Value acc, Value i) {
      SmallVector<Value> x;
      for (int64_t r = 0; r < S::kKeys / 2; ++r)
        x.push_back(LLVM::ExtractValueOp::create(b, acc, r));
      Value s0 = mul(i, S::kKeys);
      // Register r: row (r >> 1) & 1, key s0 + 8 (r >> 2) + 2 quad + (r & 1).
      Value needsMask = ult(firstVisible, add(s0, idx(S::kKeys)));
      auto masked = scf::IfOp::create(b, TypeRange(ValueRange(x)), needsMask,
                                      /*withElseRegion=*/true);
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(&masked.getElseRegion().front());
      scf::YieldOp::create(b, x);
      b.setInsertionPointToStart(&masked.getThenRegion().front());
      Value keyBase = add(s0, mul(quad, 2));
      SmallVector<Value> y;
      for (int64_t r = 0; r < S::kKeys / 2; ++r) {
        Value key = add(keyBase, idx(8 * (r >> 2) + (r & 1)));
        y.push_back(
            select(ult(key, rowPair[(r >> 1) & 1].visible), x[r], negInf()));
      }
      scf::YieldOp::create(b, y);
      return SmallVector<Value>(masked.getResults());
    };
    auto rescale = [&](Value o, const Softmax &sm) {
      for (int64_t r = 0; r < oRegs; ++r) {
        Value v = LLVM::ExtractValueOp::create(b, o, r);
        o = LLVM::InsertValueOp::create(b, o, fmul(v, sm.corr[(r >> 1) & 1]),
                                        r);
      }
      return o;
    };

    // Ping-pong: named barrier 1 + w is warpgroup w's turn to issue; a
    // warpgroup's issue section ends by handing the turn to the other. The
    // second warpgroup opens the first turn and leaves out its last hand-
    // over, so every barrier sees as many arrivals as waits.
    bool pingPong = s.schedule >= 1, overlap = s.schedule >= 2;
    Value second =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, wg, idx(1));
    Value first =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ne, wg, idx(1));
    Value myTurn = p.toI32(add(wg, idx(1)));
    Value otherTurn = p.toI32(sub(idx(2), wg));
    auto beginIssue = [&]() {
      if (pingPong)
        p.namedSync(myTurn, 256);
      p.wgmmaFence();
    };
    auto endIssue = [&](Value section) {
      if (!pingPong)
        return;
      Value notLast = arith::CmpIOp::create(b, arith::CmpIPredicate::ne,
                                            section, sub(tiles, idx(1)));
      auto hand = scf::IfOp::create(b, arith::OrIOp::create(b, first, notLast),
                                    /*withElseRegion=*/false);
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(&hand.getThenRegion().front());
      p.namedArrive(otherTurn, 256);
    };

    Type oType = p.accumulatorType(oRegs);
    Type f32Type = b.getF32Type();
    auto any = scf::IfOp::create(b, TypeRange{oType, f32Type, f32Type},
                                 ult(idx(0), tiles),
                                 /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&any.getElseRegion().front());
      scf::YieldOp::create(b, ValueRange{p.zeroAccumulator(oRegs), zero, zero});
      b.setInsertionPointToStart(&any.getThenRegion().front());
      if (pingPong) {
        auto open = scf::IfOp::create(b, second, /*withElseRegion=*/false);
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&open.getThenRegion().front());
        p.namedArrive(i32(1), 256);
      }
      // Tile 0: S alone.
      waitK(idx(0));
      beginIssue();
      Value acc0 = issueS(idx(0));
      p.wgmmaCommit();
      endIssue(idx(0));
      p.wgmmaWait(0);
      release(layout.k, p.slotOf(layout.k, idx(0)));
      Softmax sm0 = softmax(scores(acc0, idx(0)), negInf(), negInf());
      SmallVector<Value> init = {sm0.m[0], sm0.m[1], sm0.sum[0], sm0.sum[1],
                                 p.zeroAccumulator(oRegs)};
      llvm::append_range(init, sm0.frag);

      // Tiles 1 .. n-1: this tile's S with the previous tile's P V.
      auto loop = scf::ForOp::create(b, idx(1), tiles, idx(1), init);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(loop.getBody());
        Value i = loop.getInductionVar();
        Value prev = sub(i, idx(1));
        ValueRange carried = loop.getRegionIterArgs();
        SmallVector<Value> frag(carried.begin() + 5, carried.end());
        Value o = carried[4];
        waitK(i);
        waitV(prev);
        beginIssue();
        Value acc;
        Softmax sm;
        if (overlap) {
          acc = issueS(i);
          p.wgmmaCommit();
          o = issuePV(o, frag, prev);
          p.wgmmaCommit();
          endIssue(i);
          p.wgmmaWait(1);
          release(layout.k, p.slotOf(layout.k, i));
          sm = softmax(scores(acc, i), carried[0], carried[1]);
          p.wgmmaWait(0);
          release(layout.v, p.slotOf(layout.v, prev));
        } else {
          o = issuePV(o, frag, prev);
          acc = issueS(i);
          p.wgmmaCommit();
          endIssue(i);
          p.wgmmaWait(0);
          release(layout.v, p.slotOf(layout.v, prev));
          release(layout.k, p.slotOf(layout.k, i));
          sm = softmax(scores(acc, i), carried[0], carried[1]);
        }
        o = rescale(o, sm);
        SmallVector<Value> next = {sm.m[0], sm.m[1],
                                   fma(carried[2], sm.corr[0], sm.sum[0]),
                                   fma(carried[3], sm.corr[1], sm.sum[1]), o};
        llvm::append_range(next, sm.frag);
        scf::YieldOp::create(b, next);
      }
      // The last tile's P V.
      SmallVector<Value> frag(loop.getResults().begin() + 5,
                              loop.getResults().end());
      Value last = sub(tiles, idx(1));
      waitV(last);
      p.wgmmaFence();
      Value o = issuePV(loop.getResult(4), frag, last);
      p.wgmmaCommit();
      p.wgmmaWait(0);
      release(layout.v, p.slotOf(layout.v, last));
      scf::YieldOp::create(b,
                           ValueRange{o, loop.getResult(2), loop.getResult(3)});
    }

    // Row sums across the 4 lanes of each row, then the output.
    Value o = any.getResult(0);
    Type elt = cast<MemRefType>(a.out.getType()).getElementType();
    for (int64_t h = 0; h < 2; ++h) {
      Value l = any.getResult(1 + h);
      for (int32_t offset : {1, 2})
        l = fadd(l, shuffleXor(l, offset));
      const Row &row = rowPair[h];
      auto valid = scf::IfOp::create(b, row.valid, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&valid.getThenRegion().front());
      Value hasKeys =
          arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l, zero);
      Value inv = select(hasKeys, arith::DivFOp::create(b, f32(1), l), zero);
      for (int64_t dt = 0; dt < s.dim / 8; ++dt) {
        int64_t r = dt * 4 + 2 * h;
        Value x0 = LLVM::ExtractValueOp::create(b, o, r);
        Value x1 = LLVM::ExtractValueOp::create(b, o, r + 1);
        Value v = vector::FromElementsOp::create(
            b, VectorType::get({2}, elt),
            ValueRange{fromF32(fmul(x0, inv), elt),
                       fromF32(fmul(x1, inv), elt)});
        Value col = add(mul(quad, 2), idx(dt * 8));
        vector::StoreOp::create(b, v, a.out,
                                ValueRange{bi, row.query, row.head, col});
      }
    }
  }
};

} // namespace

int64_t HopperAttentionShape::sharedBytes(int64_t rotary) const {
  return layoutFor(dim, group, rotary).bytes;
}

bool HopperAttentionShape::coversRope(int64_t rotary) const {
  return rotary > 0 && rotary % 16 == 0 && rotary <= dim &&
         2 * queriesPerWarpgroup(group) * rotary / 2 * 8 <= 32 * 1024;
}

namespace {
/// The short calls' RoPE kernel: one thread per element of q.
struct RopeKernel : AttentionCommon {
  using AttentionCommon::AttentionCommon;
  void emit(Value in, Value out) {
    Value rowElems = mul(a.heads, a.dim);
    Value total = mul(mul(a.batch, a.queries), rowElems);
    Value blocks = arith::CeilDivUIOp::create(b, total, idx(256));
    launch(
        blocks, idx(1), idx(1), idx(256), Value(), [&](gpu::LaunchOp launch) {
          Value e = add(mul(launch.getBlockIds().x, idx(256)),
                        launch.getThreadIds().x);
          auto inside = scf::IfOp::create(b, ult(e, total),
                                          /*withElseRegion=*/false);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(&inside.getThenRegion().front());
          auto divV = [&](Value x, Value y) -> Value {
            return arith::DivUIOp::create(b, x, y);
          };
          auto remV = [&](Value x, Value y) -> Value {
            return arith::RemUIOp::create(b, x, y);
          };
          Value d = remV(e, a.dim);
          Value h = remV(divV(e, a.dim), a.heads);
          Value row = divV(e, rowElems);
          Value tq = remV(row, a.queries), bq = divV(row, a.queries);
          Type elt = cast<MemRefType>(in.getType()).getElementType();
          auto load = [&](Value ch) -> Value {
            Value x = memref::LoadOp::create(b, in, ValueRange{bq, tq, h, ch});
            return elt.isF32()
                       ? x
                       : Value(arith::ExtFOp::create(b, b.getF32Type(), x));
          };
          Value position =
              memref::LoadOp::create(b, a.ropePositions, ValueRange{bq, tq});
          Value v = ropeChannel(d, position, load);
          memref::StoreOp::create(b, fromF32(v, elt), out,
                                  ValueRange{bq, tq, h, d});
        });
  }
};
} // namespace

void mlir::hymir::emitRopeKernel(ImplicitLocOpBuilder &b,
                                 const AttentionBuffers &a, Value in,
                                 Value out) {
  RopeKernel(b, a).emit(in, out);
}

void mlir::hymir::emitHopperAttention(ImplicitLocOpBuilder &b,
                                      const AttentionBuffers &a,
                                      const HopperAttentionShape &shape) {
  HopperKernel(b, a, shape).emit();
}
