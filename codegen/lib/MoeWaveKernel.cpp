//===- MoeWaveKernel.cpp - MoE decode experts in one wave -----------------===//
//
// The decode kernels of hymir-moe-experts-to-gpu (decode-wave, the default):
// gate/up (act[r, i] = SiLU(x_r . W1[e, i]) * (x_r . W3[e, i])), then down
// (down[r, n] = act_r . W2[e, n]), each over a fixed grid (decode-wave
// blocks, 396 by default: 3 blocks of 8 warps on each of the 132 SMs of an
// H100/H200, which the kernels' 80 registers a thread allow) rather than
// one block per 8 weight rows and expert rank.
//
// Each block first ranks the experts that have tokens (warp 0: a shuffle
// scan over the offsets, expert of each rank into shared memory), then
// trims every such expert's group of its closing padding rows (one warp an
// expert), so no warp repeats that work per row. Then the block's warps
// stride over the items (expert rank a, weight row o), a-major so that
// neighbouring warps read neighbouring rows: warp w of the grid takes items
// w, w + W, w + 2 W, ... (W the grid's warps), so every warp streams about
// the same bytes and the kernel ends in one step, not in a partly filled
// last wave.
//
// A warp streams its weight row(s) once per batch of kRows routed rows of
// e's group (the rest one by one): each lane 8 consecutive elements per
// step (16-byte loads of bf16), as many steps unrolled as keep about 12
// such loads in flight, each product summed by fma into one f32 scalar per
// (weight matrix, routed row) -- not a vector per lane, which would cost 8
// registers an accumulator and the occupancy with them. Then one shuffle
// butterfly per scalar and lane 0 stores.
//
//===----------------------------------------------------------------------===//

#include "MoeKernels.h"

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::hymir;

namespace {

constexpr int64_t kWarps = 8;          // warps per block
constexpr int64_t kRows = 4;           // routed rows per pass over a weight row
constexpr int64_t kLoadsInFlight = 12; // 16-byte loads per lane per step

/// One launch of the wave kernels, built inside the gpu.launch.
struct WaveBuilder : GpuBuilder {
  using GpuBuilder::GpuBuilder;
  Value lane, warp, tid;
  Value sorted, offsets;
  int64_t experts = 0, tile = 0;
  /// Shared memory: the expert of each rank, each rank's group [start,
  /// end) without padding, the number of experts with tokens.
  Value rankExpert, groupStart, groupEnd, busyCount;

  Value i32Of(Value v) {
    return arith::IndexCastOp::create(b, b.getI32Type(), v);
  }
  Value shuffle(Value v, Value at, gpu::ShuffleMode mode) {
    return gpu::ShuffleOp::create(b, v, at, i32(32), mode).getShuffleResult();
  }
  Value loadIndex(Value memref, ValueRange at) {
    return toIndex(memref::LoadOp::create(b, memref, at));
  }
  template <typename Fn> void ifThen(Value cond, Fn body) {
    auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&op.getThenRegion().front());
    body();
  }

  /// Warp 0 ranks the experts with tokens; then one warp per such expert
  /// finds its group's rows without the closing padding. Barriers after
  /// each.
  void prologue() {
    Type i32Type = b.getI32Type();
    ifThen(ult(tid, idx(32)), [&] {
      Value carry = i32(0);
      for (int64_t q = 0; q * 32 < experts; ++q) {
        Value e = add(lane, 32 * q);
        Value valid = ult(e, idx(experts));
        Value at = arith::MinUIOp::create(b, e, idx(experts - 1));
        Value lo = memref::LoadOp::create(b, offsets, ValueRange{at});
        Value hi = memref::LoadOp::create(b, offsets, ValueRange{add(at, 1)});
        Value busy = arith::ExtUIOp::create(
            b, i32Type,
            arith::AndIOp::create(
                b, valid,
                arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, hi, lo)));
        Value lane32 = i32Of(lane);
        Value incl = busy;
        for (int64_t d : {1, 2, 4, 8, 16}) {
          Value up = shuffle(incl, i32(d), gpu::ShuffleMode::UP);
          Value has = arith::CmpIOp::create(b, arith::CmpIPredicate::uge,
                                            lane32, i32(d));
          incl = arith::AddIOp::create(
              b, incl, arith::SelectOp::create(b, has, up, i32(0)));
        }
        Value rank = toIndex(arith::AddIOp::create(
            b, carry, arith::SubIOp::create(b, incl, busy)));
        ifThen(arith::TruncIOp::create(b, b.getI1Type(), busy), [&] {
          memref::StoreOp::create(b, i32Of(e), rankExpert, ValueRange{rank});
        });
        carry = arith::AddIOp::create(
            b, carry, shuffle(incl, i32(31), gpu::ShuffleMode::IDX));
      }
      ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, idx(0)),
             [&] {
               memref::StoreOp::create(b, carry, busyCount, ValueRange{idx(0)});
             });
    });
    gpu::BarrierOp::create(b);
    Value busy = loadIndex(busyCount, ValueRange{idx(0)});
    stridedLoop(warp, busy, kWarps, [&](Value a) {
      Value e = loadIndex(rankExpert, ValueRange{a});
      Value start = loadIndex(offsets, ValueRange{e});
      Value end = loadIndex(offsets, ValueRange{add(e, 1)});
      end = sub(end, moePaddingRows(b, sorted, lane, tile, start, end));
      ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, idx(0)),
             [&] {
               memref::StoreOp::create(b, i32Of(start), groupStart,
                                       ValueRange{a});
               memref::StoreOp::create(b, i32Of(end), groupEnd, ValueRange{a});
             });
    });
    gpu::BarrierOp::create(b);
  }

  /// acc + sum_i w[i] x[i], by fma in element order.
  Value dot8(Value w, Value x, Value acc) {
    for (int64_t i = 0; i < kMoeVector; ++i)
      acc = math::FmaOp::create(b, vector::ExtractOp::create(b, w, i),
                                vector::ExtractOp::create(b, x, i), acc);
    return acc;
  }

  /// One warp's item: weight row `o` of expert `e` (of each of `weights`,
  /// [E, O, K]) against the rows [from, to) of e's group, `batch` of them
  /// per pass; `inputRow(r)` the row of `input` that routed row r reads;
  /// `store(r, sums)` by lane 0.
  void passes(int64_t batch, int64_t width, Value e, Value o, Value from,
              Value to, ArrayRef<Value> weights, Value input,
              function_ref<Value(Value)> inputRow,
              function_ref<void(Value, ArrayRef<Value>)> store) {
    auto batches = scf::ForOp::create(b, from, to, idx(batch));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(batches.getBody());
    Value r0 = batches.getInductionVar();
    SmallVector<Value> rows, inputs;
    for (int64_t q = 0; q < batch; ++q) {
      rows.push_back(add(r0, q));
      inputs.push_back(inputRow(rows.back()));
    }
    int64_t nw = weights.size();
    int64_t perStep = nw + batch;
    int64_t unroll = 1;
    for (int64_t u : {4, 2})
      if (u * perStep <= kLoadsInFlight && width % (32 * kMoeVector * u) == 0) {
        unroll = u;
        break;
      }
    SmallVector<Value> init(nw * batch, f32(0.0f));
    auto steps = scf::ForOp::create(b, mul(lane, kMoeVector), idx(width),
                                    idx(32 * kMoeVector * unroll), init);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(steps.getBody());
      // Every load of the iteration first, then the products.
      SmallVector<Value> w, x;
      for (int64_t u = 0; u < unroll; ++u) {
        Value k = add(steps.getInductionVar(), u * 32 * kMoeVector);
        for (Value m : weights)
          w.push_back(loadMoeVector(b, m, ValueRange{e, o, k}));
        for (int64_t q = 0; q < batch; ++q)
          x.push_back(loadMoeVector(b, input, ValueRange{inputs[q], k}));
      }
      SmallVector<Value> next(steps.getRegionIterArgs());
      for (int64_t u = 0; u < unroll; ++u)
        for (int64_t m = 0; m < nw; ++m)
          for (int64_t q = 0; q < batch; ++q)
            next[m * batch + q] =
                dot8(w[u * nw + m], x[u * batch + q], next[m * batch + q]);
      scf::YieldOp::create(b, next);
    }
    SmallVector<Value> sums;
    for (Value s : steps.getResults()) {
      for (int64_t offset : {16, 8, 4, 2, 1})
        s = arith::AddFOp::create(
            b, s, shuffle(s, i32(offset), gpu::ShuffleMode::XOR));
      sums.push_back(s);
    }
    ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, idx(0)),
           [&] {
             for (int64_t q = 0; q < batch; ++q) {
               SmallVector<Value> mine;
               for (int64_t m = 0; m < nw; ++m)
                 mine.push_back(sums[m * batch + q]);
               store(rows[q], mine);
             }
           });
  }
};

} // namespace

void mlir::hymir::emitMoeWaveKernels(ImplicitLocOpBuilder &b,
                                     const MoeExpertsOperands &o,
                                     int64_t blocks, int64_t layoutTile) {
  GpuBuilder g(b);
  int64_t experts = o.experts;
  // Shared memory: rankExpert, groupStart, groupEnd [E] and the count.
  int64_t smemBytes = (3 * experts + 1) * 4;
  auto launchWave =
      [&](MoePart part, int64_t outputs, int64_t width, ArrayRef<Value> weights,
          Value input, function_ref<Value(WaveBuilder &, Value)> inputRow,
          function_ref<void(WaveBuilder &, Value, Value, ArrayRef<Value>)>
              store) {
        gpu::LaunchOp launchOp = g.launch(
            g.idx(blocks), g.idx(1), g.idx(1), g.idx(kWarps * 32),
            g.i32(smemBytes), [&](gpu::LaunchOp launch) {
              WaveBuilder w(b);
              w.tid = launch.getThreadIds().x;
              w.lane = w.rem(w.tid, 32);
              w.warp = w.div(w.tid, 32);
              w.sorted = o.sorted;
              w.offsets = o.offsets;
              w.experts = experts;
              w.tile = layoutTile;
              Value smem = w.sharedBytes();
              Type i32 = b.getI32Type();
              w.rankExpert = w.view(smem, 0, {experts}, i32);
              w.groupStart = w.view(smem, 4 * experts, {experts}, i32);
              w.groupEnd = w.view(smem, 8 * experts, {experts}, i32);
              w.busyCount = w.view(smem, 12 * experts, {1}, i32);
              w.prologue();
              // Items (rank a, row o), a-major; the grid's warps stride over
              // them.
              Value busy = w.loadIndex(w.busyCount, ValueRange{w.idx(0)});
              Value items = w.mul(busy, outputs);
              Value first =
                  w.add(w.mul(launch.getBlockIds().x, kWarps), w.warp);
              w.stridedLoop(first, items, blocks * kWarps, [&](Value item) {
                Value a = w.div(item, outputs);
                Value row = w.rem(item, outputs);
                Value e = w.loadIndex(w.rankExpert, ValueRange{a});
                Value start = w.loadIndex(w.groupStart, ValueRange{a});
                Value end = w.loadIndex(w.groupEnd, ValueRange{a});
                Value full =
                    w.add(start, w.mul(w.div(w.sub(end, start), kRows), kRows));
                auto rowOf = [&](Value r) { return inputRow(w, r); };
                auto storeAt = [&](Value r, ArrayRef<Value> s) {
                  store(w, r, row, s);
                };
                w.passes(kRows, width, e, row, start, full, weights, input,
                         rowOf, storeAt);
                w.passes(1, width, e, row, full, end, weights, input, rowOf,
                         storeAt);
              });
            });
        setMoePart(launchOp, part);
      };
  launchWave(
      MoePart::GateUp, o.inter, o.width, {o.w1, o.w3}, o.x,
      [&](WaveBuilder &w, Value r) {
        return w.loadIndex(o.sorted, ValueRange{r});
      },
      [&](WaveBuilder &w, Value r, Value i, ArrayRef<Value> s) {
        memref::StoreOp::create(b, o.swiglu(b, s[0], s[1]), o.act,
                                ValueRange{r, i});
      });
  launchWave(
      MoePart::Down, o.width, o.inter, {o.w2}, o.act,
      [&](WaveBuilder &, Value r) { return r; },
      [&](WaveBuilder &, Value r, Value n, ArrayRef<Value> s) {
        memref::StoreOp::create(b, s[0], o.down, ValueRange{r, n});
      });
}
