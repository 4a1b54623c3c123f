//===- Checks.cpp - Shape validation shared by the oracle ops -------------===//
//
// Implements the operand checks declared in Checks.h.
//
//===----------------------------------------------------------------------===//

#include "Checks.h"

#include <stdexcept>

namespace hymir {
namespace oracle {
namespace detail {

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

void fail(const char *op, const std::string &message) {
  throw std::invalid_argument(std::string("hymir::oracle::") + op + ": " +
                              message);
}

int64_t product(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t e : shape)
    n *= e;
  return n;
}

template <typename T>
static void checkWellFormedImpl(const char *op, const char *name,
                                const std::vector<int64_t> &shape,
                                const std::vector<T> &data) {
  for (int64_t e : shape)
    if (e < 0)
      fail(op, std::string("operand '") + name +
                   "' has a negative extent in shape " + formatShape(shape));
  int64_t n = product(shape);
  if (static_cast<int64_t>(data.size()) != n)
    fail(op, std::string("operand '") + name + "' of shape " +
                 formatShape(shape) + " needs " + std::to_string(n) +
                 " elements, but holds " + std::to_string(data.size()));
}

void checkWellFormed(const char *op, const char *name, const Tensor &t) {
  checkWellFormedImpl(op, name, t.shape, t.data);
}

void checkWellFormed(const char *op, const char *name, const IntTensor &t) {
  checkWellFormedImpl(op, name, t.shape, t.data);
}

static void checkRankImpl(const char *op, const char *name,
                          const std::vector<int64_t> &shape, int64_t rank) {
  if (static_cast<int64_t>(shape.size()) != rank)
    fail(op, std::string("expects operand '") + name + "' to have rank " +
                 std::to_string(rank) + ", got shape " + formatShape(shape));
}

void checkRank(const char *op, const char *name, const Tensor &t,
               int64_t rank) {
  checkRankImpl(op, name, t.shape, rank);
  checkWellFormed(op, name, t);
}

void checkRank(const char *op, const char *name, const IntTensor &t,
               int64_t rank) {
  checkRankImpl(op, name, t.shape, rank);
  checkWellFormed(op, name, t);
}

void checkMinRank(const char *op, const char *name, const Tensor &t,
                  int64_t rank) {
  if (static_cast<int64_t>(t.shape.size()) < rank)
    fail(op, std::string("expects operand '") + name + "' to have rank >= " +
                 std::to_string(rank) + ", got shape " + formatShape(t.shape));
  checkWellFormed(op, name, t);
}

void checkDim(const char *op, const char *name,
              const std::vector<int64_t> &shape, int64_t i, int64_t want,
              const char *what) {
  if (shape[i] != want)
    fail(op, std::string("expects dim ") + std::to_string(i) + " of operand '" +
                 name + "' to be " + what + " (" + std::to_string(want) +
                 "), got shape " + formatShape(shape));
}

void checkShape(const char *op, const char *name, const Tensor &t,
                const std::vector<int64_t> &want) {
  if (t.shape != want)
    fail(op, std::string("expects operand '") + name + "' to have shape " +
                 formatShape(want) + ", got " + formatShape(t.shape));
  checkWellFormed(op, name, t);
}

} // namespace detail
} // namespace oracle
} // namespace hymir
