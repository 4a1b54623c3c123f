//===- Attention.cpp - Softmax attention with GQA, and RoPE ---------------===//
//
// hymir.softmax_attention (docs/dialect/HymirOps.md): causal (end-aligned) or
// full softmax attention with grouped KV heads, and rotate_half rotary
// embeddings on the first rotaryDim dims of each head.
//
//===----------------------------------------------------------------------===//

#include "Checks.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hymir {
namespace oracle {

using namespace detail;

namespace {

/// The valid key count of every sequence: lengths[b], each in [0, S], or S
/// for all.
std::vector<int64_t> validLengths(const char *op, const IntTensor *lengths,
                                  int64_t nb, int64_t ns, int64_t capacity,
                                  const char *capacityName) {
  std::vector<int64_t> valid(static_cast<size_t>(nb), ns);
  if (!lengths)
    return valid;
  if (lengths->shape.size() != 1 || lengths->shape[0] != nb)
    fail(op, "expects lengths of shape [" + std::to_string(nb) +
                 "] (the batch), got rank " +
                 std::to_string(lengths->shape.size()));
  for (int64_t b = 0; b < nb; ++b) {
    int64_t len = lengths->data[static_cast<size_t>(b)];
    if (len < 0 || len > capacity)
      fail(op, "lengths[" + std::to_string(b) + "] = " + std::to_string(len) +
                   " is outside [0, " + std::to_string(capacity) + "] (" +
                   capacityName + ")");
    valid[static_cast<size_t>(b)] = len;
  }
  return valid;
}

} // namespace

Tensor kvCacheWrite(const Tensor &cache, const Tensor &update,
                    const IntTensor &lengths) {
  const char *op = "kvCacheWrite";
  checkRank(op, "cache", cache, 4);
  checkRank(op, "update", update, 4);
  int64_t nb = cache.shape[0], nc = cache.shape[1], h = cache.shape[2],
          d = cache.shape[3], nt = update.shape[1];
  checkDim(op, "update", update.shape, 0, nb, "the batch of cache");
  checkDim(op, "update", update.shape, 2, h, "the head count of cache");
  checkDim(op, "update", update.shape, 3, d, "the head dim of cache");
  std::vector<int64_t> valid =
      validLengths(op, &lengths, nb, nc, nc, "the cache capacity");
  Tensor out = cache;
  int64_t row = h * d;
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t t = 0; t < nt; ++t) {
      int64_t pos = valid[static_cast<size_t>(b)] - nt + t;
      if (pos < 0)
        continue;
      std::copy_n(&update.data[(b * nt + t) * row], row,
                  &out.data[(b * nc + pos) * row]);
    }
  return out;
}

Tensor softmaxAttention(const Tensor &q, const Tensor &k, const Tensor &v,
                        bool causal, double scale, const IntTensor *lengths) {
  const char *op = "softmaxAttention";
  checkRank(op, "q", q, 4);
  checkRank(op, "k", k, 4);
  checkRank(op, "v", v, 4);
  int64_t nb = q.shape[0], nt = q.shape[1], hq = q.shape[2], d = q.shape[3];
  int64_t ns = k.shape[1], hkv = k.shape[2], dv = v.shape[3];
  checkDim(op, "k", k.shape, 0, nb, "the batch of q");
  checkDim(op, "k", k.shape, 3, d, "the head dim of q");
  checkDim(op, "v", v.shape, 0, nb, "the batch of q");
  checkDim(op, "v", v.shape, 1, ns, "the key count of k");
  checkDim(op, "v", v.shape, 2, hkv, "the kv head count of k");
  if (hkv <= 0 || hq % hkv != 0)
    fail(op, "expects the query head count of q (" + std::to_string(hq) +
                 ") to be a multiple of the positive kv head count of k (" +
                 std::to_string(hkv) + ")");
  int64_t group = hq / hkv;
  std::vector<int64_t> valid =
      validLengths(op, lengths, nb, ns, ns, "the key count of k");

  Tensor out({nb, nt, hq, dv});
  std::vector<double> scores(static_cast<size_t>(ns));
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t i = 0; i < nt; ++i) {
      // Keys visible to query i: j < visible.
      int64_t len = valid[static_cast<size_t>(b)];
      int64_t visible =
          causal ? std::clamp<int64_t>(i + (len - nt) + 1, 0, len) : len;
      for (int64_t g = 0; g < hq; ++g) {
        double *o = &out.data[((b * nt + i) * hq + g) * dv];
        if (visible == 0)
          continue; // No visible key: the row stays zero.
        int64_t kvh = g / group;
        const double *qi = &q.data[((b * nt + i) * hq + g) * d];
        double maxScore = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < visible; ++j) {
          const double *kj = &k.data[((b * ns + j) * hkv + kvh) * d];
          double dot = 0.0;
          for (int64_t c = 0; c < d; ++c)
            dot += qi[c] * kj[c];
          scores[j] = scale * dot;
          maxScore = std::max(maxScore, scores[j]);
        }
        double denom = 0.0;
        for (int64_t j = 0; j < visible; ++j) {
          scores[j] = std::exp(scores[j] - maxScore);
          denom += scores[j];
        }
        for (int64_t j = 0; j < visible; ++j) {
          const double *vj = &v.data[((b * ns + j) * hkv + kvh) * dv];
          double p = scores[j] / denom;
          for (int64_t c = 0; c < dv; ++c)
            o[c] += p * vj[c];
        }
      }
    }
  }
  return out;
}

Tensor rope(const Tensor &x, const IntTensor &positions, int64_t rotaryDim,
            double theta) {
  const char *op = "rope";
  checkRank(op, "x", x, 4);
  checkRank(op, "positions", positions, 2);
  int64_t nb = x.shape[0], nt = x.shape[1], nh = x.shape[2], d = x.shape[3];
  checkDim(op, "positions", positions.shape, 0, nb, "the batch of x");
  checkDim(op, "positions", positions.shape, 1, nt, "the token count of x");
  if (rotaryDim < 0 || rotaryDim % 2 != 0 || rotaryDim > d)
    fail(op, "expects rotary_dim to be even and in [0, " + std::to_string(d) +
                 "] (the head dim of x), got " + std::to_string(rotaryDim));
  if (!(theta > 0.0))
    fail(op, "expects a positive theta, got " + std::to_string(theta));

  int64_t half = rotaryDim / 2;
  std::vector<double> invFreq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i)
    invFreq[i] = std::pow(theta, -2.0 * static_cast<double>(i) /
                                     static_cast<double>(rotaryDim));

  Tensor out = x;
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t t = 0; t < nt; ++t) {
      double pos = static_cast<double>(positions.data[b * nt + t]);
      for (int64_t h = 0; h < nh; ++h) {
        const double *xi = &x.data[((b * nt + t) * nh + h) * d];
        double *oi = &out.data[((b * nt + t) * nh + h) * d];
        // out = x cos + rotate_half(x) sin, rotate_half(x) = [-x2, x1].
        for (int64_t i = 0; i < half; ++i) {
          double angle = pos * invFreq[i];
          double c = std::cos(angle), s = std::sin(angle);
          double x1 = xi[i], x2 = xi[i + half];
          oi[i] = x1 * c - x2 * s;
          oi[i + half] = x2 * c + x1 * s;
        }
      }
    }
  }
  return out;
}

} // namespace oracle
} // namespace hymir
