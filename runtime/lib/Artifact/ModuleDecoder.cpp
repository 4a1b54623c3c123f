//===- ModuleDecoder.cpp - FlatBuffers Module to ModuleDesc ---------------===//
//
// The loader's copy of a verified payload into the structs of Artifact.h.
// The verifier bounds the number of tables visited, but strings, byte vectors
// and struct vectors may be referenced from many places; every copied byte of
// those is charged against the payload's size.
//
//===----------------------------------------------------------------------===//

#include "ModuleDecoder.h"

#include "ArtifactSupport.h"
#include "hymir/Runtime/artifact_generated.h"

#include "absl/strings/str_cat.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hymir {
namespace {

namespace fb = flatbuffers;
namespace ar = hymir::artifact;
using namespace artifact_detail;

// The runtime's enums and the schema's share their numbering.
static_assert(static_cast<int>(DType::F32) == static_cast<int>(ar::DType::F32));
static_assert(static_cast<int>(DType::BF16) ==
              static_cast<int>(ar::DType::BF16));
static_assert(static_cast<int>(DType::F16) == static_cast<int>(ar::DType::F16));
static_assert(static_cast<int>(DType::F64) == static_cast<int>(ar::DType::F64));
static_assert(static_cast<int>(DType::I32) == static_cast<int>(ar::DType::I32));
static_assert(static_cast<int>(DType::I64) == static_cast<int>(ar::DType::I64));
static_assert(static_cast<int>(DType::U8) == static_cast<int>(ar::DType::U8));
static_assert(static_cast<int>(DType::U8) == static_cast<int>(ar::DType::MAX));
static_assert(static_cast<int>(Target::Cuda) ==
              static_cast<int>(ar::Target::MAX));
static_assert(static_cast<int>(CodeFormat::Ptx) ==
              static_cast<int>(ar::CodeFormat::Ptx));
static_assert(static_cast<int>(CodeFormat::Cubin) ==
              static_cast<int>(ar::CodeFormat::MAX));
static_assert(static_cast<int>(StorageKind::Param) ==
              static_cast<int>(ar::StorageKind::Param));
static_assert(static_cast<int>(StorageKind::Buffer) ==
              static_cast<int>(ar::StorageKind::Buffer));
static_assert(static_cast<int>(StorageKind::Check) ==
              static_cast<int>(ar::StorageKind::MAX));
static_assert(static_cast<int>(RefValueKind::Int) ==
              static_cast<int>(ar::RefKind::Int));
static_assert(static_cast<int>(RefValueKind::Index) ==
              static_cast<int>(ar::RefKind::MAX));

// Copies a verified Module into a ModuleDesc. The verifier bounds the number
// of tables visited, but strings, byte vectors and struct vectors may be
// referenced from many places; every copied byte of those is charged against
// the payload's size, which an honestly written file never exceeds, so a
// crafted file cannot make the loader allocate far more than it read.
class ModuleDecoder {
public:
  ModuleDecoder(absl::string_view label, size_t payloadBytes)
      : label(label), budget(payloadBytes) {}

  absl::StatusOr<ModuleDesc> decode(const ar::Module &in) {
    ModuleDesc out;
    out.target = static_cast<Target>(static_cast<int8_t>(in.target()));
    out.chip = str(in.chip());
    out.deviceCount = in.device_count();
    out.params = tensorSpecs(in.params());
    if (const auto *code = in.code())
      for (const ar::CodeObject *c : *code) {
        CodeObjectDesc desc;
        desc.format = static_cast<CodeFormat>(static_cast<int8_t>(c->format()));
        if (c->data() && charge(c->data()->size()))
          desc.data.assign(c->data()->begin(), c->data()->end());
        if (c->ptx_fallback() && charge(c->ptx_fallback()->size()))
          desc.ptxFallback.assign(c->ptx_fallback()->begin(),
                                  c->ptx_fallback()->end());
        out.code.push_back(std::move(desc));
      }
    if (const auto *kernels = in.kernels())
      for (const ar::Kernel *k : *kernels)
        out.kernels.push_back({str(k->name()), k->code(), str(k->symbol())});
    if (const auto *entries = in.entries())
      for (const ar::Entry *e : *entries) {
        out.entries.push_back(entry(*e));
        if (!error.ok())
          return error;
      }
    out.producer = str(in.producer());
    if (!error.ok())
      return error;
    return out;
  }

private:
  bool charge(size_t bytes) {
    if (bytes > budget) {
      if (error.ok())
        error = absl::DataLossError(absl::StrCat(
            label, ": the module refers to more string and vector data than "
                   "it holds (aliased data); the file is corrupt"));
      budget = 0;
      return false;
    }
    budget -= bytes;
    return true;
  }

  void missing(absl::string_view where, absl::string_view what) {
    if (error.ok())
      error = absl::InvalidArgumentError(
          absl::StrCat(label, ": ", where, " has no ", what));
  }

  std::string str(const fb::String *s) {
    if (!s || !charge(s->size()))
      return {};
    return s->str();
  }

  SizeExprSpec sizeExpr(const ar::SizeExpr *e) {
    SizeExprSpec out;
    if (!e)
      return out;
    out.constant = e->constant();
    out.divisor = e->divisor();
    if (const auto *terms = e->terms();
        terms && charge(size_t{terms->size()} * sizeof(ar::Term))) {
      out.terms.reserve(terms->size());
      for (const ar::Term *t : *terms)
        out.terms.emplace_back(t->symbol(), t->coeff());
    }
    return out;
  }

  SizeExprSpec requiredSizeExpr(const ar::SizeExpr *e, absl::string_view where,
                                absl::string_view what) {
    if (!e)
      missing(where, what);
    return sizeExpr(e);
  }

  std::vector<SizeExprSpec>
  sizeExprs(const fb::Vector<fb::Offset<ar::SizeExpr>> *in) {
    std::vector<SizeExprSpec> out;
    if (in)
      for (const ar::SizeExpr *e : *in)
        out.push_back(sizeExpr(e));
    return out;
  }

  std::vector<TensorSpecDesc>
  tensorSpecs(const fb::Vector<fb::Offset<ar::TensorSpec>> *in) {
    std::vector<TensorSpecDesc> out;
    if (in)
      for (const ar::TensorSpec *t : *in)
        out.push_back({str(t->name()),
                       static_cast<DType>(static_cast<int8_t>(t->dtype())),
                       sizeExprs(t->shape()), t->shard_dim(), t->tied_to()});
    return out;
  }

  // A vector of scalars, charged against the budget.
  template <typename T, typename U>
  std::vector<T> scalars(const fb::Vector<U> *in) {
    std::vector<T> out;
    if (in && charge(size_t{in->size()} * sizeof(U)))
      out.assign(in->begin(), in->end());
    return out;
  }

  RefProgramDesc program(const ar::RefProgram &in) {
    RefProgramDesc out;
    if (const auto *values = in.values())
      for (const ar::RefValue *v : *values)
        out.values.push_back(
            {static_cast<RefValueKind>(static_cast<int8_t>(v->kind())),
             scalars<int64_t>(v->shape())});
    out.arguments = scalars<uint32_t>(in.arguments());
    if (const auto *names = in.argument_names())
      for (const fb::String *name : *names)
        out.argumentNames.push_back(str(name));
    out.results = scalars<uint32_t>(in.results());
    if (const auto *ops = in.ops())
      for (const ar::RefOp *op : *ops) {
        RefOpDesc desc;
        desc.name = str(op->name());
        desc.operands = scalars<uint32_t>(op->operands());
        desc.results = scalars<uint32_t>(op->results());
        if (const auto *attrs = op->attrs())
          for (const ar::RefAttr *a : *attrs)
            desc.attrs.push_back({str(a->name()), a->int_value(),
                                  a->float_value(),
                                  scalars<int64_t>(a->ints())});
        desc.data = scalars<double>(op->data());
        desc.intData = scalars<int64_t>(op->int_data());
        out.ops.push_back(std::move(desc));
      }
    return out;
  }

  RefDesc ref(const ar::Ref *r) {
    RefDesc out;
    out.kind = static_cast<StorageKind>(static_cast<int8_t>(r->kind()));
    out.index = r->index();
    out.offsetBytes = sizeExpr(r->offset_bytes());
    return out;
  }

  RefDesc requiredRef(const ar::Ref *r, absl::string_view where,
                      absl::string_view what) {
    if (!r) {
      missing(where, what);
      return {};
    }
    return ref(r);
  }

  KernelArgDesc kernelArg(const ar::KernelArg &in, absl::string_view where) {
    KernelArgDesc out;
    const ar::TensorArg *tensor = in.tensor();
    const ar::SizeExpr *scalar = in.scalar();
    if (tensor && scalar) {
      if (error.ok())
        error = absl::InvalidArgumentError(absl::StrCat(
            label, ": ", where, " has both a tensor and a scalar"));
      return out;
    }
    if (!tensor && !scalar) {
      if (error.ok())
        error = absl::InvalidArgumentError(absl::StrCat(
            label, ": ", where, " has neither a tensor nor a scalar"));
      return out;
    }
    if (scalar) {
      out.scalar = sizeExpr(scalar);
      return out;
    }
    out.isTensor = true;
    out.ref = requiredRef(tensor->ref(), where, "ref");
    out.dtype = static_cast<DType>(static_cast<int8_t>(tensor->dtype()));
    out.sizes = sizeExprs(tensor->sizes());
    out.strides = sizeExprs(tensor->strides());
    return out;
  }

  StepDesc launch(const ar::LaunchKernel &in, absl::string_view where) {
    LaunchKernelDesc out;
    out.kernel = in.kernel();
    out.grid = sizeExprs(in.grid());
    if (const auto *block = in.block();
        block && charge(size_t{block->size()} * sizeof(uint32_t)))
      out.block.assign(block->begin(), block->end());
    out.sharedMemoryBytes = in.shared_memory_bytes();
    out.tokensAtLeast = in.tokens_at_least();
    out.tokensAtMost = in.tokens_at_most();
    if (const auto *args = in.args())
      for (fb::uoffset_t i = 0; i < args->size() && error.ok(); ++i)
        out.args.push_back(
            kernelArg(*args->Get(i), absl::StrCat(where, " arg ", i)));
    return out;
  }

  StepDesc gemm(const ar::Gemm &in, absl::string_view where) {
    GemmDesc out;
    out.x = requiredRef(in.x(), where, "x");
    out.w = requiredRef(in.w(), where, "w");
    out.y = requiredRef(in.y(), where, "y");
    out.m = requiredSizeExpr(in.m(), where, "m");
    out.n = in.n();
    out.k = in.k();
    out.dtype = static_cast<DType>(static_cast<int8_t>(in.dtype()));
    out.outDtype = static_cast<DType>(static_cast<int8_t>(in.out_dtype()));
    out.f32Precision = in.f32_precision();
    return out;
  }

  StepDesc copy(const ar::Copy &in, absl::string_view where) {
    CopyDesc out;
    out.src = requiredRef(in.src(), where, "src");
    out.dst = requiredRef(in.dst(), where, "dst");
    out.bytes = requiredSizeExpr(in.bytes(), where, "bytes");
    return out;
  }

  StepDesc collective(const ar::Collective &in, absl::string_view where) {
    CollectiveDesc out;
    out.kind = static_cast<CollectiveKind>(static_cast<int8_t>(in.kind()));
    out.src = requiredRef(in.src(), where, "src");
    out.dst = requiredRef(in.dst(), where, "dst");
    out.dtype = static_cast<DType>(static_cast<int8_t>(in.dtype()));
    out.elements = requiredSizeExpr(in.elements(), where, "elements");
    if (out.kind == CollectiveKind::AllToAll) {
      out.srcOffsets = requiredRef(in.src_offsets(), where, "src_offsets");
      out.dstOffsets = requiredRef(in.dst_offsets(), where, "dst_offsets");
      out.row = in.row();
    }
    return out;
  }

  StepDesc tensorMap(const ar::TensorMap &in, absl::string_view where) {
    TensorMapDesc out;
    if (const ar::TensorArg *source = in.source()) {
      out.source = requiredRef(source->ref(), where, "source ref");
      out.dtype = static_cast<DType>(static_cast<int8_t>(source->dtype()));
      out.sizes = sizeExprs(source->sizes());
      out.strides = sizeExprs(source->strides());
    } else {
      missing(where, "source");
    }
    out.target = requiredRef(in.target(), where, "target");
    out.box = scalars<uint32_t>(in.box());
    out.swizzle = in.swizzle();
    out.tokensAtLeast = in.tokens_at_least();
    out.tokensAtMost = in.tokens_at_most();
    return out;
  }

  EntryDesc entry(const ar::Entry &in) {
    EntryDesc out;
    out.name = str(in.name());
    out.inputs = tensorSpecs(in.inputs());
    out.outputs = tensorSpecs(in.outputs());
    if (const auto *symbols = in.symbols())
      for (const ar::Symbol *s : *symbols)
        out.symbols.push_back({str(s->name()), s->input(), s->dim(), s->max()});
    if (const auto *buffers = in.buffers())
      for (const ar::BufferSlot *b : *buffers)
        out.buffers.push_back({b->arena_offset(), b->size_bytes()});
    out.arenaBytes = in.arena_bytes();
    if (const ar::RefProgram *reference = in.reference())
      out.reference = program(*reference);
    if (const auto *checks = in.checks())
      for (const ar::Check *c : *checks)
        out.checks.push_back({str(c->checked_op()), str(c->tensor()),
                              str(c->value()), str(c->location())});
    const auto *plan = in.plan();
    if (!plan)
      return out;
    std::string entryWhere = absl::StrCat("entry ", quote(out.name));
    for (fb::uoffset_t i = 0; i < plan->size() && error.ok(); ++i) {
      const ar::PlanStep *s = plan->Get(i);
      std::string where = absl::StrCat(entryWhere, " step ", i);
      if (const auto *l = s->step_as_LaunchKernel())
        out.plan.push_back(launch(*l, absl::StrCat(where, " (launch)")));
      else if (const auto *g = s->step_as_Gemm())
        out.plan.push_back(gemm(*g, absl::StrCat(where, " (gemm)")));
      else if (const auto *c = s->step_as_Copy())
        out.plan.push_back(copy(*c, absl::StrCat(where, " (copy)")));
      else if (const auto *c = s->step_as_Collective())
        out.plan.push_back(
            collective(*c, absl::StrCat(where, " (collective)")));
      else if (const auto *t = s->step_as_TensorMap())
        out.plan.push_back(tensorMap(*t, absl::StrCat(where, " (tensor_map)")));
      else if (s->step_type() == ar::Step::NONE || s->step() == nullptr)
        missing(where, "step");
      else if (error.ok())
        error = absl::InvalidArgumentError(absl::StrCat(
            label, ": ", where, " has step type ",
            static_cast<int>(s->step_type()),
            ", which is not a known step (launch 1, gemm 2, copy 3, "
            "collective 4, tensor_map 5)"));
    }
    return out;
  }

  absl::string_view label;
  size_t budget;
  absl::Status error;
};

} // namespace

absl::StatusOr<ModuleDesc> decodeModule(const artifact::Module &module,
                                        size_t payloadBytes,
                                        absl::string_view label) {
  return ModuleDecoder(label, payloadBytes).decode(module);
}

} // namespace hymir
