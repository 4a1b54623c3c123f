//===- Pipelines.cpp - hymir's compilation stages -------------------------===//
//
// The pass lists of each stage (see Pipelines.h), in one readable place.
//
//===----------------------------------------------------------------------===//

#include "hymir/Codegen/Pipelines.h"

#include "hymir/Codegen/Passes.h"
#include "hymir/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Affine/Transforms/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::hymir::buildKernelFormPipeline(OpPassManager &pm,
                                          const KernelFormOptions &options) {
  // Graph level: hymir ops and elementwise math become fused linalg ops. A
  // linear left to the BLAS is lowered only after fusion, so nothing fuses
  // into it.
  // Multi-device: the SPMD program of one device, with collectives.
  if (options.devices > 1) {
    HymirShardOptions shard;
    shard.devices = options.devices;
    shard.moe = options.shardMoe;
    pm.addPass(createHymirShard(shard));
  }
  // MoE: one fused routing step and experts on the routed rows only.
  HymirFuseMoeRoutingOptions moe;
  moe.tile = options.moeTile;
  // A tile chosen per op is chosen for the GPU kernels when there are any.
  moe.chip = options.gpuMoe ? std::string(options.chip) : std::string();
  moe.wgmma = options.moeWgmma;
  pm.addNestedPass<func::FuncOp>(createHymirFuseMoeRouting(moe));
  if (options.gpuMoe) {
    HymirMoeExpertsToGpuOptions experts;
    experts.wgmma = options.moeWgmma;
    experts.decodeSlots = options.moeDecodeSlots;
    experts.wgmmaGroup = options.moeWgmmaGroup;
    experts.decodeWave = options.moeDecodeWave;
    experts.decodeWaveTokens = options.moeDecodeWaveTokens;
    experts.wgmmaPersistent = options.moeWgmmaPersistent;
    experts.wgmmaMulticast = options.moeWgmmaMulticast;
    experts.wgmmaMulticastMinTokens = options.moeWgmmaMulticastMinTokens;
    experts.chip = options.chip;
    pm.addNestedPass<func::FuncOp>(createHymirMoeExpertsToGpu(experts));
    // The layouts after the experts, which read their tile.
    HymirMoeLayoutToGpuOptions layout;
    layout.fusedRouting = options.moeFusedRouting;
    pm.addNestedPass<func::FuncOp>(createHymirMoeLayoutToGpu(layout));
  }
  // Tiled ops first: lightning attention becomes a forall over heads of
  // loops over token blocks, the one statement of its algorithm; the cuda
  // target maps that form onto its kernels, the cpu target lowers it on.
  if (options.gpuLightning) {
    // The GPU kernels' blocks: 64 tokens for the ops the Hopper kernel will
    // take (marked per op), 32 (the tensor-core kernel's) for the others;
    // value chunks of 64 where they divide unless asked otherwise.
    HymirChooseLightningBlocksOptions blocks;
    blocks.hopper = options.lightningHopper;
    blocks.valueSplit = options.lightningValueSplit;
    blocks.hopperConsumers = options.lightningHopperConsumers;
    blocks.hopperStages = options.lightningHopperStages;
    blocks.hopperStagedOutput = options.lightningHopperStagedOutput;
    blocks.chip = options.chip;
    pm.addNestedPass<func::FuncOp>(createHymirChooseLightningBlocks(blocks));
    HymirTileLightningAttentionOptions tile;
    tile.blockSize = 32;
    tile.valueSplit = options.lightningValueSplit;
    pm.addNestedPass<func::FuncOp>(createHymirTileLightningAttention(tile));
    HymirLightningToGpuOptions lightning;
    lightning.tensorCores = options.lightningTensorCores;
    lightning.hopper = options.lightningHopper;
    lightning.hopperConsumers = options.lightningHopperConsumers;
    lightning.hopperStages = options.lightningHopperStages;
    lightning.hopperStagedOutput = options.lightningHopperStagedOutput;
    lightning.sequenceSplit = options.lightningSequenceSplit;
    lightning.decodeColumns = options.lightningDecodeColumns;
    lightning.decodeVector = options.lightningDecodeVector;
    lightning.decodeRows = options.lightningDecodeRows;
    lightning.chip = options.chip;
    pm.addNestedPass<func::FuncOp>(createHymirLightningToGpu(lightning));
  } else
    pm.addNestedPass<func::FuncOp>(createHymirTileLightningAttention());
  // The keys' RoPE applied by the KV-cache write that stores them (both
  // targets), beside the queries' RoPE in the attention kernels.
  if (options.attentionFuseRope)
    pm.addNestedPass<func::FuncOp>(createHymirFuseKvCacheRope());
  // Softmax attention: flash-attention kernels over buffers, warp kernels
  // on the GPU, the portable forall form elsewhere.
  HymirSoftmaxAttentionToKernelsOptions attention;
  attention.chip = options.gpuAttention ? std::string(options.chip) : "";
  attention.pipeline = options.attentionPipeline;
  attention.schedule = options.attentionSchedule;
  attention.fuseRope = options.attentionFuseRope;
  attention.splits = options.attentionSplits;
  pm.addNestedPass<func::FuncOp>(
      createHymirSoftmaxAttentionToKernels(attention));
  // The CISPO loss: kernels that stream the vocabulary in tiles (tensor-core
  // kernels on the GPU, the forall form elsewhere).
  if (options.gpuCispo) {
    HymirCispoLossToGpuOptions cispo;
    cispo.mTiles = options.cispoMTiles;
    cispo.nTiles = options.cispoNTiles;
    cispo.wgmma = options.cispoWgmma;
    cispo.wgmmaGrads = options.cispoWgmmaGrads;
    cispo.tokenChunk = options.cispoTokenChunk;
    cispo.maxTokens = options.cispoMaxTokens;
    cispo.mnMajor = options.cispoMnMajor;
    pm.addNestedPass<func::FuncOp>(createHymirCispoLossToGpu(cispo));
  }
  pm.addNestedPass<func::FuncOp>(createHymirTileCispoLoss());
  HymirLowerToLinalgOptions lower;
  lower.skipLinear = options.libraryGemm;
  pm.addPass(createHymirLowerToLinalg(lower));
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(createLinalgElementwiseOpFusionPass());
  // tensor.dim of a fused value counts as a use and blocks fusion: resolve
  // dims to the operands they come from, then fuse again.
  pm.addPass(memref::createResolveRankedShapeTypeResultDimsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLinalgElementwiseOpFusionPass());
  // What upstream fusion leaves: splat inputs and producers with several
  // users (a chain is then one kernel).
  if (options.fuseElementwise)
    pm.addNestedPass<func::FuncOp>(createHymirFuseElementwise());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Library calls (the BLAS, collectives) after fusion: nothing fuses into
  // them.
  HymirLowerToLinalgOptions late;
  late.libraryGemm = options.libraryGemm;
  late.collectives = true;
  pm.addPass(createHymirLowerToLinalg(late));
  // Buffers: function boundaries get identity-layout memrefs, which the plan
  // builder binds to the runtime's tensors. Only tied arguments are written
  // (in place); the others are read only.
  pm.addPass(createHymirTieArguments());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
  // A tied lightning state written by its decode kernel in place instead
  // of copied in after it.
  if (options.gpuLightning)
    pm.addNestedPass<func::FuncOp>(createHymirLightningStateInPlace());
  // Constant tensors: buffers that a kernel fills from the global it carries.
  pm.addNestedPass<func::FuncOp>(createHymirMaterializeConstants());
  // Kernels: one grid per linalg op, then outlined into gpu.modules.
  pm.addNestedPass<func::FuncOp>(createHymirMapForallToGrid());
  // Elementwise ops: one thread per vector of contiguous elements.
  if (options.fuseElementwise)
    pm.addNestedPass<func::FuncOp>(createHymirVectorizeElementwise());
  pm.addNestedPass<func::FuncOp>(createHymirLinalgToParallelLoops());
  HymirMapParallelLoopsToGridOptions grid;
  grid.blockSize = options.blockSize;
  grid.warpReductions = options.warpReductions;
  pm.addNestedPass<func::FuncOp>(createHymirMapParallelLoopsToGrid(grid));
  pm.addNestedPass<func::FuncOp>(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// bf16 arithmetic runs in f32 with one rounding per op result: neither the
/// host nor the NVPTX backend has bf16 exp, division and the like.
static void addBf16ToF32(OpPassManager &pm) {
  arith::ArithEmulateUnsupportedFloatsOptions arith;
  arith.sourceTypeStrs = {"bf16"};
  arith.targetTypeStr = "f32";
  pm.addPass(arith::createArithEmulateUnsupportedFloats(arith));
  math::MathExtendToSupportedTypesOptions math;
  math.targetTypeStr = "f32";
  pm.addPass(math::createMathExtendToSupportedTypes(math));
}

/// Scalar code to the LLVM dialect, shared by the host kernels.
static void addScalarToLLVM(OpPassManager &pm) {
  addBf16ToF32(pm);
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  // Vector loads, stores and arithmetic of the elementwise kernels.
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::hymir::buildCpuKernelPipeline(OpPassManager &pm) {
  pm.addPass(createHymirExtractHostKernels());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  addScalarToLLVM(pm);
  pm.addPass(createHymirAddPackedKernelEntries());
}

void mlir::hymir::buildCudaKernelPipeline(OpPassManager &pm,
                                          const CudaKernelOptions &options) {
  // Kernels launched in clusters require their shape in the PTX.
  pm.addPass(createHymirGpuClusterDims());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = "+ptx80";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createGpuDecomposeMemrefsPass());
  OpPassManager &gpu = pm.nest<gpu::GPUModuleOp>();
  addBf16ToF32(gpu);
  gpu.addPass(memref::createExpandStridedMetadataPass());
  gpu.addPass(createLowerAffinePass());
  gpu.addPass(createSCFToControlFlowPass());
  // bf16 conversions stay conversions (cvt.rn.bf16.f32 and friends): the
  // NVPTX backend legalises them for every chip, and the emulation costs
  // about ten integer instructions each.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = false;
  gpu.addPass(arith::createArithExpandOpsPass(expand));
  // nvgpu (cp.async) to NVVM; after the GPU ops, NVVM ops without an LLVM
  // intrinsic (wgmma) become inline PTX.
  gpu.addPass(createConvertNVGPUToNVVMPass());
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  gpu.addPass(createConvertGpuOpsToNVVMOps(nvvm));
  gpu.addPass(createConvertNVVMToLLVMPass());
  gpu.addPass(createCanonicalizerPass());
  gpu.addPass(createCSEPass());
  gpu.addPass(createReconcileUnrealizedCastsPass());
  gpu.addPass(createHymirExternDynamicSharedMemory());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = options.toolkitPath;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void mlir::hymir::registerHymirPipelines() {
  PassPipelineRegistration<KernelFormOptions>(
      "hymir-kernel-form",
      "hymir ops on tensors to a host function launching outlined kernels",
      buildKernelFormPipeline);
  PassPipelineRegistration<>(
      "hymir-cpu-kernels",
      "kernel form to host kernels in the LLVM dialect (cpu target)",
      buildCpuKernelPipeline);
  PassPipelineRegistration<CudaKernelOptions>(
      "hymir-cuda-kernels", "kernel form to gpu.binary (cuda target)",
      buildCudaKernelPipeline);
}
