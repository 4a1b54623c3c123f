//===- CallCache.h - calls kept for replay, by key --------------*- C++ -*-===//
//
// Module::call with CallOptions::cudaGraphs keeps a call's device storage
// (and the CUDA graph captured from it) for the next call that would pass
// every kernel the same words: the same entry, the same symbol values (the
// bucket: token count, batch) and the same device values at the same
// addresses. Host tensors are copied into the kept storage, so they do not
// take part in the key. CallCache holds a few such calls per entry, the
// least recently used evicted first. Pure C++, tested alone
// (test/runtime/CallCacheTest.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef HYMIR_RUNTIME_LIB_CALLCACHE_H
#define HYMIR_RUNTIME_LIB_CALLCACHE_H

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <utility>
#include <vector>

namespace hymir {

/// What a kept call is valid for: the entry's symbol values, in the
/// entry's order, and per input and device the address of the device value
/// that supplied it (0 for an input given as a host tensor).
struct CallKey {
  std::vector<int64_t> symbols;
  std::vector<uintptr_t> valueAddresses;

  bool operator==(const CallKey &other) const {
    return symbols == other.symbols && valueAddresses == other.valueAddresses;
  }
  bool operator!=(const CallKey &other) const { return !(*this == other); }
};

/// At most `capacity` (>= 1) values by key; the least recently found or
/// inserted one goes first when another is inserted.
template <typename T> class CallCache {
public:
  explicit CallCache(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  /// The value of `key`, now the most recently used; null when absent.
  T *find(const CallKey &key) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->first == key) {
        entries_.splice(entries_.begin(), entries_, it);
        return entries_.front().second.get();
      }
    return nullptr;
  }

  /// Stores `value` under `key` (replacing a value of the same key) as the
  /// most recently used, evicting the least recently used beyond the
  /// capacity.
  T &insert(CallKey key, std::unique_ptr<T> value) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->first == key) {
        entries_.erase(it);
        break;
      }
    entries_.emplace_front(std::move(key), std::move(value));
    while (entries_.size() > capacity_)
      entries_.pop_back();
    return *entries_.front().second;
  }

  void clear() { entries_.clear(); }
  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }

private:
  size_t capacity_;
  // Most recently used first.
  std::list<std::pair<CallKey, std::unique_ptr<T>>> entries_;
};

} // namespace hymir

#endif // HYMIR_RUNTIME_LIB_CALLCACHE_H
