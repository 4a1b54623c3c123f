//===- ModuleValidator.cpp - the rules every module obeys -----------------===//
//
// validateModule: every rule of Artifact.h's list, checked on the plain
// structs (so the writer's users can run it too), the first violation
// reported with the place it is at.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"

#include "ArtifactSupport.h"
#include "hymir/Support/Status.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace hymir {

namespace {

using namespace artifact_detail;

class ModuleValidator {
public:
  ModuleValidator(const ModuleDesc &module, absl::string_view label)
      : m(module), label(label) {}

  absl::Status run() {
    HYMIR_RETURN_IF_ERROR(checkHeader());
    HYMIR_RETURN_IF_ERROR(checkParams());
    HYMIR_RETURN_IF_ERROR(checkCode());
    HYMIR_RETURN_IF_ERROR(checkKernels());
    std::vector<absl::string_view> names;
    for (const EntryDesc &e : m.entries)
      names.push_back(e.name);
    HYMIR_RETURN_IF_ERROR(checkNames(names, "the module's", "entry"));
    for (const EntryDesc &e : m.entries)
      HYMIR_RETURN_IF_ERROR(checkEntry(e));
    return absl::OkStatus();
  }

private:
  absl::Status fail(absl::string_view where, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": ", where, " ", what));
  }

  absl::Status checkHeader() const {
    if (!inRange(m.target, Target::Cuda))
      return fail("the module", absl::StrFormat("has target %d, which is "
                                                "neither cpu (0) nor cuda (1)",
                                                static_cast<int>(m.target)));
    if (m.deviceCount < 1)
      return fail("the module", "has device count 0; it must be at least 1");
    if (m.deviceCount > kMaxDeviceCount)
      return fail("the module",
                  absl::StrCat("has device count ", m.deviceCount, "; at most ",
                               kMaxDeviceCount, " are supported"));
    if (m.target == Target::Cuda && m.chip.empty())
      return fail("the module", "targets cuda but names no chip (e.g. sm_90a)");
    return absl::OkStatus();
  }

  // `owner` and `what` phrase the place: "entry 'f'" + "input", etc.
  absl::Status checkNames(const std::vector<absl::string_view> &names,
                          absl::string_view owner,
                          absl::string_view what) const {
    std::map<absl::string_view, size_t> seen;
    for (size_t i = 0; i < names.size(); ++i) {
      std::string where = absl::StrCat(owner, " ", what, " ", i);
      if (names[i].empty())
        return fail(where, "has an empty name");
      auto [it, inserted] = seen.emplace(names[i], i);
      if (!inserted)
        return fail(
            absl::StrCat(where, " ", quote(names[i])),
            absl::StrCat("has the same name as ", what, " ", it->second));
    }
    return absl::OkStatus();
  }

  absl::Status checkDType(absl::string_view where, absl::string_view role,
                          DType dtype) const {
    if (!inRange(dtype, DType::U8))
      return fail(where,
                  absl::StrFormat("has %s %d, which is not a known dtype", role,
                                  static_cast<int>(dtype)));
    return absl::OkStatus();
  }

  absl::Status checkParams() const {
    std::vector<absl::string_view> names;
    for (const TensorSpecDesc &p : m.params)
      names.push_back(p.name);
    HYMIR_RETURN_IF_ERROR(checkNames(names, "the module's", "param"));
    for (const TensorSpecDesc &p : m.params) {
      std::string where = absl::StrCat("param ", quote(p.name));
      HYMIR_RETURN_IF_ERROR(checkDType(where, "dtype", p.dtype));
      for (size_t d = 0; d < p.shape.size(); ++d) {
        const SizeExprSpec &dim = p.shape[d];
        std::string dimWhere = absl::StrCat(where, " dim ", d);
        if (!dim.terms.empty())
          return fail(dimWhere,
                      absl::StrCat("refers to symbol ", dim.terms[0].first,
                                   ", but params have no symbols (their "
                                   "shapes are static)"));
        HYMIR_RETURN_IF_ERROR(checkDivisor(dim, dimWhere));
        if (int64_t value = floorDiv(dim.constant, dim.divisor); value < 0)
          return fail(dimWhere,
                      absl::StrCat("is ", value, "; dims are non-negative"));
      }
      HYMIR_RETURN_IF_ERROR(checkShardDim(p, where, /*allowed=*/true));
    }
    return absl::OkStatus();
  }

  // A sharded tensor splits a static dim into deviceCount equal parts.
  absl::Status checkShardDim(const TensorSpecDesc &t, absl::string_view where,
                             bool allowed) const {
    if (t.shardDim == -1)
      return absl::OkStatus();
    if (!allowed)
      return fail(where, absl::StrCat("has shard dim ", t.shardDim,
                                      "; only params, inputs and tied "
                                      "outputs can be sharded"));
    if (t.shardDim < 0 || static_cast<size_t>(t.shardDim) >= t.shape.size())
      return fail(where, absl::StrCat("has shard dim ", t.shardDim,
                                      ", outside its rank ", t.shape.size()));
    const SizeExprSpec &dim = t.shape[t.shardDim];
    if (!dim.isConstant() || dim.constant % m.deviceCount != 0)
      return fail(where,
                  absl::StrCat("is sharded along dim ", t.shardDim,
                               ", which must be static and a multiple of the "
                               "device count ",
                               m.deviceCount));
    return absl::OkStatus();
  }

  absl::Status checkCode() const {
    for (size_t i = 0; i < m.code.size(); ++i) {
      const CodeObjectDesc &c = m.code[i];
      std::string where = absl::StrCat("code object ", i);
      if (!inRange(c.format, CodeFormat::Cubin))
        return fail(where,
                    absl::StrFormat("has format %d, which is not a known code "
                                    "format",
                                    static_cast<int>(c.format)));
      if (c.data.empty())
        return fail(where, "is empty");
      if (m.target == Target::Cpu && c.format != CodeFormat::HostSharedObject)
        return fail(where, absl::StrCat("is ", codeFormatName(c.format),
                                        ", but a cpu module needs a host "
                                        "shared object"));
      if (m.target == Target::Cuda && c.format == CodeFormat::HostSharedObject)
        return fail(where, "is a host shared object, but a cuda module needs "
                           "PTX or a cubin");
      if (!c.ptxFallback.empty() && c.format != CodeFormat::Cubin)
        return fail(where, absl::StrCat("is ", codeFormatName(c.format),
                                        " and carries a PTX fallback; only "
                                        "a cubin may"));
      if (!c.ptxFallback.empty() && c.ptxFallback.back() != 0)
        return fail(where, "has a PTX fallback that is not NUL-terminated");
    }
    return absl::OkStatus();
  }

  absl::Status checkKernels() const {
    for (size_t i = 0; i < m.kernels.size(); ++i) {
      const KernelDesc &k = m.kernels[i];
      if (k.name.empty())
        return fail(absl::StrCat("kernel ", i), "has an empty name");
      std::string where = absl::StrCat("kernel ", quote(k.name));
      if (k.symbol.empty())
        return fail(where, "names no symbol");
      if (k.code >= m.code.size())
        return fail(where, absl::StrCat("refers to code object ", k.code,
                                        ", but the module has ", m.code.size(),
                                        " code objects"));
    }
    return absl::OkStatus();
  }

  absl::Status checkDivisor(const SizeExprSpec &expr,
                            absl::string_view where) const {
    if (expr.divisor < 1)
      return fail(where, absl::StrCat("has divisor ", expr.divisor,
                                      "; it must be at least 1"));
    return absl::OkStatus();
  }

  // Term indices, the divisor, then a bound on the magnitude of the sum:
  // |constant| + sum |coeff| * max must fit in int64 so that evaluation
  // never overflows (the division only shrinks it).
  absl::Status checkSizeExpr(const EntryDesc &e, const SizeExprSpec &expr,
                             absl::string_view where) const {
    for (const auto &[symbol, coeff] : expr.terms)
      if (symbol >= e.symbols.size())
        return fail(where, absl::StrCat("refers to symbol ", symbol,
                                        ", but the entry has ",
                                        e.symbols.size(), " symbols"));
    HYMIR_RETURN_IF_ERROR(checkDivisor(expr, where));
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    bool overflow = expr.constant == kMin;
    int64_t bound = overflow ? 0 : std::abs(expr.constant);
    for (const auto &[symbol, coeff] : expr.terms) {
      int64_t term;
      overflow = overflow || coeff == kMin ||
                 __builtin_mul_overflow(std::abs(coeff), e.symbols[symbol].max,
                                        &term) ||
                 __builtin_add_overflow(bound, term, &bound);
    }
    if (overflow)
      return fail(where, "can overflow int64 for symbol values up to their "
                         "maxima");
    return absl::OkStatus();
  }

  absl::Status checkTensorSpecs(const EntryDesc &e,
                                const std::vector<TensorSpecDesc> &specs,
                                absl::string_view entryWhere,
                                absl::string_view what) const {
    for (const TensorSpecDesc &t : specs) {
      std::string where =
          absl::StrCat(entryWhere, " ", what, " ", quote(t.name));
      for (size_t d = 0; d < t.shape.size(); ++d)
        HYMIR_RETURN_IF_ERROR(checkNonNegative(
            e, t.shape[d], absl::StrCat(where, " dim ", d), "dims"));
      HYMIR_RETURN_IF_ERROR(
          checkShardDim(t, where, what == "input" || t.tiedTo != -1));
    }
    return absl::OkStatus();
  }

  // A tied output is its input's storage under another name: same dtype,
  // shape and split across devices, an input of its own.
  absl::Status checkTies(const EntryDesc &e,
                         absl::string_view entryWhere) const {
    for (const TensorSpecDesc &t : e.inputs)
      if (t.tiedTo != -1)
        return fail(absl::StrCat(entryWhere, " input ", quote(t.name)),
                    absl::StrCat("is tied to input ", t.tiedTo,
                                 "; only outputs are tied"));
    std::vector<size_t> tiedBy(e.inputs.size(), e.outputs.size());
    for (size_t i = 0; i < e.outputs.size(); ++i) {
      const TensorSpecDesc &t = e.outputs[i];
      if (t.tiedTo == -1)
        continue;
      std::string where = absl::StrCat(entryWhere, " output ", quote(t.name));
      if (t.tiedTo < 0 || static_cast<size_t>(t.tiedTo) >= e.inputs.size())
        return fail(where, absl::StrCat("is tied to input ", t.tiedTo,
                                        ", but the entry has ", e.inputs.size(),
                                        " inputs"));
      const TensorSpecDesc &input = e.inputs[t.tiedTo];
      std::string tied = absl::StrCat("is tied to input ", quote(input.name));
      if (input.dtype != t.dtype || input.shape != t.shape)
        return fail(where, absl::StrCat(tied, " of another dtype or shape"));
      if (input.shardDim != t.shardDim)
        return fail(where, absl::StrCat(tied, ", which is sharded along dim ",
                                        input.shardDim, ", but has shard dim ",
                                        t.shardDim));
      if (tiedBy[t.tiedTo] != e.outputs.size())
        return fail(
            where, absl::StrCat(tied, ", as output ", tiedBy[t.tiedTo], " is"));
      tiedBy[t.tiedTo] = i;
    }
    return absl::OkStatus();
  }

  // checkSizeExpr, and a constant expression must not be negative.
  absl::Status checkNonNegative(const EntryDesc &e, const SizeExprSpec &expr,
                                absl::string_view where,
                                absl::string_view what) const {
    HYMIR_RETURN_IF_ERROR(checkSizeExpr(e, expr, where));
    if (expr.terms.empty())
      if (int64_t value = floorDiv(expr.constant, expr.divisor); value < 0)
        return fail(
            where, absl::StrCat("is ", value, "; ", what, " are non-negative"));
    return absl::OkStatus();
  }

  absl::Status checkRef(const EntryDesc &e, const RefDesc &r,
                        absl::string_view where) const {
    if (!inRange(r.kind, StorageKind::Check))
      return fail(where,
                  absl::StrFormat("has storage kind %d, which is not a known "
                                  "kind",
                                  static_cast<int>(r.kind)));
    size_t count = 0;
    absl::string_view owner = "the entry";
    switch (r.kind) {
    case StorageKind::Input:
      count = e.inputs.size();
      break;
    case StorageKind::Output:
      count = e.outputs.size();
      break;
    case StorageKind::Param:
      count = m.params.size();
      owner = "the module";
      break;
    case StorageKind::Buffer:
      count = e.buffers.size();
      break;
    case StorageKind::Check:
      count = e.checks.size();
      break;
    }
    std::string kind = storageKindName(r.kind);
    if (r.index >= count)
      return fail(where,
                  absl::StrCat("refers to ", kind, " ", r.index, ", but ",
                               owner, " has ", count, " ", kind, "s"));
    if (r.kind == StorageKind::Output && e.outputs[r.index].tiedTo != -1)
      return fail(where, absl::StrCat("refers to output ", r.index,
                                      ", which is tied to input ",
                                      e.outputs[r.index].tiedTo,
                                      " and has no storage of its own"));
    return checkSizeExpr(e, r.offsetBytes, absl::StrCat(where, " offset"));
  }

  absl::Status checkLaunch(const EntryDesc &e, const LaunchKernelDesc &l,
                           absl::string_view where) const {
    if (l.kernel >= m.kernels.size())
      return fail(where, absl::StrCat("refers to kernel ", l.kernel,
                                      ", but the module has ", m.kernels.size(),
                                      " kernels"));
    if (l.grid.size() != 3)
      return fail(
          where, absl::StrCat("has ", l.grid.size(), " grid dims, expected 3"));
    for (size_t i = 0; i < 3; ++i)
      HYMIR_RETURN_IF_ERROR(
          checkSizeExpr(e, l.grid[i], absl::StrCat(where, " grid[", i, "]")));
    if (l.block.size() != 3)
      return fail(where, absl::StrCat("has ", l.block.size(),
                                      " block dims, expected 3"));
    // Each factor is below 2^32 and the running product stops at 1024, so
    // nothing here can overflow.
    uint64_t threads = 1;
    for (uint32_t b : l.block)
      threads = std::min<uint64_t>(threads * b, 1025);
    if (threads < 1 || threads > 1024)
      return fail(where,
                  absl::StrCat("has a block of ", l.block[0], " x ", l.block[1],
                               " x ", l.block[2],
                               " threads; a block holds 1 to 1024 threads"));
    for (size_t i = 0; i < l.args.size(); ++i)
      HYMIR_RETURN_IF_ERROR(
          checkKernelArg(e, l.args[i], absl::StrCat(where, " arg ", i)));
    if (l.tokensAtLeast < 0 || l.tokensAtMost < -1 ||
        (l.tokensAtMost >= 0 && l.tokensAtMost < l.tokensAtLeast))
      return fail(where,
                  absl::StrCat("runs for token counts [", l.tokensAtLeast, ", ",
                               l.tokensAtMost, "], which is not a range"));
    if (l.guarded() && e.symbols.empty())
      return fail(where, "depends on the token count of an entry that has "
                         "none");
    return absl::OkStatus();
  }

  absl::Status checkKernelArg(const EntryDesc &e, const KernelArgDesc &a,
                              absl::string_view where) const {
    if (!a.isTensor)
      return checkSizeExpr(e, a.scalar, where);
    HYMIR_RETURN_IF_ERROR(checkRef(e, a.ref, where));
    HYMIR_RETURN_IF_ERROR(checkDType(where, "dtype", a.dtype));
    if (a.sizes.size() != a.strides.size())
      return fail(where, absl::StrCat("has ", a.sizes.size(), " sizes and ",
                                      a.strides.size(),
                                      " strides; the counts must match"));
    for (size_t d = 0; d < a.sizes.size(); ++d)
      HYMIR_RETURN_IF_ERROR(checkNonNegative(
          e, a.sizes[d], absl::StrCat(where, " sizes[", d, "]"), "sizes"));
    for (size_t d = 0; d < a.strides.size(); ++d)
      HYMIR_RETURN_IF_ERROR(checkSizeExpr(
          e, a.strides[d], absl::StrCat(where, " strides[", d, "]")));
    return absl::OkStatus();
  }

  absl::Status checkGemm(const EntryDesc &e, const GemmDesc &g,
                         absl::string_view where) const {
    HYMIR_RETURN_IF_ERROR(checkRef(e, g.x, absl::StrCat(where, " x")));
    HYMIR_RETURN_IF_ERROR(checkRef(e, g.w, absl::StrCat(where, " w")));
    HYMIR_RETURN_IF_ERROR(checkRef(e, g.y, absl::StrCat(where, " y")));
    HYMIR_RETURN_IF_ERROR(checkSizeExpr(e, g.m, absl::StrCat(where, " m")));
    if (g.n < 1 || g.k < 1)
      return fail(where, absl::StrCat("has n = ", g.n, " and k = ", g.k,
                                      "; both must be positive"));
    HYMIR_RETURN_IF_ERROR(checkDType(where, "dtype", g.dtype));
    return checkDType(where, "out_dtype", g.outDtype);
  }

  absl::Status checkCopy(const EntryDesc &e, const CopyDesc &c,
                         absl::string_view where) const {
    HYMIR_RETURN_IF_ERROR(checkRef(e, c.src, absl::StrCat(where, " src")));
    HYMIR_RETURN_IF_ERROR(checkRef(e, c.dst, absl::StrCat(where, " dst")));
    return checkSizeExpr(e, c.bytes, absl::StrCat(where, " bytes"));
  }

  absl::Status checkCollective(const EntryDesc &e, const CollectiveDesc &c,
                               absl::string_view where) const {
    if (!inRange(c.kind, CollectiveKind::ReduceScatterSum))
      return fail(where, absl::StrFormat("has collective kind %d, which is "
                                         "not a known kind",
                                         static_cast<int>(c.kind)));
    HYMIR_RETURN_IF_ERROR(checkRef(e, c.src, absl::StrCat(where, " src")));
    HYMIR_RETURN_IF_ERROR(checkRef(e, c.dst, absl::StrCat(where, " dst")));
    HYMIR_RETURN_IF_ERROR(checkDType(where, "dtype", c.dtype));
    if (c.kind == CollectiveKind::DeviceIndex) {
      if (c.dtype != DType::I32)
        return fail(where, "has a device_index of a dtype other than i32");
    } else if (c.kind == CollectiveKind::AllToAll) {
      HYMIR_RETURN_IF_ERROR(
          checkRef(e, c.srcOffsets, absl::StrCat(where, " src_offsets")));
      HYMIR_RETURN_IF_ERROR(
          checkRef(e, c.dstOffsets, absl::StrCat(where, " dst_offsets")));
      if (c.row < 1)
        return fail(where, absl::StrCat("has all_to_all rows of ", c.row,
                                        " elements; rows must be positive"));
      if (c.dtype != DType::F32 && c.dtype != DType::BF16 &&
          c.dtype != DType::I32)
        return fail(where,
                    absl::StrCat("has dtype ", std::string(dtypeName(c.dtype)),
                                 "; all_to_all moves f32, bf16 or i32"));
    } else if (c.dtype != DType::F32 && c.dtype != DType::BF16)
      return fail(where,
                  absl::StrCat("has dtype ", std::string(dtypeName(c.dtype)),
                               "; collectives move f32 or bf16"));
    return checkNonNegative(e, c.elements, absl::StrCat(where, " elements"),
                            "element counts");
  }

  // The source is a tensor argument with a box the driver accepts; the
  // target is 128 bytes of a buffer that only the step writes, so that the
  // runtime may skip rewriting bytes it wrote there before.
  absl::Status checkTensorMap(const EntryDesc &e, const TensorMapDesc &t,
                              absl::string_view where) const {
    std::string source = absl::StrCat(where, " source");
    HYMIR_RETURN_IF_ERROR(checkRef(e, t.source, source));
    HYMIR_RETURN_IF_ERROR(checkDType(source, "dtype", t.dtype));
    if (t.sizes.size() != t.strides.size())
      return fail(source, absl::StrCat("has ", t.sizes.size(), " sizes and ",
                                       t.strides.size(),
                                       " strides; the counts must match"));
    for (size_t d = 0; d < t.sizes.size(); ++d)
      HYMIR_RETURN_IF_ERROR(checkNonNegative(
          e, t.sizes[d], absl::StrCat(source, " sizes[", d, "]"), "sizes"));
    for (size_t d = 0; d < t.strides.size(); ++d)
      HYMIR_RETURN_IF_ERROR(checkNonNegative(
          e, t.strides[d], absl::StrCat(source, " strides[", d, "]"),
          "strides"));
    if (std::string error =
            tensorMapBoxError(t.sizes.size(), t.box, t.dtype, t.swizzle);
        !error.empty())
      return fail(where, error);
    if (t.strides.back() != SizeExprSpec::of(1))
      return fail(source, "has an innermost stride other than the constant "
                          "1; a tensor map reads whole rows");
    std::string target = absl::StrCat(where, " target");
    HYMIR_RETURN_IF_ERROR(checkRef(e, t.target, target));
    if (t.target.kind != StorageKind::Buffer)
      return fail(target, absl::StrCat("is ", storageKindName(t.target.kind),
                                       " storage; a tensor map is written "
                                       "into a buffer"));
    if (!t.target.offsetBytes.isConstant() || t.target.offsetBytes.constant < 0)
      return fail(target, "has an offset that is not a non-negative "
                          "constant");
    const BufferSlotDesc &slot = e.buffers[t.target.index];
    auto offset = static_cast<uint64_t>(t.target.offsetBytes.constant);
    if (offset > slot.sizeBytes || slot.sizeBytes - offset < kTensorMapBytes)
      return fail(target,
                  absl::StrCat("has ", kTensorMapBytes, " bytes at ", "offset ",
                               offset, " of buffer ", t.target.index,
                               ", which has ", slot.sizeBytes));
    for (size_t i = 0; i < e.buffers.size(); ++i) {
      const BufferSlotDesc &other = e.buffers[i];
      if (i == t.target.index || other.sizeBytes == 0 || slot.sizeBytes == 0)
        continue;
      // Slots lie inside the arena (checked before the steps): no overflow.
      if (other.arenaOffset < slot.arenaOffset + slot.sizeBytes &&
          slot.arenaOffset < other.arenaOffset + other.sizeBytes)
        return fail(target,
                    absl::StrCat("is buffer ", t.target.index,
                                 ", which shares arena bytes with buffer ", i,
                                 "; a tensor map's buffer has bytes of its "
                                 "own"));
    }
    if (t.tokensAtLeast < 0 || t.tokensAtMost < -1 ||
        (t.tokensAtMost >= 0 && t.tokensAtMost < t.tokensAtLeast))
      return fail(where,
                  absl::StrCat("runs for token counts [", t.tokensAtLeast, ", ",
                               t.tokensAtMost, "], which is not a range"));
    if (t.guarded() && e.symbols.empty())
      return fail(where, "depends on the token count of an entry that has "
                         "none");
    return absl::OkStatus();
  }

  absl::Status checkEntry(const EntryDesc &e) const {
    std::string where = absl::StrCat("entry ", quote(e.name));
    std::vector<absl::string_view> names;
    for (const TensorSpecDesc &t : e.inputs)
      names.push_back(t.name);
    HYMIR_RETURN_IF_ERROR(checkNames(names, where, "input"));
    names.clear();
    for (const TensorSpecDesc &t : e.outputs)
      names.push_back(t.name);
    HYMIR_RETURN_IF_ERROR(checkNames(names, where, "output"));
    names.clear();
    for (const SymbolDesc &s : e.symbols)
      names.push_back(s.name);
    HYMIR_RETURN_IF_ERROR(checkNames(names, where, "symbol"));
    for (const TensorSpecDesc &t : e.inputs)
      HYMIR_RETURN_IF_ERROR(checkDType(
          absl::StrCat(where, " input ", quote(t.name)), "dtype", t.dtype));
    for (const TensorSpecDesc &t : e.outputs)
      HYMIR_RETURN_IF_ERROR(checkDType(
          absl::StrCat(where, " output ", quote(t.name)), "dtype", t.dtype));

    for (const SymbolDesc &s : e.symbols) {
      std::string symWhere = absl::StrCat(where, " symbol ", quote(s.name));
      if (s.input >= e.inputs.size())
        return fail(symWhere, absl::StrCat("reads input ", s.input,
                                           ", but the entry has ",
                                           e.inputs.size(), " inputs"));
      const TensorSpecDesc &input = e.inputs[s.input];
      if (s.dim >= input.shape.size())
        return fail(symWhere,
                    absl::StrCat("reads dim ", s.dim, " of input ",
                                 quote(input.name), ", which has rank ",
                                 input.shape.size()));
      if (s.max <= 0)
        return fail(symWhere,
                    absl::StrCat("has max ", s.max, "; it must be positive"));
    }
    HYMIR_RETURN_IF_ERROR(checkTensorSpecs(e, e.inputs, where, "input"));
    HYMIR_RETURN_IF_ERROR(checkTensorSpecs(e, e.outputs, where, "output"));
    HYMIR_RETURN_IF_ERROR(checkTies(e, where));

    for (size_t i = 0; i < e.buffers.size(); ++i) {
      const BufferSlotDesc &b = e.buffers[i];
      uint64_t end;
      if (__builtin_add_overflow(b.arenaOffset, b.sizeBytes, &end) ||
          end > e.arenaBytes)
        return fail(absl::StrCat(where, " buffer ", i),
                    absl::StrCat("(offset ", b.arenaOffset, ", ", b.sizeBytes,
                                 " bytes) does not fit in the arena of ",
                                 e.arenaBytes, " bytes"));
    }

    for (size_t i = 0; i < e.checks.size(); ++i) {
      const CheckDesc &c = e.checks[i];
      if (c.checkedOp.empty() || c.value.empty())
        return fail(absl::StrCat(where, " check ", i),
                    "names no op or no value; a check's error names both");
    }

    for (size_t i = 0; i < e.plan.size(); ++i) {
      const StepDesc &s = e.plan[i];
      std::string stepWhere =
          absl::StrCat(where, " step ", i, " (", stepKindName(s), ")");
      if (const auto *l = std::get_if<LaunchKernelDesc>(&s))
        HYMIR_RETURN_IF_ERROR(checkLaunch(e, *l, stepWhere));
      else if (const auto *g = std::get_if<GemmDesc>(&s))
        HYMIR_RETURN_IF_ERROR(checkGemm(e, *g, stepWhere));
      else if (const auto *c = std::get_if<CollectiveDesc>(&s))
        HYMIR_RETURN_IF_ERROR(checkCollective(e, *c, stepWhere));
      else if (const auto *t = std::get_if<TensorMapDesc>(&s))
        HYMIR_RETURN_IF_ERROR(checkTensorMap(e, *t, stepWhere));
      else
        HYMIR_RETURN_IF_ERROR(checkCopy(e, std::get<CopyDesc>(s), stepWhere));
    }
    if (e.reference)
      HYMIR_RETURN_IF_ERROR(
          checkReference(e, *e.reference, absl::StrCat(where, " reference")));
    return absl::OkStatus();
  }

  // Structure only: the ids, the order of definitions, the names and the
  // kinds of what crosses the program's boundary. What an op needs of its
  // operands and attributes is the evaluator's to check.
  absl::Status checkReference(const EntryDesc &e, const RefProgramDesc &p,
                              absl::string_view where) const {
    for (size_t v = 0; v < p.values.size(); ++v) {
      const RefValueDesc &value = p.values[v];
      std::string valueWhere = absl::StrCat(where, " value ", v);
      if (!inRange(value.kind, RefValueKind::Index))
        return fail(valueWhere,
                    absl::StrFormat("has kind %d, which is not a known kind "
                                    "(float 0, int 1, index 2)",
                                    static_cast<int>(value.kind)));
      if (value.kind == RefValueKind::Index && !value.shape.empty())
        return fail(valueWhere,
                    absl::StrCat("is an index with ", value.shape.size(),
                                 " dims; an index has none"));
      for (size_t d = 0; d < value.shape.size(); ++d)
        if (value.shape[d] < kRefDynamicDim)
          return fail(absl::StrCat(valueWhere, " dim ", d),
                      absl::StrCat("is ", value.shape[d],
                                   "; dims are -1 (dynamic) or non-negative"));
    }
    if (p.arguments.size() != p.argumentNames.size())
      return fail(where, absl::StrCat("has ", p.arguments.size(),
                                      " arguments and ", p.argumentNames.size(),
                                      " argument names; the counts must "
                                      "match"));
    std::vector<absl::string_view> names(p.argumentNames.begin(),
                                         p.argumentNames.end());
    HYMIR_RETURN_IF_ERROR(checkNames(names, where, "argument"));
    std::map<absl::string_view, bool> known; // name -> is an input
    for (const TensorSpecDesc &t : m.params)
      known[t.name] = false;
    for (const TensorSpecDesc &t : e.inputs)
      known[t.name] = true;
    for (const std::string &name : p.argumentNames)
      if (!known.count(name))
        return fail(absl::StrCat(where, " argument ", quote(name)),
                    "is neither an input of the entry nor a param of the "
                    "module");
    for (const TensorSpecDesc &t : e.inputs)
      if (std::find(p.argumentNames.begin(), p.argumentNames.end(), t.name) ==
          p.argumentNames.end())
        return fail(where, absl::StrCat("does not read input ", quote(t.name),
                                        " of the entry"));
    if (p.results.size() != e.outputs.size())
      return fail(where,
                  absl::StrCat("has ", p.results.size(), " results, but the ",
                               "entry has ", e.outputs.size(), " outputs"));

    // Definitions in program order: arguments, then each op's results.
    std::vector<bool> defined(p.values.size(), false);
    auto define = [&](uint32_t id, const std::string &what) -> absl::Status {
      if (id >= p.values.size())
        return fail(where,
                    absl::StrCat(what, " is value ", id, ", but the ",
                                 "program has ", p.values.size(), " values"));
      if (defined[id])
        return fail(where, absl::StrCat(what, " defines value ", id,
                                        ", which is already defined"));
      defined[id] = true;
      return absl::OkStatus();
    };
    for (size_t i = 0; i < p.arguments.size(); ++i) {
      std::string what =
          absl::StrCat("argument ", i, " ", quote(p.argumentNames[i]));
      HYMIR_RETURN_IF_ERROR(define(p.arguments[i], what));
      if (p.values[p.arguments[i]].kind == RefValueKind::Index)
        return fail(where, absl::StrCat(what, " is an index; arguments are "
                                              "tensors"));
    }
    for (size_t i = 0; i < p.ops.size(); ++i) {
      const RefOpDesc &op = p.ops[i];
      if (op.name.empty())
        return fail(absl::StrCat(where, " op ", i), "has an empty name");
      std::string opWhere = absl::StrCat("op ", i, " (", op.name, ")");
      for (size_t k = 0; k < op.operands.size(); ++k) {
        uint32_t id = op.operands[k];
        if (id >= p.values.size() || !defined[id])
          return fail(where,
                      absl::StrCat(opWhere, " operand ", k, " is value ", id,
                                   ", which is not defined before it"));
      }
      for (size_t k = 0; k < op.results.size(); ++k)
        HYMIR_RETURN_IF_ERROR(
            define(op.results[k], absl::StrCat(opWhere, " result ", k)));
      for (size_t k = 0; k < op.attrs.size(); ++k)
        if (op.attrs[k].name.empty())
          return fail(where, absl::StrCat(opWhere, " attribute ", k,
                                          " has an empty name"));
    }
    for (size_t i = 0; i < p.results.size(); ++i) {
      uint32_t id = p.results[i];
      std::string what = absl::StrCat("result ", i, " (output ",
                                      quote(e.outputs[i].name), ")");
      if (id >= p.values.size() || !defined[id])
        return fail(where, absl::StrCat(what, " is value ", id,
                                        ", which is never defined"));
      if (p.values[id].kind == RefValueKind::Index)
        return fail(where,
                    absl::StrCat(what, " is an index; results are tensors"));
    }
    return absl::OkStatus();
  }

  const ModuleDesc &m;
  absl::string_view label;
};

} // namespace

absl::Status validateModule(const ModuleDesc &module, std::string_view label) {
  return ModuleValidator(module, absl::string_view(label.data(), label.size()))
      .run();
}

} // namespace hymir
