//===- MoeWgmmaKernel.cpp - MoE experts on Hopper wgmma -------------------===//
//
// The sm_90a kernels of hymir-moe-experts-to-gpu for larger bf16 calls on a
// layout padded to 128-row tiles: blocks of two warpgroups over one tile
// of one expert and 256 output columns, the main loop of WgmmaTiles.h
// (cp.async into swizzled stages, wgmma.mma_async m64n128k16), SwiGLU in
// the gate/up epilogue, blocks in the experts' order (or numbered in groups
// of row tiles). The persistent form: a grid of one block per SM walking
// the tiles of all experts (from a counter in the experts' order), each
// expert's group (padded to 64 or 128 rows) cut into 128-row tiles from its
// start. With TMA multicast: the grid form in the experts' order in
// clusters of two CTAs over two row tiles of one expert, each weight tile
// loaded once for both (WgmmaTiles::productMulticast).
//
//===----------------------------------------------------------------------===//

#include "MoeKernels.h"
#include "WgmmaTiles.h"

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>

using namespace mlir;
using namespace mlir::hymir;

void mlir::hymir::emitMoeWgmmaKernels(ImplicitLocOpBuilder &b,
                                      const MoeExpertsOperands &o,
                                      int64_t group, int64_t persistent,
                                      int64_t layoutTile, bool multicast) {
  using Wg = WgmmaTiles;
  GpuBuilder g(b);
  auto c = [&](int64_t n) { return arith::ConstantIndexOp::create(b, n); };
  Type f32 = b.getF32Type(), actType = o.actType;
  int64_t experts = o.experts, inter = o.inter, width = o.width;
  Value x = o.x, sorted = o.sorted, offsets = o.offsets, w1 = o.w1, w3 = o.w3,
        w2 = o.w2, act = o.act, down = o.down, rows = o.rows;
  // Larger calls on sm_90a: wgmma over 128-row tiles. Blocks are numbered
  // in groups of kGroup row tiles: a group's tiles (mostly one expert's)
  // run side by side over the column blocks, so each weight chunk is read
  // from memory about once and the group's rows stay in L2.
  // With group 0 the order follows the experts instead: each expert's row
  // tiles side by side over the column blocks (row tile fastest), one
  // expert after another, so that a weight chunk is read from memory once
  // (a fixed group of row tiles splits most experts across two groups,
  // whose weights are then read twice) and the rows in L2 are one
  // expert's.
  const bool byExpert = group == 0;
  const int64_t kGroup = std::max<int64_t>(1, group);
  // A walk over the experts' groups, each counting `unit` per 128-row tile
  // (a group of n rows has ceil(n / 128) tiles), or with `pairs` per pair
  // of tiles (ceil(tiles / 2)): the units of all experts, and for `target`
  // (when given) the expert whose units hold it, the units before that
  // expert, its group's first row and end, and its tile (or pair) count.
  struct ExpertWalk {
    Value total, expert, before, lo, hi, tiles;
  };
  auto walkExperts = [&](Value target, int64_t unit,
                         bool pairs = false) -> ExpertWalk {
    auto offsetAt = [&](Value e) {
      return arith::IndexCastOp::create(
          b, b.getIndexType(),
          memref::LoadOp::create(b, offsets, ValueRange{e}));
    };
    SmallVector<Value> init(6, c(0));
    auto loop = scf::ForOp::create(b, c(0), c(experts), c(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value e = loop.getInductionVar();
      ValueRange it = loop.getRegionIterArgs();
      Value lo = offsetAt(e), hi = offsetAt(g.add(e, 1));
      Value n = arith::CeilDivUIOp::create(b, g.sub(hi, lo), c(Wg::kRows));
      if (pairs)
        n = arith::CeilDivUIOp::create(b, n, c(2));
      Value next = g.add(it[0], g.mul(n, c(unit)));
      SmallVector<Value> yields(it.begin(), it.end());
      yields[0] = next;
      if (target) {
        Value hit = arith::AndIOp::create(
            b,
            arith::CmpIOp::create(b, arith::CmpIPredicate::ule, it[0], target),
            arith::CmpIOp::create(b, arith::CmpIPredicate::ult, target, next));
        Value found[] = {e, it[0], lo, hi, n};
        for (int64_t i = 0; i < 5; ++i)
          yields[i + 1] = arith::SelectOp::create(b, hit, found[i], it[i + 1]);
      }
      scf::YieldOp::create(b, yields);
    }
    ValueRange r = loop.getResults();
    return {r[0], r[1], r[2], r[3], r[4], r[5]};
  };
  // In the expert order: unit `l` (below the walk's total, in units of
  // colBlocks a tile) of a walk's target is its expert's row tile
  // l % tiles and column block l / tiles: (expert, first row, column
  // block, group end).
  auto locateByExpert = [&](const ExpertWalk &wk,
                            Value target) -> SmallVector<Value> {
    Value l = g.sub(target, wk.before);
    Value r0 = g.add(
        wk.lo, g.mul(arith::RemUIOp::create(b, l, wk.tiles), c(Wg::kRows)));
    return {wk.expert, r0, arith::DivUIOp::create(b, l, wk.tiles), wk.hi};
  };
  using Body = function_ref<void(WgmmaTiles &, Value, Value, Value)>;
  // The persistent form: its tiles' reads of sorted and act stay below
  // lastRow (a 64-row last tile of the layout's last group reaches past
  // the rows), and only active warpgroups store (a 64-row last tile's
  // second half lies in the next group).
  Value lastRow;
  bool guardStores = false;
  // How a body's product runs: whole (the grid form); only the copies of
  // its prologue (the persistent form's next tile); or after a prologue
  // issued earlier, followed by afterProduct (the persistent form's tile).
  enum class ProductMode { Whole, PrologueOnly, AfterPrologue };
  ProductMode productMode = ProductMode::Whole;
  std::function<void()> afterProduct;
  // The product of a body in the current mode; empty in PrologueOnly (the
  // body then stops: no epilogue).
  // The grid form with TMA multicast: this CTA's place in its pair.
  std::optional<WgmmaTiles::Multicast> pair;
  auto runProduct = [&](WgmmaTiles &w, Value a, ArrayRef<Value> aRows,
                        ArrayRef<WgmmaTiles::Chunk> chunks,
                        int64_t k) -> SmallVector<Value> {
    if (pair)
      return w.productMulticast(a, aRows, chunks, k, w.active, *pair);
    switch (productMode) {
    case ProductMode::Whole:
      return w.product(a, aRows, chunks, k, w.active);
    case ProductMode::PrologueOnly:
      w.prologue(a, aRows, chunks, k);
      return {};
    case ProductMode::AfterPrologue: {
      SmallVector<Value> acc =
          w.productAfterPrologue(a, aRows, chunks, k, w.active);
      afterProduct();
      return acc;
    }
    }
    llvm_unreachable("product mode");
  };
  // The grid form in the expert order: (column blocks, row tiles) blocks,
  // block i (linear, x fastest) the walk's unit i; blocks past the units
  // in use have nothing to compute.
  auto launchByExpert = [&](MoePart part, int64_t colBlocks, Body body,
                            int64_t chunks) {
    Value rowTiles = arith::CeilDivUIOp::create(b, rows, c(Wg::kRows));
    Value smem = arith::ConstantIntOp::create(b, b.getI32Type(),
                                              Wg::sharedBytes(chunks));
    gpu::LaunchOp launchOp = g.launch(
        c(colBlocks), rowTiles, c(1), c(Wg::kThreads), smem,
        [&](gpu::LaunchOp launch) {
          Value unit = g.add(g.mul(launch.getBlockIds().y, c(colBlocks)),
                             launch.getBlockIds().x);
          ExpertWalk wk = walkExperts(unit, colBlocks);
          auto inUse = scf::IfOp::create(
              b,
              arith::CmpIOp::create(b, arith::CmpIPredicate::ult, unit,
                                    wk.total),
              /*withElseRegion=*/false);
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPointToStart(&inUse.getThenRegion().front());
          SmallVector<Value> at = locateByExpert(wk, unit);
          WgmmaTiles w(b, launch.getThreadIds().x);
          // A warpgroup whose 64 rows start with padding has only padding.
          Value half = arith::MulIOp::create(
              b, arith::DivUIOp::create(b, w.tid, c(128)), c(Wg::kRows / 2));
          w.active = arith::CmpIOp::create(
              b, arith::CmpIPredicate::sge,
              memref::LoadOp::create(b, sorted, ValueRange{g.add(at[1], half)}),
              arith::ConstantIntOp::create(b, b.getI32Type(), 0));
          body(w, at[0], at[1], at[2]);
        });
    setMoePart(launchOp, part);
  };
  // The grid form with TMA multicast: clusters of two CTAs (x = 2 column
  // block + rank) over a pair of one expert's row tiles (2 p, 2 p + 1) and
  // the same column block; unit y colBlocks + x / 2 of a walk counting
  // pairs. An expert with an odd tile count ends with a tile alone: its
  // partner (rank 1) exits at once and rank 0 loads all of B. Pairs are at
  // most (tiles + experts) / 2, so the grid has that many rows.
  auto launchByExpertPairs = [&](MoePart part, int64_t colBlocks, Body body,
                                 int64_t chunks) {
    // ceil((ceil(rows / 128) + E) / 2), one division (the plan's sizes
    // are linear with at most one division at the top).
    Value pairRows = arith::CeilDivUIOp::create(
        b, g.add(rows, c(Wg::kRows * experts)), c(2 * Wg::kRows));
    Value smem = arith::ConstantIntOp::create(b, b.getI32Type(),
                                              Wg::multicastSharedBytes(chunks));
    gpu::LaunchOp launchOp = g.launch(
        c(2 * colBlocks), pairRows, c(1), c(Wg::kMulticastThreads), smem,
        [&](gpu::LaunchOp launch) {
          Value bx = launch.getBlockIds().x;
          Value member = arith::RemUIOp::create(b, bx, c(2));
          Value unit = g.add(g.mul(launch.getBlockIds().y, c(colBlocks)),
                             arith::DivUIOp::create(b, bx, c(2)));
          ExpertWalk wk = walkExperts(unit, colBlocks, /*pairs=*/true);
          auto inUse = scf::IfOp::create(
              b,
              arith::CmpIOp::create(b, arith::CmpIPredicate::ult, unit,
                                    wk.total),
              /*withElseRegion=*/false);
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPointToStart(&inUse.getThenRegion().front());
          Value l = g.sub(unit, wk.before);
          Value p = arith::RemUIOp::create(b, l, wk.tiles);
          Value colBlock = arith::DivUIOp::create(b, l, wk.tiles);
          Value tiles =
              arith::CeilDivUIOp::create(b, g.sub(wk.hi, wk.lo), c(Wg::kRows));
          Value tile = g.add(g.mul(p, c(2)), member);
          Value solo = arith::CmpIOp::create(
              b, arith::CmpIPredicate::uge, g.add(g.mul(p, c(2)), c(1)), tiles);
          auto hasRows = scf::IfOp::create(
              b,
              arith::CmpIOp::create(b, arith::CmpIPredicate::ult, tile, tiles),
              /*withElseRegion=*/false);
          b.setInsertionPointToStart(&hasRows.getThenRegion().front());
          Value r0 = g.add(wk.lo, g.mul(tile, c(Wg::kRows)));
          WgmmaTiles w(b, launch.getThreadIds().x);
          // The producer warpgroup (threads from kThreads) computes and stores
          // nothing: inactive, its reads of sorted kept inside the tile.
          Value consumer = arith::CmpIOp::create(b, arith::CmpIPredicate::ult,
                                                 w.tid, c(Wg::kThreads));
          Value half = arith::MulIOp::create(
              b,
              arith::DivUIOp::create(
                  b, arith::MinUIOp::create(b, w.tid, c(Wg::kThreads - 1)),
                  c(128)),
              c(Wg::kRows / 2));
          w.active = arith::AndIOp::create(
              b, consumer,
              arith::CmpIOp::create(
                  b, arith::CmpIPredicate::sge,
                  memref::LoadOp::create(b, sorted,
                                         ValueRange{g.add(r0, half)}),
                  arith::ConstantIntOp::create(b, b.getI32Type(), 0)));
          lastRow = arith::SubIOp::create(b, rows, c(1));
          guardStores = true;
          pair = WgmmaTiles::Multicast{member, solo};
          body(w, wk.expert, r0, colBlock);
          w.multicastEnd(*pair);
          pair.reset();
          lastRow = Value();
          guardStores = false;
        },
        /*clusterX=*/2);
    setMoePart(launchOp, part);
  };
  auto launchWgmma = [&](MoePart part, int64_t colBlocks, Body body,
                         int64_t chunks) {
    // Grid (kGroup x column blocks, groups): blocks start in the order of
    // their linear index, x fastest.
    Value groups = arith::CeilDivUIOp::create(b, rows, c(Wg::kRows * kGroup));
    Value smem = arith::ConstantIntOp::create(b, b.getI32Type(),
                                              Wg::sharedBytes(chunks));
    gpu::LaunchOp launchOp = g.launch(
        c(kGroup * colBlocks), groups, c(1), c(Wg::kThreads), smem,
        [&](gpu::LaunchOp launch) {
          Value inGroup = launch.getBlockIds().x;
          Value tile = arith::AddIOp::create(
              b, arith::MulIOp::create(b, launch.getBlockIds().y, c(kGroup)),
              arith::RemUIOp::create(b, inGroup, c(kGroup)));
          Value colBlock = arith::DivUIOp::create(b, inGroup, c(kGroup));
          Value r0 = arith::MulIOp::create(b, tile, c(Wg::kRows));
          // Tiles past the rows in use have nothing to compute (the layout's
          // groups are whole tiles, so a tile is all in use or not at all).
          Value used = rowsInUse(b, offsets, experts);
          auto inUse = scf::IfOp::create(
              b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, r0, used),
              /*withElseRegion=*/false);
          {
            OpBuilder::InsertionGuard inner(b);
            b.setInsertionPointToStart(&inUse.getThenRegion().front());
            WgmmaTiles w(b, launch.getThreadIds().x);
            // A warpgroup whose 64 rows start with padding has only padding
            // (padding closes a group): it skips its products.
            Value half = arith::MulIOp::create(
                b, arith::DivUIOp::create(b, w.tid, c(128)), c(Wg::kRows / 2));
            w.active = arith::CmpIOp::create(
                b, arith::CmpIPredicate::sge,
                memref::LoadOp::create(
                    b, sorted, ValueRange{arith::AddIOp::create(b, r0, half)}),
                arith::ConstantIntOp::create(b, b.getI32Type(), 0));
            body(w, expertOfRow(b, offsets, experts, r0), r0, colBlock);
          }
        });
    setMoePart(launchOp, part);
  };
  // The persistent form: `persistent` blocks walk the tiles t = block,
  // block + persistent, ... of all experts in the grouped order of the grid
  // form (kGroup row tiles side by side over the column blocks; the last
  // group may be smaller). Each expert's group is cut into 128-row tiles
  // from its start; tile t's expert and first row come from a walk over
  // the offsets.
  //
  // In the experts' order the tiles come from a counter instead (one
  // atomic add per tile, by thread 0, passed on to the block through two
  // i32 slots past the stages), so that the blocks take them in order and
  // those in flight share their weight chunks and rows in L2 (a static
  // stride lets the blocks drift apart); a one-thread launch before zeroes
  // the counter.
  auto launchPersistent = [&](MoePart part, int64_t colBlocks, Body body,
                              int64_t chunks) {
    Value counter = o.tileCounters, which = c(part == MoePart::DownWgmma);
    if (byExpert) {
      assert(counter && "the pass allocates the tile counters");
      g.launch(c(1), c(1), c(1), c(1), Value(), [&](gpu::LaunchOp) {
        memref::StoreOp::create(
            b, arith::ConstantIntOp::create(b, b.getI32Type(), 0), counter,
            ValueRange{which});
      });
    }
    Value smem = arith::ConstantIntOp::create(
        b, b.getI32Type(), Wg::sharedBytes(chunks) + (byExpert ? 16 : 0));
    gpu::LaunchOp launchOp = g.launch(
        c(persistent), c(1), c(1), c(Wg::kThreads), smem,
        [&](gpu::LaunchOp launch) {
          Value tid = launch.getThreadIds().x;
          lastRow = arith::SubIOp::create(b, rows, c(1));
          guardStores = true;
          auto offsetAt = [&](Value e) {
            return arith::IndexCastOp::create(
                b, b.getIndexType(),
                memref::LoadOp::create(b, offsets, ValueRange{e}));
          };
          // Over the experts: (row tiles before expert e, and of the
          // expert holding row tile `target` (when given) its index, its
          // tile's first row and its group's end).
          auto walk = [&](Value target) {
            SmallVector<Value> init = {c(0), c(0), c(0), c(0)};
            auto loop = scf::ForOp::create(b, c(0), c(experts), c(1), init);
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(loop.getBody());
            Value e = loop.getInductionVar();
            ValueRange it = loop.getRegionIterArgs();
            Value lo = offsetAt(e), hi = offsetAt(g.add(e, 1));
            Value n =
                arith::CeilDivUIOp::create(b, g.sub(hi, lo), c(Wg::kRows));
            Value next = g.add(it[0], n);
            SmallVector<Value> yields = {next, it[1], it[2], it[3]};
            if (target) {
              Value hit = arith::AndIOp::create(
                  b,
                  arith::CmpIOp::create(b, arith::CmpIPredicate::ule, it[0],
                                        target),
                  arith::CmpIOp::create(b, arith::CmpIPredicate::ult, target,
                                        next));
              Value r0 = g.add(lo, g.mul(g.sub(target, it[0]), c(Wg::kRows)));
              yields[1] = arith::SelectOp::create(b, hit, e, it[1]);
              yields[2] = arith::SelectOp::create(b, hit, r0, it[2]);
              yields[3] = arith::SelectOp::create(b, hit, hi, it[3]);
            }
            scf::YieldOp::create(b, yields);
            return loop;
          };
          // In the expert order the walk counts units of colBlocks a tile.
          Value rowTiles = byExpert ? Value() : walk(Value()).getResult(0);
          Value total = byExpert ? walkExperts(Value(), colBlocks).total
                                 : g.mul(rowTiles, c(colBlocks));
          // Tile t (below total)'s expert, first row, column block and
          // group end.
          auto locate = [&](Value t) -> SmallVector<Value> {
            if (byExpert)
              return locateByExpert(walkExperts(t, colBlocks), t);
            Value groupStart = g.mul(
                arith::DivUIOp::create(b, t, c(kGroup * colBlocks)), c(kGroup));
            Value inGroupTiles = arith::MinUIOp::create(
                b, c(kGroup), g.sub(rowTiles, groupStart));
            Value inGroup = g.sub(t, g.mul(groupStart, c(colBlocks)));
            Value rowTile = g.add(
                groupStart, arith::RemUIOp::create(b, inGroup, inGroupTiles));
            Value colBlock = arith::DivUIOp::create(b, inGroup, inGroupTiles);
            auto found = walk(rowTile);
            return {found.getResult(1), found.getResult(2), colBlock,
                    found.getResult(3)};
          };
          // A tile at or past total (the last of a block's walk) is
          // located as the last tile; nothing of it runs.
          auto locateClamped = [&](Value t) {
            return locate(arith::MinUIOp::create(
                b, t, arith::SubIOp::create(b, total, c(1))));
          };
          auto below = [&](Value t) {
            return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, t,
                                         total);
          };
          WgmmaTiles w(b, tid);
          // The first tile's copies, then per tile: its product, a barrier
          // (every warp done with the stages), the next tile's copies, and
          // this tile's epilogue while they fly.
          // The counter's slots; take(i): thread 0 takes the next tile
          // into slot i; taken(i): the tile in slot i (after a barrier).
          Value slots;
          auto take = [&](Value slot) {
            auto first = scf::IfOp::create(
                b,
                arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, c(0)),
                /*withElseRegion=*/false);
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(&first.getThenRegion().front());
            Value n = memref::AtomicRMWOp::create(
                b, arith::AtomicRMWKind::addi,
                arith::ConstantIntOp::create(b, b.getI32Type(), 1), counter,
                ValueRange{which});
            memref::StoreOp::create(b, n, slots, ValueRange{slot});
          };
          auto taken = [&](Value slot) -> Value {
            return arith::IndexCastOp::create(
                b, b.getIndexType(),
                memref::LoadOp::create(b, slots, ValueRange{slot}));
          };
          Value t0 = launch.getBlockIds().x;
          if (byExpert) {
            auto space = gpu::AddressSpaceAttr::get(
                b.getContext(), gpu::AddressSpace::Workgroup);
            Value bytes = gpu::DynamicSharedMemoryOp::create(
                b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                   MemRefLayoutAttrInterface(), space));
            slots = memref::ViewOp::create(
                b,
                MemRefType::get({2}, b.getI32Type(),
                                MemRefLayoutAttrInterface(), space),
                bytes, c(Wg::sharedBytes(chunks)), ValueRange{});
            take(c(0));
            gpu::BarrierOp::create(b);
            t0 = taken(c(0));
          }
          SmallVector<Value> first = locateClamped(t0);
          {
            auto any = scf::IfOp::create(b, below(t0),
                                         /*withElseRegion=*/false);
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(&any.getThenRegion().front());
            productMode = ProductMode::PrologueOnly;
            body(w, first[0], first[1], first[2]);
          }
          // The loop over this block's tiles: a static stride (scf.for,
          // the tile's place carried), or while the counter's tiles are
          // below total (scf.while carrying the tile, the iteration and
          // the place; iteration i takes the next tile into slot (i + 1) %
          // 2 before its product and reads it after the product's barrier,
          // which every thread passed after reading that slot in iteration
          // i - 2).
          OpBuilder::InsertionGuard inner(b);
          Value t, slot, iteration;
          ValueRange cur;
          if (byExpert) {
            SmallVector<Value> inits = {t0, c(0)};
            inits.append(first);
            auto loop = scf::WhileOp::create(
                b, TypeRange(ValueRange(inits)), inits,
                [&](OpBuilder &nb, Location l, ValueRange args) {
                  Value go = arith::CmpIOp::create(
                      nb, l, arith::CmpIPredicate::ult, args[0], total);
                  scf::ConditionOp::create(nb, l, go, args);
                },
                [&](OpBuilder &, Location, ValueRange) {});
            b.setInsertionPointToStart(loop.getAfterBody());
            ValueRange args = loop.getAfterArguments();
            t = args[0];
            iteration = args[1];
            cur = args.drop_front(2);
            slot = arith::RemUIOp::create(b, g.add(iteration, 1), c(2));
            take(slot);
          } else {
            auto tiles = scf::ForOp::create(b, t0, total, c(persistent), first);
            b.setInsertionPointToStart(tiles.getBody());
            t = tiles.getInductionVar();
            cur = tiles.getRegionIterArgs();
          }
          Value e = cur[0], r0 = cur[1], colBlock = cur[2], end = cur[3];
          SmallVector<Value> next;
          Value tn;
          afterProduct = [&]() {
            gpu::BarrierOp::create(b);
            tn = byExpert ? taken(slot) : g.add(t, c(persistent));
            next = locateClamped(tn);
            auto more = scf::IfOp::create(b, below(tn),
                                          /*withElseRegion=*/false);
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(&more.getThenRegion().front());
            productMode = ProductMode::PrologueOnly;
            body(w, next[0], next[1], next[2]);
            productMode = ProductMode::AfterPrologue;
          };
          // A warpgroup works where its 64 rows start inside the group and
          // with a token (padding closes a group).
          Value firstRow = g.add(r0, g.mul(g.div(tid, 128), Wg::kRows / 2));
          Value token = memref::LoadOp::create(
              b, sorted,
              ValueRange{arith::MinUIOp::create(b, firstRow, lastRow)});
          w.active = arith::AndIOp::create(
              b,
              arith::CmpIOp::create(b, arith::CmpIPredicate::ult, firstRow,
                                    end),
              arith::CmpIOp::create(
                  b, arith::CmpIPredicate::sge, token,
                  arith::ConstantIntOp::create(b, b.getI32Type(), 0)));
          productMode = ProductMode::AfterPrologue;
          body(w, e, r0, colBlock);
          if (byExpert) {
            SmallVector<Value> yields = {tn, g.add(iteration, 1)};
            yields.append(next);
            scf::YieldOp::create(b, yields);
          } else {
            scf::YieldOp::create(b, next);
          }
        });
    setMoePart(launchOp, part);
    lastRow = Value();
    guardStores = false;
    productMode = ProductMode::Whole;
    afterProduct = nullptr;
  };
  // The rows a copy reads, kept below lastRow where set.
  auto readRow = [&](Value row) -> Value {
    return lastRow ? Value(arith::MinUIOp::create(b, row, lastRow)) : row;
  };
  // The epilogue, under the warpgroup's activity where stores are guarded.
  auto epilogue = [&](WgmmaTiles &w, function_ref<void()> stores) {
    if (!guardStores)
      return stores();
    auto work = scf::IfOp::create(b, w.active, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&work.getThenRegion().front());
    stores();
  };
  auto launch = [&](MoePart part, int64_t colBlocks, Body body,
                    int64_t chunks) {
    if (persistent > 0)
      launchPersistent(part, colBlocks, body, chunks);
    else if (byExpert && multicast)
      launchByExpertPairs(part, colBlocks, body, chunks);
    else if (byExpert)
      launchByExpert(part, colBlocks, body, chunks);
    else
      launchWgmma(part, colBlocks, body, chunks);
  };
  auto emitWgmma = [&]() {
    // gate/up: W1 and W3 rows c0 .. c0 + 127 of the tile's expert; A the
    // rows of x through their tokens (padding rows read row 0; their
    // results are never used).
    launch(
        MoePart::GateUpWgmma, inter / Wg::kChunkRows,
        [&](WgmmaTiles &w, Value e, Value r0, Value colBlock) {
          Value c0 = arith::MulIOp::create(b, colBlock, c(Wg::kChunkRows));
          SmallVector<Value> aRows;
          for (int64_t i = 0; i < Wg::kRowsPerThread; ++i) {
            Value tok = arith::MaxSIOp::create(
                b,
                memref::LoadOp::create(
                    b, sorted, ValueRange{readRow(w.add(r0, w.copyRow(i)))}),
                arith::ConstantIntOp::create(b, b.getI32Type(), 0));
            aRows.push_back(
                arith::IndexCastOp::create(b, b.getIndexType(), tok));
          }
          SmallVector<WgmmaTiles::Chunk> chunks = {{w1, e, c0}, {w3, e, c0}};
          chunks[0].map = o.w1Map;
          chunks[1].map = o.w3Map;
          SmallVector<Value> acc = runProduct(w, x, aRows, chunks, width);
          if (acc.empty())
            return;
          epilogue(w, [&]() {
            w.forEachAccumulator([&](int64_t i, Value row, Value col) {
              if (i % 2)
                return;
              SmallVector<Value> pair;
              for (int64_t q = 0; q < 2; ++q) {
                Value g = LLVM::ExtractValueOp::create(b, acc[0], i + q);
                Value u = LLVM::ExtractValueOp::create(b, acc[1], i + q);
                pair.push_back(o.swiglu(b, g, u));
              }
              Value v = vector::FromElementsOp::create(
                  b, VectorType::get({2}, actType), pair);
              vector::StoreOp::create(
                  b, v, act, ValueRange{w.add(r0, row), w.add(c0, col)});
            });
          });
        },
        2);
    // down: W2 rows c0 .. c0 + 255 (two chunks) of the tile's expert; A
    // the tile's rows of act.
    int64_t downChunks = width % (2 * Wg::kChunkRows) == 0 ? 2 : 1;
    launch(
        MoePart::DownWgmma, width / (downChunks * Wg::kChunkRows),
        [&](WgmmaTiles &w, Value e, Value r0, Value colBlock) {
          Value c0 = arith::MulIOp::create(b, colBlock,
                                           c(downChunks * Wg::kChunkRows));
          SmallVector<Value> aRows;
          for (int64_t i = 0; i < Wg::kRowsPerThread; ++i)
            aRows.push_back(readRow(w.add(r0, w.copyRow(i))));
          SmallVector<WgmmaTiles::Chunk> chunks;
          for (int64_t m = 0; m < downChunks; ++m)
            chunks.push_back({w2, e, w.add(c0, m * Wg::kChunkRows)});
          for (WgmmaTiles::Chunk &chunk : chunks)
            chunk.map = o.w2Map;
          SmallVector<Value> acc = runProduct(w, act, aRows, chunks, inter);
          if (acc.empty())
            return;
          epilogue(w, [&]() {
            w.forEachAccumulator([&](int64_t i, Value row, Value col) {
              if (i % 2)
                return;
              for (int64_t m = 0; m < downChunks; ++m) {
                SmallVector<Value> pair = {
                    LLVM::ExtractValueOp::create(b, acc[m], i),
                    LLVM::ExtractValueOp::create(b, acc[m], i + 1)};
                Value v = vector::FromElementsOp::create(
                    b, VectorType::get({2}, f32), pair);
                vector::StoreOp::create(
                    b, v, down,
                    ValueRange{w.add(r0, row),
                               w.add(w.add(c0, m * Wg::kChunkRows), col)});
              }
            });
          });
        },
        downChunks);
  };

  emitWgmma();
}
