//===- PlanListing.cpp - an artifact's contents as text -------------------===//
//
// The text `hymir-compile --print-plan` and hymir-plan-to-listing print:
// code objects, parameters, and per entry its symbols, inputs, outputs,
// buffers and steps, one line each.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/PlanToArtifact.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

namespace rt = ::hymir;

namespace {

/// "T*2+3", "(T*64+255)/256", "48".
std::string exprString(const rt::SizeExprSpec &e,
                       const std::vector<rt::SymbolDesc> &symbols) {
  std::string s;
  for (auto [sym, coeff] : e.terms) {
    if (!s.empty())
      s += "+";
    s += sym < symbols.size() ? symbols[sym].name : "?";
    if (coeff != 1)
      s += "*" + std::to_string(coeff);
  }
  if (e.constant != 0 || s.empty())
    s += (s.empty() ? "" : "+") + std::to_string(e.constant);
  if (e.divisor != 1)
    s = "(" + s + ")/" + std::to_string(e.divisor);
  return s;
}

std::string refString(const rt::RefDesc &r,
                      const std::vector<rt::SymbolDesc> &symbols) {
  std::string s = rt::storageKindName(r.kind) + " " + std::to_string(r.index);
  if (!r.offsetBytes.isConstant() || r.offsetBytes.constant != 0)
    s += " + " + exprString(r.offsetBytes, symbols) + " B";
  return s;
}

void printEntryPlan(const rt::ModuleDesc &m, const rt::EntryDesc &e,
                    llvm::raw_ostream &os) {
  auto specs = [&](llvm::StringRef what,
                   const std::vector<rt::TensorSpecDesc> &list) {
    for (auto [i, t] : llvm::enumerate(list)) {
      os << "  " << what << " " << i << " " << t.name << ": "
         << std::string(rt::dtypeName(t.dtype)) << "[";
      for (auto [d, s] : llvm::enumerate(t.shape))
        os << (d ? ", " : "") << exprString(s, e.symbols);
      os << "]";
      if (t.shardDim >= 0)
        os << " sharded along dim " << t.shardDim;
      os << "\n";
    }
  };
  os << "entry " << e.name << "\n";
  for (const rt::SymbolDesc &s : e.symbols)
    os << "  symbol " << s.name << " = input " << s.input << " dim " << s.dim
       << ", max " << s.max << "\n";
  specs("input", e.inputs);
  specs("output", e.outputs);
  for (auto [i, b] : llvm::enumerate(e.buffers))
    os << "  buffer " << i << ": arena offset " << b.arenaOffset << ", "
       << b.sizeBytes << " B\n";
  os << "  arena " << e.arenaBytes << " B\n";
  for (auto [i, step] : llvm::enumerate(e.plan)) {
    os << "  step " << i << ": ";
    if (auto *l = std::get_if<rt::LaunchKernelDesc>(&step)) {
      // 1-d grids and blocks print as one number, others as x*y*z.
      os << "launch " << m.kernels[l->kernel].name << " grid ";
      bool flatGrid = true, flatBlock = true;
      for (size_t d = 1; d < l->grid.size(); ++d)
        flatGrid &= exprString(l->grid[d], e.symbols) == "1";
      for (size_t d = 1; d < l->block.size(); ++d)
        flatBlock &= l->block[d] == 1;
      for (size_t d = 0; d < (flatGrid ? 1 : l->grid.size()); ++d)
        os << (d ? "x" : "") << exprString(l->grid[d], e.symbols);
      os << " block ";
      for (size_t d = 0; d < (flatBlock ? 1 : l->block.size()); ++d)
        os << (d ? "x" : "") << l->block[d];
      if (l->sharedMemoryBytes)
        os << " shared " << l->sharedMemoryBytes << " B";
      if (l->tokensAtLeast > 0 && l->tokensAtMost >= 0)
        os << " when " << l->tokensAtLeast
           << " <= tokens <= " << l->tokensAtMost;
      else if (l->tokensAtLeast > 0)
        os << " when tokens >= " << l->tokensAtLeast;
      else if (l->tokensAtMost >= 0)
        os << " when tokens <= " << l->tokensAtMost;
      os << " (";
      for (auto [a, arg] : llvm::enumerate(l->args)) {
        os << (a ? ", " : "");
        if (arg.isTensor)
          os << refString(arg.ref, e.symbols);
        else
          os << exprString(arg.scalar, e.symbols);
      }
      os << ")\n";
    } else if (auto *g = std::get_if<rt::GemmDesc>(&step)) {
      os << "gemm m " << exprString(g->m, e.symbols) << " n " << g->n << " k "
         << g->k << " " << std::string(rt::dtypeName(g->dtype)) << "->"
         << std::string(rt::dtypeName(g->outDtype))
         << (g->f32Precision ? " f32-precision" : "") << " ("
         << refString(g->x, e.symbols) << ", " << refString(g->w, e.symbols)
         << " -> " << refString(g->y, e.symbols) << ")\n";
    } else if (auto *c = std::get_if<rt::CopyDesc>(&step)) {
      os << "copy " << exprString(c->bytes, e.symbols) << " B ("
         << refString(c->src, e.symbols) << " -> "
         << refString(c->dst, e.symbols) << ")\n";
    } else if (auto *c = std::get_if<rt::CollectiveDesc>(&step)) {
      os << rt::collectiveKindName(c->kind) << " "
         << exprString(c->elements, e.symbols) << " x "
         << std::string(rt::dtypeName(c->dtype)) << " ("
         << refString(c->src, e.symbols) << " -> "
         << refString(c->dst, e.symbols) << ")\n";
    }
  }
}

} // namespace

void mlir::hymir::printArtifactListing(const rt::ModuleDesc &desc,
                                       llvm::raw_ostream &os) {
  for (auto [i, c] : llvm::enumerate(desc.code))
    os << "code " << i << ": " << rt::codeFormatName(c.format) << ", "
       << c.data.size() << " B"
       << (c.ptxFallback.empty() ? "" : ", with its PTX as fallback") << "\n";
  if (desc.deviceCount > 1)
    os << "devices " << desc.deviceCount << "\n";
  for (auto [i, p] : llvm::enumerate(desc.params)) {
    os << "param " << i << " " << p.name << ": "
       << std::string(rt::dtypeName(p.dtype)) << "[";
    for (auto [d, s] : llvm::enumerate(p.shape))
      os << (d ? ", " : "") << s.constant;
    os << "]";
    if (p.shardDim >= 0)
      os << " sharded along dim " << p.shardDim;
    os << "\n";
  }
  for (const rt::EntryDesc &e : desc.entries)
    printEntryPlan(desc, e, os);
}
