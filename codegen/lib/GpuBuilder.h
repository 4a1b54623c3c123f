//===- GpuBuilder.h - plumbing shared by the GPU kernel builders -*- C++
//-*-===//
//
// What every GPU kernel builder in codegen/lib repeats: index constants and
// arithmetic, loops shared out over a block's threads, views into the
// launch's dynamic shared memory, tensors handed to a kernel as buffers,
// and a gpu.launch whose body a callback writes. The lightning and MoE
// kernel builders derive from GpuBuilder; each call creates exactly the ops
// it names, in the order written, so that moving a builder onto it leaves
// the generated IR unchanged.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_LIB_GPUBUILDER_H
#define HYMIR_CODEGEN_LIB_GPUBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::hymir {

struct GpuBuilder {
  explicit GpuBuilder(ImplicitLocOpBuilder &b) : b(b) {}
  ImplicitLocOpBuilder &b;

  /// Constants.
  Value idx(int64_t n) { return arith::ConstantIndexOp::create(b, n); }
  Value i32(int64_t n) {
    return arith::ConstantIntOp::create(b, b.getI32Type(), n);
  }
  Value f32(float x) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(x));
  }

  /// Index arithmetic (unsigned where it divides or compares).
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value add(Value x, int64_t n) { return n ? add(x, idx(n)) : x; }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value mul(Value x, int64_t n) { return mul(x, idx(n)); }
  Value div(Value x, int64_t n) { return arith::DivUIOp::create(b, x, idx(n)); }
  Value rem(Value x, int64_t n) { return arith::RemUIOp::create(b, x, idx(n)); }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, x, y);
  }
  /// An integer (an i32 token or offset) as an index.
  Value toIndex(Value x) {
    return arith::IndexCastOp::create(b, b.getIndexType(), x);
  }
  Value toF32(Value x) {
    return x.getType().isF32()
               ? x
               : Value(arith::ExtFOp::create(b, b.getF32Type(), x));
  }

  /// for (i = from; i < n; i += step) body(i): with `from` a thread's id
  /// and `step` the block's threads, the block shares the range out.
  void stridedLoop(Value from, Value n, int64_t step,
                   function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(b, from, n, idx(step));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVar());
  }

  /// The launch's dynamic shared memory, as bytes.
  Value sharedBytes() {
    return gpu::DynamicSharedMemoryOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                           MemRefLayoutAttrInterface(), workgroup()));
  }
  /// A `dims` view of `type` (f32 by default) at byte `offset` of `smem`.
  Value view(Value smem, int64_t offset, ArrayRef<int64_t> dims,
             Type type = nullptr) {
    auto space = workgroup();
    auto memrefType = MemRefType::get(dims, type ? type : b.getF32Type(),
                                      MemRefLayoutAttrInterface(), space);
    return memref::ViewOp::create(b, memrefType, smem, idx(offset),
                                  ValueRange{});
  }

  /// A kernel operand: `tensor` as a read-only buffer of identity layout.
  Value toBuffer(Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    return bufferization::ToBufferOp::create(
        b, MemRefType::get(type.getShape(), type.getElementType()), tensor,
        /*read_only=*/true);
  }

  /// A gpu.launch over `grid` blocks of `threads` x 1 x 1 threads (with
  /// `sharedBytes` i32 bytes of dynamic shared memory when given); `body`
  /// writes the kernel with the builder inside the launch, then the
  /// terminator closes it. The caller marks the launch for the plan.
  /// With `clusterX` > 0 the blocks run in clusters of clusterX x 1 x 1
  /// (gridX a multiple of it).
  gpu::LaunchOp launch(Value gridX, Value gridY, Value gridZ, Value threads,
                       Value sharedBytes,
                       function_ref<void(gpu::LaunchOp)> body,
                       int64_t clusterX = 0) {
    Value one = idx(1);
    auto op = clusterX > 0
                  ? gpu::LaunchOp::create(
                        b, gridX, gridY, gridZ, threads, one, idx(1),
                        sharedBytes, Type(), ValueRange(), TypeRange(),
                        TypeRange(), idx(clusterX), idx(1), idx(1))
                  : gpu::LaunchOp::create(b, gridX, gridY, gridZ, threads, one,
                                          idx(1), sharedBytes);
    // The builder (MLIR 22) leaves out the body's cluster ids and sizes,
    // which the op's accessors expect after the 12 launch arguments.
    if (clusterX > 0)
      for (int i = 0; i < 6; ++i)
        op.getBody().front().addArgument(b.getIndexType(), b.getLoc());
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&op.getBody().front());
    body(op);
    gpu::TerminatorOp::create(b);
    return op;
  }

private:
  gpu::AddressSpaceAttr workgroup() {
    return gpu::AddressSpaceAttr::get(b.getContext(),
                                      gpu::AddressSpace::Workgroup);
  }
};

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_LIB_GPUBUILDER_H
