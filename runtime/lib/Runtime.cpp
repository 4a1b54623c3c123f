//===- Runtime.cpp - the executor behind Runtime and Module ---------------===//
//
// Module::call checks the inputs against the entry's specs, resolves the
// token symbol, places inputs, outputs and the scratch arena in device
// memory (an input given as a DeviceValue stays where it is, and a tied
// output is its input's storage), and walks the plan. Before each step it
// checks that every element a tensor argument can address lies inside its
// storage, so a wrong plan can never make a kernel read or write outside its
// buffers. A tensor map step encodes its map for the call's addresses and
// sizes and copies it into its buffer, unless the bytes there are the same.
// After the steps it reads the entry's run-time checks (words kernels flag when
// they find a bad value, such as an embedding id outside its table) and fails
// the call with the first one flagged.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Runtime.h"
#include "hymir/Runtime/RandomWeights.h"
#include "hymir/Support/BFloat16.h"
#include "hymir/Support/Names.h"

#include "CallCache.h"
#include "Driver.h"
#include "Rendezvous.h"

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>

namespace hymir {

//===----------------------------------------------------------------------===//
// Tensor
//===----------------------------------------------------------------------===//

static int64_t product(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// The bytes of a tensor of `shape` with `element`-byte elements, or
/// nothing when a dim is negative or the count does not fit in 64 bits.
static std::optional<size_t> tensorBytes(const std::vector<int64_t> &shape,
                                         size_t element) {
  for (int64_t d : shape)
    if (d < 0)
      return std::nullopt;
  if (std::find(shape.begin(), shape.end(), 0) != shape.end())
    return 0;
  size_t bytes = element;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(bytes, static_cast<size_t>(d), &bytes))
      return std::nullopt;
  return bytes;
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)),
      bytes_(static_cast<size_t>(product(shape_)) * dtypeSize(dtype)) {}

int64_t Tensor::numel() const { return product(shape_); }

absl::StatusOr<Tensor> Tensor::fromBytes(DType dtype,
                                         std::vector<int64_t> shape,
                                         const void *data, size_t sizeBytes) {
  for (int64_t d : shape)
    if (d < 0)
      return absl::InvalidArgumentError("tensor shape has a negative dim");
  // Sized before anything is allocated: a shape whose byte count does not
  // fit in 64 bits is an error, never a wrapped-around size.
  size_t element = dtypeSize(dtype);
  std::optional<size_t> need = tensorBytes(shape, element);
  if (!need)
    return absl::InvalidArgumentError(
        absl::StrCat("tensor of ", std::string(dtypeName(dtype)), " ",
                     absl::StrCat("[", absl::StrJoin(shape, ", "), "]"),
                     " needs more than 2^64 bytes, got ", sizeBytes));
  if (*need != sizeBytes)
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor of ", *need / element, " ", std::string(dtypeName(dtype)),
        " elements needs ", *need, " bytes, got ", sizeBytes));
  Tensor t(dtype, std::move(shape));
  if (sizeBytes)
    std::memcpy(t.data(), data, sizeBytes);
  return t;
}

//===----------------------------------------------------------------------===//
// DeviceValue
//===----------------------------------------------------------------------===//

static std::string shapeString(const std::vector<int64_t> &shape);
static std::vector<uint8_t> shardOf(const uint8_t *data,
                                    const std::vector<int64_t> &shape,
                                    size_t elementBytes, int32_t dim,
                                    size_t part, size_t parts);
static void unshard(uint8_t *data, const std::vector<int64_t> &shape,
                    size_t elementBytes, int32_t dim, size_t part, size_t parts,
                    const uint8_t *from);

/// One buffer per device of the module it was allocated for, each holding
/// the whole tensor, or (an input split across devices: a lightning state
/// or KV cache split by heads) device d's part firstPart + d of `parts`
/// along `shardDim`. `shape` and `bytes` are the whole tensor's.
struct DeviceValue::Impl {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  size_t bytes = 0;
  int32_t shardDim = -1;
  size_t parts = 1, firstPart = 0;
  std::vector<std::shared_ptr<Driver>> drivers;
  std::vector<std::unique_ptr<DeviceBuffer>> buffers;
};

DeviceValue::DeviceValue() = default;
DeviceValue::~DeviceValue() = default;
DeviceValue::DeviceValue(DeviceValue &&) noexcept = default;
DeviceValue &DeviceValue::operator=(DeviceValue &&) noexcept = default;

static const std::vector<int64_t> kNoShape;

DType DeviceValue::dtype() const { return impl_ ? impl_->dtype : DType::F32; }
const std::vector<int64_t> &DeviceValue::shape() const {
  return impl_ ? impl_->shape : kNoShape;
}
size_t DeviceValue::sizeBytes() const { return impl_ ? impl_->bytes : 0; }

absl::Status DeviceValue::upload(const Tensor &tensor) {
  if (!impl_)
    return absl::FailedPreconditionError(
        "device value upload: the value is empty (moved from or never "
        "allocated)");
  if (tensor.dtype() != impl_->dtype || tensor.shape() != impl_->shape)
    return absl::InvalidArgumentError(absl::StrCat(
        "device value upload: the tensor is ",
        std::string(dtypeName(tensor.dtype())), " ",
        shapeString(tensor.shape()), ", the value ",
        std::string(dtypeName(impl_->dtype)), " ", shapeString(impl_->shape)));
  for (size_t d = 0; d < impl_->buffers.size(); ++d) {
    const void *data = tensor.data();
    size_t bytes = impl_->bytes;
    std::vector<uint8_t> part;
    if (impl_->shardDim >= 0) {
      part = shardOf(static_cast<const uint8_t *>(tensor.data()), impl_->shape,
                     dtypeSize(impl_->dtype), impl_->shardDim,
                     impl_->firstPart + d, impl_->parts);
      data = part.data();
      bytes = part.size();
    }
    if (absl::Status s = impl_->drivers[d]->copyToDevice(
            impl_->buffers[d]->data(), data, bytes);
        !s.ok())
      return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<Tensor> DeviceValue::download() const {
  if (!impl_)
    return absl::FailedPreconditionError(
        "device value download: the value is empty (moved from or never "
        "allocated)");
  Tensor t(impl_->dtype, impl_->shape);
  if (impl_->shardDim >= 0) {
    // Split: the parts of every device, which only a process holding all
    // of them has.
    if (impl_->buffers.size() != impl_->parts)
      return absl::FailedPreconditionError(absl::StrCat(
          "device value download: the value is split across ", impl_->parts,
          " devices along dim ", impl_->shardDim, " and this process holds ",
          impl_->buffers.size(), " of them"));
    size_t partBytes = impl_->bytes / impl_->parts;
    std::vector<uint8_t> part(partBytes);
    for (size_t d = 0; d < impl_->buffers.size(); ++d) {
      if (absl::Status s = impl_->drivers[d]->copyToHost(
              part.data(), impl_->buffers[d]->data(), partBytes);
          !s.ok())
        return s;
      unshard(static_cast<uint8_t *>(t.data()), impl_->shape,
              dtypeSize(impl_->dtype), impl_->shardDim, d, impl_->parts,
              part.data());
    }
    return t;
  }
  if (absl::Status s = impl_->drivers[0]->copyToHost(
          t.data(), impl_->buffers[0]->data(), impl_->bytes);
      !s.ok())
    return s;
  return t;
}

//===----------------------------------------------------------------------===//
// Module
//===----------------------------------------------------------------------===//

static std::string shapeString(const std::vector<int64_t> &shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

/// The bytes of part `part` of `parts` equal contiguous parts of a
/// row-major tensor along `dim` (which the artifact's validation made
/// divisible), gathered into one contiguous block.
/// How a row-major tensor splits along one dimension: `outer` runs of
/// `extent` rows of `inner` bytes, each part `chunk` rows of every run.
struct SplitRuns {
  size_t outer = 1, inner, extent, chunk;
  SplitRuns(const std::vector<int64_t> &shape, size_t elementBytes, int32_t dim,
            size_t parts)
      : inner(elementBytes), extent(static_cast<size_t>(shape[dim])),
        chunk(extent / parts) {
    for (int32_t d = 0; d < dim; ++d)
      outer *= static_cast<size_t>(shape[d]);
    for (size_t d = dim + 1; d < shape.size(); ++d)
      inner *= static_cast<size_t>(shape[d]);
  }
};

static std::vector<uint8_t> shardOf(const uint8_t *data,
                                    const std::vector<int64_t> &shape,
                                    size_t elementBytes, int32_t dim,
                                    size_t part, size_t parts) {
  SplitRuns r(shape, elementBytes, dim, parts);
  std::vector<uint8_t> out(r.outer * r.chunk * r.inner);
  for (size_t o = 0; o < r.outer; ++o)
    std::memcpy(out.data() + o * r.chunk * r.inner,
                data + (o * r.extent + part * r.chunk) * r.inner,
                r.chunk * r.inner);
  return out;
}

/// The inverse of shardOf: part `part` (contiguous, as shardOf makes it)
/// written into its place in the whole tensor at `data`.
static void unshard(uint8_t *data, const std::vector<int64_t> &shape,
                    size_t elementBytes, int32_t dim, size_t part, size_t parts,
                    const uint8_t *from) {
  SplitRuns r(shape, elementBytes, dim, parts);
  for (size_t o = 0; o < r.outer; ++o)
    std::memcpy(data + (o * r.extent + part * r.chunk) * r.inner,
                from + o * r.chunk * r.inner, r.chunk * r.inner);
}

struct Module::Impl {
  /// A tensor map's bytes as last written to its target.
  struct TensorMapSlot {
    std::unique_ptr<DeviceBuffer> staging;
    std::array<uint8_t, kTensorMapBytes> bytes{};
    uint64_t copiedInEpoch = 0;
  };

  /// What one device of the module holds. A module runs on every device of
  /// its group (SPMD): the same plan, each device on its own storage.
  struct Device {
    std::shared_ptr<Driver> driver;
    std::vector<CodeHandle> code;
    std::vector<KernelHandle> kernels;
    std::vector<std::unique_ptr<DeviceBuffer>> params;
    std::map<std::string, std::unique_ptr<DeviceBuffer>> arenas;
    // Per tensor map target (an address in an arena, which lives as long
    // as the module): the bytes last written there, from page-locked
    // staging memory that must not change while the copy may run.
    std::map<const void *, TensorMapSlot> tensorMaps;
    // Bumped whenever the device is known idle (after a call's
    // synchronize): a staging area copied from in an earlier epoch is free.
    uint64_t syncEpoch = 0;
  };

  Impl(Artifact artifact) : artifact(std::move(artifact)) {}

  Artifact artifact;
  std::vector<Device> devices;
  // Present when there is more than one device (and on one cuda device
  // whose plan holds collectives: NCCL for one rank, oneRankCollectives).
  std::unique_ptr<Collectives> collectives;
  bool oneRankCollectives = false;
  // One rank of a job of several processes (Distributed.h): `devices`
  // holds this process's devices, the group's devices firstDevice,
  // firstDevice + 1, ... of groupDevices (0: not a job, every device here).
  size_t firstDevice = 0, groupDevices = 0;
  /// The devices the module's plan runs on, in this process or not: how
  /// many parts a split tensor has.
  size_t parts() const { return groupDevices ? groupDevices : devices.size(); }

  const ModuleDesc &desc() const { return artifact.module(); }
  ~Impl() {
    // Graphs and kept calls go before the code their kernels are in.
    graphs.clear();
    for (Device &d : devices)
      for (CodeHandle c : d.code)
        d.driver->unloadCode(c);
  }

  /// One device's memory in a call.
  struct DeviceFrame {
    // Where each input and output lives: a buffer of `owned`, a device
    // value's buffer, or (a tied output) its input's.
    std::vector<DeviceBuffer *> inputs, outputs;
    std::vector<std::unique_ptr<DeviceBuffer>> owned;
    DeviceBuffer *arena = nullptr;
    // The entry's run-time checks, kCheckWords int64 words each.
    std::unique_ptr<DeviceBuffer> checks;
  };
  /// Device memory and resolved sizes of one call.
  struct Frame {
    const EntryDesc *entry = nullptr;
    std::vector<int64_t> symbols;
    std::vector<DeviceFrame> devices;
    std::vector<std::vector<int64_t>> outputShapes;
    // Per input: true when a device value supplied it.
    std::vector<bool> fromValue;
    // A launch's grid and argument words, prepared on its first run when
    // the frame runs again (kept calls, Module::time): [device][step];
    // empty when the frame runs once.
    struct PreparedLaunch {
      bool ready = false;
      bool skip = false; // a guard or an empty grid: nothing to launch
      std::array<int64_t, 3> grid{};
      std::vector<uint64_t> words;
    };
    std::vector<std::vector<PreparedLaunch>> launches;
    // Set while the steps are being captured into a graph: tensor map
    // steps are skipped (written before the capture, see captureGraph).
    bool capturing = false;
  };

  /// A captured call: one graph per device, each replayed on its stream.
  using Graphs = std::vector<std::unique_ptr<StreamGraph>>;
  /// A tensor map a graph's kernels read: its device, where, and its bytes.
  struct KeptTensorMap {
    size_t device;
    void *target;
    std::array<uint8_t, kTensorMapBytes> bytes;
  };

  /// A call's frame kept for the next call of the same key
  /// (CallOptions::cudaGraphs), with the graph captured from it.
  struct KeptCall {
    Frame frame;
    // Page-locked staging that host inputs reach the device through:
    // [device][input], null for inputs device values supply.
    std::vector<std::vector<std::unique_ptr<DeviceBuffer>>> staging;
    // One graph per device (empty until captured).
    Graphs graph;
    // The tensor maps the graphs' kernels read: written before the capture
    // and again before a replay when another call changed them.
    std::vector<KeptTensorMap> tensorMaps;
    int64_t runs = 0;
    // The run-time check words may be flagged (a call that failed or
    // stopped before reading them): cleared before the next run.
    bool checksDirty = false;
  };
  static constexpr size_t kKeptCallsPerEntry = 8;
  struct EntryGraphs {
    CallCache<KeptCall> calls{kKeptCallsPerEntry};
    CudaGraphUse use;
  };
  std::map<std::string, EntryGraphs> graphs;

  absl::StatusOr<Frame> prepare(const std::string &name,
                                const TensorMap &inputs,
                                const DeviceValueMap &values = {});
  /// The checks and sizes of prepare without device storage: inputs given
  /// as host tensors are null in the frame until place() puts them there.
  absl::StatusOr<Frame> resolve(const std::string &name,
                                const TensorMap &inputs,
                                const DeviceValueMap &values);
  /// Device storage for a resolved frame: host inputs copied in, outputs,
  /// the entry's arena and its run-time checks (clear).
  absl::Status place(Frame &frame, const TensorMap &inputs);
  absl::Status clearChecks(Frame &frame);
  absl::Status execute(Frame &frame);
  /// The frame's kept call for `inputs` and `values` (made on a miss), its
  /// host inputs copied in and its device values current.
  absl::StatusOr<KeptCall *> keptCall(const std::string &name,
                                      const TensorMap &inputs,
                                      const DeviceValueMap &values);
  /// Runs a kept call: a graph replay, a capture and launch, or the steps
  /// one by one, as CallOptions::cudaGraphs describes.
  absl::Status runKept(EntryGraphs &graphs, KeptCall &kept);
  /// Why graphs cannot be made for this module's calls of `entry`, or
  /// empty.
  std::string graphsUnavailable(const EntryDesc &entry) const;
  /// Enqueues each device's graph on that device's stream.
  absl::Status launchGraphs(const Graphs &graphs);
  /// Captures the frame's steps into a graph (not running them); tensor
  /// maps are written first and recorded in `tensorMaps`.
  absl::StatusOr<Graphs> captureGraph(Frame &frame,
                                      std::vector<KeptTensorMap> &tensorMaps);
  /// Synchronizes, reads the run-time checks, and copies the outputs that
  /// are not device values to the host.
  absl::StatusOr<TensorMap> finish(Frame &frame);
  absl::Status readChecks(Frame &frame);
  absl::Status executeOn(Frame &frame, size_t device, size_t i,
                         absl::FunctionRef<std::string()> where);
  /// A launch step's grid and argument words for this frame (`skip` when a
  /// guard or an empty grid leaves nothing to launch), every tensor
  /// argument checked to address nothing outside its storage.
  absl::Status prepareLaunch(Frame &frame, size_t device,
                             const LaunchKernelDesc &launch,
                             absl::FunctionRef<std::string()> where,
                             Frame::PreparedLaunch &prepared);
  absl::Status collective(Frame &frame, const CollectiveDesc &c,
                          absl::FunctionRef<std::string()> where);
  absl::Status allToAll(Frame &frame, const CollectiveDesc &c, size_t bytes,
                        absl::FunctionRef<std::string()> where);
  /// Writes each device's index (one i32) at the step's destination.
  absl::Status deviceIndex(Frame &frame, const CollectiveDesc &c,
                           absl::FunctionRef<std::string()> where);
  // Per device, staging memory holding its index (made on first use).
  std::vector<std::unique_ptr<DeviceBuffer>> indexStaging;
  absl::StatusOr<std::pair<uint8_t *, size_t>>
  storage(Frame &frame, size_t device, const RefDesc &ref,
          absl::FunctionRef<std::string()> where);
  /// A tensor's first element and its sizes and strides at this call,
  /// checked to address nothing outside its storage.
  struct PlacedTensor {
    uint8_t *data;
    std::vector<int64_t> sizes, strides;
  };
  absl::StatusOr<PlacedTensor>
  placeTensor(Frame &frame, size_t device, const RefDesc &ref, DType dtype,
              const std::vector<SizeExprSpec> &sizes,
              const std::vector<SizeExprSpec> &strides,
              absl::FunctionRef<std::string()> where);
  /// Encodes a tensor map step's map and writes it to its target, unless
  /// the same bytes were the last written there.
  absl::Status tensorMap(Frame &frame, size_t device, const TensorMapDesc &map,
                         absl::FunctionRef<std::string()> where,
                         void **written = nullptr);
  /// Writes `bytes` to a tensor map target through its staging memory,
  /// unless they are the ones last written there.
  absl::Status writeTensorMap(size_t device, void *target,
                              const std::array<uint8_t, kTensorMapBytes> &bytes,
                              absl::FunctionRef<std::string()> where);
};

Module::Module(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Module::~Module() = default;
const ModuleDesc &Module::desc() const { return impl_->desc(); }
const std::string &Module::label() const { return impl_->artifact.label(); }

static std::vector<int64_t> staticShape(const TensorSpecDesc &spec) {
  std::vector<int64_t> shape;
  for (const SizeExprSpec &s : spec.shape)
    shape.push_back(s.constant);
  return shape;
}

absl::Status Module::bindWeights(const SafetensorsFile &weights) {
  return bindFrom(weights);
}

absl::Status Module::bindWeights(const ShardedSafetensors &weights) {
  return bindFrom(weights);
}

template <typename Weights>
absl::Status Module::bindFrom(const Weights &weights) {
  const ModuleDesc &m = impl_->desc();
  size_t n = impl_->devices.size();
  std::vector<std::vector<std::unique_ptr<DeviceBuffer>>> bound(n);
  for (const TensorSpecDesc &p : m.params) {
    std::vector<int64_t> shape = staticShape(p);
    absl::StatusOr<TensorView> view = weights.get(p.name, p.dtype, shape);
    if (!view.ok())
      return absl::Status(view.status().code(),
                          absl::StrCat(label(), ": parameter binding: ",
                                       view.status().message()));
    for (size_t d = 0; d < n; ++d) {
      // A sharded parameter: device d gets its part only.
      std::vector<uint8_t> part;
      const void *data = view->data;
      size_t bytes = view->sizeBytes;
      if (p.shardDim >= 0 && impl_->parts() > 1) {
        part = shardOf(static_cast<const uint8_t *>(view->data), shape,
                       dtypeSize(p.dtype), p.shardDim, impl_->firstDevice + d,
                       impl_->parts());
        data = part.data();
        bytes = part.size();
      }
      Driver &driver = *impl_->devices[d].driver;
      absl::StatusOr<std::unique_ptr<DeviceBuffer>> buffer =
          driver.allocate(bytes);
      if (!buffer.ok())
        return absl::Status(buffer.status().code(),
                            absl::StrCat(label(), ": parameter '", p.name,
                                         "' on device ", d, ": ",
                                         buffer.status().message()));
      if (absl::Status s = driver.copyToDevice((*buffer)->data(), data, bytes);
          !s.ok())
        return s;
      bound[d].push_back(std::move(*buffer));
    }
  }
  for (size_t d = 0; d < n; ++d)
    impl_->devices[d].params = std::move(bound[d]);
  return absl::OkStatus();
}

absl::Status Module::bindRandomWeights(uint64_t seed, double stddev) {
  namespace rw = random_weights;
  const ModuleDesc &m = impl_->desc();
  for (const TensorSpecDesc &p : m.params)
    if (p.dtype != DType::BF16 && p.dtype != DType::F32)
      return absl::InvalidArgumentError(absl::StrCat(
          label(), ": random weights are made for bf16 and f32 parameters; '",
          printableName(p.name), "' is ", std::string(dtypeName(p.dtype))));
  if (!(stddev > 0) || !std::isfinite(stddev))
    return absl::InvalidArgumentError(absl::StrCat(
        label(), ": random weights need a positive standard deviation, got ",
        stddev));
  // The block twice over, so that any rotation of it is one contiguous
  // copy, and ones; per dtype the module uses, on every device.
  std::vector<double> normal = rw::normalBlock(seed);
  const size_t period = static_cast<size_t>(rw::kPeriod);
  auto hostBlock = [&](DType dtype, bool ones) {
    size_t es = dtypeSize(dtype);
    std::vector<uint8_t> bytes(2 * period * es);
    for (size_t k = 0; k < 2 * period; ++k) {
      float f = ones ? 1.0f : static_cast<float>(stddev * normal[k % period]);
      if (dtype == DType::BF16) {
        uint16_t h = floatToBf16(f);
        std::memcpy(bytes.data() + 2 * k, &h, 2);
      } else {
        std::memcpy(bytes.data() + 4 * k, &f, 4);
      }
    }
    return bytes;
  };
  size_t n = impl_->devices.size();
  // scratch[d][(dtype, ones)]
  std::vector<std::map<std::pair<DType, bool>, std::unique_ptr<DeviceBuffer>>>
      scratch(n);
  std::vector<std::vector<std::unique_ptr<DeviceBuffer>>> bound(n);
  for (const TensorSpecDesc &p : m.params) {
    std::vector<int64_t> shape = staticShape(p);
    const bool ones = shape.size() == 1;
    const size_t es = dtypeSize(p.dtype);
    std::optional<size_t> whole = tensorBytes(shape, es);
    if (!whole)
      return absl::OutOfRangeError(absl::StrCat(
          label(), ": parameter '", printableName(p.name), "' of shape ",
          shapeString(shape), " needs more than 2^64 bytes"));
    const size_t offset = static_cast<size_t>(rw::offsetOf(p.name));
    for (size_t d = 0; d < n; ++d) {
      Driver &driver = *impl_->devices[d].driver;
      size_t bytes = *whole;
      if (p.shardDim >= 0 && impl_->parts() > 1) {
        // Device d's part, as bindWeights copies it (shardOf).
        size_t extent =
            static_cast<size_t>(shape[static_cast<size_t>(p.shardDim)]);
        bytes = extent ? bytes / extent * (extent / impl_->parts()) : 0;
      }
      std::unique_ptr<DeviceBuffer> &block = scratch[d][{p.dtype, ones}];
      if (!block) {
        std::vector<uint8_t> host = hostBlock(p.dtype, ones);
        absl::StatusOr<std::unique_ptr<DeviceBuffer>> buffer =
            driver.allocate(host.size());
        if (!buffer.ok())
          return buffer.status();
        if (absl::Status s = driver.copyToDevice((*buffer)->data(), host.data(),
                                                 host.size());
            !s.ok())
          return s;
        block = std::move(*buffer);
      }
      absl::StatusOr<std::unique_ptr<DeviceBuffer>> buffer =
          driver.allocate(bytes);
      if (!buffer.ok())
        return absl::Status(buffer.status().code(),
                            absl::StrCat(label(), ": parameter '", p.name,
                                         "' on device ", d, ": ",
                                         buffer.status().message()));
      // `length` bytes of the parameter's values from element `start` on:
      // the first period from the block, rotated to the element's place,
      // then the filled part copied onto the rest, doubling it each time.
      uint8_t *dst = static_cast<uint8_t *>((*buffer)->data());
      const uint8_t *src = static_cast<const uint8_t *>(block->data());
      auto fill = [&](uint8_t *to, size_t start,
                      size_t length) -> absl::Status {
        size_t filled = std::min(length, period * es);
        if (filled)
          if (absl::Status s = driver.copyOnDevice(
                  to,
                  src + (ones ? 0 : (offset + start % period) % period * es),
                  filled);
              !s.ok())
            return s;
        while (filled < length) {
          size_t chunk = std::min(filled, length - filled);
          if (absl::Status s = driver.copyOnDevice(to + filled, to, chunk);
              !s.ok())
            return s;
          filled += chunk;
        }
        return absl::OkStatus();
      };
      if (p.shardDim >= 0 && impl_->parts() > 1) {
        // Device d's part holds the whole parameter's values at its place
        // (so a sharded module computes what the unsharded one does with
        // the same seed): one fill per run of the split.
        SplitRuns r(shape, es, p.shardDim, impl_->parts());
        size_t part = impl_->firstDevice + d, runBytes = r.chunk * r.inner;
        for (size_t o = 0; o < r.outer && runBytes; ++o)
          if (absl::Status s = fill(
                  dst + o * runBytes,
                  (o * r.extent + part * r.chunk) * (r.inner / es), runBytes);
              !s.ok())
            return s;
      } else if (absl::Status s = fill(dst, 0, bytes); !s.ok()) {
        return s;
      }
      bound[d].push_back(std::move(*buffer));
    }
  }
  for (size_t d = 0; d < n; ++d)
    if (absl::Status s = impl_->devices[d].driver->synchronize(); !s.ok())
      return s;
  for (size_t d = 0; d < n; ++d)
    impl_->devices[d].params = std::move(bound[d]);
  return absl::OkStatus();
}

absl::StatusOr<Module::Impl::Frame>
Module::Impl::prepare(const std::string &name, const TensorMap &inputs,
                      const DeviceValueMap &values) {
  absl::StatusOr<Frame> frame = resolve(name, inputs, values);
  if (!frame.ok())
    return frame.status();
  if (absl::Status s = place(*frame, inputs); !s.ok())
    return s;
  return frame;
}

absl::StatusOr<Module::Impl::Frame>
Module::Impl::resolve(const std::string &name, const TensorMap &inputs,
                      const DeviceValueMap &values) {
  const std::string &label = artifact.label();
  const EntryDesc *entry = artifact.findEntry(name);
  if (!entry) {
    std::vector<std::string> names;
    for (const EntryDesc &e : desc().entries)
      names.push_back(printableName(e.name));
    return absl::NotFoundError(
        absl::StrCat(label, ": no entry '", printableName(name),
                     "'; entries: ", absl::StrJoin(names, ", ")));
  }
  if (!desc().params.empty() &&
      devices[0].params.size() != desc().params.size())
    return absl::FailedPreconditionError(absl::StrCat(
        label, ": the module has ", desc().params.size(),
        " parameters (first '", printableName(desc().params[0].name),
        "') and none are bound: bind them from a safetensors file first "
        "(Module::bindWeights, hymir_module_bind_weights in C, "
        "hymir-run --weights)"));

  Frame frame;
  frame.entry = entry;
  frame.devices.resize(devices.size());
  std::string where =
      absl::StrCat(label, ": entry '", printableName(name), "'");
  auto unknownInput = [&](const std::string &inputName) {
    std::vector<std::string> names;
    for (const TensorSpecDesc &s : entry->inputs)
      names.push_back(printableName(s.name));
    return absl::InvalidArgumentError(
        absl::StrCat(where, " has no input '", printableName(inputName),
                     "'; its inputs are: ", absl::StrJoin(names, ", ")));
  };
  auto hasInput = [&](const std::string &inputName) {
    return std::any_of(
        entry->inputs.begin(), entry->inputs.end(),
        [&](const TensorSpecDesc &s) { return s.name == inputName; });
  };
  for (const auto &input : inputs)
    if (!hasInput(input.first))
      return unknownInput(input.first);
  // Device values: known inputs, not also given as tensors, valid, each
  // passed once, on this module's devices, whole.
  std::map<const DeviceValue::Impl *, std::string> seen;
  for (const auto &[inputName, value] : values) {
    if (!hasInput(inputName))
      return unknownInput(inputName);
    std::string what = absl::StrCat(where, ": device value for input '",
                                    printableName(inputName), "'");
    if (inputs.count(inputName))
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": input '", printableName(inputName),
                       "' is given both as a host tensor and as a device "
                       "value"));
    if (!value || !value->impl_)
      return absl::InvalidArgumentError(absl::StrCat(
          what, " is empty (null, moved from or never allocated)"));
    auto [it, inserted] = seen.emplace(value->impl_.get(), inputName);
    if (!inserted)
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": the same device value is passed for inputs '",
          printableName(it->second), "' and '", printableName(inputName),
          "'; a value is passed once per call"));
    const std::vector<std::shared_ptr<Driver>> &owners = value->impl_->drivers;
    bool ours = owners.size() == devices.size();
    for (size_t d = 0; ours && d < devices.size(); ++d)
      ours = owners[d] == devices[d].driver;
    if (!ours)
      return absl::InvalidArgumentError(absl::StrCat(
          what, " belongs to other devices (another runtime, or a module on ",
          "other devices): allocate it from this module"));
  }
  auto dtypeOf = [&](const TensorSpecDesc &spec) {
    if (auto it = inputs.find(spec.name); it != inputs.end())
      return it->second.dtype();
    return values.at(spec.name)->dtype();
  };
  auto shapeOf =
      [&](const TensorSpecDesc &spec) -> const std::vector<int64_t> * {
    if (auto it = inputs.find(spec.name); it != inputs.end())
      return &it->second.shape();
    if (auto it = values.find(spec.name); it != values.end())
      return &it->second->shape();
    return nullptr;
  };

  // Symbols come from the dims that define them.
  for (const SymbolDesc &s : entry->symbols) {
    const TensorSpecDesc &spec = entry->inputs[s.input];
    const std::vector<int64_t> *given = shapeOf(spec);
    if (!given)
      return absl::InvalidArgumentError(absl::StrCat(
          where, " is missing input '", printableName(spec.name), "'"));
    if (given->size() != spec.shape.size())
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": input '", printableName(spec.name), "' has rank ",
          given->size(), ", expected ", spec.shape.size()));
    int64_t value = (*given)[s.dim];
    if (value < 1 || value > s.max)
      return absl::OutOfRangeError(
          absl::StrCat(where, ": ", s.name, " = ", value, " (dim ", s.dim,
                       " of '", printableName(spec.name), "') must be in [1, ",
                       s.max, "], the range the artifact was compiled for"));
    frame.symbols.push_back(value);
  }

  auto resolve =
      [&](const TensorSpecDesc &spec) -> absl::StatusOr<std::vector<int64_t>> {
    std::vector<int64_t> shape;
    for (const SizeExprSpec &e : spec.shape) {
      absl::StatusOr<int64_t> v = evaluate(e, frame.symbols);
      if (!v.ok())
        return v.status();
      shape.push_back(*v);
    }
    return shape;
  };

  for (const TensorSpecDesc &spec : entry->inputs) {
    const std::vector<int64_t> *given = shapeOf(spec);
    if (!given)
      return absl::InvalidArgumentError(absl::StrCat(
          where, " is missing input '", printableName(spec.name), "'"));
    absl::StatusOr<std::vector<int64_t>> shape = resolve(spec);
    if (!shape.ok())
      return shape.status();
    auto value = values.find(spec.name);
    bool isValue = value != values.end();
    if (dtypeOf(spec) != spec.dtype || *given != *shape)
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": input '", printableName(spec.name), "' is ",
          isValue ? "a device value of " : "",
          std::string(dtypeName(dtypeOf(spec))), " ", shapeString(*given),
          ", expected ", std::string(dtypeName(spec.dtype)), " ",
          shapeString(*shape)));
    frame.fromValue.push_back(isValue);
    size_t n = devices.size();
    if (isValue) {
      // Read (and, tied, written) in place: a split input's value holds
      // each device's part (Module::allocate for it).
      int32_t want = parts() > 1 ? static_cast<int32_t>(spec.shardDim) : -1;
      const DeviceValue::Impl &v = *value->second->impl_;
      if (v.shardDim != want || v.buffers.size() != n)
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": input '", printableName(spec.name), "' is ",
            want >= 0 ? absl::StrCat("split along dim ", want, " across ",
                                     parts(), " devices")
                      : std::string("whole on every device"),
            "; the device value given for it is ",
            v.shardDim >= 0 ? absl::StrCat("split along dim ", v.shardDim)
                            : std::string("whole"),
            " on ", v.buffers.size(),
            " devices (allocate it for this input of this module)"));
      for (size_t d = 0; d < n; ++d)
        frame.devices[d].inputs.push_back(
            value->second->impl_->buffers[d].get());
      continue;
    }
    // A host tensor: placed in device storage by place().
    for (size_t d = 0; d < n; ++d)
      frame.devices[d].inputs.push_back(nullptr);
  }
  for (const TensorSpecDesc &spec : entry->outputs) {
    absl::StatusOr<std::vector<int64_t>> shape = resolve(spec);
    if (!shape.ok())
      return shape.status();
    if (spec.tiedTo < 0 && !tensorBytes(*shape, dtypeSize(spec.dtype)))
      return absl::OutOfRangeError(absl::StrCat(
          where, ": output '", printableName(spec.name), "' of shape ",
          shapeString(*shape), " needs more than 2^64 bytes"));
    frame.outputShapes.push_back(*shape);
  }
  return frame;
}

/// The bytes of host tensor `t` for input `spec` that device `d` of `n`
/// holds: all of it, or its part of a sharded input (copied into `part`).
static std::pair<const void *, size_t>
inputBytesFor(const TensorSpecDesc &spec, const Tensor &t, size_t d, size_t n,
              std::vector<uint8_t> &part) {
  if (spec.shardDim < 0 || n == 1)
    return {t.data(), t.sizeBytes()};
  part =
      shardOf(t.data(), t.shape(), dtypeSize(t.dtype()), spec.shardDim, d, n);
  return {part.data(), part.size()};
}

absl::Status Module::Impl::place(Frame &frame, const TensorMap &inputs) {
  const EntryDesc *entry = frame.entry;
  const std::string &name = entry->name;
  size_t n = devices.size();
  for (size_t i = 0; i < entry->inputs.size(); ++i) {
    if (frame.fromValue[i])
      continue;
    const TensorSpecDesc &spec = entry->inputs[i];
    const Tensor &t = inputs.at(spec.name);
    for (size_t d = 0; d < n; ++d) {
      // A sharded input: device d gets its part only.
      std::vector<uint8_t> part;
      auto [data, bytes] =
          inputBytesFor(spec, t, firstDevice + d, parts(), part);
      Driver &driver = *devices[d].driver;
      absl::StatusOr<std::unique_ptr<DeviceBuffer>> buffer =
          driver.allocate(bytes);
      if (!buffer.ok())
        return buffer.status();
      if (absl::Status s = driver.copyToDevice((*buffer)->data(), data, bytes);
          !s.ok())
        return s;
      frame.devices[d].inputs[i] = buffer->get();
      frame.devices[d].owned.push_back(std::move(*buffer));
    }
  }
  for (size_t o = 0; o < entry->outputs.size(); ++o) {
    const TensorSpecDesc &spec = entry->outputs[o];
    for (size_t d = 0; d < n; ++d) {
      // A tied output is its input's storage (validated: same dtype and
      // shape).
      if (spec.tiedTo >= 0) {
        frame.devices[d].outputs.push_back(
            frame.devices[d].inputs[spec.tiedTo]);
        continue;
      }
      // Checked in resolve().
      size_t bytes = *tensorBytes(frame.outputShapes[o], dtypeSize(spec.dtype));
      absl::StatusOr<std::unique_ptr<DeviceBuffer>> buffer =
          devices[d].driver->allocate(bytes);
      if (!buffer.ok())
        return buffer.status();
      frame.devices[d].outputs.push_back(buffer->get());
      frame.devices[d].owned.push_back(std::move(*buffer));
    }
  }
  // The arena is sized for the symbols' maxima: allocated once per entry.
  for (size_t d = 0; d < devices.size(); ++d) {
    std::unique_ptr<DeviceBuffer> &arena = devices[d].arenas[name];
    if (!arena) {
      absl::StatusOr<std::unique_ptr<DeviceBuffer>> buffer =
          devices[d].driver->allocate(entry->arenaBytes);
      if (!buffer.ok())
        return buffer.status();
      arena = std::move(*buffer);
    }
    frame.devices[d].arena = arena.get();
  }
  // Run-time checks start clear: kernels only ever lower word 0.
  if (!entry->checks.empty()) {
    std::vector<int64_t> clear(entry->checks.size() * kCheckWords, 0);
    for (size_t i = 0; i < entry->checks.size(); ++i)
      clear[i * kCheckWords] = kCheckClear;
    size_t bytes = clear.size() * sizeof(int64_t);
    for (size_t d = 0; d < devices.size(); ++d) {
      absl::StatusOr<std::unique_ptr<DeviceBuffer>> buffer =
          devices[d].driver->allocate(bytes);
      if (!buffer.ok())
        return buffer.status();
      if (absl::Status s = devices[d].driver->copyToDevice((*buffer)->data(),
                                                           clear.data(), bytes);
          !s.ok())
        return s;
      frame.devices[d].checks = std::move(*buffer);
    }
  }
  return absl::OkStatus();
}

absl::Status Module::Impl::clearChecks(Frame &frame) {
  const EntryDesc &entry = *frame.entry;
  if (entry.checks.empty())
    return absl::OkStatus();
  std::vector<int64_t> clear(entry.checks.size() * kCheckWords, 0);
  for (size_t i = 0; i < entry.checks.size(); ++i)
    clear[i * kCheckWords] = kCheckClear;
  for (size_t d = 0; d < devices.size(); ++d)
    if (absl::Status s = devices[d].driver->copyToDevice(
            frame.devices[d].checks->data(), clear.data(),
            clear.size() * sizeof(int64_t));
        !s.ok())
      return s;
  return absl::OkStatus();
}

absl::Status Module::Impl::readChecks(Frame &frame) {
  const EntryDesc &entry = *frame.entry;
  if (entry.checks.empty())
    return absl::OkStatus();
  std::vector<std::vector<int64_t>> words(devices.size());
  for (size_t d = 0; d < devices.size(); ++d) {
    words[d].resize(entry.checks.size() * kCheckWords);
    if (absl::Status s = devices[d].driver->copyToHost(
            words[d].data(), frame.devices[d].checks->data(),
            words[d].size() * sizeof(int64_t));
        !s.ok())
      return s;
  }
  // The first flagged check in the entry's order, on the first device that
  // flagged it; its word 0 names the lowest bad position.
  for (size_t i = 0; i < entry.checks.size(); ++i)
    for (size_t d = 0; d < devices.size(); ++d) {
      int64_t key = words[d][i * kCheckWords];
      if (key == kCheckClear)
        continue;
      const CheckDesc &c = entry.checks[i];
      int64_t position = key >> 32;
      auto value = static_cast<int32_t>(static_cast<uint32_t>(key));
      int64_t bound = words[d][i * kCheckWords + 1];
      std::string subject = printableName(c.checkedOp);
      if (!c.tensor.empty())
        absl::StrAppend(&subject, " '", printableName(c.tensor), "'");
      else if (!c.location.empty())
        absl::StrAppend(&subject, " at ", printableName(c.location));
      return absl::InvalidArgumentError(absl::StrCat(
          artifact.label(), ": entry '", printableName(entry.name),
          "': ", subject, ": ", printableName(c.value), " ", value,
          position >= kCheckMaxPosition ? " at a position at or past "
                                        : " at position ",
          position, " is outside [0, ", bound, ")",
          devices.size() > 1 ? absl::StrCat(" (device ", d, ")") : ""));
    }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<uint8_t *, size_t>>
Module::Impl::storage(Frame &frame, size_t device, const RefDesc &ref,
                      absl::FunctionRef<std::string()> where) {
  DeviceFrame &local = frame.devices[device];
  uint8_t *base = nullptr;
  size_t size = 0;
  switch (ref.kind) {
  case StorageKind::Input:
    base = static_cast<uint8_t *>(local.inputs[ref.index]->data());
    size = local.inputs[ref.index]->size();
    break;
  case StorageKind::Output:
    base = static_cast<uint8_t *>(local.outputs[ref.index]->data());
    size = local.outputs[ref.index]->size();
    break;
  case StorageKind::Param:
    base = static_cast<uint8_t *>(devices[device].params[ref.index]->data());
    size = devices[device].params[ref.index]->size();
    break;
  case StorageKind::Buffer: {
    const BufferSlotDesc &slot = frame.entry->buffers[ref.index];
    base = static_cast<uint8_t *>(local.arena->data()) + slot.arenaOffset;
    size = slot.sizeBytes;
    break;
  }
  case StorageKind::Check:
    size = kCheckWords * sizeof(int64_t);
    base = static_cast<uint8_t *>(local.checks->data()) + ref.index * size;
    break;
  }
  absl::StatusOr<int64_t> offset = evaluate(ref.offsetBytes, frame.symbols);
  if (!offset.ok())
    return offset.status();
  if (*offset < 0 || static_cast<size_t>(*offset) > size)
    return absl::OutOfRangeError(
        absl::StrCat(where(), ": offset ", *offset, " is outside its ",
                     storageKindName(ref.kind), " of ", size, " bytes"));
  return std::make_pair(base + *offset, size - static_cast<size_t>(*offset));
}

absl::Status Module::Impl::execute(Frame &frame) {
  const EntryDesc &entry = *frame.entry;
  for (size_t i = 0; i < entry.plan.size(); ++i) {
    // Messages name the step; they are only built when one is needed.
    auto where = [&]() {
      return absl::StrCat(artifact.label(), ": entry '",
                          printableName(entry.name), "' step ", i, " (",
                          stepKindName(entry.plan[i]), ")");
    };
    if (const auto *c = std::get_if<CollectiveDesc>(&entry.plan[i])) {
      if (absl::Status s = c->kind == CollectiveKind::DeviceIndex
                               ? deviceIndex(frame, *c, where)
                               : collective(frame, *c, where);
          !s.ok())
        return s;
      continue;
    }
    for (size_t d = 0; d < devices.size(); ++d) {
      if (devices.size() == 1) {
        if (absl::Status s = executeOn(frame, d, i, where); !s.ok())
          return s;
        continue;
      }
      auto on = [&]() { return absl::StrCat(where(), " on device ", d); };
      if (absl::Status s = executeOn(frame, d, i, on); !s.ok())
        return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Module::Impl::collective(Frame &frame, const CollectiveDesc &c,
                                      absl::FunctionRef<std::string()> where) {
  absl::StatusOr<int64_t> elements = evaluate(c.elements, frame.symbols);
  if (!elements.ok())
    return elements.status();
  // n devices in all, `local` of them in this process (one rank of a job).
  size_t n = parts(), local = devices.size();
  // Sizes are checked before they are multiplied (a corrupt count must not
  // wrap around into a small one).
  size_t element = dtypeSize(c.dtype);
  if (*elements < 0 ||
      static_cast<uint64_t>(*elements) > (SIZE_MAX / element) / n)
    return absl::OutOfRangeError(absl::StrCat(
        where(), ": ", *elements, " elements per device is too large"));
  size_t bytes = static_cast<size_t>(*elements) * element;
  if (c.kind == CollectiveKind::AllToAll)
    return allToAll(frame, c, bytes, where);
  // `elements` counts the smaller side: the source of an all_gather, the
  // target of a reduce_scatter.
  size_t srcBytes =
      c.kind == CollectiveKind::ReduceScatterSum ? bytes * n : bytes;
  size_t dstBytes = c.kind == CollectiveKind::AllGather ? bytes * n : bytes;
  std::vector<const void *> src;
  std::vector<void *> dst;
  for (size_t d = 0; d < local; ++d) {
    auto s = storage(frame, d, c.src, [&] { return where() + " source"; });
    auto t = storage(frame, d, c.dst, [&] { return where() + " destination"; });
    if (!s.ok() || !t.ok())
      return s.ok() ? t.status() : s.status();
    if (srcBytes > s->second || dstBytes > t->second)
      return absl::OutOfRangeError(
          absl::StrCat(where(), ": moves ", srcBytes, " bytes from each of ", n,
                       " devices between storage of ", s->second, " and ",
                       t->second, " bytes"));
    src.push_back(s->first);
    dst.push_back(t->first);
  }
  // The sum or concatenation of one device's part is that part (NCCL's
  // copy of it where it was initialised for one rank).
  if (n == 1 && !oneRankCollectives)
    return devices[0].driver->copyOnDevice(dst[0], src[0], bytes);
  absl::Status s =
      c.kind == CollectiveKind::AllReduceSum
          ? collectives->allReduceSum(src, dst, *elements, c.dtype)
      : c.kind == CollectiveKind::ReduceScatterSum
          ? collectives->reduceScatterSum(src, dst, *elements, c.dtype)
          : collectives->allGather(src, dst, *elements, c.dtype);
  if (!s.ok())
    return absl::Status(s.code(), absl::StrCat(where(), ": ", s.message()));
  return absl::OkStatus();
}

absl::Status Module::Impl::deviceIndex(Frame &frame, const CollectiveDesc &c,
                                       absl::FunctionRef<std::string()> where) {
  indexStaging.resize(devices.size());
  for (size_t d = 0; d < devices.size(); ++d) {
    auto t = storage(frame, d, c.dst, [&] { return where() + " destination"; });
    if (!t.ok())
      return t.status();
    if (t->second < sizeof(int32_t))
      return absl::OutOfRangeError(absl::StrCat(
          where(), ": a device index needs 4 bytes, storage holds ",
          t->second));
    Driver &driver = *devices[d].driver;
    if (!indexStaging[d]) {
      absl::StatusOr<std::unique_ptr<DeviceBuffer>> staging =
          driver.allocateStaging(sizeof(int32_t));
      if (!staging.ok())
        return staging.status();
      // The index among all the group's devices (this process holds
      // devices.size() of them).
      int32_t index = static_cast<int32_t>(firstDevice + d);
      std::memcpy((*staging)->data(), &index, sizeof(index));
      indexStaging[d] = std::move(*staging);
    }
    if (absl::Status s = driver.copyToDeviceAsync(
            t->first, indexStaging[d]->data(), sizeof(int32_t));
        !s.ok())
      return s;
  }
  return absl::OkStatus();
}

absl::Status Module::Impl::allToAll(Frame &frame, const CollectiveDesc &c,
                                    size_t bytes,
                                    absl::FunctionRef<std::string()> where) {
  size_t n = parts(), local = devices.size();
  size_t rowBytes = static_cast<size_t>(c.row) * dtypeSize(c.dtype);
  if (c.row < 1 || bytes % rowBytes != 0)
    return absl::InvalidArgumentError(
        absl::StrCat(where(), ": ", bytes, " bytes are not whole rows of ",
                     c.row, " elements"));
  size_t offsetBytes = (n + 1) * sizeof(int32_t);
  std::vector<const void *> src, srcOffsets;
  std::vector<void *> dst, dstOffsets;
  for (size_t d = 0; d < local; ++d) {
    auto place = [&](const RefDesc &ref, const char *what,
                     size_t need) -> absl::StatusOr<uint8_t *> {
      auto s = storage(frame, d, ref, [&] { return where() + " " + what; });
      if (!s.ok())
        return s.status();
      if (need > s->second)
        return absl::OutOfRangeError(
            absl::StrCat(where(), " ", what, ": needs ", need,
                         " bytes, storage holds ", s->second));
      return s->first;
    };
    absl::StatusOr<uint8_t *> s = place(c.src, "source", bytes),
                              so = place(c.srcOffsets, "source offsets",
                                         offsetBytes),
                              t = place(c.dst, "destination", bytes),
                              to = place(c.dstOffsets, "destination offsets",
                                         offsetBytes);
    for (const auto *p : {&s, &so, &t, &to})
      if (!p->ok())
        return p->status();
    src.push_back(*s);
    srcOffsets.push_back(*so);
    dst.push_back(*t);
    dstOffsets.push_back(*to);
  }
  if (!collectives)
    return absl::UnimplementedError(absl::StrCat(
        where(), ": all_to_all on one cuda device is not implemented"));
  absl::Status s = collectives->allToAll(src, srcOffsets, dst, dstOffsets,
                                         bytes / rowBytes, rowBytes);
  if (!s.ok())
    return absl::Status(s.code(), absl::StrCat(where(), ": ", s.message()));
  return absl::OkStatus();
}

absl::StatusOr<Module::Impl::PlacedTensor>
Module::Impl::placeTensor(Frame &frame, size_t device, const RefDesc &ref,
                          DType dtype,
                          const std::vector<SizeExprSpec> &sizeExprs,
                          const std::vector<SizeExprSpec> &strideExprs,
                          absl::FunctionRef<std::string()> where) {
  absl::StatusOr<std::pair<uint8_t *, size_t>> place =
      storage(frame, device, ref, where);
  if (!place.ok())
    return place.status();
  // The furthest element the step can address must be inside.
  PlacedTensor placed{place->first, {}, {}};
  std::vector<int64_t> &sizes = placed.sizes, &strides = placed.strides;
  int64_t last = 0;
  bool empty = false, overflow = false;
  for (size_t d = 0; d < sizeExprs.size(); ++d) {
    absl::StatusOr<int64_t> s = evaluate(sizeExprs[d], frame.symbols);
    absl::StatusOr<int64_t> t = evaluate(strideExprs[d], frame.symbols);
    if (!s.ok() || !t.ok())
      return s.ok() ? t.status() : s.status();
    if (*s < 0 || *t < 0)
      return absl::OutOfRangeError(
          absl::StrCat(where(), ": negative size or stride"));
    empty |= *s == 0;
    int64_t span = 0;
    overflow |= *s > 0 && (__builtin_mul_overflow(*s - 1, *t, &span) ||
                           __builtin_add_overflow(last, span, &last));
    sizes.push_back(*s);
    strides.push_back(*t);
  }
  // Checked: a plan whose sizes and strides reach past 2^64 bytes is an
  // error, never a wrapped-around (small) byte count.
  size_t need = 0;
  if (!empty &&
      (overflow || __builtin_mul_overflow(static_cast<size_t>(last) + 1,
                                          dtypeSize(dtype), &need)))
    return absl::OutOfRangeError(absl::StrCat(
        where(), " has sizes ", shapeString(sizes), " and strides ",
        shapeString(strides), ", which address more than 2^64 bytes of its ",
        storageKindName(ref.kind)));
  if (need > place->second)
    return absl::OutOfRangeError(
        absl::StrCat(where(), " addresses ", need, " bytes of its ",
                     storageKindName(ref.kind), ", which has ", place->second));
  return placed;
}

absl::Status Module::Impl::tensorMap(Frame &frame, size_t device,
                                     const TensorMapDesc &map,
                                     absl::FunctionRef<std::string()> where,
                                     void **written) {
  if (map.guarded()) {
    int64_t tokens = frame.symbols[0];
    if (tokens < map.tokensAtLeast ||
        (map.tokensAtMost >= 0 && tokens > map.tokensAtMost))
      return absl::OkStatus();
  }
  auto sourceWhere = [&]() { return absl::StrCat(where(), " source"); };
  absl::StatusOr<PlacedTensor> source =
      placeTensor(frame, device, map.source, map.dtype, map.sizes, map.strides,
                  sourceWhere);
  if (!source.ok())
    return source.status();
  auto target =
      storage(frame, device, map.target, [&] { return where() + " target"; });
  if (!target.ok())
    return target.status();
  if (target->second < kTensorMapBytes)
    return absl::OutOfRangeError(
        absl::StrCat(where(), ": writes ", kTensorMapBytes,
                     " bytes into storage of ", target->second));
  absl::StatusOr<TensorMapEncoding> args =
      tensorMapEncoding(map, reinterpret_cast<uint64_t>(source->data),
                        source->sizes, source->strides);
  if (!args.ok())
    return absl::Status(args.status().code(),
                        absl::StrCat(where(), ": ", args.status().message()));
  std::array<uint8_t, kTensorMapBytes> bytes;
  if (absl::Status s = devices[device].driver->encodeTensorMap(*args, bytes);
      !s.ok())
    return absl::Status(s.code(), absl::StrCat(where(), ": ", s.message()));
  if (written)
    *written = target->first;
  return writeTensorMap(device, target->first, bytes, where);
}

absl::Status
Module::Impl::writeTensorMap(size_t device, void *target,
                             const std::array<uint8_t, kTensorMapBytes> &bytes,
                             absl::FunctionRef<std::string()> where) {
  Device &local = devices[device];
  // Only this step writes the target (the validator made its buffer share
  // no bytes): bytes equal to the last ones written are there already.
  TensorMapSlot &slot = local.tensorMaps[target];
  if (slot.staging && slot.bytes == bytes)
    return absl::OkStatus();
  if (!slot.staging) {
    absl::StatusOr<std::unique_ptr<DeviceBuffer>> staging =
        local.driver->allocateStaging(kTensorMapBytes);
    if (!staging.ok())
      return absl::Status(
          staging.status().code(),
          absl::StrCat(where(), ": ", staging.status().message()));
    slot.staging = std::move(*staging);
  } else if (slot.copiedInEpoch == local.syncEpoch) {
    // The last copy from the staging bytes may still be in flight.
    if (absl::Status s = local.driver->synchronize(); !s.ok())
      return s;
    ++local.syncEpoch;
  }
  std::memcpy(slot.staging->data(), bytes.data(), kTensorMapBytes);
  if (absl::Status s = local.driver->copyToDeviceAsync(
          target, slot.staging->data(), kTensorMapBytes);
      !s.ok())
    return absl::Status(s.code(), absl::StrCat(where(), ": ", s.message()));
  slot.bytes = bytes;
  slot.copiedInEpoch = local.syncEpoch;
  return absl::OkStatus();
}

absl::Status Module::Impl::prepareLaunch(Frame &frame, size_t device,
                                         const LaunchKernelDesc &launch,
                                         absl::FunctionRef<std::string()> where,
                                         Frame::PreparedLaunch &prepared) {
  // A guarded step (validated: the entry has a token symbol) runs only for
  // its range of token counts.
  if (launch.guarded()) {
    int64_t tokens = frame.symbols[0];
    if (tokens < launch.tokensAtLeast ||
        (launch.tokensAtMost >= 0 && tokens > launch.tokensAtMost)) {
      prepared.skip = true;
      return absl::OkStatus();
    }
  }
  std::array<int64_t, 3> &grid = prepared.grid;
  for (int d = 0; d < 3; ++d) {
    absl::StatusOr<int64_t> g = evaluate(launch.grid[d], frame.symbols);
    if (!g.ok())
      return g.status();
    grid[d] = *g;
  }
  if (grid[0] <= 0 || grid[1] <= 0 || grid[2] <= 0) {
    prepared.skip = true; // nothing to compute for this size
    return absl::OkStatus();
  }
  std::vector<uint64_t> &words = prepared.words;
  words.clear();
  for (size_t a = 0; a < launch.args.size(); ++a) {
    const KernelArgDesc &arg = launch.args[a];
    if (!arg.isTensor) {
      absl::StatusOr<int64_t> v = evaluate(arg.scalar, frame.symbols);
      if (!v.ok())
        return v.status();
      words.push_back(static_cast<uint64_t>(*v));
      continue;
    }
    auto argWhere = [&]() { return absl::StrCat(where(), " arg ", a); };
    absl::StatusOr<PlacedTensor> placed = placeTensor(
        frame, device, arg.ref, arg.dtype, arg.sizes, arg.strides, argWhere);
    if (!placed.ok())
      return placed.status();
    uint64_t ptr = reinterpret_cast<uint64_t>(placed->data);
    words.push_back(ptr);
    words.push_back(ptr);
    words.push_back(0);
    for (int64_t s : placed->sizes)
      words.push_back(static_cast<uint64_t>(s));
    for (int64_t s : placed->strides)
      words.push_back(static_cast<uint64_t>(s));
  }
  return absl::OkStatus();
}

absl::Status Module::Impl::executeOn(Frame &frame, size_t device, size_t i,
                                     absl::FunctionRef<std::string()> where) {
  const EntryDesc &entry = *frame.entry;
  Driver *driver = devices[device].driver.get();
  const std::vector<KernelHandle> &kernels = devices[device].kernels;
  {
    if (const auto *map = std::get_if<TensorMapDesc>(&entry.plan[i]))
      return frame.capturing ? absl::OkStatus()
                             : tensorMap(frame, device, *map, where);
    if (const auto *launch = std::get_if<LaunchKernelDesc>(&entry.plan[i])) {
      // The grid and words depend on the frame's storage and symbols only:
      // a frame that runs again prepares them once.
      Frame::PreparedLaunch once;
      Frame::PreparedLaunch &prepared =
          frame.launches.empty() ? once : frame.launches[device][i];
      if (!prepared.ready) {
        if (absl::Status s =
                prepareLaunch(frame, device, *launch, where, prepared);
            !s.ok())
          return s;
        prepared.ready = true;
      }
      if (prepared.skip)
        return absl::OkStatus();
      std::array<uint32_t, 3> block = {launch->block[0], launch->block[1],
                                       launch->block[2]};
      if (absl::Status s =
              driver->launch(kernels[launch->kernel], prepared.grid, block,
                             launch->sharedMemoryBytes, prepared.words);
          !s.ok())
        return absl::Status(s.code(), absl::StrCat(where(), ": ", s.message()));
    } else if (const auto *copy = std::get_if<CopyDesc>(&entry.plan[i])) {
      absl::StatusOr<int64_t> bytes = evaluate(copy->bytes, frame.symbols);
      if (!bytes.ok())
        return bytes.status();
      auto src = storage(frame, device, copy->src,
                         [&] { return where() + " source"; });
      auto dst = storage(frame, device, copy->dst,
                         [&] { return where() + " destination"; });
      if (!src.ok() || !dst.ok())
        return src.ok() ? dst.status() : src.status();
      if (*bytes < 0 || static_cast<size_t>(*bytes) > src->second ||
          static_cast<size_t>(*bytes) > dst->second)
        return absl::OutOfRangeError(absl::StrCat(
            where(), ": copies ", *bytes, " bytes between storage of ",
            src->second, " and ", dst->second, " bytes"));
      if (absl::Status s = driver->copyOnDevice(dst->first, src->first, *bytes);
          !s.ok())
        return s;
    } else if (const auto *gemm = std::get_if<GemmDesc>(&entry.plan[i])) {
      absl::StatusOr<int64_t> m = evaluate(gemm->m, frame.symbols);
      if (!m.ok())
        return m.status();
      auto x = storage(frame, device, gemm->x, [&] { return where() + " x"; });
      auto w = storage(frame, device, gemm->w, [&] { return where() + " w"; });
      auto y = storage(frame, device, gemm->y, [&] { return where() + " y"; });
      if (!x.ok() || !w.ok() || !y.ok())
        return !x.ok() ? x.status() : !w.ok() ? w.status() : y.status();
      size_t in = dtypeSize(gemm->dtype), out = dtypeSize(gemm->outDtype);
      // Checked products: sizes from a corrupt plan must not wrap around
      // into small ones that pass the storage check.
      std::optional<size_t> xBytes = tensorBytes({*m, gemm->k}, in),
                            wBytes = tensorBytes({gemm->n, gemm->k}, in),
                            yBytes = tensorBytes({*m, gemm->n}, out);
      if (!xBytes || !wBytes || !yBytes)
        return absl::OutOfRangeError(absl::StrCat(
            where(), ": m = ", *m, ", n = ", gemm->n, ", k = ", gemm->k,
            ": an operand size is negative or more than 2^64 bytes"));
      if (*xBytes > x->second || *wBytes > w->second || *yBytes > y->second)
        return absl::OutOfRangeError(
            absl::StrCat(where(), ": operands exceed their storage"));
      if (absl::Status s =
              driver->gemm(*gemm, x->first, w->first, y->first, *m);
          !s.ok())
        return absl::Status(s.code(), absl::StrCat(where(), ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TensorMap> Module::call(const std::string &entry,
                                       const TensorMap &inputs) {
  return call(entry, inputs, {});
}

absl::StatusOr<DeviceValue>
Module::allocate(const std::string &entry, const std::string &input,
                 const std::vector<int64_t> &shape) {
  const std::string &label = impl_->artifact.label();
  const EntryDesc *e = impl_->artifact.findEntry(entry);
  if (!e)
    return absl::NotFoundError(absl::StrCat(
        label, ": no entry '", printableName(entry), "' to allocate for"));
  std::string where = absl::StrCat(label, ": entry '", printableName(entry),
                                   "' input '", printableName(input), "'");
  auto spec =
      std::find_if(e->inputs.begin(), e->inputs.end(),
                   [&](const TensorSpecDesc &s) { return s.name == input; });
  if (spec == e->inputs.end())
    return absl::NotFoundError(
        absl::StrCat(label, ": entry '", printableName(entry),
                     "' has no input '", printableName(input), "'"));
  // The spec's shape; a dynamic dim (the token count) from `shape`.
  std::vector<int64_t> dims;
  bool dynamic = false;
  for (const SizeExprSpec &d : spec->shape) {
    dynamic |= !d.isConstant();
    dims.push_back(d.isConstant() ? d.constant : -1);
  }
  if (!shape.empty() || dynamic) {
    bool fits = shape.size() == dims.size();
    for (size_t d = 0; fits && d < dims.size(); ++d)
      fits = shape[d] >= 0 && (dims[d] < 0 || dims[d] == shape[d]);
    if (!fits)
      return absl::InvalidArgumentError(absl::StrCat(
          where, " has shape ", shapeString(dims),
          " (-1: the token count); cannot allocate ", shapeString(shape),
          shape.empty() ? ": give the shape" : ""));
    dims = shape;
  }
  auto impl = std::make_unique<DeviceValue::Impl>();
  impl->dtype = spec->dtype;
  impl->shape = dims;
  std::optional<size_t> bytes = tensorBytes(dims, dtypeSize(spec->dtype));
  if (!bytes)
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", shapeString(dims), " needs more than 2^64 bytes"));
  impl->bytes = *bytes;
  // A split input: each device holds its part.
  size_t partBytes = *bytes;
  if (spec->shardDim >= 0 && impl_->parts() > 1) {
    impl->shardDim = static_cast<int32_t>(spec->shardDim);
    impl->parts = impl_->parts();
    impl->firstPart = impl_->firstDevice;
    partBytes = *bytes / impl->parts;
  }
  for (size_t d = 0; d < impl_->devices.size(); ++d) {
    absl::StatusOr<std::unique_ptr<DeviceBuffer>> buffer =
        impl_->devices[d].driver->allocate(partBytes);
    if (!buffer.ok())
      return absl::Status(buffer.status().code(),
                          absl::StrCat(where, ": ", buffer.status().message()));
    impl->drivers.push_back(impl_->devices[d].driver);
    impl->buffers.push_back(std::move(*buffer));
  }
  DeviceValue value;
  value.impl_ = std::move(impl);
  return value;
}

absl::StatusOr<TensorMap> Module::Impl::finish(Frame &frame) {
  for (Device &d : devices) {
    if (absl::Status s = d.driver->synchronize(); !s.ok())
      return s;
    ++d.syncEpoch;
  }
  // A bad value a kernel found (an embedding id outside its table) makes
  // the outputs meaningless: the call fails with it.
  if (absl::Status s = readChecks(frame); !s.ok())
    return s;
  // Outputs are whole on every device (the compiler gathers them): read
  // them from the first. A tied output split across devices (a state
  // split by heads) is put together from every device's part.
  // A tied output whose input was a device value is that value: it is not
  // copied back.
  TensorMap outputs;
  for (size_t i = 0; i < frame.entry->outputs.size(); ++i) {
    const TensorSpecDesc &spec = frame.entry->outputs[i];
    if (spec.tiedTo >= 0 && frame.fromValue[spec.tiedTo])
      continue;
    Tensor t(spec.dtype, frame.outputShapes[i]);
    if (spec.shardDim >= 0 && parts() > 1) {
      if (devices.size() != parts())
        return absl::FailedPreconditionError(absl::StrCat(
            artifact.label(), ": entry '", printableName(frame.entry->name),
            "' output '", printableName(spec.name), "' is split across ",
            parts(), " devices and this process holds ", devices.size(),
            " of them: pass its input as a device value"));
      size_t partBytes = t.sizeBytes() / parts();
      std::vector<uint8_t> part(partBytes);
      for (size_t d = 0; d < devices.size(); ++d) {
        if (absl::Status s = devices[d].driver->copyToHost(
                part.data(), frame.devices[d].outputs[i]->data(), partBytes);
            !s.ok())
          return s;
        unshard(static_cast<uint8_t *>(t.data()), t.shape(),
                dtypeSize(spec.dtype), static_cast<int32_t>(spec.shardDim), d,
                parts(), part.data());
      }
      outputs[spec.name] = std::move(t);
      continue;
    }
    if (absl::Status s = devices[0].driver->copyToHost(
            t.data(), frame.devices[0].outputs[i]->data(), t.sizeBytes());
        !s.ok())
      return s;
    outputs[spec.name] = std::move(t);
  }
  return outputs;
}

absl::StatusOr<TensorMap> Module::call(const std::string &entry,
                                       const TensorMap &inputs,
                                       const DeviceValueMap &values) {
  absl::StatusOr<Impl::Frame> frame = impl_->prepare(entry, inputs, values);
  if (!frame.ok())
    return frame.status();
  if (absl::Status s = impl_->execute(*frame); !s.ok())
    return s;
  return impl_->finish(*frame);
}

absl::StatusOr<TensorMap> Module::call(const std::string &entry,
                                       const TensorMap &inputs,
                                       const DeviceValueMap &values,
                                       const CallOptions &options) {
  if (!options.cudaGraphs)
    return call(entry, inputs, values);
  absl::StatusOr<Impl::KeptCall *> kept =
      impl_->keptCall(entry, inputs, values);
  if (!kept.ok())
    return kept.status();
  Impl::KeptCall &k = **kept;
  // Flagged until this run's checks are read clear.
  k.checksDirty = true;
  if (absl::Status s = impl_->runKept(impl_->graphs[entry], k); !s.ok())
    return s;
  absl::StatusOr<TensorMap> outputs = impl_->finish(k.frame);
  if (outputs.ok())
    k.checksDirty = false;
  return outputs;
}

CudaGraphUse Module::cudaGraphUse(const std::string &entry) const {
  auto it = impl_->graphs.find(entry);
  return it == impl_->graphs.end() ? CudaGraphUse() : it->second.use;
}

std::string Module::Impl::graphsUnavailable(const EntryDesc &entry) const {
  for (const Device &device : devices)
    if (std::string why = device.driver->graphsUnavailable(); !why.empty())
      return why;
  // A module on several devices (or on NCCL for one rank) captures each
  // device's stream, NCCL's collectives included, except all_to_all: its
  // send counts are read to the host first, which a capture cannot record.
  for (const auto &step : entry.plan)
    if (const auto *c = std::get_if<CollectiveDesc>(&step);
        c && c->kind == CollectiveKind::AllToAll)
      return absl::StrCat("entry '", printableName(entry.name),
                          "' has an all_to_all, whose send counts are read "
                          "on the host (not captured)");
  return "";
}

absl::Status Module::Impl::launchGraphs(const Graphs &graphs) {
  for (size_t d = 0; d < graphs.size(); ++d)
    if (absl::Status s = devices[d].driver->launchGraph(*graphs[d]); !s.ok())
      return s;
  return absl::OkStatus();
}

absl::StatusOr<Module::Impl::KeptCall *>
Module::Impl::keptCall(const std::string &name, const TensorMap &inputs,
                       const DeviceValueMap &values) {
  absl::StatusOr<Frame> fresh = resolve(name, inputs, values);
  if (!fresh.ok())
    return fresh.status();
  const EntryDesc &entry = *fresh->entry;
  const size_t n = devices.size();
  // The symbols, each device value's address, and the parameters' (a
  // rebinding allocates new ones while the old are alive, so the first
  // parameter's address changes with it).
  CallKey key{fresh->symbols, {}};
  for (size_t i = 0; i < entry.inputs.size(); ++i)
    for (size_t d = 0; d < n; ++d)
      key.valueAddresses.push_back(
          fresh->fromValue[i]
              ? reinterpret_cast<uintptr_t>(fresh->devices[d].inputs[i]->data())
              : 0);
  for (size_t d = 0; d < n; ++d)
    key.valueAddresses.push_back(
        devices[d].params.empty()
            ? 0
            : reinterpret_cast<uintptr_t>(devices[d].params[0]->data()));
  EntryGraphs &entryGraphs = graphs[name];
  if (KeptCall *kept = entryGraphs.calls.find(key)) {
    Frame &frame = kept->frame;
    // The device values are at the key's addresses; their buffer objects
    // are this call's (an earlier call's may be gone).
    for (size_t i = 0; i < entry.inputs.size(); ++i)
      if (fresh->fromValue[i])
        for (size_t d = 0; d < n; ++d)
          frame.devices[d].inputs[i] = fresh->devices[d].inputs[i];
    for (size_t o = 0; o < entry.outputs.size(); ++o)
      if (int32_t tied = entry.outputs[o].tiedTo; tied >= 0)
        for (size_t d = 0; d < n; ++d)
          frame.devices[d].outputs[o] = frame.devices[d].inputs[tied];
    // A call that failed may have left work running (and check words
    // flagged): wait for it, then clear them.
    if (kept->checksDirty) {
      for (size_t d = 0; d < n; ++d) {
        if (absl::Status s = devices[d].driver->synchronize(); !s.ok())
          return s;
        ++devices[d].syncEpoch;
      }
      if (absl::Status s = clearChecks(frame); !s.ok())
        return s;
    }
    // Host inputs through their staging, ordered before the steps (the
    // previous call synchronized, so the staging is free).
    for (size_t i = 0; i < entry.inputs.size(); ++i) {
      if (frame.fromValue[i])
        continue;
      const TensorSpecDesc &spec = entry.inputs[i];
      const Tensor &t = inputs.at(spec.name);
      for (size_t d = 0; d < n; ++d) {
        std::vector<uint8_t> part;
        auto [data, bytes] =
            inputBytesFor(spec, t, firstDevice + d, parts(), part);
        DeviceBuffer &staging = *kept->staging[d][i];
        std::memcpy(staging.data(), data, bytes);
        if (absl::Status s = devices[d].driver->copyToDeviceAsync(
                frame.devices[d].inputs[i]->data(), staging.data(), bytes);
            !s.ok())
          return s;
      }
    }
    return kept;
  }
  auto kept = std::make_unique<KeptCall>();
  kept->frame = std::move(*fresh);
  Frame &frame = kept->frame;
  if (absl::Status s = place(frame, inputs); !s.ok())
    return s;
  frame.launches.assign(n,
                        std::vector<Frame::PreparedLaunch>(entry.plan.size()));
  kept->staging.resize(n);
  for (size_t d = 0; d < n; ++d) {
    kept->staging[d].resize(entry.inputs.size());
    for (size_t i = 0; i < entry.inputs.size(); ++i) {
      if (frame.fromValue[i])
        continue;
      absl::StatusOr<std::unique_ptr<DeviceBuffer>> staging =
          devices[d].driver->allocateStaging(
              frame.devices[d].inputs[i]->size());
      if (!staging.ok())
        return staging.status();
      kept->staging[d][i] = std::move(*staging);
    }
  }
  return &entryGraphs.calls.insert(std::move(key), std::move(kept));
}

absl::StatusOr<Module::Impl::Graphs>
Module::Impl::captureGraph(Frame &frame,
                           std::vector<KeptTensorMap> &tensorMaps) {
  const EntryDesc &entry = *frame.entry;
  // Tensor maps are encoded on the host: written now, outside the graphs,
  // and again before a replay if another call wrote other bytes there.
  tensorMaps.clear();
  for (size_t i = 0; i < entry.plan.size(); ++i) {
    const auto *map = std::get_if<TensorMapDesc>(&entry.plan[i]);
    if (!map)
      continue;
    for (size_t d = 0; d < devices.size(); ++d) {
      auto where = [&]() {
        return absl::StrCat(
            artifact.label(), ": entry '", printableName(entry.name), "' step ",
            i, " (tensor map", devices.size() > 1 ? " of device " : "",
            devices.size() > 1 ? absl::StrCat(d) : "", ")");
      };
      void *target = nullptr;
      if (absl::Status s = tensorMap(frame, d, *map, where, &target); !s.ok())
        return s;
      if (target)
        tensorMaps.push_back({d, target, devices[d].tensorMaps[target].bytes});
    }
  }
  // Every device's stream is recorded at once: a collective's NCCL group
  // spans the devices' streams, each recorded into its device's graph.
  size_t begun = 0;
  absl::Status steps = absl::OkStatus();
  for (; begun < devices.size(); ++begun)
    if (absl::Status s = devices[begun].driver->beginCapture(); !s.ok()) {
      steps = s;
      break;
    }
  if (steps.ok()) {
    frame.capturing = true;
    steps = execute(frame);
    frame.capturing = false;
  }
  // Each capture begun ends whatever happened in it.
  Graphs graphs;
  absl::Status ended = absl::OkStatus();
  for (size_t d = 0; d < begun; ++d) {
    absl::StatusOr<std::unique_ptr<StreamGraph>> graph =
        devices[d].driver->endCapture();
    if (graph.ok())
      graphs.push_back(std::move(*graph));
    else if (ended.ok())
      ended = graph.status();
  }
  if (!steps.ok())
    return steps;
  if (!ended.ok())
    return ended;
  return graphs;
}

absl::Status Module::Impl::runKept(EntryGraphs &entryGraphs, KeptCall &kept) {
  CudaGraphUse &use = entryGraphs.use;
  ++kept.runs;
  if (use.notUsed.empty())
    use.notUsed = graphsUnavailable(*kept.frame.entry);
  if (!use.notUsed.empty() || (kept.graph.empty() && kept.runs == 1)) {
    // The first run of a key launches the steps one by one: it loads what
    // loads lazily (cuBLASLt and its plans, tensor map staging), which a
    // capture could not record.
    ++use.plainCalls;
    return execute(kept.frame);
  }
  if (kept.graph.empty()) {
    absl::StatusOr<Graphs> graph = captureGraph(kept.frame, kept.tensorMaps);
    if (!graph.ok()) {
      // Nothing ran: the call launches the steps itself, and later calls
      // of the entry do too.
      use.notUsed = absl::StrCat("capture failed: ", graph.status().message());
      ++use.plainCalls;
      return execute(kept.frame);
    }
    kept.graph = std::move(*graph);
    ++use.graphs;
  } else {
    for (const KeptTensorMap &map : kept.tensorMaps)
      if (absl::Status s = writeTensorMap(
              map.device, map.target, map.bytes,
              [&] {
                return absl::StrCat(artifact.label(), ": entry '",
                                    printableName(kept.frame.entry->name),
                                    "': a tensor map of its graph");
              });
          !s.ok())
        return s;
  }
  ++use.replays;
  return launchGraphs(kept.graph);
}

absl::StatusOr<CallTiming> Module::time(const std::string &entry,
                                        const TensorMap &inputs, int warmup,
                                        int iterations,
                                        const std::vector<std::string> &restore,
                                        const CallOptions &options) {
  absl::StatusOr<Impl::Frame> frame = impl_->prepare(entry, inputs);
  if (!frame.ok())
    return frame.status();
  // Every run uses the same storage: each launch's words are made once.
  frame->launches.assign(
      impl_->devices.size(),
      std::vector<Impl::Frame::PreparedLaunch>(frame->entry->plan.size()));
  // The inputs copied in again before each run: each device's bytes by the
  // input's index (a split input's parts are cut once, here).
  struct Restored {
    size_t index;
    std::vector<std::vector<uint8_t>> parts; // per device, if split
    const Tensor *tensor;
  };
  std::vector<Restored> restored;
  for (const std::string &name : restore) {
    const std::vector<TensorSpecDesc> &specs = frame->entry->inputs;
    auto spec =
        std::find_if(specs.begin(), specs.end(),
                     [&](const TensorSpecDesc &s) { return s.name == name; });
    if (spec == specs.end())
      return absl::InvalidArgumentError(absl::StrCat(
          label(), ": entry '", printableName(entry), "' has no input '",
          printableName(name), "' to restore before each run"));
    Restored r{static_cast<size_t>(spec - specs.begin()), {}, &inputs.at(name)};
    // A split input: each device gets its part again, as place() gave it.
    if (spec->shardDim >= 0 && impl_->parts() > 1)
      for (size_t d = 0; d < impl_->devices.size(); ++d) {
        std::vector<uint8_t> part;
        inputBytesFor(*spec, *r.tensor, impl_->firstDevice + d, impl_->parts(),
                      part);
        r.parts.push_back(std::move(part));
      }
    restored.push_back(std::move(r));
  }
  auto restoreInputs = [&]() -> absl::Status {
    for (const Restored &r : restored)
      for (size_t d = 0; d < impl_->devices.size(); ++d) {
        const void *data =
            r.parts.empty() ? r.tensor->data() : r.parts[d].data();
        size_t bytes =
            r.parts.empty() ? r.tensor->sizeBytes() : r.parts[d].size();
        if (absl::Status s = impl_->devices[d].driver->copyToDevice(
                frame->devices[d].inputs[r.index]->data(), data, bytes);
            !s.ok())
          return s;
      }
    return absl::OkStatus();
  };
  CallTiming timing;
  std::string notUsed = options.cudaGraphs
                            ? impl_->graphsUnavailable(*frame->entry)
                            : std::string();
  // A graph is captured after at least one run launched the steps (that
  // run loads what loads lazily, which a capture cannot record).
  for (int i = 0;
       i <
       (options.cudaGraphs && notUsed.empty() ? std::max(1, warmup) : warmup);
       ++i) {
    if (absl::Status s = restoreInputs(); !s.ok())
      return s;
    if (absl::Status s = impl_->execute(*frame); !s.ok())
      return s;
  }
  Impl::Graphs graph;
  std::vector<Impl::KeptTensorMap> tensorMaps;
  if (options.cudaGraphs && notUsed.empty()) {
    absl::StatusOr<Impl::Graphs> captured =
        impl_->captureGraph(*frame, tensorMaps);
    if (captured.ok())
      graph = std::move(*captured);
    else
      notUsed = absl::StrCat("capture failed: ", captured.status().message());
  }
  timing.cudaGraph = !graph.empty();
  timing.cudaGraphNotUsed = notUsed;
  // CallOptions::queueBehindBytes: a copy between two scratch buffers per
  // device, queued before each timed run.
  if (options.queueBehindBytes < 0)
    return absl::InvalidArgumentError(
        absl::StrCat(label(), ": queueBehindBytes must be >= 0, got ",
                     options.queueBehindBytes));
  std::vector<std::unique_ptr<DeviceBuffer>> scratch;
  size_t behind = static_cast<size_t>(options.queueBehindBytes);
  for (size_t k = 0; behind && k < 2 * impl_->devices.size(); ++k) {
    absl::StatusOr<std::unique_ptr<DeviceBuffer>> buffer =
        impl_->devices[k / 2].driver->allocate(behind);
    if (!buffer.ok())
      return buffer.status();
    scratch.push_back(std::move(*buffer));
  }
  // On several devices a run takes as long as its slowest device.
  std::vector<double> times;
  for (int i = 0; i < std::max(1, iterations); ++i) {
    if (absl::Status s = restoreInputs(); !s.ok())
      return s;
    for (size_t d = 0; d < scratch.size() / 2; ++d)
      if (absl::Status s = impl_->devices[d].driver->copyOnDevice(
              scratch[2 * d + 1]->data(), scratch[2 * d]->data(), behind);
          !s.ok())
        return s;
    for (Impl::Device &d : impl_->devices)
      if (absl::Status s = d.driver->startTimer(); !s.ok())
        return s;
    if (absl::Status s = !graph.empty() ? impl_->launchGraphs(graph)
                                        : impl_->execute(*frame);
        !s.ok())
      return s;
    double slowest = 0;
    for (Impl::Device &d : impl_->devices) {
      absl::StatusOr<double> ms = d.driver->stopTimer();
      if (!ms.ok())
        return ms.status();
      slowest = std::max(slowest, *ms);
    }
    times.push_back(slowest);
  }
  // The checks saw every run (they are cleared once, in prepare).
  if (absl::Status s = impl_->readChecks(*frame); !s.ok())
    return s;
  timing.runs = times;
  std::sort(times.begin(), times.end());
  timing.milliseconds = times[times.size() / 2];
  timing.minMilliseconds = times.front();
  timing.maxMilliseconds = times.back();
  return timing;
}

//===----------------------------------------------------------------------===//
// Runtime
//===----------------------------------------------------------------------===//

Runtime::Runtime(std::vector<std::shared_ptr<Driver>> drivers,
                 std::string device, bool cuda, bool explicitList)
    : drivers_(std::move(drivers)), device_(std::move(device)), cuda_(cuda),
      explicitList_(explicitList) {}
Runtime::~Runtime() = default;
const std::string &Runtime::device() const { return device_; }
size_t Runtime::deviceCount() const { return drivers_.size(); }

absl::StatusOr<std::unique_ptr<Runtime>>
Runtime::create(const std::string &device) {
  std::vector<std::shared_ptr<Driver>> drivers;
  if (device == "cpu") {
    absl::StatusOr<std::unique_ptr<Driver>> driver = createCpuDriver();
    if (!driver.ok())
      return driver.status();
    drivers.push_back(std::move(*driver));
    return std::unique_ptr<Runtime>(
        new Runtime(std::move(drivers), device, false, false));
  }
  if (device != "cuda" && device.rfind("cuda:", 0) != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("unknown device '", device,
                     "': use cpu, cuda, cuda:N or cuda:N,M,..."));
  // "cuda" is device 0 (and 0..n-1 for a module of n devices); "cuda:N" or
  // "cuda:N,M,..." names the devices.
  std::vector<int> ordinals;
  bool named = device.rfind("cuda:", 0) == 0;
  if (named) {
    std::string list = device.substr(5);
    size_t pos = 0;
    while (true) {
      size_t comma = list.find(',', pos);
      std::string digits = list.substr(
          pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (digits.empty() || digits.size() > 3 ||
          digits.find_first_not_of("0123456789") != std::string::npos)
        return absl::InvalidArgumentError(absl::StrCat(
            "device '", device,
            "': expected cuda:N or cuda:N,M,... with N, M device indices"));
      int ordinal = std::stoi(digits);
      if (std::find(ordinals.begin(), ordinals.end(), ordinal) !=
          ordinals.end())
        return absl::InvalidArgumentError(absl::StrCat(
            "device '", device, "' names device ", ordinal, " twice"));
      ordinals.push_back(ordinal);
      if (comma == std::string::npos)
        break;
      pos = comma + 1;
    }
  } else {
    ordinals.push_back(0);
  }
  for (int ordinal : ordinals) {
    absl::StatusOr<std::unique_ptr<Driver>> driver = createCudaDriver(ordinal);
    if (!driver.ok())
      return driver.status();
    drivers.push_back(std::move(*driver));
  }
  return std::unique_ptr<Runtime>(
      new Runtime(std::move(drivers), device, true, named));
}

absl::StatusOr<std::unique_ptr<Runtime>>
Runtime::create(const std::string &device, const ProcessGroupSpec &group) {
  // One device per rank: plain "cuda" is the local rank's GPU.
  std::string opened = device;
  if (device == "cuda")
    opened = absl::StrCat("cuda:", group.localRank);
  else if (device != "cpu" && (device.rfind("cuda:", 0) != 0 ||
                               device.find(',') != std::string::npos))
    return absl::InvalidArgumentError(absl::StrCat(
        "device '", device, "' for rank ", group.rank, " of ", group.worldSize,
        ": a rank opens one device (cpu, cuda or cuda:N)"));
  absl::StatusOr<std::unique_ptr<ProcessGroup>> joined =
      ProcessGroup::join(group);
  if (!joined.ok())
    return joined.status();
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = create(opened);
  if (!runtime.ok()) {
    (*joined)->fail(absl::Status(
        runtime.status().code(),
        absl::StrCat("rank ", group.rank, ": ", runtime.status().message())));
    return runtime.status();
  }
  (*runtime)->group_ = std::move(*joined);
  (*runtime)->explicitList_ = true;
  return runtime;
}

absl::StatusOr<std::unique_ptr<Module>> Runtime::load(const std::string &path) {
  absl::StatusOr<Artifact> artifact = Artifact::load(path);
  if (!artifact.ok())
    return artifact.status();
  return load(std::move(*artifact));
}

absl::StatusOr<std::unique_ptr<Module>> Runtime::load(Artifact artifact) {
  const ModuleDesc &m = artifact.module();
  if ((m.target == Target::Cuda) != cuda_)
    return absl::FailedPreconditionError(absl::StrCat(
        artifact.label(), " was compiled for ", targetName(m.target),
        " and cannot run on device '", device_, "'"));
  size_t n = m.deviceCount;
  // As one rank of a job (create with a group): this process holds device
  // `rank` of the n, and the job must have n ranks.
  size_t local = n, first = 0;
  if (group_) {
    if (n != static_cast<size_t>(group_->size()))
      return absl::FailedPreconditionError(
          absl::StrCat(artifact.label(), " was compiled for ", n, " device",
                       n == 1 ? "" : "s", " and the job has ", group_->size(),
                       " ranks of one device each (", group_->spec().source,
                       "): start ", n, " processes or compile the module for ",
                       group_->size(), " (hymir-compile --devices)"));
    local = 1;
    first = static_cast<size_t>(group_->rank());
  }
  // The first n devices: the cpu simulates as many as needed in this
  // process, plain "cuda" takes devices 0..n-1, a named list must match.
  if (explicitList_ && !group_ && drivers_.size() != n)
    return absl::FailedPreconditionError(absl::StrCat(
        artifact.label(), " was compiled for ", n, " device", n == 1 ? "" : "s",
        " and the runtime opened ", drivers_.size(), " ('", device_, "'): ",
        absl::StrCat("open ", n, " device", n == 1 ? "" : "s",
                     " (e.g. 'cuda:0,1') or compile the module for ",
                     drivers_.size(), " (hymir-compile --devices)")));
  while (drivers_.size() < local) {
    absl::StatusOr<std::unique_ptr<Driver>> driver =
        cuda_ ? createCudaDriver(static_cast<int>(drivers_.size()))
              : createCpuDriver();
    if (!driver.ok())
      return absl::Status(
          driver.status().code(),
          absl::StrCat(artifact.label(), " needs ", n,
                       " devices: ", driver.status().message()));
    drivers_.push_back(std::move(*driver));
  }
  auto impl = std::make_unique<Module::Impl>(std::move(artifact));
  const std::string &label = impl->artifact.label();
  impl->firstDevice = first;
  impl->groupDevices = group_ ? n : 0;
  for (size_t d = 0; d < local; ++d) {
    impl->devices.emplace_back();
    Module::Impl::Device &device = impl->devices.back();
    device.driver = drivers_[d];
    std::string on = n == 1 ? "" : absl::StrCat(" on device ", first + d);
    for (size_t i = 0; i < impl->desc().code.size(); ++i) {
      absl::StatusOr<CodeHandle> handle = device.driver->loadCode(
          impl->desc().code[i], absl::StrCat(label, ": code object ", i, on));
      if (!handle.ok())
        return handle.status();
      device.code.push_back(*handle);
    }
    for (const KernelDesc &k : impl->desc().kernels) {
      absl::StatusOr<KernelHandle> handle =
          device.driver->kernel(device.code[k.code], k.symbol);
      if (!handle.ok())
        return absl::Status(handle.status().code(),
                            absl::StrCat(label, ": kernel '",
                                         printableName(k.name), "'", on, ": ",
                                         handle.status().message()));
      device.kernels.push_back(*handle);
    }
  }
  // A plan of one device holding collectives (hymir-shard{single}: a
  // sharded program over a group of one) runs them on NCCL initialised for
  // one rank on cuda: a sharded plan's NCCL calls checked on one GPU.
  bool oneRank = false;
  if (cuda_ && n == 1)
    for (const EntryDesc &e : impl->desc().entries)
      for (const StepDesc &step : e.plan)
        if (const auto *c = std::get_if<CollectiveDesc>(&step))
          oneRank |= c->kind != CollectiveKind::DeviceIndex;
  impl->oneRankCollectives = oneRank;
  if (group_ && (n > 1 || oneRank)) {
    absl::StatusOr<std::unique_ptr<Collectives>> collectives =
        cuda_ ? createNcclRankCollectives(group_, drivers_[0].get())
              : createProcessCollectives(group_);
    if (!collectives.ok())
      return absl::Status(
          collectives.status().code(),
          absl::StrCat(label, ": ", collectives.status().message()));
    impl->collectives = std::move(*collectives);
  } else if (n > 1 || oneRank) {
    if (cuda_) {
      std::vector<Driver *> group;
      for (size_t d = 0; d < n; ++d)
        group.push_back(drivers_[d].get());
      absl::StatusOr<std::unique_ptr<Collectives>> collectives =
          createNcclCollectives(group);
      if (!collectives.ok())
        return absl::Status(
            collectives.status().code(),
            absl::StrCat(label, ": ", collectives.status().message()));
      impl->collectives = std::move(*collectives);
    } else {
      impl->collectives = createCpuCollectives(n);
    }
  } else if (!cuda_) {
    // One simulated device still exchanges rows with itself (all_to_all).
    impl->collectives = createCpuCollectives(1);
  }
  return std::unique_ptr<Module>(new Module(std::move(impl)));
}

} // namespace hymir
