//===- ArtifactWriter.cpp - writing .hymir artifacts ----------------------===//
//
// ModuleDesc -> Module FlatBuffer (the payload) -> Artifact FlatBuffer. The
// builder fills its buffer back to front, so every child (string, vector,
// sub-table) is created before the table that points at it.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/ArtifactWriter.h"

#include "hymir/Runtime/artifact_generated.h"
#include "hymir/Support/Status.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

#include <cerrno>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

namespace hymir {
namespace {

namespace fb = flatbuffers;
namespace ar = hymir::artifact;

// The schema's enums are 8 bits wide; values are stored as given.
template <typename To, typename From> To toSchemaEnum(From value) {
  return static_cast<To>(static_cast<int8_t>(value));
}

class ModuleEncoder {
public:
  explicit ModuleEncoder(fb::FlatBufferBuilder &builder) : b(builder) {}

  fb::Offset<ar::Module> module(const ModuleDesc &m) {
    auto chip = b.CreateString(m.chip);
    auto params = tensorSpecs(m.params);
    std::vector<fb::Offset<ar::CodeObject>> code;
    for (const CodeObjectDesc &c : m.code)
      code.push_back(ar::CreateCodeObject(
          b, toSchemaEnum<ar::CodeFormat>(c.format), b.CreateVector(c.data),
          c.ptxFallback.empty() ? 0 : b.CreateVector(c.ptxFallback)));
    std::vector<fb::Offset<ar::Kernel>> kernels;
    for (const KernelDesc &k : m.kernels)
      kernels.push_back(ar::CreateKernel(b, b.CreateString(k.name), k.code,
                                         b.CreateString(k.symbol)));
    std::vector<fb::Offset<ar::Entry>> entries;
    for (const EntryDesc &e : m.entries)
      entries.push_back(entry(e));
    auto codeVec = b.CreateVector(code);
    auto kernelVec = b.CreateVector(kernels);
    auto entryVec = b.CreateVector(entries);
    auto producer = b.CreateString(m.producer);
    return ar::CreateModule(b, toSchemaEnum<ar::Target>(m.target), chip,
                            m.deviceCount, params, codeVec, kernelVec, entryVec,
                            producer);
  }

private:
  fb::Offset<ar::SizeExpr> sizeExpr(const SizeExprSpec &e) {
    fb::Offset<fb::Vector<const ar::Term *>> terms;
    if (!e.terms.empty()) {
      std::vector<ar::Term> raw;
      raw.reserve(e.terms.size());
      for (const auto &[symbol, coeff] : e.terms)
        raw.emplace_back(symbol, coeff);
      terms = b.CreateVectorOfStructs(raw);
    }
    return ar::CreateSizeExpr(b, e.constant, terms, e.divisor);
  }

  fb::Offset<fb::Vector<fb::Offset<ar::SizeExpr>>>
  sizeExprs(const std::vector<SizeExprSpec> &exprs) {
    std::vector<fb::Offset<ar::SizeExpr>> out;
    out.reserve(exprs.size());
    for (const SizeExprSpec &e : exprs)
      out.push_back(sizeExpr(e));
    return b.CreateVector(out);
  }

  fb::Offset<fb::Vector<fb::Offset<ar::TensorSpec>>>
  tensorSpecs(const std::vector<TensorSpecDesc> &specs) {
    std::vector<fb::Offset<ar::TensorSpec>> out;
    out.reserve(specs.size());
    for (const TensorSpecDesc &t : specs) {
      auto name = b.CreateString(t.name);
      auto shape = sizeExprs(t.shape);
      out.push_back(ar::CreateTensorSpec(b, name,
                                         toSchemaEnum<ar::DType>(t.dtype),
                                         shape, t.shardDim, t.tiedTo));
    }
    return b.CreateVector(out);
  }

  fb::Offset<ar::Ref> ref(const RefDesc &r) {
    auto offset = sizeExpr(r.offsetBytes);
    return ar::CreateRef(b, toSchemaEnum<ar::StorageKind>(r.kind), r.index,
                         offset);
  }

  // Only the fields of the argument's kind are stored.
  fb::Offset<ar::KernelArg> kernelArg(const KernelArgDesc &a) {
    if (!a.isTensor) {
      auto scalar = sizeExpr(a.scalar);
      return ar::CreateKernelArg(b, 0, scalar);
    }
    auto r = ref(a.ref);
    auto sizes = sizeExprs(a.sizes);
    auto strides = sizeExprs(a.strides);
    auto tensor = ar::CreateTensorArg(b, r, toSchemaEnum<ar::DType>(a.dtype),
                                      sizes, strides);
    return ar::CreateKernelArg(b, tensor);
  }

  fb::Offset<ar::PlanStep> step(const StepDesc &s) {
    if (const auto *l = std::get_if<LaunchKernelDesc>(&s)) {
      auto grid = sizeExprs(l->grid);
      auto block = b.CreateVector(l->block);
      std::vector<fb::Offset<ar::KernelArg>> args;
      args.reserve(l->args.size());
      for (const KernelArgDesc &a : l->args)
        args.push_back(kernelArg(a));
      auto argVec = b.CreateVector(args);
      auto launch = ar::CreateLaunchKernel(b, l->kernel, grid, block,
                                           l->sharedMemoryBytes, argVec,
                                           l->tokensAtLeast, l->tokensAtMost);
      return ar::CreatePlanStep(b, ar::Step::LaunchKernel, launch.Union());
    }
    if (const auto *g = std::get_if<GemmDesc>(&s)) {
      auto x = ref(g->x), w = ref(g->w), y = ref(g->y);
      auto m = sizeExpr(g->m);
      auto gemm = ar::CreateGemm(
          b, x, w, y, m, g->n, g->k, toSchemaEnum<ar::DType>(g->dtype),
          toSchemaEnum<ar::DType>(g->outDtype), g->f32Precision);
      return ar::CreatePlanStep(b, ar::Step::Gemm, gemm.Union());
    }
    if (const auto *c = std::get_if<CollectiveDesc>(&s)) {
      auto src = ref(c->src), dst = ref(c->dst);
      auto elements = sizeExpr(c->elements);
      bool toAll = c->kind == CollectiveKind::AllToAll;
      auto srcOffsets = toAll ? ref(c->srcOffsets) : decltype(src)();
      auto dstOffsets = toAll ? ref(c->dstOffsets) : decltype(src)();
      auto collective = ar::CreateCollective(
          b, toSchemaEnum<ar::CollectiveKind>(c->kind), src, dst,
          toSchemaEnum<ar::DType>(c->dtype), elements, srcOffsets, dstOffsets,
          toAll ? c->row : 0);
      return ar::CreatePlanStep(b, ar::Step::Collective, collective.Union());
    }
    if (const auto *t = std::get_if<TensorMapDesc>(&s)) {
      auto r = ref(t->source);
      auto sizes = sizeExprs(t->sizes);
      auto strides = sizeExprs(t->strides);
      auto source = ar::CreateTensorArg(b, r, toSchemaEnum<ar::DType>(t->dtype),
                                        sizes, strides);
      auto target = ref(t->target);
      auto box = b.CreateVector(t->box);
      auto map = ar::CreateTensorMap(b, source, target, box, t->swizzle,
                                     t->tokensAtLeast, t->tokensAtMost);
      return ar::CreatePlanStep(b, ar::Step::TensorMap, map.Union());
    }
    const auto &c = std::get<CopyDesc>(s);
    auto src = ref(c.src), dst = ref(c.dst);
    auto bytes = sizeExpr(c.bytes);
    auto copy = ar::CreateCopy(b, src, dst, bytes);
    return ar::CreatePlanStep(b, ar::Step::Copy, copy.Union());
  }

  fb::Offset<ar::Entry> entry(const EntryDesc &e) {
    auto name = b.CreateString(e.name);
    auto inputs = tensorSpecs(e.inputs);
    auto outputs = tensorSpecs(e.outputs);
    std::vector<fb::Offset<ar::Symbol>> symbols;
    for (const SymbolDesc &s : e.symbols)
      symbols.push_back(
          ar::CreateSymbol(b, b.CreateString(s.name), s.input, s.dim, s.max));
    auto symbolVec = b.CreateVector(symbols);
    std::vector<fb::Offset<ar::BufferSlot>> buffers;
    for (const BufferSlotDesc &s : e.buffers)
      buffers.push_back(ar::CreateBufferSlot(b, s.arenaOffset, s.sizeBytes));
    auto bufferVec = b.CreateVector(buffers);
    std::vector<fb::Offset<ar::PlanStep>> plan;
    for (const StepDesc &s : e.plan)
      plan.push_back(step(s));
    auto planVec = b.CreateVector(plan);
    fb::Offset<ar::RefProgram> reference;
    if (e.reference)
      reference = program(*e.reference);
    fb::Offset<fb::Vector<fb::Offset<ar::Check>>> checkVec;
    if (!e.checks.empty()) {
      std::vector<fb::Offset<ar::Check>> checks;
      for (const CheckDesc &c : e.checks)
        checks.push_back(ar::CreateCheck(
            b, b.CreateString(c.checkedOp), b.CreateString(c.tensor),
            b.CreateString(c.value), b.CreateString(c.location)));
      checkVec = b.CreateVector(checks);
    }
    return ar::CreateEntry(b, name, inputs, outputs, symbolVec, bufferVec,
                           e.arenaBytes, planVec, reference, checkVec);
  }

  fb::Offset<ar::RefProgram> program(const RefProgramDesc &p) {
    std::vector<fb::Offset<ar::RefValue>> values;
    values.reserve(p.values.size());
    for (const RefValueDesc &v : p.values)
      values.push_back(ar::CreateRefValue(b, toSchemaEnum<ar::RefKind>(v.kind),
                                          b.CreateVector(v.shape)));
    auto valueVec = b.CreateVector(values);
    auto arguments = b.CreateVector(p.arguments);
    auto names = b.CreateVectorOfStrings(p.argumentNames);
    auto results = b.CreateVector(p.results);
    std::vector<fb::Offset<ar::RefOp>> ops;
    ops.reserve(p.ops.size());
    for (const RefOpDesc &op : p.ops) {
      auto opName = b.CreateString(op.name);
      auto operands = b.CreateVector(op.operands);
      auto opResults = b.CreateVector(op.results);
      std::vector<fb::Offset<ar::RefAttr>> attrs;
      attrs.reserve(op.attrs.size());
      for (const RefAttrDesc &a : op.attrs) {
        auto attrName = b.CreateString(a.name);
        auto ints = a.ints.empty() ? 0 : b.CreateVector(a.ints);
        attrs.push_back(
            ar::CreateRefAttr(b, attrName, a.intValue, a.floatValue, ints));
      }
      auto attrVec = b.CreateVector(attrs);
      auto data = op.data.empty() ? 0 : b.CreateVector(op.data);
      auto intData = op.intData.empty() ? 0 : b.CreateVector(op.intData);
      ops.push_back(ar::CreateRefOp(b, opName, operands, opResults, attrVec,
                                    data, intData));
    }
    auto opVec = b.CreateVector(ops);
    return ar::CreateRefProgram(b, valueVec, arguments, names, results, opVec);
  }

  fb::FlatBufferBuilder &b;
};

} // namespace

std::vector<uint8_t> serializeArtifact(const ModuleDesc &module) {
  fb::FlatBufferBuilder inner;
  inner.Finish(ModuleEncoder(inner).module(module));
  const uint8_t *payload = inner.GetBufferPointer();
  size_t payloadSize = inner.GetSize();

  fb::FlatBufferBuilder outer(payloadSize + 64);
  // Align the payload's first byte as strictly as the Module buffer needs, so
  // its 8-byte fields stay aligned once it sits inside the outer buffer.
  outer.ForceVectorAlignment(payloadSize, sizeof(uint8_t),
                             inner.GetBufferMinAlignment());
  auto payloadVec = outer.CreateVector(payload, payloadSize);
  uint64_t checksum = fnv1a64(absl::MakeConstSpan(payload, payloadSize));
  ar::FinishArtifactBuffer(
      outer,
      ar::CreateArtifact(outer, kArtifactSchemaVersion, checksum, payloadVec));
  const uint8_t *data = outer.GetBufferPointer();
  return std::vector<uint8_t>(data, data + outer.GetSize());
}

absl::Status writeArtifact(const ModuleDesc &module, const std::string &path) {
  if (absl::Status s = validateModule(module, path); !s.ok())
    return s;
  std::vector<uint8_t> bytes = serializeArtifact(module);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return errnoStatus(errno, path, "cannot create the file");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      ::close(fd);
      return errnoStatus(err, path, "cannot write the file");
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0)
    return errnoStatus(errno, path, "cannot write the file");
  return absl::OkStatus();
}

} // namespace hymir
