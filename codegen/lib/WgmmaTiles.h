//===- WgmmaTiles.h - a bf16 GEMM tile on Hopper tensor cores ---*- C++ -*-===//
//
// The main loop of a 128 x (128 c) output tile, built inside a gpu.launch
// body of kThreads threads (two warpgroups), for sm_90a:
//
//   acc_m[r, n] = sum_k A[aRow(r), k] * B_m[n, k]      (m < c chunks)
//
// A rows are given per thread (gathered rows are fine); each B chunk is 128
// consecutive rows of a row-major [E, O, K] weight of one expert. Both are
// K-major bf16, staged by cp.async (16 bytes a thread) into kStages stages
// of dynamic shared memory laid out as the 128-byte swizzle wgmma reads
// (row r, 16-byte chunk j at byte r * 128 + ((j ^ (r % 8)) << 4), 1024-byte
// aligned regions), then consumed by wgmma.mma_async m64n128k16 (warpgroup
// w: A rows 64 w .. 64 w + 63), f32 accumulators in registers. Per K step of
// 64: wait for the stage's copies, fence them into the async proxy,
// barrier, issue the stage's 4 x c wgmmas, wait for the previous step's,
// barrier, and start the copies kStages - 1 steps ahead into the stage the
// previous step read.
//
// Descriptors (PTX ISA "matrix descriptor"): start address >> 4, leading
// byte offset 16 (unused for swizzled K-major), stride byte offset 1024
// (8 rows of 128 bytes), 128-byte swizzle; +32 bytes per k16 step.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_LIB_WGMMATILES_H
#define HYMIR_CODEGEN_LIB_WGMMATILES_H

#include "GpuBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <functional>
#include <optional>

namespace mlir::hymir {

struct WgmmaTiles : GpuBuilder {
  static constexpr int64_t kThreads = 256;   // two warpgroups
  static constexpr int64_t kRows = 128;      // A rows of a tile
  static constexpr int64_t kChunkRows = 128; // B rows of one chunk (wgmma n)
  static constexpr int64_t kK = 64;          // K per stage: 128 bytes a row
  static constexpr int64_t kStages = 4;
  static constexpr int64_t kRowBytes = kK * 2;
  static constexpr int64_t kABytes = kRows * kRowBytes;
  static constexpr int64_t kChunkBytes = kChunkRows * kRowBytes;
  // Rows of A (and of each B chunk) one thread copies per stage.
  static constexpr int64_t kRowsPerThread = kRows * 8 / kThreads;

  static int64_t stageBytes(int64_t chunks) {
    return kABytes + chunks * kChunkBytes;
  }
  static int64_t sharedBytes(int64_t chunks) {
    return kStages * stageBytes(chunks);
  }

  /// One B operand: rows row0 .. row0 + 127 of weights[expert] ([E, O, K]),
  /// or of weights ([O, K]) when `expert` is null; with `rowLimit`, a row at
  /// or past it reads row rowLimit - 1 instead (its products are the
  /// caller's to ignore).
  struct Chunk {
    Value weights, expert, row0;
    Value rowLimit = {};
    /// Where set, `weights` is [K, O] row-major (O contiguous) and is read
    /// MN-major: B[n, k] = weights[kRow0 + k, row0 + n] (no expert), K rows
    /// at or past `rowLimit` read row rowLimit - 1.
    bool mnMajor = false;
    Value kRow0 = {};
    /// productMulticast(): the tensor map (hymir.tensor_map, box [1, 64,
    /// 64], 128-byte swizzle) of `weights`.
    Value map = {};
  };

  WgmmaTiles(ImplicitLocOpBuilder &b, Value tid) : GpuBuilder(b), tid(tid) {}
  Value tid;
  Value active; // see product()
  /// Where set, A's K starts at this column (an index): K element k of a
  /// row is a[row, aCol0 + k]. B's K always starts at 0.
  Value aCol0;
  /// Where set, A is read MN-major from `a` [K, M] row-major: tile row r,
  /// K element k is a[min(aKRow0 + k, aKLimit - 1), aMnCol0 + r] (the
  /// product's aRows are ignored).
  bool aMnMajor = false;
  Value aMnCol0, aKRow0, aKLimit;

  // MN-major operands (PTX "matrix descriptor", 128-byte swizzle): atoms
  // of 8 K rows of 64 MN elements (1024 bytes, the 16-byte chunk j of row
  // k at ((j ^ k % 8) << 4)); the atoms of 8 K rows are SBO = 1024 bytes
  // apart and those of 64 MN elements LBO = 8192 (a region of 128 MN x 64
  // K: two MN atoms of eight K atoms); a k16 step is two K atoms (+2048
  // bytes); the wgmma takes the operand transposed.
  static constexpr int64_t kMnAtomBytes = 8192;

  Value i64(int64_t n) {
    return arith::ConstantIntOp::create(b, b.getI64Type(), n);
  }

  /// The tile rows this thread copies: tid / 8 + 32 i, i < kRowsPerThread.
  Value copyRow(int64_t i) {
    return add(arith::DivUIOp::create(b, tid, idx(8)), 32 * i);
  }

  /// Calls fn(reg, row, col) for every accumulator register of this thread
  /// of a chunk: reg i of warpgroup w, warp v (in w), lane l holds row
  /// 64 w + 16 v + l / 4 + 8 ((i >> 1) & 1), column 8 (i >> 2) + 2 (l % 4)
  /// + (i & 1).
  void forEachAccumulator(function_ref<void(int64_t, Value, Value)> fn) {
    Value warp = arith::DivUIOp::create(b, tid, idx(32));
    Value lane = arith::RemUIOp::create(b, tid, idx(32));
    Value rowBase = add(mul(warp, 16), arith::DivUIOp::create(b, lane, idx(4)));
    Value colBase = mul(arith::RemUIOp::create(b, lane, idx(4)), 2);
    for (int64_t i = 0; i < kChunkRows / 2; ++i)
      fn(i, add(rowBase, 8 * ((i >> 1) & 1)),
         add(colBase, 8 * (i >> 2) + (i & 1)));
  }

  /// The accumulators (one !llvm.struct of 64 f32 per chunk) of the tile's
  /// product over `k` (a multiple of kK). `a` is [?, K] bf16; `aRows[i]` the
  /// source row of tile row copyRow(i).
  ///
  /// `active` (i1, the same in every thread of a warpgroup) turns a
  /// warpgroup's products off (its rows are padding): its accumulators stay
  /// zero and the tensor cores are left to the other.
  SmallVector<Value> product(Value a, ArrayRef<Value> aRows,
                             ArrayRef<Chunk> chunks, int64_t k, Value active) {
    return product(a, aRows, chunks, Value(), k / kK, active);
  }
  /// The same over `steps` (an index) stages of kK: K need not be known
  /// when the kernel is built. A null `active` means every warpgroup
  /// works (no branch around the products).
  SmallVector<Value> productSteps(Value a, ArrayRef<Value> aRows,
                                  ArrayRef<Chunk> chunks, Value steps,
                                  Value active) {
    return product(a, aRows, chunks, steps, std::nullopt, active);
  }

  /// The copies product() starts with (its first kStages - 1 steps, one
  /// commit group each) on their own, for a tile whose product follows
  /// with productAfterPrologue(): a persistent kernel issues the next
  /// tile's prologue before the current tile's epilogue, once every warp
  /// is done with the stages (a barrier after the product).
  void prologue(Value a, ArrayRef<Value> aRows, ArrayRef<Chunk> chunks,
                int64_t k) {
    Setup s = setup(chunks.size());
    auto issue = makeIssue(s, a, aRows, chunks);
    for (int64_t st = 0; st + 1 < kStages; ++st) {
      if (st < k / kK)
        issue(idx(st), idx(st));
      NVVM::CpAsyncCommitGroupOp::create(b);
    }
  }
  /// product() without its prologue (prologue() issued it).
  SmallVector<Value> productAfterPrologue(Value a, ArrayRef<Value> aRows,
                                          ArrayRef<Chunk> chunks, int64_t k,
                                          Value active) {
    return product(a, aRows, chunks, Value(), k / kK, active,
                   /*withPrologue=*/false);
  }

  // TMA multicast of B across a cluster of two CTAs (productMulticast()):
  // the CTAs compute two row tiles against the same B chunks. Per K step,
  // CTA m loads rows 64 m .. 64 m + 63 of every chunk (a box of 64 rows x
  // 64 K, 8 KB) into the same stage offset of both CTAs; a CTA that runs
  // alone (`solo`: its partner has no rows) loads both halves for itself.
  // Each CTA's stages are followed by kStages "full" mbarriers (one
  // arrival, thread 0's, with the B bytes of the stage, completed by both
  // CTAs' copies) and kStages "empty" ones (one arrival per CTA whose
  // products have read the stage, two in a pair: both CTAs' thread 0 arrive
  // on both CTAs' barrier; a CTA's TMA overwrites a stage in both CTAs only
  // once its own empty barrier says both are done with it). A stays on
  // cp.async as in product(). A block has kMulticastThreads threads: the
  // two consumer warpgroups and a producer warpgroup whose thread 0 issues
  // the TMA copies (waiting on the empty barriers there, not in the
  // consumers' path; with 9 warps ptxas would cap every thread at 168
  // registers and spill, so a whole warpgroup, its budget lowered with
  // setmaxnreg and the consumers' raised); the consumers synchronise on
  // named barrier 1.
  struct Multicast {
    Value member; // index: this CTA's rank in the cluster (0 or 1)
    Value solo;   // i1: no partner; this CTA loads all of B itself
  };
  static constexpr int64_t kHalfRows = kChunkRows / 2;
  static constexpr int64_t kMulticastThreads = kThreads + 128;
  // Register budgets after setmaxnreg (65536 a block: 2 x 128 x 232 +
  // 128 x 40): the consumers keep their accumulators in registers.
  static constexpr int64_t kConsumerRegisters = 232, kProducerRegisters = 40;
  static int64_t multicastSharedBytes(int64_t chunks) {
    return sharedBytes(chunks) + 16 * kStages;
  }

  /// product() with B by TMA multicast (chunks with `map`, K-major, no
  /// row limit; K = k, known). Starts with the barriers' initialisation
  /// and the cluster's barrier (both CTAs' barriers exist before either
  /// copies into them), then splits the block into its roles and returns
  /// the consumers' accumulators with the builder inside their branch
  /// (the epilogue goes there); multicastEnd() closes with the cluster's
  /// barrier (call it last: neither CTA may exit while its partner can
  /// still arrive on its barriers).
  SmallVector<Value> productMulticast(Value a, ArrayRef<Value> aRows,
                                      ArrayRef<Chunk> chunks, int64_t k,
                                      Value active, const Multicast &mc) {
    MLIRContext *ctx = b.getContext();
    int64_t nc = chunks.size(), stage = stageBytes(nc), steps = k / kK;
    Setup setupValues = setup(nc);
    Value descBase = setupValues.descBase;
    auto issueA = makeIssue(setupValues, a, aRows, {});
    auto ptr3 = LLVM::LLVMPointerType::get(ctx, 3);
    auto ptr7 = LLVM::LLVMPointerType::get(ctx, 7);
    auto i32 = [&](int64_t n) {
      return arith::ConstantIntOp::create(b, b.getI32Type(), n);
    };
    auto toI32 = [&](Value v) {
      return arith::IndexCastOp::create(b, b.getI32Type(), v);
    };
    auto sharedAt = [&](Value byteIndex) -> Value {
      Value at = arith::AddIOp::create(
          b, setupValues.address,
          arith::IndexCastOp::create(b, b.getI64Type(), byteIndex));
      return LLVM::IntToPtrOp::create(b, ptr3, at);
    };
    auto fullBar = [&](Value slot) {
      return sharedAt(add(mul(slot, 8), sharedBytes(nc)));
    };
    auto emptyBar = [&](Value slot) {
      return sharedAt(add(mul(slot, 8), sharedBytes(nc) + 8 * kStages));
    };
    auto ifThen = [&](Value cond, function_ref<void()> fn) {
      auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&op.getThenRegion().front());
      fn();
    };
    Value first =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, idx(0));
    Value paired = arith::XOrIOp::create(
        b, mc.solo, arith::ConstantIntOp::create(b, b.getI1Type(), 1));
    Value peer = toI32(arith::SubIOp::create(b, idx(1), mc.member));
    // Multicast to both CTAs (mask 0b11), or to this one alone.
    Value mask = arith::SelectOp::create(
        b, mc.solo,
        arith::TruncIOp::create(
            b, b.getI16Type(),
            arith::ShLIOp::create(b, i32(1), toI32(mc.member))),
        arith::ConstantIntOp::create(b, b.getI16Type(), 3));

    // The barriers, then the cluster's barrier.
    ifThen(first, [&]() {
      Value emptyArrivals = arith::SelectOp::create(b, mc.solo, i32(1), i32(2));
      for (int64_t st = 0; st < kStages; ++st) {
        NVVM::MBarrierInitOp::create(b, fullBar(idx(st)), i32(1), Value());
        NVVM::MBarrierInitOp::create(b, emptyBar(idx(st)), emptyArrivals,
                                     Value());
      }
      NVVM::FenceMbarrierInitOp::create(b);
    });
    gpu::BarrierOp::create(b);
    ifThen(paired, [&]() {
      NVVM::ClusterArriveOp::create(b, UnitAttr());
      NVVM::ClusterWaitOp::create(b, UnitAttr());
    });

    // The producer's B copies of step `step` into `slot`: once both CTAs
    // are done with the slot's previous step (when it had one), the
    // expected bytes, then its half of every chunk (both halves alone).
    auto issueB = [&](Value step, Value slot) {
      {
        ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::uge, step,
                                     idx(kStages)),
               [&]() {
                 Value parity = toI32(arith::RemUIOp::create(
                     b, add(arith::DivUIOp::create(b, step, idx(kStages)), 1),
                     idx(2)));
                 NVVM::MBarrierTryWaitParityOp::create(b, emptyBar(slot),
                                                       parity, i32(0x989680));
               });
        Value full = fullBar(slot);
        NVVM::MBarrierArriveExpectTxOp::create(
            b, Type(), full, i32(nc * kChunkBytes), NVVM::MemScopeKind::CTA,
            false, Value());
        Value k0 = toI32(mul(step, kK));
        auto load = [&](Value half) {
          for (int64_t m = 0; m < nc; ++m) {
            const Chunk &c = chunks[m];
            Value dst = sharedAt(
                add(add(mul(slot, stage), mul(half, kHalfRows * kRowBytes)),
                    kABytes + m * kChunkBytes));
            Value map = arith::IndexCastOp::create(
                b, b.getI64Type(),
                memref::ExtractAlignedPointerAsIndexOp::create(b, c.map));
            Value desc = LLVM::IntToPtrOp::create(
                b, LLVM::LLVMPointerType::get(ctx), map);
            SmallVector<Value> coords = {
                k0, toI32(add(c.row0, mul(half, kHalfRows))), toI32(c.expert)};
            NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
                b, LLVM::AddrSpaceCastOp::create(b, ptr7, dst), desc, coords,
                full, ValueRange{}, mask, Value(), NVVM::TMALoadMode::TILE,
                false, NVVM::CTAGroupKindAttr(), Value());
          }
        };
        load(mc.member);
        ifThen(mc.solo,
               [&]() { load(arith::SubIOp::create(b, idx(1), mc.member)); });
      }
    };
    auto commit = [&]() { NVVM::CpAsyncCommitGroupOp::create(b); };

    // The consumers' barrier (named: the producer warp takes no part).
    auto consumerSync = [&]() {
      NVVM::BarrierOp::create(b, Type(), i32(1), i32(kThreads),
                              NVVM::BarrierReductionAttr(), Value());
    };
    auto accType = LLVM::LLVMStructType::getLiteral(
        ctx, SmallVector<Type>(kChunkRows / 2, b.getF32Type()));
    SmallVector<Value> init(nc, LLVM::ZeroOp::create(b, accType));
    // Warpgroup 2 produces: its thread 0 walks the steps, each after
    // the slot's empty barrier, so that the consumers never wait on the
    // partner's release; the other warps consume.
    auto roles = scf::IfOp::create(
        b,
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, tid, idx(kThreads)),
        /*withElseRegion=*/true);
    multicastRoles = roles;
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(roles.getElseRegion().front().getTerminator());
      NVVM::SetMaxRegisterOp::create(b, kProducerRegisters,
                                     NVVM::SetMaxRegisterAction::decrease);
      ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid,
                                   idx(kThreads)),
             [&]() {
               auto producer =
                   scf::ForOp::create(b, idx(0), idx(steps), idx(1));
               OpBuilder::InsertionGuard inner(b);
               b.setInsertionPointToStart(producer.getBody());
               Value step = producer.getInductionVar();
               issueB(step, arith::RemUIOp::create(b, step, idx(kStages)));
             });
    }
    // The consumers' code goes on in their branch: the caller's epilogue
    // too, so that no accumulator lives where the producer's budget holds.
    b.setInsertionPoint(roles.getThenRegion().front().getTerminator());
    NVVM::SetMaxRegisterOp::create(b, kConsumerRegisters,
                                   NVVM::SetMaxRegisterAction::increase);
    for (int64_t st = 0; st + 1 < kStages; ++st) {
      if (st < steps)
        issueA(idx(st), idx(st));
      commit();
    }

    auto loop = scf::ForOp::create(b, idx(0), idx(steps), idx(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value step = loop.getInductionVar();
      Value slot = arith::RemUIOp::create(b, step, idx(kStages));
      // This step's A (every thread's cp.async) and B (both CTAs' TMA)
      // are in shared memory, A visible to the async proxy.
      NVVM::CpAsyncWaitGroupOp::create(b, kStages - 2);
      NVVM::MBarrierTryWaitParityOp::create(
          b, fullBar(slot),
          toI32(arith::RemUIOp::create(
              b, arith::DivUIOp::create(b, step, idx(kStages)), idx(2))),
          i32(0x989680));
      NVVM::FenceProxyOp::create(
          b, NVVM::ProxyKind::async_shared,
          NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
      consumerSync();
      SmallVector<Value> acc = stageProducts(descBase, stage, slot, chunks,
                                             loop.getRegionIterArgs(), active);
      // The previous step's products are done in every warp of this CTA:
      // thread 0 says so on both CTAs' empty barrier of its slot.
      NVVM::WgmmaWaitGroupSyncOp::create(b, static_cast<uint64_t>(1));
      consumerSync();
      ifThen(arith::AndIOp::create(
                 b, first,
                 arith::CmpIOp::create(b, arith::CmpIPredicate::uge, step,
                                       idx(1))),
             [&]() {
               Value prev = arith::RemUIOp::create(b, add(step, kStages - 1),
                                                   idx(kStages));
               Value own = emptyBar(prev);
               NVVM::MBarrierArriveOp::create(b, b.getI64Type(), own, Value(),
                                              NVVM::MemScopeKind::CTA, false);
               ifThen(paired, [&]() {
                 Value remote = NVVM::MapaOp::create(b, ptr7, own, peer);
                 NVVM::MBarrierArriveOp::create(b, Type(), remote, Value(),
                                                NVVM::MemScopeKind::CLUSTER,
                                                false);
               });
             });
      Value next = add(step, kStages - 1);
      ifThen(
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, next, idx(steps)),
          [&]() {
            issueA(next, arith::RemUIOp::create(b, next, idx(kStages)));
          });
      commit();
      scf::YieldOp::create(b, acc);
    }
    NVVM::WgmmaWaitGroupSyncOp::create(b, static_cast<uint64_t>(0));
    return SmallVector<Value>(loop.getResults());
  }
  /// The end of a kernel that ran productMulticast() (the builder still in
  /// the consumers' branch, after their epilogue): past the roles, the
  /// cluster's barrier.
  void multicastEnd(const Multicast &mc) {
    b.setInsertionPointAfter(multicastRoles);
    auto op = scf::IfOp::create(
        b,
        arith::XOrIOp::create(
            b, mc.solo, arith::ConstantIntOp::create(b, b.getI1Type(), 1)),
        /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&op.getThenRegion().front());
    NVVM::ClusterArriveOp::create(b, UnitAttr());
    NVVM::ClusterWaitOp::create(b, UnitAttr());
  }
  /// The role split of the last productMulticast().
  scf::IfOp multicastRoles;

private:
  /// The products of the stage in `slot` (descriptors from `descBase`,
  /// stages of `stage` bytes): warpgroup w's A rows 64 w .. 64 w + 63
  /// against every chunk, kK / 16 k16 steps, one wgmma group; under
  /// `active` where set (the accumulators unchanged where it is false).
  /// The builder ends after them.
  SmallVector<Value> stageProducts(Value descBase, int64_t stage, Value slot,
                                   ArrayRef<Chunk> chunks, ValueRange accIn,
                                   Value active) {
    MLIRContext *ctx = b.getContext();
    int64_t nc = chunks.size();
    // Warpgroup w reads A rows 64 w .. 64 w + 63.
    Value warpgroup = arith::DivUIOp::create(b, tid, idx(128));
    Value stageDesc = arith::AddIOp::create(
        b, descBase,
        arith::IndexCastOp::create(
            b, b.getI64Type(),
            add(mul(slot, stage / 16), mul(warpgroup, kABytes / 2 / 16))));
    Value bDesc = arith::AddIOp::create(
        b, descBase,
        arith::IndexCastOp::create(b, b.getI64Type(),
                                   add(mul(slot, stage / 16), kABytes / 16)));
    SmallVector<Value> acc(accIn.begin(), accIn.end());
    scf::IfOp work;
    if (active) {
      work = scf::IfOp::create(b, TypeRange(ValueRange(acc)), active,
                               /*withElseRegion=*/true);
      b.setInsertionPointToStart(&work.getElseRegion().front());
      scf::YieldOp::create(b, acc);
      b.setInsertionPointToStart(&work.getThenRegion().front());
    }
    NVVM::WgmmaFenceAlignedOp::create(b);
    auto shape = NVVM::MMAShapeAttr::get(ctx, 64, kChunkRows, 16);
    // An MN-major operand's descriptor: LBO 8192 bytes where K-major
    // has 16.
    constexpr int64_t kMnLbo = (kMnAtomBytes / 16 - 1) << 16;
    for (int64_t ks = 0; ks < kK / 16; ++ks) {
      // +32 bytes per k16 step: +2 in the descriptor (K-major); +2048
      // bytes, +128 (MN-major).
      Value da = arith::AddIOp::create(
          b, stageDesc, i64(aMnMajor ? kMnLbo + 128 * ks : 2 * ks));
      for (int64_t m = 0; m < nc; ++m) {
        bool mn = chunks[m].mnMajor;
        Value db = arith::AddIOp::create(
            b, bDesc,
            i64(m * kChunkBytes / 16 + (mn ? kMnLbo + 128 * ks : 2 * ks)));
        acc[m] = NVVM::WgmmaMmaAsyncOp::create(
                     b, acc[m].getType(), acc[m], da, db, shape,
                     NVVM::WGMMATypes::bf16, NVVM::WGMMATypes::bf16,
                     NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one,
                     NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one,
                     aMnMajor ? NVVM::MMALayout::col : NVVM::MMALayout::row,
                     mn ? NVVM::MMALayout::row : NVVM::MMALayout::col,
                     NVVM::MMAIntOverflowAttr())
                     .getResult();
      }
    }
    NVVM::WgmmaGroupSyncAlignedOp::create(b);
    if (work) {
      scf::YieldOp::create(b, acc);
      b.setInsertionPointAfter(work);
      acc.assign(work.getResults().begin(), work.getResults().end());
    }
    return acc;
  }

  /// The shared-memory views and descriptor base every product and
  /// prologue of `nc` chunks uses.
  struct Setup {
    int64_t nc, stage;
    Value smem, descBase, col, swizzled, mnChunk, mnSwizzled;
    Value address; // i64: the shared-window address of the stages
  };
  Setup setup(int64_t nc) {
    MLIRContext *ctx = b.getContext();
    Setup s;
    s.nc = nc;
    s.stage = stageBytes(nc);
    auto space = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    Value bytes = gpu::DynamicSharedMemoryOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                           MemRefLayoutAttrInterface(), space));
    s.smem = memref::ViewOp::create(
        b,
        MemRefType::get({sharedBytes(nc) / 2}, b.getBF16Type(),
                        MemRefLayoutAttrInterface(), space),
        bytes, idx(0), ValueRange{});
    // Descriptor of the region start: its shared-window address >> 4 in
    // bits 0-13 (regions lie below 256 KB, so adding offset >> 4 later
    // never carries out), LBO 16 bytes, SBO 1024 bytes, 128-byte swizzle.
    Value base = arith::IndexCastOp::create(
        b, b.getI64Type(),
        memref::ExtractAlignedPointerAsIndexOp::create(b, bytes));
    s.address = base;
    s.descBase = arith::OrIOp::create(
        b,
        arith::ShRUIOp::create(b, arith::AndIOp::create(b, base, i64(0x3FFFF)),
                               i64(4)),
        i64(static_cast<int64_t>(0x4000004000010000ULL)));
    // This thread's copies: 16 bytes (8 bf16) of K at column 8 (tid % 8)
    // of the stage's slice, stored at its swizzled chunk, the same for all
    // of its rows (they differ by multiples of 8).
    s.col = mul(arith::RemUIOp::create(b, tid, idx(8)), 8);
    s.swizzled =
        mul(arith::XOrIOp::create(
                b, arith::RemUIOp::create(b, tid, idx(8)),
                arith::RemUIOp::create(
                    b, arith::DivUIOp::create(b, tid, idx(8)), idx(8))),
            16);
    return s;
  }

  /// issue(step, slot): this thread's copies of stage `step` into `slot`.
  std::function<void(Value, Value)> makeIssue(Setup &s, Value a,
                                              ArrayRef<Value> aRowsRef,
                                              ArrayRef<Chunk> chunksRef) {
    SmallVector<Value> aRows(aRowsRef.begin(), aRowsRef.end());
    SmallVector<Chunk> chunks(chunksRef.begin(), chunksRef.end());
    // Only A where no chunks are given (the stages still hold s.nc).
    int64_t nc = chunks.size(), stage = s.stage;
    Value smem = s.smem, col = s.col, swizzled = s.swizzled;
    auto copy = [this, smem](Value src, ValueRange srcIndices, Value dstByte) {
      Value dst = arith::DivUIOp::create(b, dstByte, idx(2));
      nvgpu::DeviceAsyncCopyOp::create(b, smem, ValueRange{dst}, src,
                                       srcIndices, b.getIndexAttr(8),
                                       /*srcElements=*/Value(),
                                       /*bypassL1=*/b.getUnitAttr());
    };
    // MN-major copies of a region of 128 MN x 64 K: this thread's 16-byte
    // chunk c = tid % 16 of K rows tid / 16 + 16 i.
    // (Built only where an operand is MN-major.)
    if (aMnMajor ||
        llvm::any_of(chunks, [](const Chunk &c) { return c.mnMajor; })) {
      s.mnChunk = arith::RemUIOp::create(b, tid, idx(16));
      s.mnSwizzled =
          add(mul(arith::DivUIOp::create(b, s.mnChunk, idx(8)), kMnAtomBytes),
              mul(arith::XOrIOp::create(
                      b, arith::RemUIOp::create(b, tid, idx(8)),
                      arith::RemUIOp::create(
                          b, arith::DivUIOp::create(b, tid, idx(16)), idx(8))),
                  16));
    }
    Value mnChunk = s.mnChunk, mnSwizzled = s.mnSwizzled;
    auto copyMn = [this, copy, mnChunk,
                   mnSwizzled](Value src, Value kFirst, Value kLimit,
                               Value col0, Value step, Value regionByte) {
      for (int64_t i = 0; i < kRowsPerThread; ++i) {
        Value k = add(arith::DivUIOp::create(b, tid, idx(16)), 16 * i);
        Value srcRow = add(add(kFirst, mul(step, kK)), k);
        if (kLimit)
          srcRow = arith::MinUIOp::create(
              b, srcRow, arith::SubIOp::create(b, kLimit, idx(1)));
        Value at = add(add(regionByte, mnSwizzled),
                       add(mul(arith::DivUIOp::create(b, k, idx(8)), 1024),
                           mul(arith::RemUIOp::create(b, k, idx(8)), 128)));
        copy(src, ValueRange{srcRow, add(col0, mul(mnChunk, 8))}, at);
      }
    };
    return [this, a, aRows, chunks, nc, stage, col, swizzled, copy,
            copyMn](Value step, Value slot) {
      Value k0 = add(mul(step, kK), col);
      Value stageBase = mul(slot, stage);
      if (aMnMajor)
        copyMn(a, aKRow0, aKLimit, aMnCol0, step, stageBase);
      for (int64_t m = 0; m < nc; ++m) {
        const Chunk &c = chunks[m];
        if (c.mnMajor)
          copyMn(c.weights, c.kRow0, c.rowLimit, c.row0, step,
                 add(stageBase, kABytes + m * kChunkBytes));
      }
      for (int64_t i = 0; i < kRowsPerThread; ++i) {
        Value row = copyRow(i);
        Value at = add(add(stageBase, mul(row, kRowBytes)), swizzled);
        if (!aMnMajor)
          copy(a, ValueRange{aRows[i], aCol0 ? add(k0, aCol0) : k0}, at);
        for (int64_t m = 0; m < nc; ++m) {
          const Chunk &c = chunks[m];
          if (c.mnMajor)
            continue;
          Value bRow = add(c.row0, row);
          if (c.rowLimit)
            bRow = arith::MinUIOp::create(
                b, bRow, arith::SubIOp::create(b, c.rowLimit, idx(1)));
          SmallVector<Value> at3;
          if (c.expert)
            at3.push_back(c.expert);
          at3.append({bRow, k0});
          copy(c.weights, at3, add(at, kABytes + m * kChunkBytes));
        }
      }
    };
  }

  /// product() over `steps` stages, or `known` ones when it is set; without
  /// `withPrologue` its first copies are prologue()'s.
  SmallVector<Value> product(Value a, ArrayRef<Value> aRows,
                             ArrayRef<Chunk> chunks, Value steps,
                             std::optional<int64_t> known, Value active,
                             bool withPrologue = true) {
    MLIRContext *ctx = b.getContext();
    int64_t nc = chunks.size(), stage = stageBytes(nc);
    auto stepCount = [&]() { return known ? idx(*known) : steps; };
    Setup setupValues = setup(nc);
    Value descBase = setupValues.descBase;
    auto issue = makeIssue(setupValues, a, aRows, chunks);
    auto commit = [&]() { NVVM::CpAsyncCommitGroupOp::create(b); };

    // Prologue: the first kStages - 1 steps in flight (empty groups past
    // the end keep the group count uniform).
    for (int64_t s = 0; withPrologue && s + 1 < kStages; ++s) {
      if (known) {
        if (s < *known)
          issue(idx(s), idx(s));
      } else {
        auto inRange = scf::IfOp::create(
            b,
            arith::CmpIOp::create(b, arith::CmpIPredicate::ult, idx(s), steps),
            /*withElseRegion=*/false);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&inRange.getThenRegion().front());
        issue(idx(s), idx(s));
      }
      commit();
    }

    auto accType = LLVM::LLVMStructType::getLiteral(
        ctx, SmallVector<Type>(kChunkRows / 2, b.getF32Type()));
    SmallVector<Value> init(nc, LLVM::ZeroOp::create(b, accType));
    auto loop = scf::ForOp::create(b, idx(0), stepCount(), idx(1), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value step = loop.getInductionVar();
      Value slot = arith::RemUIOp::create(b, step, idx(kStages));
      // This step's copies (every thread's) are in shared memory and
      // visible to the async proxy.
      NVVM::CpAsyncWaitGroupOp::create(b, kStages - 2);
      NVVM::FenceProxyOp::create(
          b, NVVM::ProxyKind::async_shared,
          NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
      gpu::BarrierOp::create(b);
      SmallVector<Value> acc = stageProducts(descBase, stage, slot, chunks,
                                             loop.getRegionIterArgs(), active);
      // The previous step's products are done in every warp: its stage
      // may be overwritten.
      NVVM::WgmmaWaitGroupSyncOp::create(b, static_cast<uint64_t>(1));
      gpu::BarrierOp::create(b);
      Value next = add(step, kStages - 1);
      auto ahead =
          scf::IfOp::create(b,
                            arith::CmpIOp::create(b, arith::CmpIPredicate::ult,
                                                  next, stepCount()),
                            /*withElseRegion=*/false);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&ahead.getThenRegion().front());
        issue(next, arith::RemUIOp::create(b, next, idx(kStages)));
      }
      commit();
      scf::YieldOp::create(b, acc);
    }
    NVVM::WgmmaWaitGroupSyncOp::create(b, static_cast<uint64_t>(0));
    return SmallVector<Value>(loop.getResults());
  }
};

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_LIB_WGMMATILES_H
