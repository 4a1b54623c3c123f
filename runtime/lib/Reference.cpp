//===- Reference.cpp - evaluate reference programs on the oracle ----------===//
//
// See Reference.h. One table lists every op the evaluator knows with the
// kinds of its operands and its result count; the generic loop checks those,
// the ids and the definitions, then calls the op's function, catches
// whatever the oracle throws, and checks each result against its declared
// kind and static shape. Values are dropped after their last use.
//
//===----------------------------------------------------------------------===//

#include "hymir/Runtime/Reference.h"
#include "hymir/Support/BFloat16.h"
#include "hymir/Support/Status.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <utility>

namespace hymir {
namespace {

// "[2, 3]"; with `isType`, kRefDynamicDim prints as "?".
std::string shapeString(const std::vector<int64_t> &shape,
                        bool isType = false) {
  std::vector<std::string> dims;
  for (int64_t d : shape)
    dims.push_back(isType && d == kRefDynamicDim ? "?" : absl::StrCat(d));
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

std::string typeString(const RefValueDesc &type) {
  switch (type.kind) {
  case RefValueKind::Float:
    return "f" + shapeString(type.shape, true);
  case RefValueKind::Int:
    return "i" + shapeString(type.shape, true);
  case RefValueKind::Index:
    return "index";
  }
  return refValueKindName(type.kind);
}

// The element count of `shape`, refusing negative extents and counts above
// kRefMaxElements (so nothing downstream can overflow or allocate wildly).
absl::StatusOr<int64_t> checkedNumel(const std::vector<int64_t> &shape) {
  for (int64_t d : shape)
    if (d < 0)
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", shapeString(shape), " has a negative dim"));
  if (std::find(shape.begin(), shape.end(), 0) != shape.end())
    return 0;
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n) || n > kRefMaxElements)
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", shapeString(shape), " has more than 2^32 ",
                       "elements, more than the reference evaluator holds"));
  return n;
}

const std::vector<int64_t> *shapeOf(const ReferenceValue &v) {
  if (const auto *t = std::get_if<oracle::Tensor>(&v))
    return &t->shape;
  if (const auto *t = std::get_if<oracle::IntTensor>(&v))
    return &t->shape;
  return nullptr;
}

// Why `v` does not fit `type` (its kind, rank, static dims, and an element
// count that matches its shape), or nullopt when it fits.
std::optional<std::string> mismatch(const ReferenceValue &v,
                                    const RefValueDesc &type) {
  RefValueKind kind =
      std::holds_alternative<oracle::Tensor>(v)      ? RefValueKind::Float
      : std::holds_alternative<oracle::IntTensor>(v) ? RefValueKind::Int
                                                     : RefValueKind::Index;
  std::string found = describeReferenceValue(v);
  std::string expected = typeString(type);
  if (kind != type.kind)
    return absl::StrCat("is ", found, ", but its type is ", expected);
  const std::vector<int64_t> *shape = shapeOf(v);
  if (!shape)
    return std::nullopt;
  bool fits = shape->size() == type.shape.size();
  for (size_t d = 0; fits && d < shape->size(); ++d)
    fits = type.shape[d] == kRefDynamicDim || type.shape[d] == (*shape)[d];
  if (!fits)
    return absl::StrCat("is ", found, ", but its type is ", expected);
  absl::StatusOr<int64_t> numel = checkedNumel(*shape);
  if (!numel.ok())
    return absl::StrCat("is ", found, ": ", numel.status().message());
  size_t held = kind == RefValueKind::Float
                    ? std::get<oracle::Tensor>(v).data.size()
                    : std::get<oracle::IntTensor>(v).data.size();
  if (static_cast<int64_t>(held) != *numel)
    return absl::StrCat("is ", found, " but holds ", held, " elements");
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

// One op being evaluated: its operands (checked against the op's kinds),
// its attributes, and the results its function appends.
class OpContext {
public:
  OpContext(const RefProgramDesc &program, const RefOpDesc &op, size_t index,
            std::vector<const ReferenceValue *> operands)
      : program(program), op(op), index(index), operands(std::move(operands)) {}

  absl::Status error(absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrCat("op ", index, " (", op.name, "): ", message));
  }

  size_t numOperands() const { return operands.size(); }
  const oracle::Tensor &f(size_t k) const {
    return std::get<oracle::Tensor>(*operands[k]);
  }
  const oracle::IntTensor &i(size_t k) const {
    return std::get<oracle::IntTensor>(*operands[k]);
  }
  int64_t x(size_t k) const { return std::get<int64_t>(*operands[k]); }
  const ReferenceValue &value(size_t k) const { return *operands[k]; }
  const RefValueDesc &resultType(size_t k) const {
    return program.values[op.results[k]];
  }

  const RefAttrDesc *attr(absl::string_view name) const {
    for (const RefAttrDesc &a : op.attrs)
      if (a.name == name)
        return &a;
    return nullptr;
  }
  absl::Status intAttr(absl::string_view name, int64_t &out) const {
    const RefAttrDesc *a = attr(name);
    if (!a)
      return error(absl::StrCat("has no attribute '", name, "'"));
    out = a->intValue;
    return absl::OkStatus();
  }
  absl::Status boolAttr(absl::string_view name, bool &out) const {
    int64_t v = 0;
    HYMIR_RETURN_IF_ERROR(intAttr(name, v));
    out = v != 0;
    return absl::OkStatus();
  }
  absl::Status floatAttr(absl::string_view name, double &out) const {
    const RefAttrDesc *a = attr(name);
    if (!a)
      return error(absl::StrCat("has no attribute '", name, "'"));
    out = a->floatValue;
    return absl::OkStatus();
  }
  // `out` stays null for an absent optional attribute.
  absl::Status intsAttr(absl::string_view name,
                        const std::vector<int64_t> *&out,
                        bool optional = false) const {
    const RefAttrDesc *a = attr(name);
    if (!a && !optional)
      return error(absl::StrCat("has no attribute '", name, "'"));
    out = a ? &a->ints : nullptr;
    return absl::OkStatus();
  }

  const RefProgramDesc &program;
  const RefOpDesc &op;
  size_t index;
  std::vector<ReferenceValue> results;

private:
  std::vector<const ReferenceValue *> operands;
};

using OpFn = absl::Status (*)(OpContext &);

// Operand kinds, one letter each: F a float tensor, I an integer tensor, T
// either, X an index. A letter followed by '?' may be absent (last only); by
// '*', it repeats any number of times, none included (last only).
struct OpInfo {
  absl::string_view name;
  absl::string_view operands;
  size_t results;
  OpFn run;
};

// Elementwise ops.
double add(double a, double b) { return a + b; }
double sub(double a, double b) { return a - b; }
double mul(double a, double b) { return a * b; }
double divide(double a, double b) { return a / b; }
// IEEE maximum and minimum: a NaN operand gives NaN.
double maximum(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? std::nan("") : std::fmax(a, b);
}
double minimum(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? std::nan("") : std::fmin(a, b);
}
double neg(double a) { return -a; }
double same(double a) { return a; }
double expOf(double a) { return std::exp(a); }
double logOf(double a) { return std::log(a); }
double tanhOf(double a) { return std::tanh(a); }
double sqrtOf(double a) { return std::sqrt(a); }
double rsqrtOf(double a) { return 1 / std::sqrt(a); }

template <double (*Fn)(double, double)> absl::Status binary(OpContext &c) {
  const oracle::Tensor &a = c.f(0), &b = c.f(1);
  if (a.shape != b.shape)
    return c.error(absl::StrCat("operand shapes ", shapeString(a.shape),
                                " and ", shapeString(b.shape), " differ"));
  oracle::Tensor out;
  out.shape = a.shape;
  out.data.resize(a.data.size());
  for (size_t k = 0; k < a.data.size(); ++k)
    out.data[k] = Fn(a.data[k], b.data[k]);
  c.results.push_back(std::move(out));
  return absl::OkStatus();
}

template <double (*Fn)(double)> absl::Status unary(OpContext &c) {
  oracle::Tensor out = c.f(0);
  for (double &v : out.data)
    v = Fn(v);
  c.results.push_back(std::move(out));
  return absl::OkStatus();
}

// The elements of a constant of `shape`: all of them, or one for a splat.
template <typename T>
absl::Status constantData(OpContext &c, const std::vector<int64_t> &shape,
                          const std::vector<T> &data, std::vector<T> &out) {
  for (int64_t d : shape)
    if (d == kRefDynamicDim)
      return c.error(absl::StrCat("a constant needs a static shape, not ",
                                  shapeString(shape, true)));
  absl::StatusOr<int64_t> numel = checkedNumel(shape);
  if (!numel.ok())
    return c.error(numel.status().message());
  if (data.size() == 1)
    out.assign(static_cast<size_t>(*numel), data[0]);
  else if (static_cast<int64_t>(data.size()) == *numel)
    out = data;
  else
    return c.error(absl::StrCat("has ", data.size(), " values for shape ",
                                shapeString(shape), " (", *numel,
                                " elements, or 1 for a splat)"));
  return absl::OkStatus();
}

absl::Status constant(OpContext &c) {
  const RefValueDesc &type = c.resultType(0);
  const RefOpDesc &op = c.op;
  if (type.kind == RefValueKind::Float && !op.intData.empty())
    return c.error("a float constant has int data");
  if (type.kind != RefValueKind::Float && !op.data.empty())
    return c.error(absl::StrCat("a constant of type ", typeString(type),
                                " has float data"));
  switch (type.kind) {
  case RefValueKind::Index:
    if (op.intData.size() != 1)
      return c.error(absl::StrCat("an index constant has one value, not ",
                                  op.intData.size()));
    c.results.push_back(op.intData[0]);
    return absl::OkStatus();
  case RefValueKind::Float: {
    oracle::Tensor t;
    t.shape = type.shape;
    HYMIR_RETURN_IF_ERROR(constantData(c, type.shape, op.data, t.data));
    c.results.push_back(std::move(t));
    return absl::OkStatus();
  }
  case RefValueKind::Int: {
    oracle::IntTensor t;
    t.shape = type.shape;
    HYMIR_RETURN_IF_ERROR(constantData(c, type.shape, op.intData, t.data));
    c.results.push_back(std::move(t));
    return absl::OkStatus();
  }
  }
  return c.error(absl::StrCat("has a result of ", typeString(type)));
}

absl::Status dim(OpContext &c) {
  const std::vector<int64_t> &shape = *shapeOf(c.value(0));
  int64_t d = c.x(1);
  if (d < 0 || d >= static_cast<int64_t>(shape.size()))
    return c.error(absl::StrCat("dim index ", d, " is out of range for shape ",
                                shapeString(shape)));
  c.results.push_back(shape[static_cast<size_t>(d)]);
  return absl::OkStatus();
}

// The result shape of a splat or reshape: the result type with its dynamic
// dims taken from `dynamic`, in order.
absl::Status resolveShape(OpContext &c, const std::vector<int64_t> &dynamic,
                          std::vector<int64_t> &shape) {
  shape = c.resultType(0).shape;
  size_t next = 0;
  for (int64_t &d : shape)
    if (d == kRefDynamicDim) {
      if (next == dynamic.size())
        return c.error(absl::StrCat("has ", dynamic.size(),
                                    " dynamic sizes for result type ",
                                    typeString(c.resultType(0))));
      d = dynamic[next++];
    }
  if (next != dynamic.size())
    return c.error(absl::StrCat("has ", dynamic.size(),
                                " dynamic sizes for result type ",
                                typeString(c.resultType(0))));
  if (absl::StatusOr<int64_t> n = checkedNumel(shape); !n.ok())
    return c.error(n.status().message());
  return absl::OkStatus();
}

absl::Status splat(OpContext &c) {
  std::vector<int64_t> dynamic, shape;
  for (size_t k = 1; k < c.numOperands(); ++k)
    dynamic.push_back(c.x(k));
  HYMIR_RETURN_IF_ERROR(resolveShape(c, dynamic, shape));
  int64_t numel = *checkedNumel(shape);
  if (const auto *f = std::get_if<oracle::Tensor>(&c.value(0))) {
    if (f->data.size() != 1)
      return c.error(absl::StrCat("splats ", describeReferenceValue(*f),
                                  "; it takes a single element"));
    oracle::Tensor out;
    out.shape = shape;
    out.data.assign(static_cast<size_t>(numel), f->data[0]);
    c.results.push_back(std::move(out));
  } else {
    const oracle::IntTensor &i = c.i(0);
    if (i.data.size() != 1)
      return c.error(absl::StrCat("splats ", describeReferenceValue(i),
                                  "; it takes a single element"));
    c.results.push_back(oracle::IntTensor{
        shape, std::vector<int64_t>(static_cast<size_t>(numel), i.data[0])});
  }
  return absl::OkStatus();
}

// Row-major reshapes keep the data; only the shape changes. One dynamic dim
// of the result is inferred from the element count.
absl::Status reshape(OpContext &c) {
  const std::vector<int64_t> &source = *shapeOf(c.value(0));
  int64_t numel = *checkedNumel(source);
  std::vector<int64_t> shape = c.resultType(0).shape;
  int64_t known = 1;
  size_t dynamicAt = shape.size();
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == kRefDynamicDim) {
      if (dynamicAt != shape.size())
        return c.error(absl::StrCat("reshapes to ", typeString(c.resultType(0)),
                                    ", which has more than one dynamic dim"));
      dynamicAt = d;
    } else if (__builtin_mul_overflow(known, shape[d], &known) ||
               known > kRefMaxElements) {
      return c.error(absl::StrCat("reshapes to ", typeString(c.resultType(0)),
                                  ", which is too large"));
    }
  }
  if (dynamicAt != shape.size())
    shape[dynamicAt] = known ? numel / known : 0;
  int64_t product = known * (dynamicAt != shape.size() ? shape[dynamicAt] : 1);
  if (product != numel)
    return c.error(absl::StrCat("cannot reshape ",
                                describeReferenceValue(c.value(0)), " to ",
                                typeString(c.resultType(0))));
  if (auto *f = std::get_if<oracle::Tensor>(&c.value(0))) {
    oracle::Tensor out = *f;
    out.shape = shape;
    c.results.push_back(std::move(out));
  } else {
    oracle::IntTensor out = c.i(0);
    out.shape = shape;
    c.results.push_back(std::move(out));
  }
  return absl::OkStatus();
}

template <typename T>
void gather(const std::vector<T> &src, const std::vector<int64_t> &srcShape,
            const std::vector<int64_t> &offsets,
            const std::vector<int64_t> &sizes,
            const std::vector<int64_t> &strides, int64_t numel,
            std::vector<T> &out) {
  size_t rank = srcShape.size();
  out.resize(static_cast<size_t>(numel));
  std::vector<int64_t> idx(rank, 0);
  for (int64_t k = 0; k < numel; ++k) {
    int64_t at = 0;
    for (size_t d = 0; d < rank; ++d)
      at = at * srcShape[d] + offsets[d] + idx[d] * strides[d];
    out[static_cast<size_t>(k)] = src[static_cast<size_t>(at)];
    for (size_t d = rank; d-- > 0 && ++idx[d] == sizes[d];)
      idx[d] = 0;
  }
}

absl::Status extractSlice(OpContext &c) {
  const std::vector<int64_t> &src = *shapeOf(c.value(0));
  size_t rank = src.size();
  const std::vector<int64_t> *lists[3];
  const char *names[3] = {"offsets", "sizes", "strides"};
  std::vector<int64_t> resolved[3];
  size_t next = 1;
  for (int l = 0; l < 3; ++l) {
    HYMIR_RETURN_IF_ERROR(c.intsAttr(names[l], lists[l]));
    if (lists[l]->size() != rank)
      return c.error(absl::StrCat("has ", lists[l]->size(), " ", names[l],
                                  " for a source of rank ", rank));
    for (int64_t v : *lists[l]) {
      if (v == kRefDynamic) {
        if (next == c.numOperands())
          return c.error(absl::StrCat("has fewer index operands than dynamic ",
                                      "offsets, sizes and strides"));
        v = c.x(next++);
      }
      resolved[l].push_back(v);
    }
  }
  if (next != c.numOperands())
    return c.error(absl::StrCat("has ", c.numOperands() - next,
                                " index operands more than dynamic offsets, "
                                "sizes and strides"));
  const std::vector<int64_t> &offsets = resolved[0], &sizes = resolved[1],
                             &strides = resolved[2];
  for (size_t d = 0; d < rank; ++d) {
    if (sizes[d] < 0)
      return c.error(absl::StrCat("has size ", sizes[d], " in dim ", d));
    if (sizes[d] == 0)
      continue;
    __int128 last = static_cast<__int128>(offsets[d]) +
                    static_cast<__int128>(sizes[d] - 1) * strides[d];
    if (offsets[d] < 0 || offsets[d] >= src[d] || last < 0 || last >= src[d])
      return c.error(absl::StrCat("slice of dim ", d,
                                  " out of bounds for shape ", shapeString(src),
                                  " (offset ", offsets[d], ", size ", sizes[d],
                                  ", stride ", strides[d], ")"));
  }
  absl::StatusOr<int64_t> numel = checkedNumel(sizes);
  if (!numel.ok())
    return c.error(numel.status().message());
  const std::vector<int64_t> *dropped = nullptr;
  HYMIR_RETURN_IF_ERROR(c.intsAttr("dropped_dims", dropped, /*optional=*/true));
  std::vector<bool> drop(rank, false);
  if (dropped)
    for (int64_t d : *dropped) {
      if (d < 0 || d >= static_cast<int64_t>(rank) ||
          drop[static_cast<size_t>(d)] || sizes[static_cast<size_t>(d)] != 1)
        return c.error(absl::StrCat("cannot drop dim ", d, " of slice sizes ",
                                    shapeString(sizes)));
      drop[static_cast<size_t>(d)] = true;
    }
  std::vector<int64_t> shape;
  for (size_t d = 0; d < rank; ++d)
    if (!drop[d])
      shape.push_back(sizes[d]);
  if (const auto *f = std::get_if<oracle::Tensor>(&c.value(0))) {
    oracle::Tensor out;
    gather(f->data, src, offsets, sizes, strides, *numel, out.data);
    out.shape = shape;
    c.results.push_back(std::move(out));
  } else {
    oracle::IntTensor out;
    gather(c.i(0).data, src, offsets, sizes, strides, *numel, out.data);
    out.shape = shape;
    c.results.push_back(std::move(out));
  }
  return absl::OkStatus();
}

template <typename T>
void concatenate(const std::vector<const std::vector<T> *> &parts,
                 const std::vector<int64_t> &partExtents, int64_t outer,
                 int64_t inner, std::vector<T> &out) {
  // Row-major: for each index of the dims before `dim`, each part's block
  // of extent * inner elements in turn.
  for (int64_t o = 0; o < outer; ++o)
    for (size_t p = 0; p < parts.size(); ++p) {
      int64_t block = partExtents[p] * inner;
      auto from = parts[p]->begin() + o * block;
      out.insert(out.end(), from, from + block);
    }
}

absl::Status concat(OpContext &c) {
  int64_t dim = 0;
  HYMIR_RETURN_IF_ERROR(c.intAttr("dim", dim));
  const std::vector<int64_t> &first = *shapeOf(c.value(0));
  int64_t rank = static_cast<int64_t>(first.size());
  if (dim < 0 || dim >= rank)
    return c.error(absl::StrCat("concatenates along dim ", dim,
                                " of operands of rank ", rank));
  bool isFloat = std::holds_alternative<oracle::Tensor>(c.value(0));
  std::vector<int64_t> shape = first, extents;
  shape[static_cast<size_t>(dim)] = 0;
  for (size_t k = 0; k < c.numOperands(); ++k) {
    const std::vector<int64_t> &s = *shapeOf(c.value(k));
    bool same = s.size() == first.size() &&
                std::holds_alternative<oracle::Tensor>(c.value(k)) == isFloat;
    for (int64_t d = 0; same && d < rank; ++d)
      same = d == dim ||
             s[static_cast<size_t>(d)] == first[static_cast<size_t>(d)];
    if (!same)
      return c.error(absl::StrCat(
          "operand ", k, " is ", describeReferenceValue(c.value(k)),
          ", which does not concatenate with ",
          describeReferenceValue(c.value(0)), " along dim ", dim));
    extents.push_back(s[static_cast<size_t>(dim)]);
    shape[static_cast<size_t>(dim)] += extents.back();
  }
  absl::StatusOr<int64_t> numel = checkedNumel(shape);
  if (!numel.ok())
    return c.error(numel.status().message());
  // With no elements at all, nothing is copied (outer may then be huge).
  int64_t outer = 0, inner = 1;
  if (*numel > 0) {
    outer = 1;
    for (int64_t d = 0; d < dim; ++d)
      outer *= first[static_cast<size_t>(d)];
    for (int64_t d = dim + 1; d < rank; ++d)
      inner *= first[static_cast<size_t>(d)];
  }
  if (isFloat) {
    std::vector<const std::vector<double> *> parts;
    for (size_t k = 0; k < c.numOperands(); ++k)
      parts.push_back(&c.f(k).data);
    oracle::Tensor out;
    out.shape = shape;
    concatenate(parts, extents, outer, inner, out.data);
    c.results.push_back(std::move(out));
  } else {
    std::vector<const std::vector<int64_t> *> parts;
    for (size_t k = 0; k < c.numOperands(); ++k)
      parts.push_back(&c.i(k).data);
    oracle::IntTensor out;
    out.shape = shape;
    concatenate(parts, extents, outer, inner, out.data);
    c.results.push_back(std::move(out));
  }
  return absl::OkStatus();
}

absl::Status lightningAttention(OpContext &c) {
  const oracle::Tensor *init = c.numOperands() == 5 ? &c.f(4) : nullptr;
  oracle::LightningResult r =
      oracle::lightningAttentionRecurrent(c.f(0), c.f(1), c.f(2), c.f(3), init);
  c.results.push_back(std::move(r.out));
  c.results.push_back(std::move(r.finalState));
  return absl::OkStatus();
}

absl::Status softmaxAttention(OpContext &c) {
  bool causal = false;
  double scale = 0;
  HYMIR_RETURN_IF_ERROR(c.boolAttr("causal", causal));
  HYMIR_RETURN_IF_ERROR(c.floatAttr("scale", scale));
  const oracle::IntTensor *lengths = c.numOperands() == 4 ? &c.i(3) : nullptr;
  c.results.push_back(
      oracle::softmaxAttention(c.f(0), c.f(1), c.f(2), causal, scale, lengths));
  return absl::OkStatus();
}

absl::Status kvCacheWrite(OpContext &c) {
  if (c.numOperands() < 4) {
    c.results.push_back(oracle::kvCacheWrite(c.f(0), c.f(1), c.i(2)));
    return absl::OkStatus();
  }
  // The fused RoPE of the update: hymir.rope's meaning, then the write.
  int64_t rotaryDim = 0;
  double theta = 0;
  HYMIR_RETURN_IF_ERROR(c.intAttr("rotary_dim", rotaryDim));
  HYMIR_RETURN_IF_ERROR(c.floatAttr("theta", theta));
  oracle::Tensor rotated = oracle::rope(c.f(1), c.i(3), rotaryDim, theta);
  c.results.push_back(oracle::kvCacheWrite(c.f(0), rotated, c.i(2)));
  return absl::OkStatus();
}

absl::Status rope(OpContext &c) {
  int64_t rotaryDim = 0;
  double theta = 0;
  HYMIR_RETURN_IF_ERROR(c.intAttr("rotary_dim", rotaryDim));
  HYMIR_RETURN_IF_ERROR(c.floatAttr("theta", theta));
  c.results.push_back(oracle::rope(c.f(0), c.i(1), rotaryDim, theta));
  return absl::OkStatus();
}

absl::Status rmsNorm(OpContext &c) {
  double epsilon = 0;
  HYMIR_RETURN_IF_ERROR(c.floatAttr("epsilon", epsilon));
  c.results.push_back(oracle::rmsNorm(c.f(0), c.f(1), epsilon));
  return absl::OkStatus();
}

absl::Status linear(OpContext &c) {
  c.results.push_back(oracle::linear(c.f(0), c.f(1)));
  return absl::OkStatus();
}

absl::Status embedding(OpContext &c) {
  c.results.push_back(oracle::embedding(c.f(0), c.i(1)));
  return absl::OkStatus();
}

absl::Status moe(OpContext &c) {
  int64_t topK = 0;
  bool renormalize = false;
  HYMIR_RETURN_IF_ERROR(c.intAttr("top_k", topK));
  HYMIR_RETURN_IF_ERROR(c.boolAttr("renormalize", renormalize));
  c.results.push_back(
      oracle::moe(c.f(0), c.f(1), c.f(2), c.f(3), c.f(4), topK, renormalize));
  return absl::OkStatus();
}

absl::Status topK(OpContext &c) {
  int64_t k = 0;
  HYMIR_RETURN_IF_ERROR(c.intAttr("k", k));
  oracle::TopK r = oracle::topK(c.f(0), k);
  c.results.push_back(std::move(r.values));
  c.results.push_back(std::move(r.indices));
  return absl::OkStatus();
}

absl::Status routedExperts(OpContext &c) {
  c.results.push_back(
      oracle::routedExperts(c.f(0), c.i(1), c.f(2), c.f(3), c.f(4), c.f(5)));
  return absl::OkStatus();
}

absl::Status cispoLoss(OpContext &c) {
  double epsLow = 0, epsHigh = 0;
  bool unifiedMask = false;
  HYMIR_RETURN_IF_ERROR(c.floatAttr("eps_low", epsLow));
  HYMIR_RETURN_IF_ERROR(c.floatAttr("eps_high", epsHigh));
  HYMIR_RETURN_IF_ERROR(c.boolAttr("unified_mask", unifiedMask));
  // precision "bf16" (absent in programs written before it existed: the
  // default "f32").
  bool bf16Head = false;
  if (c.attr("bf16_head"))
    HYMIR_RETURN_IF_ERROR(c.boolAttr("bf16_head", bf16Head));
  oracle::CispoResult r =
      oracle::cispoLoss(c.f(0), c.f(1), c.i(2), c.f(3), c.f(4), c.f(5), epsLow,
                        epsHigh, unifiedMask, bf16Head);
  c.results.push_back(oracle::Tensor({}, r.loss));
  c.results.push_back(std::move(r.logpNew));
  c.results.push_back(std::move(r.dHidden));
  c.results.push_back(std::move(r.dLmHead));
  return absl::OkStatus();
}

absl::Status tokenLogprobs(OpContext &c) {
  bool bf16Head = false;
  if (c.attr("bf16_head"))
    HYMIR_RETURN_IF_ERROR(c.boolAttr("bf16_head", bf16Head));
  c.results.push_back(oracle::tokenLogprobs(c.f(0), c.f(1), c.i(2), bf16Head));
  return absl::OkStatus();
}

constexpr OpInfo kOps[] = {
    {"hymir.lightning_attention", "FFFFF?", 2, lightningAttention},
    {"hymir.softmax_attention", "FFFI?", 1, softmaxAttention},
    {"hymir.kv_cache_write", "FFII?", 1, kvCacheWrite},
    {"hymir.rope", "FI", 1, rope},
    {"hymir.rms_norm", "FF", 1, rmsNorm},
    {"hymir.linear", "FF", 1, linear},
    {"hymir.embedding", "FI", 1, embedding},
    {"hymir.moe", "FFFFF", 1, moe},
    {"hymir.cispo_loss", "FFIFFF", 4, cispoLoss},
    {"hymir.token_logprobs", "FFI", 1, tokenLogprobs},
    {"hymir.top_k", "F", 2, topK},
    {"hymir.routed_experts", "FIFFFF", 1, routedExperts},
    {"arith.addf", "FF", 1, binary<add>},
    {"arith.subf", "FF", 1, binary<sub>},
    {"arith.mulf", "FF", 1, binary<mul>},
    {"arith.divf", "FF", 1, binary<divide>},
    {"arith.maximumf", "FF", 1, binary<maximum>},
    {"arith.minimumf", "FF", 1, binary<minimum>},
    {"arith.negf", "F", 1, unary<neg>},
    {"arith.extf", "F", 1, unary<same>},
    {"arith.truncf", "F", 1, unary<same>},
    {"math.exp", "F", 1, unary<expOf>},
    {"math.log", "F", 1, unary<logOf>},
    {"math.tanh", "F", 1, unary<tanhOf>},
    {"math.sqrt", "F", 1, unary<sqrtOf>},
    {"math.rsqrt", "F", 1, unary<rsqrtOf>},
    {"arith.constant", "", 1, constant},
    {"tensor.dim", "TX", 1, dim},
    {"tensor.splat", "TX*", 1, splat},
    {"tensor.expand_shape", "T", 1, reshape},
    {"tensor.collapse_shape", "T", 1, reshape},
    {"tensor.extract_slice", "TX*", 1, extractSlice},
    {"tensor.concat", "TT*", 1, concat},
};

const OpInfo *findOp(absl::string_view name) {
  for (const OpInfo &info : kOps)
    if (info.name == name)
      return &info;
  return nullptr;
}

const char *kindPhrase(char kind) {
  switch (kind) {
  case 'F':
    return "a float tensor";
  case 'I':
    return "an integer tensor";
  case 'T':
    return "a tensor";
  default:
    return "an index";
  }
}

bool hasKind(const ReferenceValue &v, char kind) {
  switch (kind) {
  case 'F':
    return std::holds_alternative<oracle::Tensor>(v);
  case 'I':
    return std::holds_alternative<oracle::IntTensor>(v);
  case 'T':
    return !std::holds_alternative<int64_t>(v);
  default:
    return std::holds_alternative<int64_t>(v);
  }
}

// Checks the operand count and kinds against `pattern` (see OpInfo).
absl::Status checkOperands(const OpContext &c, absl::string_view pattern,
                           const std::vector<const ReferenceValue *> &values) {
  std::string kinds;
  size_t required = 0;
  bool repeats = false;
  for (char ch : pattern) {
    if (ch == '?') {
      --required;
    } else if (ch == '*') {
      --required;
      repeats = true;
    } else {
      kinds += ch;
      ++required;
    }
  }
  size_t n = values.size();
  if (n < required || (!repeats && n > kinds.size()))
    return c.error(
        absl::StrCat("has ", n, " operands; it takes ",
                     repeats ? absl::StrCat(required, " or more")
                     : required == kinds.size()
                         ? absl::StrCat(required)
                         : absl::StrCat(required, " or ", kinds.size())));
  for (size_t k = 0; k < n; ++k) {
    char kind = kinds[std::min(k, kinds.size() - 1)];
    if (!hasKind(*values[k], kind))
      return c.error(absl::StrCat("operand ", k, " is ",
                                  describeReferenceValue(*values[k]),
                                  "; expected ", kindPhrase(kind)));
  }
  return absl::OkStatus();
}

std::string argumentLabel(const RefProgramDesc &p, size_t i) {
  if (i < p.argumentNames.size())
    return absl::StrCat("argument ", i, " '", p.argumentNames[i], "'");
  return absl::StrCat("argument ", i);
}

} // namespace

bool isReferenceOp(std::string_view name) {
  return findOp(absl::string_view(name.data(), name.size())) != nullptr;
}

std::string describeReferenceValue(const ReferenceValue &value) {
  if (const auto *t = std::get_if<oracle::Tensor>(&value))
    return "f" + shapeString(t->shape);
  if (const auto *t = std::get_if<oracle::IntTensor>(&value))
    return "i" + shapeString(t->shape);
  return "index";
}

absl::StatusOr<std::vector<ReferenceValue>>
evaluateReference(const RefProgramDesc &program,
                  std::vector<ReferenceValue> args, size_t *failedOp) {
  constexpr size_t kNone = static_cast<size_t>(-1);
  if (failedOp)
    *failedOp = kNone;
  auto programError = [](absl::string_view message) {
    return absl::InvalidArgumentError(
        absl::StrCat("reference program: ", message));
  };
  const size_t numValues = program.values.size();
  std::vector<std::optional<ReferenceValue>> values(numValues);

  if (args.size() != program.arguments.size())
    return programError(absl::StrCat("takes ", program.arguments.size(),
                                     " arguments, got ", args.size()));
  for (size_t i = 0; i < args.size(); ++i) {
    uint32_t id = program.arguments[i];
    if (id >= numValues || values[id])
      return programError(absl::StrCat(argumentLabel(program, i), " is value ",
                                       id,
                                       ", which is out of range or "
                                       "defined twice"));
    if (std::optional<std::string> why = mismatch(args[i], program.values[id]))
      return absl::InvalidArgumentError(
          absl::StrCat("reference ", argumentLabel(program, i), " ", *why));
    values[id] = std::move(args[i]);
  }

  // The last op reading each value; program results are kept to the end.
  std::vector<size_t> lastUse(numValues, kNone);
  for (size_t i = 0; i < program.ops.size(); ++i)
    for (uint32_t id : program.ops[i].operands)
      if (id < numValues)
        lastUse[id] = i;
  for (uint32_t id : program.results)
    if (id < numValues)
      lastUse[id] = kNone;

  for (size_t i = 0; i < program.ops.size(); ++i) {
    const RefOpDesc &op = program.ops[i];
    auto fail = [&](absl::Status s) {
      if (failedOp)
        *failedOp = i;
      return s;
    };
    std::vector<const ReferenceValue *> operands;
    for (size_t k = 0; k < op.operands.size(); ++k) {
      uint32_t id = op.operands[k];
      if (id >= numValues || !values[id])
        return fail(absl::InvalidArgumentError(absl::StrCat(
            "op ", i, " (", op.name, "): operand ", k, " is value ", id,
            ", which is not defined before "
            "it")));
      operands.push_back(&*values[id]);
    }
    OpContext c(program, op, i, operands);
    const OpInfo *info = findOp(op.name);
    if (!info)
      return fail(c.error("is not an op the reference evaluator knows"));
    if (absl::Status s = checkOperands(c, info->operands, operands); !s.ok())
      return fail(s);
    if (op.results.size() != info->results)
      return fail(c.error(absl::StrCat("has ", op.results.size(),
                                       " results; it takes ", info->results)));
    for (size_t k = 0; k < op.results.size(); ++k) {
      uint32_t id = op.results[k];
      if (id >= numValues || values[id])
        return fail(c.error(absl::StrCat("result ", k, " is value ", id,
                                         ", which is out of range or "
                                         "defined twice")));
    }
    absl::Status status;
    try {
      status = info->run(c);
    } catch (const std::bad_alloc &) {
      status = c.error("out of memory");
    } catch (const std::exception &e) {
      status = c.error(e.what());
    }
    if (!status.ok())
      return fail(status);
    for (size_t k = 0; k < op.results.size(); ++k) {
      const RefValueDesc &type = program.values[op.results[k]];
      if (std::optional<std::string> why = mismatch(c.results[k], type))
        return fail(c.error(absl::StrCat("result ", k, " ", *why)));
    }
    for (size_t k = 0; k < op.results.size(); ++k)
      values[op.results[k]] = std::move(c.results[k]);
    for (uint32_t id : op.operands)
      if (lastUse[id] == i)
        values[id].reset();
  }

  std::vector<ReferenceValue> results;
  for (size_t i = 0; i < program.results.size(); ++i) {
    uint32_t id = program.results[i];
    if (id >= numValues || !values[id])
      return programError(absl::StrCat("result ", i, " is value ", id,
                                       ", which is never "
                                       "defined"));
    results.push_back(*values[id]);
  }
  return results;
}

namespace {

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  float magnitude;
  if (exponent == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31)
    magnitude = mantissa ? std::nanf("") : INFINITY;
  else
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u),
                           static_cast<int>(exponent) - 25);
  return sign ? -magnitude : magnitude;
}

template <typename T> T load(const uint8_t *data, int64_t i) {
  T v;
  std::memcpy(&v, data + sizeof(T) * static_cast<size_t>(i), sizeof(T));
  return v;
}

} // namespace

absl::StatusOr<ReferenceValue>
referenceValueFromBytes(DType dtype, const std::vector<int64_t> &shape,
                        const uint8_t *data, size_t sizeBytes,
                        RefValueKind kind, std::string_view what) {
  absl::string_view label(what.data(), what.size());
  absl::StatusOr<int64_t> numel = checkedNumel(shape);
  if (!numel.ok())
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": ", numel.status().message()));
  bool isFloat = dtype == DType::F32 || dtype == DType::BF16 ||
                 dtype == DType::F16 || dtype == DType::F64;
  bool isInt = dtype == DType::I32 || dtype == DType::I64 || dtype == DType::U8;
  if ((kind == RefValueKind::Float && !isFloat) ||
      (kind == RefValueKind::Int && !isInt) || kind == RefValueKind::Index)
    return absl::InvalidArgumentError(
        absl::StrCat(label, " is ", std::string(dtypeName(dtype)),
                     ", but the reference "
                     "reads it as ",
                     kind == RefValueKind::Float ? "a float tensor"
                     : kind == RefValueKind::Int ? "an integer tensor"
                                                 : "an index"));
  if (sizeBytes != static_cast<size_t>(*numel) * dtypeSize(dtype) ||
      (*numel > 0 && !data))
    return absl::InvalidArgumentError(absl::StrCat(
        label, " holds ", sizeBytes, " bytes, but ",
        std::string(dtypeName(dtype)), shapeString(shape), " needs ",
        static_cast<size_t>(*numel) * dtypeSize(dtype)));
  if (kind == RefValueKind::Float) {
    oracle::Tensor t;
    t.shape = shape;
    t.data.resize(static_cast<size_t>(*numel));
    for (int64_t i = 0; i < *numel; ++i) {
      double &out = t.data[static_cast<size_t>(i)];
      switch (dtype) {
      case DType::F32:
        out = load<float>(data, i);
        break;
      case DType::F64:
        out = load<double>(data, i);
        break;
      case DType::F16:
        out = halfToFloat(load<uint16_t>(data, i));
        break;
      default: // BF16
        out = bf16ToFloat(load<uint16_t>(data, i));
      }
    }
    return ReferenceValue(std::move(t));
  }
  oracle::IntTensor t;
  t.shape = shape;
  t.data.resize(static_cast<size_t>(*numel));
  for (int64_t i = 0; i < *numel; ++i)
    t.data[static_cast<size_t>(i)] =
        dtype == DType::I32   ? load<int32_t>(data, i)
        : dtype == DType::I64 ? load<int64_t>(data, i)
                              : load<uint8_t>(data, i);
  return ReferenceValue(std::move(t));
}

} // namespace hymir
