//===- ArtifactListing.cpp - an artifact's contents as text ---------------===//
//
// The plan listing (code objects, parameters, and per entry its symbols,
// inputs, outputs, buffers, checks and steps, one line each) and hymir-dump's
// text around it. Plain std::ostringstream, so the listing prints the same from
// the compiler (through codegen's printArtifactListing) and from hymir-dump.
// Names from the file are printed through printableName (C escapes), so a
// control character in a name cannot act on the terminal.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/ArtifactListing.h"
#include "hymir/Support/Names.h"

#include <sstream>

namespace hymir {

std::string sizeExprString(const SizeExprSpec &e,
                           const std::vector<SymbolDesc> &symbols) {
  std::string s;
  for (auto [sym, coeff] : e.terms) {
    if (!s.empty())
      s += "+";
    s += sym < symbols.size() ? printableName(symbols[sym].name) : "?";
    if (coeff != 1)
      s += "*" + std::to_string(coeff);
  }
  if (e.constant != 0 || s.empty())
    s += (s.empty() ? "" : "+") + std::to_string(e.constant);
  if (e.divisor != 1)
    s = "(" + s + ")/" + std::to_string(e.divisor);
  return s;
}

namespace {

std::string refString(const RefDesc &r,
                      const std::vector<SymbolDesc> &symbols) {
  std::string s = storageKindName(r.kind) + " " + std::to_string(r.index);
  if (!r.offsetBytes.isConstant() || r.offsetBytes.constant != 0)
    s += " + " + sizeExprString(r.offsetBytes, symbols) + " B";
  return s;
}

/// The kernel's name, or a marker for an index the validator would refuse
/// (the listing is also printed for modules not validated yet).
std::string kernelName(const ModuleDesc &m, uint32_t kernel) {
  return kernel < m.kernels.size() ? printableName(m.kernels[kernel].name)
                                   : "<kernel " + std::to_string(kernel) + ">";
}

/// " when ..." for a step that runs for a range of token counts only.
void printTokenRange(int64_t atLeast, int64_t atMost, std::ostream &os) {
  if (atLeast > 0 && atMost >= 0)
    os << " when " << atLeast << " <= tokens <= " << atMost;
  else if (atLeast > 0)
    os << " when tokens >= " << atLeast;
  else if (atMost >= 0)
    os << " when tokens <= " << atMost;
}

void printEntryPlan(const ModuleDesc &m, const EntryDesc &e,
                    std::ostringstream &os) {
  auto specs = [&](const char *what, const std::vector<TensorSpecDesc> &list) {
    for (size_t i = 0; i < list.size(); ++i) {
      const TensorSpecDesc &t = list[i];
      os << "  " << what << " " << i << " " << printableName(t.name) << ": "
         << dtypeName(t.dtype) << "[";
      for (size_t d = 0; d < t.shape.size(); ++d)
        os << (d ? ", " : "") << sizeExprString(t.shape[d], e.symbols);
      os << "]";
      if (t.shardDim >= 0)
        os << " sharded along dim " << t.shardDim;
      if (t.tiedTo >= 0)
        os << " tied to input " << t.tiedTo;
      os << "\n";
    }
  };
  os << "entry " << printableName(e.name) << "\n";
  for (const SymbolDesc &s : e.symbols)
    os << "  symbol " << printableName(s.name) << " = input " << s.input
       << " dim " << s.dim << ", max " << s.max << "\n";
  specs("input", e.inputs);
  specs("output", e.outputs);
  for (size_t i = 0; i < e.buffers.size(); ++i)
    os << "  buffer " << i << ": arena offset " << e.buffers[i].arenaOffset
       << ", " << e.buffers[i].sizeBytes << " B\n";
  for (size_t i = 0; i < e.checks.size(); ++i) {
    const CheckDesc &c = e.checks[i];
    os << "  check " << i << ": " << printableName(c.checkedOp);
    if (!c.tensor.empty())
      os << " '" << printableName(c.tensor) << "'";
    os << ": each " << printableName(c.value) << " in range";
    if (!c.location.empty())
      os << " (at " << printableName(c.location) << ")";
    os << "\n";
  }
  os << "  arena " << e.arenaBytes << " B\n";
  for (size_t i = 0; i < e.plan.size(); ++i) {
    const StepDesc &step = e.plan[i];
    os << "  step " << i << ": ";
    if (auto *l = std::get_if<LaunchKernelDesc>(&step)) {
      // 1-d grids and blocks print as one number, others as x*y*z.
      os << "launch " << kernelName(m, l->kernel) << " grid ";
      bool flatGrid = true, flatBlock = true;
      for (size_t d = 1; d < l->grid.size(); ++d)
        flatGrid &= sizeExprString(l->grid[d], e.symbols) == "1";
      for (size_t d = 1; d < l->block.size(); ++d)
        flatBlock &= l->block[d] == 1;
      for (size_t d = 0; d < (flatGrid ? std::min<size_t>(1, l->grid.size())
                                       : l->grid.size());
           ++d)
        os << (d ? "x" : "") << sizeExprString(l->grid[d], e.symbols);
      os << " block ";
      for (size_t d = 0; d < (flatBlock ? std::min<size_t>(1, l->block.size())
                                        : l->block.size());
           ++d)
        os << (d ? "x" : "") << l->block[d];
      if (l->sharedMemoryBytes)
        os << " shared " << l->sharedMemoryBytes << " B";
      printTokenRange(l->tokensAtLeast, l->tokensAtMost, os);
      os << " (";
      for (size_t a = 0; a < l->args.size(); ++a) {
        const KernelArgDesc &arg = l->args[a];
        os << (a ? ", " : "");
        if (arg.isTensor)
          os << refString(arg.ref, e.symbols);
        else
          os << sizeExprString(arg.scalar, e.symbols);
      }
      os << ")\n";
    } else if (auto *g = std::get_if<GemmDesc>(&step)) {
      os << "gemm m " << sizeExprString(g->m, e.symbols) << " n " << g->n
         << " k " << g->k << " " << dtypeName(g->dtype) << "->"
         << dtypeName(g->outDtype) << (g->f32Precision ? " f32-precision" : "")
         << " (" << refString(g->x, e.symbols) << ", "
         << refString(g->w, e.symbols) << " -> " << refString(g->y, e.symbols)
         << ")\n";
    } else if (auto *c = std::get_if<CopyDesc>(&step)) {
      os << "copy " << sizeExprString(c->bytes, e.symbols) << " B ("
         << refString(c->src, e.symbols) << " -> "
         << refString(c->dst, e.symbols) << ")\n";
    } else if (auto *c = std::get_if<CollectiveDesc>(&step)) {
      os << collectiveKindName(c->kind) << " "
         << sizeExprString(c->elements, e.symbols) << " x "
         << dtypeName(c->dtype);
      if (c->kind == CollectiveKind::AllToAll)
        os << " rows of " << c->row << " (" << refString(c->src, e.symbols)
           << ", offsets " << refString(c->srcOffsets, e.symbols) << " -> "
           << refString(c->dst, e.symbols) << ", offsets "
           << refString(c->dstOffsets, e.symbols) << ")\n";
      else
        os << " (" << refString(c->src, e.symbols) << " -> "
           << refString(c->dst, e.symbols) << ")\n";
    } else if (auto *t = std::get_if<TensorMapDesc>(&step)) {
      os << "tensor_map " << dtypeName(t->dtype) << "[";
      for (size_t d = 0; d < t->sizes.size(); ++d)
        os << (d ? ", " : "") << sizeExprString(t->sizes[d], e.symbols);
      os << "] strides [";
      for (size_t d = 0; d < t->strides.size(); ++d)
        os << (d ? ", " : "") << sizeExprString(t->strides[d], e.symbols);
      os << "] box [";
      for (size_t d = 0; d < t->box.size(); ++d)
        os << (d ? ", " : "") << t->box[d];
      os << "]";
      if (t->swizzle)
        os << " swizzle " << t->swizzle << " B";
      printTokenRange(t->tokensAtLeast, t->tokensAtMost, os);
      os << " (" << refString(t->source, e.symbols) << " -> "
         << refString(t->target, e.symbols) << ")\n";
    }
  }
}

} // namespace

std::string artifactListing(const ModuleDesc &desc) {
  std::ostringstream os;
  for (size_t i = 0; i < desc.code.size(); ++i) {
    const CodeObjectDesc &c = desc.code[i];
    os << "code " << i << ": " << codeFormatName(c.format) << ", "
       << c.data.size() << " B"
       << (c.ptxFallback.empty() ? "" : ", with its PTX as fallback") << "\n";
  }
  if (desc.deviceCount > 1)
    os << "devices " << desc.deviceCount << "\n";
  for (size_t i = 0; i < desc.params.size(); ++i) {
    const TensorSpecDesc &p = desc.params[i];
    os << "param " << i << " " << printableName(p.name) << ": "
       << dtypeName(p.dtype) << "[";
    for (size_t d = 0; d < p.shape.size(); ++d)
      os << (d ? ", " : "") << p.shape[d].constant;
    os << "]";
    if (p.shardDim >= 0)
      os << " sharded along dim " << p.shardDim;
    os << "\n";
  }
  for (const EntryDesc &e : desc.entries)
    printEntryPlan(desc, e, os);
  return os.str();
}

std::string artifactDump(const ModuleDesc &desc) {
  std::ostringstream os;
  os << "target " << targetName(desc.target) << "\n";
  if (!desc.chip.empty())
    os << "chip " << printableName(desc.chip) << "\n";
  os << "device count " << desc.deviceCount << "\n";
  if (!desc.producer.empty())
    os << "producer " << printableName(desc.producer) << "\n";
  os << "schema version " << kArtifactSchemaVersion << "\n";
  for (size_t i = 0; i < desc.kernels.size(); ++i) {
    const KernelDesc &k = desc.kernels[i];
    os << "kernel " << i << " " << printableName(k.name) << ": code " << k.code
       << ", symbol " << printableName(k.symbol) << "\n";
  }
  for (const EntryDesc &e : desc.entries) {
    os << "entry " << printableName(e.name) << ": " << e.inputs.size()
       << " input(s), " << e.outputs.size() << " output(s), " << e.plan.size()
       << " step(s), ";
    if (e.reference)
      os << "reference program of " << e.reference->ops.size()
         << " op(s) (hymir-run --check)\n";
    else
      os << "no reference program\n";
  }
  os << "\n" << artifactListing(desc);
  return os.str();
}

} // namespace hymir
