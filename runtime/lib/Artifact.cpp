//===- Artifact.cpp - loading and checking .hymir artifacts ---------------===//
//
// The loader reads FlatBuffers data only after the verifier has accepted it,
// copies it into the plain structs of Artifact.h (refusing to expand data
// that is referenced more often than it is stored), and then checks the
// structs with validateModule, which is also available to the writer's users.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Artifact.h"

#include "hymir/Runtime/artifact_generated.h"
#include "hymir/Support/Status.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <map>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace hymir {
namespace {

namespace fb = flatbuffers;
namespace ar = hymir::artifact;

// The runtime's enums and the schema's share their numbering.
static_assert(static_cast<int>(DType::F32) == static_cast<int>(ar::DType::F32));
static_assert(static_cast<int>(DType::BF16) ==
              static_cast<int>(ar::DType::BF16));
static_assert(static_cast<int>(DType::F16) == static_cast<int>(ar::DType::F16));
static_assert(static_cast<int>(DType::F64) == static_cast<int>(ar::DType::F64));
static_assert(static_cast<int>(DType::I32) == static_cast<int>(ar::DType::I32));
static_assert(static_cast<int>(DType::I64) == static_cast<int>(ar::DType::I64));
static_assert(static_cast<int>(DType::U8) == static_cast<int>(ar::DType::U8));
static_assert(static_cast<int>(DType::U8) == static_cast<int>(ar::DType::MAX));
static_assert(static_cast<int>(Target::Cuda) ==
              static_cast<int>(ar::Target::MAX));
static_assert(static_cast<int>(CodeFormat::Ptx) ==
              static_cast<int>(ar::CodeFormat::Ptx));
static_assert(static_cast<int>(CodeFormat::Cubin) ==
              static_cast<int>(ar::CodeFormat::MAX));
static_assert(static_cast<int>(StorageKind::Param) ==
              static_cast<int>(ar::StorageKind::Param));
static_assert(static_cast<int>(StorageKind::Buffer) ==
              static_cast<int>(ar::StorageKind::MAX));
static_assert(static_cast<int>(RefValueKind::Int) ==
              static_cast<int>(ar::RefKind::Int));
static_assert(static_cast<int>(RefValueKind::Index) ==
              static_cast<int>(ar::RefKind::MAX));

std::string quote(absl::string_view s) {
  return absl::StrCat("'", absl::CHexEscape(s), "'");
}

template <typename E> bool inRange(E value, E last) {
  int v = static_cast<int>(value);
  return v >= 0 && v <= static_cast<int>(last);
}

// floor(sum / divisor) for divisor >= 1, which cannot overflow.
int64_t floorDiv(int64_t sum, int64_t divisor) {
  int64_t quotient = sum / divisor;
  return sum % divisor != 0 && sum < 0 ? quotient - 1 : quotient;
}

//===----------------------------------------------------------------------===//
// validateModule
//===----------------------------------------------------------------------===//

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
                                      "; only params and inputs can be "
                                      "sharded"));
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
      HYMIR_RETURN_IF_ERROR(checkShardDim(t, where, what == "input"));
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
    if (!inRange(r.kind, StorageKind::Buffer))
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
    }
    std::string kind = storageKindName(r.kind);
    if (r.index >= count)
      return fail(where,
                  absl::StrCat("refers to ", kind, " ", r.index, ", but ",
                               owner, " has ", count, " ", kind, "s"));
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
    if (!inRange(c.kind, CollectiveKind::AllGather))
      return fail(where, absl::StrFormat("has collective kind %d, which is "
                                         "not a known kind",
                                         static_cast<int>(c.kind)));
    HYMIR_RETURN_IF_ERROR(checkRef(e, c.src, absl::StrCat(where, " src")));
    HYMIR_RETURN_IF_ERROR(checkRef(e, c.dst, absl::StrCat(where, " dst")));
    HYMIR_RETURN_IF_ERROR(checkDType(where, "dtype", c.dtype));
    if (c.dtype != DType::F32 && c.dtype != DType::BF16)
      return fail(where,
                  absl::StrCat("has dtype ", std::string(dtypeName(c.dtype)),
                               "; collectives move f32 or bf16"));
    return checkNonNegative(e, c.elements, absl::StrCat(where, " elements"),
                            "element counts");
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

//===----------------------------------------------------------------------===//
// FlatBuffers -> ModuleDesc
//===----------------------------------------------------------------------===//

// Copies a verified Module into a ModuleDesc. The verifier bounds the number
// of tables visited, but strings, byte vectors and struct vectors may be
// referenced from many places; every copied byte of those is charged against
// the payload's size, which an honestly written file never exceeds, so a
// crafted file cannot make the loader allocate far more than it read.
class ModuleDecoder {
public:
  ModuleDecoder(absl::string_view label, size_t payloadBytes)
      : label(label), budget(payloadBytes) {}

  absl::StatusOr<ModuleDesc> decode(const ar::Module &in) {
    ModuleDesc out;
    out.target = static_cast<Target>(static_cast<int8_t>(in.target()));
    out.chip = str(in.chip());
    out.deviceCount = in.device_count();
    out.params = tensorSpecs(in.params());
    if (const auto *code = in.code())
      for (const ar::CodeObject *c : *code) {
        CodeObjectDesc desc;
        desc.format = static_cast<CodeFormat>(static_cast<int8_t>(c->format()));
        if (c->data() && charge(c->data()->size()))
          desc.data.assign(c->data()->begin(), c->data()->end());
        if (c->ptx_fallback() && charge(c->ptx_fallback()->size()))
          desc.ptxFallback.assign(c->ptx_fallback()->begin(),
                                  c->ptx_fallback()->end());
        out.code.push_back(std::move(desc));
      }
    if (const auto *kernels = in.kernels())
      for (const ar::Kernel *k : *kernels)
        out.kernels.push_back({str(k->name()), k->code(), str(k->symbol())});
    if (const auto *entries = in.entries())
      for (const ar::Entry *e : *entries) {
        out.entries.push_back(entry(*e));
        if (!error.ok())
          return error;
      }
    out.producer = str(in.producer());
    if (!error.ok())
      return error;
    return out;
  }

private:
  bool charge(size_t bytes) {
    if (bytes > budget) {
      if (error.ok())
        error = absl::DataLossError(absl::StrCat(
            label, ": the module refers to more string and vector data than "
                   "it holds (aliased data); the file is corrupt"));
      budget = 0;
      return false;
    }
    budget -= bytes;
    return true;
  }

  void missing(absl::string_view where, absl::string_view what) {
    if (error.ok())
      error = absl::InvalidArgumentError(
          absl::StrCat(label, ": ", where, " has no ", what));
  }

  std::string str(const fb::String *s) {
    if (!s || !charge(s->size()))
      return {};
    return s->str();
  }

  SizeExprSpec sizeExpr(const ar::SizeExpr *e) {
    SizeExprSpec out;
    if (!e)
      return out;
    out.constant = e->constant();
    out.divisor = e->divisor();
    if (const auto *terms = e->terms();
        terms && charge(size_t{terms->size()} * sizeof(ar::Term))) {
      out.terms.reserve(terms->size());
      for (const ar::Term *t : *terms)
        out.terms.emplace_back(t->symbol(), t->coeff());
    }
    return out;
  }

  SizeExprSpec requiredSizeExpr(const ar::SizeExpr *e, absl::string_view where,
                                absl::string_view what) {
    if (!e)
      missing(where, what);
    return sizeExpr(e);
  }

  std::vector<SizeExprSpec>
  sizeExprs(const fb::Vector<fb::Offset<ar::SizeExpr>> *in) {
    std::vector<SizeExprSpec> out;
    if (in)
      for (const ar::SizeExpr *e : *in)
        out.push_back(sizeExpr(e));
    return out;
  }

  std::vector<TensorSpecDesc>
  tensorSpecs(const fb::Vector<fb::Offset<ar::TensorSpec>> *in) {
    std::vector<TensorSpecDesc> out;
    if (in)
      for (const ar::TensorSpec *t : *in)
        out.push_back({str(t->name()),
                       static_cast<DType>(static_cast<int8_t>(t->dtype())),
                       sizeExprs(t->shape()), t->shard_dim()});
    return out;
  }

  // A vector of scalars, charged against the budget.
  template <typename T, typename U>
  std::vector<T> scalars(const fb::Vector<U> *in) {
    std::vector<T> out;
    if (in && charge(size_t{in->size()} * sizeof(U)))
      out.assign(in->begin(), in->end());
    return out;
  }

  RefProgramDesc program(const ar::RefProgram &in) {
    RefProgramDesc out;
    if (const auto *values = in.values())
      for (const ar::RefValue *v : *values)
        out.values.push_back(
            {static_cast<RefValueKind>(static_cast<int8_t>(v->kind())),
             scalars<int64_t>(v->shape())});
    out.arguments = scalars<uint32_t>(in.arguments());
    if (const auto *names = in.argument_names())
      for (const fb::String *name : *names)
        out.argumentNames.push_back(str(name));
    out.results = scalars<uint32_t>(in.results());
    if (const auto *ops = in.ops())
      for (const ar::RefOp *op : *ops) {
        RefOpDesc desc;
        desc.name = str(op->name());
        desc.operands = scalars<uint32_t>(op->operands());
        desc.results = scalars<uint32_t>(op->results());
        if (const auto *attrs = op->attrs())
          for (const ar::RefAttr *a : *attrs)
            desc.attrs.push_back({str(a->name()), a->int_value(),
                                  a->float_value(),
                                  scalars<int64_t>(a->ints())});
        desc.data = scalars<double>(op->data());
        desc.intData = scalars<int64_t>(op->int_data());
        out.ops.push_back(std::move(desc));
      }
    return out;
  }

  RefDesc ref(const ar::Ref *r) {
    RefDesc out;
    out.kind = static_cast<StorageKind>(static_cast<int8_t>(r->kind()));
    out.index = r->index();
    out.offsetBytes = sizeExpr(r->offset_bytes());
    return out;
  }

  RefDesc requiredRef(const ar::Ref *r, absl::string_view where,
                      absl::string_view what) {
    if (!r) {
      missing(where, what);
      return {};
    }
    return ref(r);
  }

  KernelArgDesc kernelArg(const ar::KernelArg &in, absl::string_view where) {
    KernelArgDesc out;
    const ar::TensorArg *tensor = in.tensor();
    const ar::SizeExpr *scalar = in.scalar();
    if (tensor && scalar) {
      if (error.ok())
        error = absl::InvalidArgumentError(absl::StrCat(
            label, ": ", where, " has both a tensor and a scalar"));
      return out;
    }
    if (!tensor && !scalar) {
      if (error.ok())
        error = absl::InvalidArgumentError(absl::StrCat(
            label, ": ", where, " has neither a tensor nor a scalar"));
      return out;
    }
    if (scalar) {
      out.scalar = sizeExpr(scalar);
      return out;
    }
    out.isTensor = true;
    out.ref = requiredRef(tensor->ref(), where, "ref");
    out.dtype = static_cast<DType>(static_cast<int8_t>(tensor->dtype()));
    out.sizes = sizeExprs(tensor->sizes());
    out.strides = sizeExprs(tensor->strides());
    return out;
  }

  StepDesc launch(const ar::LaunchKernel &in, absl::string_view where) {
    LaunchKernelDesc out;
    out.kernel = in.kernel();
    out.grid = sizeExprs(in.grid());
    if (const auto *block = in.block();
        block && charge(size_t{block->size()} * sizeof(uint32_t)))
      out.block.assign(block->begin(), block->end());
    out.sharedMemoryBytes = in.shared_memory_bytes();
    out.tokensAtLeast = in.tokens_at_least();
    out.tokensAtMost = in.tokens_at_most();
    if (const auto *args = in.args())
      for (fb::uoffset_t i = 0; i < args->size() && error.ok(); ++i)
        out.args.push_back(
            kernelArg(*args->Get(i), absl::StrCat(where, " arg ", i)));
    return out;
  }

  StepDesc gemm(const ar::Gemm &in, absl::string_view where) {
    GemmDesc out;
    out.x = requiredRef(in.x(), where, "x");
    out.w = requiredRef(in.w(), where, "w");
    out.y = requiredRef(in.y(), where, "y");
    out.m = requiredSizeExpr(in.m(), where, "m");
    out.n = in.n();
    out.k = in.k();
    out.dtype = static_cast<DType>(static_cast<int8_t>(in.dtype()));
    out.outDtype = static_cast<DType>(static_cast<int8_t>(in.out_dtype()));
    out.f32Precision = in.f32_precision();
    return out;
  }

  StepDesc copy(const ar::Copy &in, absl::string_view where) {
    CopyDesc out;
    out.src = requiredRef(in.src(), where, "src");
    out.dst = requiredRef(in.dst(), where, "dst");
    out.bytes = requiredSizeExpr(in.bytes(), where, "bytes");
    return out;
  }

  StepDesc collective(const ar::Collective &in, absl::string_view where) {
    CollectiveDesc out;
    out.kind = static_cast<CollectiveKind>(static_cast<int8_t>(in.kind()));
    out.src = requiredRef(in.src(), where, "src");
    out.dst = requiredRef(in.dst(), where, "dst");
    out.dtype = static_cast<DType>(static_cast<int8_t>(in.dtype()));
    out.elements = requiredSizeExpr(in.elements(), where, "elements");
    return out;
  }

  EntryDesc entry(const ar::Entry &in) {
    EntryDesc out;
    out.name = str(in.name());
    out.inputs = tensorSpecs(in.inputs());
    out.outputs = tensorSpecs(in.outputs());
    if (const auto *symbols = in.symbols())
      for (const ar::Symbol *s : *symbols)
        out.symbols.push_back({str(s->name()), s->input(), s->dim(), s->max()});
    if (const auto *buffers = in.buffers())
      for (const ar::BufferSlot *b : *buffers)
        out.buffers.push_back({b->arena_offset(), b->size_bytes()});
    out.arenaBytes = in.arena_bytes();
    if (const ar::RefProgram *reference = in.reference())
      out.reference = program(*reference);
    const auto *plan = in.plan();
    if (!plan)
      return out;
    std::string entryWhere = absl::StrCat("entry ", quote(out.name));
    for (fb::uoffset_t i = 0; i < plan->size() && error.ok(); ++i) {
      const ar::PlanStep *s = plan->Get(i);
      std::string where = absl::StrCat(entryWhere, " step ", i);
      if (const auto *l = s->step_as_LaunchKernel())
        out.plan.push_back(launch(*l, absl::StrCat(where, " (launch)")));
      else if (const auto *g = s->step_as_Gemm())
        out.plan.push_back(gemm(*g, absl::StrCat(where, " (gemm)")));
      else if (const auto *c = s->step_as_Copy())
        out.plan.push_back(copy(*c, absl::StrCat(where, " (copy)")));
      else if (const auto *c = s->step_as_Collective())
        out.plan.push_back(
            collective(*c, absl::StrCat(where, " (collective)")));
      else if (s->step_type() == ar::Step::NONE || s->step() == nullptr)
        missing(where, "step");
      else if (error.ok())
        error = absl::InvalidArgumentError(absl::StrCat(
            label, ": ", where, " has step type ",
            static_cast<int>(s->step_type()),
            ", which is not a known step (launch 1, gemm 2, copy 3, "
            "collective 4)"));
    }
    return out;
  }

  absl::string_view label;
  size_t budget;
  absl::Status error;
};

} // namespace

//===----------------------------------------------------------------------===//
// Names, equality, evaluation, checksum
//===----------------------------------------------------------------------===//

std::string targetName(Target target) {
  switch (target) {
  case Target::Cpu:
    return "cpu";
  case Target::Cuda:
    return "cuda";
  }
  return absl::StrCat("target ", static_cast<int>(target));
}

std::string codeFormatName(CodeFormat format) {
  switch (format) {
  case CodeFormat::HostSharedObject:
    return "host shared object";
  case CodeFormat::Ptx:
    return "ptx";
  case CodeFormat::Cubin:
    return "cubin";
  }
  return absl::StrCat("code format ", static_cast<int>(format));
}

std::string storageKindName(StorageKind kind) {
  switch (kind) {
  case StorageKind::Input:
    return "input";
  case StorageKind::Output:
    return "output";
  case StorageKind::Param:
    return "param";
  case StorageKind::Buffer:
    return "buffer";
  }
  return absl::StrCat("storage kind ", static_cast<int>(kind));
}

std::string refValueKindName(RefValueKind kind) {
  switch (kind) {
  case RefValueKind::Float:
    return "float";
  case RefValueKind::Int:
    return "int";
  case RefValueKind::Index:
    return "index";
  }
  return absl::StrCat("kind ", static_cast<int>(kind));
}

std::string stepKindName(const StepDesc &step) {
  if (std::holds_alternative<LaunchKernelDesc>(step))
    return "launch";
  if (std::holds_alternative<GemmDesc>(step))
    return "gemm";
  if (std::holds_alternative<CollectiveDesc>(step))
    return "collective";
  return "copy";
}

std::string collectiveKindName(CollectiveKind kind) {
  switch (kind) {
  case CollectiveKind::AllReduceSum:
    return "all_reduce";
  case CollectiveKind::AllGather:
    return "all_gather";
  }
  return absl::StrCat("collective ", static_cast<int>(kind));
}

bool operator==(const SizeExprSpec &a, const SizeExprSpec &b) {
  return a.constant == b.constant && a.terms == b.terms &&
         a.divisor == b.divisor;
}
bool operator==(const TensorSpecDesc &a, const TensorSpecDesc &b) {
  return a.name == b.name && a.dtype == b.dtype && a.shape == b.shape &&
         a.shardDim == b.shardDim;
}
bool operator==(const SymbolDesc &a, const SymbolDesc &b) {
  return a.name == b.name && a.input == b.input && a.dim == b.dim &&
         a.max == b.max;
}
bool operator==(const CodeObjectDesc &a, const CodeObjectDesc &b) {
  return a.format == b.format && a.data == b.data &&
         a.ptxFallback == b.ptxFallback;
}
bool operator==(const KernelDesc &a, const KernelDesc &b) {
  return a.name == b.name && a.code == b.code && a.symbol == b.symbol;
}
bool operator==(const RefDesc &a, const RefDesc &b) {
  return a.kind == b.kind && a.index == b.index &&
         a.offsetBytes == b.offsetBytes;
}
bool operator==(const BufferSlotDesc &a, const BufferSlotDesc &b) {
  return a.arenaOffset == b.arenaOffset && a.sizeBytes == b.sizeBytes;
}
bool operator==(const KernelArgDesc &a, const KernelArgDesc &b) {
  if (a.isTensor != b.isTensor)
    return false;
  if (!a.isTensor)
    return a.scalar == b.scalar;
  return a.ref == b.ref && a.dtype == b.dtype && a.sizes == b.sizes &&
         a.strides == b.strides;
}
bool operator==(const LaunchKernelDesc &a, const LaunchKernelDesc &b) {
  return a.kernel == b.kernel && a.grid == b.grid && a.block == b.block &&
         a.sharedMemoryBytes == b.sharedMemoryBytes && a.args == b.args &&
         a.tokensAtLeast == b.tokensAtLeast && a.tokensAtMost == b.tokensAtMost;
}
bool operator==(const GemmDesc &a, const GemmDesc &b) {
  return a.x == b.x && a.w == b.w && a.y == b.y && a.m == b.m && a.n == b.n &&
         a.k == b.k && a.dtype == b.dtype && a.outDtype == b.outDtype &&
         a.f32Precision == b.f32Precision;
}
bool operator==(const CopyDesc &a, const CopyDesc &b) {
  return a.src == b.src && a.dst == b.dst && a.bytes == b.bytes;
}
bool operator==(const CollectiveDesc &a, const CollectiveDesc &b) {
  return a.kind == b.kind && a.src == b.src && a.dst == b.dst &&
         a.dtype == b.dtype && a.elements == b.elements;
}
static bool sameBits(double a, double b) {
  uint64_t x, y;
  std::memcpy(&x, &a, sizeof x);
  std::memcpy(&y, &b, sizeof y);
  return x == y;
}
static bool sameBits(const std::vector<double> &a,
                     const std::vector<double> &b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](double x, double y) { return sameBits(x, y); });
}
bool operator==(const RefValueDesc &a, const RefValueDesc &b) {
  return a.kind == b.kind && a.shape == b.shape;
}
bool operator==(const RefAttrDesc &a, const RefAttrDesc &b) {
  return a.name == b.name && a.intValue == b.intValue &&
         sameBits(a.floatValue, b.floatValue) && a.ints == b.ints;
}
bool operator==(const RefOpDesc &a, const RefOpDesc &b) {
  return a.name == b.name && a.operands == b.operands &&
         a.results == b.results && a.attrs == b.attrs &&
         sameBits(a.data, b.data) && a.intData == b.intData;
}
bool operator==(const RefProgramDesc &a, const RefProgramDesc &b) {
  return a.values == b.values && a.arguments == b.arguments &&
         a.argumentNames == b.argumentNames && a.results == b.results &&
         a.ops == b.ops;
}
bool operator==(const EntryDesc &a, const EntryDesc &b) {
  return a.name == b.name && a.inputs == b.inputs && a.outputs == b.outputs &&
         a.symbols == b.symbols && a.buffers == b.buffers &&
         a.arenaBytes == b.arenaBytes && a.plan == b.plan &&
         a.reference == b.reference;
}
bool operator==(const ModuleDesc &a, const ModuleDesc &b) {
  return a.target == b.target && a.chip == b.chip &&
         a.deviceCount == b.deviceCount && a.params == b.params &&
         a.code == b.code && a.kernels == b.kernels && a.entries == b.entries &&
         a.producer == b.producer;
}

absl::Status validateModule(const ModuleDesc &module, std::string_view label) {
  return ModuleValidator(module, absl::string_view(label.data(), label.size()))
      .run();
}

absl::StatusOr<int64_t> evaluate(const SizeExprSpec &expr,
                                 absl::Span<const int64_t> symbolValues) {
  if (expr.divisor < 1)
    return absl::InvalidArgumentError(
        absl::StrCat("size expression has divisor ", expr.divisor,
                     "; it must be at least 1"));
  int64_t value = expr.constant;
  for (const auto &[symbol, coeff] : expr.terms) {
    if (symbol >= symbolValues.size())
      return absl::InvalidArgumentError(
          absl::StrCat("size expression refers to symbol ", symbol, ", but ",
                       symbolValues.size(), " symbol values were given"));
    int64_t term;
    if (__builtin_mul_overflow(coeff, symbolValues[symbol], &term) ||
        __builtin_add_overflow(value, term, &value))
      return absl::OutOfRangeError(absl::StrCat(
          "size expression overflows int64 (symbol ", symbol, " = ",
          symbolValues[symbol], ", coefficient ", coeff, ")"));
  }
  return floorDiv(value, expr.divisor);
}

uint64_t fnv1a64(absl::Span<const uint8_t> bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (uint8_t byte : bytes) {
    hash ^= byte;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

//===----------------------------------------------------------------------===//
// Artifact
//===----------------------------------------------------------------------===//

const EntryDesc *Artifact::findEntry(std::string_view name) const {
  for (const EntryDesc &e : module_.entries)
    if (e.name == name)
      return &e;
  return nullptr;
}

absl::StatusOr<Artifact> Artifact::load(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errnoStatus(errno, path, "cannot open the artifact");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return errnoStatus(err, path, "cannot read the artifact");
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory, not a hymir artifact"));
  }
  // Read to the end (the file may not be a regular one), stopping once it is
  // larger than any FlatBuffer can be.
  constexpr size_t kLimit = FLATBUFFERS_MAX_BUFFER_SIZE;
  std::vector<uint8_t> bytes(
      S_ISREG(st.st_mode) && st.st_size > 0
          ? std::min<size_t>(static_cast<size_t>(st.st_size), kLimit) + 1
          : 65536);
  size_t size = 0;
  while (true) {
    if (size == bytes.size()) {
      if (size > kLimit)
        break;
      bytes.resize(std::min<size_t>(2 * size, kLimit + 1));
    }
    ssize_t n = ::read(fd, bytes.data() + size, bytes.size() - size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return errnoStatus(err, path, "cannot read the artifact");
    }
    if (n == 0)
      break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  if (size > kLimit)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is larger than 2 GiB; not a hymir artifact"));
  bytes.resize(size);
  return fromBytes(std::move(bytes), path);
}

absl::StatusOr<Artifact> Artifact::fromBytes(std::vector<uint8_t> bytes,
                                             std::string label) {
  // 1. Size and file identifier.
  if (bytes.size() < 8)
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": not a hymir artifact (", bytes.size(),
                     " bytes; too short to hold the file identifier)"));
  if (!ar::ArtifactBufferHasIdentifier(bytes.data()))
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": not a hymir artifact (file identifier '",
                     absl::CHexEscape(absl::string_view(
                         reinterpret_cast<const char *>(bytes.data()) + 4, 4)),
                     "', expected '", ar::ArtifactIdentifier(), "')"));
  if (bytes.size() >= FLATBUFFERS_MAX_BUFFER_SIZE)
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": is larger than 2 GiB; not a hymir artifact"));

  // 2. The outer table alone: the payload is checked after the version and
  // the checksum, so that a newer or damaged payload is reported as such.
  fb::Verifier::Options outerOptions;
  outerOptions.check_nested_flatbuffers = false;
  fb::Verifier outer(bytes.data(), bytes.size(), outerOptions);
  if (!ar::VerifyArtifactBuffer(outer))
    return absl::DataLossError(absl::StrCat(
        label, ": the artifact's outer table is malformed (the file is corrupt "
               "or truncated)"));
  const ar::Artifact *artifact = ar::GetArtifact(bytes.data());

  // 3. Schema version.
  if (artifact->schema_version() != kArtifactSchemaVersion)
    return absl::FailedPreconditionError(absl::StrCat(
        label, ": artifact schema version ", artifact->schema_version(),
        " is not supported; this runtime reads version ",
        kArtifactSchemaVersion));

  // 4. Payload and checksum.
  const fb::Vector<uint8_t> *payload = artifact->payload();
  if (!payload || payload->size() == 0)
    return absl::DataLossError(
        absl::StrCat(label, ": the artifact has no payload"));
  absl::Span<const uint8_t> payloadBytes(payload->data(), payload->size());
  uint64_t checksum = fnv1a64(payloadBytes);
  if (checksum != artifact->checksum())
    return absl::DataLossError(absl::StrFormat(
        "%s: checksum mismatch: the file is corrupt (stored %#018x, payload "
        "hashes to %#018x)",
        label, artifact->checksum(), checksum));

  // 5. The Module. Its 8-byte fields must be aligned in memory; the writer
  // aligns the payload, and an oddly placed one is copied.
  std::vector<uint8_t> aligned;
  if (reinterpret_cast<uintptr_t>(payloadBytes.data()) % 8 != 0) {
    aligned.assign(payloadBytes.begin(), payloadBytes.end());
    payloadBytes = aligned;
  }
  fb::Verifier inner(payloadBytes.data(), payloadBytes.size());
  if (!inner.VerifyBuffer<ar::Module>(nullptr))
    return absl::DataLossError(absl::StrCat(
        label, ": the module payload is malformed although its checksum "
               "matches (was it written by a broken writer?)"));
  const ar::Module *module = fb::GetRoot<ar::Module>(payloadBytes.data());

  // 6. Every index and size.
  absl::StatusOr<ModuleDesc> desc =
      ModuleDecoder(label, payloadBytes.size()).decode(*module);
  if (!desc.ok())
    return desc.status();
  HYMIR_RETURN_IF_ERROR(validateModule(*desc, label));
  return Artifact(std::move(label), *std::move(desc));
}

} // namespace hymir
