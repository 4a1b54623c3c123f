//===- MoeLayoutKernel.cpp - the grouped layout of routed rows on a GPU ---===//
//
// The kernel of hymir-moe-layout-to-gpu: the grouped layout of the picks of
// hymir.moe_route or hymir.moe_layout in one block of kLayoutThreads
// threads, and its phases, which the fused routing kernel of
// MoeRouteKernel.cpp runs after its own.
//
//===----------------------------------------------------------------------===//

#include "MoeKernels.h"

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// The grouped layout in one block of kLayoutThreads threads: per-expert
/// counts by shared-memory atomics, the group starts (counts rounded up to
/// `tile`) by a scan in warp 0, then every pair placed at its expert's
/// cursor, again by atomics, so the order of the pairs within a group is
/// not fixed (each row's results do not depend on where it lies). Picks
/// outside [0, E) get slot -1 and no row.
constexpr int64_t kLayoutThreads = 1024;

} // namespace

MoeLayoutBuffers
mlir::hymir::allocMoeLayout(ImplicitLocOpBuilder &b, Value tokens, int64_t topK,
                            int64_t experts, int64_t tile,
                            ArrayRef<RankedTensorType> resultTypes) {
  GpuBuilder g(b);
  Type i32 = b.getI32Type();
  MoeLayoutBuffers out;
  out.experts = experts;
  out.tile = tile;
  out.topK = topK;
  out.tokens = tokens;
  // Buffers of static [E + 1] offsets and [T, K] slots (cast to the result
  // types at the end); the layout's row count is T * K + E * (tile - 1)
  // unless the result type has it.
  out.bufferTypes = {resultTypes[0], RankedTensorType::get({experts + 1}, i32),
                     RankedTensorType::get({ShapedType::kDynamic, topK}, i32)};
  auto alloc = [&](RankedTensorType type, ValueRange dyn) -> Value {
    return memref::AllocOp::create(
        b, MemRefType::get(type.getShape(), type.getElementType()), dyn);
  };
  SmallVector<Value> rowsDyn;
  if (resultTypes[0].isDynamicDim(0)) {
    out.rows = g.add(g.mul(tokens, topK), experts * (tile - 1));
    rowsDyn.push_back(out.rows);
  } else {
    out.rows = g.idx(resultTypes[0].getDimSize(0));
  }
  out.sorted = alloc(out.bufferTypes[0], rowsDyn);
  out.offsets = alloc(out.bufferTypes[1], {});
  out.slots = alloc(out.bufferTypes[2], {tokens});
  return out;
}

Value mlir::hymir::moeLayoutSharedBytes(ImplicitLocOpBuilder &b,
                                        const MoeLayoutBuffers &l) {
  return arith::ConstantIntOp::create(b, b.getI32Type(), 2 * l.experts * 4);
}

void mlir::hymir::emitMoeLayoutPhases(ImplicitLocOpBuilder &b, Value tid,
                                      int64_t threads, Value picks,
                                      const MoeLayoutBuffers &l) {
  GpuBuilder g(b);
  Type i32 = b.getI32Type();
  auto c = [&](int64_t n) { return g.idx(n); };
  auto c32 = [&](int64_t n) { return g.i32(n); };
  int64_t experts = l.experts, k = l.topK, tile = l.tile;
  Value pairs = g.mul(l.tokens, k);
  Value bytes = g.sharedBytes();
  Value counts = g.view(bytes, 0, {experts}, i32),
        cursor = g.view(bytes, experts * 4, {experts}, i32);
  auto strided = [&](Value n, function_ref<void(Value)> body) {
    g.stridedLoop(tid, n, threads, body);
  };
  // Each pair's expert, when in range.
  auto eachPick = [&](function_ref<void(Value, Value, Value)> inRange,
                      function_ref<void(Value, Value)> outOfRange) {
    strided(pairs, [&](Value p) {
      Value t = g.div(p, k);
      Value j = g.rem(p, k);
      Value e = memref::LoadOp::create(b, picks, ValueRange{t, j});
      Value ok = arith::AndIOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::sge, e, c32(0)),
          arith::CmpIOp::create(b, arith::CmpIPredicate::slt, e, c32(experts)));
      auto branch = scf::IfOp::create(b, ok, /*withElseRegion=*/true);
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(&branch.getThenRegion().front());
      inRange(t, j, g.toIndex(e));
      b.setInsertionPointToStart(&branch.getElseRegion().front());
      outOfRange(t, j);
    });
  };
  strided(c(experts), [&](Value e) {
    memref::StoreOp::create(b, c32(0), counts, ValueRange{e});
  });
  strided(l.rows, [&](Value r) {
    memref::StoreOp::create(b, c32(-1), l.sorted, ValueRange{r});
  });
  gpu::BarrierOp::create(b);
  eachPick(
      [&](Value, Value, Value e) {
        memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, c32(1),
                                    counts, ValueRange{e});
      },
      [&](Value, Value) {});
  gpu::BarrierOp::create(b);
  // Group starts, each group's size rounded up to the tile: warp 0 scans
  // the padded counts 32 experts at a time (lane l holds expert 32 q + l),
  // carrying the running total from chunk to chunk.
  auto warp0 = scf::IfOp::create(b, g.ult(tid, c(32)),
                                 /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(&warp0.getThenRegion().front());
    Value lane32 = arith::IndexCastOp::create(b, i32, tid);
    auto shuffle = [&](Value v, Value at, gpu::ShuffleMode mode) {
      return gpu::ShuffleOp::create(b, v, at, c32(32), mode).getShuffleResult();
    };
    Value carry = c32(0);
    for (int64_t q = 0; q * 32 < experts; ++q) {
      Value e = g.add(tid, 32 * q);
      Value valid = g.ult(e, c(experts));
      Value at = arith::MinUIOp::create(b, e, c(experts - 1));
      Value n = memref::LoadOp::create(b, counts, ValueRange{at});
      Value padded = arith::MulIOp::create(
          b,
          arith::DivUIOp::create(b, arith::AddIOp::create(b, n, c32(tile - 1)),
                                 c32(tile)),
          c32(tile));
      padded = arith::SelectOp::create(b, valid, padded, c32(0));
      Value incl = padded;
      for (int64_t d : {1, 2, 4, 8, 16}) {
        Value up = shuffle(incl, c32(d), gpu::ShuffleMode::UP);
        Value has =
            arith::CmpIOp::create(b, arith::CmpIPredicate::uge, lane32, c32(d));
        incl = arith::AddIOp::create(
            b, incl, arith::SelectOp::create(b, has, up, c32(0)));
      }
      Value start = arith::AddIOp::create(
          b, carry, arith::SubIOp::create(b, incl, padded));
      auto store = scf::IfOp::create(b, valid, /*withElseRegion=*/false);
      {
        OpBuilder::InsertionGuard body(b);
        b.setInsertionPointToStart(&store.getThenRegion().front());
        memref::StoreOp::create(b, start, l.offsets, ValueRange{e});
        memref::StoreOp::create(b, start, cursor, ValueRange{e});
      }
      carry = arith::AddIOp::create(
          b, carry, shuffle(incl, c32(31), gpu::ShuffleMode::IDX));
    }
    auto last = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, c(0)),
        /*withElseRegion=*/false);
    b.setInsertionPointToStart(&last.getThenRegion().front());
    memref::StoreOp::create(b, carry, l.offsets, ValueRange{c(experts)});
  }
  gpu::BarrierOp::create(b);
  eachPick(
      [&](Value t, Value j, Value e) {
        Value row = memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi,
                                                c32(1), cursor, ValueRange{e});
        memref::StoreOp::create(b, arith::IndexCastOp::create(b, i32, t),
                                l.sorted, ValueRange{g.toIndex(row)});
        memref::StoreOp::create(b, row, l.slots, ValueRange{t, j});
      },
      [&](Value t, Value j) {
        memref::StoreOp::create(b, c32(-1), l.slots, ValueRange{t, j});
      });
}

SmallVector<Value>
mlir::hymir::moeLayoutResults(ImplicitLocOpBuilder &b,
                              const MoeLayoutBuffers &l,
                              ArrayRef<RankedTensorType> resultTypes) {
  SmallVector<Value> results, buffers = {l.sorted, l.offsets, l.slots};
  for (auto [bufferType, type, buffer] :
       llvm::zip(l.bufferTypes, resultTypes, buffers)) {
    Value t = bufferization::ToTensorOp::create(
        b, bufferType, buffer, /*restrict=*/true, /*writable=*/true);
    results.push_back(
        t.getType() == type ? t : Value(tensor::CastOp::create(b, type, t)));
  }
  return results;
}

void mlir::hymir::emitMoeLayoutKernel(ImplicitLocOpBuilder &b, Value picks,
                                      const MoeLayoutBuffers &l) {
  GpuBuilder g(b);
  gpu::LaunchOp launchOp =
      g.launch(g.idx(1), g.idx(1), g.idx(1), g.idx(kLayoutThreads),
               moeLayoutSharedBytes(b, l), [&](gpu::LaunchOp launch) {
                 emitMoeLayoutPhases(b, launch.getThreadIds().x, kLayoutThreads,
                                     picks, l);
               });
  setMoePart(launchOp, MoePart::Layout);
}

SmallVector<Value>
mlir::hymir::buildMoeGpuLayout(ImplicitLocOpBuilder &b, Value chosen,
                               int64_t experts, int64_t tile,
                               ArrayRef<RankedTensorType> resultTypes) {
  int64_t k = cast<RankedTensorType>(chosen.getType()).getDimSize(1);
  Value picks = GpuBuilder(b).toBuffer(chosen);
  Value tokens = memref::DimOp::create(b, picks, 0);
  MoeLayoutBuffers l = allocMoeLayout(b, tokens, k, experts, tile, resultTypes);
  emitMoeLayoutKernel(b, picks, l);
  return moeLayoutResults(b, l, resultTypes);
}
