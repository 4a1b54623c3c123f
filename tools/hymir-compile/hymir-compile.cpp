//===- hymir-compile.cpp - hymir IR to a .hymir artifact ------------------===//
//
//   hymir-compile IN.mlir -o OUT.hymir --target=cpu|cuda [--chip=sm_90a]
//                 [--devices=N] [--max-tokens=N] [--block-size=N]
//                 [--dump-stages=DIR]
//
// Every public func.func becomes an entry. The module goes through the
// kernel-form pipeline (shared by both targets); each entry's host function
// becomes an execution plan; the kernels become a host shared object (cpu)
// or PTX (cuda). --dump-stages writes the IR after each stage. Each entry
// also carries its function as written (before any pass), serialized as a
// reference program for `hymir-run --check`; an entry whose ops the oracle
// evaluator does not know goes without one, with a note.
//
//===----------------------------------------------------------------------===//

#include "hymir-reference/Serialize.h"
#include "hymir/Codegen/HostObject.h"
#include "hymir/Codegen/Passes.h"
#include "hymir/Codegen/Pipelines.h"
#include "hymir/Codegen/PlanBuilder.h"
#include "hymir/Dialect/Hymir/IR/HymirDialect.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Runtime/ArtifactWriter.h"
#include "hymir/Runtime/Version.h"
#include "hymir/Transforms/Passes.h"

#include "ToolSupport.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <cstdlib>
#include <optional>

using namespace mlir;
namespace cl = llvm::cl;
namespace rt = ::hymir;
namespace hy = ::mlir::hymir;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::Required);
static cl::opt<std::string> outputFile("o", cl::desc("output .hymir file"),
                                       cl::value_desc("path"), cl::Required);
static cl::opt<std::string> targetOpt("target", cl::desc("cpu or cuda"),
                                      cl::init("cpu"));
static cl::opt<std::string> chipOpt("chip", cl::desc("GPU architecture (cuda)"),
                                    cl::init("sm_90a"));
static cl::opt<unsigned> devicesOpt("devices", cl::desc("device count"),
                                    cl::init(1));
static cl::opt<int64_t>
    maxTokensOpt("max-tokens", cl::desc("largest token count an entry accepts"),
                 cl::init(4096));
static cl::opt<int64_t> blockSizeOpt("block-size",
                                     cl::desc("threads per kernel block"),
                                     cl::init(256));
static cl::opt<int64_t> lightningSplitOpt(
    "lightning-value-split",
    cl::desc("cuda: thread blocks per head over lightning attention's value "
             "dim (0: automatic)"),
    cl::init(0));
static cl::opt<bool> lightningTensorCoresOpt(
    "lightning-tensor-cores",
    cl::desc("cuda: bf16 lightning-attention prefill on tensor cores"),
    cl::init(true));
static cl::opt<bool> moeWgmmaOpt(
    "moe-wgmma",
    cl::desc("cuda sm_90a: larger MoE calls on wgmma kernels (128-row "
             "tiles); off: mma.sync kernels (64-row tiles)"),
    cl::init(true));
static cl::opt<int64_t> moeDecodeSlotsOpt(
    "moe-decode-slots",
    cl::desc("cuda: grid height of the MoE warp-per-row (decode) kernels; "
             "0: top_k, at most E"),
    cl::init(0));
static cl::opt<int64_t> moeWgmmaGroupOpt(
    "moe-wgmma-group",
    cl::desc("cuda sm_90a: row tiles per group in the MoE wgmma kernels' "
             "block order (blocks of a group's tiles run side by side over "
             "the weight columns)"),
    cl::init(8));
static cl::opt<int64_t> moeTileOpt(
    "moe-tile",
    cl::desc("rows each expert's group of routed rows is padded to (the "
             "grouped GEMM tile; default on cuda the tile of its tensor-core "
             "kernels: 128 for wgmma on sm_90a, else 64; 1, no padding, on "
             "cpu)"),
    cl::init(0));
static cl::opt<std::string>
    ptxasOpt("ptxas",
             cl::desc("ptxas to assemble cubins with ('none': PTX only); "
                      "default: PATH, then /usr/local/cuda/bin/ptxas"),
             cl::value_desc("path"));
static cl::opt<bool>
    printPlan("print-plan",
              cl::desc("print each entry's execution plan to stdout"));
static cl::opt<std::string>
    dumpDir("dump-stages", cl::desc("write the IR after each stage here"),
            cl::value_desc("dir"));

namespace {

void dump(ModuleOp module, llvm::StringRef stage) {
  if (dumpDir.empty())
    return;
  llvm::sys::fs::create_directories(dumpDir);
  llvm::SmallString<128> path(dumpDir);
  llvm::sys::path::append(path, stage + ".mlir");
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (!ec)
    module.print(os);
}

/// Ops that have no lowering yet get a clear error instead of a failure deep
/// inside bufferization.
LogicalResult checkSupported(ModuleOp module) {
  WalkResult result = module.walk([&](Operation *op) {
    if (isa<hy::SoftmaxAttentionOp, hy::CispoLossOp>(op)) {
      op->emitError() << "hymir-compile: '" << op->getName()
                      << "' has no lowering yet (only lightning_attention, "
                         "moe, linear, rms_norm, embedding, rope and "
                         "elementwise math compile)";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

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

void printEntryPlan(const rt::ModuleDesc &m, const rt::EntryDesc &e) {
  auto &os = llvm::outs();
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

/// The entry as written, for `hymir-run --check`; when it cannot be
/// expressed (an op the oracle evaluator does not know), a one-line note
/// says why and the entry goes without one.
std::optional<rt::RefProgramDesc> referenceProgram(MLIRContext &context,
                                                   func::FuncOp source) {
  std::string why;
  FailureOr<rt::RefProgramDesc> program = failure();
  {
    ScopedDiagnosticHandler capture(&context, [&](Diagnostic &d) {
      if (why.empty() && d.getSeverity() == DiagnosticSeverity::Error) {
        llvm::raw_string_ostream os(why);
        if (auto at = d.getLocation()->findInstanceOf<FileLineColLoc>())
          os << at.getFilename().getValue() << ":" << at.getLine() << ":"
             << at.getColumn() << ": ";
        os << d.str();
      }
      return success();
    });
    program = ::hymir::reference::serializeReference(source);
  }
  if (succeeded(program))
    return std::move(*program);
  llvm::errs() << "hymir-compile: note: entry '" << source.getSymName()
               << "' carries no reference program, so hymir-run --check "
                  "cannot check it ("
               << why << ")\n";
  return std::nullopt;
}

/// True when `path` is a ptxas that runs (`ptxas --version` exits 0). A
/// wrapper script whose toolkit is gone, as on machines without CUDA that
/// kept /usr/local/bin/ptxas, does not count.
bool ptxasRuns(llvm::StringRef path) {
  if (!llvm::sys::fs::can_execute(path))
    return false;
  std::optional<llvm::StringRef> quiet[] = {
      llvm::StringRef(""), llvm::StringRef(""), llvm::StringRef("")};
  llvm::StringRef args[] = {path, "--version"};
  return llvm::sys::ExecuteAndWait(path, args, std::nullopt, quiet,
                                   /*SecondsToWait=*/30) == 0;
}

/// ptxas from --ptxas, PATH or the usual CUDA location; empty if none runs.
/// Looked up once per process.
const std::string &findPtxas() {
  static const std::string found = []() -> std::string {
    if (!ptxasOpt.empty())
      return ptxasOpt == "none" ? std::string() : ptxasOpt.getValue();
    if (llvm::ErrorOr<std::string> inPath =
            llvm::sys::findProgramByName("ptxas"))
      if (ptxasRuns(*inPath))
        return *inPath;
    if (ptxasRuns("/usr/local/cuda/bin/ptxas"))
      return "/usr/local/cuda/bin/ptxas";
    return "";
  }();
  return found;
}

/// The CUDA toolkit whose libdevice links into kernels that call math
/// functions: the toolkit holding ptxas (symbolic links resolved), else
/// CUDA_HOME, CUDA_ROOT, CUDA_PATH, else /usr/local/cuda, whichever first has
/// nvvm/libdevice/libdevice.10.bc. Empty when none has it: kernels without
/// math calls need none, and the others are reported after codegen.
std::string findToolkit(llvm::StringRef ptxas) {
  std::vector<std::string> candidates;
  if (!ptxas.empty()) {
    llvm::SmallString<256> real;
    if (!llvm::sys::fs::real_path(ptxas, real))
      candidates.push_back(
          llvm::sys::path::parent_path(llvm::sys::path::parent_path(real))
              .str());
  }
  for (const char *var : {"CUDA_HOME", "CUDA_ROOT", "CUDA_PATH"})
    if (const char *value = std::getenv(var))
      candidates.push_back(value);
  candidates.push_back("/usr/local/cuda");
  for (const std::string &dir : candidates) {
    llvm::SmallString<256> libdevice(dir);
    llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
    if (llvm::sys::fs::is_regular_file(libdevice))
      return dir;
  }
  return "";
}

/// Assembles `ptx` into a cubin for --chip with ptxas. On failure, reports
/// ptxas' message and a command that reproduces it.
FailureOr<std::vector<uint8_t>> assemble(ModuleOp module,
                                         const std::string &ptxas,
                                         llvm::StringRef ptx,
                                         llvm::StringRef name) {
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("hymir-ptxas", dir))
    return module.emitError("hymir-compile: cannot create a temporary folder");
  llvm::SmallString<128> ptxPath(dir), cubinPath(dir), logPath(dir);
  llvm::sys::path::append(ptxPath, name + ".ptx");
  llvm::sys::path::append(cubinPath, name + ".cubin");
  llvm::sys::path::append(logPath, "ptxas.log");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(ptxPath, ec);
    if (ec)
      return module.emitError() << "hymir-compile: cannot write " << ptxPath;
    os << ptx;
  }
  std::string arch = "-arch=" + chipOpt.getValue();
  llvm::SmallVector<llvm::StringRef> args = {ptxas,   arch, "-O3",
                                             ptxPath, "-o", cubinPath};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, logPath.str(),
                                                logPath.str()};
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects);
  auto log = llvm::MemoryBuffer::getFile(logPath);
  auto cubin = llvm::MemoryBuffer::getFile(cubinPath);
  if (rc != 0 || !cubin) {
    InFlightDiagnostic diag = module.emitError()
                              << "hymir-compile: ptxas failed on " << name
                              << ": " << (log ? (*log)->getBuffer() : "")
                              << "\nreproduce with: " << ptxas << " " << arch
                              << " -O3 " << ptxPath << " -o " << cubinPath;
    return diag;
  }
  llvm::StringRef bytes = (*cubin)->getBuffer();
  std::vector<uint8_t> out(bytes.begin(), bytes.end());
  llvm::sys::fs::remove_directories(dir);
  return out;
}

LogicalResult run(MLIRContext &context, ModuleOp module) {
  bool cuda = targetOpt == "cuda";
  if (!cuda && targetOpt != "cpu")
    return module.emitError() << "hymir-compile: --target must be cpu or "
                                 "cuda, got '"
                              << targetOpt << "'";
  if (devicesOpt < 1 || devicesOpt > 64)
    return module.emitError() << "hymir-compile: --devices must be in [1, "
                                 "64], got "
                              << devicesOpt.getValue();
  if (moeTileOpt.getNumOccurrences() && moeTileOpt < 1)
    return module.emitError() << "hymir-compile: --moe-tile must be at least "
                                 "1, got "
                              << moeTileOpt.getValue();
  if (maxTokensOpt < 1)
    return module.emitError("hymir-compile: --max-tokens must be positive");
  if (failed(checkSupported(module)))
    return failure();
  OwningOpRef<ModuleOp> original = module.clone();

  PassManager pm(&context);
  pm.enableVerifier(true);
  pm.addPass(createInlinerPass());
  hy::KernelFormOptions formOptions;
  formOptions.blockSize = blockSizeOpt;
  formOptions.libraryGemm = cuda;
  formOptions.gpuLightning = cuda;
  formOptions.gpuMoe = cuda;
  formOptions.lightningValueSplit = lightningSplitOpt;
  formOptions.lightningTensorCores = lightningTensorCoresOpt;
  // wgmma needs the sm_90a feature set.
  bool wgmma = cuda && moeWgmmaOpt && chipOpt.getValue() == "sm_90a";
  formOptions.moeWgmma = wgmma;
  formOptions.moeDecodeSlots = std::max<int64_t>(0, moeDecodeSlotsOpt);
  formOptions.moeWgmmaGroup = std::max<int64_t>(1, moeWgmmaGroupOpt);
  formOptions.moeTile = moeTileOpt.getNumOccurrences() ? moeTileOpt.getValue()
                                                       : (wgmma  ? 128
                                                          : cuda ? 64
                                                                 : 1);
  formOptions.devices = devicesOpt;
  hy::buildKernelFormPipeline(pm, formOptions);
  if (failed(pm.run(module)))
    return failure();
  dump(module, "1-kernel-form");

  rt::ModuleDesc desc;
  desc.target = cuda ? rt::Target::Cuda : rt::Target::Cpu;
  desc.chip = cuda ? chipOpt.getValue() : "";
  desc.deviceCount = devicesOpt;
  desc.producer = "hymir-compile " + rt::runtimeVersion();

  hy::ModuleTables tables;
  std::vector<std::string> gpuModules;
  for (auto gpuModule : module.getOps<gpu::GPUModuleOp>()) {
    gpuModules.push_back(gpuModule.getName().str());
    for (auto kernel : gpuModule.getOps<gpu::GPUFuncOp>()) {
      if (!kernel.isKernel())
        continue;
      std::string key = (gpuModule.getName() + "::" + kernel.getName()).str();
      rt::KernelDesc k;
      k.name = key;
      k.code = cuda ? static_cast<uint32_t>(gpuModules.size() - 1) : 0;
      k.symbol =
          cuda ? kernel.getName().str()
               : (gpuModule.getName() + "__" + kernel.getName() + ".packed")
                     .str();
      tables.kernels[key] = desc.kernels.size();
      desc.kernels.push_back(k);
    }
  }

  hy::PlanOptions planOptions;
  planOptions.maxTokens = maxTokensOpt;
  planOptions.devices = devicesOpt;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isExternal())
      continue;
    auto source = original->lookupSymbol<func::FuncOp>(func.getSymName());
    FailureOr<rt::EntryDesc> entry =
        hy::buildEntryPlan(func, source, tables, planOptions);
    if (failed(entry))
      return failure();
    entry->reference = referenceProgram(context, source);
    desc.entries.push_back(std::move(*entry));
  }
  if (desc.entries.empty())
    return module.emitError("hymir-compile: no public function to compile");
  desc.params = tables.params;

  OwningOpRef<ModuleOp> kernels = module.clone();
  PassManager kpm(&context);
  if (cuda) {
    hy::CudaKernelOptions cudaOptions;
    cudaOptions.chip = chipOpt;
    cudaOptions.format = "isa";
    cudaOptions.toolkitPath = findToolkit(findPtxas());
    hy::buildCudaKernelPipeline(kpm, cudaOptions);
  } else {
    hy::buildCpuKernelPipeline(kpm);
  }
  if (failed(kpm.run(*kernels)))
    return failure();
  dump(*kernels, cuda ? "2-cuda-kernels" : "2-cpu-kernels");

  std::string ptxas;
  if (cuda) {
    ptxas = findPtxas();
    if (ptxas.empty())
      llvm::errs() << "hymir-compile: note: no ptxas (--ptxas, PATH, "
                      "/usr/local/cuda/bin): kernels are stored as PTX only "
                      "and JIT-compiled at load\n";
  }
  if (cuda) {
    // One code object per outlined gpu.module, in kernel-table order: a
    // cubin with its PTX as fallback when ptxas is found, else the PTX.
    for (const std::string &name : gpuModules) {
      auto binary = kernels->lookupSymbol<gpu::BinaryOp>(name);
      if (!binary || binary.getObjects().size() != 1)
        return module.emitError() << "hymir-compile: no PTX for " << name;
      auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
      llvm::StringRef ptx = object.getObject().getValue();
      if (ptx.contains(".extern .func") && ptx.contains("__nv_"))
        llvm::errs() << "hymir-compile: warning: " << name
                     << " calls libdevice functions that were not linked (no "
                        "CUDA toolkit found: set CUDA_HOME or --ptxas); it "
                        "will not load on a GPU\n";
      std::vector<uint8_t> ptxBytes(ptx.begin(), ptx.end());
      ptxBytes.push_back(0); // cuModuleLoadData reads PTX as a C string
      rt::CodeObjectDesc code;
      if (!ptxas.empty()) {
        FailureOr<std::vector<uint8_t>> cubin =
            assemble(module, ptxas, ptx, name);
        if (failed(cubin))
          return failure();
        code.format = rt::CodeFormat::Cubin;
        code.data = std::move(*cubin);
        code.ptxFallback = std::move(ptxBytes);
      } else {
        code.format = rt::CodeFormat::Ptx;
        code.data = std::move(ptxBytes);
      }
      desc.code.push_back(std::move(code));
    }
  } else {
    FailureOr<std::vector<uint8_t>> so = hy::compileHostSharedObject(*kernels);
    if (failed(so))
      return failure();
    desc.code.push_back({rt::CodeFormat::HostSharedObject, std::move(*so)});
  }

  if (printPlan) {
    for (auto [i, c] : llvm::enumerate(desc.code))
      llvm::outs() << "code " << i << ": " << rt::codeFormatName(c.format)
                   << ", " << c.data.size() << " B"
                   << (c.ptxFallback.empty() ? ""
                                             : ", with its PTX as fallback")
                   << "\n";
    if (desc.deviceCount > 1)
      llvm::outs() << "devices " << desc.deviceCount << "\n";
    for (auto [i, p] : llvm::enumerate(desc.params)) {
      llvm::outs() << "param " << i << " " << p.name << ": "
                   << std::string(rt::dtypeName(p.dtype)) << "[";
      for (auto [d, s] : llvm::enumerate(p.shape))
        llvm::outs() << (d ? ", " : "") << s.constant;
      llvm::outs() << "]";
      if (p.shardDim >= 0)
        llvm::outs() << " sharded along dim " << p.shardDim;
      llvm::outs() << "\n";
    }
    for (const rt::EntryDesc &e : desc.entries)
      printEntryPlan(desc, e);
  }

  absl::Status status = rt::writeArtifact(desc, outputFile);
  if (!status.ok())
    return module.emitError() << "hymir-compile: " << status.ToString();
  size_t launches = 0;
  for (const rt::EntryDesc &e : desc.entries)
    launches += e.plan.size();
  llvm::errs() << "hymir-compile: wrote " << outputFile << " ("
               << (cuda ? "cuda " + chipOpt.getValue() : std::string("cpu"))
               << ", " << desc.entries.size() << " entr"
               << (desc.entries.size() == 1 ? "y" : "ies") << ", "
               << desc.kernels.size() << " kernels, " << launches
               << " plan steps)\n";
  return success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "hymir ahead-of-time compiler\n");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<hy::HymirDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = ::hymir::tools::parseModuleFile(
      inputFile, context, sourceMgr, "hymir-compile");
  if (!module)
    return 1;
  return failed(run(context, *module)) ? 1 : 0;
}
