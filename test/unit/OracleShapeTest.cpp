//===- OracleShapeTest.cpp - Invalid operands are rejected ----------------===//
//
// Every oracle op throws std::invalid_argument on shapes that do not fit,
// with a message that names the offending operand.
//
//===----------------------------------------------------------------------===//

#include "OracleTestUtil.h"

#include <gtest/gtest.h>

using namespace hymir::oracle;
using namespace hymir::oracle::test;

namespace {

// Expects `f` to throw std::invalid_argument whose message contains `word`.
#define EXPECT_REJECTS(word, ...)                                              \
  do {                                                                         \
    std::string message = invalidArgumentMessage([&] { __VA_ARGS__; });        \
    EXPECT_NE(message.find(word), std::string::npos)                           \
        << "message: '" << message << "'";                                     \
  } while (false)

Tensor ones(std::vector<int64_t> shape) {
  return Tensor(std::move(shape), 1.0);
}

} // namespace

TEST(OracleShapes, MalformedTensor) {
  Tensor bad({2, 3});
  bad.data.pop_back(); // 5 elements for a [2, 3] shape
  EXPECT_REJECTS("'x'", rmsNorm(bad, ones({3}), 1e-5));
  EXPECT_REJECTS("'weight'", linear(ones({4, 3}), bad));
  IntTensor ids{{4}, {0, 1}};
  EXPECT_REJECTS("'ids'", embedding(ones({5, 2}), ids));
}

TEST(OracleShapes, Lightning) {
  Tensor q = ones({1, 4, 2, 8}), s = ones({2}), init = ones({1, 2, 8, 8});
  EXPECT_REJECTS(
      "'q'", lightningAttentionRecurrent(ones({4, 2, 8}), q, q, s, nullptr));
  EXPECT_REJECTS(
      "'k'", lightningAttentionRecurrent(q, ones({1, 4, 2, 4}), q, s, nullptr));
  EXPECT_REJECTS("'v'", lightningAttentionBlocked(q, q, ones({1, 3, 2, 8}), s,
                                                  nullptr, 2));
  EXPECT_REJECTS("'slopes'",
                 lightningAttentionRecurrent(q, q, q, ones({3}), nullptr));
  Tensor badInit = ones({1, 2, 8, 4});
  EXPECT_REJECTS("'initial_state'",
                 lightningAttentionBlocked(q, q, q, s, &badInit, 2));
  EXPECT_REJECTS("block_size", lightningAttentionBlocked(q, q, q, s, &init, 0));
  EXPECT_NO_THROW(lightningAttentionBlocked(q, q, q, s, &init, 3));
}

TEST(OracleShapes, SoftmaxAttention) {
  Tensor q = ones({1, 3, 4, 8}), kv = ones({1, 5, 2, 8});
  EXPECT_REJECTS("'q'", softmaxAttention(ones({3, 4, 8}), kv, kv, true, 1.0));
  EXPECT_REJECTS("'k'", softmaxAttention(q, ones({1, 5, 2, 6}), kv, true, 1.0));
  EXPECT_REJECTS("'k'", softmaxAttention(q, ones({2, 5, 2, 8}), kv, true, 1.0));
  EXPECT_REJECTS("'v'", softmaxAttention(q, kv, ones({1, 4, 2, 8}), true, 1.0));
  EXPECT_REJECTS("'v'", softmaxAttention(q, kv, ones({1, 5, 1, 8}), true, 1.0));
  EXPECT_REJECTS(
      "kv head count",
      softmaxAttention(q, ones({1, 5, 3, 8}), ones({1, 5, 3, 8}), true, 1.0));
  EXPECT_NO_THROW(softmaxAttention(q, kv, ones({1, 5, 2, 3}), true, 1.0));
}

TEST(OracleShapes, Rope) {
  Tensor x = ones({1, 3, 2, 8});
  IntTensor pos{{1, 3}, {0, 1, 2}};
  EXPECT_REJECTS("'x'", rope(ones({3, 2, 8}), pos, 8, 1e4));
  EXPECT_REJECTS("'positions'", rope(x, IntTensor{{3}, {0, 1, 2}}, 8, 1e4));
  EXPECT_REJECTS("'positions'", rope(x, IntTensor{{1, 2}, {0, 1}}, 8, 1e4));
  EXPECT_REJECTS("rotary_dim", rope(x, pos, 7, 1e4));
  EXPECT_REJECTS("rotary_dim", rope(x, pos, 10, 1e4));
  EXPECT_REJECTS("theta", rope(x, pos, 8, 0.0));
}

TEST(OracleShapes, DenseOps) {
  EXPECT_REJECTS("'weight'", rmsNorm(ones({2, 4}), ones({3}), 1e-5));
  EXPECT_REJECTS("'weight'", rmsNorm(ones({2, 4}), ones({1, 4}), 1e-5));
  EXPECT_REJECTS("'x'", rmsNorm(ones({}), ones({1}), 1e-5));
  EXPECT_REJECTS("'weight'", linear(ones({2, 4}), ones({3, 5})));
  EXPECT_REJECTS("'weight'", linear(ones({2, 4}), ones({4})));
  EXPECT_REJECTS("'table'", embedding(ones({4}), IntTensor{{1}, {0}}));
  EXPECT_REJECTS("'ids'", embedding(ones({4, 2}), IntTensor{{1}, {4}}));
}

TEST(OracleShapes, Moe) {
  const int64_t t = 3, n = 4, e = 5, i = 6;
  Tensor x = ones({t, n}), router = ones({e, n}), w13 = ones({e, i, n}),
         w2 = ones({e, n, i});
  EXPECT_REJECTS("'x'", moe(ones({n}), router, w13, w13, w2, 2, true));
  EXPECT_REJECTS("'router'", moe(x, ones({e, n + 1}), w13, w13, w2, 2, true));
  EXPECT_REJECTS("'w1'", moe(x, router, ones({e, i, n + 1}), w13, w2, 2, true));
  EXPECT_REJECTS("'w3'", moe(x, router, w13, ones({e, i + 1, n}), w2, 2, true));
  EXPECT_REJECTS("'w2'", moe(x, router, w13, w13, ones({e, i, n}), 2, true));
  EXPECT_REJECTS("'w2'",
                 moe(x, router, w13, w13, ones({e - 1, n, i}), 2, true));
  EXPECT_REJECTS("top_k", moe(x, router, w13, w13, w2, 0, true));
  EXPECT_REJECTS("top_k", moeRoute(x, router, e + 1, true));
  EXPECT_NO_THROW(moe(x, router, w13, w13, w2, e, false));
}

TEST(OracleShapes, Cispo) {
  const int64_t t = 3, n = 4, v = 7;
  Tensor h = ones({t, n}), head = ones({v, n}), vec = ones({t});
  IntTensor targets{{t}, {0, 6, 2}};
  EXPECT_REJECTS("'hidden'", cispoLoss(ones({t * n}), head, targets, vec, vec,
                                       vec, 0.2, 0.28, false));
  EXPECT_REJECTS("'lm_head'", cispoLoss(h, ones({v, n + 1}), targets, vec, vec,
                                        vec, 0.2, 0.28, false));
  EXPECT_REJECTS("'targets'", cispoLoss(h, head, IntTensor{{2}, {0, 1}}, vec,
                                        vec, vec, 0.2, 0.28, false));
  EXPECT_REJECTS("'targets'", cispoLoss(h, head, IntTensor{{t}, {0, 7, 1}}, vec,
                                        vec, vec, 0.2, 0.28, false));
  EXPECT_REJECTS("'logp_old'", cispoLoss(h, head, targets, ones({t + 1}), vec,
                                         vec, 0.2, 0.28, false));
  EXPECT_REJECTS("'advantages'", cispoLoss(h, head, targets, vec, ones({t, 1}),
                                           vec, 0.2, 0.28, false));
  EXPECT_REJECTS("'mask'", cispoLoss(h, head, targets, vec, vec, ones({2}), 0.2,
                                     0.28, false));
  EXPECT_REJECTS("eps_low",
                 cispoLoss(h, head, targets, vec, vec, vec, -0.5, 0.28, false));
  EXPECT_NO_THROW(cispoLoss(h, head, targets, vec, vec, vec, 0.2, 0.28, true));
}

TEST(OracleShapes, TokenLogprobs) {
  const int64_t t = 3, n = 4, v = 7;
  Tensor h = ones({t, n}), head = ones({v, n});
  IntTensor tokens{{t}, {0, 6, 2}};
  EXPECT_REJECTS("'hidden'", tokenLogprobs(ones({t * n}), head, tokens));
  EXPECT_REJECTS("'lm_head'", tokenLogprobs(h, ones({v, n + 1}), tokens));
  EXPECT_REJECTS("'tokens'", tokenLogprobs(h, head, IntTensor{{2}, {0, 1}}));
  EXPECT_REJECTS("'tokens'", tokenLogprobs(h, head, IntTensor{{t}, {0, 7, 1}}));
  EXPECT_NO_THROW(tokenLogprobs(h, head, tokens, true));
}
