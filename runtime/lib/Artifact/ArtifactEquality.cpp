//===- ArtifactEquality.cpp - equality of the artifact structs ------------===//
//
// operator== for the plain structs of Artifact.h, used by round-trip tests of
// the writer and the loader.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"

#include <cstdint>
#include <cstring>

namespace hymir {

bool operator==(const SizeExprSpec &a, const SizeExprSpec &b) {
  return a.constant == b.constant && a.terms == b.terms &&
         a.divisor == b.divisor;
}
bool operator==(const TensorSpecDesc &a, const TensorSpecDesc &b) {
  return a.name == b.name && a.dtype == b.dtype && a.shape == b.shape &&
         a.shardDim == b.shardDim && a.tiedTo == b.tiedTo;
}
bool operator==(const SymbolDesc &a, const SymbolDesc &b) {
  return a.name == b.name && a.input == b.input && a.dim == b.dim &&
         a.max == b.max;
}
bool operator==(const CodeObjectDesc &a, const CodeObjectDesc &b) {
  return a.format == b.format && a.data == b.data &&
         a.ptxFallback == b.ptxFallback;
}
bool operator==(const KernelDesc &a, const KernelDesc &b) {
  return a.name == b.name && a.code == b.code && a.symbol == b.symbol;
}
bool operator==(const RefDesc &a, const RefDesc &b) {
  return a.kind == b.kind && a.index == b.index &&
         a.offsetBytes == b.offsetBytes;
}
bool operator==(const BufferSlotDesc &a, const BufferSlotDesc &b) {
  return a.arenaOffset == b.arenaOffset && a.sizeBytes == b.sizeBytes;
}
bool operator==(const CheckDesc &a, const CheckDesc &b) {
  return a.checkedOp == b.checkedOp && a.tensor == b.tensor &&
         a.value == b.value && a.location == b.location;
}
bool operator==(const KernelArgDesc &a, const KernelArgDesc &b) {
  if (a.isTensor != b.isTensor)
    return false;
  if (!a.isTensor)
    return a.scalar == b.scalar;
  return a.ref == b.ref && a.dtype == b.dtype && a.sizes == b.sizes &&
         a.strides == b.strides;
}
bool operator==(const LaunchKernelDesc &a, const LaunchKernelDesc &b) {
  return a.kernel == b.kernel && a.grid == b.grid && a.block == b.block &&
         a.sharedMemoryBytes == b.sharedMemoryBytes && a.args == b.args &&
         a.tokensAtLeast == b.tokensAtLeast && a.tokensAtMost == b.tokensAtMost;
}
bool operator==(const GemmDesc &a, const GemmDesc &b) {
  return a.x == b.x && a.w == b.w && a.y == b.y && a.m == b.m && a.n == b.n &&
         a.k == b.k && a.dtype == b.dtype && a.outDtype == b.outDtype &&
         a.f32Precision == b.f32Precision;
}
bool operator==(const CopyDesc &a, const CopyDesc &b) {
  return a.src == b.src && a.dst == b.dst && a.bytes == b.bytes;
}
bool operator==(const CollectiveDesc &a, const CollectiveDesc &b) {
  return a.kind == b.kind && a.src == b.src && a.dst == b.dst &&
         a.dtype == b.dtype && a.elements == b.elements &&
         a.srcOffsets == b.srcOffsets && a.dstOffsets == b.dstOffsets &&
         a.row == b.row;
}
bool operator==(const TensorMapDesc &a, const TensorMapDesc &b) {
  return a.source == b.source && a.dtype == b.dtype && a.sizes == b.sizes &&
         a.strides == b.strides && a.target == b.target && a.box == b.box &&
         a.swizzle == b.swizzle && a.tokensAtLeast == b.tokensAtLeast &&
         a.tokensAtMost == b.tokensAtMost;
}
static bool sameBits(double a, double b) {
  uint64_t x, y;
  std::memcpy(&x, &a, sizeof x);
  std::memcpy(&y, &b, sizeof y);
  return x == y;
}
static bool sameBits(const std::vector<double> &a,
                     const std::vector<double> &b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](double x, double y) { return sameBits(x, y); });
}
bool operator==(const RefValueDesc &a, const RefValueDesc &b) {
  return a.kind == b.kind && a.shape == b.shape;
}
bool operator==(const RefAttrDesc &a, const RefAttrDesc &b) {
  return a.name == b.name && a.intValue == b.intValue &&
         sameBits(a.floatValue, b.floatValue) && a.ints == b.ints;
}
bool operator==(const RefOpDesc &a, const RefOpDesc &b) {
  return a.name == b.name && a.operands == b.operands &&
         a.results == b.results && a.attrs == b.attrs &&
         sameBits(a.data, b.data) && a.intData == b.intData;
}
bool operator==(const RefProgramDesc &a, const RefProgramDesc &b) {
  return a.values == b.values && a.arguments == b.arguments &&
         a.argumentNames == b.argumentNames && a.results == b.results &&
         a.ops == b.ops;
}
bool operator==(const EntryDesc &a, const EntryDesc &b) {
  return a.name == b.name && a.inputs == b.inputs && a.outputs == b.outputs &&
         a.symbols == b.symbols && a.buffers == b.buffers &&
         a.arenaBytes == b.arenaBytes && a.plan == b.plan &&
         a.reference == b.reference && a.checks == b.checks;
}
bool operator==(const ModuleDesc &a, const ModuleDesc &b) {
  return a.target == b.target && a.chip == b.chip &&
         a.deviceCount == b.deviceCount && a.params == b.params &&
         a.code == b.code && a.kernels == b.kernels && a.entries == b.entries &&
         a.producer == b.producer;
}

} // namespace hymir
