//===- MiniMaxImporter.cpp - a MiniMax checkpoint as a hymir module -------===//
//
// See MiniMaxImporter.h. Two passes over the model: `collect` checks every
// tensor the config calls for against the checkpoint (name, shape, dtype)
// and lists the parameters of the entries; `build` writes the module: per
// entry (`forward`, the training entries `score` and `cispo_step` sharing
// its trunk and layer functions, buildTraining, then `prefill` and
// `decode`, buildCached) one private function per layer kind and signature
// (a lightning and a softmax layer, called once per layer) and the entry.
// Activations between layers are [B*T, N] rows; the attention ops see [B, T,
// heads, head dim]. Elementwise math (SiLU, the sigmoid gate, the residual
// sums) is computed in f32 whatever the activation dtype, rounding once at the
// end, as the PyTorch code's opmath does.
//
//===----------------------------------------------------------------------===//

#include "hymir/Frontend/MiniMaxImporter.h"

#include "hymir/Dialect/Hymir/IR/HymirDialect.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Frontend/Checkpoint.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <map>

using namespace mlir;
namespace hy = mlir::hymir;

namespace hymir::frontend {
namespace {

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  return "[" +
         llvm::join(llvm::map_range(
                        shape, [](int64_t d) { return std::to_string(d); }),
                    ", ") +
         "]";
}

/// A parameter of `forward`: one checkpoint tensor.
struct Param {
  std::string name;
  RankedTensorType type;
};

/// The MoE weights of one layer: fused (transformers) or one tensor per
/// expert (released MiniMax checkpoints); indices into the parameters.
struct MoeParams {
  int64_t router = -1;
  bool fused = true;
  /// Declared in hymir's stacked layout: w1, w3, w2 hold one [E, ...]
  /// parameter each.
  bool stacked = false;
  int64_t gateUp = -1, down = -1;
  SmallVector<int64_t> w1, w3, w2;
};

struct LayerParams {
  LayerKind kind = LayerKind::Lightning;
  int64_t inputNorm = -1, postNorm = -1;
  /// Lightning: qkv_proj, output_gate, out_proj, norm. Softmax: q_proj,
  /// k_proj, v_proj, o_proj.
  SmallVector<int64_t> mixer;
  MoeParams moe;
};

/// The entries built: `forward` (every position, no caches), `prefill` (a
/// batch of right-padded prompts through the caches) and `decode` (one
/// token per active sequence through the caches).
enum class Entry { Forward, Prefill, Decode };

class Importer {
public:
  Importer(MLIRContext &context, const ModelConfig &config,
           const Checkpoint &checkpoint, const ImportOptions &options, Type act)
      : context(context), c(config), ckpt(checkpoint), options(options),
        act(act), f32(Float32Type::get(&context)),
        declared(options.declaredWeights == "bf16"
                     ? Type(BFloat16Type::get(&context))
                 : options.declaredWeights == "f32" ? Type(f32)
                                                    : Type()),
        loc(UnknownLoc::get(&context)), b(&context) {}

  llvm::Error collect();
  OwningOpRef<ModuleOp> build();
  /// Builds `prefill` or `decode` into the module `build` made.
  void buildCached(Entry entry);
  /// Builds the training entries `score` and `cispo_step` into the module
  /// `build` made.
  void buildTraining();
  /// Builds the `logprobs` entry into the module `build` made.
  void buildLogprobs();
  /// How the MoE weights are stored, for the summary.
  bool anyPerExpert() const {
    return llvm::any_of(layers, [](const LayerParams &l) {
      return !l.moe.fused && !l.moe.stacked;
    });
  }

private:
  /// A cache-free entry `name`: arguments `inputs` (named, first) then the
  /// parameters, results `results` (named). Leaves the builder in its body.
  func::FuncOp cacheFreeEntry(StringRef name,
                              ArrayRef<std::pair<StringRef, Type>> inputs,
                              ArrayRef<std::pair<StringRef, Type>> results);
  /// The model up to the final RMSNorm on every position of `ids` [B, T]
  /// (`params`: the entry's parameter arguments): [B*T, N] rows.
  Value trunk(Value ids, ArrayRef<Value> params);
  /// [B, T] i32 or f32 `x` as [B*T] rows, and back.
  Value flatten(Value x);
  Value unflatten(Value rows, Type type, Value tokens);

  llvm::Expected<int64_t> require(const std::string &name,
                                  SmallVector<int64_t> shape,
                                  const llvm::Twine &what);
  llvm::Error collectMoe(int64_t layer, MoeParams &moe);

  // Builders of the graph.
  Value dim(Value t, int64_t d) { return tensor::DimOp::create(b, loc, t, d); }
  /// The static token count of the entry being built (decode: 1), else
  /// dynamic.
  int64_t tokenDim() const {
    return mode == Entry::Decode ? 1 : ShapedType::kDynamic;
  }
  /// The token count as a size: a constant where static, else `tokens`.
  OpFoldResult tokenSize(Value tokens) {
    if (mode == Entry::Decode)
      return b.getIndexAttr(1);
    return tokens;
  }
  Value toF32(Value v);
  Value castTo(Value v, Type elt);
  Value splat(double value, Value like);
  Value silu(Value x);
  Value sigmoid(Value x);
  Value residual(Value res, Value block, double alpha, double beta);
  Value rmsNorm(Value x, Value w, double eps);
  Value linear(Value x, Value w, Type elt, StringRef precision = "bf16");
  Value heads(Value rows2d, OpFoldResult tokens, int64_t count, int64_t width);
  Value moe(Value h, ValueRange w);

  // Integer and broadcast glue of the cached entries, as linalg.generic
  // ops on tensors (there is no hymir op for them; the kernel form fuses
  // them like any elementwise math).
  Value empty(ArrayRef<int64_t> shape, Type elt, ValueRange dynamicSizes = {});
  /// A linalg.generic: `ins` read through `maps` (one per input, then the
  /// output's), all loops parallel unless `iterators` says otherwise, into
  /// `init`; `body` gets a builder, the block arguments and the loop
  /// indices, and returns the value to yield.
  Value generic(
      ValueRange ins, ArrayRef<AffineMap> maps, Value init,
      function_ref<Value(ImplicitLocOpBuilder &, ValueRange, ValueRange)> body,
      ArrayRef<utils::IteratorType> iterators = {});
  /// The map of a rank-`rank` loop nest reading the loop dims `dims`.
  AffineMap dims(unsigned rank, ArrayRef<unsigned> dims);
  /// The values of the [B] i32 entry argument `arg`, checked to lie in
  /// [0, bound) at run time: they are read as rows of a [bound, 1] table
  /// holding 0, 1, ..., bound - 1 (hymir.embedding, whose run-time check
  /// names the argument and the first bad value; a bad value reads row 0).
  Value checkedCounts(Value arg, OpFoldResult bound);

  func::FuncOp layerFunction(LayerKind kind, TypeRange argTypes,
                             TypeRange resultTypes);
  void buildLightning(func::FuncOp f);
  void buildSoftmax(func::FuncOp f);
  Value expertStack(ArrayRef<int64_t> params, ArrayRef<Value> args);
  /// The operands every layer function takes (see layerFunction): x, the
  /// layer's weights, its decay rates or `positions`, and `tokens`.
  SmallVector<Value> layerOperands(size_t l, Value x, ArrayRef<Value> args,
                                   Value positions, Value tokens);

  MLIRContext &context;
  const ModelConfig &c;
  const Checkpoint &ckpt;
  const ImportOptions &options;
  Type act, f32;
  /// The dtype of every parameter when they are declared from the config
  /// (ImportOptions::declaredWeights), else null: the checkpoint's.
  Type declared;
  Location loc;
  OpBuilder b;
  ModuleOp module;
  /// The entry being built.
  Entry mode = Entry::Forward;
  /// The rows (B*T) of the layer function being built.
  Value rowCount;

  std::vector<Param> params;
  std::vector<LayerParams> layers;
  int64_t embed = -1, finalNorm = -1, head = -1;
  std::map<std::tuple<int, int, const void *>, func::FuncOp> layerFunctions;
};

llvm::Expected<int64_t> Importer::require(const std::string &name,
                                          SmallVector<int64_t> shape,
                                          const llvm::Twine &what) {
  if (declared) {
    params.push_back({name, RankedTensorType::get(shape, declared)});
    return static_cast<int64_t>(params.size() - 1);
  }
  const CheckpointTensor *t = ckpt.find(name);
  if (!t)
    return fail(llvm::formatv("no tensor '{0}' in {1} ({2})", name,
                              ckpt.source(), what.str()));
  if (ArrayRef<int64_t>(t->shape) != ArrayRef<int64_t>(shape))
    return fail(llvm::formatv("tensor '{0}' in {1} has shape {2}; the config "
                              "needs {3} ({4})",
                              name, t->file, shapeText(t->shape),
                              shapeText(shape), what.str()));
  Type elt;
  if (t->dtype == DType::BF16)
    elt = BFloat16Type::get(&context);
  else if (t->dtype == DType::F32)
    elt = f32;
  else
    return fail(llvm::formatv("tensor '{0}' in {1} is {2}; hymir reads BF16 "
                              "or F32 weights",
                              name, t->file, dtypeName(t->dtype)));
  params.push_back({name, RankedTensorType::get(shape, elt)});
  return static_cast<int64_t>(params.size() - 1);
}

llvm::Error Importer::collectMoe(int64_t layer, MoeParams &moe) {
  std::string p = llvm::formatv("model.layers.{0}.", layer).str();
  int64_t n = c.hiddenSize, e = c.numExperts, i = c.intermediateSize;
  auto sizes = llvm::formatv("num_local_experts {0}, intermediate_size {1}, "
                             "hidden_size {2}",
                             e, i, n)
                   .str();
  // The checkpoint's names say how its experts are stored.
  std::string fusedRouter = p + "mlp.gate.weight";
  std::string splitRouter = p + "block_sparse_moe.gate.weight";
  moe.fused = declared || ckpt.find(fusedRouter) != nullptr;
  if (!moe.fused && !ckpt.find(splitRouter))
    return fail(llvm::formatv(
        "no tensor '{0}' (transformers layout) or '{1}' (MiniMax layout) in "
        "{2}: layer {3} has no MoE router",
        fusedRouter, splitRouter, ckpt.source(), layer));
  llvm::Expected<int64_t> router =
      require(moe.fused ? fusedRouter : splitRouter, {e, n},
              llvm::formatv("layer {0}'s MoE router: {1}", layer, sizes));
  if (!router)
    return router.takeError();
  moe.router = *router;
  if (declared && options.declaredLayout == "stacked") {
    moe.fused = false;
    moe.stacked = true;
    for (auto [out, w, shape] :
         {std::tuple<SmallVector<int64_t> *, const char *,
                     SmallVector<int64_t>>{&moe.w1, "w1", {e, i, n}},
          {&moe.w3, "w3", {e, i, n}},
          {&moe.w2, "w2", {e, n, i}}}) {
      llvm::Expected<int64_t> id =
          require(p + "mlp.experts." + w, shape,
                  llvm::formatv("layer {0}'s experts {1}: {2}", layer,
                                llvm::StringRef(w).upper(), sizes));
      if (!id)
        return id.takeError();
      out->push_back(*id);
    }
    return llvm::Error::success();
  }
  if (moe.fused) {
    llvm::Expected<int64_t> gateUp = require(
        p + "mlp.experts.gate_up_proj", {e, 2 * i, n},
        llvm::formatv("layer {0}'s experts W1 | W3: {1}", layer, sizes));
    if (!gateUp)
      return gateUp.takeError();
    llvm::Expected<int64_t> down =
        require(p + "mlp.experts.down_proj", {e, n, i},
                llvm::formatv("layer {0}'s experts W2: {1}", layer, sizes));
    if (!down)
      return down.takeError();
    moe.gateUp = *gateUp;
    moe.down = *down;
    return llvm::Error::success();
  }
  for (int64_t x = 0; x < e; ++x) {
    std::string q = llvm::formatv("{0}block_sparse_moe.experts.{1}.", p, x);
    for (auto [out, w, shape] :
         {std::tuple<SmallVector<int64_t> *, const char *,
                     SmallVector<int64_t>>{&moe.w1, "w1", {i, n}},
          {&moe.w3, "w3", {i, n}},
          {&moe.w2, "w2", {n, i}}}) {
      llvm::Expected<int64_t> id =
          require(q + w + ".weight", shape,
                  llvm::formatv("layer {0}'s expert {1} {2}: {3}", layer, x,
                                llvm::StringRef(w).upper(), sizes));
      if (!id)
        return id.takeError();
      // The experts of one weight are stacked: they share a dtype.
      if (!out->empty() && params[*id].type.getElementType() !=
                               params[out->front()].type.getElementType())
        return fail(llvm::formatv(
            "tensor '{0}' in {1} is not of the dtype of expert 0's {2}; the "
            "experts of a layer are stacked and share one dtype",
            params[*id].name, ckpt.find(params[*id].name)->file, w));
      out->push_back(*id);
    }
  }
  return llvm::Error::success();
}

llvm::Error Importer::collect() {
  int64_t n = c.hiddenSize, h = c.numHeads, d = c.headDim, v = c.vocabSize;
  int64_t hd = h * d, kv = c.numKvHeads * d;
  llvm::Expected<int64_t> table = require(
      "model.embed_tokens.weight", {v, n},
      llvm::formatv("the embedding: vocab_size {0}, hidden_size {1}", v, n));
  if (!table)
    return table.takeError();
  embed = *table;
  for (int64_t l = 0; l < c.numLayers; ++l) {
    LayerParams layer;
    layer.kind = c.layers[static_cast<size_t>(l)];
    std::string p = llvm::formatv("model.layers.{0}.", l);
    auto norm = [&](const char *which, int64_t &out) -> llvm::Error {
      llvm::Expected<int64_t> id =
          require(p + which + ".weight", {n},
                  llvm::formatv("layer {0}'s {1} RMSNorm: hidden_size {2}", l,
                                llvm::StringRef(which).split('_').first, n));
      if (!id)
        return id.takeError();
      out = *id;
      return llvm::Error::success();
    };
    if (llvm::Error e = norm("input_layernorm", layer.inputNorm))
      return e;
    if (llvm::Error e = norm("post_attention_layernorm", layer.postNorm))
      return e;
    struct Spec {
      const char *name;
      SmallVector<int64_t> shape;
      std::string what;
    };
    std::string heads =
        llvm::formatv("num_attention_heads {0} x head_dim {1}", h, d);
    std::vector<Spec> specs;
    if (layer.kind == LayerKind::Lightning) {
      std::string what = llvm::formatv("layer {0} (lightning attention)'s ", l);
      specs = {{"self_attn.qkv_proj.weight",
                {3 * hd, n},
                what + "q|k|v projection: 3 x " + heads + ", hidden_size"},
               {"self_attn.output_gate.weight",
                {hd, n},
                what + "output gate: " + heads + ", hidden_size"},
               {"self_attn.out_proj.weight",
                {n, hd},
                what + "output projection: hidden_size, " + heads},
               {"self_attn.norm.weight", {hd}, what + "RMSNorm: " + heads}};
    } else {
      std::string what = llvm::formatv("layer {0} (softmax attention)'s ", l);
      std::string kvHeads = llvm::formatv(
          "num_key_value_heads {0} x head_dim {1}", c.numKvHeads, d);
      specs = {{"self_attn.q_proj.weight",
                {hd, n},
                what + "q projection: " + heads + ", hidden_size"},
               {"self_attn.k_proj.weight",
                {kv, n},
                what + "k projection: " + kvHeads + ", hidden_size"},
               {"self_attn.v_proj.weight",
                {kv, n},
                what + "v projection: " + kvHeads + ", hidden_size"},
               {"self_attn.o_proj.weight",
                {n, hd},
                what + "output projection: hidden_size, " + heads}};
    }
    for (const Spec &s : specs) {
      llvm::Expected<int64_t> id = require(p + s.name, s.shape, s.what);
      if (!id)
        return id.takeError();
      layer.mixer.push_back(*id);
    }
    if (llvm::Error e = collectMoe(l, layer.moe))
      return e;
    layers.push_back(std::move(layer));
  }
  llvm::Expected<int64_t> norm =
      require("model.norm.weight", {n},
              llvm::formatv("the final RMSNorm: hidden_size {0}", n));
  if (!norm)
    return norm.takeError();
  finalNorm = *norm;
  if (c.tieWordEmbeddings) {
    head = embed;
    return llvm::Error::success();
  }
  llvm::Expected<int64_t> lmHead =
      require("lm_head.weight", {v, n},
              llvm::formatv("the LM head: vocab_size {0}, hidden_size {1} (the "
                            "config does not tie it to the embedding)",
                            v, n));
  if (!lmHead)
    return lmHead.takeError();
  head = *lmHead;
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Graph pieces
//===----------------------------------------------------------------------===//

Value Importer::castTo(Value v, Type elt) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getElementType() == elt)
    return v;
  Type to = type.clone(elt);
  if (elt.getIntOrFloatBitWidth() > type.getElementTypeBitWidth())
    return arith::ExtFOp::create(b, loc, to, v);
  return arith::TruncFOp::create(b, loc, to, v);
}

Value Importer::toF32(Value v) { return castTo(v, f32); }

/// `value` in f32 in the shape of `like`, a [rowCount, W] tensor.
Value Importer::splat(double value, Value like) {
  auto type = cast<RankedTensorType>(like.getType()).clone(f32);
  Value scalar = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(static_cast<float>(value)));
  return tensor::SplatOp::create(b, loc, type, scalar,
                                 type.isDynamicDim(0) ? ValueRange{rowCount}
                                                      : ValueRange{});
}

Value Importer::silu(Value x) {
  Type elt = cast<RankedTensorType>(x.getType()).getElementType();
  Value xf = toF32(x);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, xf));
  Value den = arith::AddFOp::create(b, loc, splat(1.0, xf), e);
  return castTo(arith::DivFOp::create(b, loc, xf, den), elt);
}

Value Importer::sigmoid(Value x) {
  Value xf = toF32(x);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, xf));
  Value one = splat(1.0, xf);
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, e));
}

/// alpha * res + beta * block, in f32, rounded once to the activation type.
Value Importer::residual(Value res, Value block, double alpha, double beta) {
  Value r = toF32(res), y = toF32(block);
  if (alpha != 1.0)
    r = arith::MulFOp::create(b, loc, r, splat(alpha, r));
  if (beta != 1.0)
    y = arith::MulFOp::create(b, loc, y, splat(beta, y));
  return castTo(arith::AddFOp::create(b, loc, r, y), act);
}

Value Importer::rmsNorm(Value x, Value w, double eps) {
  return hy::RmsNormOp::create(b, loc, x.getType(), x, w,
                               b.getF32FloatAttr(static_cast<float>(eps)));
}

/// x [rows, K] times w [N, K]^T: [rows, N] of element type `elt`.
Value Importer::linear(Value x, Value w, Type elt, StringRef precision) {
  int64_t out = cast<RankedTensorType>(w.getType()).getDimSize(0);
  auto type = RankedTensorType::get(
      {cast<RankedTensorType>(x.getType()).getDimSize(0), out}, elt);
  return hy::LinearOp::create(b, loc, type, x, w, b.getStringAttr(precision));
}

/// [B*T, count*width] rows as [B, T, count, width].
Value Importer::heads(Value rows2d, OpFoldResult tokens, int64_t count,
                      int64_t width) {
  int64_t batch = options.maxBatch;
  Type elt = cast<RankedTensorType>(rows2d.getType()).getElementType();
  auto type = RankedTensorType::get({batch, tokenDim(), count, width}, elt);
  SmallVector<OpFoldResult> shape = {b.getIndexAttr(batch), tokens,
                                     b.getIndexAttr(count),
                                     b.getIndexAttr(width)};
  return tensor::ExpandShapeOp::create(b, loc, type, rows2d, {{0, 1}, {2, 3}},
                                       shape);
}

Value Importer::empty(ArrayRef<int64_t> shape, Type elt,
                      ValueRange dynamicSizes) {
  return tensor::EmptyOp::create(b, loc, shape, elt, dynamicSizes);
}

AffineMap Importer::dims(unsigned rank, ArrayRef<unsigned> which) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : which)
    exprs.push_back(b.getAffineDimExpr(d));
  return AffineMap::get(rank, 0, exprs, &context);
}

Value Importer::generic(
    ValueRange ins, ArrayRef<AffineMap> maps, Value init,
    function_ref<Value(ImplicitLocOpBuilder &, ValueRange, ValueRange)> body,
    ArrayRef<utils::IteratorType> iterators) {
  unsigned rank = maps.back().getNumDims();
  SmallVector<utils::IteratorType> iters(iterators);
  if (iters.empty())
    iters.assign(rank, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
             iters,
             [&](OpBuilder &nested, Location l, ValueRange args) {
               ImplicitLocOpBuilder ib(l, nested);
               SmallVector<Value> index;
               for (unsigned d = 0; d < rank; ++d)
                 index.push_back(linalg::IndexOp::create(ib, d));
               linalg::YieldOp::create(ib, body(ib, args, index));
               // Only the indices the body read stay.
               for (Value i : index)
                 if (i.use_empty())
                   i.getDefiningOp()->erase();
             })
      .getResult(0);
}

Value Importer::checkedCounts(Value arg, OpFoldResult bound) {
  int64_t batch = options.maxBatch;
  SmallVector<Value> dynamic;
  std::optional<int64_t> rowsStatic = getConstantIntValue(bound);
  if (!rowsStatic)
    dynamic.push_back(cast<Value>(bound));
  Value table = generic(
      {}, {b.getMultiDimIdentityMap(2)},
      empty({rowsStatic ? *rowsStatic : ShapedType::kDynamic, 1}, f32, dynamic),
      [](ImplicitLocOpBuilder &ib, ValueRange, ValueRange i) -> Value {
        return arith::UIToFPOp::create(
            ib, ib.getF32Type(),
            arith::IndexCastUIOp::create(ib, ib.getI32Type(), i[0]));
      });
  Value rows = hy::EmbeddingOp::create(
      b, loc, RankedTensorType::get({batch, 1}, f32), table, arg);
  AffineMap column = AffineMap::get(
      1, 0, {b.getAffineDimExpr(0), b.getAffineConstantExpr(0)}, &context);
  return generic(
      {rows}, {column, b.getMultiDimIdentityMap(1)},
      empty({batch}, b.getI32Type()),
      [](ImplicitLocOpBuilder &ib, ValueRange x, ValueRange) -> Value {
        return arith::FPToSIOp::create(ib, ib.getI32Type(), x[0]);
      });
}

Value Importer::moe(Value h, ValueRange w) {
  return hy::MoeOp::create(b, loc, h.getType(), h, w[0], w[1], w[2], w[3],
                           b.getI64IntegerAttr(c.expertsPerToken),
                           b.getBoolAttr(c.renormalize));
}

/// The layer function of `kind` for these argument and result types in the
/// entry being built, made once.
func::FuncOp Importer::layerFunction(LayerKind kind, TypeRange argTypes,
                                     TypeRange resultTypes) {
  auto type = FunctionType::get(&context, argTypes, resultTypes);
  auto key = std::make_tuple(static_cast<int>(kind), static_cast<int>(mode),
                             type.getAsOpaquePointer());
  if (auto it = layerFunctions.find(key); it != layerFunctions.end())
    return it->second;
  std::string name =
      kind == LayerKind::Lightning ? "lightning_layer" : "softmax_layer";
  if (mode == Entry::Prefill)
    name += "_prefill";
  else if (mode == Entry::Decode)
    name += "_decode";
  size_t same = llvm::count_if(layerFunctions, [&](const auto &entry) {
    return std::get<0>(entry.first) == static_cast<int>(kind) &&
           std::get<1>(entry.first) == static_cast<int>(mode);
  });
  if (same)
    name += "_" + std::to_string(same);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(module.getBody(), std::prev(module.getBody()->end()));
  auto f = func::FuncOp::create(b, loc, name, type);
  f.setPrivate();
  b.setInsertionPointToStart(f.addEntryBlock());
  if (kind == LayerKind::Lightning)
    buildLightning(f);
  else
    buildSoftmax(f);
  layerFunctions[key] = f;
  return f;
}

// Arguments of both layer functions: x, input norm, post-attention norm,
// router, W1, W3, W2, then the mixer's four weights, then the decay rates
// (lightning) or the positions (softmax), then the token count T of each
// sequence (x has B*T rows). In prefill and decode then the caches and the
// per-sequence counts the entry computed (see buildCached):
//   lightning: state [B, H, D, D] f32, counts [B] i32 (prefill: also the
//              cache lengths [B] i32) -> (y, new state);
//   softmax:   key cache, value cache [B, C, Hkv, D], span [B] i32 (the
//              valid keys after the write) -> (y, new key and value caches).

void Importer::buildLightning(func::FuncOp f) {
  ValueRange a = f.getArguments();
  Value x = a[0];
  int64_t h = c.numHeads, d = c.headDim, batch = options.maxBatch;
  OpFoldResult tokens = tokenSize(a[12]);
  rowCount = dim(x, 0);
  Value hn = rmsNorm(x, a[1], c.rmsNormEps);
  // q | k | v per head, SiLU on all three; no scale, no normaliser.
  Value qkv = silu(linear(hn, a[7], act));
  Value qkv4 = heads(qkv, tokens, h, 3 * d);
  SmallVector<Value> qkvParts;
  for (int64_t part = 0; part < 3; ++part) {
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(0),
                                         b.getIndexAttr(0),
                                         b.getIndexAttr(part * d)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(batch), tokens,
                                       b.getIndexAttr(h), b.getIndexAttr(d)};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    qkvParts.push_back(
        tensor::ExtractSliceOp::create(b, loc, qkv4, offsets, sizes, strides));
  }
  Value q = qkvParts[0], k = qkvParts[1], v = qkvParts[2], slopes = a[11];
  auto stateType = RankedTensorType::get({batch, h, d, d}, f32);
  auto lightning = [&](Value q, Value k, Value v, Value rates, Value initial) {
    return hy::LightningAttentionOp::create(b, loc, q.getType(), stateType, q,
                                            k, v, rates, initial,
                                            b.getI64IntegerAttr(256));
  };
  AffineMap all4 = b.getMultiDimIdentityMap(4);
  // The layer's new state (prefill and decode).
  Value state;
  Value out;
  if (mode == Entry::Forward) {
    out = lightning(q, k, v, slopes, Value()).getOut();
  } else if (mode == Entry::Decode) {
    Value old = a[13], counts = a[14];
    auto step = lightning(q, k, v, slopes, old);
    out = step.getOut();
    // A slot without a token (counts 0) keeps its state.
    state = generic(
        {step.getFinalState(), old, counts}, {all4, all4, dims(4, {0}), all4},
        empty(stateType.getShape(), f32),
        [&](ImplicitLocOpBuilder &ib, ValueRange x, ValueRange) -> Value {
          Value active = arith::CmpIOp::create(
              ib, arith::CmpIPredicate::sgt, x[2],
              arith::ConstantIntOp::create(ib, ib.getI32Type(), 0));
          return arith::SelectOp::create(ib, active, x[0], x[1]);
        });
  } else {
    Value old = a[13], counts = a[14], lengths = a[15];
    auto isZero = [](ImplicitLocOpBuilder &ib, Value i32) -> Value {
      return arith::CmpIOp::create(
          ib, arith::CmpIPredicate::eq, i32,
          arith::ConstantIntOp::create(ib, ib.getI32Type(), 0));
    };
    auto zeroF32 = [](ImplicitLocOpBuilder &ib) -> Value {
      return arith::ConstantOp::create(ib, ib.getF32FloatAttr(0));
    };
    // A slot whose cache is empty starts a new sequence: its state is
    // taken as zeros, whatever it holds.
    Value start = generic(
        {old, lengths}, {all4, dims(4, {0}), all4},
        empty(stateType.getShape(), f32),
        [&](ImplicitLocOpBuilder &ib, ValueRange x, ValueRange) -> Value {
          return arith::SelectOp::create(ib, isZero(ib, x[1]), zeroF32(ib),
                                         x[0]);
        });
    out = lightning(q, k, v, slopes, start).getOut();
    // The op's final state is the state after all T tokens, padding
    // included. The state after the first n = counts[b] tokens is
    //   S_n = lambda^n S_start + sum_{t < n} lambda^(n-1-t) k_t^T v_t,
    // the sum being a lightning attention without decay (slopes 0) over
    // the keys weighted by lambda^(n-1-t), and zero past n (every weight
    // at most 1: nothing overflows, whatever the padding).
    Value tokenCount = dim(q, 1);
    Value weights = generic(
        {counts, slopes},
        {dims(3, {0}), dims(3, {2}), b.getMultiDimIdentityMap(3)},
        empty({batch, ShapedType::kDynamic, h}, f32, {tokenCount}),
        [&](ImplicitLocOpBuilder &ib, ValueRange x, ValueRange i) -> Value {
          Value t = arith::IndexCastOp::create(ib, ib.getI32Type(), i[1]);
          Value inside =
              arith::CmpIOp::create(ib, arith::CmpIPredicate::slt, t, x[0]);
          Value age = arith::SubIOp::create(
              ib, arith::SubIOp::create(ib, x[0], t),
              arith::ConstantIntOp::create(ib, ib.getI32Type(), 1));
          Value decayed = math::ExpOp::create(
              ib, arith::MulFOp::create(
                      ib, arith::NegFOp::create(ib, x[1]),
                      arith::SIToFPOp::create(ib, ib.getF32Type(), age)));
          return arith::SelectOp::create(ib, inside, decayed, zeroF32(ib));
        });
    Value weighted = generic(
        {k, weights}, {all4, dims(4, {0, 1, 2}), all4},
        empty({batch, ShapedType::kDynamic, h, d}, f32, {tokenCount}),
        [&](ImplicitLocOpBuilder &ib, ValueRange x, ValueRange) -> Value {
          Value key = x[0];
          if (!key.getType().isF32())
            key = arith::ExtFOp::create(ib, ib.getF32Type(), key);
          return arith::MulFOp::create(ib, key, x[1]);
        });
    Value noDecay = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({h}, f32),
                               b.getF32FloatAttr(0)));
    Value sums = lightning(weighted, weighted, toF32(v), noDecay, Value())
                     .getFinalState();
    // A slot without tokens (counts 0) keeps its state, and a new one
    // (cache length 0) starts from zeros.
    state = generic(
        {old, sums, counts, lengths, slopes},
        {all4, all4, dims(4, {0}), dims(4, {0}), dims(4, {1}), all4},
        empty(stateType.getShape(), f32),
        [&](ImplicitLocOpBuilder &ib, ValueRange x, ValueRange) -> Value {
          Value decay = math::ExpOp::create(
              ib, arith::MulFOp::create(
                      ib, arith::NegFOp::create(ib, x[4]),
                      arith::SIToFPOp::create(ib, ib.getF32Type(), x[2])));
          Value carried = arith::AddFOp::create(
              ib, arith::MulFOp::create(ib, decay, x[0]), x[1]);
          Value fresh =
              arith::SelectOp::create(ib, isZero(ib, x[3]), x[1], carried);
          return arith::SelectOp::create(ib, isZero(ib, x[2]), x[0], fresh);
        });
  }
  Value o = tensor::CollapseShapeOp::create(b, loc, out, {{0, 1}, {2, 3}});
  // RMSNorm over all heads (eps 1e-6 in both codebases), the sigmoid
  // gate of the layer's input, the output projection.
  Value on = toF32(rmsNorm(o, a[10], 1e-6));
  Value gate = sigmoid(linear(hn, a[8], act));
  Value gated = castTo(arith::MulFOp::create(b, loc, gate, on), act);
  Value mix = linear(gated, a[9], act);
  Value x1 =
      residual(c.postnorm ? hn : x, mix, c.lightningAlpha, c.lightningBeta);
  Value h2 = rmsNorm(x1, a[2], c.rmsNormEps);
  Value y = residual(c.postnorm ? h2 : x1, moe(h2, a.slice(3, 4)), c.mlpAlpha,
                     c.mlpBeta);
  SmallVector<Value> results = {y};
  if (state)
    results.push_back(state);
  func::ReturnOp::create(b, loc, results);
}

void Importer::buildSoftmax(func::FuncOp f) {
  ValueRange a = f.getArguments();
  Value x = a[0];
  int64_t h = c.numHeads, kv = c.numKvHeads, d = c.headDim;
  OpFoldResult tokens = tokenSize(a[12]);
  rowCount = dim(x, 0);
  Value hn = rmsNorm(x, a[1], c.rmsNormEps);
  Value q = heads(linear(hn, a[7], act), tokens, h, d);
  Value k = heads(linear(hn, a[8], act), tokens, kv, d);
  Value v = heads(linear(hn, a[9], act), tokens, kv, d);
  Value positions = a[11];
  auto rope = [&](Value t) -> Value {
    return hy::RopeOp::create(b, loc, t.getType(), t, positions,
                              b.getI64IntegerAttr(c.rotaryDim),
                              b.getF64FloatAttr(c.ropeTheta));
  };
  SmallVector<Value> caches;
  Value keys = rope(k), values = v, lengths;
  if (mode != Entry::Forward) {
    // The step's keys and values go to positions cache_lengths[b] + t of
    // the caches; the queries see the span[b] = cache_lengths[b] + T
    // positions before and up to themselves (causal), or none in a slot
    // without tokens (span 0, nothing written).
    lengths = a[15];
    // (No RoPE in the write: hymir-fuse-kv-cache-rope moves the keys'
    // hymir.rope into it when the compile asks for fused RoPE.)
    keys = hy::KvCacheWriteOp::create(b, loc, a[13].getType(), a[13], keys,
                                      lengths, Value(), IntegerAttr(),
                                      FloatAttr());
    values = hy::KvCacheWriteOp::create(b, loc, a[14].getType(), a[14], values,
                                        lengths, Value(), IntegerAttr(),
                                        FloatAttr());
    caches = {keys, values};
  }
  Value attn = hy::SoftmaxAttentionOp::create(
      b, loc, q.getType(), rope(q), keys, values, lengths, b.getBoolAttr(true),
      b.getF32FloatAttr(
          static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)))));
  Value o = tensor::CollapseShapeOp::create(b, loc, attn, {{0, 1}, {2, 3}});
  Value mix = linear(o, a[10], act);
  Value x1 = residual(c.postnorm ? hn : x, mix, c.softmaxAlpha, c.softmaxBeta);
  Value h2 = rmsNorm(x1, a[2], c.rmsNormEps);
  Value y = residual(c.postnorm ? h2 : x1, moe(h2, a.slice(3, 4)), c.mlpAlpha,
                     c.mlpBeta);
  SmallVector<Value> results = {y};
  results.append(caches);
  func::ReturnOp::create(b, loc, results);
}

/// One [I, N] (or [N, I]) tensor per expert stacked into [E, I, N].
Value Importer::expertStack(ArrayRef<int64_t> ids, ArrayRef<Value> args) {
  SmallVector<Value> parts;
  for (int64_t id : ids) {
    auto type = params[static_cast<size_t>(id)].type;
    auto one = RankedTensorType::get(
        {1, type.getDimSize(0), type.getDimSize(1)}, type.getElementType());
    parts.push_back(tensor::ExpandShapeOp::create(
        b, loc, one, args[static_cast<size_t>(id)], {{0, 1}, {2}}));
  }
  if (parts.size() == 1)
    return parts[0];
  return tensor::ConcatOp::create(b, loc, /*dim=*/0, parts);
}

SmallVector<Value> Importer::layerOperands(size_t l, Value x,
                                           ArrayRef<Value> args,
                                           Value positions, Value tokens) {
  const LayerParams &layer = layers[l];
  int64_t n = c.hiddenSize;
  auto arg = [&](int64_t id) { return args[static_cast<size_t>(id)]; };
  SmallVector<Value> operands = {x, arg(layer.inputNorm), arg(layer.postNorm),
                                 arg(layer.moe.router)};
  const MoeParams &m = layer.moe;
  if (m.fused) {
    Value gateUp = arg(m.gateUp);
    auto t = cast<RankedTensorType>(gateUp.getType());
    int64_t e = t.getDimSize(0), i = t.getDimSize(1) / 2;
    for (int64_t half = 0; half < 2; ++half) {
      SmallVector<OpFoldResult> offsets = {
          b.getIndexAttr(0), b.getIndexAttr(half * i), b.getIndexAttr(0)};
      SmallVector<OpFoldResult> sizes = {b.getIndexAttr(e), b.getIndexAttr(i),
                                         b.getIndexAttr(n)};
      SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
      operands.push_back(tensor::ExtractSliceOp::create(b, loc, gateUp, offsets,
                                                        sizes, strides));
    }
    operands.push_back(arg(m.down));
  } else if (m.stacked) {
    for (int64_t id : {m.w1[0], m.w3[0], m.w2[0]})
      operands.push_back(arg(id));
  } else {
    operands.push_back(expertStack(m.w1, args));
    operands.push_back(expertStack(m.w3, args));
    operands.push_back(expertStack(m.w2, args));
  }
  for (int64_t id : layer.mixer)
    operands.push_back(arg(id));
  if (layer.kind == LayerKind::Lightning) {
    SmallVector<float> slopes;
    for (double s : c.lightningSlopes(static_cast<int64_t>(l)))
      slopes.push_back(static_cast<float>(s));
    auto type = RankedTensorType::get({c.numHeads}, f32);
    operands.push_back(arith::ConstantOp::create(
        b, loc, DenseFPElementsAttr::get(type, ArrayRef(slopes))));
  } else {
    operands.push_back(positions);
  }
  operands.push_back(tokens);
  return operands;
}

OwningOpRef<ModuleOp> Importer::build() {
  OwningOpRef<ModuleOp> owned = ModuleOp::create(loc);
  module = *owned;
  b.setInsertionPointToEnd(module.getBody());
  int64_t batch = options.maxBatch, n = c.hiddenSize, v = c.vocabSize;
  auto i32 = b.getI32Type();

  // forward(input_ids, parameters...) -> logits.
  auto idsType = RankedTensorType::get({batch, ShapedType::kDynamic}, i32);
  auto logitsType =
      RankedTensorType::get({batch, ShapedType::kDynamic, v}, f32);
  func::FuncOp forward = cacheFreeEntry("forward", {{"input_ids", idsType}},
                                        {{"logits", logitsType}});
  Value ids = forward.getArgument(0);
  // Parameter i is argument i + 1.
  SmallVector<Value> args(forward.getArguments().drop_front());
  Value tokens = dim(ids, 1);
  Value xf = trunk(ids, args);
  Value logits =
      linear(xf, args[static_cast<size_t>(head)], f32, options.lmHeadPrecision);
  SmallVector<OpFoldResult> shape = {b.getIndexAttr(batch), tokens,
                                     b.getIndexAttr(v)};
  Value out = tensor::ExpandShapeOp::create(b, loc, logitsType, logits,
                                            {{0, 1}, {2}}, shape);
  func::ReturnOp::create(b, loc, out);
  b.setInsertionPointToEnd(module.getBody());
  buildTraining();
  buildCached(Entry::Prefill);
  buildCached(Entry::Decode);
  buildLogprobs();
  return owned;
}

func::FuncOp
Importer::cacheFreeEntry(StringRef name,
                         ArrayRef<std::pair<StringRef, Type>> inputs,
                         ArrayRef<std::pair<StringRef, Type>> results) {
  SmallVector<Type> argTypes, resultTypes;
  for (const auto &input : inputs)
    argTypes.push_back(input.second);
  for (const Param &p : params)
    argTypes.push_back(p.type);
  for (const auto &result : results)
    resultTypes.push_back(result.second);
  auto f = func::FuncOp::create(
      b, loc, name, FunctionType::get(&context, argTypes, resultTypes));
  StringRef nameAttr = hy::HymirDialect::NameAttrHelper::getNameStr();
  StringRef paramAttr = hy::HymirDialect::ParamAttrHelper::getNameStr();
  for (auto [i, input] : llvm::enumerate(inputs))
    f.setArgAttr(i, nameAttr, b.getStringAttr(input.first));
  for (auto [i, p] : llvm::enumerate(params)) {
    f.setArgAttr(i + inputs.size(), nameAttr, b.getStringAttr(p.name));
    f.setArgAttr(i + inputs.size(), paramAttr, b.getUnitAttr());
  }
  for (auto [i, result] : llvm::enumerate(results))
    f.setResultAttr(i, nameAttr, b.getStringAttr(result.first));
  b.setInsertionPointToStart(f.addEntryBlock());
  return f;
}

Value Importer::flatten(Value x) {
  return tensor::CollapseShapeOp::create(b, loc, x,
                                         {ReassociationIndices{0, 1}});
}

Value Importer::unflatten(Value rows, Type type, Value tokens) {
  SmallVector<OpFoldResult> shape = {b.getIndexAttr(options.maxBatch), tokens};
  return tensor::ExpandShapeOp::create(b, loc, type, rows, {{0, 1}}, shape);
}

// score and cispo_step (MiniMaxImporter.h has their contract): the trunk of
// forward, then the LM head through hymir.token_logprobs or
// hymir.cispo_loss, whose forward kernel is the same code (so score's
// log-probs equal cispo_step's logp_new bitwise).
void Importer::buildTraining() {
  int64_t batch = options.maxBatch, n = c.hiddenSize, v = c.vocabSize;
  auto dyn = ShapedType::kDynamic;
  auto idsType = RankedTensorType::get({batch, dyn}, b.getI32Type());
  auto perToken = RankedTensorType::get({batch, dyn}, f32);
  auto rows = RankedTensorType::get({dyn}, f32);
  StringRef precision = options.lmHeadPrecision;

  func::FuncOp score =
      cacheFreeEntry("score", {{"input_ids", idsType}, {"targets", idsType}},
                     {{"logprobs", perToken}});
  {
    Value ids = score.getArgument(0);
    SmallVector<Value> args(score.getArguments().drop_front(2));
    Value tokens = dim(ids, 1);
    Value xf = trunk(ids, args);
    Value lp = hy::TokenLogprobsOp::create(
        b, loc, rows, xf, args[static_cast<size_t>(head)],
        flatten(score.getArgument(1)), b.getStringAttr(precision));
    func::ReturnOp::create(b, loc, unflatten(lp, perToken, tokens));
  }
  b.setInsertionPointToEnd(module.getBody());

  Type headType = params[static_cast<size_t>(head)].type;
  auto dHiddenType = RankedTensorType::get({batch, dyn, n}, act);
  func::FuncOp step = cacheFreeEntry("cispo_step",
                                     {{"input_ids", idsType},
                                      {"targets", idsType},
                                      {"logp_old", perToken},
                                      {"advantages", perToken},
                                      {"mask", perToken}},
                                     {{"loss", RankedTensorType::get({}, f32)},
                                      {"logp_new", perToken},
                                      {"d_hidden", dHiddenType},
                                      {"d_lm_head", headType}});
  {
    Value ids = step.getArgument(0);
    SmallVector<Value> args(step.getArguments().drop_front(5));
    Value tokens = dim(ids, 1);
    Value xf = trunk(ids, args);
    Type xfType = xf.getType();
    auto loss = hy::CispoLossOp::create(
        b, loc,
        TypeRange{RankedTensorType::get({}, f32), rows, xfType, headType}, xf,
        args[static_cast<size_t>(head)], flatten(step.getArgument(1)),
        flatten(step.getArgument(2)), flatten(step.getArgument(3)),
        flatten(step.getArgument(4)),
        b.getF32FloatAttr(static_cast<float>(options.cispoEpsLow)),
        b.getF32FloatAttr(static_cast<float>(options.cispoEpsHigh)),
        b.getBoolAttr(options.cispoUnifiedMask), b.getStringAttr(precision));
    SmallVector<OpFoldResult> shape = {b.getIndexAttr(batch), tokens,
                                       b.getIndexAttr(n)};
    Value dHidden = tensor::ExpandShapeOp::create(
        b, loc, dHiddenType, loss.getDHidden(), {{0, 1}, {2}}, shape);
    func::ReturnOp::create(
        b, loc,
        ValueRange{loss.getLoss(),
                   unflatten(loss.getLogpNew(), perToken, tokens), dHidden,
                   loss.getDLmHead()});
  }
  b.setInsertionPointToEnd(module.getBody());
}

Value Importer::trunk(Value ids, ArrayRef<Value> args) {
  int64_t batch = options.maxBatch, n = c.hiddenSize;
  auto i32 = b.getI32Type();
  Value tokens = dim(ids, 1);
  Value emb = hy::EmbeddingOp::create(
      b, loc,
      RankedTensorType::get(
          {batch, ShapedType::kDynamic, n},
          params[static_cast<size_t>(embed)].type.getElementType()),
      args[static_cast<size_t>(embed)], ids);
  Value x =
      castTo(tensor::CollapseShapeOp::create(b, loc, emb, {{0, 1}, {2}}), act);

  // Positions 0..T-1 of every sequence, sliced from a table of the largest
  // context (there is no iota the oracle evaluator knows).
  Value positions;
  if (llvm::is_contained(c.layers, LayerKind::Softmax)) {
    SmallVector<int32_t> iota(static_cast<size_t>(options.maxContext));
    for (size_t t = 0; t < iota.size(); ++t)
      iota[t] = static_cast<int32_t>(t);
    auto tableType = RankedTensorType::get({1, options.maxContext}, i32);
    Value table = arith::ConstantOp::create(
        b, loc, DenseIntElementsAttr::get(tableType, ArrayRef(iota)));
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), tokens};
    SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
    positions =
        tensor::ExtractSliceOp::create(b, loc, table, offsets, sizes, strides);
    if (batch > 1)
      positions = tensor::ConcatOp::create(
          b, loc, 0, SmallVector<Value>(static_cast<size_t>(batch), positions));
  }

  for (size_t l = 0; l < layers.size(); ++l) {
    SmallVector<Value> operands = layerOperands(l, x, args, positions, tokens);
    func::FuncOp f =
        layerFunction(layers[l].kind, ValueRange(operands).getTypes(),
                      {operands[0].getType()});
    x = func::CallOp::create(b, loc, f, operands).getResult(0);
  }
  return rmsNorm(x, args[static_cast<size_t>(finalNorm)], c.rmsNormEps);
}

// prefill and decode (MiniMaxImporter.h has their contract). Per call the
// entry checks the counts and the cache lengths, then derives for every
// sequence b, with n = its token count (prompt_lengths or active) and
// L = cache_lengths[b]:
//   positions [B, T]  L + t, the RoPE positions of its tokens;
//   span [B]          L + T when n > 0, else 0: the valid cache positions
//                     after the write (the padding's keys land past L + n,
//                     where nothing reads them before they are
//                     overwritten); 0 writes nothing;
//   one-hot [B, T]    1 at t = n - 1: picks the last token's row for the
//                     LM head (none when n = 0: zero logits).
void Importer::buildCached(Entry entry) {
  mode = entry;
  bool decode = entry == Entry::Decode;
  b.setInsertionPointToEnd(module.getBody());
  int64_t batch = options.maxBatch, v = c.vocabSize, n = c.hiddenSize;
  int64_t h = c.numHeads, d = c.headDim;
  auto i32 = b.getI32Type();
  auto countsType = RankedTensorType::get({batch}, i32);
  auto stateType = RankedTensorType::get({batch, h, d, d}, f32);
  auto cacheType =
      RankedTensorType::get({batch, options.maxContext, c.numKvHeads, d}, act);

  // Arguments: ids, counts, cache lengths, the caches in layer order, the
  // parameters. Results: logits, then each tied input's new value.
  SmallVector<Type> argTypes = {RankedTensorType::get({batch, tokenDim()}, i32),
                                countsType, countsType};
  SmallVector<std::string> argNames = {
      "input_ids", decode ? "active" : "prompt_lengths", "cache_lengths"};
  SmallVector<Type> resultTypes = {RankedTensorType::get({batch, v}, f32)};
  SmallVector<std::string> resultNames = {"logits"};
  SmallVector<int64_t> tiedTo = {-1};
  auto cached = [&](std::string name, Type type) {
    tiedTo.push_back(static_cast<int64_t>(argTypes.size()));
    argTypes.push_back(type);
    resultTypes.push_back(type);
    argNames.push_back(name);
    resultNames.push_back(name + "_out");
  };
  tiedTo.push_back(2);
  resultTypes.push_back(countsType);
  resultNames.push_back("cache_lengths_out");
  for (auto [l, layer] : llvm::enumerate(layers)) {
    std::string prefix = llvm::formatv("layers.{0}.", l);
    if (layer.kind == LayerKind::Lightning) {
      cached(prefix + "state", stateType);
    } else {
      cached(prefix + "key_cache", cacheType);
      cached(prefix + "value_cache", cacheType);
    }
  }
  resultTypes.push_back(RankedTensorType::get({batch, n}, act));
  resultNames.push_back("hidden");
  tiedTo.push_back(-1);
  size_t firstParam = argTypes.size();
  for (const Param &p : params)
    argTypes.push_back(p.type);
  auto f =
      func::FuncOp::create(b, loc, decode ? "decode" : "prefill",
                           FunctionType::get(&context, argTypes, resultTypes));
  StringRef nameAttr = hy::HymirDialect::NameAttrHelper::getNameStr();
  StringRef paramAttr = hy::HymirDialect::ParamAttrHelper::getNameStr();
  StringRef tiedAttr = hy::HymirDialect::TiedAttrHelper::getNameStr();
  for (auto [i, name] : llvm::enumerate(argNames))
    f.setArgAttr(i, nameAttr, b.getStringAttr(name));
  for (auto [i, p] : llvm::enumerate(params)) {
    f.setArgAttr(firstParam + i, nameAttr, b.getStringAttr(p.name));
    f.setArgAttr(firstParam + i, paramAttr, b.getUnitAttr());
  }
  for (auto [i, name] : llvm::enumerate(resultNames)) {
    f.setResultAttr(i, nameAttr, b.getStringAttr(name));
    if (tiedTo[i] >= 0)
      f.setResultAttr(i, tiedAttr, b.getI64IntegerAttr(tiedTo[i]));
  }
  b.setInsertionPointToStart(f.addEntryBlock());
  ValueRange a = f.getArguments();
  SmallVector<Value> args(a.drop_front(firstParam));
  Value ids = a[0];

  Value tokens =
      decode ? Value(arith::ConstantIndexOp::create(b, loc, 1)) : dim(ids, 1);
  OpFoldResult countBound =
      decode ? OpFoldResult(b.getIndexAttr(2))
             : OpFoldResult(arith::AddIOp::create(
                                b, loc, tokens,
                                arith::ConstantIndexOp::create(b, loc, 1))
                                .getResult());
  Value counts = checkedCounts(a[1], countBound);
  Value lengths = checkedCounts(a[2], b.getIndexAttr(options.maxContext + 1));
  AffineMap all1 = b.getMultiDimIdentityMap(1);
  auto zeroI32 = [](ImplicitLocOpBuilder &ib) -> Value {
    return arith::ConstantIntOp::create(ib, ib.getI32Type(), 0);
  };
  Value span = generic(
      {counts, lengths}, {all1, all1, all1}, empty({batch}, i32),
      [&](ImplicitLocOpBuilder &ib, ValueRange x, ValueRange) -> Value {
        Value active = arith::CmpIOp::create(ib, arith::CmpIPredicate::sgt,
                                             x[0], zeroI32(ib));
        // (The token count is cast here: the plan holds no host scalars.)
        Value t = arith::IndexCastOp::create(ib, ib.getI32Type(), tokens);
        return arith::SelectOp::create(
            ib, active, arith::AddIOp::create(ib, x[1], t), zeroI32(ib));
      });
  Value lengthsOut =
      generic({lengths, counts}, {all1, all1, all1}, empty({batch}, i32),
              [](ImplicitLocOpBuilder &ib, ValueRange x, ValueRange) -> Value {
                return arith::AddIOp::create(ib, x[0], x[1]);
              });
  SmallVector<Value> dynamicT;
  if (!decode)
    dynamicT.push_back(tokens);
  AffineMap all2 = b.getMultiDimIdentityMap(2);
  Value positions;
  if (llvm::is_contained(c.layers, LayerKind::Softmax))
    positions = generic(
        {lengths}, {dims(2, {0}), all2},
        empty({batch, tokenDim()}, i32, dynamicT),
        [](ImplicitLocOpBuilder &ib, ValueRange x, ValueRange i) -> Value {
          return arith::AddIOp::create(
              ib, x[0], arith::IndexCastOp::create(ib, ib.getI32Type(), i[1]));
        });
  Value lastToken = generic(
      {counts}, {dims(2, {0}), all2}, empty({batch, tokenDim()}, f32, dynamicT),
      [](ImplicitLocOpBuilder &ib, ValueRange x, ValueRange i) -> Value {
        Value t = arith::IndexCastOp::create(ib, ib.getI32Type(), i[1]);
        Value last = arith::SubIOp::create(
            ib, x[0], arith::ConstantIntOp::create(ib, ib.getI32Type(), 1));
        Value here =
            arith::CmpIOp::create(ib, arith::CmpIPredicate::eq, t, last);
        return arith::UIToFPOp::create(ib, ib.getF32Type(), here);
      });

  Value emb = hy::EmbeddingOp::create(
      b, loc,
      RankedTensorType::get(
          {batch, tokenDim(), n},
          params[static_cast<size_t>(embed)].type.getElementType()),
      args[static_cast<size_t>(embed)], ids);
  Value x =
      castTo(tensor::CollapseShapeOp::create(b, loc, emb, {{0, 1}, {2}}), act);

  SmallVector<Value> results = {Value(), lengthsOut};
  size_t cache = 3;
  for (size_t l = 0; l < layers.size(); ++l) {
    SmallVector<Value> operands = layerOperands(l, x, args, positions, tokens);
    SmallVector<Type> types = {x.getType()};
    if (layers[l].kind == LayerKind::Lightning) {
      types.push_back(stateType);
      operands.push_back(a[cache++]);
      operands.push_back(counts);
      if (!decode)
        operands.push_back(lengths);
    } else {
      types.append({cacheType, cacheType});
      operands.push_back(a[cache++]);
      operands.push_back(a[cache++]);
      operands.push_back(span);
    }
    func::FuncOp layer =
        layerFunction(layers[l].kind, ValueRange(operands).getTypes(), types);
    auto call = func::CallOp::create(b, loc, layer, operands);
    x = call.getResult(0);
    llvm::append_range(results, call.getResults().drop_front());
  }

  // The last token's row of every sequence (a sum over the tokens with one
  // weight 1, exact), then the final norm and the LM head on B rows.
  SmallVector<OpFoldResult> shape = {b.getIndexAttr(batch), tokenSize(tokens),
                                     b.getIndexAttr(n)};
  Value x3 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({batch, tokenDim(), n}, act), x,
      {{0, 1}, {2}}, shape);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  Value init =
      linalg::FillOp::create(b, loc, zero, empty({batch, n}, f32)).getResult(0);
  Value last =
      generic({lastToken, x3},
              {dims(3, {0, 2}), dims(3, {0, 2, 1}), dims(3, {0, 1})}, init,
              [](ImplicitLocOpBuilder &ib, ValueRange x, ValueRange) -> Value {
                Value row = x[1];
                if (!row.getType().isF32())
                  row = arith::ExtFOp::create(ib, ib.getF32Type(), row);
                return arith::AddFOp::create(
                    ib, x[2], arith::MulFOp::create(ib, x[0], row));
              },
              {utils::IteratorType::parallel, utils::IteratorType::parallel,
               utils::IteratorType::reduction});
  Value xf = rmsNorm(castTo(last, act), args[static_cast<size_t>(finalNorm)],
                     c.rmsNormEps);
  results[0] =
      linear(xf, args[static_cast<size_t>(head)], f32, options.lmHeadPrecision);
  // The normed last-token rows too, for the `logprobs` entry (generation's
  // log-probs through the training path's head code).
  results.push_back(xf);
  func::ReturnOp::create(b, loc, results);
  mode = Entry::Forward;
}

// logprobs(hidden [B, N], tokens [B]) -> [B] f32: hymir.token_logprobs on
// the rows prefill or decode returned as `hidden`, with the precision of
// score and cispo_step, so a generated token's log-prob comes from the
// kernel that scores it for training.
void Importer::buildLogprobs() {
  b.setInsertionPointToEnd(module.getBody());
  int64_t batch = options.maxBatch, n = c.hiddenSize;
  auto rowsType = RankedTensorType::get({batch}, f32);
  func::FuncOp f = cacheFreeEntry(
      "logprobs",
      {{"hidden", RankedTensorType::get({batch, n}, act)},
       {"tokens", RankedTensorType::get({batch}, b.getI32Type())}},
      {{"logprobs", rowsType}});
  SmallVector<Value> args(f.getArguments().drop_front(2));
  Value lp = hy::TokenLogprobsOp::create(
      b, loc, rowsType, f.getArgument(0), args[static_cast<size_t>(head)],
      f.getArgument(1), b.getStringAttr(options.lmHeadPrecision));
  func::ReturnOp::create(b, loc, lp);
  b.setInsertionPointToEnd(module.getBody());
}

} // namespace

llvm::Expected<ImportedModel> importMiniMax(MLIRContext &context,
                                            llvm::StringRef dir,
                                            const ImportOptions &options) {
  context.loadDialect<hy::HymirDialect, func::FuncDialect, arith::ArithDialect,
                      math::MathDialect, tensor::TensorDialect,
                      linalg::LinalgDialect>();
  if (options.maxBatch < 1 || options.maxContext < 1)
    return fail("the batch and the context must be at least 1");
  if (options.lmHeadPrecision != "bf16" && options.lmHeadPrecision != "f32")
    return fail(llvm::formatv("LM-head precision '{0}': bf16 or f32",
                              options.lmHeadPrecision));

  llvm::SmallString<256> configPath(dir);
  llvm::sys::path::append(configPath, "config.json");
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> text =
      llvm::MemoryBuffer::getFile(configPath);
  if (!text)
    return fail(
        llvm::formatv("{0}: {1}", configPath, text.getError().message()));
  llvm::Expected<ModelConfig> config = parseModelConfig(
      (*text)->getBuffer(), configPath, options.allowUnknownKeys);
  if (!config)
    return config.takeError();

  // The activation dtype: the option, else the config's.
  std::string activation = options.activation;
  if (activation.empty()) {
    if (config->dtype.empty() || config->dtype == "bfloat16")
      activation = "bf16";
    else if (config->dtype == "float32")
      activation = "f32";
    else
      return fail(llvm::formatv("{0}: the model's dtype is '{1}'; hymir "
                                "computes in bf16 or f32 (choose one with "
                                "--activation)",
                                configPath, config->dtype));
  }
  Type act;
  if (activation == "bf16")
    act = BFloat16Type::get(&context);
  else if (activation == "f32")
    act = Float32Type::get(&context);
  else
    return fail(
        llvm::formatv("activation dtype '{0}': bf16 or f32", activation));

  const bool declare = !options.declaredWeights.empty();
  if (declare && options.declaredWeights != "bf16" &&
      options.declaredWeights != "f32")
    return fail(llvm::formatv("declared weight dtype '{0}': bf16 or f32",
                              options.declaredWeights));
  if (!options.declaredLayout.empty() &&
      (!declare || (options.declaredLayout != "transformers" &&
                    options.declaredLayout != "stacked")))
    return fail(llvm::formatv("declared weight layout '{0}': transformers or "
                              "stacked, with declared weights only",
                              options.declaredLayout));
  // Declared weights read no safetensors file: an empty checkpoint.
  llvm::Expected<Checkpoint> checkpoint =
      declare ? Checkpoint() : Checkpoint::open(dir);
  if (!checkpoint)
    return checkpoint.takeError();
  Importer importer(context, *config, *checkpoint, options, act);
  if (llvm::Error e = importer.collect())
    return std::move(e);
  ImportedModel model;
  model.module = importer.build();
  if (failed(mlir::verify(*model.module)))
    return fail("internal error: the imported module does not verify (the "
                "diagnostics above say where)");
  model.config = *config;

  const ModelConfig &c = *config;
  int64_t softmax = llvm::count(c.layers, LayerKind::Softmax);
  std::string &s = model.summary;
  llvm::raw_string_ostream os(s);
  os << "Imported by hymir-import from " << dir << " (" << c.dialectName()
     << " config, "
     << (declare ? "no weights read: parameters declared from the config in " +
                       std::string(options.declaredLayout == "stacked"
                                       ? "the stacked layout"
                                       : "transformers' layout") +
                       ", " + options.declaredWeights
                 : checkpoint->source())
     << ").\n"
     << c.numLayers << " layers (" << c.numLayers - softmax << " lightning, "
     << softmax << " softmax), hidden " << c.hiddenSize << ", " << c.numHeads
     << " heads of " << c.headDim << " (" << c.numKvHeads << " KV heads), "
     << c.numExperts << " experts of " << c.intermediateSize << " (top-"
     << c.expertsPerToken << "), vocabulary " << c.vocabSize << ".\n"
     << "Decay rates: "
     << (c.dialect == ConfigDialect::MiniMaxM1
             ? "M1's rule (ALiBi slopes x (1 - l/(L-1) + 1e-5))"
             : "transformers' rule (2^(-8(h+1)/H) x (1 - l/(L-1+1e-5) + "
               "1e-5))")
     << "; RoPE on " << c.rotaryDim << " of " << c.headDim << " dims, theta "
     << c.ropeTheta << "; residual "
     << (c.postnorm ? "of the normed input" : "of the block's input") << ".\n"
     << "Activations " << activation << ", LM head " << options.lmHeadPrecision
     << ", batch " << options.maxBatch << ", at most " << options.maxContext
     << " tokens; experts "
     << (importer.anyPerExpert() ? "stored per expert (stacked in the graph)"
         : options.declaredLayout == "stacked" ? "stacked (w1, w3, w2)"
                                               : "fused")
     << ".\n";
  for (const std::string &key : c.ignoredKeys)
    os << "Ignored config key '" << key << "'.\n";
  return model;
}

} // namespace hymir::frontend
