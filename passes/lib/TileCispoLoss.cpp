//===- TileCispoLoss.cpp - the CISPO loss streamed over the vocabulary ----===//
//
// The pass hymir-tile-cispo-loss (see Passes.td): each hymir.cispo_loss and
// hymir.token_logprobs becomes scf.forall kernels over buffers that never
// hold the [T, V] logits:
//
//   forward (per token t):  for each tile of vocabulary rows:
//                             z_v  = h_t . W_v                    (f32)
//                             m'   = max(m, max_v z_v)
//                             s    = s exp(m - m') + sum_v exp(z_v - m')
//                           lse_t = m + log s, logp_t = z_y - lse_t
//   weights (one thread):   coef_t = -mask_t M_t r^_t A_t / sum(mask), loss
//   d_hidden (per token):   sum_v coef_t (1[v == y_t] - p_tv) W_v
//   d_lm_head (per row v):  sum_t coef_t (1[v == y_t] - p_tv) h_t
//
// with p_tv = exp(z_tv - lse_t) recomputed from the same dot product (the
// same order of operations, so the same value as the forward's). Kernels
// whose results have no uses are not emitted. hymir.token_logprobs is the
// forward kernel alone, built by the same function, so its result equals
// cispo_loss's logp_new bitwise.
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Transforms/Passes.h"
#include "hymir/Transforms/RunChecks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <limits>

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRTILECISPOLOSS
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// Independent partial sums of a dot product (breaks the chain of dependent
/// fused multiply-adds) where the hidden size is a static multiple of it.
constexpr int64_t kDotLanes = 4;

/// Builds the kernels of one op (hymir.cispo_loss or hymir.token_logprobs).
struct CispoBuilder {
  CispoBuilder(ImplicitLocOpBuilder &b, int64_t tile) : b(b), tile(tile) {}
  ImplicitLocOpBuilder &b;
  int64_t tile;

  Value hidden, head, targets, logpOld, advantages, mask;
  Value tokens, vocab, width;
  int64_t staticWidth = ShapedType::kDynamic;
  bool bf16Head = false;
  Value check;

  //===--------------------------------------------------------------------===//
  // Small builders
  //===--------------------------------------------------------------------===//

  Value idx(int64_t n) { return arith::ConstantIndexOp::create(b, n); }
  Value f32(double x) {
    return arith::ConstantOp::create(b,
                                     b.getF32FloatAttr(static_cast<float>(x)));
  }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  Value fmax(Value x, Value y) { return arith::MaximumFOp::create(b, x, y); }
  Value fma(Value x, Value y, Value z) {
    return math::FmaOp::create(b, x, y, z);
  }
  Value fcmp(arith::CmpFPredicate p, Value x, Value y) {
    return arith::CmpFOp::create(b, p, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value load(Value memref, ValueRange indices) {
    return memref::LoadOp::create(b, memref, indices);
  }
  void store(Value value, Value memref, ValueRange indices) {
    memref::StoreOp::create(b, value, memref, indices);
  }
  /// Dim i of `memref`: a constant where it is static.
  Value dim(Value memref, int64_t i) {
    int64_t size = cast<MemRefType>(memref.getType()).getDimSize(i);
    if (!ShapedType::isDynamic(size))
      return idx(size);
    return memref::DimOp::create(b, memref, i);
  }

  /// An operand of a head product as f32: bf16 values extended; with a bf16
  /// head, f32 values rounded to bf16 first.
  Value headOperand(Value x) {
    if (x.getType().isF32() && bf16Head)
      x = arith::TruncFOp::create(b, b.getBF16Type(), x);
    return x.getType().isF32()
               ? x
               : Value(arith::ExtFOp::create(b, b.getF32Type(), x));
  }

  /// scf.for with iter_args; `body` returns the values to yield.
  SmallVector<Value>
  forLoop(Value lb, Value ub, Value step, ValueRange init,
          function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto loop = scf::ForOp::create(b, lb, ub, step, init);
    OpBuilder::InsertionGuard guard(b);
    if (init.empty())
      b.setInsertionPoint(loop.getBody()->getTerminator());
    else
      b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> yielded =
        body(loop.getInductionVar(), loop.getRegionIterArgs());
    if (!init.empty())
      scf::YieldOp::create(b, yielded);
    return SmallVector<Value>(loop.getResults());
  }
  void forEach(Value lb, Value ub, function_ref<void(Value)> body) {
    forLoop(lb, ub, idx(1), {}, [&](Value i, ValueRange) {
      body(i);
      return SmallVector<Value>{};
    });
  }

  /// scf.if without results.
  void ifThen(Value cond, function_ref<void()> body) {
    auto ifOp = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    body();
  }

  /// A kernel: an scf.forall over `count` points with a block mapping (which
  /// also keeps a single point from being folded into the host code).
  void kernel(Value count, function_ref<void(Value)> body) {
    auto forall = scf::ForallOp::create(
        b, ArrayRef<OpFoldResult>{getAsOpFoldResult(count)}, ValueRange{},
        b.getArrayAttr({gpu::GPUBlockMappingAttr::get(b.getContext(),
                                                      gpu::MappingId::DimX)}));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    body(forall.getInductionVar(0));
  }

  /// The logit z = hidden[t] . lm_head[v] in f32 (the same operations
  /// wherever it is recomputed).
  Value logit(Value t, Value v) {
    Value zero = f32(0);
    if (ShapedType::isDynamic(staticWidth) || staticWidth % kDotLanes) {
      return forLoop(idx(0), width, idx(1), {zero},
                     [&](Value c, ValueRange acc) {
                       Value x = headOperand(load(hidden, {t, c}));
                       Value w = headOperand(load(head, {v, c}));
                       return SmallVector<Value>{fma(x, w, acc[0])};
                     })[0];
    }
    SmallVector<Value> init(kDotLanes, zero);
    SmallVector<Value> sums = forLoop(
        idx(0), width, idx(kDotLanes), init, [&](Value c0, ValueRange acc) {
          SmallVector<Value> next;
          for (int64_t l = 0; l < kDotLanes; ++l) {
            Value c = arith::AddIOp::create(b, c0, idx(l));
            Value x = headOperand(load(hidden, {t, c}));
            Value w = headOperand(load(head, {v, c}));
            next.push_back(fma(x, w, acc[l]));
          }
          return next;
        });
    return fadd(fadd(sums[0], sums[1]), fadd(sums[2], sums[3]));
  }

  /// The target of token t as an index (any value; compared, never read
  /// through).
  Value target(Value t) {
    return arith::IndexCastOp::create(b, b.getIndexType(), load(targets, {t}));
  }

  /// dz of logit (t, v): coef (1[v == y] - exp(z - lse)).
  Value gradLogit(Value t, Value v, Value y, Value coef, Value lse) {
    Value p = math::ExpOp::create(b, fsub(logit(t, v), lse));
    Value isTarget = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, v, y);
    Value onehot = select(isTarget, f32(1), f32(0));
    return fmul(coef, fsub(onehot, p));
  }

  /// An f32 row accumulator of `width` zeros (kernel-local scratch).
  Value zeroRow() {
    Value acc = memref::AllocOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getF32Type()),
        ValueRange{width});
    Value zero = f32(0);
    forEach(idx(0), width, [&](Value c) { store(zero, acc, {c}); });
    return acc;
  }

  /// out[row, :] = acc as out's element type.
  void storeRow(Value acc, Value out, Value row) {
    Type elt = cast<MemRefType>(out.getType()).getElementType();
    forEach(idx(0), width, [&](Value c) {
      Value x = load(acc, {c});
      if (!elt.isF32())
        x = arith::TruncFOp::create(b, elt, x);
      store(x, out, {row, c});
    });
  }

  /// A fresh buffer of `type`'s shape, dynamic dims from `like`'s.
  Value allocLike(Type tensorType, Value like) {
    auto type = cast<RankedTensorType>(tensorType);
    SmallVector<Value> sizes;
    for (int64_t i = 0; i < type.getRank(); ++i)
      if (type.isDynamicDim(i))
        sizes.push_back(dim(like, i));
    return memref::AllocOp::create(
        b, MemRefType::get(type.getShape(), type.getElementType()), sizes);
  }
  Value toBuffer(Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    return bufferization::ToBufferOp::create(
        b, MemRefType::get(type.getShape(), type.getElementType()), tensor,
        /*read_only=*/true);
  }

  //===--------------------------------------------------------------------===//
  // Kernels
  //===--------------------------------------------------------------------===//

  /// logp_new and the log-sum-exp of every token.
  void forward(Value logp, Value lse) {
    kernel(tokens, [&](Value t) {
      Value y = target(t);
      // One unsigned compare finds a negative target and one past V.
      Value bad = arith::CmpIOp::create(b, arith::CmpIPredicate::uge, y, vocab);
      ifThen(bad, [&] {
        flagRunCheck(b, b.getLoc(), check, t, load(targets, {t}), vocab);
      });
      Value scores =
          memref::AllocOp::create(b, MemRefType::get({tile}, b.getF32Type()));
      Value negInf = f32(-std::numeric_limits<float>::infinity());
      Value zero = f32(0);
      SmallVector<Value> stats = forLoop(
          idx(0), vocab, idx(tile), {negInf, zero, zero},
          [&](Value v0, ValueRange carried) {
            Value n = arith::MinSIOp::create(
                b, idx(tile), arith::SubIOp::create(b, vocab, v0));
            // The tile's logits, their maximum, and the target's logit if
            // it is in this tile.
            SmallVector<Value> tileStats = forLoop(
                idx(0), n, idx(1), {negInf, carried[2]},
                [&](Value j, ValueRange acc) {
                  Value v = arith::AddIOp::create(b, v0, j);
                  Value z = logit(t, v);
                  store(z, scores, {j});
                  Value isTarget =
                      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, v, y);
                  return SmallVector<Value>{fmax(acc[0], z),
                                            select(isTarget, z, acc[1])};
                });
            Value m = carried[0];
            Value mNew = fmax(m, tileStats[0]);
            Value sum = forLoop(
                idx(0), n, idx(1), {zero}, [&](Value j, ValueRange acc) {
                  Value e =
                      math::ExpOp::create(b, fsub(load(scores, {j}), mNew));
                  return SmallVector<Value>{fadd(acc[0], e)};
                })[0];
            Value scaled =
                fmul(carried[1], math::ExpOp::create(b, fsub(m, mNew)));
            return SmallVector<Value>{mNew, fadd(scaled, sum), tileStats[1]};
          });
      Value l = fadd(stats[0], math::LogOp::create(b, stats[1]));
      store(l, lse, {t});
      store(fsub(stats[2], l), logp, {t});
      memref::DeallocOp::create(b, scores);
    });
  }

  /// The loss and every token's gradient coefficient, by one thread. The
  /// sums over tokens are f64: the mask count and the loss may cancel.
  void weights(CispoLossOp op, Value logp, Value loss, Value coef) {
    kernel(idx(1), [&](Value) {
      Type f64Type = b.getF64Type();
      auto wide = [&](Value x) -> Value {
        return arith::ExtFOp::create(b, f64Type, x);
      };
      Value zero = f32(0);
      Value zero64 = arith::ConstantOp::create(b, b.getF64FloatAttr(0));
      Value count = forLoop(
          idx(0), tokens, idx(1), {zero64}, [&](Value t, ValueRange acc) {
            return SmallVector<Value>{fadd(acc[0], wide(load(mask, {t})))};
          })[0];
      Value none = fcmp(arith::CmpFPredicate::OEQ, count, zero64);
      Value invCount = select(
          none, zero64,
          arith::DivFOp::create(
              b, arith::ConstantOp::create(b, b.getF64FloatAttr(1)), count));
      double epsLow = op.getEpsLow().convertToDouble();
      double epsHigh = op.getEpsHigh().convertToDouble();
      Value low = f32(1.0 - epsLow), high = f32(1.0 + epsHigh);
      Value sum = forLoop(
          idx(0), tokens, idx(1), {zero64}, [&](Value t, ValueRange acc) {
            Value lp = load(logp, {t});
            Value a = load(advantages, {t});
            Value r = math::ExpOp::create(b, fsub(lp, load(logpOld, {t})));
            // clip(r, 1 - eps_low, 1 + eps_high): stop-gradient, as is the
            // unified mask.
            Value rHat = arith::MinimumFOp::create(b, fmax(r, low), high);
            Value w = fmul(fmul(load(mask, {t}), rHat), a);
            if (op.getUnifiedMask()) {
              Value up = arith::AndIOp::create(
                  b, fcmp(arith::CmpFPredicate::OGT, a, zero),
                  fcmp(arith::CmpFPredicate::OGT, r, high));
              Value down = arith::AndIOp::create(
                  b, fcmp(arith::CmpFPredicate::OLT, a, zero),
                  fcmp(arith::CmpFPredicate::OLT, r, low));
              w = select(arith::OrIOp::create(b, up, down), zero, w);
            }
            Value c = arith::NegFOp::create(b, fmul(wide(w), invCount));
            store(arith::TruncFOp::create(b, b.getF32Type(), c), coef, {t});
            return SmallVector<Value>{fma(wide(w), wide(lp), acc[0])};
          })[0];
      Value l = arith::NegFOp::create(b, fmul(sum, invCount));
      store(arith::TruncFOp::create(b, b.getF32Type(), l), loss, {});
    });
  }

  /// d_hidden[t] = sum_v dz_tv W_v, the vocabulary in tiles.
  void dHidden(Value lse, Value coef, Value out) {
    kernel(tokens, [&](Value t) {
      Value acc = zeroRow();
      Value c = load(coef, {t});
      ifThen(fcmp(arith::CmpFPredicate::UNE, c, f32(0)), [&] {
        Value y = target(t);
        Value l = load(lse, {t});
        forLoop(idx(0), vocab, idx(tile), {}, [&](Value v0, ValueRange) {
          Value n = arith::MinSIOp::create(b, idx(tile),
                                           arith::SubIOp::create(b, vocab, v0));
          forEach(idx(0), n, [&](Value j) {
            Value v = arith::AddIOp::create(b, v0, j);
            Value dz = gradLogit(t, v, y, c, l);
            forEach(idx(0), width, [&](Value k) {
              Value w = headOperand(load(head, {v, k}));
              store(fma(dz, w, load(acc, {k})), acc, {k});
            });
          });
          return SmallVector<Value>{};
        });
      });
      storeRow(acc, out, t);
      memref::DeallocOp::create(b, acc);
    });
  }

  /// d_lm_head[v] = sum_t dz_tv h_t, the tokens in order.
  void dHead(Value lse, Value coef, Value out) {
    kernel(vocab, [&](Value v) {
      Value acc = zeroRow();
      forEach(idx(0), tokens, [&](Value t) {
        Value c = load(coef, {t});
        ifThen(fcmp(arith::CmpFPredicate::UNE, c, f32(0)), [&] {
          Value dz = gradLogit(t, v, target(t), c, load(lse, {t}));
          forEach(idx(0), width, [&](Value k) {
            Value x = headOperand(load(hidden, {t, k}));
            store(fma(dz, x, load(acc, {k})), acc, {k});
          });
        });
      });
      storeRow(acc, out, v);
      memref::DeallocOp::create(b, acc);
    });
  }

  /// The head's operands as buffers, their sizes and the run-time check of
  /// the targets: what the forward kernel reads.
  void setUpHead(Operation *op, TypedValue<RankedTensorType> hiddenTensor,
                 Value headTensor, Value targetsTensor, StringRef precision,
                 StringRef targetRole) {
    bf16Head = precision == "bf16";
    hidden = toBuffer(hiddenTensor);
    head = toBuffer(headTensor);
    targets = toBuffer(targetsTensor);
    tokens = dim(hidden, 0);
    width = dim(hidden, 1);
    staticWidth = hiddenTensor.getType().getDimSize(1);
    vocab = dim(head, 0);
    check = createRunCheckSlot(b, b.getLoc(), op->getName().getStringRef(),
                               runCheckTensorName(targetsTensor), targetRole);
  }

  /// The forward kernel into fresh buffers: log-probs of type `logpType`
  /// and the log-sum-exp scratch.
  std::pair<Value, Value> forwardInto(Type logpType) {
    Value logp = allocLike(logpType, hidden);
    Value lse = memref::AllocOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getF32Type()),
        ValueRange{tokens});
    forward(logp, lse);
    return {logp, lse};
  }

  void replaceWithBuffer(Value result, Value buffer) {
    Value tensor = bufferization::ToTensorOp::create(
        b, result.getType(), buffer, /*restrict=*/true, /*writable=*/true);
    result.replaceAllUsesWith(tensor);
  }

  void lower(TokenLogprobsOp op) {
    if (op.getResult().use_empty()) {
      op.erase();
      return;
    }
    setUpHead(op, op.getHidden(), op.getLmHead(), op.getTokens(),
              op.getPrecision(), "token");
    auto [logp, lse] = forwardInto(op.getResult().getType());
    memref::DeallocOp::create(b, lse);
    replaceWithBuffer(op.getResult(), logp);
    op.erase();
  }

  void lower(CispoLossOp op) {
    bool wantLogp = !op.getLogpNew().use_empty();
    bool wantLoss = !op.getLoss().use_empty();
    bool wantDHidden = !op.getDHidden().use_empty();
    bool wantDHead = !op.getDLmHead().use_empty();
    if (!wantLogp && !wantLoss && !wantDHidden && !wantDHead) {
      op.erase();
      return;
    }
    setUpHead(op, op.getHidden(), op.getLmHead(), op.getTargets(),
              op.getPrecision(), "target");
    Type f32Type = b.getF32Type();
    auto tokenRow = MemRefType::get({ShapedType::kDynamic}, f32Type);
    auto [logp, lse] = forwardInto(op.getLogpNew().getType());
    SmallVector<std::pair<Value, Value>> results;
    if (wantLogp)
      results.push_back({op.getLogpNew(), logp});
    bool wantGrads = wantDHidden || wantDHead;
    if (wantLoss || wantGrads) {
      logpOld = toBuffer(op.getLogpOld());
      advantages = toBuffer(op.getAdvantages());
      mask = toBuffer(op.getMask());
      Value loss = memref::AllocOp::create(b, MemRefType::get({}, f32Type));
      Value coef = memref::AllocOp::create(b, tokenRow, ValueRange{tokens});
      weights(op, logp, loss, coef);
      if (wantLoss)
        results.push_back({op.getLoss(), loss});
      if (wantDHidden) {
        Value out = allocLike(op.getDHidden().getType(), hidden);
        dHidden(lse, coef, out);
        results.push_back({op.getDHidden(), out});
      }
      if (wantDHead) {
        Value out = allocLike(op.getDLmHead().getType(), head);
        dHead(lse, coef, out);
        results.push_back({op.getDLmHead(), out});
      }
    }
    for (auto [result, buffer] : results)
      replaceWithBuffer(result, buffer);
    op.erase();
  }
};

struct TileCispoLossPass
    : hymir::impl::HymirTileCispoLossBase<TileCispoLossPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vocabTile < 1) {
      getOperation().emitError()
          << "hymir-tile-cispo-loss: vocab-tile must be at least 1, got "
          << vocabTile;
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<CispoLossOp, TokenLogprobsOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      ImplicitLocOpBuilder b(op->getLoc(), op);
      CispoBuilder builder(b, vocabTile);
      if (auto loss = dyn_cast<CispoLossOp>(op))
        builder.lower(loss);
      else
        builder.lower(cast<TokenLogprobsOp>(op));
    }
  }
};

} // namespace
