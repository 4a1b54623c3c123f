//===- LinalgToParallelLoops.cpp - linalg to loops, library calls kept ----===//
//
// Lowers every linalg op on buffers to scf.parallel over its parallel dims
// (reductions become scf.for inside), except ops marked hymir.library_call,
// which stay for hymir-lower-to-plan (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "hymir/Dialect/Hymir/IR/HymirAttributes.h"
#include "hymir/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::hymir {
#define GEN_PASS_DEF_HYMIRLINALGTOPARALLELLOOPS
#include "hymir/Transforms/Passes.h.inc"
} // namespace mlir::hymir

using namespace mlir;

namespace {

struct HymirLinalgToParallelLoopsPass
    : hymir::impl::HymirLinalgToParallelLoopsBase<
          HymirLinalgToParallelLoopsPass> {
  void runOnOperation() override {
    // Copies the plan cannot hold (not both identity-layout) become
    // linalg.copy, lowered to loops below like any other linalg op.
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) {
      auto from = dyn_cast<MemRefType>(copy.getSource().getType());
      auto to = dyn_cast<MemRefType>(copy.getTarget().getType());
      if (from && to &&
          (!from.getLayout().isIdentity() || !to.getLayout().isIdentity()))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      OpBuilder b(copy);
      linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      copy.erase();
    }
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!hymir::getLibraryCall(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      if (!op.hasPureBufferSemantics()) {
        op->emitOpError("must be on buffers before lowering to loops");
        return signalPassFailure();
      }
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToParallelLoops(rewriter, op))) {
        op->emitOpError("could not be lowered to parallel loops");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
