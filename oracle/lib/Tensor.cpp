//===- Tensor.cpp - Oracle tensors, comparisons, random data, bf16 --------===//
//
// The Tensor and IntTensor basics plus the helpers callers use around the
// oracle: error measures, seeded random tensors and bfloat16 rounding.
//
//===----------------------------------------------------------------------===//

#include "Checks.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <utility>

namespace hymir {
namespace oracle {

using namespace detail;

Tensor::Tensor(std::vector<int64_t> shape, double fill)
    : shape(std::move(shape)) {
  for (int64_t e : this->shape)
    if (e < 0)
      fail("Tensor", "negative extent in shape " + formatShape(this->shape));
  data.assign(static_cast<size_t>(product(this->shape)), fill);
}

int64_t Tensor::numel() const { return product(shape); }

int64_t Tensor::dim(int i) const {
  int64_t r = rank();
  int64_t j = i < 0 ? i + r : i;
  if (j < 0 || j >= r)
    fail("Tensor::dim", "dimension " + std::to_string(i) +
                            " is out of range for shape " + formatShape(shape));
  return shape[j];
}

int64_t IntTensor::numel() const { return product(shape); }

static void checkSameShape(const char *op, const Tensor &a, const char *aName,
                           const Tensor &b, const char *bName) {
  checkWellFormed(op, aName, a);
  checkWellFormed(op, bName, b);
  if (a.shape != b.shape)
    fail(op, std::string("operands '") + aName + "' " + formatShape(a.shape) +
                 " and '" + bName + "' " + formatShape(b.shape) +
                 " differ in shape");
}

double maxAbsDiff(const Tensor &a, const Tensor &b) {
  checkSameShape("maxAbsDiff", a, "a", b, "b");
  double m = 0.0;
  for (size_t i = 0; i < a.data.size(); ++i)
    m = std::max(m, std::abs(a.data[i] - b.data[i]));
  return m;
}

double relativeError(const Tensor &got, const Tensor &want) {
  checkSameShape("relativeError", got, "got", want, "want");
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < got.data.size(); ++i) {
    double d = got.data[i] - want.data[i];
    diff += d * d;
    norm += want.data[i] * want.data[i];
  }
  return std::sqrt(diff) /
         std::max(std::sqrt(norm), std::numeric_limits<double>::min());
}

Tensor randomTensor(std::vector<int64_t> shape, uint64_t seed, double lo,
                    double hi) {
  if (!(lo < hi))
    fail("randomTensor", "expects lo < hi, got [" + std::to_string(lo) + ", " +
                             std::to_string(hi) + ")");
  Tensor t(std::move(shape));
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (double &x : t.data)
    x = dist(gen);
  return t;
}

double roundToBf16(double x) {
  float f = static_cast<float>(x);
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  if (std::isnan(f)) {
    // Keep the sign and force a quiet NaN that survives truncation.
    bits = (bits & 0xFFFF0000u) | 0x00400000u;
  } else {
    // Round to nearest, ties to even, on the 16 bits that are dropped.
    // Overflow of the exponent correctly produces infinity.
    uint32_t lsb = (bits >> 16) & 1u;
    bits += 0x7FFFu + lsb;
    bits &= 0xFFFF0000u;
  }
  std::memcpy(&f, &bits, sizeof(f));
  return static_cast<double>(f);
}

Tensor roundToBf16(const Tensor &x) {
  checkWellFormed("roundToBf16", "x", x);
  Tensor y = x;
  for (double &v : y.data)
    v = roundToBf16(v);
  return y;
}

} // namespace oracle
} // namespace hymir
