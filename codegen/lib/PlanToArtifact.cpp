//===- PlanToArtifact.cpp - the plan IR as an artifact --------------------===//
//
// See PlanToArtifact.h. Storage ops become Ref kinds and indices (buffers
// numbered in the order they appear in their entry, checks by their index),
// views the tensor arguments of launches and the operands of the other steps,
// affine maps size expressions.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/PlanToArtifact.h"
#include "hymir/Codegen/KernelNames.h"
#include "hymir/Dialect/Plan/IR/PlanOps.h"
#include "hymir/Runtime/ArtifactWriter.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::hymir;
namespace rt = ::hymir;
namespace plan = mlir::hymir::plan;

std::optional<rt::DType> mlir::hymir::toDType(Type type) {
  if (type.isF32())
    return rt::DType::F32;
  if (type.isBF16())
    return rt::DType::BF16;
  if (type.isF16())
    return rt::DType::F16;
  if (type.isF64())
    return rt::DType::F64;
  if (type.isInteger(32))
    return rt::DType::I32;
  if (type.isInteger(64))
    return rt::DType::I64;
  if (type.isInteger(8))
    return rt::DType::U8;
  return std::nullopt;
}

namespace {

class Translator {
public:
  explicit Translator(ModuleOp module) : module(module) {}
  FailureOr<rt::ModuleDesc> run();

private:
  FailureOr<rt::SizeExprSpec> size(AffineExpr e, Operation *op);
  FailureOr<std::vector<rt::SizeExprSpec>> sizes(AffineMap map, Operation *op);
  FailureOr<rt::TensorSpecDesc> spec(Attribute attr, Operation *op);
  FailureOr<rt::RefDesc> ref(Value view, Operation *op);
  FailureOr<rt::KernelArgDesc> tensorArg(Value view, Operation *op);
  FailureOr<rt::EntryDesc> entry(plan::EntryOp entry);
  FailureOr<rt::StepDesc> step(Operation *op);

  ModuleOp module;
  rt::ModuleDesc desc;
  llvm::StringMap<uint32_t> kernelIndex;
  // Per entry: buffer op -> its index.
  DenseMap<Operation *, uint32_t> bufferIndex;
};

FailureOr<rt::SizeExprSpec> Translator::size(AffineExpr e, Operation *op) {
  std::optional<plan::LinearSize> linear = plan::toLinearSize(e);
  if (!linear)
    return op->emitError("hymir-plan-to-artifact: a size is not linear in "
                         "the entry's symbols");
  rt::SizeExprSpec s;
  s.constant = linear->constant;
  s.divisor = linear->divisor;
  for (auto [symbol, coeff] : linear->terms)
    s.terms.push_back({symbol, coeff});
  return s;
}

FailureOr<std::vector<rt::SizeExprSpec>> Translator::sizes(AffineMap map,
                                                           Operation *op) {
  std::vector<rt::SizeExprSpec> out;
  for (AffineExpr e : map.getResults()) {
    FailureOr<rt::SizeExprSpec> s = size(e, op);
    if (failed(s))
      return failure();
    out.push_back(*s);
  }
  return out;
}

FailureOr<rt::TensorSpecDesc> Translator::spec(Attribute attr, Operation *op) {
  auto tensor = cast<plan::TensorSpecAttr>(attr);
  std::optional<rt::DType> dtype = toDType(tensor.getElementType());
  if (!dtype)
    return op->emitError() << "hymir-plan-to-artifact: '" << tensor.getName()
                           << "' has element type " << tensor.getElementType()
                           << ", which the runtime cannot hold";
  FailureOr<std::vector<rt::SizeExprSpec>> shape =
      sizes(tensor.getShape().getValue(), op);
  if (failed(shape))
    return failure();
  rt::TensorSpecDesc desc{tensor.getName().str(), *dtype, *shape,
                          static_cast<int32_t>(tensor.getShardDim())};
  desc.tiedTo = static_cast<int32_t>(tensor.getTiedTo());
  return desc;
}

FailureOr<rt::RefDesc> Translator::ref(Value value, Operation *op) {
  auto view = value.getDefiningOp<plan::ViewOp>();
  if (!view)
    return op->emitError("hymir-plan-to-artifact: an operand is not a "
                         "hymir_plan.view");
  FailureOr<rt::SizeExprSpec> offset =
      size(view.getOffset().getResult(0), view);
  if (failed(offset))
    return failure();
  Operation *storage = view.getSource().getDefiningOp();
  rt::RefDesc r;
  r.offsetBytes = *offset;
  if (auto input = dyn_cast_or_null<plan::InputOp>(storage)) {
    r.kind = rt::StorageKind::Input;
    r.index = input.getIndex();
  } else if (auto output = dyn_cast_or_null<plan::OutputOp>(storage)) {
    r.kind = rt::StorageKind::Output;
    r.index = output.getIndex();
  } else if (auto param = dyn_cast_or_null<plan::ParamOp>(storage)) {
    r.kind = rt::StorageKind::Param;
    r.index = param.getIndex();
  } else if (auto buffer = dyn_cast_or_null<plan::BufferOp>(storage)) {
    r.kind = rt::StorageKind::Buffer;
    r.index = bufferIndex.lookup(buffer);
  } else if (auto check = dyn_cast_or_null<plan::CheckOp>(storage)) {
    r.kind = rt::StorageKind::Check;
    r.index = check.getIndex();
  } else {
    return view.emitError("hymir-plan-to-artifact: the view's storage is not "
                          "an input, output, param, buffer or check of its "
                          "entry");
  }
  return r;
}

FailureOr<rt::KernelArgDesc> Translator::tensorArg(Value value, Operation *op) {
  FailureOr<rt::RefDesc> r = ref(value, op);
  if (failed(r))
    return failure();
  auto view = value.getDefiningOp<plan::ViewOp>();
  rt::KernelArgDesc arg;
  arg.isTensor = true;
  arg.ref = *r;
  std::optional<rt::DType> dtype = toDType(view.getType().getElementType());
  FailureOr<std::vector<rt::SizeExprSpec>> s = sizes(view.getSizes(), view);
  FailureOr<std::vector<rt::SizeExprSpec>> t = sizes(view.getStrides(), view);
  if (!dtype)
    return view.emitError("hymir-plan-to-artifact: element type has no "
                          "runtime dtype");
  if (failed(s) || failed(t))
    return failure();
  arg.dtype = *dtype;
  arg.sizes = *s;
  arg.strides = *t;
  return arg;
}

FailureOr<rt::StepDesc> Translator::step(Operation *op) {
  auto dtypeOf = [](Value view) {
    return *toDType(cast<plan::ViewType>(view.getType()).getElementType());
  };
  if (auto launch = dyn_cast<plan::LaunchOp>(op)) {
    SymbolRefAttr kernel = launch.getKernel();
    std::string name = artifactKernelName(kernel.getRootReference().getValue(),
                                          kernel.getLeafReference().getValue());
    auto it = kernelIndex.find(name);
    if (it == kernelIndex.end())
      return launch.emitError() << "hymir-plan-to-artifact: no code object "
                                   "holds kernel "
                                << kernel;
    rt::LaunchKernelDesc l;
    l.kernel = it->second;
    FailureOr<std::vector<rt::SizeExprSpec>> grid = sizes(launch.getGrid(), op);
    if (failed(grid))
      return failure();
    l.grid = *grid;
    for (int64_t b : launch.getBlock())
      l.block.push_back(static_cast<uint32_t>(b));
    l.sharedMemoryBytes = static_cast<uint32_t>(launch.getSharedMemoryBytes());
    l.tokensAtLeast = launch.getTokensAtLeast();
    l.tokensAtMost = launch.getTokensAtMost();
    for (Value arg : launch.getArgs()) {
      if (isa<plan::ViewType>(arg.getType())) {
        FailureOr<rt::KernelArgDesc> a = tensorArg(arg, op);
        if (failed(a))
          return failure();
        l.args.push_back(*a);
        continue;
      }
      auto s = arg.getDefiningOp<plan::SizeOp>();
      if (!s)
        return launch.emitError("hymir-plan-to-artifact: a scalar argument "
                                "is not a hymir_plan.size");
      FailureOr<rt::SizeExprSpec> value = size(s.getValue().getResult(0), s);
      if (failed(value))
        return failure();
      rt::KernelArgDesc a;
      a.scalar = *value;
      l.args.push_back(a);
    }
    return rt::StepDesc(std::move(l));
  }
  if (auto gemm = dyn_cast<plan::GemmOp>(op)) {
    FailureOr<rt::RefDesc> x = ref(gemm.getX(), op), w = ref(gemm.getW(), op),
                           y = ref(gemm.getY(), op);
    FailureOr<rt::SizeExprSpec> m = size(gemm.getM().getResult(0), op);
    if (failed(x) || failed(w) || failed(y) || failed(m))
      return failure();
    rt::GemmDesc g;
    g.x = *x;
    g.w = *w;
    g.y = *y;
    g.m = *m;
    g.n = gemm.getN();
    g.k = gemm.getK();
    g.dtype = dtypeOf(gemm.getX());
    g.outDtype = dtypeOf(gemm.getY());
    g.f32Precision = gemm.getF32Precision();
    return rt::StepDesc(g);
  }
  if (auto copy = dyn_cast<plan::CopyOp>(op)) {
    FailureOr<rt::RefDesc> src = ref(copy.getSource(), op),
                           dst = ref(copy.getTarget(), op);
    FailureOr<rt::SizeExprSpec> bytes = size(copy.getBytes().getResult(0), op);
    if (failed(src) || failed(dst) || failed(bytes))
      return failure();
    return rt::StepDesc(rt::CopyDesc{*src, *dst, *bytes});
  }
  auto collective = [&](Value source, Value target, AffineMap elements,
                        rt::CollectiveKind kind) -> FailureOr<rt::StepDesc> {
    FailureOr<rt::RefDesc> src = ref(source, op), dst = ref(target, op);
    FailureOr<rt::SizeExprSpec> n = size(elements.getResult(0), op);
    if (failed(src) || failed(dst) || failed(n))
      return failure();
    return rt::StepDesc(
        rt::CollectiveDesc{kind, *src, *dst, dtypeOf(source), *n});
  };
  if (auto map = dyn_cast<plan::TensorMapOp>(op)) {
    FailureOr<rt::KernelArgDesc> source = tensorArg(map.getSource(), op);
    FailureOr<rt::RefDesc> target = ref(map.getTarget(), op);
    if (failed(source) || failed(target))
      return failure();
    rt::TensorMapDesc t;
    t.source = source->ref;
    t.dtype = source->dtype;
    t.sizes = source->sizes;
    t.strides = source->strides;
    t.target = *target;
    for (int64_t extent : map.getBox())
      t.box.push_back(static_cast<uint32_t>(extent));
    t.swizzle = static_cast<uint32_t>(map.getSwizzle());
    t.tokensAtLeast = map.getTokensAtLeast();
    t.tokensAtMost = map.getTokensAtMost();
    return rt::StepDesc(std::move(t));
  }
  if (auto reduce = dyn_cast<plan::AllReduceOp>(op))
    return collective(reduce.getSource(), reduce.getTarget(),
                      reduce.getElements(), rt::CollectiveKind::AllReduceSum);
  if (auto gather = dyn_cast<plan::AllGatherOp>(op))
    return collective(gather.getSource(), gather.getTarget(),
                      gather.getElements(), rt::CollectiveKind::AllGather);
  if (auto scatter = dyn_cast<plan::ReduceScatterOp>(op))
    return collective(scatter.getSource(), scatter.getTarget(),
                      scatter.getElements(),
                      rt::CollectiveKind::ReduceScatterSum);
  if (auto index = dyn_cast<plan::DeviceIndexOp>(op)) {
    FailureOr<rt::RefDesc> target = ref(index.getTarget(), op);
    if (failed(target))
      return failure();
    return rt::StepDesc(rt::CollectiveDesc{rt::CollectiveKind::DeviceIndex,
                                           *target, *target, rt::DType::I32,
                                           rt::SizeExprSpec::of(1)});
  }
  if (auto toAll = dyn_cast<plan::AllToAllOp>(op)) {
    FailureOr<rt::StepDesc> step =
        collective(toAll.getSource(), toAll.getTarget(), toAll.getElements(),
                   rt::CollectiveKind::AllToAll);
    FailureOr<rt::RefDesc> srcOffsets = ref(toAll.getSourceOffsets(), op),
                           dstOffsets = ref(toAll.getTargetOffsets(), op);
    if (failed(step) || failed(srcOffsets) || failed(dstOffsets))
      return failure();
    auto &c = std::get<rt::CollectiveDesc>(*step);
    c.srcOffsets = *srcOffsets;
    c.dstOffsets = *dstOffsets;
    c.row = toAll.getRow();
    return step;
  }
  return op->emitError("hymir-plan-to-artifact: not a plan step");
}

FailureOr<rt::EntryDesc> Translator::entry(plan::EntryOp op) {
  rt::EntryDesc e;
  e.name = op.getSymName().str();
  for (Attribute a : op.getInputs()) {
    FailureOr<rt::TensorSpecDesc> s = spec(a, op);
    if (failed(s))
      return failure();
    e.inputs.push_back(*s);
  }
  for (Attribute a : op.getOutputs()) {
    FailureOr<rt::TensorSpecDesc> s = spec(a, op);
    if (failed(s))
      return failure();
    e.outputs.push_back(*s);
  }
  for (Attribute a : op.getSymbols()) {
    auto symbol = cast<plan::SymbolAttr>(a);
    e.symbols.push_back(rt::SymbolDesc{
        symbol.getName().str(), static_cast<uint32_t>(symbol.getInput()),
        static_cast<uint32_t>(symbol.getDim()), symbol.getMax()});
  }
  if (!op.getArenaBytes())
    return op.emitError("hymir-plan-to-artifact: the entry's buffers have no "
                        "places (run hymir-plan-memory first)");
  e.arenaBytes = *op.getArenaBytes();
  bufferIndex.clear();
  for (Operation &inner : op.getBody().front()) {
    if (auto buffer = dyn_cast<plan::BufferOp>(inner)) {
      if (!buffer.getOffset())
        return buffer.emitError("hymir-plan-to-artifact: buffer has no arena "
                                "offset (run hymir-plan-memory first)");
      bufferIndex[buffer] = e.buffers.size();
      e.buffers.push_back(
          rt::BufferSlotDesc{static_cast<uint64_t>(*buffer.getOffset()),
                             static_cast<uint64_t>(buffer.getBytes())});
      continue;
    }
    if (auto check = dyn_cast<plan::CheckOp>(inner)) {
      // The entry verifier numbers checks in order.
      e.checks.push_back(
          rt::CheckDesc{check.getCheckedOp().str(), check.getTensor().str(),
                        check.getValue().str(), check.getLocation().str()});
      continue;
    }
    if (isa<plan::LaunchOp, plan::GemmOp, plan::CopyOp, plan::AllReduceOp,
            plan::AllGatherOp, plan::ReduceScatterOp, plan::AllToAllOp,
            plan::DeviceIndexOp, plan::TensorMapOp>(inner)) {
      FailureOr<rt::StepDesc> s = step(&inner);
      if (failed(s))
        return failure();
      e.plan.push_back(std::move(*s));
    }
  }
  return e;
}

FailureOr<rt::ModuleDesc> Translator::run() {
  auto target =
      module->getAttrOfType<StringAttr>(plan::PlanDialect::kTargetAttrName);
  if (!target)
    return module.emitError("hymir-plan-to-artifact: the module is not in "
                            "plan form (no hymir_plan.target; run "
                            "hymir-lower-to-plan first)");
  desc.target =
      target.getValue() == "cuda" ? rt::Target::Cuda : rt::Target::Cpu;
  if (auto chip =
          module->getAttrOfType<StringAttr>(plan::PlanDialect::kChipAttrName))
    desc.chip = chip.str();
  if (auto devices = module->getAttrOfType<IntegerAttr>(
          plan::PlanDialect::kDevicesAttrName))
    desc.deviceCount = static_cast<uint32_t>(devices.getInt());
  if (auto params =
          module->getAttrOfType<ArrayAttr>(plan::PlanDialect::kParamsAttrName))
    for (Attribute p : params) {
      FailureOr<rt::TensorSpecDesc> s = spec(p, module);
      if (failed(s))
        return failure();
      desc.params.push_back(*s);
    }
  for (auto code : module.getOps<plan::CodeOp>()) {
    rt::CodeObjectDesc c;
    StringRef format = code.getFormat();
    c.format = format == "cubin" ? rt::CodeFormat::Cubin
               : format == "ptx" ? rt::CodeFormat::Ptx
                                 : rt::CodeFormat::HostSharedObject;
    c.data.assign(code.getData().begin(), code.getData().end());
    if (std::optional<StringRef> ptx = code.getPtxFallback())
      c.ptxFallback.assign(ptx->begin(), ptx->end());
    uint32_t codeIndex = desc.code.size();
    for (Attribute a : code.getKernels()) {
      auto kernel = cast<SymbolRefAttr>(a);
      StringRef m = kernel.getRootReference().getValue();
      StringRef k = kernel.getLeafReference().getValue();
      rt::KernelDesc d;
      d.name = artifactKernelName(m, k);
      d.code = codeIndex;
      d.symbol = c.format == rt::CodeFormat::HostSharedObject
                     ? packedEntryName(hostKernelName(m, k))
                     : k.str();
      kernelIndex[d.name] = desc.kernels.size();
      desc.kernels.push_back(d);
    }
    desc.code.push_back(std::move(c));
  }
  for (auto op : module.getOps<plan::EntryOp>()) {
    FailureOr<rt::EntryDesc> e = entry(op);
    if (failed(e))
      return failure();
    desc.entries.push_back(std::move(*e));
  }
  if (desc.entries.empty())
    return module.emitError("hymir-compile: no public function to compile");
  return desc;
}

} // namespace

FailureOr<rt::ModuleDesc> mlir::hymir::translatePlanToArtifact(
    ModuleOp module, const std::map<std::string, rt::RefProgramDesc> &refs) {
  FailureOr<rt::ModuleDesc> desc = Translator(module).run();
  if (failed(desc))
    return failure();
  for (rt::EntryDesc &e : desc->entries)
    if (auto it = refs.find(e.name); it != refs.end())
      e.reference = it->second;
  return desc;
}

void mlir::hymir::registerPlanTranslations() {
  auto deps = [](DialectRegistry &registry) {
    registry.insert<plan::PlanDialect, gpu::GPUDialect>();
  };
  TranslateFromMLIRRegistration toArtifact(
      "hymir-plan-to-artifact", "write the .hymir artifact of a plan",
      [](Operation *op, llvm::raw_ostream &os) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("hymir-plan-to-artifact: expects a module");
        FailureOr<rt::ModuleDesc> desc = translatePlanToArtifact(module);
        if (failed(desc))
          return failure();
        std::vector<uint8_t> bytes = rt::serializeArtifact(*desc);
        os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
        return success();
      },
      deps);
  TranslateFromMLIRRegistration toListing(
      "hymir-plan-to-listing",
      "print what the artifact of a plan would hold (as --print-plan)",
      [](Operation *op, llvm::raw_ostream &os) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("hymir-plan-to-listing: expects a module");
        FailureOr<rt::ModuleDesc> desc = translatePlanToArtifact(module);
        if (failed(desc))
          return failure();
        printArtifactListing(*desc, os);
        return success();
      },
      deps);
}
