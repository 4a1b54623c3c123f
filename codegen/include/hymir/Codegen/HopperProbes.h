//===- HopperProbes.h - shapes of the Hopper pipeline probe kernels -*- C++
//-*-===//
//
// The probe kernels of hymir-test-hopper-probes (one per piece of the Hopper
// pipeline layer, codegen/lib/HopperPipeline.h) and the probe runner that
// launches them on a GPU (test/gpu/hopper-probes) agree on these shapes,
// launch sizes and shared-memory bytes. Plain constants: the runner lives in
// the runtime world (no MLIR), so this header includes nothing.
// docs/architecture.md ("Probing the Hopper pipeline layer") describes each
// kernel and what the runner checks.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_HOPPERPROBES_H
#define HYMIR_CODEGEN_HOPPERPROBES_H

#include <cstdint>

namespace hymir::hopper_probes {

/// The gpu.module holding the probes.
inline constexpr const char *kModuleName = "hopper_probes";

/// Tiles: 64 rows of 64 bf16 (128-byte rows, the layer's 128-byte swizzle).
inline constexpr int64_t kTileRows = 64, kTileCols = 64;
inline constexpr int64_t kTileBytes = kTileRows * kTileCols * 2;

/// (a) hopper_probe_tma(map, out: memref<2x2x64x64xbf16>): block (x, y) of
/// a 2 x 2 grid of 128 threads loads the box at column 64 x, row 64 y of a
/// kTmaRows x kTmaCols bf16 tensor (boxes past its edges are zero-filled)
/// and writes it, unswizzled, to out[y][x].
inline constexpr const char *kTmaKernel = "hopper_probe_tma";
inline constexpr int64_t kTmaRows = 100, kTmaCols = 104;
inline constexpr int64_t kTmaThreads = 128, kTmaGrid = 2;
inline constexpr int64_t kTmaShared = 8200;

/// (b) hopper_probe_ring(map, out: memref<10x128xf32>): a producer
/// warpgroup streams kRingTiles tiles (rows 64 i of a [64 kRingTiles, 64]
/// bf16 tensor) through a ring of kRingStages slots to one consumer
/// warpgroup; consumer thread t writes out[i][t], the f32 sum of the 32
/// elements of row t / 2, columns 32 (t % 2) on, of tile i.
inline constexpr const char *kRingKernel = "hopper_probe_ring";
inline constexpr int64_t kRingStages = 3, kRingTiles = 10;
inline constexpr int64_t kRingThreads = 256;
inline constexpr int64_t kRingShared = 24624;

/// (c) hopper_probe_setmaxnreg(map, out: memref<2x128x64xf32>): the ring of
/// (b) with kRegStages slots, kRegTiles tiles and two consumer warpgroups
/// that keep 64 f32 accumulators each per thread, with the attention
/// kernel's register budgets (producer down to kRegProducer, consumers up to
/// kRegConsumer). Thread t of consumer warpgroup w writes out[w][t][j] =
/// (1 + t / 64 + 2 w) sum_i tile_i[t % 64][j].
inline constexpr const char *kRegKernel = "hopper_probe_setmaxnreg";
inline constexpr int64_t kRegStages = 2, kRegTiles = 5;
inline constexpr int64_t kRegThreads = 384;
inline constexpr int64_t kRegProducer = 40, kRegConsumer = 232;
inline constexpr int64_t kRegShared = 16416;

/// (d) hopper_probe_wgmma(mapA, mapB, out: memref<2x64x128xf32>): A
/// [64, 64] and B [kWgmmaN, 64] bf16 loaded by TMA into shared memory
/// (K-major, 128-byte swizzle), then out[0] = A[:, 0:16] B[:, 0:16]^T (one
/// wgmma m64n128k16) and out[1] = A B^T (four, K advancing 32 bytes in the
/// swizzled rows), f32 accumulators, one warpgroup.
inline constexpr const char *kWgmmaKernel = "hopper_probe_wgmma";
inline constexpr int64_t kWgmmaM = 64, kWgmmaN = 128, kWgmmaK = 64;
inline constexpr int64_t kWgmmaThreads = 128;
inline constexpr int64_t kWgmmaShared = 24584;

} // namespace hymir::hopper_probes

#endif // HYMIR_CODEGEN_HOPPERPROBES_H
