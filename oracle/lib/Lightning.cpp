//===- Lightning.cpp - Lightning attention, recurrent and blocked ---------===//
//
// hymir.lightning_attention (docs/dialect/HymirOps.md): the decayed
// linear-attention recurrence that defines the op, and the blocked form kernels
// compute, each evaluated literally in fp64.
//
//===----------------------------------------------------------------------===//

#include "Checks.h"

#include <algorithm>
#include <cmath>

namespace hymir {
namespace oracle {

using namespace detail;

namespace {
struct LightningDims {
  int64_t b, t, h, d, dv;
};
} // namespace

static LightningDims checkLightning(const char *op, const Tensor &q,
                                    const Tensor &k, const Tensor &v,
                                    const Tensor &slopes,
                                    const Tensor *initialState) {
  checkRank(op, "q", q, 4);
  checkRank(op, "k", k, 4);
  checkRank(op, "v", v, 4);
  checkRank(op, "slopes", slopes, 1);
  LightningDims dims{q.shape[0], q.shape[1], q.shape[2], q.shape[3],
                     v.shape[3]};
  checkShape(op, "k", k, q.shape);
  checkDim(op, "v", v.shape, 0, dims.b, "the batch of q");
  checkDim(op, "v", v.shape, 1, dims.t, "the token count of q");
  checkDim(op, "v", v.shape, 2, dims.h, "the head count of q");
  checkDim(op, "slopes", slopes.shape, 0, dims.h, "the head count of q");
  if (initialState)
    checkShape(op, "initial_state", *initialState,
               {dims.b, dims.h, dims.d, dims.dv});
  return dims;
}

// The [D, Dv] state of (batch b, head h), copied from initialState or zero.
static std::vector<double> initialStateOf(const Tensor *initialState,
                                          const LightningDims &n, int64_t b,
                                          int64_t h) {
  std::vector<double> s(static_cast<size_t>(n.d * n.dv), 0.0);
  if (initialState) {
    auto first = initialState->data.begin() + ((b * n.h + h) * n.d * n.dv);
    std::copy(first, first + n.d * n.dv, s.begin());
  }
  return s;
}

static void storeState(Tensor &finalState, const std::vector<double> &s,
                       const LightningDims &n, int64_t b, int64_t h) {
  std::copy(s.begin(), s.end(),
            finalState.data.begin() + ((b * n.h + h) * n.d * n.dv));
}

LightningResult lightningAttentionRecurrent(const Tensor &q, const Tensor &k,
                                            const Tensor &v,
                                            const Tensor &slopes,
                                            const Tensor *initialState) {
  LightningDims n = checkLightning("lightningAttentionRecurrent", q, k, v,
                                   slopes, initialState);
  LightningResult result{Tensor({n.b, n.t, n.h, n.dv}),
                         Tensor({n.b, n.h, n.d, n.dv})};
  // Offsets of token t of (b, h) in q/k and in v/out.
  auto qkAt = [&](int64_t b, int64_t t, int64_t h) {
    return ((b * n.t + t) * n.h + h) * n.d;
  };
  auto vAt = [&](int64_t b, int64_t t, int64_t h) {
    return ((b * n.t + t) * n.h + h) * n.dv;
  };

  for (int64_t b = 0; b < n.b; ++b) {
    for (int64_t h = 0; h < n.h; ++h) {
      double lambda = std::exp(-slopes.data[h]);
      std::vector<double> s = initialStateOf(initialState, n, b, h);
      for (int64_t t = 0; t < n.t; ++t) {
        const double *kt = &k.data[qkAt(b, t, h)];
        const double *qt = &q.data[qkAt(b, t, h)];
        const double *vt = &v.data[vAt(b, t, h)];
        // S_t = lambda S_{t-1} + k_t^T v_t
        for (int64_t i = 0; i < n.d; ++i)
          for (int64_t j = 0; j < n.dv; ++j)
            s[i * n.dv + j] = lambda * s[i * n.dv + j] + kt[i] * vt[j];
        // o_t = q_t S_t
        double *ot = &result.out.data[vAt(b, t, h)];
        for (int64_t j = 0; j < n.dv; ++j) {
          double acc = 0.0;
          for (int64_t i = 0; i < n.d; ++i)
            acc += qt[i] * s[i * n.dv + j];
          ot[j] = acc;
        }
      }
      storeState(result.finalState, s, n, b, h);
    }
  }
  return result;
}

LightningResult lightningAttentionBlocked(const Tensor &q, const Tensor &k,
                                          const Tensor &v, const Tensor &slopes,
                                          const Tensor *initialState,
                                          int64_t blockSize) {
  const char *op = "lightningAttentionBlocked";
  LightningDims n = checkLightning(op, q, k, v, slopes, initialState);
  if (blockSize <= 0)
    fail(op, "expects a positive block_size, got " + std::to_string(blockSize));
  LightningResult result{Tensor({n.b, n.t, n.h, n.dv}),
                         Tensor({n.b, n.h, n.d, n.dv})};
  auto qkAt = [&](int64_t b, int64_t t, int64_t h) {
    return ((b * n.t + t) * n.h + h) * n.d;
  };
  auto vAt = [&](int64_t b, int64_t t, int64_t h) {
    return ((b * n.t + t) * n.h + h) * n.dv;
  };
  int64_t maxBlock = std::min(blockSize, std::max<int64_t>(n.t, 1));

  std::vector<double> intra(static_cast<size_t>(maxBlock * n.dv));
  std::vector<double> inter(static_cast<size_t>(maxBlock * n.dv));
  std::vector<double> scores(static_cast<size_t>(maxBlock * maxBlock));
  std::vector<double> qDecayed(static_cast<size_t>(n.d));
  for (int64_t b = 0; b < n.b; ++b) {
    for (int64_t h = 0; h < n.h; ++h) {
      double lambda = std::exp(-slopes.data[h]);
      // decay[e] = lambda^e for e in [0, maxBlock].
      std::vector<double> decay(static_cast<size_t>(maxBlock + 1));
      for (int64_t e = 0; e <= maxBlock; ++e)
        decay[e] = std::pow(lambda, static_cast<double>(e));
      std::vector<double> s = initialStateOf(initialState, n, b, h);

      for (int64_t start = 0; start < n.t;) {
        int64_t m = std::min(blockSize, n.t - start);
        // (Q K^T) ⊙ M with M_ij = lambda^(i-j) for i >= j, else 0.
        for (int64_t i = 0; i < m; ++i) {
          const double *qi = &q.data[qkAt(b, start + i, h)];
          for (int64_t j = 0; j < m; ++j) {
            if (j > i) {
              scores[i * m + j] = 0.0;
              continue;
            }
            const double *kj = &k.data[qkAt(b, start + j, h)];
            double dot = 0.0;
            for (int64_t c = 0; c < n.d; ++c)
              dot += qi[c] * kj[c];
            scores[i * m + j] = dot * decay[i - j];
          }
        }
        // O_intra = scores V.
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t c = 0; c < n.dv; ++c) {
            double acc = 0.0;
            for (int64_t j = 0; j < m; ++j)
              acc += scores[i * m + j] * v.data[vAt(b, start + j, h) + c];
            intra[i * n.dv + c] = acc;
          }
        }
        // O_inter = (Q ⊙ lambda^(i+1)) S_prev.
        for (int64_t i = 0; i < m; ++i) {
          const double *qi = &q.data[qkAt(b, start + i, h)];
          for (int64_t c = 0; c < n.d; ++c)
            qDecayed[c] = qi[c] * decay[i + 1];
          for (int64_t c = 0; c < n.dv; ++c) {
            double acc = 0.0;
            for (int64_t r = 0; r < n.d; ++r)
              acc += qDecayed[r] * s[r * n.dv + c];
            inter[i * n.dv + c] = acc;
          }
        }
        for (int64_t i = 0; i < m; ++i) {
          double *oi = &result.out.data[vAt(b, start + i, h)];
          for (int64_t c = 0; c < n.dv; ++c)
            oi[c] = intra[i * n.dv + c] + inter[i * n.dv + c];
        }
        // S_new = lambda^m S_prev + (K ⊙ lambda^(m-1-j))^T V.
        for (int64_t r = 0; r < n.d; ++r) {
          for (int64_t c = 0; c < n.dv; ++c) {
            double acc = 0.0;
            for (int64_t j = 0; j < m; ++j)
              acc += k.data[qkAt(b, start + j, h) + r] * decay[m - 1 - j] *
                     v.data[vAt(b, start + j, h) + c];
            s[r * n.dv + c] = decay[m] * s[r * n.dv + c] + acc;
          }
        }
        start += m;
      }
      storeState(result.finalState, s, n, b, h);
    }
  }
  return result;
}

} // namespace oracle
} // namespace hymir
