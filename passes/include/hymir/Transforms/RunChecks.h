//===- RunChecks.h - flagging run-time checks from kernels ------*- C++ -*-===//
//
// A condition on values only the run can see (an embedding id inside its
// table) is checked by the kernel that reads the value: a lowering makes a
// hymir.check_slot (two i64 words, which the plan turns into a
// hymir_plan.check) and, where the kernel finds a bad value, calls
// flagRunCheck. The runtime clears the words before a call and reports a
// flagged check as the call's error after it (artifact.fbs, table Check).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_TRANSFORMS_RUNCHECKS_H
#define HYMIR_TRANSFORMS_RUNCHECKS_H

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include <cstdint>
#include <string>

namespace mlir::hymir {

/// The largest position a check records; later positions are saturated to
/// it, so word 0 of a flagged check is always below INT64_MAX (the clear
/// value) whatever the value.
inline constexpr int64_t kRunCheckMaxPosition = (int64_t(1) << 31) - 2;

/// The name a check gives the tensor `v`: its entry argument's name
/// (hymir.name, else arg<i>), or "" for a value the graph computes (the check
/// then names the op's location).
inline std::string runCheckTensorName(Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg)
    return "";
  auto func = dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
  if (!func || arg.getOwner() != &func.getFunctionBody().front())
    return "";
  StringAttr name = getArgName(func, arg.getArgNumber());
  return name ? name.str() : "arg" + std::to_string(arg.getArgNumber());
}

/// A check slot for `checkedOp`'s condition on `tensor` (see
/// hymir.check_slot), created at `b`'s insertion point.
inline Value createRunCheckSlot(OpBuilder &b, Location loc, StringRef checkedOp,
                                StringRef tensor, StringRef value) {
  auto type = MemRefType::get({2}, b.getI64Type());
  return CheckSlotOp::create(b, loc, type, checkedOp, tensor, value);
}

/// Records, at `b`'s insertion point (inside a kernel body, where the value
/// is known to be bad), that `value` (i32) at flat `position` (index) lies
/// outside [0, `bound`) (index): word 0 of `slot` takes the minimum of
/// itself and (min(position, kRunCheckMaxPosition) << 32 | value as u32),
/// word 1 the maximum of itself and `bound`, both atomically.
inline void flagRunCheck(OpBuilder &b, Location loc, Value slot, Value position,
                         Value value, Value bound) {
  Type i64 = b.getI64Type();
  Value limit = arith::ConstantIndexOp::create(b, loc, kRunCheckMaxPosition);
  Value at = arith::MinUIOp::create(b, loc, position, limit);
  Value high = arith::ShLIOp::create(
      b, loc, arith::IndexCastUIOp::create(b, loc, i64, at),
      arith::ConstantIntOp::create(b, loc, i64, 32));
  Value low = arith::ExtUIOp::create(b, loc, i64, value);
  Value key = arith::OrIOp::create(b, loc, high, low);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::mins, key, slot,
                              ValueRange{zero});
  memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::maxs,
                              arith::IndexCastOp::create(b, loc, i64, bound),
                              slot, ValueRange{one});
}

} // namespace mlir::hymir

#endif // HYMIR_TRANSFORMS_RUNCHECKS_H
