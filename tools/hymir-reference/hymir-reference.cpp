//===- hymir-reference.cpp - run a hymir function on the oracle -----------===//
//
// Evaluates one function of a hymir module on random inputs with the fp64
// oracle and prints what it computed. Usage:
//   hymir-reference IN.mlir [--function NAME] [--tokens T] [--seed S]
// Without --function the first public function is used. Dynamic dims take T.
//
//===----------------------------------------------------------------------===//

#include "Interpreter.h"

#include "hymir/Dialect/Hymir/IR/HymirDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <random>

using namespace mlir;
namespace cl = llvm::cl;
namespace oracle = ::hymir::oracle;
namespace reference = ::hymir::reference;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::Required);
static cl::opt<std::string> functionName("function",
                                         cl::desc("function to evaluate"));
static cl::opt<int64_t> tokens("tokens", cl::desc("size of dynamic dims"),
                               cl::init(8));
static cl::opt<uint64_t>
    seedOpt("seed", cl::desc("random seed (default: random)"), cl::init(0));

static std::string describe(const reference::Value &v) {
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

static std::string argName(func::FuncOp func, unsigned i, bool result) {
  auto name = result ? func.getResultAttrOfType<StringAttr>(i, "hymir.name")
                     : func.getArgAttrOfType<StringAttr>(i, "hymir.name");
  if (name)
    return name.str();
  return (result ? "result" : "arg") + std::to_string(i);
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "hymir reference evaluator\n");

  DialectRegistry registry;
  registry
      .insert<mlir::hymir::HymirDialect, arith::ArithDialect, func::FuncDialect,
              math::MathDialect, tensor::TensorDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  std::string error;
  auto file = openInputFile(inputFile, &error);
  if (!file) {
    llvm::errs() << "hymir-reference: " << error << "\n";
    return 1;
  }
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
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

  uint64_t seed = seedOpt ? seedOpt.getValue() : std::random_device{}();
  llvm::outs() << "evaluating @" << func.getSymName() << " of " << inputFile
               << " with the fp64 oracle, T = " << tokens << ", seed " << seed
               << "\n";
  std::vector<reference::Value> args;
  for (BlockArgument arg : func.getArguments()) {
    args.push_back(
        reference::randomArgument(arg, tokens, seed + arg.getArgNumber()));
    llvm::outs() << "  in  " << argName(func, arg.getArgNumber(), false) << ": "
                 << describe(args.back()) << "\n";
  }
  auto start = std::chrono::steady_clock::now();
  FailureOr<std::vector<reference::Value>> results =
      reference::evaluate(func, args);
  if (failed(results))
    return 1;
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  for (auto [i, v] : llvm::enumerate(*results))
    llvm::outs() << "  out " << argName(func, i, true) << ": " << describe(v)
                 << "\n";
  llvm::outs() << "evaluated " << func.getSymName() << " in "
               << llvm::format("%.1f", ms) << " ms\n";
  return 0;
}
