//===- hymir-reference.cpp - run a hymir function on the oracle -----------===//
//
// Evaluates one function of a hymir module on random inputs with the fp64
// oracle and prints what it computed. Usage:
//   hymir-reference IN.mlir [--function NAME] [--tokens T] [--seed S]
//                   [--inputs IN.safetensors | --write-inputs IN.safetensors]
//                   [--weights W.safetensors | --write-weights W.safetensors]
//                   [--outputs REF.safetensors]
// Without --function the first public function is used. Dynamic dims take T.
// Random inputs are rounded to each argument's element type first, so the
// reference sees exactly what a compiled entry sees; --write-inputs saves
// them (named as hymir-run expects; with --write-weights the hymir.param
// arguments go there instead, and those read with --weights are left out),
// --inputs and --weights read them instead, and --outputs writes the results
// in f64 (integers in i64), for `hymir-run --reference`.
//
// The function is serialized into a reference program (Serialize.h) and
// evaluated by the runtime's evaluator (hymir/Runtime/Reference.h), the one
// `hymir-run --check` uses on the program hymir-compile stores.
//
//===----------------------------------------------------------------------===//

#include "RandomArguments.h"
#include "Serialize.h"

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirDialect.h"
#include "hymir/Runtime/Safetensors.h"
#include "hymir/Support/BFloat16.h"

#include "ToolSupport.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>

using namespace mlir;
namespace cl = llvm::cl;
namespace oracle = ::hymir::oracle;
namespace reference = ::hymir::reference;
using ReferenceValue = ::hymir::ReferenceValue;

static cl::OptionCategory hymirCategory("hymir-reference options");

static constexpr ::hymir::tools::Range kTokensRange{1, 2147483647};
static constexpr ::hymir::tools::Range kMemoryRange{1, 1024};

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::Required, cl::cat(hymirCategory));
static cl::opt<std::string>
    functionName("function",
                 cl::desc("function to evaluate (default: the first public)"),
                 cl::cat(hymirCategory));
static cl::opt<::hymir::tools::Int64Arg>
    tokens("tokens",
           cl::desc(::hymir::tools::describeRange("size of dynamic dims",
                                                  kTokensRange, 8)),
           cl::init(8), ::hymir::tools::inRange(kTokensRange),
           cl::cat(hymirCategory));
static cl::opt<::hymir::tools::Int64Arg> memoryLimitGiB(
    "memory-limit",
    cl::desc(::hymir::tools::describeRange(
        "GiB any one value of the function may take as f64 (the oracle's "
        "type); larger shapes are refused before anything is allocated",
        kMemoryRange, 16)),
    cl::init(16), ::hymir::tools::inRange(kMemoryRange),
    cl::cat(hymirCategory));
static cl::opt<std::string> inputsOpt("inputs",
                                      cl::desc("read the inputs from here"),
                                      cl::cat(hymirCategory));
static cl::opt<std::string>
    writeInputsOpt("write-inputs", cl::desc("write the random inputs here"),
                   cl::cat(hymirCategory));
static cl::opt<std::string> writeWeightsOpt(
    "write-weights",
    cl::desc("write the arguments marked hymir.param here, not with the "
             "inputs"),
    cl::cat(hymirCategory));
static cl::opt<std::string>
    weightsOpt("weights",
               cl::desc("read the hymir.param arguments from here (a "
                        "safetensors file, a checkpoint index or its folder)"),
               cl::cat(hymirCategory));
static cl::opt<std::string> outputsOpt("outputs",
                                       cl::desc("write the results here"),
                                       cl::cat(hymirCategory));
static cl::opt<uint64_t> seedOpt("seed",
                                 cl::desc("random seed (default: random)"),
                                 cl::init(0), cl::cat(hymirCategory));

/// Refuses any value of `func` (argument, op result) whose elements, with
/// dynamic dims taking --tokens, overflow or take more than --memory-limit
/// as f64, before a byte is allocated: the oracle holds every value whole.
static bool checkSizes(func::FuncOp func) {
  const uint64_t limit = static_cast<uint64_t>(memoryLimitGiB) << 30;
  auto tooLarge = [&](Value value) -> std::optional<std::string> {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type)
      return std::nullopt;
    int64_t elements = 1;
    bool overflow = false;
    for (int64_t dim : type.getShape()) {
      int64_t size = ShapedType::isDynamic(dim) ? int64_t(tokens) : dim;
      overflow |= llvm::MulOverflow(elements, size, elements);
    }
    int64_t bytes = 0;
    overflow |= llvm::MulOverflow(elements, int64_t(8), bytes);
    if (!overflow && static_cast<uint64_t>(bytes) <= limit)
      return std::nullopt;
    std::string text;
    llvm::raw_string_ostream os(text);
    os << type << " at T = " << tokens << " ";
    if (overflow)
      os << "has 2^63 or more bytes";
    else
      os << "takes " << bytes << " bytes as f64";
    os << ", over --memory-limit=" << memoryLimitGiB << " GiB";
    return text;
  };
  for (BlockArgument arg : func.getArguments())
    if (std::optional<std::string> why = tooLarge(arg)) {
      llvm::errs() << "hymir-reference: error: argument '"
                   << reference::entryValueName(func, arg.getArgNumber(), false)
                   << "': " << *why << "\n";
      return false;
    }
  bool fits = true;
  func.walk([&](Operation *op) {
    for (Value result : op->getResults())
      if (std::optional<std::string> why = tooLarge(result)) {
        emitError(op->getLoc())
            << "reference: result of '" << op->getName() << "': " << *why;
        fits = false;
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  return fits;
}

static std::string describe(const ReferenceValue &v) {
  std::string out;
  llvm::raw_string_ostream os(out);
  if (auto *t = std::get_if<oracle::Tensor>(&v)) {
    double sumSq = 0, maxAbs = 0;
    bool finite = true;
    for (double x : t->data) {
      sumSq += x * x;
      maxAbs = std::max(maxAbs, std::fabs(x));
      finite &= std::isfinite(x);
    }
    os << "f[";
    llvm::interleaveComma(t->shape, os);
    os << "] rms "
       << llvm::format("%.6g",
                       std::sqrt(sumSq / std::max<int64_t>(1, t->numel())))
       << " max|x| " << llvm::format("%.6g", maxAbs)
       << (finite ? "" : " NON-FINITE") << "  first:";
    for (int64_t k = 0; k < std::min<int64_t>(4, t->numel()); ++k)
      os << " " << llvm::format("%.6g", t->data[k]);
  } else if (auto *t = std::get_if<oracle::IntTensor>(&v)) {
    os << "i[";
    llvm::interleaveComma(t->shape, os);
    os << "]  first:";
    for (size_t k = 0; k < std::min<size_t>(4, t->data.size()); ++k)
      os << " " << t->data[k];
  } else {
    os << "index " << std::get<int64_t>(v);
  }
  return out;
}

/// Rounds a random float argument to the precision of its element type.
static void roundToType(ReferenceValue &v, Type elementType) {
  auto *t = std::get_if<oracle::Tensor>(&v);
  if (!t)
    return;
  if (elementType.isBF16())
    *t = oracle::roundToBf16(*t);
  else if (elementType.isF32())
    for (double &x : t->data)
      x = static_cast<float>(x);
}

static std::optional<::hymir::DType> runtimeDType(Type type) {
  if (type.isF32())
    return ::hymir::DType::F32;
  if (type.isBF16())
    return ::hymir::DType::BF16;
  if (type.isF64())
    return ::hymir::DType::F64;
  if (type.isInteger(32))
    return ::hymir::DType::I32;
  if (type.isInteger(64))
    return ::hymir::DType::I64;
  return std::nullopt;
}

/// Encodes `v` as `dtype` bytes (floats rounded to nearest even first).
static std::vector<uint8_t> encode(const ReferenceValue &v,
                                   ::hymir::DType dtype) {
  std::vector<uint8_t> out;
  auto put = [&](const void *p, size_t n) {
    const uint8_t *b = static_cast<const uint8_t *>(p);
    out.insert(out.end(), b, b + n);
  };
  if (auto *t = std::get_if<oracle::Tensor>(&v)) {
    for (double x : t->data) {
      if (dtype == ::hymir::DType::F64) {
        put(&x, 8);
        continue;
      }
      float f = static_cast<float>(
          dtype == ::hymir::DType::BF16 ? oracle::roundToBf16(x) : x);
      if (dtype == ::hymir::DType::BF16) {
        // f is a bf16 value already (roundToBf16), so this is exact.
        uint16_t h = ::hymir::floatToBf16(f);
        put(&h, 2);
      } else {
        put(&f, 4);
      }
    }
  } else if (auto *t = std::get_if<oracle::IntTensor>(&v)) {
    for (int64_t x : t->data) {
      if (dtype == ::hymir::DType::I64) {
        put(&x, 8);
      } else {
        int32_t i = static_cast<int32_t>(x);
        put(&i, 4);
      }
    }
  }
  return out;
}

static int run();

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  ::hymir::tools::parseCommandLine(
      argc, argv, "hymir-reference",
      "hymir reference evaluator: one function on the fp64 oracle\n",
      {&hymirCategory});
  if (!::hymir::tools::checkRange("hymir-reference", tokens, kTokensRange) ||
      !::hymir::tools::checkRange("hymir-reference", memoryLimitGiB,
                                  kMemoryRange))
    return 1;
  // Allocation failures inside LLVM's containers end the tool with one
  // line, as exceptions from the oracle and the standard library do.
  llvm::install_bad_alloc_error_handler([](void *, const char *reason, bool) {
    llvm::errs() << "hymir-reference: error: out of memory (" << reason
                 << ")\n";
    std::_Exit(1);
  });
  try {
    return run();
  } catch (const std::bad_alloc &) {
    llvm::errs() << "hymir-reference: error: out of memory\n";
  } catch (const std::exception &e) {
    llvm::errs() << "hymir-reference: error: " << e.what() << "\n";
  }
  return 1;
}

static int run() {

  DialectRegistry registry;
  registry
      .insert<mlir::hymir::HymirDialect, arith::ArithDialect, func::FuncDialect,
              math::MathDialect, tensor::TensorDialect>();
  // Modules may hold functions the oracle cannot evaluate (the imported
  // model's prefill and decode, with linalg glue): they parse, and only
  // the --function evaluated must be the oracle's.
  registry.insert<linalg::LinalgDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = ::hymir::tools::parseModuleFile(
      inputFile, context, sourceMgr, "hymir-reference");
  if (!module)
    return 1;

  func::FuncOp func;
  for (auto f : module->getOps<func::FuncOp>()) {
    if (functionName.empty() ? f.isPublic() : f.getSymName() == functionName) {
      func = f;
      break;
    }
  }
  if (!func) {
    llvm::errs() << "hymir-reference: no function "
                 << (functionName.empty() ? "(public)"
                                          : functionName.getValue())
                 << " in " << inputFile << "\n";
    return 1;
  }
  if (func.isExternal()) {
    llvm::errs() << "hymir-reference: @" << func.getSymName()
                 << " is a declaration\n";
    return 1;
  }

  if (!checkSizes(func))
    return 1;
  std::vector<Location> locations;
  FailureOr<::hymir::RefProgramDesc> program =
      reference::serializeReference(func, &locations);
  if (failed(program))
    return 1;

  uint64_t seed = seedOpt ? seedOpt.getValue() : std::random_device{}();
  llvm::outs() << "evaluating @" << func.getSymName() << " of " << inputFile
               << " with the fp64 oracle, T = " << tokens << ", seed " << seed
               << "\n";
  std::vector<ReferenceValue> args;
  // Weights may be one file or a checkpoint's shards (an index or a model
  // directory), as hymir-run --weights takes them.
  std::optional<::hymir::ShardedSafetensors> inputTensors, weightTensors;
  for (auto [path, file] : {std::make_pair(&inputsOpt, &inputTensors),
                            std::make_pair(&weightsOpt, &weightTensors)}) {
    if (path->empty())
      continue;
    auto opened = ::hymir::ShardedSafetensors::open(*path);
    if (!opened.ok()) {
      llvm::errs() << "hymir-reference: "
                   << std::string(opened.status().message()) << "\n";
      return 1;
    }
    file->emplace(std::move(*opened));
  }
  ::hymir::SafetensorsWriter inputWriter, weightWriter;
  for (BlockArgument arg : func.getArguments()) {
    std::string name =
        reference::entryValueName(func, arg.getArgNumber(), false);
    auto type = cast<RankedTensorType>(arg.getType());
    bool isParam = mlir::hymir::isParam(func, arg.getArgNumber());
    std::optional<::hymir::ShardedSafetensors> &source =
        isParam && weightTensors ? weightTensors : inputTensors;
    if (source) {
      const ::hymir::TensorView *view = source->find(name);
      if (!view) {
        llvm::errs() << "hymir-reference: " << source->path()
                     << " has no tensor '" << name << "'\n";
        return 1;
      }
      absl::StatusOr<ReferenceValue> v = ::hymir::referenceValueFromBytes(
          view->dtype, view->shape, view->data, view->sizeBytes,
          isa<FloatType>(type.getElementType()) ? ::hymir::RefValueKind::Float
                                                : ::hymir::RefValueKind::Int,
          source->path() + ": tensor '" + name + "'");
      if (!v.ok()) {
        llvm::errs() << "hymir-reference: " << std::string(v.status().message())
                     << "\n";
        return 1;
      }
      args.push_back(*std::move(v));
    } else {
      args.push_back(
          reference::randomArgument(arg, tokens, seed + arg.getArgNumber()));
      roundToType(args.back(), type.getElementType());
    }
    // Parameters read from --weights stay there: the inputs file holds the
    // entry's inputs only, as hymir-run --inputs expects beside --weights.
    if (!writeInputsOpt.empty() && !(isParam && weightTensors)) {
      std::optional<::hymir::DType> dtype = runtimeDType(type.getElementType());
      if (!dtype) {
        llvm::errs() << "hymir-reference: argument " << name
                     << " has no safetensors dtype\n";
        return 1;
      }
      std::vector<uint8_t> bytes = encode(args.back(), *dtype);
      std::vector<int64_t> shape;
      if (auto *t = std::get_if<oracle::Tensor>(&args.back()))
        shape = t->shape;
      else if (auto *t = std::get_if<oracle::IntTensor>(&args.back()))
        shape = t->shape;
      (isParam && !writeWeightsOpt.empty() ? weightWriter : inputWriter)
          .add(name, *dtype, shape, bytes.data(), bytes.size());
    }
    llvm::outs() << "  in  " << name << ": " << describe(args.back()) << "\n";
  }
  if (!writeWeightsOpt.empty()) {
    if (absl::Status s = weightWriter.write(writeWeightsOpt); !s.ok()) {
      llvm::errs() << "hymir-reference: " << std::string(s.message()) << "\n";
      return 1;
    }
  }
  if (!writeInputsOpt.empty()) {
    if (absl::Status s = inputWriter.write(writeInputsOpt); !s.ok()) {
      llvm::errs() << "hymir-reference: " << std::string(s.message()) << "\n";
      return 1;
    }
  }
  auto start = std::chrono::steady_clock::now();
  size_t failedOp = 0;
  absl::StatusOr<std::vector<ReferenceValue>> results =
      ::hymir::evaluateReference(*program, std::move(args), &failedOp);
  if (!results.ok()) {
    Location loc = failedOp < locations.size() ? locations[failedOp]
                                               : Location(func.getLoc());
    emitError(loc) << "reference: " << std::string(results.status().message());
    return 1;
  }
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  for (auto [i, v] : llvm::enumerate(*results))
    llvm::outs() << "  out " << reference::entryValueName(func, i, true) << ": "
                 << describe(v) << "\n";
  if (!outputsOpt.empty()) {
    ::hymir::SafetensorsWriter writer;
    for (auto [i, v] : llvm::enumerate(*results)) {
      ::hymir::DType dtype = std::holds_alternative<oracle::Tensor>(v)
                                 ? ::hymir::DType::F64
                                 : ::hymir::DType::I64;
      std::vector<int64_t> shape;
      if (auto *t = std::get_if<oracle::Tensor>(&v))
        shape = t->shape;
      else if (auto *t = std::get_if<oracle::IntTensor>(&v))
        shape = t->shape;
      std::vector<uint8_t> bytes = encode(v, dtype);
      writer.add(reference::entryValueName(func, i, true), dtype, shape,
                 bytes.data(), bytes.size());
    }
    writer.setMetadata("producer", "hymir-reference (fp64 oracle)");
    if (absl::Status s = writer.write(outputsOpt); !s.ok()) {
      llvm::errs() << "hymir-reference: " << std::string(s.message()) << "\n";
      return 1;
    }
  }
  llvm::outs() << "evaluated " << func.getSymName() << " in "
               << llvm::format("%.1f", ms) << " ms\n";
  return 0;
}
