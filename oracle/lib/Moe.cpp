//===- Moe.cpp - Top-k routed SwiGLU mixture of experts -------------------===//
//
// hymir.moe (docs/dialect/HymirOps.md): softmax router over all experts, top-k
// with the lower expert index winning ties, optional renormalisation, SwiGLU
// experts.
//
//===----------------------------------------------------------------------===//

#include "Checks.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace hymir {
namespace oracle {

using namespace detail;

static void checkRouting(const char *op, const Tensor &x, const Tensor &router,
                         int64_t topK) {
  checkRank(op, "x", x, 2);
  checkRank(op, "router", router, 2);
  checkDim(op, "router", router.shape, 1, x.shape[1], "the hidden size of x");
  int64_t numExperts = router.shape[0];
  if (topK < 1 || topK > numExperts)
    fail(op, "expects top_k in [1, " + std::to_string(numExperts) +
                 "] (the expert count of router), got " + std::to_string(topK));
}

static MoeRouting route(const Tensor &x, const Tensor &router, int64_t topK,
                        bool renormalize) {
  int64_t nt = x.shape[0], n = x.shape[1], ne = router.shape[0];
  MoeRouting routing{IntTensor{{nt, topK}, {}}, Tensor({nt, topK})};
  routing.experts.data.assign(static_cast<size_t>(nt * topK), 0);
  std::vector<double> p(static_cast<size_t>(ne));
  std::vector<int64_t> order(static_cast<size_t>(ne));
  for (int64_t t = 0; t < nt; ++t) {
    // logits = x_t W_router^T; p = softmax(logits).
    const double *xt = &x.data[t * n];
    double maxLogit = 0.0;
    for (int64_t e = 0; e < ne; ++e) {
      const double *we = &router.data[e * n];
      double acc = 0.0;
      for (int64_t c = 0; c < n; ++c)
        acc += xt[c] * we[c];
      p[e] = acc;
      maxLogit = e == 0 ? acc : std::max(maxLogit, acc);
    }
    double denom = 0.0;
    for (int64_t e = 0; e < ne; ++e) {
      p[e] = std::exp(p[e] - maxLogit);
      denom += p[e];
    }
    for (int64_t e = 0; e < ne; ++e)
      p[e] /= denom;
    // Descending probability; among equal probabilities the lower expert
    // index comes first.
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return p[a] > p[b] || (p[a] == p[b] && a < b);
    });
    double sum = 0.0;
    for (int64_t j = 0; j < topK; ++j)
      sum += p[order[j]];
    for (int64_t j = 0; j < topK; ++j) {
      routing.experts.data[t * topK + j] = order[j];
      routing.weights.data[t * topK + j] =
          renormalize ? p[order[j]] / sum : p[order[j]];
    }
  }
  return routing;
}

MoeRouting moeRoute(const Tensor &x, const Tensor &router, int64_t topK,
                    bool renormalize) {
  checkRouting("moeRoute", x, router, topK);
  return route(x, router, topK, renormalize);
}

TopK topK(const Tensor &input, int64_t k) {
  const char *op = "topK";
  checkRank(op, "input", input, 2);
  int64_t nt = input.shape[0], width = input.shape[1];
  if (k < 1 || k > width)
    fail(op, "expects k in [1, " + std::to_string(width) +
                 "] (the row width of input), got " + std::to_string(k));
  TopK out{Tensor({nt, k}), IntTensor{{nt, k}, {}}};
  out.indices.data.assign(static_cast<size_t>(nt * k), 0);
  std::vector<int64_t> order(static_cast<size_t>(width));
  for (int64_t t = 0; t < nt; ++t) {
    const double *row = &input.data[t * width];
    // NaN entries are never picked: they sort last, and picks past the
    // non-NaN entries are (-inf, E), as the compiled rounds give.
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      bool na = std::isnan(row[a]), nb = std::isnan(row[b]);
      if (na || nb)
        return !na && nb;
      return row[a] > row[b];
    });
    for (int64_t j = 0; j < k; ++j) {
      bool none = std::isnan(row[order[j]]);
      out.values.data[t * k + j] =
          none ? -std::numeric_limits<double>::infinity() : row[order[j]];
      out.indices.data[t * k + j] = none ? width : order[j];
    }
  }
  return out;
}

Tensor routedExperts(const Tensor &x, const IntTensor &indices,
                     const Tensor &weights, const Tensor &w1, const Tensor &w3,
                     const Tensor &w2) {
  const char *op = "routedExperts";
  checkRank(op, "x", x, 2);
  checkRank(op, "w1", w1, 3);
  int64_t nt = x.shape[0], n = x.shape[1], ne = w1.shape[0], ni = w1.shape[1];
  if (indices.shape.size() != 2 || indices.shape[0] != nt)
    fail(op, "expects indices of shape [T, K] with T = " + std::to_string(nt));
  int64_t nk = indices.shape[1];
  checkShape(op, "weights", weights, {nt, nk});
  checkShape(op, "w1", w1, {ne, ni, n});
  checkShape(op, "w3", w3, {ne, ni, n});
  checkShape(op, "w2", w2, {ne, n, ni});

  Tensor out({nt, n});
  std::vector<double> hidden(static_cast<size_t>(ni));
  for (int64_t t = 0; t < nt; ++t) {
    const double *xt = &x.data[t * n];
    double *yt = &out.data[t * n];
    for (int64_t j = 0; j < nk; ++j) {
      int64_t e = indices.data[t * nk + j];
      double w = weights.data[t * nk + j];
      if (e < 0 || e >= ne)
        continue; // a pick outside [0, E) adds nothing
      // hidden = SiLU(x W1_e^T) ⊙ (x W3_e^T)
      for (int64_t r = 0; r < ni; ++r) {
        const double *w1r = &w1.data[(e * ni + r) * n];
        const double *w3r = &w3.data[(e * ni + r) * n];
        double gate = 0.0, up = 0.0;
        for (int64_t c = 0; c < n; ++c) {
          gate += xt[c] * w1r[c];
          up += xt[c] * w3r[c];
        }
        hidden[r] = gate / (1.0 + std::exp(-gate)) * up;
      }
      // y_t += w * hidden W2_e^T
      for (int64_t c = 0; c < n; ++c) {
        const double *w2c = &w2.data[(e * n + c) * ni];
        double acc = 0.0;
        for (int64_t r = 0; r < ni; ++r)
          acc += hidden[r] * w2c[r];
        yt[c] += w * acc;
      }
    }
  }
  return out;
}

Tensor moe(const Tensor &x, const Tensor &router, const Tensor &w1,
           const Tensor &w3, const Tensor &w2, int64_t topK, bool renormalize) {
  const char *op = "moe";
  checkRouting(op, x, router, topK);
  int64_t n = x.shape[1], ne = router.shape[0];
  checkRank(op, "w1", w1, 3);
  int64_t ni = w1.shape[1];
  checkShape(op, "w1", w1, {ne, ni, n});
  checkShape(op, "w3", w3, {ne, ni, n});
  checkShape(op, "w2", w2, {ne, n, ni});
  MoeRouting routing = route(x, router, topK, renormalize);
  return routedExperts(x, routing.experts, routing.weights, w1, w3, w2);
}

} // namespace oracle
} // namespace hymir
