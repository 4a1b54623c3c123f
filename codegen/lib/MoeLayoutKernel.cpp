//===- MoeLayoutKernel.cpp - the grouped layout of routed rows on a GPU ---===//
//
// The kernel of hymir-moe-layout-to-gpu: the grouped layout of the picks of
// hymir.moe_route or hymir.moe_layout in one block of kLayoutThreads
// threads.
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

/// The grouped layout of `chosen` [T, K] i32 experts in one block of
/// kLayoutThreads threads: per-expert counts by shared-memory atomics, the
/// group starts (counts rounded up to `tile`) by thread 0, then every pair
/// placed at its expert's cursor, again by atomics, so the order of the
/// pairs within a group is not fixed (each row's results do not depend on
/// where it lies). Picks outside [0, E) get slot -1 and no row.
constexpr int64_t kLayoutThreads = 1024;

} // namespace

SmallVector<Value>
mlir::hymir::buildMoeGpuLayout(ImplicitLocOpBuilder &b, Value chosen,
                               int64_t experts, int64_t tile,
                               ArrayRef<RankedTensorType> resultTypes) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  auto c = [&](int64_t n) { return arith::ConstantIndexOp::create(b, n); };
  auto c32 = [&](int64_t n) { return arith::ConstantIntOp::create(b, i32, n); };
  auto chosenType = cast<RankedTensorType>(chosen.getType());
  int64_t k = chosenType.getDimSize(1);
  Value picks = GpuBuilder(b).toBuffer(chosen);
  Value tokens = memref::DimOp::create(b, picks, 0);
  Value pairs = arith::MulIOp::create(b, tokens, c(k));
  // Buffers of the result types; the layout's row count is
  // T * K + E * (tile - 1) when not static.
  // Buffers of static [E + 1] offsets and [T, K] slots (cast to the result
  // types at the end); the layout's row count is T * K + E * (tile - 1)
  // unless the result type has it.
  SmallVector<RankedTensorType> bufferTypes = {
      resultTypes[0], RankedTensorType::get({experts + 1}, i32),
      RankedTensorType::get({ShapedType::kDynamic, k}, i32)};
  auto alloc = [&](RankedTensorType type, ValueRange dyn) -> Value {
    return memref::AllocOp::create(
        b, MemRefType::get(type.getShape(), type.getElementType()), dyn);
  };
  SmallVector<Value> rowsDyn;
  Value rows;
  if (resultTypes[0].isDynamicDim(0)) {
    rows = arith::AddIOp::create(b, pairs, c(experts * (tile - 1)));
    rowsDyn.push_back(rows);
  } else {
    rows = c(resultTypes[0].getDimSize(0));
  }
  Value sorted = alloc(bufferTypes[0], rowsDyn),
        offsets = alloc(bufferTypes[1], {}),
        slots = alloc(bufferTypes[2], {tokens});

  Value smemBytes = arith::ConstantIntOp::create(b, i32, 2 * experts * 4);
  GpuBuilder g(b);
  gpu::LaunchOp launchOp = g.launch(
      c(1), c(1), c(1), c(kLayoutThreads), smemBytes,
      [&](gpu::LaunchOp launch) {
        Value tid = launch.getThreadIds().x;
        auto space =
            gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
        Value bytes = gpu::DynamicSharedMemoryOp::create(
            b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                               MemRefLayoutAttrInterface(), space));
        auto view = [&](int64_t offset) -> Value {
          return memref::ViewOp::create(
              b,
              MemRefType::get({experts}, i32, MemRefLayoutAttrInterface(),
                              space),
              bytes, c(offset), ValueRange{});
        };
        Value counts = view(0), cursor = view(experts * 4);
        auto strided = [&](Value n, function_ref<void(Value)> body) {
          auto loop = scf::ForOp::create(b, tid, n, c(kLayoutThreads));
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPointToStart(loop.getBody());
          body(loop.getInductionVar());
        };
        // Each pair's expert, when in range.
        auto eachPick = [&](function_ref<void(Value, Value, Value)> inRange,
                            function_ref<void(Value, Value)> outOfRange) {
          strided(pairs, [&](Value p) {
            Value t = arith::DivUIOp::create(b, p, c(k));
            Value j = arith::RemUIOp::create(b, p, c(k));
            Value e = memref::LoadOp::create(b, picks, ValueRange{t, j});
            Value ok = arith::AndIOp::create(
                b,
                arith::CmpIOp::create(b, arith::CmpIPredicate::sge, e, c32(0)),
                arith::CmpIOp::create(b, arith::CmpIPredicate::slt, e,
                                      c32(experts)));
            auto branch = scf::IfOp::create(b, ok, /*withElseRegion=*/true);
            OpBuilder::InsertionGuard inner(b);
            b.setInsertionPointToStart(&branch.getThenRegion().front());
            inRange(t, j, arith::IndexCastOp::create(b, b.getIndexType(), e));
            b.setInsertionPointToStart(&branch.getElseRegion().front());
            outOfRange(t, j);
          });
        };
        strided(c(experts), [&](Value e) {
          memref::StoreOp::create(b, c32(0), counts, ValueRange{e});
        });
        strided(rows, [&](Value r) {
          memref::StoreOp::create(b, c32(-1), sorted, ValueRange{r});
        });
        gpu::BarrierOp::create(b);
        eachPick(
            [&](Value, Value, Value e) {
              memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, c32(1),
                                          counts, ValueRange{e});
            },
            [&](Value, Value) {});
        gpu::BarrierOp::create(b);
        // Group starts, each group's size rounded up to the tile.
        auto first = scf::IfOp::create(
            b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, c(0)),
            /*withElseRegion=*/false);
        {
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPointToStart(&first.getThenRegion().front());
          auto prefix =
              scf::ForOp::create(b, c(0), c(experts), c(1), ValueRange{c32(0)});
          {
            OpBuilder::InsertionGuard body(b);
            b.setInsertionPointToStart(prefix.getBody());
            Value e = prefix.getInductionVar(),
                  run = prefix.getRegionIterArgs()[0];
            memref::StoreOp::create(b, run, offsets, ValueRange{e});
            memref::StoreOp::create(b, run, cursor, ValueRange{e});
            Value n = memref::LoadOp::create(b, counts, ValueRange{e});
            Value padded = arith::MulIOp::create(
                b,
                arith::DivUIOp::create(
                    b, arith::AddIOp::create(b, n, c32(tile - 1)), c32(tile)),
                c32(tile));
            scf::YieldOp::create(
                b, ValueRange{arith::AddIOp::create(b, run, padded)});
          }
          memref::StoreOp::create(b, prefix.getResult(0), offsets,
                                  ValueRange{c(experts)});
        }
        gpu::BarrierOp::create(b);
        eachPick(
            [&](Value t, Value j, Value e) {
              Value row = memref::AtomicRMWOp::create(
                  b, arith::AtomicRMWKind::addi, c32(1), cursor, ValueRange{e});
              memref::StoreOp::create(b, arith::IndexCastOp::create(b, i32, t),
                                      sorted,
                                      ValueRange{arith::IndexCastOp::create(
                                          b, b.getIndexType(), row)});
              memref::StoreOp::create(b, row, slots, ValueRange{t, j});
            },
            [&](Value t, Value j) {
              memref::StoreOp::create(b, c32(-1), slots, ValueRange{t, j});
            });
      });
  setMoePart(launchOp, MoePart::Layout);
  SmallVector<Value> results, buffers = {sorted, offsets, slots};
  for (auto [bufferType, type, buffer] :
       llvm::zip(bufferTypes, resultTypes, buffers)) {
    Value t = bufferization::ToTensorOp::create(
        b, bufferType, buffer, /*restrict=*/true, /*writable=*/true);
    results.push_back(
        t.getType() == type ? t : Value(tensor::CastOp::create(b, type, t)));
  }
  return results;
}

/// hymir.moe_route and hymir.moe_layout on cuda: the routing as linalg (for
