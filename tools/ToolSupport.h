//===- ToolSupport.h - shared pieces of the compiler-side tools -*- C++ -*-===//
//
// Reading an MLIR file into a module with diagnostics routed to the source,
// as hymir-compile and hymir-reference both do.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TOOLS_TOOLSUPPORT_H
#define HYMIR_TOOLS_TOOLSUPPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

namespace hymir::tools {

/// Parses `path` into a module. `sourceMgr` must outlive the diagnostics of
/// later passes, so the caller owns it and installs the handler for them.
/// Returns null after printing a message prefixed with `tool` on failure.
inline mlir::OwningOpRef<mlir::ModuleOp>
parseModuleFile(llvm::StringRef path, mlir::MLIRContext &context,
                llvm::SourceMgr &sourceMgr, llvm::StringRef tool) {
  std::string error;
  auto file = mlir::openInputFile(path, &error);
  if (!file) {
    llvm::errs() << tool << ": " << error << "\n";
    return nullptr;
  }
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  return mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
}

} // namespace hymir::tools

#endif // HYMIR_TOOLS_TOOLSUPPORT_H
