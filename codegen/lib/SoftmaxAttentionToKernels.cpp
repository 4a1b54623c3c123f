//===- SoftmaxAttentionToKernels.cpp - flash attention kernels ------------===//
//
// The pass hymir-softmax-attention-to-kernels (see Passes.td): each
// hymir.softmax_attention becomes kernels over buffers that run the tiled
// online-softmax algorithm, one query row at a time:
//
//   for each tile of visible keys:
//     x_j  = scale * q . k_j                 (f32)
//     m'   = max(m, max_j x_j)
//     acc  = acc * exp(m - m') + sum_j exp(x_j - m') v_j
//     l    = l * exp(m - m') + sum_j exp(x_j - m')
//   out  = acc / l                            (zeros without visible keys)
//
// The portable form (cpu, and shapes the warp kernels do not cover) is an
// scf.forall over rows; the cuda form is warp kernels with key splits and a
// combine kernel for short query counts.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Codegen/Target.h"
#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/RunChecks.h"

#include "AttentionKernels.h"
#include "GpuBuilder.h"
#include "MmaFragments.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <limits>
#include <numeric>

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRSOFTMAXATTENTIONTOKERNELS
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// Keys per tile of the portable form.
constexpr int64_t kPortableTile = 32;
/// Keys in flight per warp in the warp kernels.
constexpr int64_t kKeysInFlight = 4;
/// Query counts up to this take the split kernels.
constexpr int64_t kSplitQueries = 16;
/// Blocks the split kernels aim for: about one per SM of an H100 or H200.
/// Measured on an H200 (2026-12-03, decode of 64/8 heads, D 128, every
/// split count timed in one call): one wave beats four, whose last partial
/// wave and larger combine cost 5-20% (B 1: 16 splits 19.1 / 77.2 us at
/// S 8192 / 65536 against 22.0 / 92.7 with 32 / 64; B 16: 1 split 135.2 /
/// 993.7 us against 152.3 / 1051.8 with 4; B 64 within 1-2% either way).
constexpr int64_t kFillBlocks = 128;
/// The fewest keys a split gets when the count is automatic.
constexpr int64_t kMinSplitKeys = 256;
/// Rows per block of the combine kernel (one warp each).
constexpr int64_t kCombineRows = 4;

/// The portable form and the kernels' shared builders.
struct AttentionBuilder : AttentionCommon {
  using AttentionCommon::AttentionCommon;

  //===--------------------------------------------------------------------===//
  // The portable form: one row per iteration of an scf.forall.
  //===--------------------------------------------------------------------===//

  void portable() {
    auto forall = scf::ForallOp::create(
        b, getAsOpFoldResult(ValueRange{a.batch, a.queries, a.heads}),
        ValueRange{}, std::nullopt);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    Value bi = forall.getInductionVar(0), ti = forall.getInductionVar(1),
          gi = forall.getInductionVar(2);
    portableRow(bi, ti, gi);
  }

  void portableRow(Value bi, Value ti, Value gi) {
    checkLength(bi, allOf({isZero(ti), isZero(gi)}));
    Type f32Type = b.getF32Type();
    Type elt = cast<MemRefType>(a.q.getType()).getElementType();
    Value kvh = arith::DivUIOp::create(
        b, gi, arith::DivUIOp::create(b, a.heads, a.kvHeads));
    Value visible = visibleKeys(bi, ti);
    // Scratch: the accumulator row and one tile of scores (kernel-local
    // after hymir-map-forall-to-grid).
    Value acc = memref::AllocOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, f32Type), ValueRange{a.dim});
    Value scores =
        memref::AllocOp::create(b, MemRefType::get({kPortableTile}, f32Type));
    Value zero = f32(0);
    forLoop(idx(0), a.dim, idx(1), {}, [&](Value d, ValueRange) {
      memref::StoreOp::create(b, zero, acc, ValueRange{d});
      return SmallVector<Value>{};
    });
    Value scale = f32(a.scale);
    auto tiles = forLoop(
        idx(0), visible, idx(kPortableTile), {negInf(), zero},
        [&](Value s0, ValueRange carried) {
          Value m = carried[0], l = carried[1];
          Value n = minS(idx(kPortableTile), sub(visible, s0));
          // Scores of the tile and their maximum.
          Value tileMax = forLoop(
              idx(0), n, idx(1), {negInf()}, [&](Value j, ValueRange mx) {
                Value s = add(s0, j);
                Value dot =
                    forLoop(idx(0), a.dim, idx(1), {zero},
                            [&](Value d, ValueRange sum) {
                              Value qx = toF32(memref::LoadOp::create(
                                  b, a.q, ValueRange{bi, ti, gi, d}));
                              Value kx = toF32(memref::LoadOp::create(
                                  b, a.k, ValueRange{bi, s, kvh, d}));
                              return SmallVector<Value>{fma(qx, kx, sum[0])};
                            })[0];
                Value x = fmul(dot, scale);
                memref::StoreOp::create(b, x, scores, ValueRange{j});
                return SmallVector<Value>{fmax(mx[0], x)};
              })[0];
          Value mNew = fmax(m, tileMax);
          Value corr = math::ExpOp::create(b, fsub(m, mNew));
          forLoop(idx(0), a.dim, idx(1), {}, [&](Value d, ValueRange) {
            Value x = memref::LoadOp::create(b, acc, ValueRange{d});
            memref::StoreOp::create(b, fmul(x, corr), acc, ValueRange{d});
            return SmallVector<Value>{};
          });
          Value tileSum =
              forLoop(idx(0), n, idx(1), {zero}, [&](Value j, ValueRange sum) {
                Value x = memref::LoadOp::create(b, scores, ValueRange{j});
                Value p = math::ExpOp::create(b, fsub(x, mNew));
                Value s = add(s0, j);
                forLoop(idx(0), a.dim, idx(1), {}, [&](Value d, ValueRange) {
                  Value vx = toF32(memref::LoadOp::create(
                      b, a.v, ValueRange{bi, s, kvh, d}));
                  Value old = memref::LoadOp::create(b, acc, ValueRange{d});
                  memref::StoreOp::create(b, fma(p, vx, old), acc,
                                          ValueRange{d});
                  return SmallVector<Value>{};
                });
                return SmallVector<Value>{fadd(sum[0], p)};
              })[0];
          return SmallVector<Value>{mNew, fma(l, corr, tileSum)};
        });
    // Zeros for a row without visible keys (l = 0).
    Value l = tiles[1];
    Value hasKeys =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l, zero);
    Value inv = select(hasKeys, arith::DivFOp::create(b, f32(1), l), zero);
    forLoop(idx(0), a.dim, idx(1), {}, [&](Value d, ValueRange) {
      Value x = memref::LoadOp::create(b, acc, ValueRange{d});
      memref::StoreOp::create(b, fromF32(fmul(x, inv), elt), a.out,
                              ValueRange{bi, ti, gi, d});
      return SmallVector<Value>{};
    });
    memref::DeallocOp::create(b, scores);
    memref::DeallocOp::create(b, acc);
  }

  /// scf.for with iter_args; `body` returns the values to yield.
  SmallVector<Value>
  forLoop(Value lb, Value ub, Value step, ValueRange init,
          function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto loop = scf::ForOp::create(b, lb, ub, step, init);
    OpBuilder::InsertionGuard guard(b);
    // Without iter_args the builder already added the terminator.
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
};

/// The warp kernels' static shape.
struct WarpShape {
  int64_t heads = 0, kvHeads = 0, dim = 0;
  /// Query heads per KV head, warps (query heads) per block, and blocks per
  /// KV head.
  int64_t group = 0, warps = 0, chunks = 0;
  /// Head-dim elements per lane.
  int64_t perLane = 0;
};

/// The warp kernels (cuda): see Passes.td.
struct WarpKernels : AttentionBuilder {
  WarpKernels(ImplicitLocOpBuilder &b, const AttentionBuffers &a,
              const WarpShape &w)
      : AttentionBuilder(b, a), w(w) {}
  const WarpShape &w;

  Type elt() { return cast<MemRefType>(a.q.getType()).getElementType(); }

  /// perLane consecutive elements of `memref` at `indices` (the last one the
  /// lane's first element), as f32 scalars.
  SmallVector<Value> loadLane(Value memref, ValueRange indices) {
    auto type = VectorType::get({w.perLane}, elt());
    Value vec = vector::LoadOp::create(b, type, memref, indices);
    SmallVector<Value> out;
    for (int64_t e = 0; e < w.perLane; ++e)
      out.push_back(toF32(vector::ExtractOp::create(b, vec, e)));
    return out;
  }

  /// The attention kernel over blocks (((b Hkv + kvh) chunks + c) T + t)
  /// splits + sp. With `splits` == 1 it writes the output; otherwise each
  /// block writes its partial (m, l, acc) to `partM`, `partL` and `partAcc`.
  void attention(int64_t splits, Value partM, Value partL, Value partAcc) {
    Value grid = mul(mul(mul(a.batch, idx(w.kvHeads * w.chunks)), a.queries),
                     idx(splits));
    launch(grid, idx(1), idx(1), idx(w.warps * 32), Value(),
           [&](gpu::LaunchOp launch) {
             attentionBody(launch, splits, partM, partL, partAcc);
           });
  }

  void attentionBody(gpu::LaunchOp launch, int64_t splits, Value partM,
                     Value partL, Value partAcc) {
    Value block = launch.getBlockIds().x, tid = launch.getThreadIds().x;
    Value sp = rem(block, splits);
    Value rest = div(block, splits);
    Value t = arith::RemUIOp::create(b, rest, a.queries);
    rest = arith::DivUIOp::create(b, rest, a.queries);
    Value c = rem(rest, w.chunks);
    rest = div(rest, w.chunks);
    Value kvh = rem(rest, w.kvHeads);
    Value bi = div(rest, w.kvHeads);
    Value warp = div(tid, 32), lane = rem(tid, 32);
    Value g = add(add(mul(kvh, w.group), mul(c, w.warps)), warp);
    Value col = mul(lane, w.perLane);
    checkLength(bi, allOf({isZero(t), isZero(c), isZero(kvh), isZero(sp),
                           isZero(tid)}));

    Value visible = visibleKeys(bi, t);
    Value begin = idx(0), end = visible;
    if (splits > 1) {
      Value per = arith::CeilDivUIOp::create(b, visible, idx(splits));
      begin = minS(mul(sp, per), visible);
      end = minS(add(begin, per), visible);
    }
    // q pre-scaled into the base-2 exponent: exp(s x) = 2^(s log2(e) x).
    Value qScale = f32(a.scale * 1.4426950408889634f);
    SmallVector<Value> qv = loadLane(a.q, ValueRange{bi, t, g, col});
    for (Value &x : qv)
      x = fmul(x, qScale);

    Value zero = f32(0);
    SmallVector<Value> init = {negInf(), zero};
    init.append(w.perLane, zero);
    auto loop = scf::ForOp::create(b, begin, end, idx(kKeysInFlight), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value s = loop.getInductionVar();
      ValueRange carried = loop.getRegionIterArgs();
      Value last = sub(end, idx(1));
      SmallVector<Value> valid, partial;
      SmallVector<SmallVector<Value>> vrows;
      // Loads first (all keys' k and v rows in flight), then the dots.
      SmallVector<SmallVector<Value>> krows;
      for (int64_t u = 0; u < kKeysInFlight; ++u) {
        Value su = add(s, idx(u));
        valid.push_back(ult(su, end));
        // Keys past the range read the last one and are masked.
        Value safe = minS(su, last);
        krows.push_back(loadLane(a.k, ValueRange{bi, safe, kvh, col}));
        vrows.push_back(loadLane(a.v, ValueRange{bi, safe, kvh, col}));
      }
      for (int64_t u = 0; u < kKeysInFlight; ++u) {
        Value dot = zero;
        for (int64_t e = 0; e < w.perLane; ++e)
          dot = fma(qv[e], krows[u][e], dot);
        partial.push_back(dot);
      }
      for (int32_t offset : {16, 8, 4, 2, 1})
        for (Value &x : partial)
          x = fadd(x, shuffleXor(x, offset));
      Value mNew = carried[0];
      for (int64_t u = 0; u < kKeysInFlight; ++u) {
        partial[u] = select(valid[u], partial[u], negInf());
        mNew = fmax(mNew, partial[u]);
      }
      Value corr = math::Exp2Op::create(b, fsub(carried[0], mNew));
      Value l = fmul(carried[1], corr);
      SmallVector<Value> acc;
      for (int64_t e = 0; e < w.perLane; ++e)
        acc.push_back(fmul(carried[2 + e], corr));
      for (int64_t u = 0; u < kKeysInFlight; ++u) {
        Value p = math::Exp2Op::create(b, fsub(partial[u], mNew));
        l = fadd(l, p);
        for (int64_t e = 0; e < w.perLane; ++e)
          acc[e] = fma(p, vrows[u][e], acc[e]);
      }
      SmallVector<Value> next = {mNew, l};
      next.append(acc);
      scf::YieldOp::create(b, next);
    }
    Value m = loop.getResult(0), l = loop.getResult(1);
    if (splits == 1) {
      Value hasKeys =
          arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l, zero);
      Value inv = select(hasKeys, arith::DivFOp::create(b, f32(1), l), zero);
      storeLane(a.out, ValueRange{bi, t, g, col},
                loop.getResults().drop_front(2), inv, elt());
      return;
    }
    // Partials of row (b, t, g), split sp.
    storeLane(partAcc, ValueRange{bi, t, g, sp, col},
              loop.getResults().drop_front(2), f32(1), b.getF32Type());
    auto first = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, idx(0)),
        /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&first.getThenRegion().front());
    memref::StoreOp::create(b, m, partM, ValueRange{bi, t, g, sp});
    memref::StoreOp::create(b, l, partL, ValueRange{bi, t, g, sp});
  }

  /// Stores values[e] * factor (as `type`) at indices with the last one
  /// advanced by e.
  void storeLane(Value memref, ValueRange indices, ValueRange values,
                 Value factor, Type type) {
    SmallVector<Value> at(indices);
    Value vec = arith::ConstantOp::create(
        b, DenseElementsAttr::get(VectorType::get({w.perLane}, type),
                                  b.getZeroAttr(type)));
    for (int64_t e = 0; e < w.perLane; ++e)
      vec = vector::InsertOp::create(b, fromF32(fmul(values[e], factor), type),
                                     vec, e);
    vector::StoreOp::create(b, vec, memref, at);
  }

  /// Merges the splits of each row: one warp per row, kCombineRows rows per
  /// block.
  void combine(int64_t splits, Value partM, Value partL, Value partAcc) {
    Value rows = mul(mul(a.batch, a.queries), idx(w.heads));
    Value grid = arith::CeilDivUIOp::create(b, rows, idx(kCombineRows));
    launch(
        grid, idx(1), idx(1), idx(kCombineRows * 32), Value(),
        [&](gpu::LaunchOp launch) {
          Value tid = launch.getThreadIds().x;
          Value row =
              add(mul(launch.getBlockIds().x, kCombineRows), div(tid, 32));
          Value lane = rem(tid, 32);
          auto inRange = scf::IfOp::create(b, ult(row, rows),
                                           /*withElseRegion=*/false);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(&inRange.getThenRegion().front());
          Value g = rem(row, w.heads);
          Value rest = div(row, w.heads);
          Value t = arith::RemUIOp::create(b, rest, a.queries);
          Value bi = arith::DivUIOp::create(b, rest, a.queries);
          Value col = mul(lane, w.perLane);
          Value zero = f32(0);
          // A loop over the partials, unrolled up to 64 so that the loads
          // of all partials are in flight together.
          auto overPartials =
              [&](ValueRange init,
                  function_ref<SmallVector<Value>(Value, ValueRange)> body) {
                if (splits <= 64) {
                  SmallVector<Value> carried(init);
                  for (int64_t sp = 0; sp < splits; ++sp)
                    carried = body(idx(sp), carried);
                  return carried;
                }
                return forLoop(idx(0), idx(splits), idx(1), init, body);
              };
          Value mMax = overPartials({negInf()}, [&](Value sp, ValueRange c) {
            Value m =
                memref::LoadOp::create(b, partM, ValueRange{bi, t, g, sp});
            return SmallVector<Value>{fmax(c[0], m)};
          })[0];
          Value empty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                              mMax, negInf());
          SmallVector<Value> init(w.perLane + 1, zero);
          SmallVector<Value> sums = overPartials(init, [&](Value sp,
                                                           ValueRange carried) {
            Value m =
                memref::LoadOp::create(b, partM, ValueRange{bi, t, g, sp});
            Value weight =
                select(empty, zero, math::Exp2Op::create(b, fsub(m, mMax)));
            SmallVector<Value> next = {
                fma(weight,
                    memref::LoadOp::create(b, partL, ValueRange{bi, t, g, sp}),
                    carried[0])};
            auto type = VectorType::get({w.perLane}, b.getF32Type());
            Value vec = vector::LoadOp::create(b, type, partAcc,
                                               ValueRange{bi, t, g, sp, col});
            for (int64_t e = 0; e < w.perLane; ++e)
              next.push_back(fma(weight, vector::ExtractOp::create(b, vec, e),
                                 carried[1 + e]));
            return next;
          });
          Value l = sums[0];
          SmallVector<Value> acc(ArrayRef<Value>(sums).drop_front());
          Value hasKeys =
              arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l, zero);
          Value inv =
              select(hasKeys, arith::DivFOp::create(b, f32(1), l), zero);
          storeLane(a.out, ValueRange{bi, t, g, col}, acc, inv, elt());
        });
  }
};

/// The tensor-core kernel's static shape (bf16, mma.sync m16n8k16).
struct TensorCoreShape {
  int64_t heads = 0, kvHeads = 0, dim = 0, group = 0;
  /// Warps per block (16 query rows each) and keys per tile.
  static constexpr int64_t kWarps = 4, kKeys = 64;
  static constexpr int64_t kRows = 16 * kWarps;
  /// Shared-memory row length of the K and V tiles, padded by 8 bf16 so
  /// the fragment loads of 8 rows hit 8 different banks.
  int64_t rowLength() const { return dim + 8; }
  /// Two stages of K and V tiles.
  int64_t sharedBytes() const { return 2 * 2 * kKeys * rowLength() * 2; }
};

/// The tensor-core kernel (cuda, bf16, sm_80 on): GQA packing. A block owns
/// 64 query rows of one KV head, row r being query t = r / G of query head
/// kvh G + r % G (G query heads per KV head), so each K and V tile is read
/// once for every query head of its group, and a decode step's G heads fill
/// the rows of one tile. Per tile of 64 keys, staged in shared memory by the
/// whole block, each warp computes S = Q K^T for its 16 rows on mma.sync
/// (Q in registers as A fragments), applies the scale, the lengths and the
/// causal limit per element, runs the online softmax on the accumulator
/// fragments (row statistics reduced across the 4 lanes of a row) and adds
/// P V, P reused from the S accumulators as A fragments. Warps whose rows
/// are all past the end (decode) only help load.
struct TensorCoreKernel : AttentionBuilder {
  TensorCoreKernel(ImplicitLocOpBuilder &b, const AttentionBuffers &a,
                   const TensorCoreShape &c, bool narrow)
      : AttentionBuilder(b, a), c(c), narrow(narrow) {}
  const TensorCoreShape &c;
  /// All query rows of a KV head fit one warp's 16 (a decode step): the
  /// warps then share those rows and split each key tile in four; at the
  /// end the block merges the four warps' statistics and accumulators
  /// through shared memory into one result (or one partial per split).
  bool narrow;

  /// Partials per row for `splits` key splits.
  int64_t partials(int64_t splits) const { return splits; }

  /// One of a lane's two query rows: whether it exists, its query and head,
  /// and the keys it sees.
  struct Row {
    Value valid, query, head, visible;
  };

  /// Two f32 as one register of two bf16 (lo in the low half).
  Value packBf16(Value lo, Value hi) {
    Type bf16 = b.getBF16Type();
    Value v = vector::FromElementsOp::create(
        b, VectorType::get({2}, bf16),
        ValueRange{arith::TruncFOp::create(b, bf16, lo),
                   arith::TruncFOp::create(b, bf16, hi)});
    Value i32 =
        vector::BitCastOp::create(b, VectorType::get({1}, b.getI32Type()), v);
    return vector::ExtractOp::create(b, i32, 0);
  }
  /// Fused RoPE: q's channels `col` and `col + 1` of `row`, rotated as
  /// hymir.rope's kernel does (f32 math on the bf16 inputs, rounded to bf16
  /// once), as one register of two bf16. The partner channel (c +- half)
  /// is read from global memory: q is read once per block.
  Value rotatedQPair(Value bi, const Row &row, Value col) {
    Value position =
        memref::LoadOp::create(b, a.ropePositions, ValueRange{bi, row.query});
    auto load = [&](Value ch) -> Value {
      Value x = memref::LoadOp::create(b, a.q,
                                       ValueRange{bi, row.query, row.head, ch});
      return arith::ExtFOp::create(b, b.getF32Type(), x);
    };
    return packBf16(ropeChannel(col, position, load),
                    ropeChannel(add(col, idx(1)), position, load));
  }

  /// memref[r0][col] and memref[r1][col] (bf16) as one register.
  Value loadColumnPair(Value memref, Value r0, Value r1, Value col) {
    Type bf16 = b.getBF16Type();
    Value lo = memref::LoadOp::create(b, memref, ValueRange{r0, col});
    Value hi = memref::LoadOp::create(b, memref, ValueRange{r1, col});
    Value v = vector::FromElementsOp::create(b, VectorType::get({2}, bf16),
                                             ValueRange{lo, hi});
    Value i32 =
        vector::BitCastOp::create(b, VectorType::get({1}, b.getI32Type()), v);
    return vector::ExtractOp::create(b, i32, 0);
  }
  Value cmpF(arith::CmpFPredicate p, Value x, Value y) {
    return arith::CmpFOp::create(b, p, x, y);
  }

  /// Query rows of a KV head: T G.
  Value rowsPerKvHead() { return mul(a.queries, idx(c.group)); }
  Value rowBlocks() {
    return arith::CeilDivUIOp::create(b, rowsPerKvHead(),
                                      idx(TensorCoreShape::kRows));
  }

  void attention(int64_t splits, Value partM, Value partL, Value partAcc) {
    // x: the row block (the token count, ceil-divided); y: (batch, KV head,
    // split), so each grid size stays affine in the token count.
    Value gridY = mul(mul(a.batch, idx(c.kvHeads)), idx(splits));
    Value bytes =
        arith::ConstantIntOp::create(b, b.getI32Type(), c.sharedBytes());
    launch(rowBlocks(), gridY, idx(1), idx(TensorCoreShape::kWarps * 32), bytes,
           [&](gpu::LaunchOp launch) {
             body(launch, splits, partM, partL, partAcc);
           });
  }

  void body(gpu::LaunchOp launch, int64_t splits, Value partM, Value partL,
            Value partAcc) {
    using S = TensorCoreShape;
    Type f32Type = b.getF32Type(), bf16 = b.getBF16Type();
    Value rb = launch.getBlockIds().x, tid = launch.getThreadIds().x;
    Value sp = rem(launch.getBlockIds().y, splits);
    Value rest = div(launch.getBlockIds().y, splits);
    Value kvh = rem(rest, c.kvHeads);
    Value bi = div(rest, c.kvHeads);
    Value warp = div(tid, 32), lane = rem(tid, 32);
    Value groupRow = div(lane, 4), quad = rem(lane, 4);
    Value rows = rowsPerKvHead();
    checkLength(bi, allOf({isZero(rb), isZero(kvh), isZero(sp), isZero(tid)}));
    Value blockRow0 = mul(rb, S::kRows);
    Value warpRow0 = narrow ? blockRow0 : add(blockRow0, mul(warp, 16));
    // Partial slot of this warp, and whether it writes partials at all.
    Value slot = sp;
    bool writesPartials = partials(splits) > 1;

    auto rowOf = [&](Value r) {
      Row row;
      row.valid = ult(r, rows);
      Value safe = minS(r, sub(rows, idx(1)));
      row.query = div(safe, c.group);
      row.head = add(mul(kvh, c.group), rem(safe, c.group));
      row.visible = select(row.valid, visibleKeys(bi, row.query), idx(0));
      return row;
    };
    Row r0 = rowOf(add(warpRow0, groupRow));
    Row r1 = rowOf(add(warpRow0, add(groupRow, idx(8))));

    // The block's key range: up to the last row's limit, this split's share.
    Value lastRow = minS(add(blockRow0, idx(S::kRows - 1)), sub(rows, idx(1)));
    Value blockEnd = visibleKeys(bi, div(lastRow, c.group));
    Value begin = idx(0), end = blockEnd;
    if (splits > 1) {
      Value per = arith::CeilDivUIOp::create(b, blockEnd, idx(splits));
      begin = minS(mul(sp, per), blockEnd);
      end = minS(add(begin, per), blockEnd);
    }
    Value warpActive = ult(warpRow0, rows);

    // Q as A fragments, one set of 4 registers per 16 columns (zeros for
    // rows past the end).
    Value zeroI32 = arith::ConstantIntOp::create(b, b.getI32Type(), 0);
    auto qPair = [&](const Row &row, Value col, bool rotary) {
      if (rotary)
        return select(row.valid, rotatedQPair(bi, row, col), zeroI32);
      Value x = loadBf16Pair(b, a.q, ValueRange{bi, row.query, row.head, col});
      return select(row.valid, x, zeroI32);
    };
    SmallVector<SmallVector<Value>> qFrag;
    for (int64_t ks = 0; ks < c.dim / 16; ++ks) {
      Value col = add(mul(quad, 2), idx(ks * 16));
      Value col8 = add(col, idx(8));
      // Fused RoPE: only the k-steps over rotary channels rotate.
      bool rot = a.ropePositions && ks * 16 < a.ropeRotary;
      qFrag.push_back({qPair(r0, col, rot), qPair(r1, col, rot),
                       qPair(r0, col8, rot), qPair(r1, col8, rot)});
    }

    Value smem = sharedBytes();
    // Two stages of K and V tiles: [stage * 64 + key][col].
    Value kTiles = view(smem, 0, {2 * S::kKeys, c.rowLength()}, bf16);
    Value vTiles = view(smem, 2 * S::kKeys * c.rowLength() * 2,
                        {2 * S::kKeys, c.rowLength()}, bf16);

    // Issues the cp.async copies of the tile at key s0 into `stage` (16-byte
    // chunks, zero-filled past the range) and commits them as one group.
    int64_t chunksPerRow = c.dim / 8;
    int64_t chunks = S::kKeys * chunksPerRow;
    auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
    auto issue = [&](Value s0, Value stage) {
      SmallVector<Value> tokens;
      for (int64_t i = 0; i < chunks / (S::kWarps * 32); ++i) {
        Value chunk = add(tid, idx(i * S::kWarps * 32));
        Value row = div(chunk, chunksPerRow);
        Value col = mul(rem(chunk, chunksPerRow), 8);
        Value key = add(s0, row);
        Value bytes = select(ult(key, end), idx(8), idx(0));
        Value safeKey = minS(key, sub(end, idx(1)));
        Value dstRow = add(mul(stage, S::kKeys), row);
        for (auto [src, dst] : {std::pair{a.k, kTiles}, {a.v, vTiles}})
          tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
              b, tokenType, dst, ValueRange{dstRow, col}, src,
              ValueRange{bi, safeKey, kvh, col}, b.getIndexAttr(8), bytes,
              b.getUnitAttr()));
      }
      return nvgpu::DeviceAsyncCreateGroupOp::create(b, tokenType, tokens);
    };
    auto waitGroups = [&](Value token, int32_t pending) {
      nvgpu::DeviceAsyncWaitOp::create(b, token, b.getI32IntegerAttr(pending));
    };
    // Prologue: the first tile into stage 0.
    {
      auto any = scf::IfOp::create(b, ult(begin, end),
                                   /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&any.getThenRegion().front());
      issue(begin, idx(0));
    }

    Value zero = f32(0);
    Value scaleLog2 = f32(a.scale * 1.4426950408889634f);
    int64_t dTiles = c.dim / 8;
    // Carried: m and l of both rows, then the accumulators [dTiles][4].
    SmallVector<Value> init = {negInf(), negInf(), zero, zero};
    init.append(dTiles * 4, zero);
    auto loop = scf::ForOp::create(b, begin, end, idx(S::kKeys), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value s0 = loop.getInductionVar();
      ValueRange carried = loop.getRegionIterArgs();
      Value stage = rem(div(sub(s0, begin), S::kKeys), 2);
      // The next tile into the other stage while this one is used; then
      // wait for this one (one group may stay in flight).
      Value next = add(s0, idx(S::kKeys));
      auto more = scf::IfOp::create(b, ult(next, end), /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&more.getThenRegion().front());
        waitGroups(issue(next, sub(idx(1), stage)), 1);
        b.setInsertionPointToStart(&more.getElseRegion().front());
        waitGroups(
            nvgpu::DeviceAsyncCreateGroupOp::create(b, tokenType, ValueRange{}),
            0);
      }
      gpu::BarrierOp::create(b);
      Value stageRow = mul(stage, S::kKeys);
      Value kTile = kTiles, vTile = vTiles;

      auto active = scf::IfOp::create(b, TypeRange(carried), warpActive,
                                      /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&active.getElseRegion().front());
        scf::YieldOp::create(b, carried);
        b.setInsertionPointToStart(&active.getThenRegion().front());
        // Keys past this split's end are zeros in the tiles: mask them too.
        Value limits[2] = {minS(r0.visible, end), minS(r1.visible, end)};
        Value keyOff = narrow ? mul(warp, 16) : idx(0);
        Value smemOff = add(stageRow, keyOff);
        int64_t keys = narrow ? S::kKeys / S::kWarps : S::kKeys;
        scf::YieldOp::create(b,
                             tile(s0, carried, qFrag, kTile, vTile, lane, quad,
                                  keyOff, smemOff, keys, limits, scaleLog2));
      }
      // The stage is overwritten two tiles later: every warp must be done.
      gpu::BarrierOp::create(b);
      scf::YieldOp::create(b, active.getResults());
    }

    // Row sums across the 4 lanes of each row.
    Value l0 = loop.getResult(2), l1 = loop.getResult(3);
    for (int32_t offset : {1, 2}) {
      l0 = fadd(l0, shuffleXor(l0, offset));
      l1 = fadd(l1, shuffleXor(l1, offset));
    }
    ValueRange acc = loop.getResults().drop_front(4);
    if (narrow)
      return mergeWarps(bi, kvh, sp, tid, warp, groupRow, quad, rows,
                        {loop.getResult(0), loop.getResult(1)}, {l0, l1}, acc,
                        smem, splits, partM, partL, partAcc);
    auto store = [&](const Row &row, Value m, Value l, int64_t half) {
      auto valid = scf::IfOp::create(b, row.valid, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&valid.getThenRegion().front());
      Value hasKeys = cmpF(arith::CmpFPredicate::OGT, l, zero);
      Value inv = select(hasKeys, arith::DivFOp::create(b, f32(1), l), zero);
      Type elt = cast<MemRefType>(a.out.getType()).getElementType();
      for (int64_t dt = 0; dt < dTiles; ++dt) {
        Value col = add(mul(quad, 2), idx(dt * 8));
        Value x0 = acc[dt * 4 + 2 * half], x1 = acc[dt * 4 + 2 * half + 1];
        if (!writesPartials) {
          Value v = vector::FromElementsOp::create(
              b, VectorType::get({2}, elt),
              ValueRange{fromF32(fmul(x0, inv), elt),
                         fromF32(fmul(x1, inv), elt)});
          vector::StoreOp::create(b, v, a.out,
                                  ValueRange{bi, row.query, row.head, col});
        } else {
          Value v = vector::FromElementsOp::create(
              b, VectorType::get({2}, f32Type), ValueRange{x0, x1});
          vector::StoreOp::create(
              b, v, partAcc, ValueRange{bi, row.query, row.head, slot, col});
        }
      }
      if (writesPartials) {
        auto first = scf::IfOp::create(
            b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, quad, idx(0)),
            /*withElseRegion=*/false);
        b.setInsertionPointToStart(&first.getThenRegion().front());
        memref::StoreOp::create(b, m, partM,
                                ValueRange{bi, row.query, row.head, slot});
        memref::StoreOp::create(b, l, partL,
                                ValueRange{bi, row.query, row.head, slot});
      }
    };
    store(r0, loop.getResult(0), l0, 0);
    store(r1, loop.getResult(1), l1, 1);
  }

  /// The narrow (decode) form's end: the four warps' (m, l, acc) of the
  /// same 16 rows, merged through shared memory; thread t merges row t / 8,
  /// an eighth of the head dim, and writes the output or the split's partial.
  void mergeWarps(Value bi, Value kvh, Value sp, Value tid, Value warp,
                  Value groupRow, Value quad, Value rows, ArrayRef<Value> m,
                  ArrayRef<Value> l, ValueRange acc, Value smem, int64_t splits,
                  Value partM, Value partL, Value partAcc) {
    using S = TensorCoreShape;
    int64_t dTiles = c.dim / 8;
    // [warp][row][col] accumulators, then [warp][row] m and l (f32).
    Value accS = view(smem, 0, {S::kWarps, 16, c.dim});
    int64_t statOffset = S::kWarps * 16 * c.dim * 4;
    Value mS = view(smem, statOffset, {S::kWarps, 16});
    Value lS = view(smem, statOffset + S::kWarps * 16 * 4, {S::kWarps, 16});
    gpu::BarrierOp::create(b);
    for (int64_t dt = 0; dt < dTiles; ++dt)
      for (int64_t e = 0; e < 4; ++e) {
        Value row = add(groupRow, idx(8 * (e / 2)));
        Value col = add(mul(quad, 2), idx(dt * 8 + e % 2));
        memref::StoreOp::create(b, acc[dt * 4 + e], accS,
                                ValueRange{warp, row, col});
      }
    {
      auto first = scf::IfOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, quad, idx(0)),
          /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&first.getThenRegion().front());
      for (int64_t h = 0; h < 2; ++h) {
        Value row = add(groupRow, idx(8 * h));
        memref::StoreOp::create(b, m[h], mS, ValueRange{warp, row});
        memref::StoreOp::create(b, l[h], lS, ValueRange{warp, row});
      }
    }
    gpu::BarrierOp::create(b);
    Value row = div(tid, 8);
    int64_t width = c.dim / 8;
    Value col0 = mul(rem(tid, 8), width);
    auto valid = scf::IfOp::create(b, ult(row, rows), /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&valid.getThenRegion().front());
    Value zero = f32(0);
    SmallVector<Value> mw, lw;
    Value mMax = negInf();
    for (int64_t w = 0; w < S::kWarps; ++w) {
      mw.push_back(memref::LoadOp::create(b, mS, ValueRange{idx(w), row}));
      lw.push_back(memref::LoadOp::create(b, lS, ValueRange{idx(w), row}));
      mMax = fmax(mMax, mw.back());
    }
    Value empty = cmpF(arith::CmpFPredicate::OEQ, mMax, negInf());
    Value total = zero;
    SmallVector<Value> weight;
    for (int64_t w = 0; w < S::kWarps; ++w) {
      weight.push_back(
          select(empty, zero, math::Exp2Op::create(b, fsub(mw[w], mMax))));
      total = fma(weight[w], lw[w], total);
    }
    Value query = div(row, c.group);
    Value head = add(mul(kvh, c.group), rem(row, c.group));
    Type elt = cast<MemRefType>(a.out.getType()).getElementType();
    Value hasKeys = cmpF(arith::CmpFPredicate::OGT, total, zero);
    Value inv = select(hasKeys, arith::DivFOp::create(b, f32(1), total), zero);
    for (int64_t j = 0; j < width; ++j) {
      Value col = add(col0, idx(j));
      Value x = zero;
      for (int64_t w = 0; w < S::kWarps; ++w)
        x = fma(weight[w],
                memref::LoadOp::create(b, accS, ValueRange{idx(w), row, col}),
                x);
      if (splits == 1)
        memref::StoreOp::create(b, fromF32(fmul(x, inv), elt), a.out,
                                ValueRange{bi, query, head, col});
      else
        memref::StoreOp::create(b, x, partAcc,
                                ValueRange{bi, query, head, sp, col});
    }
    if (splits > 1) {
      auto first =
          scf::IfOp::create(b,
                            arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                                  rem(tid, 8), idx(0)),
                            /*withElseRegion=*/false);
      b.setInsertionPointToStart(&first.getThenRegion().front());
      memref::StoreOp::create(b, mMax, partM, ValueRange{bi, query, head, sp});
      memref::StoreOp::create(b, total, partL, ValueRange{bi, query, head, sp});
    }
  }

  /// Four 8x8 bf16 matrices of shared memory as four registers: lane l
  /// names row l % 8 of matrix l / 8 at (row, col); with `transpose` each
  /// register holds a column pair instead of a row pair (ldmatrix).
  SmallVector<Value> ldmatrix4(Value memref, Value row, Value col,
                               bool transpose) {
    Type bf16 = b.getBF16Type();
    Value x =
        nvgpu::LdMatrixOp::create(b, VectorType::get({4, 2}, bf16), memref,
                                  ValueRange{row, col}, transpose, 4);
    SmallVector<Value> regs;
    for (int64_t i = 0; i < 4; ++i) {
      Value pair = vector::ExtractOp::create(b, x, i);
      Value i32 = vector::BitCastOp::create(
          b, VectorType::get({1}, b.getI32Type()), pair);
      regs.push_back(vector::ExtractOp::create(b, i32, 0));
    }
    return regs;
  }

  /// One warp's share of a key tile: `keys` keys (a multiple of 16) from
  /// `keyOff` within the tile, at row `smemOff` of the staged tiles. Returns
  /// the updated (m0, m1, l0, l1, acc).
  SmallVector<Value> tile(Value s0, ValueRange carried,
                          ArrayRef<SmallVector<Value>> qFrag, Value kTile,
                          Value vTile, Value lane, Value quad, Value keyOff,
                          Value smemOff, int64_t keys, Value limits[2],
                          Value scaleLog2) {
    int64_t nTiles = keys / 8, dTiles = c.dim / 8;
    Value zero = f32(0);
    // ldmatrix addressing: matrix lane / 8, row lane % 8.
    Value matrix = div(lane, 8), matrixRow = rem(lane, 8);
    // S = Q K^T: K rows are the B operand's columns; one ldmatrix.x4 gives
    // the two k-halves of two n-tiles.
    SmallVector<SmallVector<Value>> sAcc(nTiles, {zero, zero, zero, zero});
    for (int64_t ks = 0; ks < c.dim / 16; ++ks) {
      Value col = add(mul(rem(matrix, 2), 8), idx(ks * 16));
      for (int64_t nt = 0; nt < nTiles; nt += 2) {
        Value row = add(add(smemOff, mul(div(matrix, 2), 8)),
                        add(matrixRow, idx(nt * 8)));
        SmallVector<Value> frag = ldmatrix4(kTile, row, col, false);
        sAcc[nt] = mmaBf16(b, qFrag[ks], {frag[0], frag[1]}, sAcc[nt]);
        sAcc[nt + 1] = mmaBf16(b, qFrag[ks], {frag[2], frag[3]}, sAcc[nt + 1]);
      }
    }
    // Scale into the base-2 exponent and mask by each row's key limit (its
    // visible keys within this split).
    SmallVector<Value> m = {carried[0], carried[1]};
    SmallVector<Value> rowMax = {negInf(), negInf()};
    Value keyBase = add(add(s0, keyOff), mul(quad, 2));
    for (int64_t nt = 0; nt < nTiles; ++nt)
      for (int64_t e = 0; e < 4; ++e) {
        int64_t half = e / 2;
        Value key = add(keyBase, idx(nt * 8 + e % 2));
        Value x = fmul(sAcc[nt][e], scaleLog2);
        x = select(ult(key, limits[half]), x, negInf());
        sAcc[nt][e] = x;
        rowMax[half] = fmax(rowMax[half], x);
      }
    SmallVector<Value> mSafe, corr, l;
    for (int64_t h = 0; h < 2; ++h) {
      for (int32_t offset : {1, 2})
        rowMax[h] = fmax(rowMax[h], shuffleXor(rowMax[h], offset));
      Value mNew = fmax(m[h], rowMax[h]);
      // A row that has seen no key yet keeps m = -inf; exponents use 0.
      Value none = cmpF(arith::CmpFPredicate::OEQ, mNew, negInf());
      mSafe.push_back(select(none, zero, mNew));
      corr.push_back(math::Exp2Op::create(b, fsub(m[h], mSafe[h])));
      m[h] = mNew;
      l.push_back(fmul(carried[2 + h], corr[h]));
    }
    // P = 2^(x - m): the accumulators of two n-tiles are the A fragment of
    // one 16-key step.
    for (int64_t nt = 0; nt < nTiles; ++nt)
      for (int64_t e = 0; e < 4; ++e) {
        int64_t half = e / 2;
        Value p = math::Exp2Op::create(b, fsub(sAcc[nt][e], mSafe[half]));
        sAcc[nt][e] = p;
        l[half] = fadd(l[half], p);
      }
    SmallVector<Value> acc(carried.drop_front(4));
    for (int64_t dt = 0; dt < dTiles; ++dt)
      for (int64_t e = 0; e < 4; ++e)
        acc[dt * 4 + e] = fmul(acc[dt * 4 + e], corr[e / 2]);
    for (int64_t kk = 0; kk < keys / 16; ++kk) {
      const SmallVector<Value> &lo = sAcc[2 * kk], &hi = sAcc[2 * kk + 1];
      SmallVector<Value> aFrag = {
          packBf16(lo[0], lo[1]), packBf16(lo[2], lo[3]),
          packBf16(hi[0], hi[1]), packBf16(hi[2], hi[3])};
      // V^T fragments: ldmatrix.trans of (keys, 8 columns) blocks; one x4
      // gives both key halves of two d-tiles.
      Value row = add(add(smemOff, idx(kk * 16)),
                      add(mul(rem(matrix, 2), 8), matrixRow));
      for (int64_t dt = 0; dt < dTiles; dt += 2) {
        Value col = add(mul(div(matrix, 2), 8), idx(dt * 8));
        SmallVector<Value> frag = ldmatrix4(vTile, row, col, true);
        for (int64_t half = 0; half < 2; ++half) {
          SmallVector<Value> d =
              mmaBf16(b, aFrag, {frag[2 * half], frag[2 * half + 1]},
                      ArrayRef<Value>(acc).slice((dt + half) * 4, 4));
          for (int64_t e = 0; e < 4; ++e)
            acc[(dt + half) * 4 + e] = d[e];
        }
      }
    }
    SmallVector<Value> next = {m[0], m[1], l[0], l[1]};
    next.append(acc);
    return next;
  }
};

struct HymirSoftmaxAttentionToKernelsPass
    : hymir::impl::HymirSoftmaxAttentionToKernelsBase<
          HymirSoftmaxAttentionToKernelsPass> {
  using Base::Base;

  /// The chip's facts (the `chip` option), on the GPU.
  TargetDescription target;

  void runOnOperation() override {
    bool gpu = !chip.empty();
    if (gpu) {
      llvm::Expected<TargetDescription> found = lookupTarget(chip);
      if (!found) {
        getOperation().emitError() << "hymir-softmax-attention-to-kernels: "
                                   << llvm::toString(found.takeError());
        return signalPassFailure();
      }
      target = *found;
    }
    if (schedule < 0 || schedule > 2) {
      getOperation().emitError() << "hymir-softmax-attention-to-kernels: "
                                    "schedule must be 0, 1 or 2, got "
                                 << static_cast<int64_t>(schedule);
      return signalPassFailure();
    }
    if (splits < 0 || splits > 1024) {
      getOperation().emitError() << "hymir-softmax-attention-to-kernels: "
                                    "splits must be in [0, 1024], got "
                                 << static_cast<int64_t>(splits);
      return signalPassFailure();
    }
    SmallVector<SoftmaxAttentionOp> ops;
    getOperation().walk([&](SoftmaxAttentionOp op) { ops.push_back(op); });
    for (SoftmaxAttentionOp op : ops)
      lower(op, gpu);
  }

  /// The warp kernels' shape, if they cover the op.
  static std::optional<WarpShape> warpShape(SoftmaxAttentionOp op) {
    auto q = op.getQ().getType(), k = op.getK().getType();
    WarpShape w;
    w.heads = q.getDimSize(2);
    w.kvHeads = k.getDimSize(2);
    w.dim = q.getDimSize(3);
    if (ShapedType::isDynamic(w.heads) || ShapedType::isDynamic(w.kvHeads) ||
        ShapedType::isDynamic(w.dim) || w.kvHeads <= 0 || w.dim % 32 != 0 ||
        w.dim > 256 || w.dim == 0)
      return std::nullopt;
    w.group = w.heads / w.kvHeads;
    w.warps = std::gcd<int64_t>(w.group, 8);
    w.chunks = w.group / w.warps;
    w.perLane = w.dim / 32;
    return w;
  }

  /// The tensor-core kernel's shape, if it covers the op (bf16, a head dim
  /// that is a multiple of 32 up to 128, a chip with bf16 mma.sync).
  std::optional<TensorCoreShape> tensorCoreShape(SoftmaxAttentionOp op,
                                                 const WarpShape &w) const {
    if (!tensorCores || !target.hasBf16Mma ||
        !op.getQ().getType().getElementType().isBF16() || w.dim > 128)
      return std::nullopt;
    TensorCoreShape c;
    c.heads = w.heads;
    c.kvHeads = w.kvHeads;
    c.dim = w.dim;
    c.group = w.group;
    if (c.sharedBytes() > target.maxSharedBytesPerBlock)
      return std::nullopt;
    return c;
  }

  /// The Hopper pipeline kernel's shape, if it covers the op (bf16 in and
  /// out, a chip with wgmma, the `pipeline` option).
  std::optional<HopperAttentionShape> hopperShape(SoftmaxAttentionOp op,
                                                  const WarpShape &w) const {
    if (!pipeline || !tensorCores || !target.hasWgmma ||
        !op.getQ().getType().getElementType().isBF16() ||
        !HopperAttentionShape::covers(w.heads, w.kvHeads, w.dim))
      return std::nullopt;
    HopperAttentionShape h;
    h.heads = w.heads;
    h.kvHeads = w.kvHeads;
    h.dim = w.dim;
    h.group = w.group;
    h.schedule = schedule;
    if (h.sharedBytes() > target.maxSharedBytesPerBlock)
      return std::nullopt;
    return h;
  }

  /// Key splits for `queries` queries per sequence (0 when unknown: one),
  /// so the grid of the tensor-core (`tc`) or warp kernel fills the chip.
  int64_t chooseSplits(SoftmaxAttentionOp op, const WarpShape &w, bool tc,
                       int64_t queries) const {
    if (splits > 0)
      return splits;
    int64_t batch = op.getQ().getType().getDimSize(0);
    if (ShapedType::isDynamic(batch))
      batch = 1;
    queries = std::max<int64_t>(queries, 1);
    int64_t rowBlocks =
        tc ? batch * w.kvHeads *
                 llvm::divideCeil(queries * w.group, TensorCoreShape::kRows)
           : batch * w.kvHeads * w.chunks * queries;
    int64_t keys = op.getK().getType().getDimSize(1);
    int64_t most = ShapedType::isDynamic(keys)
                       ? 64
                       : std::max<int64_t>(1, keys / kMinSplitKeys);
    int64_t want = (kFillBlocks + rowBlocks - 1) / rowBlocks;
    return std::clamp<int64_t>(want, 1, std::min<int64_t>(most, 64));
  }

  void lower(SoftmaxAttentionOp op, bool gpu) {
    ImplicitLocOpBuilder b(op.getLoc(), op);
    GpuBuilder g(b);
    AttentionBuffers a;
    // A RoPE on q that only this op reads goes into the pipeline kernel.
    RopeOp rope = fusableRope(op, gpu);
    a.q = g.toBuffer(rope ? rope.getX() : op.getQ());
    if (rope) {
      a.ropePositions = g.toBuffer(rope.getPositions());
      a.ropeRotary = rope.getRotaryDim();
      a.ropeTheta = rope.getTheta().convertToDouble();
    }
    a.k = g.toBuffer(op.getK());
    a.v = g.toBuffer(op.getV());
    a.lengths = op.getLengths() ? g.toBuffer(op.getLengths()) : Value();
    if (a.lengths)
      a.lengthsCheck =
          createRunCheckSlot(b, op.getLoc(), "hymir.softmax_attention",
                             runCheckTensorName(op.getLengths()), "length");
    a.causal = op.getCausal();
    a.scale = op.getScale().convertToFloat();
    auto dimOf = [&](Value buffer, int64_t i) -> Value {
      return memref::DimOp::create(b, buffer, i);
    };
    a.batch = dimOf(a.q, 0);
    a.queries = dimOf(a.q, 1);
    a.heads = dimOf(a.q, 2);
    a.dim = dimOf(a.q, 3);
    a.keys = dimOf(a.k, 1);
    a.kvHeads = dimOf(a.k, 2);
    auto outType = cast<RankedTensorType>(op.getOut().getType());
    SmallVector<Value> dynSizes;
    for (int64_t i = 0; i < outType.getRank(); ++i)
      if (outType.isDynamicDim(i))
        dynSizes.push_back(dimOf(a.q, i));
    a.out = memref::AllocOp::create(
        b, MemRefType::get(outType.getShape(), outType.getElementType()),
        dynSizes);

    std::optional<WarpShape> w = gpu ? warpShape(op) : std::nullopt;
    if (!w) {
      AttentionBuilder(b, a).portable();
    } else {
      WarpKernels kernels(b, a, *w);
      std::optional<TensorCoreShape> tcShape = tensorCoreShape(op, *w);
      std::optional<TensorCoreKernel> tc;
      int64_t queries = outType.getDimSize(1);
      if (tcShape)
        tc.emplace(b, a, *tcShape,
                   /*narrow=*/!ShapedType::isDynamic(queries) &&
                       queries * w->group <= 16);
      auto slotsFor = [&](int64_t count) {
        return tc ? tc->partials(count) : count;
      };
      // Partials [B, T, Hq, splits] and [B, T, Hq, splits, D] in f32,
      // allocated outside any guard. Only calls of at most kSplitQueries
      // tokens write them, so a dynamic T takes that many rows (not the
      // compiled maximum: at 16384 tokens of M1's 64 heads that was 34 GB).
      Type f32 = b.getF32Type();
      struct Partials {
        Value m, l, acc;
      };
      auto allocPartials = [&](int64_t count) {
        SmallVector<int64_t> shape(outType.getShape());
        SmallVector<Value> sizes;
        for (int64_t i = 0, next = 0; i < outType.getRank(); ++i) {
          if (!outType.isDynamicDim(i))
            continue;
          Value size = dynSizes[next++];
          if (i == 1)
            shape[1] = kSplitQueries;
          else
            sizes.push_back(size);
        }
        shape.insert(shape.begin() + 3, count);
        SmallVector<int64_t> ml(shape.begin(), shape.begin() + 4);
        Partials p;
        p.m = memref::AllocOp::create(b, MemRefType::get(ml, f32), sizes);
        p.l = memref::AllocOp::create(b, MemRefType::get(ml, f32), sizes);
        p.acc = memref::AllocOp::create(b, MemRefType::get(shape, f32), sizes);
        return p;
      };
      auto emitSplit = [&](int64_t count, const Partials &p) {
        if (tc)
          tc->attention(count, p.m, p.l, p.acc);
        else
          kernels.attention(count, p.m, p.l, p.acc);
        if (slotsFor(count) > 1)
          kernels.combine(slotsFor(count), p.m, p.l, p.acc);
      };
      // Longer calls (prefill): the Hopper pipeline kernel where it covers
      // the op, else the unsplit kernel.
      std::optional<HopperAttentionShape> hopper = hopperShape(op, *w);
      auto emitLong = [&]() {
        if (hopper)
          emitHopperAttention(b, a, *hopper);
        else
          emitSplit(1, Partials());
      };
      if (!ShapedType::isDynamic(queries)) {
        if (queries > kSplitQueries)
          emitLong();
        else {
          int64_t count = chooseSplits(op, *w, !!tc, queries);
          emitSplit(count, slotsFor(count) > 1 ? allocPartials(slotsFor(count))
                                               : Partials());
        }
      } else {
        // Per call: the split kernels up to kSplitQueries tokens (splits
        // chosen for one query), one block per row above.
        int64_t count = chooseSplits(op, *w, !!tc, 1);
        Partials p =
            slotsFor(count) > 1 ? allocPartials(slotsFor(count)) : Partials();
        // A fused RoPE: the tensor-core split kernel rotates its Q
        // fragments; without it the short calls rotate q into a buffer of
        // their own first (the pipeline kernel rotates in shared memory).
        Value unrotated = a.q, rotated;
        bool ropeKernel = rope && !tc;
        if (ropeKernel)
          rotated = memref::AllocOp::create(b, cast<MemRefType>(a.q.getType()),
                                            dynSizes);
        OpBuilder::InsertionGuard guard(b);
        auto shortCalls = TokenGuardOp::create(
            b, b.getI64IntegerAttr(0), b.getI64IntegerAttr(kSplitQueries));
        b.setInsertionPointToStart(&shortCalls.getBody().emplaceBlock());
        Value positions = a.ropePositions;
        if (ropeKernel) {
          emitRopeKernel(b, a, unrotated, rotated);
          a.q = rotated;
          a.ropePositions = Value();
        }
        emitSplit(count, p);
        a.q = unrotated;
        a.ropePositions = positions;
        b.setInsertionPointAfter(shortCalls);
        auto longCalls = TokenGuardOp::create(
            b, b.getI64IntegerAttr(kSplitQueries + 1), b.getI64IntegerAttr(-1));
        b.setInsertionPointToStart(&longCalls.getBody().emplaceBlock());
        emitLong();
      }
    }
    Value result = bufferization::ToTensorOp::create(
        b, outType, a.out, /*restrict=*/true, /*writable=*/true);
    op.getOut().replaceAllUsesWith(result);
    op.erase();
    if (rope)
      rope.erase();
  }

  /// The hymir.rope producing `op`'s q when the kernels can take it over
  /// (this op its only user): a static query count of the short calls
  /// (decode) on the bf16 tensor-core split kernel, which rotates its Q
  /// fragments as it loads them; otherwise (prefill, or a dynamic count)
  /// the pipeline kernel: whole 16-byte chunk pairs, the table and the
  /// rings in shared memory.
  RopeOp fusableRope(SoftmaxAttentionOp op, bool gpu) {
    auto rope = op.getQ().getDefiningOp<RopeOp>();
    if (!gpu || !fuseRope || !rope || !rope->hasOneUse())
      return {};
    std::optional<WarpShape> w = warpShape(op);
    if (!w)
      return {};
    int64_t queries = op.getQ().getType().getDimSize(1);
    bool shortOnly =
        !ShapedType::isDynamic(queries) && queries <= kSplitQueries;
    // Short calls (decode): the tensor-core split kernel rotates its Q
    // fragments as it loads them.
    if (shortOnly)
      return tensorCoreShape(op, *w) ? rope : RopeOp();
    std::optional<HopperAttentionShape> hopper = hopperShape(op, *w);
    if (!hopper || !hopper->coversRope(rope.getRotaryDim()) ||
        hopper->sharedBytes(rope.getRotaryDim()) >
            target.maxSharedBytesPerBlock)
      return {};
    return rope;
  }
};

} // namespace
