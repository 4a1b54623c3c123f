//===- MoeCombineKernel.cpp - the weighted sum of the routed rows ---------===//
//
// The combine of hymir-moe-experts-to-gpu as one kernel (top_k static):
// thread i sums 8 columns of a token's rows, y[t, n..n+7] = sum_j
// weights[t, j] down[slots[t, j], n..n+7] (a pick without a row, slot -1,
// adds nothing), rounded once and stored.
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
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::hymir;

Value mlir::hymir::emitMoeCombineKernel(ImplicitLocOpBuilder &b,
                                        const MoeExpertsOperands &o,
                                        Value weights, Value slots,
                                        RankedTensorType resultType) {
  constexpr int64_t kVector = kMoeVector;
  GpuBuilder g(b);
  auto c = [&](int64_t n) { return arith::ConstantIndexOp::create(b, n); };
  Type f32 = b.getF32Type();
  int64_t width = o.width;
  Value tokens = o.tokens, down = o.down;
  // The combine as one kernel: thread i sums 8 columns of a token's rows,
  // y[t, n..n+7] = sum_j weights[t, j] down[slots[t, j], n..n+7] (a pick
  // without a row, slot -1, adds nothing), rounded once and stored.
  int64_t picks = cast<RankedTensorType>(slots.getType()).getDimSize(1),
          perRow = width / kVector;
  Value weightsBuf = g.toBuffer(weights), slotsBuf = g.toBuffer(slots);
  Type outElt = resultType.getElementType();
  Value out = memref::AllocOp::create(
      b, MemRefType::get({ShapedType::kDynamic, width}, outElt),
      ValueRange{tokens});
  Value items = arith::MulIOp::create(b, tokens, c(perRow));
  gpu::LaunchOp launchOp = g.launch(
      arith::CeilDivUIOp::create(b, items, c(256)), c(1), c(1), c(256), Value(),
      [&](gpu::LaunchOp launch) {
        Value item = arith::AddIOp::create(
            b, arith::MulIOp::create(b, launch.getBlockIds().x, c(256)),
            launch.getThreadIds().x);
        auto inRange = scf::IfOp::create(
            b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, item, items),
            /*withElseRegion=*/false);
        b.setInsertionPointToStart(&inRange.getThenRegion().front());
        Value t = arith::DivUIOp::create(b, item, c(perRow));
        Value n = arith::MulIOp::create(
            b, arith::RemUIOp::create(b, item, c(perRow)), c(kVector));
        auto vecType = VectorType::get({kVector}, f32);
        Value acc = arith::ConstantOp::create(
            b, DenseElementsAttr::get(vecType, b.getF32FloatAttr(0)));
        for (int64_t j = 0; j < picks; ++j) {
          Value slot = memref::LoadOp::create(b, slotsBuf, ValueRange{t, c(j)});
          Value w = memref::LoadOp::create(b, weightsBuf, ValueRange{t, c(j)});
          auto has = scf::IfOp::create(
              b, TypeRange{vecType},
              arith::CmpIOp::create(
                  b, arith::CmpIPredicate::sge, slot,
                  arith::ConstantIntOp::create(b, b.getI32Type(), 0)),
              /*withElseRegion=*/true);
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPointToStart(&has.getThenRegion().front());
          Value row = vector::LoadOp::create(
              b, vecType, down,
              ValueRange{arith::IndexCastOp::create(b, b.getIndexType(), slot),
                         n},
              /*nontemporal=*/false, llvm::MaybeAlign(kVector * 4));
          scf::YieldOp::create(
              b, ValueRange{vector::FMAOp::create(
                     b, vector::BroadcastOp::create(b, vecType, w), row, acc)});
          b.setInsertionPointToStart(&has.getElseRegion().front());
          scf::YieldOp::create(b, ValueRange{acc});
          acc = has.getResult(0);
        }
        if (!outElt.isF32())
          acc = arith::TruncFOp::create(b, VectorType::get({kVector}, outElt),
                                        acc);
        vector::StoreOp::create(
            b, acc, out, ValueRange{t, n}, /*nontemporal=*/false,
            llvm::MaybeAlign(kVector * outElt.getIntOrFloatBitWidth() / 8));
        b.setInsertionPointAfter(inRange);
      });
  setMoePart(launchOp, MoePart::Combine);
  Value y = bufferization::ToTensorOp::create(
      b, RankedTensorType::get({ShapedType::kDynamic, width}, outElt), out,
      /*restrict=*/true, /*writable=*/true);
  if (y.getType() != resultType)
    y = tensor::CastOp::create(b, resultType, y);
  return y;
}
