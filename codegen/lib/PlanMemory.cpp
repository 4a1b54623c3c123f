//===- PlanMemory.cpp - arena offsets for plan buffers --------------------===//
//
// hymir-plan-memory (PlanPasses.td): liveness of each hymir_plan.buffer over
// the steps of its entry, then first-fit placement by decreasing size.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/PlanPasses.h"
#include "hymir/Dialect/Plan/IR/PlanOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <limits>

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRPLANMEMORY
#include "hymir/Codegen/PlanPasses.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;
namespace plan = mlir::hymir::plan;

namespace {

bool isStep(Operation *op) {
  return isa<plan::LaunchOp, plan::GemmOp, plan::CopyOp, plan::AllReduceOp,
             plan::AllGatherOp, plan::ReduceScatterOp, plan::AllToAllOp,
             plan::DeviceIndexOp, plan::TensorMapOp>(op);
}

struct Interval {
  plan::BufferOp buffer;
  size_t first, last; // step positions
};

LogicalResult planEntry(plan::EntryOp entry, int64_t alignment) {
  // A buffer is live from the position of the next step after it to the
  // last step that reads or writes a view of it.
  SmallVector<Interval> buffers;
  DenseMap<Operation *, size_t> index;
  auto bufferOf = [](Value v) -> plan::BufferOp {
    auto view = v.getDefiningOp<plan::ViewOp>();
    return view ? view.getSource().getDefiningOp<plan::BufferOp>() : nullptr;
  };
  // A tensor map's buffer is written by its step alone and may keep its
  // bytes from one call to the next (the runtime skips rewriting equal
  // ones): it shares bytes with no other buffer. A kernel reading through
  // the map reads the map's source: the source lives as long as the map
  // is used.
  DenseMap<Operation *, SmallVector<Operation *>> sourcesOfMap;
  for (auto map : entry.getBody().front().getOps<plan::TensorMapOp>())
    if (plan::BufferOp target = bufferOf(map.getTarget())) {
      SmallVector<Operation *> &sources = sourcesOfMap[target];
      if (plan::BufferOp source = bufferOf(map.getSource()))
        sources.push_back(source);
    }
  size_t step = 0;
  for (Operation &op : entry.getBody().front()) {
    if (auto buffer = dyn_cast<plan::BufferOp>(op)) {
      index[buffer] = buffers.size();
      buffers.push_back({buffer, step, step});
      continue;
    }
    if (!isStep(&op))
      continue;
    for (Value operand : op.getOperands()) {
      plan::BufferOp buffer = bufferOf(operand);
      if (!buffer)
        continue;
      buffers[index[buffer]].last = step;
      for (Operation *source : sourcesOfMap.lookup(buffer))
        buffers[index[source]].last = step;
    }
    ++step;
  }
  for (auto &[map, sources] : sourcesOfMap) {
    buffers[index[map]].first = 0;
    buffers[index[map]].last = std::numeric_limits<size_t>::max();
  }
  auto alignUp = [&](int64_t x) -> std::optional<int64_t> {
    int64_t y;
    if (llvm::AddOverflow(x, alignment - 1, y))
      return std::nullopt;
    return y / alignment * alignment;
  };
  SmallVector<size_t> order(buffers.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return static_cast<int64_t>(buffers[a].buffer.getBytes()) >
           static_cast<int64_t>(buffers[b].buffer.getBytes());
  });
  SmallVector<int64_t> offset(buffers.size(), -1), span(buffers.size(), 0);
  int64_t arena = 0;
  for (size_t b : order) {
    std::optional<int64_t> size = alignUp(std::max<int64_t>(
        static_cast<int64_t>(buffers[b].buffer.getBytes()), 1));
    if (!size)
      return buffers[b].buffer.emitOpError("size overflows the arena");
    span[b] = *size;
    // Candidate offsets: 0 and the end of every live-overlapping buffer.
    SmallVector<std::pair<int64_t, int64_t>> busy;
    for (size_t o = 0; o < buffers.size(); ++o) {
      if (offset[o] < 0)
        continue;
      bool overlap = !(buffers[o].last < buffers[b].first ||
                       buffers[b].last < buffers[o].first);
      if (overlap)
        busy.push_back({offset[o], offset[o] + span[o]});
    }
    llvm::sort(busy);
    int64_t at = 0;
    for (auto [lo, hi] : busy) {
      if (at + *size <= lo)
        break;
      at = std::max(at, hi);
    }
    int64_t end;
    if (llvm::AddOverflow(at, *size, end))
      return buffers[b].buffer.emitOpError("arena offset overflows");
    offset[b] = at;
    arena = std::max(arena, end);
  }
  Builder builder(entry.getContext());
  for (auto [i, interval] : llvm::enumerate(buffers))
    interval.buffer.setOffsetAttr(builder.getI64IntegerAttr(offset[i]));
  entry.setArenaBytesAttr(builder.getI64IntegerAttr(arena));
  return success();
}

struct PlanMemoryPass
    : public hymir::impl::HymirPlanMemoryBase<PlanMemoryPass> {
  using Base::Base;

  void runOnOperation() override {
    if (alignment < 1 || !llvm::isPowerOf2_64(alignment)) {
      getOperation().emitError()
          << "hymir-plan-memory: alignment must be a power of two, got "
          << alignment;
      return signalPassFailure();
    }
    for (auto entry : getOperation().getOps<plan::EntryOp>())
      if (failed(planEntry(entry, alignment)))
        return signalPassFailure();
  }
};

} // namespace
