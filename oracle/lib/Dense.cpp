//===- Dense.cpp - RMSNorm, linear and embedding --------------------------===//
//
// The dense building blocks of the decoder layer (the decoder layer's dense ops
// (hymir.rms_norm, hymir.linear, hymir.embedding, hymir.rope in
// docs/dialect/HymirOps.md)): RMSNorm over the last dim, y = x W^T, and the
// embedding gather.
//
//===----------------------------------------------------------------------===//

#include "Checks.h"

#include <algorithm>
#include <cmath>

namespace hymir {
namespace oracle {

using namespace detail;

Tensor rmsNorm(const Tensor &x, const Tensor &weight, double epsilon) {
  const char *op = "rmsNorm";
  checkMinRank(op, "x", x, 1);
  checkRank(op, "weight", weight, 1);
  int64_t n = x.shape.back();
  checkDim(op, "weight", weight.shape, 0, n, "the last dim of x");
  Tensor out(x.shape);
  int64_t rows = n == 0 ? 0 : x.numel() / n;
  for (int64_t r = 0; r < rows; ++r) {
    const double *xr = &x.data[r * n];
    double *outR = &out.data[r * n];
    double sumSq = 0.0;
    for (int64_t c = 0; c < n; ++c)
      sumSq += xr[c] * xr[c];
    double rms = std::sqrt(sumSq / static_cast<double>(n) + epsilon);
    for (int64_t c = 0; c < n; ++c)
      outR[c] = xr[c] / rms * weight.data[c];
  }
  return out;
}

Tensor linear(const Tensor &x, const Tensor &weight) {
  const char *op = "linear";
  checkMinRank(op, "x", x, 1);
  checkRank(op, "weight", weight, 2);
  int64_t kDim = x.shape.back(), nDim = weight.shape[0];
  checkDim(op, "weight", weight.shape, 1, kDim, "the last dim of x");
  std::vector<int64_t> shape = x.shape;
  shape.back() = nDim;
  Tensor out(shape);
  int64_t rows =
      product(std::vector<int64_t>(x.shape.begin(), x.shape.end() - 1));
  for (int64_t r = 0; r < rows; ++r) {
    const double *xr = &x.data[r * kDim];
    for (int64_t o = 0; o < nDim; ++o) {
      const double *wo = &weight.data[o * kDim];
      double acc = 0.0;
      for (int64_t c = 0; c < kDim; ++c)
        acc += xr[c] * wo[c];
      out.data[r * nDim + o] = acc;
    }
  }
  return out;
}

Tensor embedding(const Tensor &table, const IntTensor &ids) {
  const char *op = "embedding";
  checkRank(op, "table", table, 2);
  checkWellFormed(op, "ids", ids);
  int64_t vocab = table.shape[0], n = table.shape[1];
  std::vector<int64_t> shape = ids.shape;
  shape.push_back(n);
  Tensor out(shape);
  for (size_t i = 0; i < ids.data.size(); ++i) {
    int64_t id = ids.data[i];
    if (id < 0 || id >= vocab)
      fail(op, "operand 'ids' holds " + std::to_string(id) + " at flat index " +
                   std::to_string(i) + ", outside [0, " +
                   std::to_string(vocab) + ") (the rows of table)");
    std::copy(table.data.begin() + id * n, table.data.begin() + (id + 1) * n,
              out.data.begin() + static_cast<int64_t>(i) * n);
  }
  return out;
}

} // namespace oracle
} // namespace hymir
