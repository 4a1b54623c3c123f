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
#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "GpuBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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
/// Blocks the split kernels aim for (about four per SM of an H100 or H200).
constexpr int64_t kFillBlocks = 512;
/// The fewest keys a split gets when the count is automatic.
constexpr int64_t kMinSplitKeys = 256;
/// Rows per block of the combine kernel (one warp each).
constexpr int64_t kCombineRows = 4;

/// The buffers and sizes every kernel of one op reads.
struct AttentionBuffers {
  Value q, k, v, lengths, out;
  /// Sizes as index values (static ones as constants).
  Value batch, queries, keys, heads, kvHeads, dim;
  bool causal = false;
  float scale = 1;
};

/// Builders of one op's kernels, on index values.
struct AttentionBuilder : GpuBuilder {
  AttentionBuilder(ImplicitLocOpBuilder &b, const AttentionBuffers &a)
      : GpuBuilder(b), a(a) {}
  const AttentionBuffers &a;

  Value minS(Value x, Value y) { return arith::MinSIOp::create(b, x, y); }
  Value maxS(Value x, Value y) { return arith::MaxSIOp::create(b, x, y); }
  Value slt(Value x, Value y) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::slt, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, x, y); }
  Value fmax(Value x, Value y) { return arith::MaximumFOp::create(b, x, y); }
  Value fma(Value x, Value y, Value z) {
    return math::FmaOp::create(b, x, y, z);
  }
  Value negInf() { return f32(-std::numeric_limits<float>::infinity()); }
  Value fromF32(Value x, Type elt) {
    return elt.isF32() ? x : Value(arith::TruncFOp::create(b, elt, x));
  }

  /// The key range [0, visible) of query `t` of sequence `batch`: the
  /// sequence's length (clamped to [0, S]) and, if causal, the query's
  /// position L - T + t (end-aligned).
  Value visibleKeys(Value batch, Value t) {
    Value len = a.keys;
    if (a.lengths) {
      Value raw =
          toIndex(memref::LoadOp::create(b, a.lengths, ValueRange{batch}));
      len = minS(maxS(raw, idx(0)), a.keys);
    }
    if (!a.causal)
      return len;
    Value limit = add(sub(len, a.queries), add(t, idx(1)));
    return minS(maxS(limit, idx(0)), len);
  }

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

  Value shuffleXor(Value x, int32_t offset) {
    return gpu::ShuffleOp::create(b, x, offset, 32, gpu::ShuffleMode::XOR)
        .getShuffleResult();
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
    launch(grid, idx(1), idx(1), idx(kCombineRows * 32), Value(),
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
             Value mMax = negInf();
             for (int64_t sp = 0; sp < splits; ++sp)
               mMax = fmax(mMax, memref::LoadOp::create(
                                     b, partM, ValueRange{bi, t, g, idx(sp)}));
             Value empty = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ,
                                                 mMax, negInf());
             Value l = zero;
             SmallVector<Value> acc(w.perLane, zero);
             for (int64_t sp = 0; sp < splits; ++sp) {
               Value m = memref::LoadOp::create(b, partM,
                                                ValueRange{bi, t, g, idx(sp)});
               Value weight =
                   select(empty, zero, math::Exp2Op::create(b, fsub(m, mMax)));
               l = fma(weight,
                       memref::LoadOp::create(b, partL,
                                              ValueRange{bi, t, g, idx(sp)}),
                       l);
               auto type = VectorType::get({w.perLane}, b.getF32Type());
               Value vec = vector::LoadOp::create(
                   b, type, partAcc, ValueRange{bi, t, g, idx(sp), col});
               for (int64_t e = 0; e < w.perLane; ++e)
                 acc[e] =
                     fma(weight, vector::ExtractOp::create(b, vec, e), acc[e]);
             }
             Value hasKeys =
                 arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, l, zero);
             Value inv =
                 select(hasKeys, arith::DivFOp::create(b, f32(1), l), zero);
             storeLane(a.out, ValueRange{bi, t, g, col}, acc, inv, elt());
           });
  }
};

struct HymirSoftmaxAttentionToKernelsPass
    : hymir::impl::HymirSoftmaxAttentionToKernelsBase<
          HymirSoftmaxAttentionToKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    bool gpu = !chip.empty();
    if (gpu) {
      llvm::Expected<TargetDescription> found = lookupTarget(chip);
      if (!found) {
        getOperation().emitError() << "hymir-softmax-attention-to-kernels: "
                                   << llvm::toString(found.takeError());
        return signalPassFailure();
      }
    }
    if (splits < 0 || splits > 1024) {
      getOperation().emitError() << "hymir-softmax-attention-to-kernels: "
                                    "splits must be in [0, 1024], got "
                                 << splits;
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

  /// Key splits for `queries` queries per sequence (0 when unknown: one).
  int64_t chooseSplits(SoftmaxAttentionOp op, const WarpShape &w,
                       int64_t queries) const {
    if (splits > 0)
      return splits;
    int64_t batch = op.getQ().getType().getDimSize(0);
    if (ShapedType::isDynamic(batch))
      batch = 1;
    int64_t rowBlocks =
        batch * w.kvHeads * w.chunks * std::max<int64_t>(queries, 1);
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
    a.q = g.toBuffer(op.getQ());
    a.k = g.toBuffer(op.getK());
    a.v = g.toBuffer(op.getV());
    a.lengths = op.getLengths() ? g.toBuffer(op.getLengths()) : Value();
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
      int64_t queries = outType.getDimSize(1);
      // Partials [B, T, Hq, splits] and [B, T, Hq, splits, D] in f32,
      // allocated outside any guard.
      Type f32 = b.getF32Type();
      struct Partials {
        Value m, l, acc;
      };
      auto allocPartials = [&](int64_t count) {
        SmallVector<int64_t> shape(outType.getShape());
        shape.insert(shape.begin() + 3, count);
        SmallVector<int64_t> ml(shape.begin(), shape.begin() + 4);
        Partials p;
        p.m = memref::AllocOp::create(b, MemRefType::get(ml, f32), dynSizes);
        p.l = memref::AllocOp::create(b, MemRefType::get(ml, f32), dynSizes);
        p.acc =
            memref::AllocOp::create(b, MemRefType::get(shape, f32), dynSizes);
        return p;
      };
      auto emitSplit = [&](int64_t count, const Partials &p) {
        if (count == 1)
          return kernels.attention(1, Value(), Value(), Value());
        kernels.attention(count, p.m, p.l, p.acc);
        kernels.combine(count, p.m, p.l, p.acc);
      };
      if (!ShapedType::isDynamic(queries)) {
        int64_t count =
            queries <= kSplitQueries ? chooseSplits(op, *w, queries) : 1;
        emitSplit(count, count > 1 ? allocPartials(count) : Partials());
      } else {
        // Per call: the split kernels up to kSplitQueries tokens (splits
        // chosen for one query), one block per row above.
        int64_t count = chooseSplits(op, *w, 1);
        Partials p = count > 1 ? allocPartials(count) : Partials();
        OpBuilder::InsertionGuard guard(b);
        auto shortCalls = TokenGuardOp::create(
            b, b.getI64IntegerAttr(0), b.getI64IntegerAttr(kSplitQueries));
        b.setInsertionPointToStart(&shortCalls.getBody().emplaceBlock());
        emitSplit(count, p);
        b.setInsertionPointAfter(shortCalls);
        auto longCalls = TokenGuardOp::create(
            b, b.getI64IntegerAttr(kSplitQueries + 1), b.getI64IntegerAttr(-1));
        b.setInsertionPointToStart(&longCalls.getBody().emplaceBlock());
        emitSplit(1, Partials());
      }
    }
    Value result = bufferization::ToTensorOp::create(
        b, outType, a.out, /*restrict=*/true, /*writable=*/true);
    op.getOut().replaceAllUsesWith(result);
    op.erase();
  }
};

} // namespace
