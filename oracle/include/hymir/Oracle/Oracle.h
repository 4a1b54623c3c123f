//===- Oracle.h - fp64 reference implementation of hymir ops ----*- C++ -*-===//
//
// The oracle: a plain C++17 reference for every op of the hymir dialect,
// written from the op semantics alone (the ODS descriptions,
// docs/dialect/HymirOps.md), accumulating in double. Tests and `hymir-run
// --check` compare compiled kernels against it. It depends on the standard
// library only and shares no code with the lowering.
//
// Conventions: tensors are row-major; a shape that does not fit an op is a
// programming error and throws std::invalid_argument with a message naming
// the op, the operand, what was expected and what was found. Index operands
// (ids, targets) outside their range throw std::invalid_argument too.
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_ORACLE_ORACLE_H
#define HYMIR_ORACLE_ORACLE_H

#include <cstdint>
#include <vector>

namespace hymir {
namespace oracle {

//===----------------------------------------------------------------------===//
// Tensors and helpers
//===----------------------------------------------------------------------===//

/// A dense row-major tensor of doubles. An empty shape is a scalar (one
/// element).
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> data;

  Tensor() = default;
  /// Allocates numel(shape) elements set to `fill`. Negative extents throw.
  explicit Tensor(std::vector<int64_t> shape, double fill = 0.0);

  /// The product of the extents (1 for a scalar).
  int64_t numel() const;
  /// The extent of dimension `i`; negative `i` counts from the end.
  int64_t dim(int i) const;
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
};

/// A dense row-major tensor of integers (token ids, positions, expert ids).
struct IntTensor {
  std::vector<int64_t> shape;
  std::vector<int64_t> data;

  int64_t numel() const;
};

/// max_i |a_i - b_i|; shapes must match.
double maxAbsDiff(const Tensor &a, const Tensor &b);
/// ||got - want||_2 / max(||want||_2, tiny); shapes must match.
double relativeError(const Tensor &got, const Tensor &want);
/// Uniform samples in [lo, hi) from std::mt19937_64 seeded with `seed`.
Tensor randomTensor(std::vector<int64_t> shape, uint64_t seed, double lo = -1.0,
                    double hi = 1.0);
/// Rounds to the nearest bfloat16 (ties to even), going through float: the
/// double is first rounded to float, then the float's low 16 bits are rounded
/// away. NaN stays NaN, infinities stay infinite.
double roundToBf16(double x);
Tensor roundToBf16(const Tensor &x);

//===----------------------------------------------------------------------===//
// Slopes (hymir.lightning_attention (docs/dialect/HymirOps.md))
//===----------------------------------------------------------------------===//

/// ALiBi slopes s_h = 2^(-8 (h+1) / H) for a power-of-two H. Otherwise the
/// slopes of the nearest lower power of two P, then every other slope of the
/// 2P list (indices 0, 2, 4, ...) until there are H.
std::vector<double> alibiSlopes(int64_t numHeads);

/// MiniMax-M1's per-layer lightning slopes s_{l,h} = s_h (1 - l/(L-1) + 1e-5).
/// `layer` counts all layers (softmax ones too); needs numLayers >= 2 and
/// 0 <= layer < numLayers.
std::vector<double> lightningSlopes(int64_t numHeads, int64_t layer,
                                    int64_t numLayers);

//===----------------------------------------------------------------------===//
// Lightning attention (hymir.lightning_attention (docs/dialect/HymirOps.md))
//===----------------------------------------------------------------------===//

struct LightningResult {
  Tensor out;        // [B, T, H, Dv]
  Tensor finalState; // [B, H, D, Dv]
};

/// The definition: per head, S_t = lambda S_{t-1} + k_t^T v_t and
/// o_t = q_t S_t with lambda = exp(-slopes[h]). q, k are [B, T, H, D]; v is
/// [B, T, H, Dv] (Dv == D in the model); slopes [H]; initialState
/// [B, H, D, Dv], or nullptr for zeros. T may be 0 (the state passes through).
LightningResult lightningAttentionRecurrent(const Tensor &q, const Tensor &k,
                                            const Tensor &v,
                                            const Tensor &slopes,
                                            const Tensor *initialState);

/// The blocked form (intra-block masked product plus inter-block state term),
/// evaluated literally with blocks of `blockSize` tokens (the last block may
/// be partial). Equal to the recurrence up to rounding; blockSize > 0.
LightningResult lightningAttentionBlocked(const Tensor &q, const Tensor &k,
                                          const Tensor &v, const Tensor &slopes,
                                          const Tensor *initialState,
                                          int64_t blockSize);

//===----------------------------------------------------------------------===//
// Softmax attention and RoPE (hymir.softmax_attention
// (docs/dialect/HymirOps.md))
//===----------------------------------------------------------------------===//

/// q [B, T, Hq, D]; k [B, S, Hkv, D]; v [B, S, Hkv, Dv]; Hq % Hkv == 0 and
/// query head g reads kv head g / (Hq / Hkv). Scores are scale * q.k. With
/// `causal`, query i sees key j iff j <= i + (S - T) (aligned to the end, as
/// in decode with a KV cache). With `lengths` ([B]), sequence b has
/// L_b = lengths[b] valid keys (every lengths[b] in [0, S]): query i sees key
/// j iff j < L_b and, with `causal`, j <= i + (L_b - T). A query with no
/// visible key yields zeros. Returns [B, T, Hq, Dv].
Tensor softmaxAttention(const Tensor &q, const Tensor &k, const Tensor &v,
                        bool causal, double scale,
                        const IntTensor *lengths = nullptr);

/// cache [B, C, H, D]; update [B, T, H, D]; lengths [B] with every
/// lengths[b] in [0, C]. Returns cache with update[b, t] written at position
/// lengths[b] - T + t for every t where that position is >= 0.
Tensor kvCacheWrite(const Tensor &cache, const Tensor &update,
                    const IntTensor &lengths);

/// x [B, T, H, D]; positions [B, T]. Rotates the first rotaryDim (even,
/// <= D) dims of every head with rotate_half pairing (d, d + rotaryDim/2) and
/// angle position * theta^(-2i/rotaryDim) for pair i; other dims pass through.
Tensor rope(const Tensor &x, const IntTensor &positions, int64_t rotaryDim,
            double theta);

//===----------------------------------------------------------------------===//
// Dense ops
//===----------------------------------------------------------------------===//

/// x [..., N], weight [N]: x / sqrt(mean(x^2) + epsilon) * weight.
Tensor rmsNorm(const Tensor &x, const Tensor &weight, double epsilon);
/// x [..., K], weight [N, K] -> x weight^T of shape [..., N].
Tensor linear(const Tensor &x, const Tensor &weight);
/// table [V, N], ids [...] with values in [0, V) -> [..., N].
Tensor embedding(const Tensor &table, const IntTensor &ids);

//===----------------------------------------------------------------------===//
// Mixture of experts (hymir.moe (docs/dialect/HymirOps.md))
//===----------------------------------------------------------------------===//

struct MoeRouting {
  IntTensor experts; // [T, topK], in descending weight order
  Tensor weights;    // [T, topK]
};

/// Router softmax over all experts, then top-k (on equal probabilities the
/// lower expert index wins), then optional renormalisation of the k weights.
/// x [T, N]; router [E, N]; 1 <= topK <= E.
MoeRouting moeRoute(const Tensor &x, const Tensor &router, int64_t topK,
                    bool renormalize);

struct TopK {
  Tensor values;     // [T, k], descending
  IntTensor indices; // [T, k]
};

/// The k largest entries of each row of input [T, E] and their columns; of
/// equal entries the lower column comes first. 1 <= k <= E.
TopK topK(const Tensor &input, int64_t k);

/// y_t = sum_j weights_tj (SiLU(x_t W1_e^T) * (x_t W3_e^T)) W2_e^T with
/// e = indices_tj; picks with e outside [0, E) add nothing. x [T, N];
/// indices, weights [T, K]; w1, w3 [E, I, N]; w2 [E, N, I] -> [T, N].
Tensor routedExperts(const Tensor &x, const IntTensor &indices,
                     const Tensor &weights, const Tensor &w1, const Tensor &w3,
                     const Tensor &w2);

/// y_t = sum_j w_tj (SiLU(x_t W1_e^T) * (x_t W3_e^T)) W2_e^T with e = idx_tj.
/// x [T, N]; router [E, N]; w1, w3 [E, I, N]; w2 [E, N, I] -> [T, N].
Tensor moe(const Tensor &x, const Tensor &router, const Tensor &w1,
           const Tensor &w3, const Tensor &w2, int64_t topK, bool renormalize);

//===----------------------------------------------------------------------===//
// CISPO loss (hymir.cispo_loss (docs/dialect/HymirOps.md))
//===----------------------------------------------------------------------===//

struct CispoResult {
  double loss = 0.0;
  Tensor logpNew; // [T]
  Tensor dHidden; // [T, N]
  Tensor dLmHead; // [V, N]
};

/// hidden [T, N]; lmHead [V, N]; targets [T] in [0, V); logpOld, advantages,
/// mask [T]. With r_t = exp(logp_new_t - logpOld_t), rhat_t = clip(r_t,
/// 1 - epsLow, 1 + epsHigh) and M_t the unified mask (0 when A_t > 0 and
/// r_t > 1 + epsHigh, or A_t < 0 and r_t < 1 - epsLow; always 1 when
/// unifiedMask is false):
///   loss = -(1/Nmask) sum_t mask_t M_t rhat_t A_t logp_new_t,
///   Nmask = sum_t mask_t.
/// rhat and M are stop-gradient. Nmask == 0 gives loss 0 and zero gradients
/// (logpNew is still computed). Needs epsLow + epsHigh >= 0. With bf16Head
/// (precision "bf16") hidden and lmHead are rounded to bf16 first and the
/// gradients are those of the rounded operands.
CispoResult cispoLoss(const Tensor &hidden, const Tensor &lmHead,
                      const IntTensor &targets, const Tensor &logpOld,
                      const Tensor &advantages, const Tensor &mask,
                      double epsLow, double epsHigh, bool unifiedMask,
                      bool bf16Head = false);

/// hymir.token_logprobs: result_t = z_t[tokens_t] - logsumexp(z_t) with
/// z = hidden lmHead^T (hidden [T, N], lmHead [V, N], tokens [T] in
/// [0, V)); cispoLoss's logpNew alone. With bf16Head the operands are rounded
/// to bf16 first.
Tensor tokenLogprobs(const Tensor &hidden, const Tensor &lmHead,
                     const IntTensor &tokens, bool bf16Head = false);

} // namespace oracle
} // namespace hymir

#endif // HYMIR_ORACLE_ORACLE_H
