//===- HymirOps.h - hymir op declarations -----------------------*- C++ -*-===//
//
// Declares the hymir ops (generated from HymirOps.td).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_DIALECT_HYMIR_IR_HYMIROPS_H
#define HYMIR_DIALECT_HYMIR_IR_HYMIROPS_H

#include "hymir/Dialect/Hymir/IR/HymirDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::hymir {

/// The largest `tile` of an MoE layout (hymir.moe_route, hymir.moe_layout):
/// the kernels take tiles of at most 128 rows, and the warp-per-row builder
/// unrolls tile / 32 steps, so larger tiles only pad and slow the build.
constexpr int64_t kMaxMoeTile = 1024;

/// Checks that every ranked tensor operand and result of `op` holds fewer
/// than 2^63 bytes counting its static dims (dynamic dims count 1), so the
/// size arithmetic of verifiers and of the plan cannot overflow.
LogicalResult verifyStaticSizesFit(Operation *op);

/// The trait every hymir op carries (Hymir_Op in HymirDialect.td).
template <typename ConcreteType>
class StaticSizesFit : public OpTrait::TraitBase<ConcreteType, StaticSizesFit> {
public:
  static LogicalResult verifyTrait(Operation *op) {
    return verifyStaticSizesFit(op);
  }
};

} // namespace mlir::hymir

#define GET_OP_CLASSES
#include "hymir/Dialect/Hymir/IR/HymirOps.h.inc"

#endif // HYMIR_DIALECT_HYMIR_IR_HYMIROPS_H
