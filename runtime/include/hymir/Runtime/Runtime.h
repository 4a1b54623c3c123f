//===- Runtime.h - the hymir runtime's C++ API ------------------*- C++ -*-===//
//
// Load a .hymir artifact, bind its weights, call its entries:
//
//   auto runtime = hymir::Runtime::create("cpu");          // or "cuda:0"
//   auto module = (*runtime)->load("model.hymir");
//   (*module)->bindWeights(weights);                       // SafetensorsFile
//   auto outputs = (*module)->call("forward", inputs);     // name -> Tensor
//
// Values that live on the device across calls (a decode step's KV cache or
// recurrent state, tied to a result with hymir.tied) are DeviceValues:
//
//   auto cache = (*module)->allocate("step", "cache");     // zero-filled
//   cache->upload(initial);                                // optional
//   for (...)                                              // updated in place
//     (*module)->call("step", {{"x", x}}, {{"cache", &*cache}});
//   Tensor now = *cache->download();
//
// Every fallible call returns absl::Status(Or) with a message naming the
// file, entry, tensor or step at fault. The runtime links no LLVM or MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_RUNTIME_H
#define HYMIR_RUNTIME_RUNTIME_H

#include "hymir/Runtime/Artifact.h"
#include "hymir/Runtime/DType.h"
#include "hymir/Runtime/Safetensors.h"

#include "absl/status/statusor.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hymir {

/// A dense row-major tensor in host memory that owns its bytes.
class Tensor {
public:
  Tensor() = default;
  /// A zero-filled tensor.
  Tensor(DType dtype, std::vector<int64_t> shape);
  /// A copy of `sizeBytes` bytes at `data`; they must match dtype and shape.
  static absl::StatusOr<Tensor> fromBytes(DType dtype,
                                          std::vector<int64_t> shape,
                                          const void *data, size_t sizeBytes);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t numel() const;
  size_t sizeBytes() const { return bytes_.size(); }
  uint8_t *data() { return bytes_.data(); }
  const uint8_t *data() const { return bytes_.data(); }

private:
  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_;
  std::vector<uint8_t> bytes_;
};

using TensorMap = std::map<std::string, Tensor>;

class Driver;
class ProcessGroup;
struct ProcessGroupSpec;

/// A tensor in device memory that the caller owns across calls (on the cpu
/// device, host memory the runtime allocated). Module::allocate makes one for
/// an entry input; Module::call reads it where it is, and when the input is
/// tied to a result (hymir.tied), the call leaves the result there: nothing
/// is copied between host and device. A value keeps its memory after its
/// module or runtime is destroyed and serves every module of the runtime
/// that runs on the same devices; one call at a time may use it. Move only;
/// an empty (default-constructed or moved-from) value is invalid.
class DeviceValue {
public:
  DeviceValue();
  ~DeviceValue();
  DeviceValue(DeviceValue &&) noexcept;
  DeviceValue &operator=(DeviceValue &&) noexcept;

  bool valid() const { return impl_ != nullptr; }
  DType dtype() const;
  const std::vector<int64_t> &shape() const;
  size_t sizeBytes() const;

  /// Copies `tensor` (of exactly this value's dtype and shape) into the
  /// value, on every device of a multi-device module (each device's part
  /// of a value split across devices).
  absl::Status upload(const Tensor &tensor);
  /// Copies the value to the host (from the first device; a split value
  /// put together from every device's part, which fails in a process that
  /// holds only some of the devices).
  absl::StatusOr<Tensor> download() const;

private:
  friend class Module;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Device values passed to a call, by input name.
using DeviceValueMap = std::map<std::string, DeviceValue *>;

/// How Module::call and Module::time run an entry.
struct CallOptions {
  /// Keep the call's device storage for the next call with the same symbol
  /// values (the bucket: token count, batch) and the same device values,
  /// prepare the kernels' argument words once for it, and on cuda run the
  /// steps as a CUDA graph: the first call of such a key launches them one
  /// by one (a warm-up), the second captures them (driver API stream
  /// capture) and launches the graph, later ones replay it. Host tensors
  /// are copied into the kept storage each call; outputs and run-time
  /// checks are read as without the option. Where a graph cannot be made
  /// (the cpu device, several devices, work the capture cannot record) the
  /// steps are launched one by one, and Module::cudaGraphUse says why.
  /// For calls that repeat with the same values, like a decode step.
  bool cudaGraphs = false;
  /// Module::time only: before each timed run, a copy of this many bytes
  /// between two scratch buffers on each device is queued, untimed, and
  /// not waited for, so that the run's start event and launches are
  /// recorded while the device is still copying. The time is then the
  /// device's span of the run without the host's launch latency (a step
  /// whose launches were queued ahead, as in a model's decode loop or a
  /// harness that clears the L2 before each run), and none of the run's
  /// data is left in the L2 by the previous run. 0: each run starts on an
  /// idle device.
  int64_t queueBehindBytes = 0;
};

/// What CallOptions::cudaGraphs has done for one entry of a module.
struct CudaGraphUse {
  int64_t graphs = 0;     // graphs captured, one per key
  int64_t replays = 0;    // calls that ran as a graph launch
  int64_t plainCalls = 0; // calls that launched the steps one by one
  /// Why graphs are not used for the entry (and no longer tried); empty
  /// while they are or nothing has asked for them.
  std::string notUsed;
};

/// Timing of the timed runs of Module::time, measured by the driver (device
/// events on cuda, a steady clock on cpu), in milliseconds per run.
struct CallTiming {
  double milliseconds = 0;    // the median run
  double minMilliseconds = 0; // the fastest run
  double maxMilliseconds = 0; // the slowest run
  std::vector<double> runs;   // every timed run, in the order they ran
  /// With CallOptions::cudaGraphs: whether the timed runs were launches of
  /// one captured graph, and if not why.
  bool cudaGraph = false;
  std::string cudaGraphNotUsed;
};

/// A loaded artifact on one device.
class Module {
public:
  ~Module();
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;

  const ModuleDesc &desc() const;
  const std::string &label() const;

  /// Binds every parameter of the module from `weights` by name. A missing
  /// parameter, or one whose dtype or shape differs from the compiled spec,
  /// is an error naming it; nothing is bound then.
  absl::Status bindWeights(const SafetensorsFile &weights);
  /// The same from a checkpoint's shards (or one file): each parameter is
  /// read from the file the index maps it to.
  absl::Status bindWeights(const ShardedSafetensors &weights);
  /// Binds every parameter to values made on the device from `seed`, with
  /// no file and no host copy of the weights (benchmarks of models too
  /// large to ship): ones for rank-1 parameters (RMSNorm weights), else
  /// normal(0, `stddev`) values, by the rule of RandomWeights.h. Parameters
  /// must be bf16 or f32; nothing is bound on an error.
  absl::Status bindRandomWeights(uint64_t seed, double stddev = 0.02);

  /// Runs `entry` on `inputs` (by name; exactly the entry's inputs) and
  /// returns its outputs by name. Shapes are checked against the specs, and
  /// the token count must be within the compiled maximum. A bad value the
  /// kernels find (an embedding id outside its table) fails the call with
  /// InvalidArgument naming the op, the tensor, the value and its position.
  absl::StatusOr<TensorMap> call(const std::string &entry,
                                 const TensorMap &inputs);

  /// Like call, with some inputs given as device values: every input of the
  /// entry is in exactly one of `inputs` and `values`. A value is read in
  /// place; a value for an input that a result is tied to is updated in
  /// place, and that result is not in the returned map (it is the value).
  /// A tied input given as a host tensor is copied in, and its result comes
  /// back as an ordinary output. A value must have the input's dtype and
  /// shape, belong to this module's devices, and appear once per call.
  /// A call that fails after its steps ran may have updated its values.
  absl::StatusOr<TensorMap> call(const std::string &entry,
                                 const TensorMap &inputs,
                                 const DeviceValueMap &values);
  /// Like call, run as `options` say (CallOptions::cudaGraphs).
  absl::StatusOr<TensorMap> call(const std::string &entry,
                                 const TensorMap &inputs,
                                 const DeviceValueMap &values,
                                 const CallOptions &options);

  /// What CallOptions::cudaGraphs has done for `entry` so far (all zero
  /// and empty for an entry never called with it).
  CudaGraphUse cudaGraphUse(const std::string &entry) const;

  /// A zero-filled device value for input `input` of `entry`, of the
  /// input's dtype and shape. `shape` is needed only when the input has a
  /// dynamic dim (the token count); it must match the static dims. For an
  /// input split across devices (a lightning state or KV cache split by
  /// heads) each device holds its part; `shape` is the whole tensor's.
  absl::StatusOr<DeviceValue> allocate(const std::string &entry,
                                       const std::string &input,
                                       const std::vector<int64_t> &shape = {});

  /// Like call, but runs the plan `warmup` times untimed and then
  /// `iterations` times timed on inputs already on the device, and reports
  /// the time of each timed run, their median, minimum and maximum. A bad
  /// value found in any run fails it like call. The inputs named in
  /// `restore` are copied from `inputs` to the device again before every
  /// run, outside the timed span: tied inputs a run would otherwise leave
  /// changed for the next (prefill's `cache_lengths`, so that every run
  /// starts the same sequences afresh). The argument words of every launch
  /// are prepared on the first run and reused. With options.cudaGraphs the
  /// timed runs are launches of one graph captured after the warm-up runs
  /// (at least one), where a graph can be made; CallTiming says whether,
  /// and why not.
  absl::StatusOr<CallTiming> time(const std::string &entry,
                                  const TensorMap &inputs, int warmup,
                                  int iterations,
                                  const std::vector<std::string> &restore = {},
                                  const CallOptions &options = {});

private:
  friend class Runtime;
  struct Impl;
  explicit Module(std::unique_ptr<Impl> impl);
  /// bindWeights for any source with SafetensorsFile's get().
  template <typename Weights> absl::Status bindFrom(const Weights &weights);
  std::unique_ptr<Impl> impl_;
};

/// The devices a module runs on ("cpu", "cuda", "cuda:N" or "cuda:N,M,...")
/// and the modules loaded on them. A module compiled for n devices runs on
/// n of them, the same plan on each (SPMD) with collectives between them:
/// "cpu" simulates any number of devices in this process; "cuda" takes
/// devices 0..n-1; a list must name exactly n.
class Runtime {
public:
  ~Runtime();
  Runtime(const Runtime &) = delete;
  Runtime &operator=(const Runtime &) = delete;

  /// Opens `device`. "cuda..." needs the CUDA driver, found at run time; on a
  /// machine without one this fails with a message saying so. Modules of
  /// several cuda devices also need NCCL, found at run time on their load.
  static absl::StatusOr<std::unique_ptr<Runtime>>
  create(const std::string &device);
  /// Opens `device` as rank group.rank of a job of group.worldSize
  /// processes (Distributed.h): joins the job's rendezvous first (every
  /// rank must call this), then opens one device: "cpu", or on cuda the
  /// named one, plain "cuda" taking device group.localRank. A module of n
  /// devices then runs on n ranks, this process holding device `rank`;
  /// its collectives go to the other ranks (NCCL on cuda, the rendezvous's
  /// connections on cpu). A peer that exits or hangs fails every rank's
  /// call with an error naming it, within group.timeoutSeconds.
  static absl::StatusOr<std::unique_ptr<Runtime>>
  create(const std::string &device, const ProcessGroupSpec &group);

  /// Loads and verifies an artifact (see Artifact.h) and prepares its code
  /// for this device; an artifact compiled for another target is an error.
  absl::StatusOr<std::unique_ptr<Module>> load(const std::string &path);
  absl::StatusOr<std::unique_ptr<Module>> load(Artifact artifact);

  const std::string &device() const;
  /// The devices opened so far (grows when a module needs more cpu devices,
  /// or more cuda devices under plain "cuda").
  size_t deviceCount() const;

private:
  Runtime(std::vector<std::shared_ptr<Driver>> drivers, std::string device,
          bool cuda, bool explicitList);
  std::vector<std::shared_ptr<Driver>> drivers_;
  std::string device_;
  bool cuda_;
  bool explicitList_;
  // Set when this process is one rank of a job (create with a group).
  std::shared_ptr<ProcessGroup> group_;
};

} // namespace hymir

#endif // HYMIR_RUNTIME_RUNTIME_H
