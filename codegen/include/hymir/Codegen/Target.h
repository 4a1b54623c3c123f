//===- Target.h - the facts about a GPU the kernel passes read --*- C++ -*-===//
//
// One description per supported chip: its compute capability, which tensor
// core instructions it has, how much dynamic shared memory a block may
// take, the row tiles of the tensor-core kernels (which the MoE layout is
// padded to) and the token counts up to which calls take the decode
// kernels. Every pass that needs a chip fact takes a `chip` option and
// looks its description up here; hymir-compile's --chip reaches them
// through KernelFormOptions::chip.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_TARGET_H
#define HYMIR_CODEGEN_TARGET_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace mlir::hymir {

/// A tensor-core kernel's tile: the layout rows a block takes, and the
/// multiple the expert widths (I and N) must be of.
struct TensorCoreTile {
  int64_t rows = 0, widthMultiple = 0;
  explicit operator bool() const { return rows > 0; }
  bool fits(int64_t inter, int64_t width) const {
    return rows > 0 && inter % widthMultiple == 0 && width % widthMultiple == 0;
  }
};

/// The tile of the MoE mma.sync kernels (MoeMmaKernel.cpp, which asserts
/// its own equal): layout rows a block takes and output columns.
constexpr int64_t kMoeMmaTileRows = 64, kMoeMmaTileCols = 64;

struct TargetDescription {
  /// The chip as --chip and the NVVM target name it ("sm_90a").
  std::string chip;
  /// major * 10 + minor (90 for sm_90 and sm_90a).
  int64_t computeCapability = 0;
  /// wgmma.mma_async (sm_90a only: the "a" feature set).
  bool hasWgmma = false;
  /// mma.sync m16n8k16 with bf16 operands (sm_80 on).
  bool hasBf16Mma = false;
  /// The most dynamic shared memory one block may opt into.
  int64_t maxSharedBytesPerBlock = 0;
  /// Streaming multiprocessors (0: not recorded): 132 for sm_90 and sm_90a
  /// (H100 SXM and H200; the H100 PCIe has 114). Grids that want one thread
  /// block a SM are sized by it (the lightning sequence split).
  int64_t multiprocessors = 0;

  /// The MoE experts' tensor-core kernels (no rows: the chip has none).
  TensorCoreTile moeMmaTile, moeWgmmaTile;

  /// Decode cut-offs: calls of at most this many tokens take the decode
  /// kernels, larger ones the blocked or tensor-core kernels.
  /// Lightning attention (speculative decoding verifies up to 16 tokens).
  int64_t lightningDecodeTokens = 0;
  /// The MoE warp-per-row kernels beside the mma.sync kernels, and beside
  /// the wgmma kernels.
  int64_t moeDecodeTokens = 0, moeDecodeTokensWgmma = 0;

  /// The rows each expert's group of routed rows is padded to, for experts
  /// with widths `inter` (I) and `width` (N), bf16 or not, with or without
  /// the wgmma kernels: the tile of the tensor-core kernels that apply
  /// (wgmma before mma.sync), else the largest tile the target's kernels
  /// use (the warp kernels take any; this keeps their code as it was when
  /// the tile was chosen per target).
  int64_t moeTile(bool bf16, int64_t inter, int64_t width, bool wgmma) const;
};

/// The description of `chip`, or an error naming the supported chips.
llvm::Expected<TargetDescription> lookupTarget(llvm::StringRef chip);

/// The supported chips, comma-separated.
std::string supportedChips();

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_TARGET_H
