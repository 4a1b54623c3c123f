//===- hymir-compile.cpp - hymir IR to a .hymir artifact ------------------===//
//
//   hymir-compile IN.mlir -o OUT.hymir --target=cpu|cuda [--chip=sm_90a]
//                 [--devices=N] [--max-tokens=N] [--block-size=N]
//                 [--dump-stages=DIR] [--compile-to=STAGE] [--mlir-...]
//
// Every public func.func becomes an entry. The module goes through the
// kernel-form pipeline (shared by both targets); each entry's host function
// becomes an execution plan; the kernels become a host shared object (cpu)
// or PTX (cuda). --dump-stages writes the IR after each stage (and each
// kernel module's PTX); --compile-to stops after one. Options are checked
// against their stated ranges before the input is read; the pipelines take
// mlir-opt's debugging options (IR printing, timing, reproducers). Each entry
// also carries its function as written (before any pass), serialized as a
// reference program for `hymir-run --check`; an entry whose ops the oracle
// evaluator does not know goes without one, with a note.
//
//===----------------------------------------------------------------------===//

#include "hymir-reference/Serialize.h"
#include "hymir/Codegen/HostObject.h"
#include "hymir/Codegen/Passes.h"
#include "hymir/Codegen/Pipelines.h"
#include "hymir/Codegen/PlanPasses.h"
#include "hymir/Codegen/PlanToArtifact.h"
#include "hymir/Codegen/Target.h"
#include "hymir/Dialect/Hymir/IR/HymirDialect.h"
#include "hymir/Dialect/Hymir/IR/HymirOps.h"
#include "hymir/Dialect/Plan/IR/PlanOps.h"
#include "hymir/Runtime/ArtifactWriter.h"
#include "hymir/Runtime/Version.h"
#include "hymir/Transforms/Passes.h"

#include "ToolSupport.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <cstdlib>
#include <optional>

using namespace mlir;
namespace cl = llvm::cl;
namespace rt = ::hymir;
namespace hy = ::mlir::hymir;
namespace rtools = ::hymir::tools;

static cl::OptionCategory hymirCategory("hymir-compile options");
static cl::OptionCategory
    mlirCategory("MLIR debugging options (as in mlir-opt; IR goes to stderr)");

// The valid ranges of the numeric options, stated in --help and checked
// before anything runs.
static constexpr rtools::Range kDevicesRange{1, 64};
// 2^31 - 1: token counts travel as 32-bit kernel arguments.
static constexpr rtools::Range kMaxTokensRange{1, 2147483647};
static constexpr rtools::Range kBlockSizeRange{1, 1024};
static constexpr rtools::Range kValueSplitRange{0, 64};
static constexpr rtools::Range kAttentionScheduleRange{0, 2};
static constexpr rtools::Range kAttentionSplitsRange{0, 1024};
static constexpr rtools::Range kDecodeSlotsRange{0, 1024};
static constexpr rtools::Range kWgmmaGroupRange{0, 256};
// The warp-rows kernels unroll tile / 32 steps; beyond 1024 rows a tile
// only pads.
static constexpr rtools::Range kMoeTileRange{1, hy::kMaxMoeTile};

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::Required, cl::cat(hymirCategory));
static cl::opt<std::string>
    outputFile("o",
               cl::desc("output .hymir file (with --compile-to: the IR; '-' "
                        "for stdout)"),
               cl::value_desc("path"), cl::Required, cl::cat(hymirCategory));
static cl::opt<std::string> targetOpt("target",
                                      cl::desc("cpu or cuda (default cpu)"),
                                      cl::init("cpu"), cl::cat(hymirCategory));
static cl::opt<std::string> chipOpt(
    "chip",
    cl::desc(rtools::keepText("cuda: the GPU (default sm_90a; supported: " +
                              hy::supportedChips() + ")")),
    cl::init("sm_90a"), cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg> devicesOpt(
    "devices",
    cl::desc(rtools::describeRange("device count", kDevicesRange, 1)),
    cl::init(1), rtools::inRange(kDevicesRange), cl::cat(hymirCategory));
static cl::opt<std::string> shardMoeOpt(
    "shard-moe",
    cl::desc("with --devices > 1: how hymir.moe is split: auto (expert "
             "parallel when its tokens can be split, else tensor parallel), "
             "expert or tensor (default auto)"),
    cl::init("auto"), cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg> maxTokensOpt(
    "max-tokens",
    cl::desc(rtools::describeRange("largest token count an entry accepts",
                                   kMaxTokensRange, 4096)),
    cl::init(4096), rtools::inRange(kMaxTokensRange), cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg>
    blockSizeOpt("block-size",
                 cl::desc(rtools::describeRange("threads per kernel block",
                                                kBlockSizeRange, 256)),
                 cl::init(256), rtools::inRange(kBlockSizeRange),
                 cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg> lightningSplitOpt(
    "lightning-value-split",
    cl::desc(rtools::describeRange("cuda: thread blocks per head over "
                                   "lightning attention's value dim, "
                                   "0: automatic",
                                   kValueSplitRange, 0)),
    cl::init(0), rtools::inRange(kValueSplitRange), cl::cat(hymirCategory));
static cl::opt<bool> lightningHopperOpt(
    "lightning-hopper",
    cl::desc("cuda sm_90a: bf16 lightning-attention prefill in 64-token "
             "blocks on the Hopper pipeline layer (TMA, wgmma) where the "
             "shapes allow (key dim 64 or 128, 64-wide value chunks); "
             "false: the tensor-core kernel in 32-token blocks (default "
             "true)"),
    cl::init(true), cl::cat(hymirCategory));
static constexpr rtools::Range kHopperConsumersRange{1, 2};
static cl::opt<rtools::Int64Arg> lightningHopperConsumersOpt(
    "lightning-hopper-consumers",
    cl::desc(rtools::describeRange(
        "cuda sm_90a, with --lightning-hopper: consumer warpgroups of the "
        "kernel (2: an output and a state warpgroup side by side; 1: one "
        "doing both in sequence)",
        kHopperConsumersRange, 2)),
    cl::init(2), rtools::inRange(kHopperConsumersRange),
    cl::cat(hymirCategory));
static constexpr rtools::Range kHopperStagesRange{2, 4};
static cl::opt<rtools::Int64Arg> lightningHopperStagesOpt(
    "lightning-hopper-stages",
    cl::desc(rtools::describeRange(
        "cuda sm_90a, with --lightning-hopper: slots of the kernel's TMA "
        "ring (40 KiB each at head dim 128)",
        kHopperStagesRange, 3)),
    cl::init(3), rtools::inRange(kHopperStagesRange), cl::cat(hymirCategory));
static cl::opt<bool> lightningHopperStagedOutputOpt(
    "lightning-hopper-staged-output",
    cl::desc("cuda sm_90a, with --lightning-hopper and two consumers: o "
             "through shared memory, written in 16-byte stores of whole rows "
             "(default true)"),
    cl::init(true), cl::cat(hymirCategory));
// LightningHopperSplit::kMaxChunks.
static constexpr rtools::Range kSequenceSplitRange{0, 32};
static cl::opt<rtools::Int64Arg> lightningSequenceSplitOpt(
    "lightning-sequence-split",
    cl::desc(rtools::describeRange(
        "cuda sm_90a, with --lightning-hopper: sequence chunks of the "
        "prefill kernel, each run by its own thread blocks from the state "
        "carried into it (a state pass over k and v first), for grids of "
        "fewer thread blocks than SMs; 0: automatic (where value chunks x "
        "heads x batch fill at most half of the SMs: SMs / that, at most "
        "8), 1: none",
        kSequenceSplitRange, 0)),
    cl::init(0), rtools::inRange(kSequenceSplitRange), cl::cat(hymirCategory));
static cl::opt<bool> lightningTensorCoresOpt(
    "lightning-tensor-cores",
    cl::desc("cuda: bf16 lightning-attention prefill on tensor cores "
             "(default true)"),
    cl::init(true), cl::cat(hymirCategory));
static constexpr rtools::Range kDecodeColumnsRange{0, 128};
static cl::opt<rtools::Int64Arg> lightningDecodeColumnsOpt(
    "lightning-decode-columns",
    cl::desc(rtools::describeRange(
        "cuda: value columns per thread block of the lightning decode "
        "kernel, a power of two from 4 (more blocks for small batches); 0: "
        "64",
        kDecodeColumnsRange, 0)),
    cl::init(0), rtools::inRange(kDecodeColumnsRange), cl::cat(hymirCategory));
static cl::opt<bool> lightningDecodeVectorOpt(
    "lightning-decode-vector",
    cl::desc("cuda: the lightning decode kernel with 16-byte state accesses "
             "(whole row segments per warp; default true: measured faster "
             "at every batch, docs/benchmarks.md; false: the scalar kernel)"),
    cl::init(true), cl::cat(hymirCategory));
static constexpr rtools::Range kDecodeRowsRange{0, 8};
static cl::opt<rtools::Int64Arg> lightningDecodeRowsOpt(
    "lightning-decode-rows",
    cl::desc(rtools::describeRange(
        "cuda: key rows per thread of the vector lightning decode kernel "
        "(1, 2, 4 or 8; fewer rows, more threads); 0: 8",
        kDecodeRowsRange, 0)),
    cl::init(0), rtools::inRange(kDecodeRowsRange), cl::cat(hymirCategory));
static cl::opt<bool> attentionPipelineOpt(
    "attention-pipeline",
    cl::desc("cuda sm_90a: bf16 softmax-attention prefill of more than 16 "
             "tokens on the Hopper pipeline kernel (TMA, mbarrier ring, "
             "wgmma); false: the warp kernels (default true)"),
    cl::init(true), cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg> attentionScheduleOpt(
    "attention-schedule",
    cl::desc(rtools::describeRange(
        "cuda sm_90a: consumer order of the pipeline attention kernel: 0 "
        "serial, 1 ping-pong, 2 ping-pong with S issued ahead",
        kAttentionScheduleRange, 0)),
    cl::init(0), rtools::inRange(kAttentionScheduleRange),
    cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg> attentionSplitsOpt(
    "attention-splits",
    cl::desc(rtools::describeRange(
        "cuda: key splits per row of a softmax-attention call of up to 16 "
        "queries (flash-decoding); 0: chosen from the grid size",
        kAttentionSplitsRange, 0)),
    cl::init(0), rtools::inRange(kAttentionSplitsRange),
    cl::cat(hymirCategory));
static cl::opt<bool> attentionFuseRopeOpt(
    "attention-fuse-rope",
    cl::desc("cuda sm_90a: a hymir.rope on the q of a softmax attention "
             "runs inside the attention kernel; both targets: a hymir.rope "
             "on the update of a hymir.kv_cache_write runs inside the "
             "write (default true: measured faster than the RoPE "
             "kernels at every shape, docs/benchmarks.md)"),
    cl::init(true), cl::cat(hymirCategory));
static cl::opt<bool> fuseElementwiseOpt(
    "fuse-elementwise",
    cl::desc("chains of elementwise and broadcast ops as one kernel on "
             "vectors of contiguous elements (8 bf16 or 4 f32 per thread); "
             "false: the former kernels, one thread per element (default "
             "true)"),
    cl::init(true), cl::cat(hymirCategory));
static cl::opt<bool> moeWgmmaOpt(
    "moe-wgmma",
    cl::desc("cuda sm_90a: larger MoE calls on wgmma kernels (128-row "
             "tiles); false: mma.sync kernels (64-row tiles) (default true)"),
    cl::init(true), cl::cat(hymirCategory));
static cl::opt<bool> cispoWgmmaOpt(
    "cispo-wgmma",
    cl::desc("cuda sm_90a: the CISPO loss's and token log-probs' forward "
             "logits on wgmma tiles where the head and hidden states are "
             "bf16; false: mma.sync (default true)"),
    cl::init(true), cl::cat(hymirCategory));
static cl::opt<bool> cispoWgmmaGradsOpt(
    "cispo-wgmma-grads",
    cl::desc("cuda sm_90a, with --cispo-wgmma and N a multiple of 128: the "
             "CISPO loss's gradients as wgmma products per pass of 16384 "
             "vocabulary rows, no atomics; false: mma.sync kernels adding "
             "into f32 rows atomically (default true)"),
    cl::init(true), cl::cat(hymirCategory));
static constexpr rtools::Range kCispoTokenChunkRange{0, 1 << 20};
static cl::opt<rtools::Int64Arg> cispoTokenChunkOpt(
    "cispo-token-chunk",
    cl::desc(rtools::describeRange(
        "cuda sm_90a, bf16 head on the wgmma backward: the CISPO loss's "
        "backward per chunk of this many tokens (a multiple of 128), the "
        "chunk's logits kept (as bf16 exponentials) instead of recomputed; "
        "0: the recomputing backward",
        kCispoTokenChunkRange, 0)),
    cl::init(0), rtools::inRange(kCispoTokenChunkRange),
    cl::cat(hymirCategory));
static cl::opt<bool> cispoMnMajorOpt(
    "cispo-mn-major",
    cl::desc("with --cispo-token-chunk: the gradient products read g, the "
             "head and the hidden states as stored (MN-major wgmma "
             "operands) instead of transposed copies (default false)"),
    cl::init(false), cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg> moeDecodeSlotsOpt(
    "moe-decode-slots",
    cl::desc(rtools::describeRange(
        "cuda: grid height of the MoE decode kernels, 0: top_k; at most E "
        "is used",
        kDecodeSlotsRange, 0)),
    cl::init(0), rtools::inRange(kDecodeSlotsRange), cl::cat(hymirCategory));
static constexpr rtools::Range kDecodeWaveRange{0, 65535};
static cl::opt<rtools::Int64Arg> moeDecodeWaveOpt(
    "moe-decode-wave",
    cl::desc(rtools::describeRange(
        "cuda: blocks of the one-wave MoE decode kernels (their warps "
        "stride over the weight rows of the experts with tokens); 0: a "
        "warp per weight row",
        kDecodeWaveRange, 396)),
    cl::init(396), rtools::inRange(kDecodeWaveRange), cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg> moeDecodeWaveTokensOpt(
    "moe-decode-wave-tokens",
    cl::desc(rtools::describeRange(
        "cuda: MoE calls of at most this many tokens take the one-wave "
        "decode kernels, larger decode calls a warp per weight row",
        kDecodeWaveRange, 8)),
    cl::init(8), rtools::inRange(kDecodeWaveRange), cl::cat(hymirCategory));
static constexpr rtools::Range kWgmmaPersistentRange{0, 4096};
static cl::opt<rtools::Int64Arg> moeWgmmaPersistentOpt(
    "moe-wgmma-persistent",
    cl::desc(rtools::describeRange(
        "cuda sm_90a: blocks of the persistent MoE wgmma kernels (the SM "
        "count), which walk the tiles of all experts; with --moe-tile=64 "
        "an expert's last tile may be 64 rows; 0: one block per tile",
        kWgmmaPersistentRange, 0)),
    cl::init(0), rtools::inRange(kWgmmaPersistentRange),
    cl::cat(hymirCategory));
static cl::opt<bool> moeFusedRoutingOpt(
    "moe-fused-routing",
    cl::desc("cuda: MoE routing (softmax, top-k, layout) as one kernel up "
             "to 64 tokens and two above (false: generic kernels and the "
             "layout kernel; default true)"),
    cl::init(true), cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg> moeWgmmaGroupOpt(
    "moe-wgmma-group",
    cl::desc(rtools::describeRange(
        "cuda sm_90a: the MoE wgmma kernels' block order: 0, the experts' "
        "order (each expert's row tiles side by side over the column "
        "blocks, one expert after another); N, groups of N row tiles",
        kWgmmaGroupRange, 0)),
    cl::init(0), rtools::inRange(kWgmmaGroupRange), cl::cat(hymirCategory));
static cl::opt<bool> moeWgmmaMulticastOpt(
    "moe-wgmma-multicast",
    cl::desc("cuda sm_90a: the MoE wgmma kernels (grid form, experts' "
             "order) in clusters of two CTAs over two row tiles of one "
             "expert, each weight tile loaded once by TMA multicast "
             "(default false; measured slower than the default on an H200: "
             "docs/benchmarks.md)"),
    cl::init(false), cl::cat(hymirCategory));
static constexpr rtools::Range kMulticastTokensRange{0, int64_t(1) << 30};
static cl::opt<rtools::Int64Arg> moeWgmmaMulticastMinTokensOpt(
    "moe-wgmma-multicast-min-tokens",
    cl::desc(rtools::describeRange(
        "cuda sm_90a, with --moe-wgmma-multicast: the cluster kernels serve "
        "calls of at least this many tokens, the one-block wgmma kernels "
        "the larger calls below (0: all of them)",
        kMulticastTokensRange, 0)),
    cl::init(0), rtools::inRange(kMulticastTokensRange),
    cl::cat(hymirCategory));
static constexpr rtools::Range kCispoTilesRange{1, 16};
static cl::opt<rtools::Int64Arg> cispoMTilesOpt(
    "cispo-m-tiles",
    cl::desc(rtools::describeRange(
        "cuda: m16 row tiles of a warp in the CISPO loss kernels (1, 2 or 4)",
        kCispoTilesRange, 1)),
    cl::init(1), rtools::inRange(kCispoTilesRange), cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg> cispoNTilesOpt(
    "cispo-n-tiles",
    cl::desc(rtools::describeRange(
        "cuda: n8 column tiles of a warp in the CISPO loss kernels (2, 4, 8 "
        "or 16)",
        kCispoTilesRange, 8)),
    cl::init(8), rtools::inRange(kCispoTilesRange), cl::cat(hymirCategory));
static cl::opt<rtools::Int64Arg> moeTileOpt(
    "moe-tile",
    cl::desc(rtools::describeRange(
        "rows each expert's routed rows are padded to; default: per op "
        "(cuda: 128 wgmma, 64 mma.sync; cpu: 1)",
        kMoeTileRange, std::nullopt)),
    cl::init(0), rtools::inRange(kMoeTileRange), cl::cat(hymirCategory));
static cl::opt<std::string>
    ptxasOpt("ptxas",
             cl::desc("ptxas to assemble cubins with ('none': PTX only; "
                      "default: PATH, then /usr/local/cuda/bin/ptxas)"),
             cl::value_desc("path"), cl::cat(hymirCategory));
static cl::opt<bool>
    printPlan("print-plan",
              cl::desc("print each entry's execution plan to stdout"),
              cl::cat(hymirCategory));
static cl::opt<std::string> dumpDir(
    "dump-stages",
    cl::desc("write each stage's IR here (1-kernel-form.mlir, 2-plan.mlir, "
             "3-<target>-kernels.mlir) and, for cuda, each kernel module's "
             "PTX (3-cuda-kernels.<module>.ptx)"),
    cl::value_desc("dir"), cl::cat(hymirCategory));

namespace {
/// The stages --compile-to can stop after.
enum class Stage { Artifact, KernelForm, Plan, Kernels };
} // namespace

static cl::opt<Stage> compileTo(
    "compile-to",
    cl::desc("stop after a stage and write its IR to -o (default: artifact)"),
    cl::values(clEnumValN(Stage::KernelForm, "kernel-form",
                          "host functions and gpu.modules (target neutral)"),
               clEnumValN(Stage::Plan, "plan",
                          "the hymir_plan entries, before code generation"),
               clEnumValN(Stage::Kernels, "kernels",
                          "the kernels: gpu.binary (cuda) or LLVM dialect "
                          "(cpu)"),
               clEnumValN(Stage::Artifact, "artifact", "the .hymir file")),
    cl::init(Stage::Artifact), cl::cat(hymirCategory));

namespace {

/// A one-line error of the tool itself (no location, no module dump):
/// `hymir-compile: error: ...`, converting to failure.
struct ToolError {
  std::string text;
  llvm::raw_string_ostream os{text};
  template <typename T> ToolError &operator<<(const T &value) {
    os << value;
    return *this;
  }
  ~ToolError() { llvm::errs() << "hymir-compile: error: " << text << "\n"; }
  operator LogicalResult() const { return failure(); }
  template <typename T> operator FailureOr<T>() const { return failure(); }
};
ToolError toolError() { return ToolError(); }

/// Writes DIR/`file` of --dump-stages with `write`; a file that cannot be
/// written is an error, not a silent gap in the dump.
LogicalResult dumpFile(llvm::StringRef file,
                       llvm::function_ref<void(llvm::raw_ostream &)> write) {
  if (dumpDir.empty())
    return success();
  llvm::SmallString<128> path(dumpDir);
  llvm::sys::path::append(path, file);
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (!ec) {
    write(os);
    os.close();
    ec = os.error();
  }
  if (ec) {
    os.clear_error();
    llvm::errs() << "hymir-compile: error: --dump-stages: cannot write " << path
                 << ": " << ec.message() << "\n";
    return failure();
  }
  return success();
}

LogicalResult dump(ModuleOp module, llvm::StringRef stage) {
  return dumpFile((stage + ".mlir").str(),
                  [&](llvm::raw_ostream &os) { module.print(os); });
}

/// Writes the IR of the stage --compile-to names to -o.
LogicalResult writeStage(ModuleOp module) {
  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> out =
      openOutputFile(outputFile, &error);
  if (!out) {
    llvm::errs() << "hymir-compile: error: " << error << "\n";
    return failure();
  }
  module.print(out->os());
  out->os().flush();
  if (out->os().has_error()) {
    llvm::errs() << "hymir-compile: error: cannot write " << outputFile << ": "
                 << out->os().error().message() << "\n";
    out->os().clear_error();
    return failure();
  }
  out->keep();
  return success();
}

/// Checks every option before the input is read or a pass runs: one line
/// naming the option, the value and what is accepted.
bool checkOptions() {
  const char *tool = "hymir-compile";
  if (targetOpt != "cpu" && targetOpt != "cuda") {
    llvm::errs() << "hymir-compile: error: unknown target '" << targetOpt
                 << "' (supported: cpu, cuda)\n";
    return false;
  }
  if (llvm::Expected<hy::TargetDescription> target = hy::lookupTarget(chipOpt);
      !target) {
    llvm::errs() << "hymir-compile: error: --chip: "
                 << llvm::toString(target.takeError()) << "\n";
    return false;
  }
  if (shardMoeOpt != "auto" && shardMoeOpt != "expert" &&
      shardMoeOpt != "tensor") {
    llvm::errs() << "hymir-compile: error: --shard-moe must be auto, expert "
                    "or tensor, got '"
                 << shardMoeOpt << "'\n";
    return false;
  }
  // Every integer option declared with rtools::inRange and given.
  if (!rtools::checkGivenRanges(tool))
    return false;
  if (cispoTokenChunkOpt % 128 != 0) {
    llvm::errs() << "hymir-compile: error: --cispo-token-chunk must be a "
                    "multiple of 128 (0: off), got "
                 << static_cast<int64_t>(cispoTokenChunkOpt) << "\n";
    return false;
  }
  if (int64_t r = lightningDecodeRowsOpt; r == 3 || (r > 4 && r < 8)) {
    llvm::errs() << "hymir-compile: error: --lightning-decode-rows must be "
                    "1, 2, 4 or 8 (0: automatic), got "
                 << r << "\n";
    return false;
  }
  if (int64_t c = lightningDecodeColumnsOpt;
      c != 0 && (c < 4 || (c & (c - 1)) != 0)) {
    llvm::errs() << "hymir-compile: error: --lightning-decode-columns must be "
                    "a power of two from 4 to 128 (0: automatic), got "
                 << c << "\n";
    return false;
  }
  if (!dumpDir.empty()) {
    std::error_code ec = llvm::sys::fs::create_directories(dumpDir);
    if (!ec && !llvm::sys::fs::is_directory(dumpDir))
      ec = std::make_error_code(std::errc::not_a_directory);
    if (ec) {
      llvm::errs() << "hymir-compile: error: --dump-stages: cannot create "
                   << dumpDir << ": " << ec.message() << "\n";
      return false;
    }
  }
  return true;
}

/// The most bytes one tensor may hold counting its static dims (2^40, 1
/// TiB): beyond it kernel grids and plan sizes leave the ranges the
/// kernels and the runtime compute them in.
constexpr int64_t kMaxTensorBytes = int64_t(1) << 40;

/// Refuses a tensor (argument or op result) over kMaxTensorBytes before any
/// pass computes a size from it. The error is at the value's location
/// without the op printed after it.
LogicalResult checkSizes(ModuleOp module) {
  auto check = [&](Value value, Location loc) -> LogicalResult {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type)
      return success();
    Type element = type.getElementType();
    std::optional<int64_t> bytes =
        element.isIntOrFloat() ? (element.getIntOrFloatBitWidth() + 7) / 8 : 8;
    for (int64_t dim : type.getShape())
      if (bytes && !ShapedType::isDynamic(dim))
        bytes = llvm::checkedMul(*bytes, dim);
    if (bytes && *bytes <= kMaxTensorBytes)
      return success();
    InFlightDiagnostic diag = emitError(loc) << "hymir-compile: " << type;
    if (bytes)
      diag << " holds " << *bytes << " bytes";
    else
      diag << " holds 2^63 bytes or more";
    diag << "; a tensor may hold at most 2^40 bytes (1 TiB) counting its "
            "static dims";
    return diag;
  };
  for (auto func : module.getOps<func::FuncOp>())
    for (BlockArgument arg : func.getArguments())
      if (failed(check(arg, func.getLoc())))
        return failure();
  WalkResult result = module.walk([&](Operation *op) {
    for (Value v : op->getResults())
      if (failed(check(v, op->getLoc())))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

/// The entry as written, for `hymir-run --check`; when it cannot be
/// expressed (an op the oracle evaluator does not know), a one-line note
/// says why and the entry goes without one.
std::optional<rt::RefProgramDesc> referenceProgram(MLIRContext &context,
                                                   func::FuncOp source) {
  std::string why;
  FailureOr<rt::RefProgramDesc> program = failure();
  {
    ScopedDiagnosticHandler capture(&context, [&](Diagnostic &d) {
      if (why.empty() && d.getSeverity() == DiagnosticSeverity::Error) {
        llvm::raw_string_ostream os(why);
        if (auto at = d.getLocation()->findInstanceOf<FileLineColLoc>())
          os << at.getFilename().getValue() << ":" << at.getLine() << ":"
             << at.getColumn() << ": ";
        os << d.str();
      }
      return success();
    });
    program = ::hymir::reference::serializeReference(source);
  }
  if (succeeded(program))
    return std::move(*program);
  llvm::errs() << "hymir-compile: note: entry '" << source.getSymName()
               << "' carries no reference program, so hymir-run --check "
                  "cannot check it ("
               << why << ")\n";
  return std::nullopt;
}

/// True when `path` is a ptxas that runs (`ptxas --version` exits 0). A
/// wrapper script whose toolkit is gone, as on machines without CUDA that
/// kept /usr/local/bin/ptxas, does not count.
bool ptxasRuns(llvm::StringRef path) {
  if (!llvm::sys::fs::can_execute(path))
    return false;
  std::optional<llvm::StringRef> quiet[] = {
      llvm::StringRef(""), llvm::StringRef(""), llvm::StringRef("")};
  llvm::StringRef args[] = {path, "--version"};
  return llvm::sys::ExecuteAndWait(path, args, std::nullopt, quiet,
                                   /*SecondsToWait=*/30) == 0;
}

/// ptxas from --ptxas, PATH or the usual CUDA location; empty if none runs.
/// Looked up once per process.
const std::string &findPtxas() {
  static const std::string found = []() -> std::string {
    if (!ptxasOpt.empty())
      return ptxasOpt == "none" ? std::string() : ptxasOpt.getValue();
    if (llvm::ErrorOr<std::string> inPath =
            llvm::sys::findProgramByName("ptxas"))
      if (ptxasRuns(*inPath))
        return *inPath;
    if (ptxasRuns("/usr/local/cuda/bin/ptxas"))
      return "/usr/local/cuda/bin/ptxas";
    return "";
  }();
  return found;
}

/// The CUDA toolkit whose libdevice links into kernels that call math
/// functions: the toolkit holding ptxas (symbolic links resolved), else
/// CUDA_HOME, CUDA_ROOT, CUDA_PATH, else /usr/local/cuda, whichever first has
/// nvvm/libdevice/libdevice.10.bc. Empty when none has it: kernels without
/// math calls need none, and the others are reported after codegen.
std::string findToolkit(llvm::StringRef ptxas) {
  std::vector<std::string> candidates;
  if (!ptxas.empty()) {
    llvm::SmallString<256> real;
    if (!llvm::sys::fs::real_path(ptxas, real))
      candidates.push_back(
          llvm::sys::path::parent_path(llvm::sys::path::parent_path(real))
              .str());
  }
  for (const char *var : {"CUDA_HOME", "CUDA_ROOT", "CUDA_PATH"})
    if (const char *value = std::getenv(var))
      candidates.push_back(value);
  candidates.push_back("/usr/local/cuda");
  for (const std::string &dir : candidates) {
    llvm::SmallString<256> libdevice(dir);
    llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
    if (llvm::sys::fs::is_regular_file(libdevice))
      return dir;
  }
  return "";
}

/// Assembles `ptx` into a cubin for --chip with ptxas. On failure, reports
/// ptxas' message and a command that reproduces it.
FailureOr<std::vector<uint8_t>>
assemble(const std::string &ptxas, llvm::StringRef ptx, llvm::StringRef name) {
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("hymir-ptxas", dir))
    return toolError() << "cannot create a temporary folder";
  llvm::SmallString<128> ptxPath(dir), cubinPath(dir), logPath(dir);
  llvm::sys::path::append(ptxPath, name + ".ptx");
  llvm::sys::path::append(cubinPath, name + ".cubin");
  llvm::sys::path::append(logPath, "ptxas.log");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(ptxPath, ec);
    if (ec)
      return toolError() << "cannot write " << ptxPath << ": " << ec.message();
    os << ptx;
  }
  std::string arch = "-arch=" + chipOpt.getValue();
  llvm::SmallVector<llvm::StringRef> args = {ptxas,   arch, "-O3",
                                             ptxPath, "-o", cubinPath};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, logPath.str(),
                                                logPath.str()};
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects);
  auto log = llvm::MemoryBuffer::getFile(logPath);
  auto cubin = llvm::MemoryBuffer::getFile(cubinPath);
  if (rc != 0 || !cubin) {
    return toolError() << "ptxas failed on " << name << ": "
                       << (log ? (*log)->getBuffer() : "")
                       << "\nreproduce with: " << ptxas << " " << arch
                       << " -O3 " << ptxPath << " -o " << cubinPath;
  }
  llvm::StringRef bytes = (*cubin)->getBuffer();
  std::vector<uint8_t> out(bytes.begin(), bytes.end());
  llvm::sys::fs::remove_directories(dir);
  return out;
}

/// A pass manager with the MLIR debugging options of the command line
/// (IR printing, crash reproducers, statistics) and timed under `timing`.
FailureOr<std::unique_ptr<PassManager>> makePassManager(MLIRContext &context,
                                                        TimingScope &timing) {
  auto pm = std::make_unique<PassManager>(&context);
  pm->enableVerifier(true);
  if (failed(applyPassManagerCLOptions(*pm)))
    return failure();
  pm->enableTiming(timing);
  return pm;
}

LogicalResult run(MLIRContext &context, ModuleOp module, TimingScope &root) {
  bool cuda = targetOpt == "cuda";
  if (failed(checkSizes(module)))
    return failure();
  OwningOpRef<ModuleOp> original = module.clone();

  TimingScope formTiming = root.nest("kernel form");
  FailureOr<std::unique_ptr<PassManager>> pm =
      makePassManager(context, formTiming);
  if (failed(pm))
    return failure();
  (*pm)->addPass(createInlinerPass());
  hy::KernelFormOptions formOptions;
  formOptions.blockSize = blockSizeOpt;
  formOptions.libraryGemm = cuda;
  formOptions.gpuLightning = cuda;
  formOptions.warpReductions = cuda;
  formOptions.gpuMoe = cuda;
  formOptions.gpuAttention = cuda;
  formOptions.gpuCispo = cuda;
  formOptions.cispoMTiles = cispoMTilesOpt;
  formOptions.cispoWgmmaGrads = cispoWgmmaGradsOpt;
  formOptions.cispoTokenChunk = cispoTokenChunkOpt;
  formOptions.cispoMaxTokens = maxTokensOpt;
  formOptions.cispoMnMajor = cispoMnMajorOpt;
  formOptions.cispoNTiles = cispoNTilesOpt;
  formOptions.lightningValueSplit = lightningSplitOpt;
  formOptions.lightningTensorCores = lightningTensorCoresOpt;
  formOptions.lightningHopper = lightningHopperOpt;
  formOptions.lightningHopperConsumers = lightningHopperConsumersOpt;
  formOptions.lightningHopperStages = lightningHopperStagesOpt;
  formOptions.lightningHopperStagedOutput = lightningHopperStagedOutputOpt;
  formOptions.lightningSequenceSplit = lightningSequenceSplitOpt;
  formOptions.lightningDecodeColumns = lightningDecodeColumnsOpt;
  formOptions.lightningDecodeVector = lightningDecodeVectorOpt;
  formOptions.lightningDecodeRows = lightningDecodeRowsOpt;
  formOptions.attentionPipeline = attentionPipelineOpt;
  formOptions.attentionSchedule = attentionScheduleOpt;
  formOptions.attentionFuseRope = attentionFuseRopeOpt;
  formOptions.attentionSplits = attentionSplitsOpt;
  // wgmma needs the sm_90a feature set (the chip's target description).
  bool wgmma = false;
  if (cuda) {
    // Checked up front (checkOptions).
    llvm::Expected<hy::TargetDescription> target = hy::lookupTarget(chipOpt);
    if (!target)
      return module.emitError() << llvm::toString(target.takeError());
    wgmma = moeWgmmaOpt && target->hasWgmma;
    formOptions.cispoWgmma = cispoWgmmaOpt && target->hasWgmma;
  }
  formOptions.chip = chipOpt;
  formOptions.moeWgmma = wgmma;
  formOptions.moeDecodeSlots = moeDecodeSlotsOpt;
  formOptions.moeWgmmaGroup = moeWgmmaGroupOpt;
  formOptions.moeDecodeWave = moeDecodeWaveOpt;
  formOptions.moeDecodeWaveTokens = moeDecodeWaveTokensOpt;
  formOptions.moeWgmmaPersistent = moeWgmmaPersistentOpt;
  formOptions.moeWgmmaMulticast = moeWgmmaMulticastOpt;
  formOptions.moeWgmmaMulticastMinTokens = moeWgmmaMulticastMinTokensOpt;
  formOptions.moeFusedRouting = moeFusedRoutingOpt;
  // Unless --moe-tile says, each MoE op's tile is chosen from its shapes
  // for the chip's kernels (0; 1 on cpu).
  formOptions.moeTile =
      moeTileOpt.getNumOccurrences() ? int64_t(moeTileOpt) : 0;
  formOptions.devices = devicesOpt;
  formOptions.shardMoe = shardMoeOpt;
  formOptions.fuseElementwise = fuseElementwiseOpt;
  hy::buildKernelFormPipeline(**pm, formOptions);
  if (failed((*pm)->run(module)))
    return failure();
  formTiming.stop();
  if (failed(dump(module, "1-kernel-form")))
    return failure();
  if (compileTo == Stage::KernelForm)
    return writeStage(module);

  // The kernels compile from the kernel form; the host functions become the
  // plan.
  OwningOpRef<ModuleOp> kernels = module.clone();
  TimingScope planTiming = root.nest("plan");
  FailureOr<std::unique_ptr<PassManager>> ppm =
      makePassManager(context, planTiming);
  if (failed(ppm))
    return failure();
  hy::PlanPipelineOptions planOptions;
  planOptions.maxTokens = maxTokensOpt;
  planOptions.devices = devicesOpt;
  planOptions.target = cuda ? "cuda" : "cpu";
  planOptions.chip = cuda ? chipOpt.getValue() : "";
  hy::buildPlanPipeline(**ppm, planOptions);
  if (failed((*ppm)->run(module)))
    return failure();
  planTiming.stop();
  if (failed(dump(module, "2-plan")))
    return failure();
  if (compileTo == Stage::Plan)
    return writeStage(module);

  // The kernels of every gpu.module, in module order: the table the code
  // objects list them in.
  std::vector<std::string> gpuModules;
  std::vector<std::vector<Attribute>> moduleKernels;
  for (auto gpuModule : kernels->getOps<gpu::GPUModuleOp>()) {
    gpuModules.push_back(gpuModule.getName().str());
    moduleKernels.emplace_back();
    for (auto kernel : gpuModule.getOps<gpu::GPUFuncOp>())
      if (kernel.isKernel())
        moduleKernels.back().push_back(
            SymbolRefAttr::get(gpuModule.getNameAttr(),
                               {FlatSymbolRefAttr::get(kernel.getNameAttr())}));
  }

  TimingScope kernelTiming = root.nest("kernels");
  FailureOr<std::unique_ptr<PassManager>> kpm =
      makePassManager(context, kernelTiming);
  if (failed(kpm))
    return failure();
  if (cuda) {
    hy::CudaKernelOptions cudaOptions;
    cudaOptions.chip = chipOpt;
    cudaOptions.format = "isa";
    cudaOptions.toolkitPath = findToolkit(findPtxas());
    hy::buildCudaKernelPipeline(**kpm, cudaOptions);
  } else {
    hy::buildCpuKernelPipeline(**kpm);
  }
  if (failed((*kpm)->run(*kernels)))
    return failure();
  kernelTiming.stop();
  if (failed(dump(*kernels, cuda ? "3-cuda-kernels" : "3-cpu-kernels")))
    return failure();
  // Each kernel module's PTX on its own, decoded, for `ptxas -v`.
  for (auto binary : kernels->getOps<gpu::BinaryOp>())
    for (Attribute object : binary.getObjects())
      if (failed(dumpFile(
              ("3-cuda-kernels." + binary.getName() + ".ptx").str(),
              [&](llvm::raw_ostream &os) {
                os << cast<gpu::ObjectAttr>(object).getObject().getValue();
              })))
        return failure();
  if (compileTo == Stage::Kernels)
    return writeStage(*kernels);
  // The reference programs and ptxas: the rest of the work.
  TimingScope artifactTiming = root.nest("ptxas and artifact");

  // Each entry's function as written, for hymir-run --check.
  std::map<std::string, rt::RefProgramDesc> references;
  for (auto source : original->getOps<func::FuncOp>()) {
    if (!source.isPublic() || source.isExternal())
      continue;
    if (std::optional<rt::RefProgramDesc> program =
            referenceProgram(context, source))
      references[source.getSymName().str()] = std::move(*program);
  }

  std::string ptxas;
  if (cuda) {
    ptxas = findPtxas();
    if (ptxas.empty())
      llvm::errs() << "hymir-compile: note: no ptxas (--ptxas, PATH, "
                      "/usr/local/cuda/bin): kernels are stored as PTX only "
                      "and JIT-compiled at load\n";
  }
  // The code objects join the plan as hymir_plan.code ops: one per outlined
  // gpu.module on cuda (a cubin with its PTX as fallback when ptxas is
  // found, else the PTX), one host shared object on cpu.
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  auto addCode = [&](llvm::StringRef name, llvm::StringRef format,
                     llvm::ArrayRef<Attribute> held, llvm::StringRef data,
                     llvm::StringRef fallback) {
    auto code = hy::plan::CodeOp::create(
        builder, module.getLoc(), name, format, builder.getArrayAttr(held),
        builder.getStringAttr(data),
        fallback.empty() ? StringAttr() : builder.getStringAttr(fallback));
    return code;
  };
  if (cuda) {
    for (auto [name, held] : llvm::zip(gpuModules, moduleKernels)) {
      auto binary = kernels->lookupSymbol<gpu::BinaryOp>(name);
      if (!binary || binary.getObjects().size() != 1)
        return toolError() << "no PTX for " << name;
      auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
      llvm::StringRef ptx = object.getObject().getValue();
      if (ptx.contains(".extern .func") && ptx.contains("__nv_"))
        llvm::errs() << "hymir-compile: warning: " << name
                     << " calls libdevice functions that were not linked (no "
                        "CUDA toolkit found: set CUDA_HOME or --ptxas); it "
                        "will not load on a GPU\n";
      // cuModuleLoadData reads PTX as a C string.
      std::string ptxString = ptx.str();
      ptxString.push_back('\0');
      if (!ptxas.empty()) {
        FailureOr<std::vector<uint8_t>> cubin = assemble(ptxas, ptx, name);
        if (failed(cubin))
          return failure();
        addCode(name, "cubin", held,
                llvm::StringRef(reinterpret_cast<const char *>(cubin->data()),
                                cubin->size()),
                ptxString);
      } else {
        addCode(name, "ptx", held, ptxString, "");
      }
    }
  } else {
    FailureOr<std::vector<uint8_t>> so = hy::compileHostSharedObject(*kernels);
    if (failed(so))
      return failure();
    std::vector<Attribute> all;
    for (const std::vector<Attribute> &held : moduleKernels)
      all.insert(all.end(), held.begin(), held.end());
    addCode(
        "host", "host_shared_object", all,
        llvm::StringRef(reinterpret_cast<const char *>(so->data()), so->size()),
        "");
  }
  // The plan holds everything the artifact needs now.
  for (auto gpuModule :
       llvm::make_early_inc_range(module.getOps<gpu::GPUModuleOp>()))
    gpuModule.erase();
  module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());

  FailureOr<rt::ModuleDesc> translated =
      hy::translatePlanToArtifact(module, references);
  if (failed(translated))
    return failure();
  rt::ModuleDesc &desc = *translated;
  desc.producer = "hymir-compile " + rt::runtimeVersion();
  if (printPlan)
    hy::printArtifactListing(desc, llvm::outs());

  absl::Status status = rt::writeArtifact(desc, outputFile);
  if (!status.ok())
    return toolError() << std::string(status.message());
  size_t launches = 0;
  for (const rt::EntryDesc &e : desc.entries)
    launches += e.plan.size();
  llvm::errs() << "hymir-compile: wrote " << outputFile << " ("
               << (cuda ? "cuda " + chipOpt.getValue() : std::string("cpu"))
               << ", " << desc.entries.size() << " entr"
               << (desc.entries.size() == 1 ? "y" : "ies") << ", "
               << desc.kernels.size() << " kernels, " << launches
               << " plan steps)\n";
  return success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // The MLIR debugging options, shown under their own heading.
  llvm::StringSet<> before = rtools::registeredOptionNames();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerDefaultTimingManagerCLOptions();
  rtools::moveNewOptions(before, mlirCategory);
  rtools::parseCommandLine(argc, argv, "hymir-compile",
                           "hymir ahead-of-time compiler: hymir IR to a "
                           ".hymir artifact\n",
                           {&hymirCategory, &mlirCategory});
  if (!checkOptions())
    return 1;

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<hy::HymirDialect, hy::plan::PlanDialect>();
  hy::registerHymirBufferization(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  TimingScope root = timing.getRootScope();

  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = ::hymir::tools::parseModuleFile(
      inputFile, context, sourceMgr, "hymir-compile");
  if (!module)
    return 1;
  return failed(run(context, *module, root)) ? 1 : 0;
}
