//===- HostObject.cpp - host kernels to a shared object -------------------===//
//
// See HostObject.h. The linker is found on PATH (clang-22, clang, cc, gcc);
// temporary files live in a fresh directory that is removed afterwards.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/HostObject.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;

namespace {

/// Removes a temporary directory and its files when it goes out of scope.
struct TempDir {
  llvm::SmallString<128> path;
  ~TempDir() {
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }
};

} // namespace

FailureOr<std::vector<uint8_t>>
mlir::hymir::compileHostSharedObject(ModuleOp module) {
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "hymir_kernels");
  if (!llvmModule)
    return module.emitError("hymir-compile: translation to LLVM IR failed");

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple("x86_64-unknown-linux-gnu");
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return module.emitError() << "hymir-compile: no x86-64 backend: " << error;
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, "x86-64-v2", "", targetOptions, llvm::Reloc::PIC_));
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(machine->createDataLayout());
  if (llvm::Error err =
          makeOptimizingTransformer(2, 0, machine.get())(llvmModule.get()))
    return module.emitError() << "hymir-compile: LLVM optimisation failed: "
                              << llvm::toString(std::move(err));

  TempDir dir;
  if (llvm::sys::fs::createUniqueDirectory("hymir-compile", dir.path))
    return module.emitError("hymir-compile: cannot create a temporary folder");
  llvm::SmallString<128> objPath(dir.path), soPath(dir.path), logPath(dir.path);
  llvm::sys::path::append(objPath, "kernels.o");
  llvm::sys::path::append(soPath, "kernels.so");
  llvm::sys::path::append(logPath, "link.log");
  {
    std::error_code ec;
    llvm::raw_fd_ostream obj(objPath, ec);
    if (ec)
      return module.emitError() << "hymir-compile: cannot write " << objPath
                                << ": " << ec.message();
    llvm::legacy::PassManager pm;
    if (machine->addPassesToEmitFile(pm, obj, nullptr,
                                     llvm::CodeGenFileType::ObjectFile))
      return module.emitError("hymir-compile: cannot emit an object file");
    pm.run(*llvmModule);
  }

  std::string linker;
  for (const char *name : {"clang-22", "clang", "cc", "gcc"}) {
    if (llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName(name)) {
      linker = *found;
      break;
    }
  }
  if (linker.empty())
    return module.emitError("hymir-compile: no C compiler driver (clang-22, "
                            "clang, cc or gcc) on PATH to link the cpu "
                            "kernels");
  std::string objArg = objPath.str().str(), soArg = soPath.str().str();
  llvm::SmallVector<llvm::StringRef> args = {
      linker, "-shared", "-o", soArg, objArg, "-lm", "-Wl,-z,noexecstack"};
  std::optional<llvm::StringRef> redirects[] = {
      std::nullopt, llvm::StringRef(logPath), llvm::StringRef(logPath)};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(linker, args, std::nullopt, redirects, 0,
                                     0, &execError);
  if (rc != 0) {
    auto log = llvm::MemoryBuffer::getFile(logPath);
    return module.emitError()
           << "hymir-compile: linking the cpu kernels with " << linker
           << " failed ("
           << (execError.empty() ? "exit " + std::to_string(rc) : execError)
           << "): " << (log ? (*log)->getBuffer() : "");
  }
  auto so = llvm::MemoryBuffer::getFile(soPath);
  if (!so)
    return module.emitError("hymir-compile: the linker wrote no library");
  llvm::StringRef bytes = (*so)->getBuffer();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}
