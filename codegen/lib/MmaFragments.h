//===- MmaFragments.h - mma.sync m16n8k16 bf16 helpers ----------*- C++ -*-===//
//
// The pieces of a warp-level bf16 tensor-core product shared by the GPU
// kernel builders: two adjacent bf16 of a row-major memref as one 32-bit
// register, and nvvm.mma.sync m16n8k16 (A row-major, B column-major, f32
// accumulators). Fragment layouts follow the PTX ISA: lane = 4 groupRow +
// quad; A holds rows groupRow and groupRow + 8, columns 2 quad, 2 quad + 1
// and the same + 8; B (stored transposed, one row per output column) holds
// columns groupRow, rows 2 quad, 2 quad + 1 and the same + 8; C holds rows
// groupRow (+ 8) and columns 2 quad, 2 quad + 1.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_LIB_MMAFRAGMENTS_H
#define HYMIR_CODEGEN_LIB_MMAFRAGMENTS_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::hymir {

/// memref[indices..., col] and memref[indices..., col + 1] (bf16) as one i32.
inline Value loadBf16Pair(ImplicitLocOpBuilder &b, Value memref,
                          ValueRange indices) {
  Value v2 =
      vector::LoadOp::create(b, VectorType::get({2}, b.getBF16Type()), memref,
                             indices, false, llvm::MaybeAlign(4));
  Value i32 =
      vector::BitCastOp::create(b, VectorType::get({1}, b.getI32Type()), v2);
  return vector::ExtractOp::create(b, i32, 0);
}

/// d = a * b + c for one m16n8k16 tile: a 4 and b 2 registers of bf16 pairs,
/// c and the result 4 f32.
inline SmallVector<Value> mmaBf16(ImplicitLocOpBuilder &b, ArrayRef<Value> a,
                                  ArrayRef<Value> bb, ArrayRef<Value> c) {
  Type f = b.getF32Type();
  auto type = LLVM::LLVMStructType::getLiteral(b.getContext(), {f, f, f, f});
  auto op = NVVM::MmaOp::create(
      b, type, a, bb, c, ArrayRef<int64_t>{16, 8, 16}, std::nullopt,
      std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> d;
  for (int64_t i = 0; i < 4; ++i)
    d.push_back(LLVM::ExtractValueOp::create(b, op, i));
  return d;
}

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_LIB_MMAFRAGMENTS_H
