//===- HymirOps.cpp - hymir op verifiers ----------------------------------===//
//
// The verifiers of the hymir ops. Each diagnostic names the operand (or
// result), what the op expects and what it found. Dimensions are compared only
// where both sides are static: token counts may stay dynamic until run time.
// A result may not fix a dim that its operands leave dynamic.
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/TensorMapRules.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <cmath>
#include <optional>
#include <tuple>

using namespace mlir;
using namespace mlir::hymir;

namespace {

/// A named tensor of an op under verification: an operand or a result.
struct Named {
  StringRef name;
  RankedTensorType type;
  bool result = false;
};

/// Reports the first shape or type violation of one op. Every check returns
/// failure after emitting an error at the op, so verifiers read as a list of
/// `if (failed(check)) return failure();` lines folded with `||`-style helpers.
class Checker {
public:
  explicit Checker(Operation *op) : op(op) {}

  /// `v` under `name`: an operand, or a result of the op.
  Named operand(StringRef name, Value v) const {
    return {name, cast<RankedTensorType>(v.getType()), v.getDefiningOp() == op};
  }

  LogicalResult rank(const Named &t, int64_t rank, StringRef layout) const {
    if (t.type.getRank() == rank)
      return success();
    return op->emitOpError() << "expects " << t.name << " to have rank " << rank
                             << " (" << layout << "), got " << t.type;
  }

  LogicalResult minRank(const Named &t, int64_t rank, StringRef layout) const {
    if (t.type.getRank() >= rank)
      return success();
    return op->emitOpError()
           << "expects " << t.name << " to have rank >= " << rank << " ("
           << layout << "), got " << t.type;
  }

  /// Activations and weights are bf16 or f32.
  LogicalResult floatElement(const Named &t) const {
    Type e = t.type.getElementType();
    if (e.isBF16() || e.isF32())
      return success();
    return op->emitOpError() << "expects " << t.name
                             << " to have element type bf16 or f32, got " << e;
  }

  LogicalResult element(const Named &t, Type want) const {
    if (t.type.getElementType() == want)
      return success();
    return op->emitOpError() << "expects " << t.name << " to have element type "
                             << want << ", got " << t.type.getElementType();
  }

  LogicalResult sameElement(const Named &t, const Named &ref) const {
    if (t.type.getElementType() == ref.type.getElementType())
      return success();
    return op->emitOpError()
           << "expects " << t.name << " to have the element type of "
           << ref.name << " (" << ref.type.getElementType() << "), got "
           << t.type.getElementType();
  }

  /// Dimension `idx` of `t` is the model dimension `label` (B, T, H, ...).
  /// The first static size seen for a label is its reference; every later
  /// static size must equal it. A result may not fix a size that every
  /// operand seen so far leaves dynamic (verifiers bind operands first): a
  /// dynamic dim is the token count, known only at run time. Negative
  /// indices count from the end.
  LogicalResult bind(const Named &t, int64_t idx, StringRef label) {
    if (idx < 0)
      idx += t.type.getRank();
    int64_t got = t.type.getDimSize(idx);
    if (ShapedType::isDynamic(got)) {
      if (!t.result)
        dynamic.try_emplace(label, Binding{t.name, idx, got});
      return success();
    }
    if (auto it = dynamic.find(label);
        t.result && it != dynamic.end() && !bound.count(label))
      return staticAgainstDynamic(t, idx, label, it->second);
    auto [it, inserted] = bound.try_emplace(label, Binding{t.name, idx, got});
    const Binding &ref = it->second;
    if (inserted || ref.size == got)
      return success();
    return op->emitOpError()
           << "expects " << t.name << " dim " << idx << " (" << label
           << ") to equal " << ref.name << " dim " << ref.index << " ("
           << ref.size << "), got " << got;
  }

  /// Dimension `idx` of `t` and `refIdx` of `ref` are both `label`.
  LogicalResult dim(const Named &t, int64_t idx, const Named &ref,
                    int64_t refIdx, StringRef label) {
    if (failed(bind(ref, refIdx, label)))
      return failure();
    return bind(t, idx, label);
  }

  /// Dimension i of `t` and of `ref` are both `labels[i]`.
  LogicalResult sameDims(const Named &t, const Named &ref,
                         ArrayRef<StringRef> labels) {
    for (auto [i, label] : llvm::enumerate(labels))
      if (failed(dim(t, i, ref, i, label)))
        return failure();
    return success();
  }

  /// Grouped SwiGLU expert weights: w1 and w3 [E, I, N], w2 [E, N, I], one
  /// float element type, N the width of x [T, N].
  LogicalResult expertWeights(const Named &x, const Named &w1, const Named &w3,
                              const Named &w2) {
    if (failed(rank(w1, 3, "[E, I, N]")) || failed(floatElement(w1)) ||
        failed(dim(w1, 2, x, 1, "N")) || failed(rank(w3, 3, "[E, I, N]")) ||
        failed(sameElement(w3, w1)) ||
        failed(sameDims(w3, w1, {"E", "I", "N"})) ||
        failed(rank(w2, 3, "[E, N, I]")) || failed(sameElement(w2, w1)) ||
        failed(dim(w2, 0, w1, 0, "E")) || failed(dim(w2, 1, x, 1, "N")))
      return failure();
    return dim(w2, 2, w1, 1, "I");
  }

  LogicalResult positive(StringRef attr, double value) const {
    if (value > 0 && std::isfinite(value))
      return success();
    return op->emitOpError()
           << "expects " << attr << " to be positive and finite, got " << value;
  }

  /// `t` has exactly the rank, dims and element type of `ref`; dimension i
  /// of both is `labels[i]` (for ops of any rank, leading dims are labelled
  /// "dim i" and the last `last`).
  LogicalResult sameShapeAndElement(const Named &t, const Named &ref,
                                    StringRef layout,
                                    ArrayRef<StringRef> labels) {
    if (failed(rank(t, ref.type.getRank(), layout)) ||
        failed(sameElement(t, ref)))
      return failure();
    return sameDims(t, ref, labels);
  }

  LogicalResult sameShapeAndElement(const Named &t, const Named &ref,
                                    StringRef layout, StringRef last) {
    std::vector<std::string> names;
    for (int64_t i = 0; i + 1 < ref.type.getRank(); ++i)
      names.push_back("dim " + std::to_string(i));
    names.push_back(last.str());
    SmallVector<StringRef> labels(names.begin(), names.end());
    return sameShapeAndElement(t, ref, layout, labels);
  }

  /// Result `t` has a static dim `idx` that is `what`, a size given by
  /// dynamic dim `dimIdx` of operand `from` (`fromWhat`).
  LogicalResult staticFromDynamic(const Named &t, int64_t idx, StringRef what,
                                  const Named &from, int64_t dimIdx,
                                  StringRef fromWhat) const {
    return staticAgainstDynamic(
        t, idx, what, Binding{from.name, dimIdx, ShapedType::kDynamic},
        fromWhat);
  }

private:
  struct Binding {
    StringRef name;
    int64_t index;
    int64_t size;
  };

  LogicalResult staticAgainstDynamic(const Named &t, int64_t idx,
                                     StringRef label, const Binding &ref,
                                     StringRef refLabel = "") const {
    return op->emitOpError()
           << "expects " << t.name << " dim " << idx << " (" << label
           << ") to be dynamic, as " << ref.name << " dim " << ref.index
           << (refLabel.empty() ? "" : " (" + refLabel.str() + ")")
           << " is (a size known only at run time), got "
           << t.type.getDimSize(idx);
  }

  Operation *op;
  llvm::StringMap<Binding> bound;
  // The first dynamic operand dim of each label.
  llvm::StringMap<Binding> dynamic;
};

constexpr StringLiteral kBTHD = "[B, T, H, D]";

} // namespace

//===----------------------------------------------------------------------===//
// LightningAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult LightningAttentionOp::verify() {
  Checker c(*this);
  Named q = c.operand("q", getQ()), k = c.operand("k", getK()),
        v = c.operand("v", getV()), slopes = c.operand("slopes", getSlopes());
  if (failed(c.rank(q, 4, kBTHD)) || failed(c.floatElement(q)))
    return failure();
  for (const Named &t : {k, v}) {
    if (failed(c.rank(t, 4, kBTHD)) || failed(c.sameElement(t, q)))
      return failure();
    if (failed(c.sameDims(t, q, {"B", "T", "H", "D"})))
      return failure();
  }
  if (failed(c.rank(slopes, 1, "[H]")) ||
      failed(c.element(slopes, Float32Type::get(getContext()))) ||
      failed(c.dim(slopes, 0, q, 2, "H")))
    return failure();

  // The state layout is [B, H, D, D] f32, for the initial and the final state.
  auto checkState = [&](const Named &s) -> LogicalResult {
    if (failed(c.rank(s, 4, "[B, H, D, D]")) ||
        failed(c.element(s, Float32Type::get(getContext()))))
      return failure();
    if (failed(c.dim(s, 0, q, 0, "B")) || failed(c.dim(s, 1, q, 2, "H")) ||
        failed(c.dim(s, 2, q, 3, "D")) || failed(c.dim(s, 3, q, 3, "D")))
      return failure();
    return success();
  };
  if (getInitialState() &&
      failed(checkState(c.operand("initial_state", getInitialState()))))
    return failure();
  // The accessor is unsigned; read the stored value as signed.
  int64_t blockSize = getBlockSizeAttr().getValue().getSExtValue();
  if (blockSize <= 0)
    return emitOpError() << "expects block_size to be positive, got "
                         << blockSize;
  if (failed(c.sameShapeAndElement(c.operand("result out", getOut()), q, kBTHD,
                                   {"B", "T", "H", "D"})))
    return failure();
  return checkState(c.operand("result final_state", getFinalState()));
}

//===----------------------------------------------------------------------===//
// SoftmaxAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxAttentionOp::verify() {
  Checker c(*this);
  Named q = c.operand("q", getQ()), k = c.operand("k", getK()),
        v = c.operand("v", getV());
  if (failed(c.rank(q, 4, "[B, T, Hq, D]")) || failed(c.floatElement(q)))
    return failure();
  if (failed(c.rank(k, 4, "[B, S, Hkv, D]")) || failed(c.sameElement(k, q)) ||
      failed(c.dim(k, 0, q, 0, "B")) || failed(c.dim(k, 3, q, 3, "D")))
    return failure();
  if (failed(c.rank(v, 4, "[B, S, Hkv, D]")) || failed(c.sameElement(v, q)))
    return failure();
  if (failed(c.sameDims(v, k, {"B", "S", "Hkv", "D"})))
    return failure();

  int64_t hq = q.type.getDimSize(2), hkv = k.type.getDimSize(2);
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
      (hkv == 0 || hq % hkv != 0))
    return emitOpError() << "expects the query head count (Hq = " << hq
                         << ") to be a multiple of the KV head count (Hkv = "
                         << hkv << ")";
  int64_t t = q.type.getDimSize(1), s = k.type.getDimSize(1);
  if (getCausal() && !ShapedType::isDynamic(t) && !ShapedType::isDynamic(s) &&
      t > s)
    return emitOpError() << "expects no more queries than keys for causal "
                            "attention (queries are the last T of S "
                            "positions), got T = "
                         << t << " and S = " << s;
  if (failed(c.positive("scale", getScale().convertToDouble())))
    return failure();
  if (getLengths()) {
    Named lengths = c.operand("lengths", getLengths());
    if (failed(c.rank(lengths, 1, "[B]")) ||
        failed(c.element(lengths, IntegerType::get(getContext(), 32))) ||
        failed(c.dim(lengths, 0, q, 0, "B")))
      return failure();
  }
  return c.sameShapeAndElement(c.operand("result out", getOut()), q,
                               "[B, T, Hq, D]", {"B", "T", "Hq", "D"});
}

//===----------------------------------------------------------------------===//
// KvCacheWriteOp
//===----------------------------------------------------------------------===//

LogicalResult KvCacheWriteOp::verify() {
  Checker c(*this);
  Named cache = c.operand("cache", getCache()),
        update = c.operand("update", getUpdate()),
        lengths = c.operand("lengths", getLengths());
  if (failed(c.rank(cache, 4, "[B, C, H, D]")) || failed(c.floatElement(cache)))
    return failure();
  if (failed(c.rank(update, 4, "[B, T, H, D]")) ||
      failed(c.sameElement(update, cache)) ||
      failed(c.dim(update, 0, cache, 0, "B")) ||
      failed(c.dim(update, 2, cache, 2, "H")) ||
      failed(c.dim(update, 3, cache, 3, "D")))
    return failure();
  if (failed(c.rank(lengths, 1, "[B]")) ||
      failed(c.element(lengths, IntegerType::get(getContext(), 32))) ||
      failed(c.dim(lengths, 0, cache, 0, "B")))
    return failure();
  int64_t t = update.type.getDimSize(1), capacity = cache.type.getDimSize(1);
  if (!ShapedType::isDynamic(t) && !ShapedType::isDynamic(capacity) &&
      t > capacity)
    return emitOpError() << "expects at most as many update rows as cache "
                            "positions (update dim 1 <= cache dim 1), got T = "
                         << t << " and C = " << capacity;
  // The optional RoPE of the update: positions, rotary_dim and theta
  // together, as hymir.rope takes them.
  bool hasPositions = static_cast<bool>(getPositions()),
       hasRotary = getRotaryDimAttr() != nullptr,
       hasTheta = getThetaAttr() != nullptr;
  if (hasPositions != hasRotary || hasPositions != hasTheta)
    return emitOpError()
           << "expects positions, rotary_dim and theta together (the RoPE of "
              "the update) or none of them, got "
           << (hasPositions ? "" : "no ") << "positions, "
           << (hasRotary ? "" : "no ") << "rotary_dim and "
           << (hasTheta ? "" : "no ") << "theta";
  if (hasPositions) {
    Named positions = c.operand("positions", getPositions());
    if (failed(c.rank(positions, 2, "[B, T]")) ||
        failed(c.element(positions, IntegerType::get(getContext(), 32))) ||
        failed(c.dim(positions, 0, update, 0, "B")) ||
        failed(c.dim(positions, 1, update, 1, "T")))
      return failure();
    int64_t rotary = *getRotaryDim(), d = update.type.getDimSize(3);
    if (rotary <= 0 || rotary % 2 != 0)
      return emitOpError() << "expects rotary_dim to be positive and even, got "
                           << rotary;
    if (!ShapedType::isDynamic(d) && rotary > d)
      return emitOpError()
             << "expects rotary_dim to be at most the head dim D (" << d
             << "), got " << rotary;
    if (failed(c.positive("theta", getTheta()->convertToDouble())))
      return failure();
  }
  return c.sameShapeAndElement(c.operand("result", getResult()), cache,
                               "[B, C, H, D]", {"B", "C", "H", "D"});
}

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  Checker c(*this);
  Named x = c.operand("x", getX()),
        positions = c.operand("positions", getPositions());
  if (failed(c.rank(x, 4, kBTHD)) || failed(c.floatElement(x)))
    return failure();
  if (failed(c.rank(positions, 2, "[B, T]")) ||
      failed(c.element(positions, IntegerType::get(getContext(), 32))) ||
      failed(c.dim(positions, 0, x, 0, "B")) ||
      failed(c.dim(positions, 1, x, 1, "T")))
    return failure();
  int64_t rotary = getRotaryDim(), d = x.type.getDimSize(3);
  if (rotary <= 0 || rotary % 2 != 0)
    return emitOpError() << "expects rotary_dim to be positive and even, got "
                         << rotary;
  if (!ShapedType::isDynamic(d) && rotary > d)
    return emitOpError() << "expects rotary_dim to be at most the head dim D ("
                         << d << "), got " << rotary;
  if (failed(c.positive("theta", getTheta().convertToDouble())))
    return failure();
  return c.sameShapeAndElement(c.operand("result", getResult()), x, kBTHD,
                               {"B", "T", "H", "D"});
}

//===----------------------------------------------------------------------===//
// RmsNormOp
//===----------------------------------------------------------------------===//

LogicalResult RmsNormOp::verify() {
  Checker c(*this);
  Named x = c.operand("x", getX()), weight = c.operand("weight", getWeight());
  if (failed(c.minRank(x, 1, "[..., N]")) || failed(c.floatElement(x)))
    return failure();
  if (failed(c.rank(weight, 1, "[N]")) || failed(c.floatElement(weight)) ||
      failed(c.dim(weight, 0, x, -1, "N")))
    return failure();
  // A dynamic dim of an entry is the token count; N is the model width, so
  // a `?` here would bind the width to the token count.
  for (const Named &t : {weight, x})
    if (t.type.isDynamicDim(t.type.getRank() - 1))
      return emitOpError() << "expects " << t.name << " dim "
                           << t.type.getRank() - 1
                           << " (N, the normalized width) to be static, got "
                           << t.type;
  if (failed(c.positive("epsilon", getEpsilon().convertToDouble())))
    return failure();
  return c.sameShapeAndElement(c.operand("result", getResult()), x, "[..., N]",
                               StringRef("N"));
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  Checker c(*this);
  Named x = c.operand("x", getX()), weight = c.operand("weight", getWeight());
  if (failed(c.minRank(x, 1, "[..., K]")) || failed(c.floatElement(x)))
    return failure();
  if (failed(c.rank(weight, 2, "[N, K]")) || failed(c.floatElement(weight)) ||
      failed(c.dim(weight, 1, x, -1, "K")))
    return failure();
  if (!symbolizePrecision(getPrecision()))
    return emitOpError()
           << "expects precision to be \"bf16\" or \"f32\", got \""
           << getPrecision() << "\"";
  Named result = c.operand("result", getResult());
  int64_t rank = x.type.getRank();
  if (failed(c.rank(result, rank, "[..., N]")) ||
      failed(c.floatElement(result)))
    return failure();
  for (int64_t i = 0; i + 1 < rank; ++i)
    if (failed(c.dim(result, i, x, i, "leading dim " + std::to_string(i))))
      return failure();
  return c.dim(result, rank - 1, weight, 0, "N");
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  Checker c(*this);
  Named table = c.operand("table", getTable()),
        ids = c.operand("ids", getIds());
  if (failed(c.rank(table, 2, "[V, N]")) || failed(c.floatElement(table)) ||
      failed(c.element(ids, IntegerType::get(getContext(), 32))))
    return failure();
  Named result = c.operand("result", getResult());
  int64_t rank = ids.type.getRank();
  if (failed(c.rank(result, rank + 1, "ids shape + [N]")) ||
      failed(c.sameElement(result, table)))
    return failure();
  for (int64_t i = 0; i < rank; ++i)
    if (failed(c.dim(result, i, ids, i, "ids dim " + std::to_string(i))))
      return failure();
  return c.dim(result, rank, table, 1, "N");
}

//===----------------------------------------------------------------------===//
// MoeOp
//===----------------------------------------------------------------------===//

LogicalResult MoeOp::verify() {
  Checker c(*this);
  Named x = c.operand("x", getX()), router = c.operand("router", getRouter()),
        w1 = c.operand("w1", getW1()), w3 = c.operand("w3", getW3()),
        w2 = c.operand("w2", getW2());
  if (failed(c.rank(x, 2, "[T, N]")) || failed(c.floatElement(x)))
    return failure();
  if (failed(c.rank(router, 2, "[E, N]")) || failed(c.floatElement(router)) ||
      failed(c.dim(router, 1, x, 1, "N")))
    return failure();
  if (failed(c.rank(w1, 3, "[E, I, N]")) || failed(c.floatElement(w1)) ||
      failed(c.dim(w1, 0, router, 0, "E")) || failed(c.dim(w1, 2, x, 1, "N")))
    return failure();
  if (failed(c.rank(w3, 3, "[E, I, N]")) || failed(c.sameElement(w3, w1)))
    return failure();
  if (failed(c.sameDims(w3, w1, {"E", "I", "N"})))
    return failure();
  if (failed(c.rank(w2, 3, "[E, N, I]")) || failed(c.sameElement(w2, w1)) ||
      failed(c.dim(w2, 0, router, 0, "E")) || failed(c.dim(w2, 1, x, 1, "N")) ||
      failed(c.dim(w2, 2, w1, 1, "I")))
    return failure();

  // E is the first static expert count among the operands (all agree).
  int64_t topK = getTopK(), experts = ShapedType::kDynamic;
  for (const Named &t : {router, w1, w3, w2})
    if (ShapedType::isDynamic(experts))
      experts = t.type.getDimSize(0);
  if (topK < 1 || (!ShapedType::isDynamic(experts) && topK > experts))
    return emitOpError() << "expects top_k in [1, E] with E = "
                         << (ShapedType::isDynamic(experts)
                                 ? std::string("?")
                                 : std::to_string(experts))
                         << " experts, got " << topK;
  return c.sameShapeAndElement(c.operand("result", getResult()), x, "[T, N]",
                               {"T", "N"});
}

//===----------------------------------------------------------------------===//
// CispoLossOp
//===----------------------------------------------------------------------===//

LogicalResult CispoLossOp::verify() {
  Checker c(*this);
  Type f32 = Float32Type::get(getContext());
  Named hidden = c.operand("hidden", getHidden()),
        lmHead = c.operand("lm_head", getLmHead()),
        targets = c.operand("targets", getTargets());
  if (failed(c.rank(hidden, 2, "[T, N]")) || failed(c.floatElement(hidden)))
    return failure();
  if (failed(c.rank(lmHead, 2, "[V, N]")) || failed(c.floatElement(lmHead)) ||
      failed(c.dim(lmHead, 1, hidden, 1, "N")))
    return failure();
  if (failed(c.rank(targets, 1, "[T]")) ||
      failed(c.element(targets, IntegerType::get(getContext(), 32))) ||
      failed(c.dim(targets, 0, hidden, 0, "T")))
    return failure();
  for (const Named &t :
       {c.operand("logp_old", getLogpOld()),
        c.operand("advantages", getAdvantages()), c.operand("mask", getMask()),
        c.operand("result logp_new", getLogpNew())})
    if (failed(c.rank(t, 1, "[T]")) || failed(c.element(t, f32)) ||
        failed(c.dim(t, 0, hidden, 0, "T")))
      return failure();
  if (failed(c.positive("eps_low", getEpsLow().convertToDouble())) ||
      failed(c.positive("eps_high", getEpsHigh().convertToDouble())))
    return failure();
  if (!symbolizePrecision(getPrecision()))
    return emitOpError()
           << "expects precision to be \"bf16\" or \"f32\", got \""
           << getPrecision() << "\"";
  Named loss = c.operand("result loss", getLoss());
  if (failed(c.rank(loss, 0, "a scalar")) || failed(c.element(loss, f32)))
    return failure();
  if (failed(c.sameShapeAndElement(c.operand("result d_hidden", getDHidden()),
                                   hidden, "[T, N]", {"T", "N"})))
    return failure();
  return c.sameShapeAndElement(c.operand("result d_lm_head", getDLmHead()),
                               lmHead, "[V, N]", {"V", "N"});
}

//===----------------------------------------------------------------------===//
// TokenLogprobsOp
//===----------------------------------------------------------------------===//

LogicalResult TokenLogprobsOp::verify() {
  Checker c(*this);
  Named hidden = c.operand("hidden", getHidden()),
        lmHead = c.operand("lm_head", getLmHead()),
        tokens = c.operand("tokens", getTokens()),
        result = c.operand("result", getResult());
  if (failed(c.rank(hidden, 2, "[T, N]")) || failed(c.floatElement(hidden)))
    return failure();
  if (failed(c.rank(lmHead, 2, "[V, N]")) || failed(c.floatElement(lmHead)) ||
      failed(c.dim(lmHead, 1, hidden, 1, "N")))
    return failure();
  if (failed(c.rank(tokens, 1, "[T]")) ||
      failed(c.element(tokens, IntegerType::get(getContext(), 32))) ||
      failed(c.dim(tokens, 0, hidden, 0, "T")))
    return failure();
  if (failed(c.rank(result, 1, "[T]")) ||
      failed(c.element(result, Float32Type::get(getContext()))) ||
      failed(c.dim(result, 0, hidden, 0, "T")))
    return failure();
  if (!symbolizePrecision(getPrecision()))
    return emitOpError()
           << "expects precision to be \"bf16\" or \"f32\", got \""
           << getPrecision() << "\"";
  return success();
}

//===----------------------------------------------------------------------===//
// MoeRouteOp, MoeExpertsOp
//===----------------------------------------------------------------------===//

LogicalResult TopKOp::verify() {
  Checker c(*this);
  Named input = c.operand("input", getInput()),
        values = c.operand("values", getValues()),
        indices = c.operand("indices", getIndices());
  if (failed(c.rank(input, 2, "[T, E]")) || failed(c.floatElement(input)))
    return failure();
  int64_t k = getK(), width = input.type.getDimSize(1);
  if (k < 1 || (!ShapedType::isDynamic(width) && k > width))
    return emitOpError() << "expects k in [1, E] with E = "
                         << (ShapedType::isDynamic(width)
                                 ? std::string("?")
                                 : std::to_string(width))
                         << ", got " << k;
  if (failed(c.rank(values, 2, "[T, k]")) ||
      failed(c.sameElement(values, input)) ||
      failed(c.rank(indices, 2, "[T, k]")) ||
      failed(c.element(indices, IntegerType::get(getContext(), 32))) ||
      failed(c.dim(values, 0, input, 0, "T")) ||
      failed(c.dim(indices, 0, input, 0, "T")))
    return failure();
  for (const Named &t : {values, indices})
    if (!t.type.isDynamicDim(1) && t.type.getDimSize(1) != k)
      return emitOpError() << "expects " << t.name << " dim 1 to be k (" << k
                           << "), got " << t.type.getDimSize(1);
  return success();
}

LogicalResult RoutedExpertsOp::verify() {
  Checker c(*this);
  Named x = c.operand("x", getX()),
        indices = c.operand("indices", getIndices()),
        weights = c.operand("weights", getWeights()),
        w1 = c.operand("w1", getW1()), w3 = c.operand("w3", getW3()),
        w2 = c.operand("w2", getW2());
  if (failed(c.rank(x, 2, "[T, N]")) || failed(c.floatElement(x)) ||
      failed(c.rank(indices, 2, "[T, K]")) ||
      failed(c.element(indices, IntegerType::get(getContext(), 32))) ||
      failed(c.rank(weights, 2, "[T, K]")) ||
      failed(c.element(weights, Float32Type::get(getContext()))) ||
      failed(c.dim(indices, 0, x, 0, "T")) ||
      failed(c.sameDims(weights, indices, {"T", "K"})))
    return failure();
  if (indices.type.isDynamicDim(1))
    return emitOpError() << "expects indices dim 1 (K, the picks per token) "
                            "to be static, got "
                         << indices.type;
  if (failed(c.expertWeights(x, w1, w3, w2)))
    return failure();
  return c.sameShapeAndElement(c.operand("result", getResult()), x, "[T, N]",
                               {"T", "N"});
}

LogicalResult mlir::hymir::verifyStaticSizesFit(Operation *op) {
  auto check = [&](Type type, StringRef kind, unsigned index) -> LogicalResult {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor)
      return success();
    Type element = tensor.getElementType();
    int64_t bytes =
        element.isIntOrFloat() ? (element.getIntOrFloatBitWidth() + 7) / 8 : 8;
    std::optional<int64_t> total = bytes;
    for (int64_t dim : tensor.getShape())
      if (total && !ShapedType::isDynamic(dim))
        total = llvm::checkedMul(*total, dim);
    if (total)
      return success();
    return op->emitOpError()
           << "expects " << kind << " #" << index
           << " to hold fewer than 2^63 bytes, got " << tensor;
  };
  for (auto [i, v] : llvm::enumerate(op->getOperands()))
    if (failed(check(v.getType(), "operand", i)))
      return failure();
  for (auto [i, v] : llvm::enumerate(op->getResults()))
    if (failed(check(v.getType(), "result", i)))
      return failure();
  return success();
}

/// The most experts a layout counts: its offsets are i32 and hold E + 1
/// entries.
constexpr int64_t kMaxExperts = (int64_t(1) << 31) - 2;

/// A layout's rows per expert are padded to a multiple of `tile`; the
/// kernels that read it take tiles of at most 128 rows, and the warp-row
/// kernels unroll tile / 32 steps, so a tile is bounded.
static LogicalResult verifyMoeTile(Operation *op, int64_t tile) {
  if (tile >= 1 && tile <= kMaxMoeTile)
    return success();
  return op->emitOpError() << "expects tile in [1, " << kMaxMoeTile << "], got "
                           << tile;
}

/// T * K + E * (tile - 1), the rows of a layout, or nothing when that
/// overflows int64.
static std::optional<int64_t> layoutRows(int64_t tokens, int64_t picks,
                                         int64_t experts, int64_t tile) {
  std::optional<int64_t> routed = llvm::checkedMul(tokens, picks);
  std::optional<int64_t> padding = llvm::checkedMul(experts, tile - 1);
  if (!routed || !padding)
    return std::nullopt;
  return llvm::checkedAdd(*routed, *padding);
}

LogicalResult MoeLayoutOp::verify() {
  Checker c(*this);
  Type i32 = IntegerType::get(getContext(), 32);
  Named indices = c.operand("indices", getIndices()),
        sorted = c.operand("sorted_tokens", getSortedTokens()),
        offsets = c.operand("offsets", getOffsets()),
        slots = c.operand("slots", getSlots());
  int64_t experts = getNumExperts(), tile = getTile();
  if (experts < 1 || experts > kMaxExperts)
    return emitOpError() << "expects num_experts in [1, " << kMaxExperts
                         << "], got " << experts;
  if (failed(verifyMoeTile(*this, tile)))
    return failure();
  if (failed(c.rank(indices, 2, "[T, K]")) || failed(c.element(indices, i32)) ||
      failed(c.rank(sorted, 1, "[T * K + E * (tile - 1)]")) ||
      failed(c.element(sorted, i32)) || failed(c.rank(offsets, 1, "[E + 1]")) ||
      failed(c.element(offsets, i32)) || failed(c.rank(slots, 2, "[T, K]")) ||
      failed(c.element(slots, i32)) ||
      failed(c.sameDims(slots, indices, {"T", "K"})))
    return failure();
  if (indices.type.isDynamicDim(1))
    return emitOpError() << "expects indices dim 1 (K, the picks per token) "
                            "to be static, got "
                         << indices.type;
  if (!offsets.type.isDynamicDim(0) &&
      offsets.type.getDimSize(0) != experts + 1)
    return emitOpError() << "expects offsets to have E + 1 = " << experts + 1
                         << " entries, got " << offsets.type.getDimSize(0);
  int64_t tokens = indices.type.getDimSize(0),
          picks = indices.type.getDimSize(1), rows = sorted.type.getDimSize(0);
  if (ShapedType::isDynamic(tokens) && !ShapedType::isDynamic(rows))
    return c.staticFromDynamic(sorted, 0, "T * K + E * (tile - 1)", indices, 0,
                               "T");
  if (ShapedType::isDynamic(tokens) || ShapedType::isDynamic(picks) ||
      ShapedType::isDynamic(rows))
    return success();
  std::optional<int64_t> want = layoutRows(tokens, picks, experts, tile);
  if (!want)
    return emitOpError() << "expects T * K + E * (tile - 1) to fit in 64 "
                            "bits, got T = "
                         << tokens << ", K = " << picks << ", E = " << experts
                         << ", tile = " << tile;
  if (rows != *want)
    return emitOpError() << "expects sorted_tokens to have T * K + E * "
                            "(tile - 1) = "
                         << *want << " rows, got " << rows;
  return success();
}

LogicalResult MoeRouteOp::verify() {
  Checker c(*this);
  Type i32 = IntegerType::get(getContext(), 32);
  Type f32 = Float32Type::get(getContext());
  Named x = c.operand("logits", getLogits());
  if (failed(c.rank(x, 2, "[T, E]")) || failed(c.element(x, f32)))
    return failure();
  int64_t topK = getTopK(), tile = getTile();
  int64_t experts = x.type.getDimSize(1);
  if (topK < 1 || (!ShapedType::isDynamic(experts) && topK > experts))
    return emitOpError() << "expects top_k in [1, E] with E = "
                         << (ShapedType::isDynamic(experts)
                                 ? std::string("?")
                                 : std::to_string(experts))
                         << " experts, got " << topK;
  if (failed(verifyMoeTile(*this, tile)))
    return failure();
  Named sorted = c.operand("sorted_tokens", getSortedTokens()),
        offsets = c.operand("offsets", getOffsets()),
        slots = c.operand("slots", getSlots()),
        weights = c.operand("weights", getWeights());
  if (failed(c.rank(sorted, 1, "[T * top_k + E * (tile - 1)]")) ||
      failed(c.element(sorted, i32)) || failed(c.rank(offsets, 1, "[E + 1]")) ||
      failed(c.element(offsets, i32)) ||
      failed(c.rank(slots, 2, "[T, top_k]")) || failed(c.element(slots, i32)) ||
      failed(c.rank(weights, 2, "[T, top_k]")) ||
      failed(c.element(weights, f32)) || failed(c.sameDims(slots, x, {"T"})) ||
      failed(c.sameDims(weights, x, {"T"})))
    return failure();
  for (const Named &t : {slots, weights})
    if (!t.type.isDynamicDim(1) && t.type.getDimSize(1) != topK)
      return emitOpError() << "expects " << t.name << " dim 1 to be top_k ("
                           << topK << "), got " << t.type.getDimSize(1);
  if (ShapedType::isDynamic(experts) && !offsets.type.isDynamicDim(0))
    return c.staticFromDynamic(offsets, 0, "E + 1", x, 1, "E");
  if (!ShapedType::isDynamic(experts) && !offsets.type.isDynamicDim(0) &&
      offsets.type.getDimSize(0) != experts + 1)
    return emitOpError() << "expects offsets to have E + 1 = " << experts + 1
                         << " entries, got " << offsets.type.getDimSize(0);
  int64_t tokens = x.type.getDimSize(0), rows = sorted.type.getDimSize(0);
  for (auto [size, d, label] :
       {std::tuple<int64_t, int64_t, StringRef>{tokens, 0, "T"},
        {experts, 1, "E"}})
    if (ShapedType::isDynamic(size) && !ShapedType::isDynamic(rows))
      return c.staticFromDynamic(sorted, 0, "T * top_k + E * (tile - 1)", x, d,
                                 label);
  if (ShapedType::isDynamic(tokens) || ShapedType::isDynamic(experts) ||
      ShapedType::isDynamic(rows))
    return success();
  std::optional<int64_t> want = layoutRows(tokens, topK, experts, tile);
  if (!want)
    return emitOpError() << "expects T * top_k + E * (tile - 1) to fit in 64 "
                            "bits, got T = "
                         << tokens << ", top_k = " << topK
                         << ", E = " << experts << ", tile = " << tile;
  if (rows != *want)
    return emitOpError() << "expects sorted_tokens to have T * top_k + E * "
                            "(tile - 1) = "
                         << *want << " rows, got " << rows;
  return success();
}

LogicalResult MoeExpertsOp::verify() {
  Checker c(*this);
  Type i32 = IntegerType::get(getContext(), 32);
  Type f32 = Float32Type::get(getContext());
  Named x = c.operand("x", getX()),
        sorted = c.operand("sorted_tokens", getSortedTokens()),
        offsets = c.operand("offsets", getOffsets()),
        slots = c.operand("slots", getSlots()),
        weights = c.operand("weights", getWeights()),
        w1 = c.operand("w1", getW1()), w3 = c.operand("w3", getW3()),
        w2 = c.operand("w2", getW2());
  if (failed(c.rank(x, 2, "[T, N]")) || failed(c.floatElement(x)) ||
      failed(c.rank(sorted, 1, "[P]")) || failed(c.element(sorted, i32)) ||
      failed(c.rank(offsets, 1, "[E + 1]")) ||
      failed(c.element(offsets, i32)) || failed(c.rank(slots, 2, "[T, K]")) ||
      failed(c.element(slots, i32)) || failed(c.rank(weights, 2, "[T, K]")) ||
      failed(c.element(weights, f32)) || failed(c.sameDims(slots, x, {"T"})) ||
      failed(c.sameDims(weights, slots, {"T", "K"})))
    return failure();
  if (failed(c.expertWeights(x, w1, w3, w2)))
    return failure();
  int64_t experts = w1.type.getDimSize(0);
  // A static offsets size ties the layout's expert count to the weights'.
  if (offsets.type.isDynamicDim(0))
    return emitOpError() << "expects offsets to have a static size (E + 1), "
                            "got "
                         << offsets.type;
  if (!ShapedType::isDynamic(experts) &&
      offsets.type.getDimSize(0) != experts + 1)
    return emitOpError() << "expects offsets to have E + 1 = " << experts + 1
                         << " entries, got " << offsets.type.getDimSize(0);
  if (slots.type.isDynamicDim(1))
    return emitOpError() << "expects slots dim 1 (K) to be static, got "
                         << slots.type;
  return c.sameShapeAndElement(c.operand("result", getResult()), x, "[T, N]",
                               {"T", "N"});
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

LogicalResult AllReduceOp::verify() {
  Checker c(*this);
  Named x = c.operand("x", getX());
  if (failed(c.floatElement(x)))
    return failure();
  if (getResult().getType() != x.type)
    return emitOpError() << "expects the result to have the type of x ("
                         << x.type << "), got " << getResult().getType();
  return success();
}

LogicalResult ReduceScatterOp::verify() {
  Checker c(*this);
  Named x = c.operand("x", getX()), result = c.operand("result", getResult());
  if (failed(c.floatElement(x)) || failed(c.sameElement(result, x)) ||
      failed(c.rank(result, x.type.getRank(), "the rank of x")))
    return failure();
  int64_t dim = getDim();
  if (dim < 0 || dim >= x.type.getRank())
    return emitOpError() << "expects dim to be in [0, " << x.type.getRank()
                         << "), got " << dim;
  int64_t whole = x.type.getDimSize(dim), part = result.type.getDimSize(dim);
  if (ShapedType::isDynamic(part) || ShapedType::isDynamic(whole))
    return emitOpError() << "expects x and the result to have static sizes "
                            "along the scattered dim "
                         << dim;
  if (part == 0 || whole % part != 0)
    return emitOpError() << "expects x dim " << dim
                         << " to be a positive multiple (the device count) of "
                            "result dim "
                         << dim << " (" << part << "), got " << whole;
  for (int64_t i = 0; i < x.type.getRank(); ++i)
    if (i != dim && failed(c.dim(result, i, x, i, "dim " + std::to_string(i))))
      return failure();
  return success();
}

LogicalResult AllToAllOp::verify() {
  Checker c(*this);
  Named x = c.operand("x", getX()),
        offsets = c.operand("send_offsets", getSendOffsets());
  Type e = x.type.getElementType();
  if (!e.isBF16() && !e.isF32() && !e.isInteger(32))
    return emitOpError() << "expects x to have element type bf16, f32 or i32, "
                            "got "
                         << e;
  if (failed(c.minRank(x, 1, "[rows, ...]")))
    return failure();
  for (int64_t d = 1; d < x.type.getRank(); ++d)
    if (x.type.isDynamicDim(d))
      return emitOpError() << "expects x to have static dims after dim 0, got "
                           << x.type;
  if (failed(c.rank(offsets, 1, "[devices + 1]")) ||
      failed(c.element(offsets, IntegerType::get(getContext(), 32))))
    return failure();
  if (offsets.type.isDynamicDim(0) || offsets.type.getDimSize(0) < 2)
    return emitOpError() << "expects send_offsets to have a static size of at "
                            "least 2 (devices + 1), got "
                         << offsets.type;
  if (getResult().getType() != x.type)
    return emitOpError() << "expects the result to have the type of x ("
                         << x.type << "), got " << getResult().getType();
  if (getRecvOffsets().getType() != offsets.type)
    return emitOpError() << "expects recv_offsets to have the type of "
                            "send_offsets ("
                         << offsets.type << "), got "
                         << getRecvOffsets().getType();
  return success();
}

LogicalResult DeviceIndexOp::verify() {
  auto type = cast<RankedTensorType>(getResult().getType());
  if (type.getRank() != 1 || type.getDimSize(0) != 1 ||
      !type.getElementType().isInteger(32))
    return emitOpError() << "expects the result to be tensor<1xi32>, got "
                         << type;
  return success();
}

LogicalResult AllGatherOp::verify() {
  Checker c(*this);
  Named x = c.operand("x", getX()), result = c.operand("result", getResult());
  if (failed(c.floatElement(x)) || failed(c.sameElement(result, x)) ||
      failed(c.rank(result, x.type.getRank(), "the rank of x")))
    return failure();
  int64_t dim = getDim();
  if (dim < 0 || dim >= x.type.getRank())
    return emitOpError() << "expects dim to be in [0, " << x.type.getRank()
                         << "), got " << dim;
  int64_t part = x.type.getDimSize(dim), whole = result.type.getDimSize(dim);
  if (ShapedType::isDynamic(part) || ShapedType::isDynamic(whole))
    return emitOpError() << "expects x and the result to have static sizes "
                            "along the gathered dim "
                         << dim;
  if (part == 0 || whole % part != 0)
    return emitOpError() << "expects result dim " << dim
                         << " to be a positive multiple (the device count) of "
                            "x dim "
                         << dim << " (" << part << "), got " << whole;
  for (int64_t i = 0; i < x.type.getRank(); ++i)
    if (i != dim && failed(c.dim(result, i, x, i, "dim " + std::to_string(i))))
      return failure();
  return success();
}

#define GET_OP_CLASSES
#include "hymir/Dialect/Hymir/IR/HymirOps.cpp.inc"

//===----------------------------------------------------------------------===//
// TokenGuardOp
//===----------------------------------------------------------------------===//

LogicalResult TokenGuardOp::verify() {
  // I64Attr getters return the bits unsigned.
  auto lo = static_cast<int64_t>(getAtLeast());
  auto hi = static_cast<int64_t>(getAtMost());
  if (lo < 0 || hi < -1 || (hi >= 0 && hi < lo))
    return emitOpError() << "expects a token range [at_least, at_most] with "
                            "0 <= at_least <= at_most (at_most -1: no bound), "
                            "got ["
                         << lo << ", " << hi << "]";
  return success();
}

//===----------------------------------------------------------------------===//
// CheckSlotOp
//===----------------------------------------------------------------------===//

LogicalResult CheckSlotOp::verify() {
  MemRefType type = getSlot().getType();
  if (type.getShape() != ArrayRef<int64_t>{2} ||
      !type.getLayout().isIdentity() || type.getMemorySpace())
    return emitOpError() << "expects its slot to be memref<2xi64>, got "
                         << type;
  if (getCheckedOp().empty() || getValue().empty())
    return emitOpError() << "expects a checked op and a value name";
  return success();
}

//===----------------------------------------------------------------------===//
// TensorMapOp
//===----------------------------------------------------------------------===//

LogicalResult TensorMapOp::verify() {
  MemRefType mapType = getMap().getType();
  if (mapType.getShape() != ArrayRef<int64_t>{16} ||
      !mapType.getLayout().isIdentity() || mapType.getMemorySpace())
    return emitOpError() << "expects its map to be memref<16xi64> (the 128 "
                            "bytes of a CUtensorMap), got "
                         << mapType;
  auto srcType = cast<MemRefType>(getSrc().getType());
  std::optional<int64_t> elementBytes =
      tensorMapElementBytes(srcType.getElementType());
  if (!elementBytes)
    return emitOpError() << "expects a source of bf16, f16, f32, f64, i8, "
                            "i32 or i64 elements, got "
                         << srcType.getElementType();
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(srcType.getStridesAndOffset(strides, offset)) ||
      (!strides.empty() && strides.back() != 1))
    return emitOpError() << "expects a source whose innermost stride is 1, "
                            "got "
                         << srcType;
  // I64Attr getters return the bits unsigned.
  if (std::optional<std::string> error =
          tensorMapBoxError(srcType.getRank(), getBox(), *elementBytes,
                            static_cast<int64_t>(getSwizzle())))
    return emitOpError() << "expects " << *error;
  return success();
}
