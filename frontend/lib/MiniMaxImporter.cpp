//===- MiniMaxImporter.cpp - a MiniMax checkpoint as a hymir module -------===//
//
// See MiniMaxImporter.h. Two passes over the model: `collect` checks every
// tensor the config calls for against the checkpoint (name, shape, dtype)
// and lists the parameters of `forward`; `build` writes the module: one
// private function per layer kind and signature (a lightning and a softmax
// layer, called once per layer) and `forward`. Activations between layers
// are [B*T, N] rows; the attention ops see [B, T, heads, head dim].
// Elementwise math (SiLU, the sigmoid gate, the residual sums) is computed
// in f32 whatever the activation dtype, rounding once at the end, as the
// PyTorch code's opmath does.
//
//===----------------------------------------------------------------------===//

#include "hymir/Frontend/MiniMaxImporter.h"

#include "hymir/Dialect/Hymir/IR/HymirDialect.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Frontend/Checkpoint.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
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

class Importer {
public:
  Importer(MLIRContext &context, const ModelConfig &config,
           const Checkpoint &checkpoint, const ImportOptions &options, Type act)
      : context(context), c(config), ckpt(checkpoint), options(options),
        act(act), f32(Float32Type::get(&context)),
        loc(UnknownLoc::get(&context)), b(&context) {}

  llvm::Error collect();
  OwningOpRef<ModuleOp> build();
  /// How the MoE weights are stored, for the summary.
  bool anyPerExpert() const {
    return llvm::any_of(layers,
                        [](const LayerParams &l) { return !l.moe.fused; });
  }

private:
  llvm::Expected<int64_t> require(const std::string &name,
                                  SmallVector<int64_t> shape,
                                  const llvm::Twine &what);
  llvm::Error collectMoe(int64_t layer, MoeParams &moe);

  // Builders of the graph.
  Value dim(Value t, int64_t d) { return tensor::DimOp::create(b, loc, t, d); }
  RankedTensorType rows(int64_t width, Type elt) {
    return RankedTensorType::get({ShapedType::kDynamic, width}, elt);
  }
  Value toF32(Value v);
  Value castTo(Value v, Type elt);
  Value splat(double value, Value like);
  Value silu(Value x);
  Value sigmoid(Value x);
  Value residual(Value res, Value block, double alpha, double beta);
  Value rmsNorm(Value x, Value w, double eps);
  Value linear(Value x, Value w, Type elt, StringRef precision = "bf16");
  Value heads(Value rows2d, Value tokens, int64_t count, int64_t width);
  Value moe(Value h, ValueRange w);

  func::FuncOp layerFunction(LayerKind kind, TypeRange argTypes);
  void buildLightning(func::FuncOp f);
  void buildSoftmax(func::FuncOp f);
  Value expertStack(ArrayRef<int64_t> params, ArrayRef<Value> args);

  MLIRContext &context;
  const ModelConfig &c;
  const Checkpoint &ckpt;
  const ImportOptions &options;
  Type act, f32;
  Location loc;
  OpBuilder b;
  ModuleOp module;
  /// The rows (B*T) of the layer function being built.
  Value rowCount;

  std::vector<Param> params;
  std::vector<LayerParams> layers;
  int64_t embed = -1, finalNorm = -1, head = -1;
  std::map<std::pair<int, const void *>, func::FuncOp> layerFunctions;
};

llvm::Expected<int64_t> Importer::require(const std::string &name,
                                          SmallVector<int64_t> shape,
                                          const llvm::Twine &what) {
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
  moe.fused = ckpt.find(fusedRouter) != nullptr;
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
  return tensor::SplatOp::create(b, loc, type, scalar, ValueRange{rowCount});
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

Value Importer::linear(Value x, Value w, Type elt, StringRef precision) {
  int64_t out = cast<RankedTensorType>(w.getType()).getDimSize(0);
  return hy::LinearOp::create(b, loc, rows(out, elt), x, w,
                              b.getStringAttr(precision));
}

/// [B*T, count*width] rows as [B, T, count, width].
Value Importer::heads(Value rows2d, Value tokens, int64_t count,
                      int64_t width) {
  int64_t batch = options.maxBatch;
  Type elt = cast<RankedTensorType>(rows2d.getType()).getElementType();
  auto type =
      RankedTensorType::get({batch, ShapedType::kDynamic, count, width}, elt);
  SmallVector<OpFoldResult> shape = {b.getIndexAttr(batch), tokens,
                                     b.getIndexAttr(count),
                                     b.getIndexAttr(width)};
  return tensor::ExpandShapeOp::create(b, loc, type, rows2d, {{0, 1}, {2, 3}},
                                       shape);
}

Value Importer::moe(Value h, ValueRange w) {
  return hy::MoeOp::create(b, loc, h.getType(), h, w[0], w[1], w[2], w[3],
                           b.getI64IntegerAttr(c.expertsPerToken),
                           b.getBoolAttr(c.renormalize));
}

/// The layer function of `kind` for these argument types, made once.
func::FuncOp Importer::layerFunction(LayerKind kind, TypeRange argTypes) {
  auto type = FunctionType::get(&context, argTypes, {argTypes[0]});
  auto key = std::make_pair(static_cast<int>(kind), type.getAsOpaquePointer());
  if (auto it = layerFunctions.find(key); it != layerFunctions.end())
    return it->second;
  std::string name =
      kind == LayerKind::Lightning ? "lightning_layer" : "softmax_layer";
  size_t same = llvm::count_if(layerFunctions, [&](const auto &entry) {
    return entry.first.first == static_cast<int>(kind);
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
// sequence (x has B*T rows).

void Importer::buildLightning(func::FuncOp f) {
  ValueRange a = f.getArguments();
  Value x = a[0];
  int64_t h = c.numHeads, d = c.headDim;
  Value tokens = a[12];
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
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(options.maxBatch), tokens,
                                       b.getIndexAttr(h), b.getIndexAttr(d)};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    qkvParts.push_back(
        tensor::ExtractSliceOp::create(b, loc, qkv4, offsets, sizes, strides));
  }
  Type qType = qkvParts[0].getType();
  auto stateType = RankedTensorType::get({options.maxBatch, h, d, d}, f32);
  auto attention = hy::LightningAttentionOp::create(
      b, loc, qType, stateType, qkvParts[0], qkvParts[1], qkvParts[2], a[11],
      /*initial_state=*/Value(), b.getI64IntegerAttr(256));
  Value o = tensor::CollapseShapeOp::create(b, loc, attention.getOut(),
                                            {{0, 1}, {2, 3}});
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
  func::ReturnOp::create(b, loc, y);
}

void Importer::buildSoftmax(func::FuncOp f) {
  ValueRange a = f.getArguments();
  Value x = a[0];
  int64_t h = c.numHeads, kv = c.numKvHeads, d = c.headDim;
  Value tokens = a[12];
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
  Value attn = hy::SoftmaxAttentionOp::create(
      b, loc, q.getType(), rope(q), rope(k), v, /*lengths=*/Value(),
      b.getBoolAttr(true),
      b.getF32FloatAttr(
          static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)))));
  Value o = tensor::CollapseShapeOp::create(b, loc, attn, {{0, 1}, {2, 3}});
  Value mix = linear(o, a[10], act);
  Value x1 = residual(c.postnorm ? hn : x, mix, c.softmaxAlpha, c.softmaxBeta);
  Value h2 = rmsNorm(x1, a[2], c.rmsNormEps);
  Value y = residual(c.postnorm ? h2 : x1, moe(h2, a.slice(3, 4)), c.mlpAlpha,
                     c.mlpBeta);
  func::ReturnOp::create(b, loc, y);
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

OwningOpRef<ModuleOp> Importer::build() {
  OwningOpRef<ModuleOp> owned = ModuleOp::create(loc);
  module = *owned;
  b.setInsertionPointToEnd(module.getBody());
  int64_t batch = options.maxBatch, n = c.hiddenSize, v = c.vocabSize;
  auto i32 = b.getI32Type();

  // forward(input_ids, parameters...) -> logits.
  SmallVector<Type> argTypes = {
      RankedTensorType::get({batch, ShapedType::kDynamic}, i32)};
  for (const Param &p : params)
    argTypes.push_back(p.type);
  auto logitsType =
      RankedTensorType::get({batch, ShapedType::kDynamic, v}, f32);
  auto forward = func::FuncOp::create(
      b, loc, "forward", FunctionType::get(&context, argTypes, {logitsType}));
  StringRef nameAttr = hy::HymirDialect::NameAttrHelper::getNameStr();
  StringRef paramAttr = hy::HymirDialect::ParamAttrHelper::getNameStr();
  forward.setArgAttr(0, nameAttr, b.getStringAttr("input_ids"));
  for (auto [i, p] : llvm::enumerate(params)) {
    forward.setArgAttr(i + 1, nameAttr, b.getStringAttr(p.name));
    forward.setArgAttr(i + 1, paramAttr, b.getUnitAttr());
  }
  forward.setResultAttr(0, nameAttr, b.getStringAttr("logits"));
  b.setInsertionPointToStart(forward.addEntryBlock());
  Value ids = forward.getArgument(0);
  // Parameter i is argument i + 1.
  SmallVector<Value> args(forward.getArguments().drop_front());

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

  for (auto [l, layer] : llvm::enumerate(layers)) {
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
        operands.push_back(tensor::ExtractSliceOp::create(
            b, loc, gateUp, offsets, sizes, strides));
      }
      operands.push_back(arg(m.down));
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
    func::FuncOp f = layerFunction(layer.kind, ValueRange(operands).getTypes());
    x = func::CallOp::create(b, loc, f, operands).getResult(0);
  }

  Value xf = rmsNorm(x, args[static_cast<size_t>(finalNorm)], c.rmsNormEps);
  Value logits =
      linear(xf, args[static_cast<size_t>(head)], f32, options.lmHeadPrecision);
  SmallVector<OpFoldResult> shape = {b.getIndexAttr(batch), tokens,
                                     b.getIndexAttr(v)};
  Value out = tensor::ExpandShapeOp::create(b, loc, logitsType, logits,
                                            {{0, 1}, {2}}, shape);
  func::ReturnOp::create(b, loc, out);
  return owned;
}

} // namespace

llvm::Expected<ImportedModel> importMiniMax(MLIRContext &context,
                                            llvm::StringRef dir,
                                            const ImportOptions &options) {
  context.loadDialect<hy::HymirDialect, func::FuncDialect, arith::ArithDialect,
                      math::MathDialect, tensor::TensorDialect>();
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

  llvm::Expected<Checkpoint> checkpoint = Checkpoint::open(dir);
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
     << " config, " << checkpoint->source() << ").\n"
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
                                 : "fused")
     << ".\n";
  for (const std::string &key : c.ignoredKeys)
    os << "Ignored config key '" << key << "'.\n";
  return model;
}

} // namespace hymir::frontend
