//===- Passes.h - hymir codegen passes --------------------------*- C++ -*-===//
//
// Declares the codegen passes (generated from Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_PASSES_H
#define HYMIR_CODEGEN_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::hymir {

#define GEN_PASS_DECL
#include "hymir/Codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hymir/Codegen/Passes.h.inc"

/// Registers how hymir ops with in-place semantics bufferize
/// (hymir.kv_cache_write writes into its cache operand's buffer); every tool
/// that runs one-shot bufferization on hymir IR calls it.
void registerHymirBufferization(DialectRegistry &registry);

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_PASSES_H
