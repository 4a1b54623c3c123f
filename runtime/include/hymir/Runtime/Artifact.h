//===- Artifact.h - the .hymir artifact: contents and loader ----*- C++ -*-===//
//
// A compiled module as plain C++ values (the *Desc structs below mirror
// runtime/schema/artifact.fbs), the rules every module obeys
// (validateModule), and the loader (Artifact) that turns a .hymir file into
// such a module only after checking all of it. Nothing outside the loader
// reads FlatBuffers data: the rest of the runtime works on the validated
// structs. The writer (ArtifactWriter.h) produces the file from the same
// structs.
//
// Indices in error messages (entries' steps, dims, tensors) count from 0.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_ARTIFACT_H
#define HYMIR_RUNTIME_ARTIFACT_H

#include "hymir/Runtime/DType.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace hymir {

/// The schema version this runtime reads and the writer produces.
/// Version 3 added the TensorMap step (TMA tensor maps). Version 2 added
/// TensorSpec.tied_to (tied entry outputs), Entry.checks and the Check
/// storage kind (run-time checks).
inline constexpr uint32_t kArtifactSchemaVersion = 3;

/// The most devices a module may span (hymir-compile --devices).
inline constexpr uint32_t kMaxDeviceCount = 64;

/// The numeric values match the schema's enums. A value read from a file is
/// kept as is until validateModule has checked that it is one of these.
enum class Target { Cpu = 0, Cuda = 1 };
enum class CodeFormat { HostSharedObject = 0, Ptx = 1, Cubin = 2 };
enum class StorageKind {
  Input = 0,
  Output = 1,
  Param = 2,
  Buffer = 3,
  Check = 4
};

/// "cpu", "cuda"; "target <n>" for a value outside the enum.
std::string targetName(Target target);
/// "host shared object", "ptx", "cubin".
std::string codeFormatName(CodeFormat format);
/// "input", "output", "param", "buffer", "check".
std::string storageKindName(StorageKind kind);

/// floor((constant + sum(coeff * symbol)) / divisor) over the entry's
/// symbols, rounding toward minus infinity; the divisor is at least 1 once
/// validated.
struct SizeExprSpec {
  int64_t constant = 0;
  std::vector<std::pair<uint32_t, int64_t>> terms; // (symbol index, coeff)
  int64_t divisor = 1;

  static SizeExprSpec of(int64_t constant) { return {constant, {}, 1}; }
  static SizeExprSpec ofSymbol(uint32_t symbol, int64_t coeff = 1,
                               int64_t constant = 0) {
    return {constant, {{symbol, coeff}}, 1};
  }
  /// Just `constant`: no terms and divisor 1.
  bool isConstant() const { return terms.empty() && divisor == 1; }
};

/// A named tensor. `shardDim` >= 0 (params, entry inputs and the outputs
/// tied to such inputs, split along the same dim): device r
/// of a module with n devices holds part r of n equal contiguous parts along
/// that dim; `shape` is the whole tensor's. `tiedTo` >= 0 (entry outputs
/// only): the output is tied to that entry input, whose storage the plan
/// updates in place; it has the input's dtype and shape and no storage of
/// its own.
struct TensorSpecDesc {
  std::string name;
  DType dtype = DType::F32;
  std::vector<SizeExprSpec> shape;
  int32_t shardDim = -1;
  int32_t tiedTo = -1;
};

/// A dynamic dimension of an entry: dimension `dim` of input `input`, at
/// most `max`.
struct SymbolDesc {
  std::string name;
  uint32_t input = 0;
  uint32_t dim = 0;
  int64_t max = 0;
};

struct CodeObjectDesc {
  CodeFormat format = CodeFormat::HostSharedObject;
  std::vector<uint8_t> data;
  /// For a cubin: the PTX it came from (NUL-terminated), or empty.
  std::vector<uint8_t> ptxFallback;
};

struct KernelDesc {
  std::string name;
  uint32_t code = 0;  // index into ModuleDesc::code
  std::string symbol; // entry symbol inside that code object
};

/// Where a step's tensor lives: `index` into the entry's inputs, outputs,
/// buffers or checks, or the module's params, plus a byte offset.
struct RefDesc {
  StorageKind kind = StorageKind::Buffer;
  uint32_t index = 0;
  SizeExprSpec offsetBytes;
};

struct BufferSlotDesc {
  uint64_t arenaOffset = 0;
  uint64_t sizeBytes = 0;
};

/// A run-time check kernels flag (artifact.fbs, table Check): check i owns
/// kCheckWords int64 words of check storage (StorageKind::Check, index i),
/// cleared to {kCheckClear, 0} before a call. After the call, word 0 below
/// kCheckClear holds the first bad element's position (bits 32 to 62,
/// saturated at kCheckMaxPosition) and value (bits 0 to 31, an int32), and
/// word 1 the bound of the valid range [0, bound).
struct CheckDesc {
  std::string checkedOp; // "hymir.embedding"
  std::string tensor;    // the checked tensor's name, or empty
  std::string value;     // what one element is: "id"
  std::string location;  // "file:line:col" of the op, or empty
};
inline constexpr size_t kCheckWords = 2;
inline constexpr int64_t kCheckClear = INT64_MAX;
inline constexpr int64_t kCheckMaxPosition = (int64_t(1) << 31) - 2;

/// One parameter of a kernel: a tensor (where it lives, its element type,
/// and its sizes and strides in elements, as many of each) or an i64 scalar.
/// Only the fields of its kind mean anything: the writer stores and
/// operator== compares ref, dtype, sizes and strides for a tensor, and
/// scalar for a scalar.
struct KernelArgDesc {
  bool isTensor = false;
  RefDesc ref;
  DType dtype = DType::F32;
  std::vector<SizeExprSpec> sizes, strides;
  SizeExprSpec scalar;
};

struct LaunchKernelDesc {
  uint32_t kernel = 0;
  std::vector<SizeExprSpec> grid; // 3 entries once validated
  std::vector<uint32_t> block;    // 3 entries once validated
  uint32_t sharedMemoryBytes = 0;
  std::vector<KernelArgDesc> args; // the kernel's parameters, in order
  /// Runs only for token counts in [tokensAtLeast, tokensAtMost] (-1: no
  /// upper bound).
  int64_t tokensAtLeast = 0;
  int64_t tokensAtMost = -1;
  bool guarded() const { return tokensAtLeast != 0 || tokensAtMost != -1; }
};

/// y[M, N] = x[M, K] * w[N, K]^T.
struct GemmDesc {
  RefDesc x, w, y;
  SizeExprSpec m;
  int64_t n = 0;
  int64_t k = 0;
  DType dtype = DType::BF16;
  DType outDtype = DType::BF16;
  bool f32Precision = false;
};

struct CopyDesc {
  RefDesc src, dst;
  SizeExprSpec bytes;
};

enum class CollectiveKind {
  AllReduceSum = 0,
  AllGather = 1,
  AllToAll = 2,
  DeviceIndex = 3,
  ReduceScatterSum = 4
};
/// "all_reduce", "all_gather", "all_to_all", "device_index",
/// "reduce_scatter"; "collective <n>"
/// for a value outside the enum.
std::string collectiveKindName(CollectiveKind kind);

/// A collective over the module's devices; `elements` is each device's
/// contribution (see artifact.fbs).
struct CollectiveDesc {
  CollectiveKind kind = CollectiveKind::AllReduceSum;
  RefDesc src, dst;
  DType dtype = DType::F32;
  SizeExprSpec elements;
  /// AllToAll only: the i32 offsets per peer (devices + 1 entries) and the
  /// elements of one row.
  RefDesc srcOffsets, dstOffsets;
  int64_t row = 0;
};

/// A TMA tensor map (artifact.fbs, table TensorMap): at each call the
/// runtime encodes a tiled CUtensorMap of the tensor `source` (its place,
/// dtype, and sizes and strides in elements, outermost first) with the
/// given `box` (one extent per dim, outermost first) and `swizzle` (bytes),
/// and writes its kTensorMapBytes bytes at `target`, a buffer no other
/// buffer shares bytes with. Runs only for token counts in
/// [tokensAtLeast, tokensAtMost] (-1: no upper bound).
struct TensorMapDesc {
  RefDesc source;
  DType dtype = DType::BF16;
  std::vector<SizeExprSpec> sizes, strides;
  RefDesc target;
  std::vector<uint32_t> box;
  uint32_t swizzle = 0;
  int64_t tokensAtLeast = 0;
  int64_t tokensAtMost = -1;
  bool guarded() const { return tokensAtLeast != 0 || tokensAtMost != -1; }
};
inline constexpr size_t kTensorMapBytes = 128;
inline constexpr size_t kTensorMapMaxRank = 5;
inline constexpr uint32_t kTensorMapMaxBox = 256;

/// What is wrong with a tensor map's box over `rank` dims of `dtype`
/// elements with a swizzle span of `swizzle` bytes (rank 1 to 5, one extent
/// per dim in [1, 256], swizzle 0, 32, 64 or 128, the innermost extent a
/// multiple of 16 bytes and within the swizzle span), as a phrase ("has
/// swizzle 48; ..."), or empty when it is valid.
std::string tensorMapBoxError(size_t rank, absl::Span<const uint32_t> box,
                              DType dtype, uint32_t swizzle);

using StepDesc = std::variant<LaunchKernelDesc, GemmDesc, CopyDesc,
                              CollectiveDesc, TensorMapDesc>;

/// "launch", "gemm", "copy", "collective", "tensor_map".
std::string stepKindName(const StepDesc &step);

/// What a value of a reference program holds (RefKind in the schema): a
/// float tensor, an integer tensor (0-d for a scalar) or an index.
enum class RefValueKind { Float = 0, Int = 1, Index = 2 };

/// "float", "int", "index"; "kind <n>" for a value outside the enum.
std::string refValueKindName(RefValueKind kind);

/// A value's kind and static shape, from its IR type; kRefDynamicDim where
/// the type's dim is dynamic. An index has no dims.
struct RefValueDesc {
  RefValueKind kind = RefValueKind::Float;
  std::vector<int64_t> shape;
};
inline constexpr int64_t kRefDynamicDim = -1;

/// An op's attribute; which field counts depends on the op (Reference.h).
struct RefAttrDesc {
  std::string name;
  int64_t intValue = 0;
  double floatValue = 0;
  std::vector<int64_t> ints;
};

/// One op of a reference program over value ids. `data` (float results) and
/// `intData` (integer and index results) hold an arith.constant's elements:
/// all of them row-major, or one for a splat.
struct RefOpDesc {
  std::string name;
  std::vector<uint32_t> operands;
  std::vector<uint32_t> results;
  std::vector<RefAttrDesc> attrs;
  std::vector<double> data;
  std::vector<int64_t> intData;
};

/// An entry as written, before any lowering: the program `hymir-run --check`
/// evaluates on the fp64 oracle (Reference.h). `values` has one entry per
/// value id; the arguments define theirs first (in the function's argument
/// order, params included, each read by name from the entry's inputs or the
/// module's params), then every op its results.
struct RefProgramDesc {
  std::vector<RefValueDesc> values;
  std::vector<uint32_t> arguments;
  std::vector<std::string> argumentNames; // as many as arguments
  std::vector<uint32_t> results;          // in the entry's output order
  std::vector<RefOpDesc> ops;
};

struct EntryDesc {
  std::string name;
  std::vector<TensorSpecDesc> inputs;
  std::vector<TensorSpecDesc> outputs;
  std::vector<SymbolDesc> symbols;
  std::vector<BufferSlotDesc> buffers;
  uint64_t arenaBytes = 0;
  std::vector<StepDesc> plan;
  /// Absent when the compiler could not express the entry as one.
  std::optional<RefProgramDesc> reference;
  std::vector<CheckDesc> checks;
};

struct ModuleDesc {
  Target target = Target::Cpu;
  std::string chip; // "sm_90a" for cuda, empty for cpu
  uint32_t deviceCount = 1;
  std::vector<TensorSpecDesc> params;
  std::vector<CodeObjectDesc> code;
  std::vector<KernelDesc> kernels;
  std::vector<EntryDesc> entries;
  std::string producer; // "hymir-compile <version>"
};

bool operator==(const SizeExprSpec &a, const SizeExprSpec &b);
bool operator==(const TensorSpecDesc &a, const TensorSpecDesc &b);
bool operator==(const SymbolDesc &a, const SymbolDesc &b);
bool operator==(const CodeObjectDesc &a, const CodeObjectDesc &b);
bool operator==(const KernelDesc &a, const KernelDesc &b);
bool operator==(const RefDesc &a, const RefDesc &b);
bool operator==(const BufferSlotDesc &a, const BufferSlotDesc &b);
bool operator==(const CheckDesc &a, const CheckDesc &b);
bool operator==(const KernelArgDesc &a, const KernelArgDesc &b);
bool operator==(const LaunchKernelDesc &a, const LaunchKernelDesc &b);
bool operator==(const GemmDesc &a, const GemmDesc &b);
bool operator==(const CopyDesc &a, const CopyDesc &b);
bool operator==(const CollectiveDesc &a, const CollectiveDesc &b);
bool operator==(const TensorMapDesc &a, const TensorMapDesc &b);
/// Doubles (attribute values, constants) compare by their bits, so NaN
/// constants survive a round trip as equal.
bool operator==(const RefValueDesc &a, const RefValueDesc &b);
bool operator==(const RefAttrDesc &a, const RefAttrDesc &b);
bool operator==(const RefOpDesc &a, const RefOpDesc &b);
bool operator==(const RefProgramDesc &a, const RefProgramDesc &b);
bool operator==(const EntryDesc &a, const EntryDesc &b);
bool operator==(const ModuleDesc &a, const ModuleDesc &b);
inline bool operator!=(const SizeExprSpec &a, const SizeExprSpec &b) {
  return !(a == b);
}
inline bool operator!=(const TensorSpecDesc &a, const TensorSpecDesc &b) {
  return !(a == b);
}
inline bool operator!=(const SymbolDesc &a, const SymbolDesc &b) {
  return !(a == b);
}
inline bool operator!=(const CodeObjectDesc &a, const CodeObjectDesc &b) {
  return !(a == b);
}
inline bool operator!=(const KernelDesc &a, const KernelDesc &b) {
  return !(a == b);
}
inline bool operator!=(const RefDesc &a, const RefDesc &b) { return !(a == b); }
inline bool operator!=(const BufferSlotDesc &a, const BufferSlotDesc &b) {
  return !(a == b);
}
inline bool operator!=(const CheckDesc &a, const CheckDesc &b) {
  return !(a == b);
}
inline bool operator!=(const KernelArgDesc &a, const KernelArgDesc &b) {
  return !(a == b);
}
inline bool operator!=(const LaunchKernelDesc &a, const LaunchKernelDesc &b) {
  return !(a == b);
}
inline bool operator!=(const GemmDesc &a, const GemmDesc &b) {
  return !(a == b);
}
inline bool operator!=(const CopyDesc &a, const CopyDesc &b) {
  return !(a == b);
}
inline bool operator!=(const CollectiveDesc &a, const CollectiveDesc &b) {
  return !(a == b);
}
inline bool operator!=(const TensorMapDesc &a, const TensorMapDesc &b) {
  return !(a == b);
}
inline bool operator!=(const RefValueDesc &a, const RefValueDesc &b) {
  return !(a == b);
}
inline bool operator!=(const RefAttrDesc &a, const RefAttrDesc &b) {
  return !(a == b);
}
inline bool operator!=(const RefOpDesc &a, const RefOpDesc &b) {
  return !(a == b);
}
inline bool operator!=(const RefProgramDesc &a, const RefProgramDesc &b) {
  return !(a == b);
}
inline bool operator!=(const EntryDesc &a, const EntryDesc &b) {
  return !(a == b);
}
inline bool operator!=(const ModuleDesc &a, const ModuleDesc &b) {
  return !(a == b);
}

/// Checks every rule a module must satisfy before the runtime may use it;
/// the first violation is returned as InvalidArgument, its message starting
/// with `label` (usually the file name) and naming the place, e.g.
/// "model.hymir: entry 'forward' step 3 (launch) refers to kernel 7, but the
/// module has 2 kernels". The rules:
///  - enum values (target, dtypes, code formats, storage kinds) are known;
///  - device count >= 1; a cuda module names its chip;
///  - cpu code is a host shared object, cuda code PTX or a cubin; no code
///    object is empty; every kernel names its code object (in range) and a
///    symbol;
///  - names (params, entries, and per entry inputs, outputs and symbols) are
///    non-empty and unique within their list; kernels are named;
///  - param shapes are constant and non-negative; a constant dim of an entry
///    tensor is non-negative;
///  - a symbol reads a dim of an existing input (dim < its rank), max > 0;
///  - only entry outputs are tied; a tied output names an existing input
///    that is not sharded, has its dtype and shape (the same size
///    expressions), and is the only output tied to it; no step refers to a
///    tied output's storage (it is the input's);
///  - every size expression refers to existing symbols of its entry, has a
///    divisor >= 1, and |constant| + sum |coeff| * max fits in int64, so
///    evaluate() cannot overflow for symbol values within their maxima;
///  - buffer slots lie inside the arena (offset + size <= arena bytes, no
///    wrap-around); every check names its op and its value;
///  - launch steps name an existing kernel, have 3 grid and 3 block dims,
///    1 to 1024 threads per block; each tensor argument has a known dtype,
///    as many strides as sizes, and no negative constant size; gemm steps
///    have n, k >= 1; every tensor reference is in range for its storage
///    kind;
///  - tensor map steps: a source of a known dtype, rank 1 to 5, as many
///    strides and box extents as sizes, innermost stride the constant 1, a
///    box and swizzle tensorMapBoxError accepts, a token range like a
///    launch's; the target is a buffer of at least kTensorMapBytes bytes
///    from its (constant) offset that shares no byte with another buffer;
///  - an entry's reference program has known value kinds, dims >= -1 and
///    rank-0 indexes; as many argument names as arguments, each non-empty,
///    unique and naming an input of the entry or a param of the module, and
///    every input among them; tensor arguments and results; one result per
///    output; every value id in range and defined exactly once (arguments
///    first, then op results in order) before any op reads it; named ops
///    and attributes. What each op needs is checked when it is evaluated.
absl::Status validateModule(const ModuleDesc &module, std::string_view label);

/// Evaluates `expr` for the given symbol values (indexed like the entry's
/// symbols), dividing the sum by the divisor with floor semantics (-7 / 2 is
/// -4). InvalidArgument when a term's symbol has no value or the divisor is
/// below 1, OutOfRange when the sum or an intermediate overflows int64.
absl::StatusOr<int64_t> evaluate(const SizeExprSpec &expr,
                                 absl::Span<const int64_t> symbolValues);

/// 64-bit FNV-1a, the artifact's payload checksum.
uint64_t fnv1a64(absl::Span<const uint8_t> bytes);

/// A loaded, fully checked artifact. Loading runs, in order: size and file
/// identifier, the FlatBuffers verifier on the outer table, the schema
/// version, the payload checksum, the verifier on the Module payload, the
/// conversion into ModuleDesc, and validateModule. Errors name the file (the
/// label) and what is wrong: InvalidArgument for something that is not a
/// valid artifact, DataLoss for a corrupt or truncated one,
/// FailedPrecondition for an unsupported schema version; file-system errors
/// keep their errno's code.
class Artifact {
public:
  static absl::StatusOr<Artifact> load(const std::string &path);
  static absl::StatusOr<Artifact> fromBytes(std::vector<uint8_t> bytes,
                                            std::string label);

  Artifact(Artifact &&) = default;
  Artifact &operator=(Artifact &&) = default;
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;

  /// The validated module; it owns its data (code bytes included).
  const ModuleDesc &module() const { return module_; }
  /// The path or label the artifact was loaded from.
  const std::string &label() const { return label_; }
  /// The entry named `name`, or nullptr.
  const EntryDesc *findEntry(std::string_view name) const;

private:
  Artifact(std::string label, ModuleDesc module)
      : label_(std::move(label)), module_(std::move(module)) {}

  std::string label_;
  ModuleDesc module_;
};

} // namespace hymir

#endif // HYMIR_RUNTIME_ARTIFACT_H
