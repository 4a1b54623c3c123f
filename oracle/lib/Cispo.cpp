//===- Cispo.cpp - CISPO loss and its gradients ---------------------------===//
//
// hymir.cispo_loss (docs/dialect/HymirOps.md): the clipped-IS-weight policy
// objective of MiniMax-M1 with the LM head folded in, returning the loss, the
// new log-probs and the gradients with respect to the hidden states and the LM
// head.
//
//===----------------------------------------------------------------------===//

#include "Checks.h"

#include <algorithm>
#include <cmath>

namespace hymir {
namespace oracle {

using namespace detail;

CispoResult cispoLoss(const Tensor &hiddenIn, const Tensor &lmHeadIn,
                      const IntTensor &targets, const Tensor &logpOld,
                      const Tensor &advantages, const Tensor &mask,
                      double epsLow, double epsHigh, bool unifiedMask,
                      bool bf16Head) {
  const char *op = "cispoLoss";
  checkRank(op, "hidden", hiddenIn, 2);
  checkRank(op, "lm_head", lmHeadIn, 2);
  // A bf16 head multiplies the operands rounded to bf16; everything after
  // the products (and the gradients, taken with respect to the rounded
  // operands) is exact.
  const Tensor hidden = bf16Head ? roundToBf16(hiddenIn) : hiddenIn;
  const Tensor lmHead = bf16Head ? roundToBf16(lmHeadIn) : lmHeadIn;
  int64_t nt = hidden.shape[0], n = hidden.shape[1], nv = lmHead.shape[0];
  checkDim(op, "lm_head", lmHead.shape, 1, n, "the hidden size of hidden");
  checkRank(op, "targets", targets, 1);
  checkDim(op, "targets", targets.shape, 0, nt, "the token count of hidden");
  checkShape(op, "logp_old", logpOld, {nt});
  checkShape(op, "advantages", advantages, {nt});
  checkShape(op, "mask", mask, {nt});
  if (!(epsLow + epsHigh >= 0.0))
    fail(op, "expects 1 - eps_low <= 1 + eps_high, got eps_low " +
                 std::to_string(epsLow) + " and eps_high " +
                 std::to_string(epsHigh));
  for (int64_t t = 0; t < nt; ++t)
    if (targets.data[t] < 0 || targets.data[t] >= nv)
      fail(op, "operand 'targets' holds " + std::to_string(targets.data[t]) +
                   " at token " + std::to_string(t) + ", outside [0, " +
                   std::to_string(nv) + ") (the rows of lm_head)");

  CispoResult result;
  result.logpNew = Tensor({nt});
  result.dHidden = Tensor({nt, n});
  result.dLmHead = Tensor({nv, n});

  double nMask = 0.0;
  for (double m : mask.data)
    nMask += m;

  double sum = 0.0;
  std::vector<double> z(static_cast<size_t>(nv));
  for (int64_t t = 0; t < nt; ++t) {
    // z = h_t W_lm^T; logp_new = z_y - logsumexp(z).
    const double *ht = &hidden.data[t * n];
    double maxZ = 0.0;
    for (int64_t v = 0; v < nv; ++v) {
      const double *wv = &lmHead.data[v * n];
      double acc = 0.0;
      for (int64_t c = 0; c < n; ++c)
        acc += ht[c] * wv[c];
      z[v] = acc;
      maxZ = v == 0 ? acc : std::max(maxZ, acc);
    }
    double sumExp = 0.0;
    for (int64_t v = 0; v < nv; ++v)
      sumExp += std::exp(z[v] - maxZ);
    double lse = maxZ + std::log(sumExp);
    int64_t y = targets.data[t];
    double logp = z[y] - lse;
    result.logpNew.data[t] = logp;
    if (nMask == 0.0)
      continue;

    // Stop-gradient factors: the clipped IS weight and the unified mask.
    double a = advantages.data[t];
    double r = std::exp(logp - logpOld.data[t]);
    double rHat = std::min(std::max(r, 1.0 - epsLow), 1.0 + epsHigh);
    double m = 1.0;
    if (unifiedMask &&
        ((a > 0.0 && r > 1.0 + epsHigh) || (a < 0.0 && r < 1.0 - epsLow)))
      m = 0.0;
    double weight = mask.data[t] * m * rHat * a;
    sum += weight * logp;
    if (weight == 0.0)
      continue; // The token's gradient is exactly zero.

    // dL/dz_v = -(weight / N) (1[v == y] - p_v), then dL/dh_t = dz W_lm and
    // dL/dW_lm[v] += dz_v h_t.
    double coef = -weight / nMask;
    double *dht = &result.dHidden.data[t * n];
    for (int64_t v = 0; v < nv; ++v) {
      double p = std::exp(z[v] - lse);
      double dz = coef * ((v == y ? 1.0 : 0.0) - p);
      const double *wv = &lmHead.data[v * n];
      double *dwv = &result.dLmHead.data[v * n];
      for (int64_t c = 0; c < n; ++c) {
        dht[c] += dz * wv[c];
        dwv[c] += dz * ht[c];
      }
    }
  }
  result.loss = nMask == 0.0 ? 0.0 : -sum / nMask;
  return result;
}

Tensor tokenLogprobs(const Tensor &hiddenIn, const Tensor &lmHeadIn,
                     const IntTensor &tokens, bool bf16Head) {
  const char *op = "tokenLogprobs";
  checkRank(op, "hidden", hiddenIn, 2);
  checkRank(op, "lm_head", lmHeadIn, 2);
  const Tensor hidden = bf16Head ? roundToBf16(hiddenIn) : hiddenIn;
  const Tensor lmHead = bf16Head ? roundToBf16(lmHeadIn) : lmHeadIn;
  int64_t nt = hidden.shape[0], n = hidden.shape[1], nv = lmHead.shape[0];
  checkDim(op, "lm_head", lmHead.shape, 1, n, "the hidden size of hidden");
  checkRank(op, "tokens", tokens, 1);
  checkDim(op, "tokens", tokens.shape, 0, nt, "the token count of hidden");
  for (int64_t t = 0; t < nt; ++t)
    if (tokens.data[t] < 0 || tokens.data[t] >= nv)
      fail(op, "operand 'tokens' holds " + std::to_string(tokens.data[t]) +
                   " at token " + std::to_string(t) + ", outside [0, " +
                   std::to_string(nv) + ") (the rows of lm_head)");
  Tensor result({nt});
  std::vector<double> z(static_cast<size_t>(nv));
  for (int64_t t = 0; t < nt; ++t) {
    const double *ht = &hidden.data[t * n];
    double maxZ = 0.0;
    for (int64_t v = 0; v < nv; ++v) {
      const double *wv = &lmHead.data[v * n];
      double acc = 0.0;
      for (int64_t c = 0; c < n; ++c)
        acc += ht[c] * wv[c];
      z[v] = acc;
      maxZ = v == 0 ? acc : std::max(maxZ, acc);
    }
    double sumExp = 0.0;
    for (int64_t v = 0; v < nv; ++v)
      sumExp += std::exp(z[v] - maxZ);
    result.data[t] = z[tokens.data[t]] - (maxZ + std::log(sumExp));
  }
  return result;
}

} // namespace oracle
} // namespace hymir
