//===- Target.cpp - the supported GPUs ------------------------------------===//
//
// The table of chips behind lookupTarget. Shared-memory limits are the
// "maximum amount of shared memory per thread block" of the CUDA C++
// Programming Guide (table "Technical Specifications per Compute
// Capability"), which a kernel reaches by opting into dynamic shared
// memory: 7.0 96 KB, 8.0 163 KB, 8.6 and 8.9 99 KB, 9.0 227 KB. The tile
// rows are the kernels' own constants (WgmmaTiles.h; MoeMmaKernel.cpp
// asserts kMoeMmaTileRows), so a layout padded to them always reaches
// their kernels.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Target.h"

#include "WgmmaTiles.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::hymir;

namespace {

struct Chip {
  const char *name;
  int64_t capability;
  bool wgmma;
  int64_t sharedKiB;
};

constexpr Chip kChips[] = {
    {"sm_70", 70, false, 96},  {"sm_80", 80, false, 163},
    {"sm_86", 86, false, 99},  {"sm_89", 89, false, 99},
    {"sm_90", 90, false, 227}, {"sm_90a", 90, true, 227},
};

} // namespace

int64_t TargetDescription::moeTile(bool bf16, int64_t inter, int64_t width,
                                   bool wgmma) const {
  bool useWgmma = wgmma && moeWgmmaTile;
  if (bf16 && useWgmma && moeWgmmaTile.fits(inter, width))
    return moeWgmmaTile.rows;
  if (bf16 && moeMmaTile.fits(inter, width))
    return moeMmaTile.rows;
  return useWgmma ? moeWgmmaTile.rows : kMoeMmaTileRows;
}

std::string mlir::hymir::supportedChips() {
  std::string list;
  for (const Chip &chip : kChips)
    list += (list.empty() ? "" : ", ") + std::string(chip.name);
  return list;
}

llvm::Expected<TargetDescription>
mlir::hymir::lookupTarget(llvm::StringRef name) {
  const Chip *chip =
      llvm::find_if(kChips, [&](const Chip &c) { return name == c.name; });
  if (chip == std::end(kChips))
    return llvm::createStringError("unknown chip '" + name.str() +
                                   "' (supported: " + supportedChips() + ")");
  TargetDescription t;
  t.chip = chip->name;
  t.computeCapability = chip->capability;
  t.hasWgmma = chip->wgmma;
  t.hasBf16Mma = chip->capability >= 80;
  t.maxSharedBytesPerBlock = chip->sharedKiB * 1024;
  if (chip->capability == 90)
    t.multiprocessors = 132;
  if (t.hasBf16Mma)
    t.moeMmaTile = {kMoeMmaTileRows, kMoeMmaTileCols};
  if (t.hasWgmma)
    t.moeWgmmaTile = {WgmmaTiles::kRows, WgmmaTiles::kChunkRows};
  t.lightningDecodeTokens = 16;
  // Beside wgmma the warp kernels stop earlier: its 128-row tiles stream
  // each selected expert's weights once too, faster than the warp kernels
  // once an expert has a few rows (H100: T = 64 took 7.0 ms on the warp
  // kernels, about 4.3 on wgmma; T = 16 is even).
  t.moeDecodeTokens = 64;
  t.moeDecodeTokensWgmma = 16;
  return t;
}
