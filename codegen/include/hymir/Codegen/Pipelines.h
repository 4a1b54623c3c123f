//===- Pipelines.h - hymir's compilation stages -----------------*- C++ -*-===//
//
// The named pass pipelines of each compilation stage, shared by
// hymir-compile and hymir-opt (where each is a -pass-pipeline name, so every
// stage can be run and inspected on its own):
//
//   hymir-kernel-form        hymir ops on tensors -> host function with
//                            memref.alloc and gpu.launch_func, plus one
//                            gpu.module per kernel (target neutral)
//   hymir-cpu-kernels        kernel form -> host kernels in the LLVM dialect,
//                            each with a packed (block, words) entry
//   hymir-cuda-kernels       kernel form -> gpu.binary (PTX, and a cubin
//                            when ptxas is found) for the chosen chip
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_CODEGEN_PIPELINES_H
#define HYMIR_CODEGEN_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir::hymir {

struct KernelFormOptions : public PassPipelineOptions<KernelFormOptions> {
  Option<int64_t> blockSize{*this, "block-size",
                            llvm::cl::desc("threads per block"),
                            llvm::cl::init(256)};
  Option<bool> warpReductions{
      *this, "warp-reductions",
      llvm::cl::desc("reductions along the contiguous dim one warp a point "
                     "(hymir-map-parallel-loops-to-grid; cuda)"),
      llvm::cl::init(false)};
  Option<bool> libraryGemm{
      *this, "library-gemm",
      llvm::cl::desc("leave hymir.linear to the target's BLAS (cuda)"),
      llvm::cl::init(false)};
  Option<bool> gpuLightning{
      *this, "gpu-lightning",
      llvm::cl::desc("lightning attention's tiled form mapped onto GPU "
                     "kernels (hymir-lightning-to-gpu) instead of lowered "
                     "to loops"),
      llvm::cl::init(false)};
  Option<bool> gpuAttention{
      *this, "gpu-attention",
      llvm::cl::desc("softmax attention as warp kernels for `chip` "
                     "(hymir-softmax-attention-to-kernels) instead of the "
                     "portable forall form"),
      llvm::cl::init(false)};
  Option<int64_t> lightningValueSplit{
      *this, "lightning-value-split",
      llvm::cl::desc("value split of hymir-tile-lightning-attention on the "
                     "GPU (0: automatic)"),
      llvm::cl::init(0)};
  Option<bool> lightningHopper{
      *this, "lightning-hopper",
      llvm::cl::desc("hopper option of hymir-lightning-to-gpu (the ops it "
                     "takes are then tiled in 64-token blocks; on by "
                     "default: measured faster than the tensor-core kernel "
                     "on the H200, docs/benchmarks.md)"),
      llvm::cl::init(true)};
  Option<int64_t> lightningHopperConsumers{
      *this, "lightning-hopper-consumers",
      llvm::cl::desc("hopper-consumers option of hymir-lightning-to-gpu"),
      llvm::cl::init(2)};
  Option<int64_t> lightningHopperStages{
      *this, "lightning-hopper-stages",
      llvm::cl::desc("hopper-stages option of hymir-lightning-to-gpu"),
      llvm::cl::init(3)};
  Option<bool> lightningHopperStagedOutput{
      *this, "lightning-hopper-staged-output",
      llvm::cl::desc("hopper-staged-output option of hymir-lightning-to-gpu"),
      llvm::cl::init(true)};
  Option<int64_t> lightningSequenceSplit{
      *this, "lightning-sequence-split",
      llvm::cl::desc("sequence-split option of hymir-lightning-to-gpu (0: "
                     "automatic: chunks where the grid fills at most half "
                     "of the SMs)"),
      llvm::cl::init(0)};
  Option<bool> lightningTensorCores{
      *this, "lightning-tensor-cores",
      llvm::cl::desc("tensor-cores option of hymir-lightning-to-gpu"),
      llvm::cl::init(true)};
  Option<int64_t> lightningDecodeColumns{
      *this, "lightning-decode-columns",
      llvm::cl::desc("decode-columns option of hymir-lightning-to-gpu"),
      llvm::cl::init(0)};
  Option<bool> lightningDecodeVector{
      *this, "lightning-decode-vector",
      llvm::cl::desc("decode-vector option of hymir-lightning-to-gpu (on by "
                     "default here: measured faster on the H200 at every "
                     "batch, docs/benchmarks.md)"),
      llvm::cl::init(true)};
  Option<int64_t> lightningDecodeRows{
      *this, "lightning-decode-rows",
      llvm::cl::desc("decode-rows option of hymir-lightning-to-gpu"),
      llvm::cl::init(0)};
  Option<bool> attentionPipeline{
      *this, "attention-pipeline",
      llvm::cl::desc("pipeline option of hymir-softmax-attention-to-kernels"),
      llvm::cl::init(true)};
  Option<int64_t> attentionSchedule{
      *this, "attention-schedule",
      llvm::cl::desc("schedule option of hymir-softmax-attention-to-kernels"),
      llvm::cl::init(0)};
  Option<int64_t> attentionSplits{
      *this, "attention-splits",
      llvm::cl::desc("splits option of hymir-softmax-attention-to-kernels "
                     "(0: automatic)"),
      llvm::cl::init(0)};
  Option<bool> attentionFuseRope{
      *this, "attention-fuse-rope",
      llvm::cl::desc("fuse-rope option of hymir-softmax-attention-to-kernels "
                     "(the queries' RoPE), and hymir-fuse-kv-cache-rope (the "
                     "keys' RoPE in the KV-cache write, both targets)"),
      llvm::cl::init(true)};
  Option<bool> gpuMoe{
      *this, "gpu-moe",
      llvm::cl::desc("routed MoE experts as warp-per-row GPU kernels "
                     "(hymir-moe-experts-to-gpu) instead of generic ones"),
      llvm::cl::init(false)};
  Option<bool> gpuCispo{
      *this, "gpu-cispo",
      llvm::cl::desc("hymir.cispo_loss and hymir.token_logprobs as tensor-core "
                     "GPU kernels (hymir-cispo-loss-to-gpu) instead of the "
                     "portable loops"),
      llvm::cl::init(false)};
  Option<int64_t> cispoMTiles{
      *this, "cispo-m-tiles",
      llvm::cl::desc("m-tiles option of hymir-cispo-loss-to-gpu"),
      llvm::cl::init(1)};
  Option<int64_t> cispoNTiles{
      *this, "cispo-n-tiles",
      llvm::cl::desc("n-tiles option of hymir-cispo-loss-to-gpu"),
      llvm::cl::init(8)};
  Option<bool> cispoWgmma{
      *this, "cispo-wgmma",
      llvm::cl::desc("wgmma option of hymir-cispo-loss-to-gpu (sm_90a)"),
      llvm::cl::init(false)};
  Option<bool> cispoWgmmaGrads{
      *this, "cispo-wgmma-grads",
      llvm::cl::desc("wgmma-grads option of hymir-cispo-loss-to-gpu"),
      llvm::cl::init(true)};
  Option<int64_t> cispoTokenChunk{
      *this, "cispo-token-chunk",
      llvm::cl::desc("token-chunk option of hymir-cispo-loss-to-gpu"),
      llvm::cl::init(0)};
  Option<int64_t> cispoMaxTokens{
      *this, "cispo-max-tokens",
      llvm::cl::desc("max-tokens option of hymir-cispo-loss-to-gpu"),
      llvm::cl::init(0)};
  Option<bool> cispoMnMajor{
      *this, "cispo-mn-major",
      llvm::cl::desc("mn-major option of hymir-cispo-loss-to-gpu"),
      llvm::cl::init(false)};
  Option<bool> moeWgmma{
      *this, "moe-wgmma",
      llvm::cl::desc("wgmma option of hymir-moe-experts-to-gpu (sm_90a)"),
      llvm::cl::init(false)};
  Option<int64_t> moeWgmmaGroup{
      *this, "moe-wgmma-group",
      llvm::cl::desc("wgmma-group option of hymir-moe-experts-to-gpu"),
      llvm::cl::init(0)};
  Option<int64_t> moeDecodeSlots{
      *this, "moe-decode-slots",
      llvm::cl::desc("decode-slots option of hymir-moe-experts-to-gpu"),
      llvm::cl::init(0)};
  Option<int64_t> moeDecodeWave{
      *this, "moe-decode-wave",
      llvm::cl::desc("decode-wave option of hymir-moe-experts-to-gpu"),
      llvm::cl::init(396)};
  Option<int64_t> moeDecodeWaveTokens{
      *this, "moe-decode-wave-tokens",
      llvm::cl::desc("decode-wave-tokens option of hymir-moe-experts-to-gpu"),
      llvm::cl::init(8)};
  Option<bool> moeWgmmaMulticast{
      *this, "moe-wgmma-multicast",
      llvm::cl::desc("wgmma-multicast option of hymir-moe-experts-to-gpu"),
      llvm::cl::init(false)};
  Option<int64_t> moeWgmmaMulticastMinTokens{
      *this, "moe-wgmma-multicast-min-tokens",
      llvm::cl::desc(
          "wgmma-multicast-min-tokens option of hymir-moe-experts-to-gpu"),
      llvm::cl::init(0)};
  Option<int64_t> moeWgmmaPersistent{
      *this, "moe-wgmma-persistent",
      llvm::cl::desc("wgmma-persistent option of hymir-moe-experts-to-gpu"),
      llvm::cl::init(0)};
  Option<bool> moeFusedRouting{
      *this, "moe-fused-routing",
      llvm::cl::desc("fused-routing option of hymir-moe-layout-to-gpu"),
      llvm::cl::init(true)};
  Option<int64_t> moeTile{
      *this, "moe-tile",
      llvm::cl::desc("tile option of hymir-fuse-moe-routing; 0: each op's "
                     "tile chosen from its shapes for the kernels of `chip` "
                     "(with gpu-moe) or 1 (without)"),
      llvm::cl::init(1)};
  Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc("the GPU the kernel passes read their chip facts from "
                     "(hymir/Codegen/Target.h)"),
      llvm::cl::init("sm_90a")};
  Option<int64_t> devices{
      *this, "devices",
      llvm::cl::desc("split the graph across this many devices (hymir-shard)"),
      llvm::cl::init(1)};
  Option<std::string> shardMoe{
      *this, "shard-moe",
      llvm::cl::desc("moe option of hymir-shard: auto, expert or tensor"),
      llvm::cl::init("auto")};
  Option<bool> fuseElementwise{
      *this, "fuse-elementwise",
      llvm::cl::desc("splat inputs and multi-use producers fused into their "
                     "elementwise consumers (hymir-fuse-elementwise) and "
                     "elementwise kernels on vectors of contiguous elements "
                     "(hymir-vectorize-elementwise); false: one thread per "
                     "element, as before"),
      llvm::cl::init(true)};
};

struct CudaKernelOptions : public PassPipelineOptions<CudaKernelOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("target GPU"),
                           llvm::cl::init("sm_90a")};
  Option<std::string> format{*this, "format",
                             llvm::cl::desc("isa (PTX) or bin (cubin)"),
                             llvm::cl::init("isa")};
  Option<std::string> toolkitPath{
      *this, "toolkit-path",
      llvm::cl::desc("CUDA toolkit root, for libdevice (empty: MLIR's own "
                     "search, e.g. CUDA_HOME)"),
      llvm::cl::init("")};
};

void buildKernelFormPipeline(OpPassManager &pm,
                             const KernelFormOptions &options);
void buildCpuKernelPipeline(OpPassManager &pm);
void buildCudaKernelPipeline(OpPassManager &pm,
                             const CudaKernelOptions &options);

/// Registers the three pipelines under the names above.
void registerHymirPipelines();

} // namespace mlir::hymir

#endif // HYMIR_CODEGEN_PIPELINES_H
