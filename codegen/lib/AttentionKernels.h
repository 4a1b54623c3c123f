//===- AttentionKernels.h - softmax-attention kernel builders ---*- C++ -*-===//
//
// What the kernels of hymir-softmax-attention-to-kernels share: the buffers
// and sizes of one hymir.softmax_attention, the key range a query sees, the
// run-time check of the lengths; and the sm_90a prefill kernel on the
// Hopper pipeline layer (AttentionHopperKernel.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_LIB_ATTENTIONKERNELS_H
#define HYMIR_CODEGEN_LIB_ATTENTIONKERNELS_H

#include "GpuBuilder.h"

#include "hymir/Transforms/RunChecks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

namespace mlir::hymir {

/// The buffers and sizes every kernel of one op reads.
struct AttentionBuffers {
  Value q, k, v, lengths, out;
  /// The run-time check of the lengths (with `lengths`): each in [0, S].
  Value lengthsCheck;
  /// Sizes as index values (static ones as constants).
  Value batch, queries, keys, heads, kvHeads, dim;
  bool causal = false;
  float scale = 1;
  /// Fused partial RoPE on q (the pipeline kernel and the tensor-core split
  /// kernel; the warp kernels never see it set): when set, `q` is
  /// the unrotated input and the kernel rotates its first `ropeRotary`
  /// channels at `ropePositions` ([B, T] i32), as hymir.rope would.
  Value ropePositions;
  int64_t ropeRotary = 0;
  double ropeTheta = 0;
};

/// Builders of one op's kernels, on index values.
struct AttentionCommon : GpuBuilder {
  AttentionCommon(ImplicitLocOpBuilder &b, const AttentionBuffers &a)
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
  /// The x of lane (lane ^ offset): one butterfly exchange of a warp
  /// reduction.
  Value shuffleXor(Value x, int32_t offset) {
    return gpu::ShuffleOp::create(b, x, offset, 32, gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }
  Value fromF32(Value x, Type elt) {
    return elt.isF32() ? x : Value(arith::TruncFOp::create(b, elt, x));
  }

  /// hymir.rope's value of channel `d` (index) of a row at `position` (i32),
  /// with the arithmetic of its generic lowering: `load(channel)` gives a
  /// channel of the unrotated row as f32; channels past the rotary span
  /// come back as they are. The fused forms and the RoPE kernel share it.
  Value ropeChannel(Value d, Value position, function_ref<Value(Value)> load) {
    Type f32Type = b.getF32Type();
    int64_t half = a.ropeRotary / 2;
    Value xv = load(d);
    Value inRotary = ult(d, idx(a.ropeRotary));
    Value firstHalf = ult(d, idx(half));
    Value partner = arith::SelectOp::create(b, firstHalf, add(d, idx(half)),
                                            sub(d, idx(half)));
    partner = arith::SelectOp::create(b, inRotary, partner, d);
    float logTheta = std::log(a.ropeTheta);
    Value iF = arith::UIToFPOp::create(
        b, f32Type,
        arith::IndexCastUIOp::create(b, b.getI64Type(), rem(d, half)));
    Value invFreq = math::ExpOp::create(
        b, fmul(iF, f32(-2.0f * logTheta / static_cast<float>(a.ropeRotary))));
    Value angle = fmul(arith::SIToFPOp::create(b, f32Type, position), invFreq);
    Value cos = math::CosOp::create(b, angle);
    Value sin = math::SinOp::create(b, angle);
    Value signedSin = arith::SelectOp::create(
        b, firstHalf, arith::NegFOp::create(b, sin), sin);
    Value rotated = fadd(fmul(xv, cos), fmul(load(partner), signedSin));
    return arith::SelectOp::create(b, inRotary, rotated, xv);
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

  /// Where `first` holds (one thread per sequence), flags lengths[batch]
  /// outside [0, S] as the call's error (the kernels read it clamped).
  void checkLength(Value batch, Value first) {
    if (!a.lengths)
      return;
    Value raw = memref::LoadOp::create(b, a.lengths, ValueRange{batch});
    Value len = toIndex(raw);
    Value bad = arith::OrIOp::create(b, slt(len, idx(0)), slt(a.keys, len));
    auto flag = scf::IfOp::create(b, arith::AndIOp::create(b, first, bad),
                                  /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&flag.getThenRegion().front());
    flagRunCheck(b, b.getLoc(), a.lengthsCheck, batch, raw,
                 add(a.keys, idx(1)));
  }
  Value isZero(Value x) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::eq, x, idx(0));
  }
  Value allOf(std::initializer_list<Value> conditions) {
    Value all;
    for (Value c : conditions)
      all = all ? Value(arith::AndIOp::create(b, all, c)) : c;
    return all;
  }
};

/// The sm_90a prefill kernel's static shape (AttentionHopperKernel.cpp): a
/// block holds 128 query rows of one KV head (GQA packing, as the
/// mma.sync kernel), keys in tiles of 128 through TMA rings.
struct HopperAttentionShape {
  int64_t heads = 0, kvHeads = 0, dim = 0, group = 0;
  /// The consumers' order of work per K/V tile: 0 serial (each warpgroup
  /// waits for S, runs the softmax, then P V), 1 ping-pong (the two
  /// warpgroups take turns issuing their products, so one's softmax runs
  /// under the other's), 2 ping-pong with the next tile's S issued before
  /// this tile's softmax, which then runs under its own P V.
  int64_t schedule = 0;
  static constexpr int64_t kRows = 128, kKeys = 128, kStages = 2;
  static constexpr int64_t kThreads = 384; // producer + two consumers
  /// Whether the kernel covers bf16 attention of this shape: D in {64,
  /// 128}, G a power of two dividing 128.
  static bool covers(int64_t heads, int64_t kvHeads, int64_t dim);
  /// Dynamic shared memory: Q, the K and V rings, the barriers, and with
  /// a fused RoPE of `rotary` channels its cos/sin table.
  int64_t sharedBytes(int64_t rotary = 0) const;
  /// Whether the kernel can rotate q itself (RoPE of `rotary` channels):
  /// pairs of whole 16-byte chunks and a table of at most 32 KiB.
  bool coversRope(int64_t rotary) const;
};

/// hymir.rope on the q buffer `in` into `out` (same shape): one thread per
/// element, the same arithmetic as the op's generic lowering. The short
/// calls of a fused RoPE take this before the warp kernels.
void emitRopeKernel(ImplicitLocOpBuilder &b, const AttentionBuffers &a,
                    Value in, Value out);

/// Emits the prefill kernel for `a` (bf16, sm_90a; no key splits).
void emitHopperAttention(ImplicitLocOpBuilder &b, const AttentionBuffers &a,
                         const HopperAttentionShape &shape);

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_LIB_ATTENTIONKERNELS_H
