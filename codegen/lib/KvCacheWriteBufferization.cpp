//===- KvCacheWriteBufferization.cpp - hymir.kv_cache_write in place ------===//
//
// hymir.kv_cache_write bufferizes like tensor.insert_slice: its result is the
// cache operand's buffer, written in place where one-shot bufferization finds
// that safe (a tied entry argument, a value not read again), else a copy the
// analysis inserts. The write itself is an scf.parallel over the update's
// (batch, row, head, dim) points that stores the rows whose cache position
// lengths[b] - T + t lies in [0, C); hymir-map-parallel-loops-to-grid turns
// it into a kernel on both targets. A length outside [0, C] is the call's
// error (a run-time check, RunChecks.h), flagged once per sequence. With
// positions (the fused RoPE of the update), each stored element is rotated
// in the loop with hymir.rope's arithmetic, reading its partner channel from
// the update buffer, so no rotated copy of the update is ever made.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Passes.h"
#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/RunChecks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::hymir;
using namespace mlir::bufferization;

namespace {

/// update[b, t, h, d] rotated as hymir.rope rotates it (LowerToLinalg.cpp):
/// in f32, the angle positions[b, t] * exp(i * -2 ln(theta) / rotary) for
/// i = d mod rotary/2, the partner channel d +- rotary/2 read from `update`,
/// rounded to the element type once; channels past rotary_dim pass through.
Value rotatedUpdate(ImplicitLocOpBuilder &b, Value update, Value positions,
                    ValueRange iv, int64_t rotary, double theta) {
  Type f32 = b.getF32Type();
  Type elt = cast<MemRefType>(update.getType()).getElementType();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  auto toF32 = [&](Value v) -> Value {
    return v.getType() == f32 ? v : arith::ExtFOp::create(b, f32, v);
  };
  int64_t half = rotary / 2;
  Value d = iv[3];
  Value inRotary =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ult, d, index(rotary));
  Value firstHalf =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ult, d, index(half));
  Value i = arith::RemUIOp::create(b, d, index(half));
  Value partner = arith::SelectOp::create(
      b, firstHalf, arith::AddIOp::create(b, d, index(half)),
      arith::SubIOp::create(b, d, index(half)));
  partner = arith::SelectOp::create(b, inRotary, partner, d);
  float logTheta = std::log(theta);
  Value iF = arith::UIToFPOp::create(
      b, f32, arith::IndexCastUIOp::create(b, b.getI64Type(), i));
  Value invFreq = math::ExpOp::create(
      b, arith::MulFOp::create(
             b, iF,
             arith::ConstantOp::create(
                 b, b.getF32FloatAttr(-2.0f * logTheta /
                                      static_cast<float>(rotary)))));
  Value position =
      memref::LoadOp::create(b, positions, ValueRange{iv[0], iv[1]});
  Value angle = arith::MulFOp::create(
      b, arith::SIToFPOp::create(b, f32, position), invFreq);
  Value cos = math::CosOp::create(b, angle);
  Value sin = math::SinOp::create(b, angle);
  Value xv = toF32(memref::LoadOp::create(b, update, iv));
  Value xp = toF32(memref::LoadOp::create(
      b, update, ValueRange{iv[0], iv[1], iv[2], partner}));
  // rotate_half: the first half takes -partner sin, the second +partner sin.
  Value signedSin =
      arith::SelectOp::create(b, firstHalf, arith::NegFOp::create(b, sin), sin);
  Value rotated =
      arith::AddFOp::create(b, arith::MulFOp::create(b, xv, cos),
                            arith::MulFOp::create(b, xp, signedSin));
  Value v = arith::SelectOp::create(b, inRotary, rotated, xv);
  return elt == f32 ? v : arith::TruncFOp::create(b, elt, v);
}

struct KvCacheWriteBufferization
    : BufferizableOpInterface::ExternalModel<KvCacheWriteBufferization,
                                             KvCacheWriteOp> {
  /// Every operand is read: the cache's other positions flow into the
  /// result, so an out-of-place write must start from a copy.
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *op, OpOperand &operand,
                               const AnalysisState &) const {
    return operand.getOperandNumber() == 0;
  }
  AliasingValueList getAliasingValues(Operation *op, OpOperand &operand,
                                      const AnalysisState &) const {
    if (operand.getOperandNumber() != 0)
      return {};
    return {{op->getResult(0), BufferRelation::Equivalent}};
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto write = cast<KvCacheWriteOp>(op);
    FailureOr<Value> cache =
        getBuffer(rewriter, write.getCache(), options, state);
    FailureOr<Value> update =
        getBuffer(rewriter, write.getUpdate(), options, state);
    FailureOr<Value> lengths =
        getBuffer(rewriter, write.getLengths(), options, state);
    if (failed(cache) || failed(update) || failed(lengths))
      return failure();
    // The fused RoPE's positions, when the op has them.
    Value positions;
    if (write.getPositions()) {
      FailureOr<Value> buffer =
          getBuffer(rewriter, write.getPositions(), options, state);
      if (failed(buffer))
        return failure();
      positions = *buffer;
    }
    std::string lengthsName = runCheckTensorName(write.getLengths());
    ImplicitLocOpBuilder b(op->getLoc(), rewriter);
    b.setInsertionPoint(op);
    Value slot = createRunCheckSlot(b, b.getLoc(), "hymir.kv_cache_write",
                                    lengthsName, "length");
    auto dim = [&](Value v, int64_t i) -> Value {
      return memref::DimOp::create(b, v, i);
    };
    Value zero = arith::ConstantIndexOp::create(b, 0);
    Value one = arith::ConstantIndexOp::create(b, 1);
    Value rows = dim(*update, 1), capacity = dim(*cache, 1);
    SmallVector<Value> upper = {dim(*update, 0), rows, dim(*update, 2),
                                dim(*update, 3)};
    SmallVector<Value> lower(4, zero), steps(4, one);
    scf::ParallelOp::create(
        b, lower, upper, steps,
        [&](OpBuilder &nested, Location loc, ValueRange iv) {
          ImplicitLocOpBuilder ib(loc, nested);
          Value raw = memref::LoadOp::create(ib, *lengths, ValueRange{iv[0]});
          Value len = arith::IndexCastOp::create(ib, ib.getIndexType(), raw);
          // lengths[b] in [0, C], checked by the point (b, 0, 0, 0).
          Value first = arith::CmpIOp::create(
              ib, arith::CmpIPredicate::eq,
              arith::OrIOp::create(ib, arith::OrIOp::create(ib, iv[1], iv[2]),
                                   iv[3]),
              zero);
          Value negative =
              arith::CmpIOp::create(ib, arith::CmpIPredicate::slt, len, zero);
          Value past = arith::CmpIOp::create(ib, arith::CmpIPredicate::sgt, len,
                                             capacity);
          Value bad = arith::AndIOp::create(
              ib, first, arith::OrIOp::create(ib, negative, past));
          scf::IfOp::create(ib, bad, [&](OpBuilder &fb, Location fl) {
            flagRunCheck(fb, fl, slot, iv[0], raw,
                         arith::AddIOp::create(fb, fl, capacity, one));
            scf::YieldOp::create(fb, fl);
          });
          // Position lengths[b] - T + t, stored only inside [0, C).
          Value pos = arith::AddIOp::create(
              ib, arith::SubIOp::create(ib, len, rows), iv[1]);
          Value low =
              arith::CmpIOp::create(ib, arith::CmpIPredicate::sge, pos, zero);
          Value high = arith::CmpIOp::create(ib, arith::CmpIPredicate::slt, pos,
                                             capacity);
          auto inside =
              scf::IfOp::create(ib, arith::AndIOp::create(ib, low, high),
                                /*withElseRegion=*/false);
          ib.setInsertionPointToStart(&inside.getThenRegion().front());
          Value x = positions
                        ? rotatedUpdate(ib, *update, positions, iv,
                                        *write.getRotaryDim(),
                                        write.getTheta()->convertToDouble())
                        : memref::LoadOp::create(ib, *update, iv).getResult();
          memref::StoreOp::create(ib, x, *cache,
                                  ValueRange{iv[0], pos, iv[2], iv[3]});
          ib.setInsertionPointAfter(inside);
          scf::ReduceOp::create(ib);
        });
    replaceOpWithBufferizedValues(rewriter, op, *cache);
    return success();
  }
};

} // namespace

void mlir::hymir::registerHymirBufferization(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, HymirDialect *) {
    KvCacheWriteOp::attachInterface<KvCacheWriteBufferization>(*context);
  });
}
