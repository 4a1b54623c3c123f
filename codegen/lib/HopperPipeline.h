//===- HopperPipeline.h - TMA rings, warp roles and wgmma on sm_90a -*- C++
//-*-===//
//
// The Hopper pipeline layer the sm_90a kernel builders share (design.md,
// decision 10), built inside a gpu.launch body:
//
// - Tensor maps: a `hymir.tensor_map` of a global buffer, made on the host
//   side of the launch (the plan encodes it before the launch); the kernel
//   reads its 128 bytes' address as the TMA descriptor.
// - Shared memory: the launch's dynamic shared memory carved into regions
//   (1024-byte aligned, as the 128-byte swizzle wants) and 8-byte mbarriers
//   at the end (SharedLayout).
// - Rings: `stages` slots of one tile, each with a "full" barrier (the
//   producer's arrive with the expected bytes, completed by the TMA copies)
//   and an "empty" barrier (one arrive per consumer warp once its products
//   have read the slot). Iteration i uses slot i % stages with phase
//   (i / stages) % 2 (Ring).
// - Roles: warpgroup 0 produces (one thread issues the copies, its register
//   budget lowered with setmaxnreg), the other warpgroups consume (their
//   budget raised) (HopperPipeline::roles).
// - wgmma: shared-memory matrix descriptors (128-byte swizzle, K-major or
//   MN-major), wgmma.mma_async with both operands in shared memory (nvvm)
//   or with A in registers (inline PTX: the nvvm op has no register form).
//
// The pieces carry a `hymir.pipeline` attribute so the IR shows them: "ring"
// on the barrier initialisation, "roles" on the split into warp roles,
// "producer" and "consumer" on each role's register budget.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_LIB_HOPPERPIPELINE_H
#define HYMIR_CODEGEN_LIB_HOPPERPIPELINE_H

#include "GpuBuilder.h"

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

#include <string>

namespace mlir::hymir {

/// Byte offsets of a launch's dynamic shared memory: regions first (each
/// aligned), then the barriers (8 bytes each).
struct SharedLayout {
  int64_t bytes = 0;
  int64_t region(int64_t size, int64_t align = 1024) {
    bytes = (bytes + align - 1) / align * align;
    int64_t at = bytes;
    bytes += size;
    return at;
  }
  int64_t barriers(int64_t count) { return region(8 * count, 8); }
};

/// One ring of `stages` slots of `slotBytes` each at `base`, with its full
/// and empty barriers (`stages` each, from barrier byte offset `full` and
/// `empty`).
struct Ring {
  int64_t stages = 2, slotBytes = 0, base = 0, full = 0, empty = 0;
  static Ring carve(SharedLayout &layout, int64_t stages, int64_t slotBytes) {
    Ring r;
    r.stages = stages;
    r.slotBytes = slotBytes;
    r.base = layout.region(stages * slotBytes);
    return r;
  }
  void carveBarriers(SharedLayout &layout) {
    full = layout.barriers(stages);
    empty = layout.barriers(stages);
  }
};

struct HopperPipeline : GpuBuilder {
  HopperPipeline(ImplicitLocOpBuilder &b) : GpuBuilder(b) {}

  Type i64Type() { return b.getI64Type(); }
  Value i64(int64_t n) { return arith::ConstantIntOp::create(b, i64Type(), n); }
  Value toI32(Value index) {
    return arith::IndexCastOp::create(b, b.getI32Type(), index);
  }
  Value toI64(Value index) {
    return arith::IndexCastOp::create(b, i64Type(), index);
  }
  LLVM::LLVMPointerType sharedPtrType() {
    return LLVM::LLVMPointerType::get(b.getContext(), 3);
  }

  /// Marks `op` as a piece of the pipeline (see the file comment).
  static void mark(Operation *op, PipelinePart piece) {
    setPipelinePart(op, piece);
  }

  /// The shared-window address of the dynamic shared memory (i64): set by
  /// begin().
  Value smemAddress;

  /// Call first in the launch body.
  void begin() {
    Value bytes = sharedBytes();
    smemAddress =
        toI64(memref::ExtractAlignedPointerAsIndexOp::create(b, bytes));
  }

  /// The shared address `offset` bytes in, as an i64 and as a pointer.
  Value sharedAddress(Value offset) {
    return arith::AddIOp::create(b, smemAddress, offset);
  }
  Value sharedAddress(int64_t offset) { return sharedAddress(i64(offset)); }
  Value sharedPtr(Value address) {
    return LLVM::IntToPtrOp::create(b, sharedPtrType(), address);
  }

  /// The TMA descriptor in `map` (a memref<16xi64> from hymir.tensor_map),
  /// as a generic pointer.
  Value descriptor(Value map) {
    Value at = toI64(memref::ExtractAlignedPointerAsIndexOp::create(b, map));
    return LLVM::IntToPtrOp::create(
        b, LLVM::LLVMPointerType::get(b.getContext()), at);
  }

  /// Barrier `i` of a group at byte `offset` (an index i), as a pointer.
  Value barrier(int64_t offset, Value i) {
    return sharedPtr(sharedAddress(
        arith::AddIOp::create(b, i64(offset), mul64(toI64(i), 8))));
  }
  Value barrier(int64_t offset, int64_t i) {
    return sharedPtr(sharedAddress(offset + 8 * i));
  }
  Value mul64(Value x, int64_t n) {
    return arith::MulIOp::create(b, x, i64(n));
  }

  /// One group of barriers to initialise: `number` barriers from byte
  /// `offset`, each expecting `arrivals` arrivals per phase.
  struct BarrierGroup {
    int64_t offset, number, arrivals;
  };
  /// Thread 0 initialises the barriers, fenced for the async proxy, then
  /// the block waits for it.
  void initBarriers(Value tid, ArrayRef<BarrierGroup> groups) {
    auto first = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, idx(0)),
        /*withElseRegion=*/false);
    mark(first, PipelinePart::Ring);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&first.getThenRegion().front());
      for (const BarrierGroup &group : groups)
        for (int64_t i = 0; i < group.number; ++i)
          NVVM::MBarrierInitOp::create(b, barrier(group.offset, i),
                                       i32(group.arrivals), Value());
      NVVM::FenceMbarrierInitOp::create(b);
    }
    gpu::BarrierOp::create(b);
  }

  /// The producer's arrive on `bar` announcing `bytes` of copies.
  void arriveExpectBytes(Value bar, int64_t bytes) {
    NVVM::MBarrierArriveExpectTxOp::create(
        b, Type(), bar, i32(bytes), NVVM::MemScopeKind::CTA, false, Value());
  }
  /// One arrival on `bar`.
  void arrive(Value bar) {
    NVVM::MBarrierArriveOp::create(b, i64Type(), bar, Value(),
                                   NVVM::MemScopeKind::CTA, false);
  }
  /// Waits until the phase of `bar` with parity `parity` (an i32) is done.
  void wait(Value bar, Value parity) {
    NVVM::MBarrierTryWaitParityOp::create(b, bar, parity, i32(0x989680));
  }
  /// Slot and parity of iteration `i` (an index) of `ring`.
  Value slotOf(const Ring &ring, Value i) { return rem(i, ring.stages); }
  Value parityOf(const Ring &ring, Value i) {
    return toI32(rem(div(i, ring.stages), 2));
  }

  /// A TMA copy of the box at `coords` (index values, innermost dim first,
  /// the tensor map's order) into shared byte `dst` (an i64 address),
  /// completing on `bar`.
  void tmaLoad(Value desc, Value dst, Value bar, ArrayRef<Value> coords) {
    SmallVector<Value> c;
    for (Value v : coords)
      c.push_back(toI32(v));
    // The sm_90 form names the shared::cluster window; a CTA's own shared
    // address is valid there for a launch without clusters.
    Value clusterDst = LLVM::AddrSpaceCastOp::create(
        b, LLVM::LLVMPointerType::get(b.getContext(), 7), sharedPtr(dst));
    NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
        b, clusterDst, desc, c, bar, ValueRange{}, Value(), Value(),
        NVVM::TMALoadMode::TILE, false, NVVM::CTAGroupKindAttr(), Value());
  }

  /// Warp roles: warpgroup 0 runs `producer` with `producerRegisters`,
  /// warpgroup w > 0 runs `consumer(w - 1)` with `consumerRegisters`.
  void roles(Value tid, int64_t producerRegisters, int64_t consumerRegisters,
             function_ref<void(Value)> producer,
             function_ref<void(Value, Value)> consumer) {
    Value warpgroup = div(tid, 128);
    auto split = scf::IfOp::create(
        b,
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, warpgroup, idx(0)),
        /*withElseRegion=*/true);
    mark(split, PipelinePart::Roles);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&split.getThenRegion().front());
    mark(NVVM::SetMaxRegisterOp::create(b, producerRegisters,
                                        NVVM::SetMaxRegisterAction::decrease),
         PipelinePart::Producer);
    producer(rem(tid, 128));
    b.setInsertionPointToStart(&split.getElseRegion().front());
    mark(NVVM::SetMaxRegisterOp::create(b, consumerRegisters,
                                        NVVM::SetMaxRegisterAction::increase),
         PipelinePart::Consumer);
    consumer(sub(warpgroup, idx(1)), rem(tid, 128));
  }

  /// A matrix descriptor (PTX ISA, wgmma "matrix descriptor") of the
  /// 128-byte-swizzled operand at shared address `address` (i64): start
  /// address >> 4 (bits 0-13), leading byte offset >> 4 (16-29), stride
  /// byte offset >> 4 (32-45), swizzle mode 1 = 128 bytes (62-63).
  ///
  /// K-major (rows of 128 bytes along K): lead unused (16), stride 1024 (8
  /// rows). MN-major (rows of 128 bytes = 64 elements along M or N, one row
  /// per K): lead = bytes between 64-wide MN blocks, stride 1024 (8 K rows).
  Value matrixDescriptor(Value address, int64_t lead, int64_t stride) {
    Value start = arith::ShRUIOp::create(
        b, arith::AndIOp::create(b, address, i64(0x3FFFF)), i64(4));
    uint64_t fields = (uint64_t(lead >> 4) << 16) |
                      (uint64_t(stride >> 4) << 32) | (uint64_t(1) << 62);
    return arith::OrIOp::create(b, start, i64(static_cast<int64_t>(fields)));
  }

  /// !llvm.struct of `n` f32: a wgmma accumulator.
  Type accumulatorType(int64_t n) {
    return LLVM::LLVMStructType::getLiteral(
        b.getContext(), SmallVector<Type>(n, b.getF32Type()));
  }
  Value zeroAccumulator(int64_t n) {
    return LLVM::ZeroOp::create(b, accumulatorType(n));
  }

  void wgmmaFence() { NVVM::WgmmaFenceAlignedOp::create(b); }
  void wgmmaCommit() { NVVM::WgmmaGroupSyncAlignedOp::create(b); }
  /// Two f32 rounded to bf16 in one register, `lo` in the low half
  /// (cvt.rn.bf16x2.f32: one instruction, where arith.truncf would be
  /// expanded into integer rounding code by the bf16 emulation of the
  /// kernel pipeline).
  Value packBf16x2(Value lo, Value hi) {
    auto op = LLVM::InlineAsmOp::create(
        b, b.getI32Type(), ValueRange{hi, lo},
        b.getStringAttr("cvt.rn.bf16x2.f32 $0, $1, $2;"),
        b.getStringAttr("=r,f,f"), UnitAttr(), UnitAttr(),
        LLVM::TailCallKindAttr(),
        LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
        ArrayAttr());
    return op.getResult(0);
  }

  /// Named barrier `id` (1-15; 0 is the block-wide one) over `threads`
  /// threads: wait there, or count this warp's arrival and go on.
  void namedSync(Value id, int64_t threads) {
    NVVM::BarrierOp::create(b, Type(), id, i32(threads),
                            NVVM::BarrierReductionAttr(), Value());
  }
  void namedArrive(Value id, int64_t threads) {
    NVVM::BarrierArriveOp::create(b, id, i32(threads));
  }
  void wgmmaWait(int64_t pending) {
    NVVM::WgmmaWaitGroupSyncOp::create(b, static_cast<uint64_t>(pending));
  }

  /// An accumulator whose value does not matter: the input of a first
  /// wgmma with scale-d 0 (wgmmaShared's `overwrite`).
  Value anyAccumulator(int64_t n) {
    return LLVM::PoisonOp::create(b, accumulatorType(n));
  }

  /// acc += A B for one m64nNk16 step, bf16 operands both in shared memory
  /// (descriptors), A K-major, B K-major. With `overwrite`, acc = A B
  /// (scale-d 0): a chain's first step then needs no zeroed registers,
  /// whose writes before the asynchronous wgmma make ptxas inject a
  /// warpgroup.arrive (C7519) and, on a divergent path, serialise the
  /// wgmmas (C7520).
  Value wgmmaShared(Value acc, Value descA, Value descB, int64_t n,
                    bool overwrite = false) {
    auto shape = NVVM::MMAShapeAttr::get(b.getContext(), 64, n, 16);
    return NVVM::WgmmaMmaAsyncOp::create(
               b, acc.getType(), acc, descA, descB, shape,
               NVVM::WGMMATypes::bf16, NVVM::WGMMATypes::bf16,
               NVVM::WGMMATypes::f32,
               overwrite ? NVVM::WGMMAScaleOut::zero : NVVM::WGMMAScaleOut::one,
               NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one,
               NVVM::MMALayout::row, NVVM::MMALayout::col,
               NVVM::MMAIntOverflowAttr())
        .getResult();
  }

  /// acc += A B for one m64nNk16 step, A in registers (4 i32 of bf16
  /// pairs, the m16n8k16 A fragment of this thread's warp: rows 16 warp
  /// + lane / 4 (+ 8), columns 2 (lane % 4) (+ 8)), B in shared memory,
  /// MN-major when `transposeB` (inline PTX).
  Value wgmmaRegisterA(Value acc, ArrayRef<Value> a, Value descB, int64_t n,
                       bool transposeB) {
    int64_t regs = n / 2;
    std::string text = "wgmma.mma_async.sync.aligned.m64n" + std::to_string(n) +
                       "k16.f32.bf16.bf16 {";
    std::string constraints;
    for (int64_t i = 0; i < regs; ++i) {
      text += (i ? ", $" : "$") + std::to_string(i);
      constraints += (i ? ",=f" : "=f");
    }
    text += "}, {";
    for (int64_t i = 0; i < 4; ++i) {
      text += (i ? ", $" : "$") + std::to_string(regs + i);
      constraints += ",r";
    }
    text += "}, $" + std::to_string(regs + 4) + ", 1, 1, 1, " +
            std::string(transposeB ? "1" : "0") + ";";
    constraints += ",l";
    SmallVector<Value> operands(a.begin(), a.end());
    operands.push_back(descB);
    for (int64_t i = 0; i < regs; ++i) {
      operands.push_back(LLVM::ExtractValueOp::create(b, acc, i));
      constraints += "," + std::to_string(i);
    }
    auto op = LLVM::InlineAsmOp::create(
        b, acc.getType(), operands, b.getStringAttr(text),
        b.getStringAttr(constraints), b.getUnitAttr(), UnitAttr(),
        LLVM::TailCallKindAttr(),
        LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
        ArrayAttr());
    return op.getResult(0);
  }
};

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_LIB_HOPPERPIPELINE_H
