//===- TestHopperProbes.cpp - one probe kernel per Hopper pipeline piece --===//
//
// hymir-test-hopper-probes (test only, see Passes.td) adds a gpu.module of
// four kernels built with the builders of the Hopper pipeline layer
// (HopperPipeline.h), the ones the sm_90a attention kernel uses: a TMA box
// load with zero fill, an mbarrier ring streaming more tiles than it has
// slots, the warp roles with their setmaxnreg budgets under register
// pressure, and wgmma with both operands in swizzled shared memory. The
// probe runner (test/gpu/hopper-probes) launches them on a GPU and compares
// with host references; shapes are in hymir/Codegen/HopperProbes.h.
//
// Shared memory is read back with the 128-byte swizzle spelled out here
// (the PTX ISA's: 16-byte chunk j of row r of an 8-row, 1024-byte group sits
// at chunk j ^ (r % 8)), independently of the layer, so a wrong swizzle in
// either shows up as a mismatch.
//
//===----------------------------------------------------------------------===//

#include "HopperPipeline.h"

#include "hymir/Codegen/HopperProbes.h"
#include "hymir/Codegen/Passes.h"
#include "hymir/Dialect/Hymir/IR/HymirDialect.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRTESTHOPPERPROBES
#include "hymir/Codegen/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;
namespace probes = ::hymir::hopper_probes;

namespace {

struct ProbeBuilder : HopperPipeline {
  ProbeBuilder(ImplicitLocOpBuilder &b) : HopperPipeline(b) {}

  Type bf16() { return b.getBF16Type(); }
  Value tid() { return gpu::ThreadIdOp::create(b, gpu::Dimension::x); }
  Value isZero(Value x) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::eq, x, idx(0));
  }
  /// Runs `body` in an scf.if on `cond`.
  void when(Value cond, function_ref<void()> body) {
    auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&op.getThenRegion().front());
    body();
  }
  /// The element index of (row r, column c) in a 64 x 64 bf16 tile stored
  /// with the 128-byte swizzle from a 1024-byte-aligned address.
  Value swizzled(Value r, Value c) {
    Value chunk = arith::XOrIOp::create(b, div(c, 8), rem(r, 8));
    return add(add(mul(r, probes::kTileCols), mul(chunk, 8)), rem(c, 8));
  }
  /// `count` bf16 of shared memory from byte `offset`, as a 1-d view.
  Value sharedBf16(int64_t offset, int64_t count) {
    return view(sharedBytes(), offset, {count}, bf16());
  }
  Value load(Value memref, ValueRange at) {
    return memref::LoadOp::create(b, memref, at);
  }
  void store(Value value, Value memref, ValueRange at) {
    memref::StoreOp::create(b, value, memref, at);
  }
  Value indexToF32(Value x) {
    return arith::UIToFPOp::create(b, b.getF32Type(), toI32(x));
  }

  /// A kernel `name` of `threads` threads with `args`; `body` writes it.
  gpu::GPUFuncOp kernel(StringRef name, ArrayRef<Type> args, int64_t threads,
                        function_ref<void(gpu::GPUFuncOp)> body) {
    auto fn = gpu::GPUFuncOp::create(
        b, name, FunctionType::get(b.getContext(), args, {}));
    fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    fn.setKnownBlockSizeAttr(
        b.getDenseI32ArrayAttr({static_cast<int32_t>(threads), 1, 1}));
    // One block per SM (.minnctapersm 1): with .maxntid alone ptxas may not
    // know the register count at entry and then ignores setmaxnreg
    // (C7508), which the probe of the roles must not hide.
    fn->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                b.getI32IntegerAttr(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&fn.getBody().front());
    body(fn);
    gpu::ReturnOp::create(b);
    return fn;
  }

  /// The producer of a ring: thread 0 of the producer warpgroup waits for
  /// each slot to be free, announces the tile's bytes and copies tile i
  /// (rows 64 i) into it.
  void produceTiles(Value t, const Ring &ring, Value map, int64_t tiles) {
    when(isZero(t), [&] {
      Value desc = descriptor(map);
      auto loop = scf::ForOp::create(b, idx(0), idx(tiles), idx(1));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      Value i = loop.getInductionVar();
      Value slot = slotOf(ring, i);
      // A fresh barrier counts its previous phase as done: the first pass
      // over the ring does not wait.
      wait(barrier(ring.empty, slot),
           arith::XOrIOp::create(b, parityOf(ring, i), i32(1)));
      Value full = barrier(ring.full, slot);
      arriveExpectBytes(full, probes::kTileBytes);
      Value dst = sharedAddress(arith::AddIOp::create(
          b, i64(ring.base), mul64(toI64(slot), ring.slotBytes)));
      tmaLoad(desc, dst, full, {idx(0), mul(i, probes::kTileRows)});
    });
  }

  /// (a) One TMA box per block, zero-filled past the tensor's edges.
  void tmaProbe(Type map) {
    auto out = MemRefType::get({probes::kTmaGrid, probes::kTmaGrid,
                                probes::kTileRows, probes::kTileCols},
                               bf16());
    SharedLayout l;
    int64_t tile = l.region(probes::kTileBytes);
    int64_t bar = l.barriers(1);
    checkShared(probes::kTmaKernel, l, probes::kTmaShared);
    kernel(probes::kTmaKernel, {map, out}, probes::kTmaThreads,
           [&](gpu::GPUFuncOp fn) {
             begin();
             Value t = tid();
             Value x = gpu::BlockIdOp::create(b, gpu::Dimension::x);
             Value y = gpu::BlockIdOp::create(b, gpu::Dimension::y);
             initBarriers(t, {{bar, 1, 1}});
             when(isZero(t), [&] {
               Value full = barrier(bar, 0);
               arriveExpectBytes(full, probes::kTileBytes);
               tmaLoad(descriptor(fn.getArgument(0)), sharedAddress(tile), full,
                       {mul(x, probes::kTileCols), mul(y, probes::kTileRows)});
             });
             wait(barrier(bar, 0), i32(0));
             Value smem =
                 sharedBf16(tile, probes::kTileRows * probes::kTileCols);
             stridedLoop(t, idx(probes::kTileRows * probes::kTileCols),
                         probes::kTmaThreads, [&](Value e) {
                           Value r = div(e, probes::kTileCols);
                           Value c = rem(e, probes::kTileCols);
                           store(load(smem, swizzled(r, c)), fn.getArgument(1),
                                 {y, x, r, c});
                         });
           });
  }

  /// (b) A ring of kRingStages slots, kRingTiles tiles, one consumer
  /// warpgroup; every consumer thread releases the slot it read.
  void ringProbe(Type map) {
    auto out = MemRefType::get({probes::kRingTiles, 128}, b.getF32Type());
    SharedLayout l;
    Ring ring = Ring::carve(l, probes::kRingStages, probes::kTileBytes);
    ring.carveBarriers(l);
    checkShared(probes::kRingKernel, l, probes::kRingShared);
    kernel(
        probes::kRingKernel, {map, out}, probes::kRingThreads,
        [&](gpu::GPUFuncOp fn) {
          begin();
          Value t = tid();
          initBarriers(
              t, {{ring.full, ring.stages, 1}, {ring.empty, ring.stages, 128}});
          roles(
              t, probes::kRegProducer, probes::kRegConsumer,
              [&](Value pt) {
                produceTiles(pt, ring, fn.getArgument(0), probes::kRingTiles);
              },
              [&](Value, Value ct) {
                Value smem =
                    sharedBf16(ring.base, ring.stages * probes::kTileRows *
                                              probes::kTileCols);
                auto loop = scf::ForOp::create(b, idx(0),
                                               idx(probes::kRingTiles), idx(1));
                OpBuilder::InsertionGuard guard(b);
                b.setInsertionPoint(loop.getBody()->getTerminator());
                Value i = loop.getInductionVar();
                Value slot = slotOf(ring, i);
                wait(barrier(ring.full, slot), parityOf(ring, i));
                Value base = mul(slot, probes::kTileRows * probes::kTileCols);
                Value r = div(ct, 2), c0 = mul(rem(ct, 2), 32);
                Value sum = f32(0);
                for (int64_t c = 0; c < 32; ++c)
                  sum = arith::AddFOp::create(
                      b, sum,
                      toF32(load(smem, add(base, swizzled(r, add(c0, c))))));
                store(sum, fn.getArgument(1), {i, ct});
                arrive(barrier(ring.empty, slot));
              });
        });
  }

  /// (c) The ring with two consumer warpgroups holding 64 accumulators per
  /// thread, under the attention kernel's register budgets.
  void setmaxnregProbe(Type map) {
    auto out = MemRefType::get({2, 128, probes::kTileCols}, b.getF32Type());
    SharedLayout l;
    Ring ring = Ring::carve(l, probes::kRegStages, probes::kTileBytes);
    ring.carveBarriers(l);
    checkShared(probes::kRegKernel, l, probes::kRegShared);
    kernel(probes::kRegKernel, {map, out}, probes::kRegThreads,
           [&](gpu::GPUFuncOp fn) {
             begin();
             Value t = tid();
             initBarriers(t, {{ring.full, ring.stages, 1},
                              {ring.empty, ring.stages, 256}});
             roles(
                 t, probes::kRegProducer, probes::kRegConsumer,
                 [&](Value pt) {
                   produceTiles(pt, ring, fn.getArgument(0), probes::kRegTiles);
                 },
                 [&](Value wg, Value ct) { accumulate(fn, ring, wg, ct); });
           });
  }

  void accumulate(gpu::GPUFuncOp fn, const Ring &ring, Value wg, Value ct) {
    Value smem = sharedBf16(ring.base, ring.stages * probes::kTileRows *
                                           probes::kTileCols);
    Value r = rem(ct, probes::kTileRows);
    SmallVector<Value> init(probes::kTileCols, f32(0));
    auto loop =
        scf::ForOp::create(b, idx(0), idx(probes::kRegTiles), idx(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value i = loop.getInductionVar();
      Value slot = slotOf(ring, i);
      wait(barrier(ring.full, slot), parityOf(ring, i));
      Value base = mul(slot, probes::kTileRows * probes::kTileCols);
      SmallVector<Value> next;
      for (int64_t j = 0; j < probes::kTileCols; ++j)
        next.push_back(arith::AddFOp::create(
            b, loop.getRegionIterArg(j),
            toF32(load(smem, add(base, swizzled(r, idx(j)))))));
      arrive(barrier(ring.empty, slot));
      scf::YieldOp::create(b, next);
    }
    Value scale =
        indexToF32(add(add(div(ct, probes::kTileRows), mul(wg, 2)), idx(1)));
    for (int64_t j = 0; j < probes::kTileCols; ++j)
      store(arith::MulFOp::create(b, loop.getResult(j), scale),
            fn.getArgument(1), {wg, ct, idx(j)});
  }

  /// (d) wgmma m64n128k16 with A and B K-major in swizzled shared memory.
  void wgmmaProbe(Type map) {
    int64_t n = probes::kWgmmaN;
    auto out = MemRefType::get({2, probes::kWgmmaM, n}, b.getF32Type());
    SharedLayout l;
    int64_t a = l.region(probes::kWgmmaM * 128);
    int64_t bOperand = l.region(n * 128);
    int64_t bar = l.barriers(1);
    checkShared(probes::kWgmmaKernel, l, probes::kWgmmaShared);
    kernel(probes::kWgmmaKernel, {map, map, out}, probes::kWgmmaThreads,
           [&](gpu::GPUFuncOp fn) {
             begin();
             Value t = tid();
             initBarriers(t, {{bar, 1, 1}});
             when(isZero(t), [&] {
               Value full = barrier(bar, 0);
               arriveExpectBytes(full, (probes::kWgmmaM + n) * 128);
               tmaLoad(descriptor(fn.getArgument(0)), sharedAddress(a), full,
                       {idx(0), idx(0)});
               tmaLoad(descriptor(fn.getArgument(1)), sharedAddress(bOperand),
                       full, {idx(0), idx(0)});
             });
             wait(barrier(bar, 0), i32(0));
             // K step ks starts 32 bytes (16 bf16) further along the rows.
             auto operand = [&](int64_t base, int64_t ks) {
               return matrixDescriptor(sharedAddress(base + 32 * ks), 16, 1024);
             };
             wgmmaFence();
             Value one = wgmmaShared(zeroAccumulator(n / 2), operand(a, 0),
                                     operand(bOperand, 0), n);
             Value all = zeroAccumulator(n / 2);
             for (int64_t ks = 0; ks < probes::kWgmmaK / 16; ++ks)
               all = wgmmaShared(all, operand(a, ks), operand(bOperand, ks), n);
             wgmmaCommit();
             wgmmaWait(0);
             // Register k of thread t: row 16 warp + lane / 4 + 8 ((k / 2) %
             // 2), column 8 (k / 4) + 2 (lane % 4) + k % 2.
             Value warp = div(t, 32), lane = rem(t, 32);
             Value row0 = add(mul(warp, 16), div(lane, 4));
             Value col0 = mul(rem(lane, 4), 2);
             for (auto [which, acc] :
                  llvm::enumerate(ArrayRef<Value>{one, all}))
               for (int64_t k = 0; k < n / 2; ++k) {
                 Value v = LLVM::ExtractValueOp::create(b, acc, k);
                 store(v, fn.getArgument(2),
                       {idx(which), add(row0, 8 * ((k / 2) % 2)),
                        add(col0, 8 * (k / 4) + k % 2)});
               }
           });
  }

  /// The runner launches with the bytes of HopperProbes.h: a layout that
  /// does not match is an error here, not a corrupt launch there.
  void checkShared(StringRef name, const SharedLayout &l, int64_t expected) {
    if (l.bytes != expected) {
      emitError(b.getLoc())
          << name << " needs " << l.bytes
          << " bytes of shared memory, HopperProbes.h says " << expected;
      failed = true;
    }
  }
  bool failed = false;
};

struct HymirTestHopperProbesPass
    : mlir::hymir::impl::HymirTestHopperProbesBase<HymirTestHopperProbesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (module.lookupSymbol(probes::kModuleName)) {
      module.emitError() << "already has a symbol @" << probes::kModuleName;
      return signalPassFailure();
    }
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(ctx));
    ImplicitLocOpBuilder b(module.getLoc(), ctx);
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule = gpu::GPUModuleOp::create(b, probes::kModuleName);
    b.setInsertionPointToStart(gpuModule.getBody());
    ProbeBuilder p(b);
    Type map = MemRefType::get({16}, b.getI64Type());
    p.tmaProbe(map);
    p.ringProbe(map);
    p.setmaxnregProbe(map);
    p.wgmmaProbe(map);
    if (p.failed)
      signalPassFailure();
  }
};

} // namespace
