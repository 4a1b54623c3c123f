//===- CispoLossToGpu.cpp - the CISPO loss as tensor-core kernels ---------===//
//
// The pass hymir-cispo-loss-to-gpu (see Passes.td): each hymir.cispo_loss
// and hymir.token_logprobs becomes GPU kernels that never hold the [T, V]
// logits. Every product of the LM head is an mma.sync m16n8k16 tile (bf16
// operands, f32 accumulators) with fragments loaded from global memory; an
// f32 operand of the f32 head is split into a bf16 high and low part and
// the tile takes three products (hi hi + lo hi + hi lo):
//
//   partials (blocks of 64 tokens x chunks of 2048 vocabulary rows): per
//            token the chunk's logits in tiles of 64, an online (max, sum
//            of exp) per lane merged across the quad; the target logit is
//            written by the one lane whose column it is
//   lse      (a thread per token): the chunks' partials merged in order,
//            lse and logp = z_y - lse; targets outside [0, V) flagged
//   weights  (one block): mask count, clipped stop-gradient IS weight,
//            unified mask, loss and coef_t = -mask M r^ A / count (f64 sums)
//   d_hidden (blocks of 64 tokens x vocabulary chunks): the logits tile
//            recomputed, g = coef (1[v == y] - exp(z - lse)) split into
//            bf16 hi + lo A fragments, g W added atomically to f32 rows
//   d_lm_head (blocks of 64 vocabulary rows x chunks of 256 tokens): the
//            transposed tile z^T = W h^T, g^T h added atomically
//
// With wgmma-grads (bf16 operands, N a multiple of 128) the two gradient
// kernels are replaced by GEMMs on WgmmaTiles without atomics, per pass of
// kGradRows vocabulary rows (see "Backward on wgmma" below).
//
// Kernels of unused results are not emitted; hymir.token_logprobs is the
// partials and lse kernels alone, built by the same code, so its result
// equals cispo_loss's logp_new bitwise.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/RunChecks.h"

#include "GpuBuilder.h"
#include "HopperPipeline.h"
#include "MmaFragments.h"
#include "WgmmaTiles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <limits>

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRCISPOLOSSTOGPU
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// Warps per block; each takes 16 m-tiles rows (tokens, or vocabulary rows
/// in the d_lm_head kernel) by 8 n-tiles columns (the pass options).
constexpr int64_t kWarps = 4;
/// Vocabulary rows per block of the partials and d_hidden kernels.
constexpr int64_t kVocabChunk = 2048;
/// Tokens per block of the d_lm_head kernel.
constexpr int64_t kTokenChunk = 256;
/// Threads of the lse, weights and row kernels.
constexpr int64_t kThreads = 256;
/// Vocabulary rows per pass of the wgmma backward: a pass's g planes ([T,
/// rows] and [rows, T] bf16, two of each with the f32 head) and the head's
/// transposed slice ([N, rows] bf16) are most of what it holds above the
/// inputs and results (with h^T and d_hidden's f32 accumulator: 0.59 GiB at
/// T = 4096, N = 6144; 0.85 GiB with the f32 head).
constexpr int64_t kGradRows = 16384;
/// Rows and columns of a transpose kernel's tile.
constexpr int64_t kTransposeTile = 64;
/// Vocabulary rows of the head transposed at a time by the token-chunked
/// backward ([N, rows] bf16: 0.1 GB at N = 6144).
constexpr int64_t kChunkPassRows = 8192;
/// SMs of the H200 (the wave count the token-chunked d_hidden tiles are
/// chosen for).
constexpr int64_t kSms = 132;

/// A pair of adjacent k elements as bf16x2 registers: the high part, and
/// the low part where the operand is split (else null).
struct Pair {
  Value hi, lo;
};

struct CispoGpuBuilder : GpuBuilder {
  using GpuBuilder::GpuBuilder;

  Value hidden, head, targets, check;
  Value tokens;
  int64_t vocab = 0, width = 0;
  bool bf16Head = false;
  // m16 tiles of rows and n8 tiles of columns of a warp's logits tile.
  int64_t mTiles = 1, nTiles = 8;
  // The forward's logits tiles on wgmma (WgmmaTiles: 128 tokens x 128
  // vocabulary rows, bf16 operands); set by the pass where it applies.
  bool wgmma = false;
  // The backward as three wgmma products per vocabulary pass (g, g^T h,
  // g W) without atomics; set by the pass where it applies (wgmma, and N a
  // multiple of 128).
  bool wgmmaGrads = false;
  // Tokens per chunk of the token-chunked backward (0: off) and the most
  // tokens a call can have (the chunks are unrolled up to it); set by the
  // pass where it applies (wgmmaGrads and the bf16 head).
  int64_t tokenChunk = 0, maxTokens = 0;
  // The token-chunked backward's gradient products read g, W and h as
  // stored (MN-major operands): no g^T, W^T or h^T; set by the pass.
  bool mnMajor = false;
  /// Where the token-chunked backward keeps a chunk's exponentials.
  struct ChunkStore {
    int64_t c0 = 0; // the chunk's first token
    Value e;        // [Tc, Vp] bf16: exp(z - m), m the thread's running max
    Value scale;    // [Tc, 4 Vp / 128] f32: that m per tile and quad lane
    // e's column Vp (e is [Tc, Vp + 8]), written where a tile's column is
    // not its own and read by nothing.
    int64_t spareColumn = 0;
  };
  // Per launch: this thread's warp, lane, row group and quad.
  Value warp, lane, groupRow, quad;

  //===--------------------------------------------------------------------===//
  // Small builders
  //===--------------------------------------------------------------------===//

  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  Value fmax(Value x, Value y) { return LLVM::MaxNumOp::create(b, x, y); }
  Value exp(Value x) { return math::ExpOp::create(b, x); }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value eq(Value x, Value y) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::eq, x, y);
  }
  Value minU(Value x, Value y) { return arith::MinUIOp::create(b, x, y); }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, x, y); }
  Value load(Value memref, ValueRange indices) {
    return memref::LoadOp::create(b, memref, indices);
  }
  void store(Value value, Value memref, ValueRange indices) {
    memref::StoreOp::create(b, value, memref, indices);
  }
  Value ceilDiv(Value x, int64_t n) {
    return arith::CeilDivUIOp::create(b, x, idx(n));
  }
  Value last(Value n) { return sub(n, idx(1)); }
  Type elementOf(Value memref) {
    return cast<MemRefType>(memref.getType()).getElementType();
  }
  /// Whether an operand of the head is split into hi + lo (the f32 head
  /// over f32 values).
  bool splits(Value memref) { return !bf16Head && elementOf(memref).isF32(); }

  SmallVector<Value>
  forLoop(Value lb, Value ub, Value step, ValueRange init,
          function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto loop = scf::ForOp::create(b, lb, ub, step, init);
    OpBuilder::InsertionGuard guard(b);
    if (init.empty())
      b.setInsertionPoint(loop.getBody()->getTerminator());
    else
      b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> yielded =
        body(loop.getInductionVar(), loop.getRegionIterArgs());
    if (!init.empty())
      scf::YieldOp::create(b, yielded);
    return SmallVector<Value>(loop.getResults());
  }
  void ifThen(Value cond, function_ref<void()> body) {
    auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    body();
  }

  //===--------------------------------------------------------------------===//
  // Fragments
  //===--------------------------------------------------------------------===//

  /// Two bf16 as one i32 register.
  Value pack(Value bf16x2) {
    Value i32 = vector::BitCastOp::create(
        b, VectorType::get({1}, b.getI32Type()), bf16x2);
    return vector::ExtractOp::create(b, i32, 0);
  }
  /// An f32x2 vector as bf16x2 registers: hi = bf16(x), lo = bf16(x - hi)
  /// when `split`.
  Pair splitF32(Value f32x2, bool split) {
    auto bf = VectorType::get({2}, b.getBF16Type());
    Value hi = arith::TruncFOp::create(b, bf, f32x2);
    Pair p{pack(hi), Value()};
    if (split) {
      Value back =
          arith::ExtFOp::create(b, VectorType::get({2}, b.getF32Type()), hi);
      p.lo = pack(arith::TruncFOp::create(b, bf, fsub(f32x2, back)));
    }
    return p;
  }
  /// Two f32 scalars as a pair (always split: gradients keep ~16 bits).
  Pair splitScalars(Value x, Value y) {
    Value v = vector::FromElementsOp::create(
        b, VectorType::get({2}, b.getF32Type()), ValueRange{x, y});
    return splitF32(v, /*split=*/true);
  }
  /// memref[row, col] and memref[row, col + 1] of a head operand.
  Pair loadPair(Value memref, Value row, Value col) {
    Type elt = elementOf(memref);
    if (elt.isBF16())
      return {loadBf16Pair(b, memref, ValueRange{row, col}), Value()};
    Value v = vector::LoadOp::create(b, VectorType::get({2}, elt), memref,
                                     ValueRange{row, col}, false,
                                     llvm::MaybeAlign(8));
    return splitF32(v, splits(memref));
  }
  /// memref[row0, col] and memref[row1, col] of a head operand (a k pair
  /// down a column).
  Pair loadColumnPair(Value memref, Value row0, Value row1, Value col) {
    Type elt = elementOf(memref);
    Value x = load(memref, {row0, col}), y = load(memref, {row1, col});
    Value v = vector::FromElementsOp::create(b, VectorType::get({2}, elt),
                                             ValueRange{x, y});
    if (elt.isBF16())
      return {pack(v), Value()};
    return splitF32(v, splits(memref));
  }

  /// acc += a * b over one m16n8k16 step with split operands: hi hi, then
  /// lo hi and hi lo where present.
  void mmaSplit(ArrayRef<Pair> a, ArrayRef<Pair> bb,
                MutableArrayRef<Value> acc) {
    auto his = [](ArrayRef<Pair> p) {
      SmallVector<Value> v;
      for (const Pair &x : p)
        v.push_back(x.hi);
      return v;
    };
    auto los = [](ArrayRef<Pair> p) {
      SmallVector<Value> v;
      for (const Pair &x : p)
        v.push_back(x.lo);
      return v;
    };
    SmallVector<Value> d = mmaBf16(b, his(a), his(bb), acc);
    if (a.front().lo)
      d = mmaBf16(b, los(a), his(bb), d);
    if (bb.front().lo)
      d = mmaBf16(b, his(a), los(bb), d);
    llvm::copy(d, acc.begin());
  }

  /// The warp's logits tile: acc[(mt nTiles + j) 4 + r] = sum_k a[row, k]
  /// bm[col_j, k] over the width, for m-tile mt of rows aRows[mt] (this
  /// lane's two rows of `a` in it, lo and hi) and n-tile j of rows bRows[j]
  /// (this lane's row of `bm`; all rows clamped in range by the caller).
  /// A B fragment serves every m-tile. The same operations wherever a tile
  /// is computed.
  SmallVector<Value> logitsTile(Value a, ArrayRef<std::array<Value, 2>> aRows,
                                Value bm, ArrayRef<Value> bRows) {
    int64_t mt = aRows.size(), nt = bRows.size();
    SmallVector<Value> init(mt * nt * 4, f32(0));
    return forLoop(
        idx(0), idx(width), idx(16), init, [&](Value k0, ValueRange carried) {
          SmallVector<Value> acc(carried);
          Value col = add(k0, mul(quad, 2));
          Value col8 = add(col, 8);
          SmallVector<SmallVector<Pair>> fa;
          for (const auto &rows : aRows)
            fa.push_back({loadPair(a, rows[0], col), loadPair(a, rows[1], col),
                          loadPair(a, rows[0], col8),
                          loadPair(a, rows[1], col8)});
          for (int64_t j = 0; j < nt; ++j) {
            SmallVector<Pair> fb = {loadPair(bm, bRows[j], col),
                                    loadPair(bm, bRows[j], col8)};
            for (int64_t m = 0; m < mt; ++m)
              mmaSplit(fa[m], fb,
                       MutableArrayRef<Value>(acc).slice((m * nt + j) * 4, 4));
          }
          return acc;
        });
  }

  /// The A fragments (16 rows x 16 k a slice, nTiles / 2 slices) of one
  /// m-tile of f32 values in accumulator layout (g[4 j + r]), split into
  /// hi + lo.
  SmallVector<SmallVector<Pair>> gradFragments(ArrayRef<Value> g) {
    SmallVector<SmallVector<Pair>> frags;
    for (int64_t s = 0; s < nTiles / 2; ++s) {
      const Value *lo = g.data() + 8 * s, *hi = g.data() + 8 * s + 4;
      frags.push_back({splitScalars(lo[0], lo[1]), splitScalars(lo[2], lo[3]),
                       splitScalars(hi[0], hi[1]), splitScalars(hi[2], hi[3])});
    }
    return frags;
  }

  /// out[rows, :] += g (per m-tile: 16 rows x 8 nTiles k, as fragments
  /// gA[mt][slice]) times m[k0 + k, :] (rows of `m`, row-major over the
  /// width), one n8 tile of columns at a time (a B fragment serves every
  /// m-tile), added atomically where the output row (outRows[mt][lo/hi])
  /// is below `rows`.
  void accumulateGrad(ArrayRef<SmallVector<SmallVector<Pair>>> gA, Value m,
                      Value k0, Value kRows, Value out,
                      ArrayRef<std::array<Value, 2>> outRows, Value rows) {
    int64_t mt = gA.size();
    forLoop(idx(0), idx(width), idx(8), {}, [&](Value c0, ValueRange) {
      SmallVector<Value> acc(4 * mt, f32(0));
      Value col = add(c0, groupRow);
      for (int64_t s = 0; s < nTiles / 2; ++s) {
        Value k = add(add(k0, 16 * s), mul(quad, 2));
        auto row = [&](int64_t d) { return minU(add(k, d), last(kRows)); };
        SmallVector<Pair> fb = {loadColumnPair(m, row(0), row(1), col),
                                loadColumnPair(m, row(8), row(9), col)};
        for (int64_t i = 0; i < mt; ++i)
          mmaSplit(gA[i][s], fb, MutableArrayRef<Value>(acc).slice(4 * i, 4));
      }
      Value outCol = add(c0, mul(quad, 2));
      for (int64_t i = 0; i < mt; ++i)
        for (int64_t r = 0; r < 4; ++r) {
          Value row = outRows[i][r / 2];
          ifThen(ult(row, rows), [&] {
            memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addf,
                                        acc[4 * i + r], out,
                                        ValueRange{row, add(outCol, r % 2)});
          });
        }
      return SmallVector<Value>{};
    });
  }

  /// This lane's rows of the warp's m-tiles: warp rows from r0, each m-tile
  /// 16 (lo = r0 + 16 mt + groupRow, hi = lo + 8), and the same clamped
  /// below `n`.
  void laneRows(Value r0, Value n, SmallVector<std::array<Value, 2>> &rows,
                SmallVector<std::array<Value, 2>> &clamped) {
    for (int64_t m = 0; m < mTiles; ++m) {
      Value lo = add(add(r0, 16 * m), groupRow), hi = add(lo, 8);
      rows.push_back({lo, hi});
      clamped.push_back({minU(lo, last(n)), minU(hi, last(n))});
    }
  }
  /// This lane's row of `bm` in each n-tile of the tile at c0 (clamped).
  SmallVector<Value> tileRows(Value c0, Value n) {
    SmallVector<Value> rows;
    for (int64_t j = 0; j < nTiles; ++j)
      rows.push_back(minU(add(add(c0, 8 * j), groupRow), last(n)));
    return rows;
  }
  /// The column (index in the tile at c0) of accumulator element r of
  /// n-tile j.
  Value tileCol(Value c0, int64_t j, int64_t r) {
    return add(add(add(c0, 8 * j), mul(quad, 2)), r % 2);
  }

  /// A launch of blocks of kWarps warps; sets warp, lane, groupRow, quad.
  void warpLaunch(Value gridX, Value gridY,
                  function_ref<void(gpu::LaunchOp)> body) {
    launch(gridX, gridY, idx(1), idx(kWarps * 32), Value(),
           [&](gpu::LaunchOp l) {
             Value tid = l.getThreadIds().x;
             warp = div(tid, 32);
             lane = rem(tid, 32);
             groupRow = div(lane, 4);
             quad = rem(lane, 4);
             body(l);
           });
  }
  /// One thread per row of `rows`, a block of kThreads threads each.
  void rowLaunch(Value rows, function_ref<void(Value, Value)> body) {
    launch(rows, idx(1), idx(1), idx(kThreads), Value(), [&](gpu::LaunchOp l) {
      body(l.getBlockIds().x, l.getThreadIds().x);
    });
  }

  //===--------------------------------------------------------------------===//
  // Forward
  //===--------------------------------------------------------------------===//

  int64_t vocabChunks() { return (vocab + kVocabChunk - 1) / kVocabChunk; }

  /// Per token and vocabulary chunk: the running max and sum of exp of the
  /// chunk's logits; the target's logit where it lies in the chunk.
  void partials(Value partM, Value partS, Value zy) {
    int64_t blockRows = kWarps * 16 * mTiles, cols = 8 * nTiles;
    int64_t nr = 2 * mTiles; // this lane's rows
    warpLaunch(
        ceilDiv(tokens, blockRows), idx(vocabChunks()), [&](gpu::LaunchOp l) {
          Value chunk = l.getBlockIds().y;
          Value r0 =
              add(mul(l.getBlockIds().x, blockRows), mul(warp, 16 * mTiles));
          SmallVector<std::array<Value, 2>> ts, rows;
          laneRows(r0, tokens, ts, rows);
          SmallVector<Value> ys;
          for (int64_t i = 0; i < nr; ++i)
            ys.push_back(toIndex(load(targets, {rows[i / 2][i % 2]})));
          Value vStart = mul(chunk, kVocabChunk);
          Value vEnd = minU(add(vStart, kVocabChunk), idx(vocab));
          Value lowest = f32(-std::numeric_limits<float>::max());
          Value negInf = f32(-std::numeric_limits<float>::infinity());
          Value zero = f32(0);
          Value no = arith::ConstantIntOp::create(b, b.getI1Type(), 0);
          // Per row: m, s (2 nr), then the target logit (nr) and whether it
          // was seen (nr).
          SmallVector<Value> init;
          for (int64_t i = 0; i < nr; ++i)
            init.append({lowest, zero});
          init.append(nr, zero);
          init.append(nr, no);
          SmallVector<Value> st = forLoop(
              vStart, vEnd, idx(cols), init, [&](Value v0, ValueRange c) {
                SmallVector<Value> z =
                    logitsTile(hidden, rows, head, tileRows(v0, idx(vocab)));
                SmallVector<Value> mx(nr, negInf), zt, found;
                for (int64_t i = 0; i < nr; ++i) {
                  zt.push_back(c[2 * nr + i]);
                  found.push_back(c[3 * nr + i]);
                }
                for (int64_t m = 0; m < mTiles; ++m)
                  for (int64_t j = 0; j < nTiles; ++j)
                    for (int64_t r = 0; r < 4; ++r) {
                      int64_t i = 2 * m + r / 2;
                      Value v = tileCol(v0, j, r);
                      Value &x = z[(m * nTiles + j) * 4 + r];
                      x = select(ult(v, idx(vocab)), x, negInf);
                      mx[i] = fmax(mx[i], x);
                      Value hit = eq(v, ys[i]);
                      zt[i] = select(hit, x, zt[i]);
                      found[i] = arith::OrIOp::create(b, found[i], hit);
                    }
                SmallVector<Value> next;
                for (int64_t i = 0; i < nr; ++i) {
                  Value m = c[2 * i], sum0 = c[2 * i + 1];
                  Value mNew = fmax(m, mx[i]);
                  Value sum = fmul(sum0, exp(fsub(m, mNew)));
                  int64_t mt = i / 2;
                  for (int64_t j = 0; j < nTiles; ++j)
                    for (int64_t r = 2 * (i % 2); r < 2 * (i % 2) + 2; ++r)
                      sum = fadd(sum,
                                 exp(fsub(z[(mt * nTiles + j) * 4 + r], mNew)));
                  next.append({mNew, sum});
                }
                next.append(zt);
                next.append(found);
                return next;
              });
          for (int64_t i = 0; i < nr; ++i) {
            Value m = st[2 * i], s = st[2 * i + 1];
            // The quad's four lanes hold the row's columns.
            for (int32_t offset : {1, 2}) {
              Value m2 = gpu::ShuffleOp::create(b, m, offset, 32,
                                                gpu::ShuffleMode::XOR)
                             .getShuffleResult();
              Value s2 = gpu::ShuffleOp::create(b, s, offset, 32,
                                                gpu::ShuffleMode::XOR)
                             .getShuffleResult();
              Value mNew = fmax(m, m2);
              s = fadd(fmul(s, exp(fsub(m, mNew))),
                       fmul(s2, exp(fsub(m2, mNew))));
              m = mNew;
            }
            Value t = ts[i / 2][i % 2];
            Value valid = ult(t, tokens);
            ifThen(andI(valid, eq(quad, idx(0))), [&] {
              store(m, partM, {chunk, t});
              store(s, partS, {chunk, t});
            });
            ifThen(andI(valid, st[3 * nr + i]),
                   [&] { store(st[2 * nr + i], zy, {t}); });
          }
        });
  }

  /// partials() on wgmma: blocks of 128 tokens (two warpgroups) by
  /// vocabulary chunks, WgmmaTiles::product over 128-row tiles of the head
  /// (the last tile starts at V - 128; columns an earlier tile had are
  /// masked). Every thread holds two rows (as an mma.sync lane does) and 32
  /// columns of each; the quad merges them.
  void partialsWgmma(Value partM, Value partS, Value zy,
                     const ChunkStore *cs = nullptr) {
    using Wg = WgmmaTiles;
    auto head3Type = MemRefType::get({1, vocab, width}, elementOf(head));
    Value head3 = memref::ExpandShapeOp::create(
        b, head3Type, head, SmallVector<ReassociationIndices>{{0, 1}, {2}});
    Value smemBytes = i32(Wg::sharedBytes(1));
    Value blocks =
        cs ? idx(tokenChunk / Wg::kRows) : ceilDiv(tokens, Wg::kRows);
    launch(blocks, idx(vocabChunks()), idx(1), idx(Wg::kThreads), smemBytes,
           [&](gpu::LaunchOp l) {
             Value tid = l.getThreadIds().x;
             Value chunk = l.getBlockIds().y;
             Value t0 = mul(l.getBlockIds().x, Wg::kRows);
             if (cs)
               t0 = add(t0, cs->c0);
             Wg w(b, tid);
             SmallVector<Value> aRows;
             for (int64_t i = 0; i < Wg::kRowsPerThread; ++i)
               aRows.push_back(minU(add(t0, w.copyRow(i)), last(tokens)));
             w.active = ult(add(t0, mul(div(tid, 128), Wg::kRows / 2)), tokens);
             lane = rem(tid, 32);
             quad = rem(lane, 4);
             Value rowBase = add(mul(div(tid, 32), 16), div(lane, 4));
             Value ts[2] = {add(t0, rowBase), add(add(t0, rowBase), 8)};
             Value ys[2];
             for (int64_t h = 0; h < 2; ++h)
               ys[h] = toIndex(load(targets, {minU(ts[h], last(tokens))}));
             Value vStart = mul(chunk, kVocabChunk);
             Value vEnd = minU(add(vStart, kVocabChunk), idx(vocab));
             Value lowest = f32(-std::numeric_limits<float>::max());
             Value negInf = f32(-std::numeric_limits<float>::infinity());
             Value zero = f32(0);
             Value no = arith::ConstantIntOp::create(b, b.getI1Type(), 0);
             SmallVector<Value> init = {lowest, zero, lowest, zero,
                                        zero,   zero, no,     no};
             SmallVector<Value> st = forLoop(
                 vStart, vEnd, idx(Wg::kChunkRows), init,
                 [&](Value v0, ValueRange c) {
                   Value row0 = minU(v0, idx(vocab - Wg::kChunkRows));
                   Value acc = w.product(hidden, aRows,
                                         {Wg::Chunk{head3, idx(0), row0}},
                                         width, w.active)[0];
                   // The next tile's copies overwrite stages another warpgroup
                   // may still read.
                   gpu::BarrierOp::create(b);
                   SmallVector<Value> z[2], zv[2], zValid[2];
                   Value mx[2] = {negInf, negInf};
                   Value zt[2] = {c[4], c[5]}, found[2] = {c[6], c[7]};
                   for (int64_t i = 0; i < Wg::kChunkRows / 2; ++i) {
                     int64_t h = (i >> 1) & 1;
                     Value v =
                         add(add(row0, mul(quad, 2)), 8 * (i >> 2) + (i & 1));
                     Value valid =
                         andI(arith::CmpIOp::create(
                                  b, arith::CmpIPredicate::uge, v, v0),
                              ult(v, idx(vocab)));
                     Value x =
                         select(valid, LLVM::ExtractValueOp::create(b, acc, i),
                                negInf);
                     z[h].push_back(x);
                     zv[h].push_back(v);
                     zValid[h].push_back(valid);
                     mx[h] = fmax(mx[h], x);
                     Value hit = andI(valid, eq(v, ys[h]));
                     zt[h] = select(hit, x, zt[h]);
                     found[h] = arith::OrIOp::create(b, found[h], hit);
                   }
                   SmallVector<Value> next;
                   for (int64_t h = 0; h < 2; ++h) {
                     Value m = c[2 * h], sum = c[2 * h + 1];
                     Value mNew = fmax(m, mx[h]);
                     sum = fmul(sum, exp(fsub(m, mNew)));
                     // A chunk's row of the stores (rows past T are stored
                     // too: the g kernel zeroes them).
                     Value tl = cs ? sub(ts[h], idx(cs->c0)) : Value();
                     if (cs)
                       store(mNew, cs->scale,
                             {tl, add(mul(div(v0, Wg::kChunkRows), 4), quad)});
                     for (size_t k = 0; k < z[h].size(); ++k) {
                       Value ex = exp(fsub(z[h][k], mNew));
                       sum = fadd(sum, ex);
                       // Columns an earlier tile had (or past V) go to the
                       // spare column: no branch among the sums.
                       if (cs)
                         store(arith::TruncFOp::create(b, b.getBF16Type(), ex),
                               cs->e,
                               {tl, select(zValid[h][k], zv[h][k],
                                           idx(cs->spareColumn))});
                     }
                     next.append({mNew, sum});
                   }
                   next.append({zt[0], zt[1], found[0], found[1]});
                   return next;
                 });
             for (int64_t h = 0; h < 2; ++h) {
               Value m = st[2 * h], s = st[2 * h + 1];
               for (int32_t offset : {1, 2}) {
                 Value m2 = gpu::ShuffleOp::create(b, m, offset, 32,
                                                   gpu::ShuffleMode::XOR)
                                .getShuffleResult();
                 Value s2 = gpu::ShuffleOp::create(b, s, offset, 32,
                                                   gpu::ShuffleMode::XOR)
                                .getShuffleResult();
                 Value mNew = fmax(m, m2);
                 s = fadd(fmul(s, exp(fsub(m, mNew))),
                          fmul(s2, exp(fsub(m2, mNew))));
                 m = mNew;
               }
               Value valid = ult(ts[h], tokens);
               ifThen(andI(valid, eq(quad, idx(0))), [&] {
                 store(m, partM, {chunk, ts[h]});
                 store(s, partS, {chunk, ts[h]});
               });
               ifThen(andI(valid, st[6 + h]),
                      [&] { store(st[4 + h], zy, {ts[h]}); });
             }
           });
  }

  /// lse and logp per token from the chunks' partials (merged in chunk
  /// order); a target outside [0, V) is flagged.
  void finishForward(Value partM, Value partS, Value zy, Value logp, Value lse,
                     int64_t c0 = -1) {
    Value blocks = c0 < 0 ? ceilDiv(tokens, kThreads)
                          : idx((tokenChunk + kThreads - 1) / kThreads);
    rowLaunch(blocks, [&](Value block, Value tid) {
      Value t = add(mul(block, kThreads), tid);
      Value in = ult(t, tokens);
      if (c0 >= 0) {
        // Only the chunk's tokens: the next chunk's partials are not there.
        in = andI(ult(t, idx(tokenChunk)), ult(add(t, c0), tokens));
        t = add(t, c0);
      }
      ifThen(in, [&] {
        Value y = load(targets, {t});
        Value bad = ult(idx(vocab - 1), toIndex(y));
        ifThen(bad,
               [&] { flagRunCheck(b, b.getLoc(), check, t, y, idx(vocab)); });
        Value lowest = f32(-std::numeric_limits<float>::max());
        SmallVector<Value> ms =
            forLoop(idx(0), idx(vocabChunks()), idx(1), {lowest, f32(0)},
                    [&](Value c, ValueRange acc) {
                      Value m2 = load(partM, {c, t}), s2 = load(partS, {c, t});
                      Value mNew = fmax(acc[0], m2);
                      Value s = fadd(fmul(acc[1], exp(fsub(acc[0], mNew))),
                                     fmul(s2, exp(fsub(m2, mNew))));
                      return SmallVector<Value>{mNew, s};
                    });
        Value l = fadd(ms[0], math::LogOp::create(b, ms[1]));
        if (lse)
          store(l, lse, {t});
        store(fsub(load(zy, {t}), l), logp, {t});
      });
    });
  }

  //===--------------------------------------------------------------------===//
  // Loss and weights
  //===--------------------------------------------------------------------===//

  /// One block: coef_t and the loss. Each thread sums its tokens' mask and
  /// w lp in f64; thread 0 adds the threads' sums in order.
  void weights(CispoLossOp op, Value logp, Value logpOld, Value advantages,
               Value mask, Value loss, Value coef, int64_t limit = -1) {
    Value smemBytes = i32(2 * kThreads * 8 + 8);
    launch(
        idx(1), idx(1), idx(1), idx(kThreads), smemBytes, [&](gpu::LaunchOp l) {
          Value tid = l.getThreadIds().x;
          Type f64 = b.getF64Type();
          Value smem = sharedBytes();
          Value sums = view(smem, 0, {2 * kThreads + 1}, f64);
          auto wide = [&](Value x) -> Value {
            return arith::ExtFOp::create(b, f64, x);
          };
          Value zero = f32(0);
          Value zero64 = arith::ConstantOp::create(b, b.getF64FloatAttr(0));
          double epsLow = op.getEpsLow().convertToDouble();
          double epsHigh = op.getEpsHigh().convertToDouble();
          Value low = f32(static_cast<float>(1.0 - epsLow));
          Value high = f32(static_cast<float>(1.0 + epsHigh));
          auto fcmp = [&](arith::CmpFPredicate p, Value x, Value y) {
            return arith::CmpFOp::create(b, p, x, y);
          };
          SmallVector<Value> own = forLoop(
              tid, tokens, idx(kThreads), {zero64, zero64},
              [&](Value t, ValueRange acc) {
                Value lp = load(logp, {t});
                // Tokens of later chunks have no log-prob yet: 0 keeps their
                // (unused) coefficients and the partial loss finite.
                if (limit >= 0)
                  lp = select(ult(t, idx(limit)), lp, f32(0));
                Value a = load(advantages, {t});
                Value m = load(mask, {t});
                Value r = exp(fsub(lp, load(logpOld, {t})));
                Value rHat = arith::MinimumFOp::create(
                    b, arith::MaximumFOp::create(b, r, low), high);
                Value w = fmul(fmul(m, rHat), a);
                if (op.getUnifiedMask()) {
                  Value up = andI(fcmp(arith::CmpFPredicate::OGT, a, zero),
                                  fcmp(arith::CmpFPredicate::OGT, r, high));
                  Value down = andI(fcmp(arith::CmpFPredicate::OLT, a, zero),
                                    fcmp(arith::CmpFPredicate::OLT, r, low));
                  w = select(arith::OrIOp::create(b, up, down), zero, w);
                }
                // w for now; scaled by 1 / count below.
                store(w, coef, {t});
                return SmallVector<Value>{
                    arith::AddFOp::create(b, acc[0], wide(m)),
                    math::FmaOp::create(b, wide(w), wide(lp), acc[1])};
              });
          store(own[0], sums, {tid});
          store(own[1], sums, {add(tid, kThreads)});
          gpu::BarrierOp::create(b);
          ifThen(eq(tid, idx(0)), [&] {
            SmallVector<Value> total =
                forLoop(idx(0), idx(kThreads), idx(1), {zero64, zero64},
                        [&](Value i, ValueRange acc) {
                          return SmallVector<Value>{
                              arith::AddFOp::create(b, acc[0], load(sums, {i})),
                              arith::AddFOp::create(
                                  b, acc[1], load(sums, {add(i, kThreads)}))};
                        });
            Value none = fcmp(arith::CmpFPredicate::OEQ, total[0], zero64);
            Value inv = select(
                none, zero64,
                arith::DivFOp::create(
                    b, arith::ConstantOp::create(b, b.getF64FloatAttr(1)),
                    total[0]));
            store(inv, sums, {idx(2 * kThreads)});
            Value lossValue = arith::NegFOp::create(
                b, arith::MulFOp::create(b, total[1], inv));
            store(arith::TruncFOp::create(b, b.getF32Type(), lossValue), loss,
                  {});
          });
          gpu::BarrierOp::create(b);
          Value inv = load(sums, {idx(2 * kThreads)});
          stridedLoop(tid, tokens, kThreads, [&](Value t) {
            Value c = arith::NegFOp::create(
                b, arith::MulFOp::create(b, wide(load(coef, {t})), inv));
            store(arith::TruncFOp::create(b, b.getF32Type(), c), coef, {t});
          });
        });
  }

  //===--------------------------------------------------------------------===//
  // Backward
  //===--------------------------------------------------------------------===//

  /// dz = coef (1[v == y] - exp(z - lse)), 0 where `valid` is false.
  Value gradOf(Value z, Value v, Value y, Value c, Value l, Value valid) {
    Value onehot = select(eq(v, y), f32(1), f32(0));
    Value g = fmul(c, fsub(onehot, exp(fsub(z, l))));
    return select(valid, g, f32(0));
  }

  /// out [T, N] f32 += the gradient with respect to hidden.
  void dHidden(Value lse, Value coef, Value out) {
    int64_t blockRows = kWarps * 16 * mTiles, cols = 8 * nTiles;
    warpLaunch(
        ceilDiv(tokens, blockRows), idx(vocabChunks()), [&](gpu::LaunchOp l) {
          Value r0 =
              add(mul(l.getBlockIds().x, blockRows), mul(warp, 16 * mTiles));
          SmallVector<std::array<Value, 2>> ts, rows;
          laneRows(r0, tokens, ts, rows);
          SmallVector<Value> y, c, ls;
          for (int64_t i = 0; i < 2 * mTiles; ++i) {
            Value row = rows[i / 2][i % 2];
            y.push_back(toIndex(load(targets, {row})));
            c.push_back(select(ult(ts[i / 2][i % 2], tokens), load(coef, {row}),
                               f32(0)));
            ls.push_back(load(lse, {row}));
          }
          Value vStart = mul(l.getBlockIds().y, kVocabChunk);
          Value vEnd = minU(add(vStart, kVocabChunk), idx(vocab));
          forLoop(vStart, vEnd, idx(cols), {}, [&](Value v0, ValueRange) {
            SmallVector<Value> z =
                logitsTile(hidden, rows, head, tileRows(v0, idx(vocab)));
            SmallVector<SmallVector<SmallVector<Pair>>> gA;
            for (int64_t m = 0; m < mTiles; ++m) {
              MutableArrayRef<Value> g =
                  MutableArrayRef<Value>(z).slice(m * nTiles * 4, nTiles * 4);
              for (int64_t j = 0; j < nTiles; ++j)
                for (int64_t r = 0; r < 4; ++r) {
                  int64_t i = 2 * m + r / 2;
                  Value v = tileCol(v0, j, r);
                  g[4 * j + r] = gradOf(g[4 * j + r], v, y[i], c[i], ls[i],
                                        ult(v, idx(vocab)));
                }
              gA.push_back(gradFragments(g));
            }
            accumulateGrad(gA, head, v0, idx(vocab), out, ts, tokens);
            return SmallVector<Value>{};
          });
        });
  }

  /// out [V, N] f32 += the gradient with respect to the head.
  void dHead(Value lse, Value coef, Value out) {
    int64_t blockRows = kWarps * 16 * mTiles, cols = 8 * nTiles;
    warpLaunch(
        idx((vocab + blockRows - 1) / blockRows), ceilDiv(tokens, kTokenChunk),
        [&](gpu::LaunchOp l) {
          Value r0 =
              add(mul(l.getBlockIds().x, blockRows), mul(warp, 16 * mTiles));
          SmallVector<std::array<Value, 2>> vs, rows;
          laneRows(r0, idx(vocab), vs, rows);
          Value tStart = mul(l.getBlockIds().y, kTokenChunk);
          Value tEnd = minU(add(tStart, kTokenChunk), tokens);
          forLoop(tStart, tEnd, idx(cols), {}, [&](Value t0, ValueRange) {
            SmallVector<Value> z =
                logitsTile(head, rows, hidden, tileRows(t0, tokens));
            for (int64_t j = 0; j < nTiles; ++j)
              for (int64_t e = 0; e < 2; ++e) {
                Value t = tileCol(t0, j, e);
                Value row = minU(t, last(tokens));
                Value y = toIndex(load(targets, {row}));
                Value c = load(coef, {row}), ls = load(lse, {row});
                Value tValid = ult(t, tokens);
                for (int64_t m = 0; m < mTiles; ++m)
                  for (int64_t h = 0; h < 2; ++h) {
                    Value v = vs[m][h];
                    Value valid = andI(tValid, ult(v, idx(vocab)));
                    Value &x = z[(m * nTiles + j) * 4 + 2 * h + e];
                    x = gradOf(x, v, y, c, ls, valid);
                  }
              }
            SmallVector<SmallVector<SmallVector<Pair>>> gA;
            for (int64_t m = 0; m < mTiles; ++m)
              gA.push_back(gradFragments(
                  ArrayRef<Value>(z).slice(m * nTiles * 4, nTiles * 4)));
            accumulateGrad(gA, hidden, t0, tokens, out, vs, idx(vocab));
            return SmallVector<Value>{};
          });
        });
  }

  /// out[r, :] = 0 for every row r of `rows`.
  void zeroRows(Value out, Value rows) {
    rowLaunch(rows, [&](Value row, Value tid) {
      stridedLoop(tid, idx(width), kThreads,
                  [&](Value c) { store(f32(0), out, {row, c}); });
    });
  }
  /// out = acc in out's element type.
  void convertRows(Value acc, Value out, Value rows) {
    Type elt = elementOf(out);
    rowLaunch(rows, [&](Value row, Value tid) {
      stridedLoop(tid, idx(width), kThreads, [&](Value c) {
        Value x = load(acc, {row, c});
        if (!elt.isF32())
          x = arith::TruncFOp::create(b, elt, x);
        store(x, out, {row, c});
      });
    });
  }

  /// A gradient result: accumulated atomically in f32 (the result itself
  /// when it is f32), zeroed first.
  Value gradient(Type resultType, Value rows,
                 function_ref<void(Value)> accumulate) {
    auto type = cast<RankedTensorType>(resultType);
    auto f32Rows = MemRefType::get({type.getDimSize(0), width}, b.getF32Type());
    SmallVector<Value> dyn;
    if (type.isDynamicDim(0))
      dyn.push_back(rows);
    Value acc = memref::AllocOp::create(b, f32Rows, dyn);
    zeroRows(acc, rows);
    accumulate(acc);
    if (type.getElementType().isF32())
      return acc;
    Value out = memref::AllocOp::create(
        b, MemRefType::get(type.getShape(), type.getElementType()), dyn);
    convertRows(acc, out, rows);
    memref::DeallocOp::create(b, acc);
    return out;
  }

  //===--------------------------------------------------------------------===//
  // Backward on wgmma
  //===--------------------------------------------------------------------===//
  //
  // For bf16 operands (products exact in either precision) the gradients
  // are three GEMMs per pass over kGradRows vocabulary rows, each on
  // WgmmaTiles (cp.async stages, wgmma from K-major shared memory, f32
  // accumulators in registers), every output tile owned by one block:
  //
  //   g      [Tp, rows]: z = h W^T recomputed, g = coef (1[v = y] - exp(z -
  //          lse)) written as bf16 (hi, and lo = g - hi with the f32 head)
  //          both as g [t, v] and as g^T [v, t]
  //   d_lm_head [rows, N] = g^T h (K = Tp, over h^T [N, Tp]), written once
  //   d_hidden  [Tp, N] += g W (K = rows, over the pass's W^T [N, rows]),
  //          an f32 accumulator read and written by the tile's own block
  //
  // Tp is T rounded up to 128 (rows past T hold g = 0; h^T is 0 up to T
  // rounded up to 64, the K that g^T h reads); a pass's rows round up to
  // 128 (g = 0 and W^T = 0 past V). With the f32 head g's two planes share
  // the other operand's stage: that operand is the product's A and the
  // planes two B chunks (tiles transposed). The kernels of each pass are
  // launched from the host function in turn (the plan has no host loops).

  /// Rounds n up to a multiple of m.
  static int64_t roundUp(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

  /// Inside a kernel: the flat buffer `flat` (`rows` (T + 127) elements) as
  /// a [rows, Tp] matrix, Tp = T rounded up to 128 (rows of 16-byte
  /// multiples for cp.async; the plan's sizes are linear in T, so the host
  /// side allocates it flat).
  Value tokenMatrix(Value flat, int64_t rows) {
    Value cols = mul(ceilDiv(tokens, WgmmaTiles::kRows), WgmmaTiles::kRows);
    auto type = MemRefType::get({rows, ShapedType::kDynamic}, elementOf(flat));
    return memref::ReinterpretCastOp::create(
        b, type, flat, OpFoldResult(b.getIndexAttr(0)),
        ArrayRef<OpFoldResult>{b.getIndexAttr(rows), cols},
        ArrayRef<OpFoldResult>{cols, b.getIndexAttr(1)});
  }
  bool isFlat(Value memref) {
    return cast<MemRefType>(memref.getType()).getRank() == 1;
  }

  Value bf16Zero() {
    return arith::ConstantOp::create(b, b.getFloatAttr(b.getBF16Type(), 0.0));
  }
  /// An i32 of two bf16 as a vector<2xbf16>.
  Value unpackPair(Value packed) {
    Value v = vector::FromElementsOp::create(
        b, VectorType::get({1}, b.getI32Type()), ValueRange{packed});
    return vector::BitCastOp::create(b, VectorType::get({2}, b.getBF16Type()),
                                     v);
  }
  /// memref[row, col .. col + 1] = (x, y) in memref's element type (bf16
  /// rounded to nearest by one cvt, or f32).
  void storePair(Value x, Value y, Value memref, Value row, Value col) {
    Type elt = elementOf(memref);
    Value v;
    if (elt.isBF16()) {
      HopperPipeline hp(b);
      v = unpackPair(hp.packBf16x2(x, y));
    } else {
      v = vector::FromElementsOp::create(b, VectorType::get({2}, elt),
                                         ValueRange{x, y});
    }
    vector::StoreOp::create(b, v, memref, ValueRange{row, col},
                            /*nontemporal=*/false,
                            llvm::MaybeAlign(elt.isBF16() ? 4 : 8));
  }
  /// memref[row, col] = x in memref's element type.
  void storeOne(Value x, Value memref, Value row, Value col) {
    Type elt = elementOf(memref);
    if (!elt.isF32())
      x = arith::TruncFOp::create(b, elt, x);
    store(x, memref, {row, col});
  }

  /// dst[c, j] = src[row0 + j, c] for j < kTransposeTile tiles, c < N; 0
  /// where row0 + j >= srcRows. Tiles of 64 x 64
  /// through shared memory (rows padded by 2 elements against bank
  /// conflicts), both sides read and written along rows.
  void transpose(Value src, Value srcRows, int64_t row0, Value dst,
                 Value tiles) {
    constexpr int64_t kTile = kTransposeTile, kPitch = kTile + 2;
    constexpr int64_t kRowsPerPass = kThreads / kTile;
    launch(idx(width / kTile), tiles, idx(1), idx(kThreads),
           i32(kTile * kPitch * 2), [&](gpu::LaunchOp l) {
             if (isFlat(dst))
               dst = tokenMatrix(dst, width);
             Value tid = l.getThreadIds().x;
             Value c0 = mul(l.getBlockIds().x, kTile);
             Value j0 = mul(l.getBlockIds().y, kTile);
             Value tile =
                 view(sharedBytes(), 0, {kTile, kPitch}, b.getBF16Type());
             Value x = rem(tid, kTile), y = div(tid, kTile);
             Value zero = bf16Zero();
             for (int64_t i = 0; i < kTile; i += kRowsPerPass) {
               Value j = add(y, i);
               Value r = add(add(j0, j), row0);
               Value v = load(src, {minU(r, last(srcRows)), add(c0, x)});
               store(select(ult(r, srcRows), v, zero), tile, {j, x});
             }
             gpu::BarrierOp::create(b);
             for (int64_t i = 0; i < kTile; i += kRowsPerPass) {
               Value c = add(y, i);
               store(load(tile, {x, c}), dst, {add(c0, c), add(j0, x)});
             }
           });
  }

  /// Calls fn(reg, row, col) for the accumulator registers of a WgmmaTiles
  /// chunk in pairs (reg even; reg + 1 is column col + 1 of the same row).
  void forEachPair(WgmmaTiles &w,
                   function_ref<void(int64_t, Value, Value)> fn) {
    SmallVector<std::pair<Value, Value>> at;
    w.forEachAccumulator(
        [&](int64_t, Value row, Value col) { at.push_back({row, col}); });
    for (int64_t i = 0; i + 1 < static_cast<int64_t>(at.size()); i += 2)
      fn(i, at[i].first, at[i].second);
  }
  Value reg(Value acc, int64_t i) {
    return LLVM::ExtractValueOp::create(b, acc, i);
  }

  /// The g planes of one pass (vocabulary rows v0 .. v0 + padded): blocks
  /// of 128 tokens x 128 rows, z recomputed on WgmmaTiles, g written to
  /// `g` ([Tp, rows] per plane) and `gt` ([rows, Tp] per plane) where given.
  void gradPlanes(Value lse, Value coef, int64_t v0, int64_t padded,
                  ArrayRef<Value> g, ArrayRef<Value> gt, int64_t gtRows) {
    using Wg = WgmmaTiles;
    launch(ceilDiv(tokens, Wg::kRows), idx(padded / Wg::kChunkRows), idx(1),
           idx(Wg::kThreads), i32(Wg::sharedBytes(1)), [&](gpu::LaunchOp l) {
             Value tid = l.getThreadIds().x;
             Wg w(b, tid);
             Value t0 = mul(l.getBlockIds().x, Wg::kRows);
             Value p0 = mul(l.getBlockIds().y, Wg::kChunkRows);
             SmallVector<Value> aRows;
             for (int64_t i = 0; i < Wg::kRowsPerThread; ++i)
               aRows.push_back(minU(add(t0, w.copyRow(i)), last(tokens)));
             Value acc =
                 w.product(hidden, aRows,
                           {Wg::Chunk{head, Value(), add(p0, v0), idx(vocab)}},
                           width, Value())[0];
             // This thread's two rows (as in WgmmaTiles::forEachAccumulator).
             Value ln = rem(tid, 32);
             Value rowBase = add(mul(div(tid, 32), 16), div(ln, 4));
             Value y[2], c[2], ls[2];
             for (int64_t h = 0; h < 2; ++h) {
               Value t = add(add(t0, rowBase), 8 * h);
               Value row = minU(t, last(tokens));
               y[h] = toIndex(load(targets, {row}));
               c[h] = select(ult(t, tokens), load(coef, {row}), f32(0));
               ls[h] = load(lse, {row});
             }
             SmallVector<Value> gtm;
             for (Value plane : gt)
               gtm.push_back(tokenMatrix(plane, gtRows));
             HopperPipeline hp(b);
             forEachPair(w, [&](int64_t i, Value row, Value col) {
               int64_t h = (i >> 1) & 1;
               Value t = add(t0, row), p = add(p0, col);
               Value v = add(p, v0), v1 = add(v, 1);
               Value g0 = gradOf(reg(acc, i), v, y[h], c[h], ls[h],
                                 ult(v, idx(vocab)));
               Value g1 = gradOf(reg(acc, i + 1), v1, y[h], c[h], ls[h],
                                 ult(v1, idx(vocab)));
               SmallVector<Value> planes = {hp.packBf16x2(g0, g1)};
               if (g.size() > 1 || gt.size() > 1) {
                 // lo = g - hi: hi's halves back in f32 by shifting the bits.
                 Value hi = planes[0];
                 auto f32Of = [&](Value bits) {
                   return arith::BitcastOp::create(b, b.getF32Type(), bits);
                 };
                 Value hi0 = f32Of(arith::ShLIOp::create(b, hi, i32(16)));
                 Value hi1 = f32Of(arith::AndIOp::create(
                     b, hi, i32(static_cast<int32_t>(0xFFFF0000u))));
                 planes.push_back(hp.packBf16x2(fsub(g0, hi0), fsub(g1, hi1)));
               }
               for (size_t k = 0; k < planes.size(); ++k) {
                 Value pair = unpackPair(planes[k]);
                 if (k < g.size())
                   vector::StoreOp::create(b, pair, g[k], ValueRange{t, p},
                                           /*nontemporal=*/false,
                                           llvm::MaybeAlign(4));
                 if (k < gt.size())
                   for (int64_t e = 0; e < 2; ++e)
                     store(vector::ExtractOp::create(b, pair, e), gtm[k],
                           {add(p, e), t});
               }
             });
           });
  }

  /// d_lm_head rows v0 .. v0 + rows of one pass: g^T h over K = Tp, a block
  /// per output tile, written once (rows past V skipped).
  void headTiles(int64_t v0, int64_t padded, ArrayRef<Value> gtFlat,
                 int64_t gtRows, Value htFlat, Value out) {
    using Wg = WgmmaTiles;
    Value steps = ceilDiv(tokens, Wg::kK);
    if (gtFlat.size() == 1) {
      // A = g^T rows, B = h^T rows (nc chunks of 128 columns of N). The
      // column tiles are the grid's x: blocks running together share g^T
      // tiles (h^T, 2 N T bytes, is the smaller operand to stream).
      int64_t nc = width % (2 * Wg::kChunkRows) == 0 ? 2 : 1;
      launch(idx(width / (nc * Wg::kChunkRows)), idx(padded / Wg::kRows),
             idx(1), idx(Wg::kThreads), i32(Wg::sharedBytes(nc)),
             [&](gpu::LaunchOp l) {
               Value gt = tokenMatrix(gtFlat[0], gtRows);
               Value ht = tokenMatrix(htFlat, width);
               Value tid = l.getThreadIds().x;
               Wg w(b, tid);
               Value p0 = mul(l.getBlockIds().y, Wg::kRows);
               Value n0 = mul(l.getBlockIds().x, nc * Wg::kChunkRows);
               SmallVector<Value> aRows;
               for (int64_t i = 0; i < Wg::kRowsPerThread; ++i)
                 aRows.push_back(add(p0, w.copyRow(i)));
               SmallVector<Wg::Chunk> chunks;
               for (int64_t m = 0; m < nc; ++m)
                 chunks.push_back(
                     Wg::Chunk{ht, Value(), add(n0, m * Wg::kChunkRows)});
               SmallVector<Value> acc =
                   w.productSteps(gt, aRows, chunks, steps, Value());
               forEachPair(w, [&](int64_t i, Value row, Value col) {
                 Value v = add(add(p0, row), v0);
                 ifThen(ult(v, idx(vocab)), [&] {
                   for (int64_t m = 0; m < nc; ++m)
                     storePair(reg(acc[m], i), reg(acc[m], i + 1), out, v,
                               add(add(n0, m * Wg::kChunkRows), col));
                 });
               });
             });
      return;
    }
    // Split g: A = h^T rows (N), B = g^T hi and lo rows: the tile is
    // [n, v], its sum written transposed.
    launch(idx(width / Wg::kRows), idx(padded / Wg::kChunkRows), idx(1),
           idx(Wg::kThreads), i32(Wg::sharedBytes(2)), [&](gpu::LaunchOp l) {
             Value gt[2] = {tokenMatrix(gtFlat[0], gtRows),
                            tokenMatrix(gtFlat[1], gtRows)};
             Value ht = tokenMatrix(htFlat, width);
             Value tid = l.getThreadIds().x;
             Wg w(b, tid);
             Value n0 = mul(l.getBlockIds().x, Wg::kRows);
             Value p0 = mul(l.getBlockIds().y, Wg::kChunkRows);
             SmallVector<Value> aRows;
             for (int64_t i = 0; i < Wg::kRowsPerThread; ++i)
               aRows.push_back(add(n0, w.copyRow(i)));
             SmallVector<Value> acc = w.productSteps(
                 ht, aRows,
                 {Wg::Chunk{gt[0], Value(), p0}, Wg::Chunk{gt[1], Value(), p0}},
                 steps, Value());
             forEachPair(w, [&](int64_t i, Value row, Value col) {
               Value n = add(n0, row);
               for (int64_t e = 0; e < 2; ++e) {
                 Value v = add(add(add(p0, col), e), v0);
                 Value x = fadd(reg(acc[0], i + e), reg(acc[1], i + e));
                 ifThen(ult(v, idx(vocab)), [&] { storeOne(x, out, v, n); });
               }
             });
           });
  }

  /// d_hidden's f32 accumulator [Tp, N] (=, on the first pass, else +=) g W
  /// of one pass: K = the pass's padded rows, over W^T [N, rows].
  void hiddenTiles(int64_t padded, bool first, ArrayRef<Value> g, Value wt,
                   Value acc) {
    using Wg = WgmmaTiles;
    auto accumulate = [&](Value x, Value y, Value t, Value n) {
      if (!first) {
        Value old = vector::LoadOp::create(
            b, VectorType::get({2}, b.getF32Type()), acc, ValueRange{t, n},
            false, llvm::MaybeAlign(8));
        x = fadd(x, vector::ExtractOp::create(b, old, 0));
        y = fadd(y, vector::ExtractOp::create(b, old, 1));
      }
      storePair(x, y, acc, t, n);
    };
    if (g.size() == 1) {
      // A = g rows (tokens), B = W^T rows (nc chunks of 128 columns of N).
      int64_t nc = width % (2 * Wg::kChunkRows) == 0 ? 2 : 1;
      launch(ceilDiv(tokens, Wg::kRows), idx(width / (nc * Wg::kChunkRows)),
             idx(1), idx(Wg::kThreads), i32(Wg::sharedBytes(nc)),
             [&](gpu::LaunchOp l) {
               Value tid = l.getThreadIds().x;
               Wg w(b, tid);
               Value t0 = mul(l.getBlockIds().x, Wg::kRows);
               Value n0 = mul(l.getBlockIds().y, nc * Wg::kChunkRows);
               SmallVector<Value> aRows;
               for (int64_t i = 0; i < Wg::kRowsPerThread; ++i)
                 aRows.push_back(add(t0, w.copyRow(i)));
               SmallVector<Wg::Chunk> chunks;
               for (int64_t m = 0; m < nc; ++m)
                 chunks.push_back(
                     Wg::Chunk{wt, Value(), add(n0, m * Wg::kChunkRows)});
               SmallVector<Value> sums =
                   w.product(g[0], aRows, chunks, padded, Value());
               forEachPair(w, [&](int64_t i, Value row, Value col) {
                 Value t = add(t0, row);
                 for (int64_t m = 0; m < nc; ++m)
                   accumulate(reg(sums[m], i), reg(sums[m], i + 1), t,
                              add(add(n0, m * Wg::kChunkRows), col));
               });
             });
      return;
    }
    // Split g: A = W^T rows (N), B = g hi and lo rows: the tile is [n, t].
    launch(idx(width / Wg::kRows), ceilDiv(tokens, Wg::kChunkRows), idx(1),
           idx(Wg::kThreads), i32(Wg::sharedBytes(2)), [&](gpu::LaunchOp l) {
             Value tid = l.getThreadIds().x;
             Wg w(b, tid);
             Value n0 = mul(l.getBlockIds().x, Wg::kRows);
             Value t0 = mul(l.getBlockIds().y, Wg::kChunkRows);
             SmallVector<Value> aRows;
             for (int64_t i = 0; i < Wg::kRowsPerThread; ++i)
               aRows.push_back(add(n0, w.copyRow(i)));
             SmallVector<Value> sums = w.product(
                 wt, aRows,
                 {Wg::Chunk{g[0], Value(), t0}, Wg::Chunk{g[1], Value(), t0}},
                 padded, Value());
             forEachPair(w, [&](int64_t i, Value row, Value col) {
               Value n = add(n0, row);
               for (int64_t e = 0; e < 2; ++e) {
                 Value t = add(add(t0, col), e);
                 Value x = fadd(reg(sums[0], i + e), reg(sums[1], i + e));
                 if (!first)
                   x = fadd(x, load(acc, {t, n}));
                 store(x, acc, {t, n});
               }
             });
           });
  }

  /// Both gradients (where wanted) on wgmma; returns the result buffers
  /// (null where not wanted).
  std::pair<Value, Value> backwardWgmma(Value lse, Value coef, Type dHiddenType,
                                        Type dHeadType) {
    using Wg = WgmmaTiles;
    Type bf = b.getBF16Type();
    int64_t dyn = ShapedType::kDynamic;
    int64_t planes = bf16Head ? 1 : 2;
    int64_t passRows = std::min(kGradRows, roundUp(vocab, Wg::kChunkRows));
    // Rows of the token-sized buffers: T + 127 covers T rounded up to 128
    // (the plan's sizes are linear in T).
    Value tp = add(tokens, Wg::kRows - 1);
    SmallVector<Value> temps, g, gt;
    auto alloc = [&](ArrayRef<int64_t> shape, Type elt, ValueRange dims) {
      Value m = memref::AllocOp::create(b, MemRefType::get(shape, elt), dims);
      temps.push_back(m);
      return m;
    };
    Value ht, wt, acc, dHiddenOut, dHeadOut;
    if (dHiddenType) {
      for (int64_t k = 0; k < planes; ++k)
        g.push_back(alloc({dyn, passRows}, bf, tp));
      wt = alloc({width, passRows}, bf, {});
      acc = alloc({dyn, width}, b.getF32Type(), tp);
    }
    if (dHeadType) {
      ht = alloc({dyn}, bf, mul(tp, width));
      transpose(hidden, tokens, 0, ht, ceilDiv(tokens, kTransposeTile));
      for (int64_t k = 0; k < planes; ++k)
        gt.push_back(alloc({dyn}, bf, mul(tp, passRows)));
      auto type = cast<RankedTensorType>(dHeadType);
      dHeadOut = memref::AllocOp::create(
          b, MemRefType::get(type.getShape(), type.getElementType()));
    }
    for (int64_t v0 = 0; v0 < vocab; v0 += kGradRows) {
      int64_t padded = roundUp(std::min(kGradRows, vocab - v0), Wg::kRows);
      if (dHiddenType)
        transpose(head, idx(vocab), v0, wt, idx(padded / kTransposeTile));
      gradPlanes(lse, coef, v0, padded, g, gt, passRows);
      if (dHeadType)
        headTiles(v0, padded, gt, passRows, ht, dHeadOut);
      if (dHiddenType)
        hiddenTiles(padded, v0 == 0, g, wt, acc);
    }
    if (dHiddenType) {
      auto type = cast<RankedTensorType>(dHiddenType);
      SmallVector<Value> dims;
      if (type.isDynamicDim(0))
        dims.push_back(tokens);
      dHiddenOut = memref::AllocOp::create(
          b, MemRefType::get(type.getShape(), type.getElementType()), dims);
      convertRows(acc, dHiddenOut, tokens);
    }
    for (Value m : temps)
      memref::DeallocOp::create(b, m);
    return {dHiddenOut, dHeadOut};
  }

  //===--------------------------------------------------------------------===//
  // Token chunks
  //===--------------------------------------------------------------------===//
  //
  // With token-chunk = Tc (bf16 head, wgmma-grads) the logits are computed
  // once: per chunk of Tc tokens (unrolled up to max-tokens, chunk k under a
  // token guard of T > k Tc):
  //
  //   partials   the forward's wgmma kernel over the chunk's tokens (the
  //              same blocks and arithmetic, so logp_new is unchanged),
  //              also storing e = bf16(exp(z - m)) [Tc, Vp] (rows of
  //              Vp + 8: a spare column for the masked ones) and the
  //              thread's running max m per 128-row tile and quad lane
  //   lse, coef  the chunk's log-probs; the weights kernel with the later
  //              chunks' log-probs taken as 0 (their coefficients unused)
  //   g          g = coef (1[v = y] - e exp(m - lse)) as bf16 over e in
  //              place, and g^T [Vp, Tc] through shared memory
  //   d_lm_head  += g^T h (K = Tc, over the chunk's h^T [N, Tc]) into the
  //              result itself: stored by chunk 0, then read, added in f32
  //              and rounded to its type once per chunk
  //   d_hidden   rows of the chunk = g W: per pass of kChunkPassRows
  //              vocabulary rows W^T [N, rows] and an f32 [Tc, N]
  //              accumulator, converted into the result's rows
  //
  // and the weights kernel once more over every token for the loss.

  /// The g planes of a chunk from its exponentials: g over `cs.e` in place
  /// and g^T into `gt` ([Vp, Tc]) where given; 0 past T and V.
  void chunkGrads(const ChunkStore &cs, Value lse, Value coef, Value gt,
                  int64_t vp) {
    constexpr int64_t kTile = kTransposeTile, kPitch = kTile + 2;
    constexpr int64_t kRowsPerPass = kThreads / kTile;
    using Wg = WgmmaTiles;
    launch(idx(tokenChunk / kTile), idx(vp / kTile), idx(1), idx(kThreads),
           i32(kTile * kPitch * 2), [&](gpu::LaunchOp l) {
             Value tid = l.getThreadIds().x;
             Value l0 = mul(l.getBlockIds().x, kTile);
             Value p0 = mul(l.getBlockIds().y, kTile);
             Value tile =
                 view(sharedBytes(), 0, {kTile, kPitch}, b.getBF16Type());
             Value x = rem(tid, kTile), y = div(tid, kTile);
             Value v = add(p0, x);
             Value vIn = ult(v, idx(vocab));
             // The scale of column v: its tile (the forward's last tile
             // starts at V - 128) and the quad lane that held it.
             Value vc = minU(v, idx(vocab - 1));
             Value tileOf = div(vc, Wg::kChunkRows);
             Value row0 =
                 minU(mul(tileOf, Wg::kChunkRows), idx(vocab - Wg::kChunkRows));
             Value q = div(rem(sub(vc, row0), 8), 2);
             Value sCol = add(mul(tileOf, 4), q);
             for (int64_t i = 0; i < kTile; i += kRowsPerPass) {
               Value j = add(y, i);
               Value tl = add(l0, j);
               Value t = add(tl, cs.c0);
               Value row = minU(t, last(tokens));
               Value e = arith::ExtFOp::create(b, b.getF32Type(),
                                               load(cs.e, {tl, v}));
               Value m = load(cs.scale, {tl, sCol});
               Value target = toIndex(load(targets, {row}));
               Value c = load(coef, {row}), ls = load(lse, {row});
               Value onehot = select(eq(v, target), f32(1), f32(0));
               Value g = fmul(c, fsub(onehot, fmul(e, exp(fsub(m, ls)))));
               g = select(andI(ult(t, tokens), vIn), g, f32(0));
               Value gb = arith::TruncFOp::create(b, b.getBF16Type(), g);
               store(gb, cs.e, {tl, v});
               if (gt)
                 store(gb, tile, {j, x});
             }
             if (!gt)
               return;
             gpu::BarrierOp::create(b);
             for (int64_t i = 0; i < kTile; i += kRowsPerPass) {
               Value c = add(y, i);
               store(load(tile, {x, c}), gt, {add(p0, c), add(l0, x)});
             }
           });
  }

  /// One chunk's d_lm_head product: blocks of 128 vocabulary rows (grid y,
  /// from p0) by nc x 128 hidden columns (grid x, from n0); product(w, p0,
  /// n0, nc) returns a block's accumulators, which the first chunk stores to
  /// `out` and later ones add to it, at the rows below V (one rounding to its
  /// type per chunk).
  void headChunkLaunch(
      Value out, int64_t vp, bool first,
      function_ref<SmallVector<Value>(WgmmaTiles &, Value, Value, int64_t)>
          product) {
    using Wg = WgmmaTiles;
    int64_t nc = width % (2 * Wg::kChunkRows) == 0 ? 2 : 1;
    Type elt = elementOf(out);
    launch(idx(width / (nc * Wg::kChunkRows)), idx(vp / Wg::kRows), idx(1),
           idx(Wg::kThreads), i32(Wg::sharedBytes(nc)), [&](gpu::LaunchOp l) {
             Value tid = l.getThreadIds().x;
             Wg w(b, tid);
             Value p0 = mul(l.getBlockIds().y, Wg::kRows);
             Value n0 = mul(l.getBlockIds().x, nc * Wg::kChunkRows);
             SmallVector<Value> acc = product(w, p0, n0, nc);
             forEachPair(w, [&](int64_t i, Value row, Value col) {
               Value v = add(p0, row);
               ifThen(ult(v, idx(vocab)), [&] {
                 for (int64_t m = 0; m < nc; ++m) {
                   Value n = add(add(n0, m * Wg::kChunkRows), col);
                   Value x = reg(acc[m], i), y = reg(acc[m], i + 1);
                   if (!first) {
                     Value old = vector::LoadOp::create(
                         b, VectorType::get({2}, elt), out, ValueRange{v, n},
                         false, llvm::MaybeAlign(elt.isBF16() ? 4 : 8));
                     if (!elt.isF32())
                       old = arith::ExtFOp::create(
                           b, VectorType::get({2}, b.getF32Type()), old);
                     x = fadd(x, vector::ExtractOp::create(b, old, 0));
                     y = fadd(y, vector::ExtractOp::create(b, old, 1));
                   }
                   storePair(x, y, out, v, n);
                 }
               });
             });
           });
  }

  /// d_lm_head (+)= g^T h of one chunk: A = g^T rows, B = the chunk's h^T
  /// rows, K = Tc.
  void headChunk(Value gt, Value ht, Value out, int64_t vp, bool first) {
    using Wg = WgmmaTiles;
    headChunkLaunch(out, vp, first, [&](Wg &w, Value p0, Value n0, int64_t nc) {
      SmallVector<Value> aRows;
      for (int64_t i = 0; i < Wg::kRowsPerThread; ++i)
        aRows.push_back(add(p0, w.copyRow(i)));
      SmallVector<Wg::Chunk> chunks;
      for (int64_t m = 0; m < nc; ++m)
        chunks.push_back(Wg::Chunk{ht, Value(), add(n0, m * Wg::kChunkRows)});
      return w.product(gt, aRows, chunks, tokenChunk, Value());
    });
  }

  /// B chunks of 128 columns per d_hidden tile of a chunk: tiles of 128 x
  /// 256 (one block an SM) unless 128 x 128 fill the SMs' waves better: a
  /// chunk has few row tiles (8 at Tc = 1024, N = 6144: 192 blocks of 128 x
  /// 256 are 1.45 waves on 132 SMs, 384 of 128 x 128 are 2.9), counting a
  /// 128 x 128 tile 10% slower per product.
  int64_t hiddenChunks() {
    using Wg = WgmmaTiles;
    auto waveUse = [](int64_t blocks) {
      return static_cast<double>(blocks) /
             static_cast<double>((blocks + kSms - 1) / kSms * kSms);
    };
    int64_t rowTiles = tokenChunk / Wg::kRows;
    if (width % (2 * Wg::kChunkRows) == 0 &&
        waveUse(rowTiles * width / (2 * Wg::kChunkRows)) >=
            0.9 * waveUse(rowTiles * width / Wg::kChunkRows))
      return 2;
    return 1;
  }

  /// acc [Tc, N] f32 (=, for the first pass, else +=) g W over the
  /// vocabulary rows v0 .. v0 + padded: A = g rows from column v0, B = the
  /// pass's W^T rows.
  void hiddenChunk(Value g, int64_t v0, int64_t padded, Value wt, Value acc,
                   bool first) {
    using Wg = WgmmaTiles;
    int64_t nc = hiddenChunks();
    launch(idx(tokenChunk / Wg::kRows), idx(width / (nc * Wg::kChunkRows)),
           idx(1), idx(Wg::kThreads), i32(Wg::sharedBytes(nc)),
           [&](gpu::LaunchOp l) {
             Value tid = l.getThreadIds().x;
             Wg w(b, tid);
             w.aCol0 = idx(v0);
             Value t0 = mul(l.getBlockIds().x, Wg::kRows);
             Value n0 = mul(l.getBlockIds().y, nc * Wg::kChunkRows);
             SmallVector<Value> aRows;
             for (int64_t i = 0; i < Wg::kRowsPerThread; ++i)
               aRows.push_back(add(t0, w.copyRow(i)));
             SmallVector<Wg::Chunk> chunks;
             for (int64_t m = 0; m < nc; ++m)
               chunks.push_back(
                   Wg::Chunk{wt, Value(), add(n0, m * Wg::kChunkRows)});
             SmallVector<Value> sums =
                 w.product(g, aRows, chunks, padded, Value());
             forEachPair(w, [&](int64_t i, Value row, Value col) {
               Value t = add(t0, row);
               for (int64_t m = 0; m < nc; ++m) {
                 Value n = add(add(n0, m * Wg::kChunkRows), col);
                 Value x = reg(sums[m], i), y = reg(sums[m], i + 1);
                 if (!first) {
                   Value old = vector::LoadOp::create(
                       b, VectorType::get({2}, b.getF32Type()), acc,
                       ValueRange{t, n}, false, llvm::MaybeAlign(8));
                   x = fadd(x, vector::ExtractOp::create(b, old, 0));
                   y = fadd(y, vector::ExtractOp::create(b, old, 1));
                 }
                 storePair(x, y, acc, t, n);
               }
             });
           });
  }

  /// d_lm_head (+)= g^T h of one chunk from g and h as stored: A = g read
  /// MN-major (tile rows are vocabulary rows, K the chunk's tokens), B = h
  /// read MN-major from the chunk's first token (rows past T read row T -
  /// 1; g is 0 there).
  void headChunkMn(Value g, Value out, int64_t vp, int64_t c0, bool first) {
    using Wg = WgmmaTiles;
    headChunkLaunch(out, vp, first, [&](Wg &w, Value p0, Value n0, int64_t nc) {
      w.aMnMajor = true;
      w.aMnCol0 = p0;
      w.aKRow0 = idx(0);
      w.aKLimit = Value();
      SmallVector<Wg::Chunk> chunks;
      for (int64_t m = 0; m < nc; ++m) {
        Wg::Chunk c{hidden, Value(), add(n0, m * Wg::kChunkRows), tokens};
        c.mnMajor = true;
        c.kRow0 = idx(c0);
        chunks.push_back(c);
      }
      return w.product(g, {}, chunks, tokenChunk, Value());
    });
  }

  /// The chunk's d_hidden rows = g W in one product over the whole
  /// vocabulary (K = Vp), W read MN-major as stored (rows past V read row
  /// V - 1; g is 0 there), written to the result's rows below T.
  void hiddenChunkMn(Value g, int64_t vp, Value out, int64_t c0) {
    using Wg = WgmmaTiles;
    int64_t nc = hiddenChunks();
    launch(
        idx(tokenChunk / Wg::kRows), idx(width / (nc * Wg::kChunkRows)), idx(1),
        idx(Wg::kThreads), i32(Wg::sharedBytes(nc)), [&](gpu::LaunchOp l) {
          Value tid = l.getThreadIds().x;
          Wg w(b, tid);
          Value t0 = mul(l.getBlockIds().x, Wg::kRows);
          Value n0 = mul(l.getBlockIds().y, nc * Wg::kChunkRows);
          SmallVector<Value> aRows;
          for (int64_t i = 0; i < Wg::kRowsPerThread; ++i)
            aRows.push_back(add(t0, w.copyRow(i)));
          SmallVector<Wg::Chunk> chunks;
          for (int64_t m = 0; m < nc; ++m) {
            Wg::Chunk c{head, Value(), add(n0, m * Wg::kChunkRows), idx(vocab)};
            c.mnMajor = true;
            c.kRow0 = idx(0);
            chunks.push_back(c);
          }
          SmallVector<Value> sums = w.product(g, aRows, chunks, vp, Value());
          forEachPair(w, [&](int64_t i, Value row, Value col) {
            Value t = add(add(t0, row), c0);
            ifThen(ult(t, tokens), [&] {
              for (int64_t m = 0; m < nc; ++m)
                storePair(reg(sums[m], i), reg(sums[m], i + 1), out, t,
                          add(add(n0, m * Wg::kChunkRows), col));
            });
          });
        });
  }

  /// out[c0 + r, :] = acc[r, :] for the chunk's rows below T.
  void convertChunk(Value acc, Value out, int64_t c0) {
    Type elt = elementOf(out);
    rowLaunch(idx(tokenChunk), [&](Value row, Value tid) {
      Value t = add(row, c0);
      ifThen(ult(t, tokens), [&] {
        stridedLoop(tid, idx(width), kThreads, [&](Value c) {
          Value x = load(acc, {row, c});
          if (!elt.isF32())
            x = arith::TruncFOp::create(b, elt, x);
          store(x, out, {t, c});
        });
      });
    });
  }

  /// The loss with the token-chunked backward; fills `results` with the
  /// wanted ones.
  void lowerChunked(CispoLossOp op, bool wantLogp, bool wantLoss,
                    bool wantDHidden, bool wantDHead,
                    SmallVector<std::pair<Value, Value>> &results) {
    using Wg = WgmmaTiles;
    Type f32Type = b.getF32Type(), bf = b.getBF16Type();
    int64_t tc = tokenChunk;
    int64_t vp = roundUp(vocab, Wg::kChunkRows);
    int64_t passRows = std::min(kChunkPassRows, vp);
    auto row = MemRefType::get({ShapedType::kDynamic}, f32Type);
    auto part = MemRefType::get({vocabChunks(), ShapedType::kDynamic}, f32Type);
    SmallVector<Value> temps;
    auto temp = [&](MemRefType type, ValueRange dims) {
      Value m = memref::AllocOp::create(b, type, dims);
      temps.push_back(m);
      return m;
    };
    Value partM = temp(part, tokens), partS = temp(part, tokens);
    Value zy = temp(row, tokens), lse = temp(row, tokens);
    Value coef = temp(row, tokens);
    auto logpType = cast<RankedTensorType>(op.getLogpNew().getType());
    SmallVector<Value> dyn;
    if (logpType.isDynamicDim(0))
      dyn.push_back(tokens);
    Value logp = memref::AllocOp::create(
        b, MemRefType::get(logpType.getShape(), f32Type), dyn);
    Value loss = memref::AllocOp::create(b, MemRefType::get({}, f32Type));
    ChunkStore cs;
    cs.e = temp(MemRefType::get({tc, vp + 8}, bf), {});
    cs.spareColumn = vp;
    cs.scale =
        temp(MemRefType::get({tc, vp / Wg::kChunkRows * 4}, f32Type), {});
    Value gt, ht, wt, acc, dHeadOut, dHiddenOut;
    if (wantDHead && !mnMajor) {
      gt = temp(MemRefType::get({vp, tc}, bf), {});
      ht = temp(MemRefType::get({width, tc}, bf), {});
    }
    if (wantDHead) {
      auto type = cast<RankedTensorType>(op.getDLmHead().getType());
      dHeadOut = memref::AllocOp::create(
          b, MemRefType::get(type.getShape(), type.getElementType()));
    }
    if (wantDHidden && !mnMajor) {
      wt = temp(MemRefType::get({width, passRows}, bf), {});
      acc = temp(MemRefType::get({tc, width}, f32Type), {});
    }
    if (wantDHidden) {
      auto type = cast<RankedTensorType>(op.getDHidden().getType());
      SmallVector<Value> dims;
      if (type.isDynamicDim(0))
        dims.push_back(tokens);
      dHiddenOut = memref::AllocOp::create(
          b, MemRefType::get(type.getShape(), type.getElementType()), dims);
    }
    Value logpOld = toBuffer(op.getLogpOld());
    Value advantages = toBuffer(op.getAdvantages());
    Value mask = toBuffer(op.getMask());
    int64_t chunks = (maxTokens + tc - 1) / tc;
    for (int64_t k = 0; k < chunks; ++k) {
      int64_t c0 = k * tc;
      OpBuilder::InsertionGuard guard(b);
      if (k > 0) {
        auto inRange = TokenGuardOp::create(b, b.getI64IntegerAttr(c0 + 1),
                                            b.getI64IntegerAttr(-1));
        b.setInsertionPointToStart(&inRange.getBody().emplaceBlock());
      }
      cs.c0 = c0;
      partialsWgmma(partM, partS, zy, &cs);
      finishForward(partM, partS, zy, logp, lse, c0);
      weights(op, logp, logpOld, advantages, mask, loss, coef, c0 + tc);
      chunkGrads(cs, lse, coef, gt, vp);
      if (mnMajor) {
        if (wantDHead)
          headChunkMn(cs.e, dHeadOut, vp, c0, k == 0);
        if (wantDHidden)
          hiddenChunkMn(cs.e, vp, dHiddenOut, c0);
        continue;
      }
      if (wantDHead) {
        transpose(hidden, tokens, c0, ht, idx(tc / kTransposeTile));
        headChunk(gt, ht, dHeadOut, vp, k == 0);
      }
      if (wantDHidden) {
        for (int64_t v0 = 0; v0 < vocab; v0 += passRows) {
          int64_t padded = roundUp(std::min(passRows, vocab - v0), Wg::kRows);
          transpose(head, idx(vocab), v0, wt, idx(padded / kTransposeTile));
          hiddenChunk(cs.e, v0, padded, wt, acc, v0 == 0);
        }
        convertChunk(acc, dHiddenOut, c0);
      }
    }
    // The loss over every token (the chunks' calls saw only their own).
    weights(op, logp, logpOld, advantages, mask, loss, coef);
    for (Value m : temps)
      memref::DeallocOp::create(b, m);
    if (wantLogp)
      results.push_back({op.getLogpNew(), logp});
    if (wantLoss)
      results.push_back({op.getLoss(), loss});
    if (dHiddenOut)
      results.push_back({op.getDHidden(), dHiddenOut});
    if (dHeadOut)
      results.push_back({op.getDLmHead(), dHeadOut});
  }

  //===--------------------------------------------------------------------===//
  // Ops
  //===--------------------------------------------------------------------===//

  void setUp(Operation *op, Value hiddenTensor, Value headTensor,
             Value targetsTensor, StringRef precision, StringRef role) {
    bf16Head = precision == "bf16";
    hidden = toBuffer(hiddenTensor);
    head = toBuffer(headTensor);
    targets = toBuffer(targetsTensor);
    tokens = memref::DimOp::create(b, hidden, 0);
    auto headType = cast<RankedTensorType>(headTensor.getType());
    vocab = headType.getDimSize(0);
    width = headType.getDimSize(1);
    check = createRunCheckSlot(b, b.getLoc(), op->getName().getStringRef(),
                               runCheckTensorName(targetsTensor), role);
  }

  /// The forward kernels into fresh buffers: logp of `logpType`, and the
  /// log-sum-exp when `wantLse`.
  std::pair<Value, Value> forward(Type logpType, bool wantLse) {
    Type f32Type = b.getF32Type();
    auto row = MemRefType::get({ShapedType::kDynamic}, f32Type);
    auto part = MemRefType::get({vocabChunks(), ShapedType::kDynamic}, f32Type);
    Value partM = memref::AllocOp::create(b, part, ValueRange{tokens});
    Value partS = memref::AllocOp::create(b, part, ValueRange{tokens});
    Value zy = memref::AllocOp::create(b, row, ValueRange{tokens});
    if (wgmma)
      partialsWgmma(partM, partS, zy);
    else
      partials(partM, partS, zy);
    auto logpType2 = cast<RankedTensorType>(logpType);
    SmallVector<Value> dyn;
    if (logpType2.isDynamicDim(0))
      dyn.push_back(tokens);
    Value logp = memref::AllocOp::create(
        b, MemRefType::get(logpType2.getShape(), f32Type), dyn);
    Value lse = wantLse
                    ? Value(memref::AllocOp::create(b, row, ValueRange{tokens}))
                    : Value();
    finishForward(partM, partS, zy, logp, lse);
    for (Value v : {partM, partS, zy})
      memref::DeallocOp::create(b, v);
    return {logp, lse};
  }

  void replaceWithBuffer(Value result, Value buffer) {
    Value tensor = bufferization::ToTensorOp::create(
        b, result.getType(), buffer, /*restrict=*/true, /*writable=*/true);
    result.replaceAllUsesWith(tensor);
  }

  void lower(TokenLogprobsOp op) {
    setUp(op, op.getHidden(), op.getLmHead(), op.getTokens(), op.getPrecision(),
          "token");
    auto [logp, lse] = forward(op.getResult().getType(), false);
    replaceWithBuffer(op.getResult(), logp);
    op.erase();
  }

  void lower(CispoLossOp op) {
    bool wantLogp = !op.getLogpNew().use_empty();
    bool wantLoss = !op.getLoss().use_empty();
    bool wantDHidden = !op.getDHidden().use_empty();
    bool wantDHead = !op.getDLmHead().use_empty();
    setUp(op, op.getHidden(), op.getLmHead(), op.getTargets(),
          op.getPrecision(), "target");
    bool wantGrads = wantDHidden || wantDHead;
    SmallVector<std::pair<Value, Value>> results;
    if (tokenChunk > 0 && wantGrads) {
      lowerChunked(op, wantLogp, wantLoss, wantDHidden, wantDHead, results);
      for (auto [result, buffer] : results)
        replaceWithBuffer(result, buffer);
      op.erase();
      return;
    }
    auto [logp, lse] = forward(op.getLogpNew().getType(), wantGrads);
    if (wantLogp)
      results.push_back({op.getLogpNew(), logp});
    if (wantLoss || wantGrads) {
      Type f32Type = b.getF32Type();
      Value loss = memref::AllocOp::create(b, MemRefType::get({}, f32Type));
      Value coef = memref::AllocOp::create(
          b, MemRefType::get({ShapedType::kDynamic}, f32Type),
          ValueRange{tokens});
      weights(op, logp, toBuffer(op.getLogpOld()), toBuffer(op.getAdvantages()),
              toBuffer(op.getMask()), loss, coef);
      if (wantLoss)
        results.push_back({op.getLoss(), loss});
      if (wgmmaGrads && wantGrads) {
        auto [dh, dw] = backwardWgmma(
            lse, coef, wantDHidden ? op.getDHidden().getType() : Type(),
            wantDHead ? op.getDLmHead().getType() : Type());
        if (dh)
          results.push_back({op.getDHidden(), dh});
        if (dw)
          results.push_back({op.getDLmHead(), dw});
      } else {
        if (wantDHidden)
          results.push_back(
              {op.getDHidden(),
               gradient(op.getDHidden().getType(), tokens,
                        [&](Value acc) { dHidden(lse, coef, acc); })});
        if (wantDHead)
          results.push_back(
              {op.getDLmHead(),
               gradient(op.getDLmHead().getType(), idx(vocab),
                        [&](Value acc) { dHead(lse, coef, acc); })});
      }
    }
    for (auto [result, buffer] : results)
      replaceWithBuffer(result, buffer);
    op.erase();
  }
};

struct HymirCispoLossToGpuPass
    : hymir::impl::HymirCispoLossToGpuBase<HymirCispoLossToGpuPass> {
  using Base::Base;

  /// Why the kernels do not cover `op`'s shapes, or "" when they do.
  static std::string uncovered(Value head) {
    auto type = cast<RankedTensorType>(head.getType());
    if (type.isDynamicDim(0) || type.isDynamicDim(1))
      return "the lm_head's shape must be static";
    if (type.getDimSize(1) % 16 != 0)
      return "the hidden size must be a multiple of 16";
    if (type.getDimSize(0) < 1)
      return "the vocabulary must not be empty";
    return "";
  }

  void runOnOperation() override {
    if (mTiles != 1 && mTiles != 2 && mTiles != 4) {
      getOperation().emitError()
          << "hymir-cispo-loss-to-gpu: m-tiles must be 1, 2 or 4, got "
          << mTiles;
      return signalPassFailure();
    }
    if (nTiles != 2 && nTiles != 4 && nTiles != 8 && nTiles != 16) {
      getOperation().emitError()
          << "hymir-cispo-loss-to-gpu: n-tiles must be 2, 4, 8 or 16, got "
          << nTiles;
      return signalPassFailure();
    }
    if (tokenChunk < 0 || tokenChunk % WgmmaTiles::kRows != 0) {
      getOperation().emitError()
          << "hymir-cispo-loss-to-gpu: token-chunk must be 0 (off) or a "
             "positive multiple of 128, got "
          << static_cast<int64_t>(tokenChunk);
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<CispoLossOp, TokenLogprobsOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      bool unused =
          llvm::all_of(op->getResults(), [](Value v) { return v.use_empty(); });
      if (unused) {
        op->erase();
        continue;
      }
      Value head = isa<CispoLossOp>(op) ? cast<CispoLossOp>(op).getLmHead()
                                        : cast<TokenLogprobsOp>(op).getLmHead();
      if (std::string why = uncovered(head); !why.empty()) {
        op->emitError() << "hymir-cispo-loss-to-gpu: " << why
                        << " for the cuda kernels, got " << head.getType();
        return signalPassFailure();
      }
      ImplicitLocOpBuilder b(op->getLoc(), op);
      CispoGpuBuilder builder(b);
      builder.mTiles = mTiles;
      builder.nTiles = nTiles;
      // wgmma tiles: bf16 operands (exact in either precision), whole
      // 64-column K stages, at least one 128-row head tile.
      auto headType = cast<RankedTensorType>(head.getType());
      Value hiddenValue = isa<CispoLossOp>(op)
                              ? cast<CispoLossOp>(op).getHidden()
                              : cast<TokenLogprobsOp>(op).getHidden();
      builder.wgmma = wgmma && headType.getElementType().isBF16() &&
                      cast<RankedTensorType>(hiddenValue.getType())
                          .getElementType()
                          .isBF16() &&
                      headType.getDimSize(1) % WgmmaTiles::kK == 0 &&
                      headType.getDimSize(0) >= WgmmaTiles::kChunkRows;
      builder.wgmmaGrads = builder.wgmma && wgmmaGrads &&
                           headType.getDimSize(1) % WgmmaTiles::kChunkRows == 0;
      // The token-chunked backward: the bf16 head on the wgmma backward,
      // chunks unrolled up to the static token count or max-tokens.
      auto loss = dyn_cast<CispoLossOp>(op);
      if (loss && tokenChunk > 0 && builder.wgmmaGrads &&
          loss.getPrecision() == "bf16") {
        int64_t staticTokens =
            cast<RankedTensorType>(hiddenValue.getType()).getDimSize(0);
        int64_t bound =
            ShapedType::isDynamic(staticTokens) ? maxTokens : staticTokens;
        if (bound < 1) {
          op->emitError() << "hymir-cispo-loss-to-gpu: token-chunk needs "
                             "max-tokens (the most tokens of a call) for a "
                             "dynamic token count";
          return signalPassFailure();
        }
        // No chunk larger than the most tokens of a call (in 128s).
        int64_t rows = WgmmaTiles::kRows;
        builder.tokenChunk =
            std::min<int64_t>(tokenChunk, (bound + rows - 1) / rows * rows);
        builder.maxTokens = bound;
        builder.mnMajor = mnMajor;
      }
      if (auto loss = dyn_cast<CispoLossOp>(op))
        builder.lower(loss);
      else
        builder.lower(cast<TokenLogprobsOp>(op));
    }
  }
};

} // namespace
