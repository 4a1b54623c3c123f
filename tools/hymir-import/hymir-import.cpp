//===- hymir-import.cpp - a Hugging Face MiniMax checkpoint to hymir IR ---===//
//
// Reads a model directory (config.json, and model.safetensors or
// model.safetensors.index.json with its shards) of the MiniMax-M1 family and
// writes one hymir module whose parameters are the checkpoint's tensors
// under their own names (hymir/Frontend/MiniMaxImporter.h). Usage:
//   hymir-import MODEL_DIR -o OUT.mlir [--max-batch=B] [--max-context=C]
//                [--lm-head=bf16|f32] [--activation=bf16|f32]
//                [--allow-unknown-keys]
//                [--no-weights [--weight-dtype=bf16|f32]
//                 [--weight-layout=transformers|stacked]]
//                [--entries=NAME,...]
// Then: hymir-compile OUT.mlir --max-tokens=C, and hymir-run --entry forward
// --weights MODEL_DIR/model.safetensors. With --no-weights only config.json
// is read and the parameters are declared from it in transformers' layout
// (for weights bound later, or made on the device: hymir-bench
// --random-weights). --entries keeps only the entries named (a smaller
// artifact, compiled faster: a benchmark of prefill and decode).
//
//===----------------------------------------------------------------------===//

#include "ToolSupport.h"

#include "hymir/Frontend/MiniMaxImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;
namespace rtools = ::hymir::tools;

static cl::OptionCategory hymirCategory("hymir-import options");

static constexpr rtools::Range kBatchRange{1, 4096};
// The positions table of forward holds one i32 per token of context (M1
// extrapolates to 4M tokens).
static constexpr rtools::Range kContextRange{1, 4194304};

static cl::opt<std::string> modelDir(cl::Positional, cl::desc("<model dir>"),
                                     cl::Required, cl::cat(hymirCategory));
static cl::opt<std::string> outputFile("o",
                                       cl::desc("output .mlir ('-': stdout)"),
                                       cl::value_desc("path"), cl::init("-"),
                                       cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg> maxBatch(
    "max-batch",
    cl::desc(rtools::describeRange("sequences per call (the B of forward)",
                                   kBatchRange, 1)),
    cl::init(1), rtools::inRange(kBatchRange), cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg> maxContext(
    "max-context",
    cl::desc(rtools::describeRange(
        "most tokens per sequence (compile with --max-tokens at most this)",
        kContextRange, 4096)),
    cl::init(4096), rtools::inRange(kContextRange), cl::cat(hymirCategory));
static cl::opt<std::string>
    lmHead("lm-head",
           cl::desc("precision of the LM head: bf16, or f32 (true fp32 "
                    "products; default)"),
           cl::init("f32"), cl::cat(hymirCategory));
static cl::opt<std::string>
    activation("activation",
               cl::desc("activation dtype: bf16 or f32 (default: the "
                        "config's dtype, bf16 when it names none)"),
               cl::init(""), cl::cat(hymirCategory));
static cl::opt<bool> allowUnknownKeys(
    "allow-unknown-keys",
    cl::desc("ignore config keys neither MiniMax-M1 nor transformers "
             "MiniMaxConfig has (listed in the output's header)"),
    cl::cat(hymirCategory));

static cl::opt<bool> noWeights(
    "no-weights",
    cl::desc("read config.json only, no safetensors: declare every parameter "
             "from the config in transformers' layout (fused experts), for "
             "weights bound later or made on the device (hymir-bench "
             "--random-weights)"),
    cl::cat(hymirCategory));
static cl::opt<std::string> weightDType(
    "weight-dtype",
    cl::desc("with --no-weights: the parameters' dtype, bf16 (default) or "
             "f32"),
    cl::init(""), cl::cat(hymirCategory));

static cl::opt<std::string> weightLayout(
    "weight-layout",
    cl::desc("with --no-weights: the experts' layout, transformers (default: "
             "mlp.experts.gate_up_proj, sliced into W1 and W3 by a copy per "
             "call) or stacked (mlp.experts.w1, w3, w2 as hymir.moe takes "
             "them: no copy)"),
    cl::init(""), cl::cat(hymirCategory));
static cl::list<std::string>
    entries("entries",
            cl::desc("keep only these entries (comma-separated; default all: "
                     "forward, score, cispo_step, prefill, decode, ...)"),
            cl::CommaSeparated, cl::cat(hymirCategory));

/// Erases the public functions (entries) of `module` not in `keep`, then the
/// private functions nothing calls any more. An unknown name is an error
/// listing the entries.
static bool keepEntries(mlir::ModuleOp module,
                        const std::vector<std::string> &keep) {
  std::vector<std::string> all;
  for (auto f : module.getOps<mlir::func::FuncOp>())
    if (f.isPublic())
      all.push_back(f.getSymName().str());
  for (const std::string &name : keep)
    if (std::find(all.begin(), all.end(), name) == all.end()) {
      llvm::errs() << "hymir-import: error: --entries names '" << name
                   << "', which the model does not have; its entries: "
                   << llvm::join(all, ", ") << "\n";
      return false;
    }
  llvm::SmallVector<mlir::func::FuncOp> dead;
  for (auto f : module.getOps<mlir::func::FuncOp>())
    if (f.isPublic() &&
        std::find(keep.begin(), keep.end(), f.getSymName()) == keep.end())
      dead.push_back(f);
  for (mlir::func::FuncOp f : dead)
    f.erase();
  // Private functions (the layers) left without callers, until none is.
  for (bool erased = true; erased;) {
    erased = false;
    for (auto f :
         llvm::make_early_inc_range(module.getOps<mlir::func::FuncOp>()))
      if (f.isPrivate() && mlir::SymbolTable::symbolKnownUseEmpty(f, module)) {
        f.erase();
        erased = true;
      }
  }
  return true;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  rtools::parseCommandLine(
      argc, argv, "hymir-import",
      "hymir-import: a Hugging Face MiniMax checkpoint to a hymir module\n",
      {&hymirCategory});
  if (!rtools::checkRange("hymir-import", maxBatch, kBatchRange) ||
      !rtools::checkRange("hymir-import", maxContext, kContextRange))
    return 1;
  for (auto [option, value] :
       {std::pair<const char *, const std::string *>{"lm-head", &lmHead},
        {"activation", &activation},
        {"weight-dtype", &weightDType}})
    if (!value->empty() && *value != "bf16" && *value != "f32") {
      llvm::errs() << "hymir-import: error: --" << option
                   << " must be bf16 or f32, got '" << *value << "'\n";
      return 1;
    }

  if (!weightLayout.empty() && weightLayout != "transformers" &&
      weightLayout != "stacked") {
    llvm::errs() << "hymir-import: error: --weight-layout must be "
                    "transformers or stacked, got '"
                 << weightLayout << "'\n";
    return 1;
  }
  if (!weightLayout.empty() && !noWeights) {
    llvm::errs() << "hymir-import: error: --weight-layout declares the "
                    "parameters' layout and needs --no-weights (a checkpoint "
                    "has its own)\n";
    return 1;
  }
  if (!weightDType.empty() && !noWeights) {
    llvm::errs() << "hymir-import: error: --weight-dtype declares the "
                    "parameters' dtype and needs --no-weights (with a "
                    "checkpoint the tensors' own dtypes are used)\n";
    return 1;
  }

  mlir::MLIRContext context;
  hymir::frontend::ImportOptions options;
  options.maxBatch = maxBatch;
  options.maxContext = maxContext;
  options.lmHeadPrecision = lmHead;
  options.activation = activation;
  options.allowUnknownKeys = allowUnknownKeys;
  if (noWeights)
    options.declaredWeights =
        weightDType.empty() ? std::string("bf16") : std::string(weightDType);
  options.declaredLayout = weightLayout;
  llvm::Expected<hymir::frontend::ImportedModel> model =
      hymir::frontend::importMiniMax(context, modelDir, options);
  if (!model) {
    llvm::errs() << "hymir-import: error: " << llvm::toString(model.takeError())
                 << "\n";
    return 1;
  }

  if (!entries.empty() &&
      !keepEntries(*model->module,
                   std::vector<std::string>(entries.begin(), entries.end())))
    return 1;

  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> out =
      mlir::openOutputFile(outputFile, &error);
  if (!out) {
    llvm::errs() << "hymir-import: error: " << error << "\n";
    return 1;
  }
  if (!entries.empty())
    model->summary += "Entries kept (--entries): " +
                      llvm::join(entries.begin(), entries.end(), ", ") + ".\n";
  llvm::StringRef summary(model->summary);
  while (!summary.empty()) {
    auto [line, rest] = summary.split('\n');
    out->os() << "// " << line << "\n";
    summary = rest;
  }
  // Large constants (the positions table) print in full, so that the module
  // reads back as written.
  model->module->print(
      out->os(), mlir::OpPrintingFlags().printLargeElementsAttrWithHex(-1));
  out->os() << "\n";
  out->keep();
  return 0;
}
