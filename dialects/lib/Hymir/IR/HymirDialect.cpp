//===- HymirDialect.cpp - the hymir dialect -------------------------------===//
//
// Registers the hymir ops with the dialect, and makes them inlinable: every
// hymir op is a pure function of its operands with no regions, so a call to
// a function holding them (a model written one function per layer) can be
// inlined into its caller like arith or linalg code.
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirDialect.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace mlir::hymir;

#include "hymir/Dialect/Hymir/IR/HymirDialect.cpp.inc"

namespace {

struct HymirInlinerInterface : public DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;

  /// Any hymir op may move into a caller: none reads or writes state other
  /// than its operands and results.
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
  /// hymir ops hold no regions, so no region of theirs is ever inlined.
  bool isLegalToInline(Region *, Region *, bool, IRMapping &) const final {
    return false;
  }
};

} // namespace

void HymirDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "hymir/Dialect/Hymir/IR/HymirOps.cpp.inc"
      >();
  addInterfaces<HymirInlinerInterface>();
}
