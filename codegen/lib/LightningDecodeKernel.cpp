//===- LightningDecodeKernel.cpp - lightning attention for short calls ----===//
//
// The decode kernel of hymir-lightning-to-gpu, for a few tokens per call
// (decode steps, speculative verification): the token recurrence with the
// state in registers, read and written once.
//
//===----------------------------------------------------------------------===//

#include "LightningKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// The decode kernel (a short static sequence, T <= 16): the token
/// recurrence with the state in registers, read and written once. A thread
/// block covers 64 value columns (all of a narrower value dim) of one head with
/// `kGroups` groups of threads over the key dim; thread t holds S[g R + r][e]
/// for r < R = D / 4 with e = (t / 32) * 8 + t % 8 and g = (t / 8) % 4, so the
/// 4 groups of a column sit in one warp and o = q S is summed with two
/// shuffles.
struct DecodeKernelBuilder : LightningKernel {
  static constexpr int64_t kGroups = kLightningDecodeGroups;
  DecodeKernelBuilder(ImplicitLocOpBuilder &b,
                      const LightningOperands &operands, int64_t keyDim,
                      Type elt)
      : LightningKernel(b, operands), keyDim(keyDim), elt(elt) {}
  int64_t keyDim;
  Type elt;

  void build() {
    int64_t rows = keyDim / kGroups;
    Value lane = arith::RemUIOp::create(b, tid, idx(32));
    Value e = add(mul(arith::DivUIOp::create(b, tid, idx(32)), idx(8)),
                  arith::RemUIOp::create(b, lane, idx(8)));
    Value g = arith::DivUIOp::create(b, lane, idx(8));
    Value col = add(vOff, e);
    Value d0 = mul(g, idx(rows));
    Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
    SmallVector<Value> state;
    for (int64_t r = 0; r < rows; ++r)
      state.push_back(initialState
                          ? Value(memref::LoadOp::create(
                                b, initialState,
                                ValueRange{batch, head, add(d0, idx(r)), col}))
                          : zero);
    Value slope = memref::LoadOp::create(b, slopes, ValueRange{head});
    Value lambda = math::ExpOp::create(b, arith::NegFOp::create(b, slope));
    auto loop = scf::ForOp::create(b, idx(0), tokens, idx(1), state);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value t = loop.getInductionVar();
      Value vx =
          toF32(memref::LoadOp::create(b, v, ValueRange{batch, t, head, col}));
      SmallVector<Value> next;
      Value partial = zero;
      for (int64_t r = 0; r < rows; ++r) {
        Value d = add(d0, idx(r));
        Value kx =
            toF32(memref::LoadOp::create(b, k, ValueRange{batch, t, head, d}));
        Value qx =
            toF32(memref::LoadOp::create(b, q, ValueRange{batch, t, head, d}));
        // S = lambda S + k^T v, then o = q S with the updated state.
        Value sr = math::FmaOp::create(b, lambda, loop.getRegionIterArgs()[r],
                                       arith::MulFOp::create(b, kx, vx));
        next.push_back(sr);
        partial = math::FmaOp::create(b, qx, sr, partial);
      }
      for (int32_t offset : {8, 16}) {
        auto shuffle = gpu::ShuffleOp::create(b, partial, offset, 32,
                                              gpu::ShuffleMode::XOR);
        partial = arith::AddFOp::create(b, partial, shuffle.getShuffleResult());
      }
      auto first = scf::IfOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, g, idx(0)),
          /*withElseRegion=*/false);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&first.getThenRegion().front());
        Value o = elt.isF32() ? partial
                              : Value(arith::TruncFOp::create(b, elt, partial));
        memref::StoreOp::create(b, o, out, ValueRange{batch, t, head, col});
      }
      scf::YieldOp::create(b, next);
    }
    for (int64_t r = 0; r < rows; ++r)
      memref::StoreOp::create(b, loop.getResult(r), finalState,
                              ValueRange{batch, head, add(d0, idx(r)), col});
  }
};

} // namespace

void mlir::hymir::buildLightningDecodeKernel(ImplicitLocOpBuilder &b,
                                             const LightningOperands &operands,
                                             int64_t keyDim, Type elt) {
  DecodeKernelBuilder(b, operands, keyDim, elt).build();
}
