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
#include "mlir/Dialect/Utils/StaticValueUtils.h"
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

/// The vector decode kernel (LightningDecodeVectorShape): thread t of warp
/// w holds S[g R + r][c .. c + 3] for r < R, with q = columns / 4 lanes per
/// row, the lane's quad c = 4 (lane % q) and its row group g = w (32 / q) +
/// lane / q. Per token: S = lambda S + k^T v element by element (as the
/// scalar kernel), the thread's partial o over its R rows, summed over the
/// row groups of the warp with xor shuffles and over the warps through
/// shared memory. The last token's state is stored row by row as it is
/// updated, before the output sums.
struct VectorDecodeKernelBuilder : LightningKernel {
  VectorDecodeKernelBuilder(ImplicitLocOpBuilder &b,
                            const LightningOperands &operands,
                            const LightningDecodeVectorShape &shape, Type elt)
      : LightningKernel(b, operands), shape(shape), elt(elt) {}
  LightningDecodeVectorShape shape;
  Type elt;

  int64_t eltBytes() const { return elt.getIntOrFloatBitWidth() / 8; }
  Value load(Value memref, int64_t n, ValueRange at, int64_t bytes) {
    Type type = cast<MemRefType>(memref.getType()).getElementType();
    return vector::LoadOp::create(b, VectorType::get({n}, type), memref, at,
                                  /*nontemporal=*/false,
                                  llvm::MaybeAlign(n * bytes));
  }
  void store(ArrayRef<Value> values, Value memref, ValueRange at,
             int64_t bytes) {
    auto type = VectorType::get({static_cast<int64_t>(values.size())},
                                values.front().getType());
    Value v = vector::FromElementsOp::create(b, type, values);
    vector::StoreOp::create(b, v, memref, at, /*nontemporal=*/false,
                            llvm::MaybeAlign(values.size() * bytes));
  }
  SmallVector<Value> elements(Value vec, int64_t n) {
    SmallVector<Value> out;
    for (int64_t i = 0; i < n; ++i)
      out.push_back(toF32(vector::ExtractOp::create(b, vec, i)));
    return out;
  }

  void build() {
    const LightningDecodeVectorShape &s = shape;
    int64_t lanesPerRow = s.columns / 4, rowsPerWarp = 32 / lanesPerRow;
    Value lane = rem(tid, 32), warp = div(tid, 32);
    Value quad = rem(lane, lanesPerRow), rowInWarp = div(lane, lanesPerRow);
    Value d0 = mul(add(mul(warp, rowsPerWarp), rowInWarp), s.rows);
    Value col = add(vOff, mul(quad, 4));
    Value zero = f32(0);
    Value partials =
        s.warps > 1 ? view(sharedBytes(), 0, {s.warps, s.columns}) : Value();
    auto round = [&](Value x) -> Value {
      return elt.isF32() ? x : Value(arith::TruncFOp::create(b, elt, x));
    };
    // Token t's q and k (the thread's R key rows) and v (its 4 columns).
    auto loadToken = [&](Value t) {
      return std::array<SmallVector<Value>, 3>{
          elements(load(q, s.rows, ValueRange{batch, t, head, d0}, eltBytes()),
                   s.rows),
          elements(load(k, s.rows, ValueRange{batch, t, head, d0}, eltBytes()),
                   s.rows),
          elements(load(v, 4, ValueRange{batch, t, head, col}, eltBytes()), 4)};
    };
    // The state: R rows of 4 columns, one 16-byte load each, all issued
    // before any use.
    auto loadState = [&]() {
      SmallVector<Value> state;
      for (int64_t r = 0; r < s.rows; ++r) {
        if (!initialState) {
          state.append(4, zero);
          continue;
        }
        Value quadValues =
            load(initialState, 4, ValueRange{batch, head, add(d0, r), col}, 4);
        llvm::append_range(state, elements(quadValues, 4));
      }
      return state;
    };
    // Token t: S = lambda S + k^T v and o = q S with the updated state;
    // where `last` holds (always where it is null) the new state is stored
    // row by row as soon as the row is updated, before the next rows and
    // the output's sums, so that a row's stores leave while later rows'
    // loads still arrive (a block otherwise reads all of its state and
    // only then writes it). Each element is stored by the thread that
    // loaded it, after that load: the update in place stays valid.
    auto step = [&](Value t, ArrayRef<Value> old,
                    const std::array<SmallVector<Value>, 3> &in, Value lambda,
                    Value last) {
      const auto &[qx, kx, vx] = in;
      SmallVector<Value> next, partial(4, zero);
      for (int64_t r = 0; r < s.rows; ++r) {
        for (int64_t c = 0; c < 4; ++c) {
          Value sr =
              math::FmaOp::create(b, lambda, old[r * 4 + c],
                                  arith::MulFOp::create(b, kx[r], vx[c]));
          next.push_back(sr);
          partial[c] = math::FmaOp::create(b, qx[r], sr, partial[c]);
        }
        OpBuilder::InsertionGuard inner(b);
        if (last) {
          auto storeRow = scf::IfOp::create(b, last, /*withElseRegion=*/false);
          b.setInsertionPointToStart(&storeRow.getThenRegion().front());
        }
        store(ArrayRef<Value>(next).slice(r * 4, 4), finalState,
              ValueRange{batch, head, add(d0, r), col}, 4);
      }
      // The row groups of a warp: lanes lanesPerRow apart.
      for (int64_t offset = lanesPerRow; offset < 32; offset *= 2)
        for (Value &p : partial) {
          auto shuffle =
              gpu::ShuffleOp::create(b, p, offset, 32, gpu::ShuffleMode::XOR);
          p = arith::AddFOp::create(b, p, shuffle.getShuffleResult());
        }
      Value firstRow =
          arith::CmpIOp::create(b, arith::CmpIPredicate::eq, rowInWarp, idx(0));
      auto first = scf::IfOp::create(b, firstRow, /*withElseRegion=*/false);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&first.getThenRegion().front());
        if (partials) {
          store(partial, partials, ValueRange{warp, mul(quad, 4)}, 4);
        } else {
          SmallVector<Value> o;
          for (Value p : partial)
            o.push_back(round(p));
          store(o, out, ValueRange{batch, t, head, col}, eltBytes());
        }
      }
      if (partials) {
        // The warps' sums, in warp order, by the block's first `columns`
        // threads; the second barrier frees the buffer for the next token.
        gpu::BarrierOp::create(b);
        auto sums = scf::IfOp::create(b, ult(tid, idx(s.columns)),
                                      /*withElseRegion=*/false);
        {
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPointToStart(&sums.getThenRegion().front());
          Value o =
              memref::LoadOp::create(b, partials, ValueRange{idx(0), tid});
          for (int64_t w = 1; w < s.warps; ++w)
            o = arith::AddFOp::create(
                b, o,
                memref::LoadOp::create(b, partials, ValueRange{idx(w), tid}));
          memref::StoreOp::create(b, round(o), out,
                                  ValueRange{batch, t, head, add(vOff, tid)});
        }
        gpu::BarrierOp::create(b);
      }
      return next;
    };

    Value slope = memref::LoadOp::create(b, slopes, ValueRange{head});
    Value lambda = math::ExpOp::create(b, arith::NegFOp::create(b, slope));
    // One static token (a decode step): q, k and v are loaded before the
    // state, so that they are there when the first state rows arrive.
    int64_t qTokens = cast<ShapedType>(q.getType()).getDimSize(1);
    if (qTokens == 1 || getConstantIntValue(tokens) == 1) {
      auto in = loadToken(idx(0));
      step(idx(0), loadState(), in, lambda, /*last=*/Value());
      return;
    }
    auto loop = scf::ForOp::create(b, idx(0), tokens, idx(1), loadState());
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value t = loop.getInductionVar();
      Value last = arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                         add(t, idx(1)), tokens);
      SmallVector<Value> old(loop.getRegionIterArgs());
      scf::YieldOp::create(b, step(t, old, loadToken(t), lambda, last));
    }
    // No token: the state passes through unchanged.
    auto noToken = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tokens, idx(0)),
        /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&noToken.getThenRegion().front());
    SmallVector<Value> last(loop.getResults());
    for (int64_t r = 0; r < s.rows; ++r)
      store(ArrayRef<Value>(last).slice(r * 4, 4), finalState,
            ValueRange{batch, head, add(d0, r), col}, 4);
  }
};

} // namespace

std::optional<LightningDecodeVectorShape>
mlir::hymir::LightningDecodeVectorShape::get(int64_t keyDim, int64_t valueDim,
                                             int64_t columns, int64_t maxRows) {
  if (columns < 4 || columns > 128 || !llvm::isPowerOf2_64(columns) ||
      valueDim % columns != 0)
    return std::nullopt;
  int64_t rowsPerWarp = 32 / (columns / 4);
  for (int64_t rows : {8, 4, 2, 1}) {
    if (rows > maxRows || keyDim % (rowsPerWarp * rows) != 0)
      continue;
    int64_t warps = keyDim / (rowsPerWarp * rows);
    if (warps > 32)
      return std::nullopt;
    return LightningDecodeVectorShape{keyDim, columns, rows, warps};
  }
  return std::nullopt;
}

void mlir::hymir::buildLightningDecodeVectorKernel(
    ImplicitLocOpBuilder &b, const LightningOperands &operands,
    const LightningDecodeVectorShape &shape, Type elt) {
  VectorDecodeKernelBuilder(b, operands, shape, elt).build();
}

void mlir::hymir::buildLightningDecodeKernel(ImplicitLocOpBuilder &b,
                                             const LightningOperands &operands,
                                             int64_t keyDim, Type elt) {
  DecodeKernelBuilder(b, operands, keyDim, elt).build();
}
