//===- CallCacheTest.cpp - the key and eviction of kept calls -------------===//
//
// CallCache (runtime/lib/CallCache.h) keeps the calls Module::call reuses
// with CallOptions::cudaGraphs: equal keys (symbols and device value
// addresses) find the same call, any difference misses, and beyond its
// capacity the least recently used call goes first.
//
//===----------------------------------------------------------------------===//

#include "CallCache.h"

#include <gtest/gtest.h>

#include <string>

using namespace hymir;

namespace {

CallKey key(std::vector<int64_t> symbols, std::vector<uintptr_t> addresses) {
  return CallKey{std::move(symbols), std::move(addresses)};
}

TEST(CallCacheTest, KeysDifferInSymbolsAndAddresses) {
  EXPECT_EQ(key({}, {}), key({}, {}));
  EXPECT_EQ(key({3}, {0, 0x1000}), key({3}, {0, 0x1000}));
  // Another bucket (token count), another value, a host tensor where a value
  // was: each is another call.
  EXPECT_NE(key({3}, {0, 0x1000}), key({4}, {0, 0x1000}));
  EXPECT_NE(key({3}, {0, 0x1000}), key({3}, {0, 0x2000}));
  EXPECT_NE(key({3}, {0, 0x1000}), key({3}, {0x1000, 0}));
  EXPECT_NE(key({3}, {0}), key({3}, {0, 0}));
  EXPECT_NE(key({}, {}), key({1}, {}));
}

TEST(CallCacheTest, FindsWhatWasInserted) {
  CallCache<std::string> cache(4);
  EXPECT_EQ(cache.find(key({1}, {})), nullptr);
  cache.insert(key({1}, {}), std::make_unique<std::string>("one"));
  cache.insert(key({2}, {}), std::make_unique<std::string>("two"));
  ASSERT_NE(cache.find(key({1}, {})), nullptr);
  EXPECT_EQ(*cache.find(key({1}, {})), "one");
  EXPECT_EQ(*cache.find(key({2}, {})), "two");
  EXPECT_EQ(cache.find(key({3}, {})), nullptr);
  EXPECT_EQ(cache.size(), 2u);
  // The same key again replaces the value.
  std::string &again =
      cache.insert(key({1}, {}), std::make_unique<std::string>("uno"));
  EXPECT_EQ(again, "uno");
  EXPECT_EQ(*cache.find(key({1}, {})), "uno");
  EXPECT_EQ(cache.size(), 2u);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.find(key({1}, {})), nullptr);
}

TEST(CallCacheTest, EvictsTheLeastRecentlyUsed) {
  CallCache<int> cache(2);
  cache.insert(key({1}, {}), std::make_unique<int>(1));
  cache.insert(key({2}, {}), std::make_unique<int>(2));
  // Finding 1 makes 2 the least recently used.
  ASSERT_NE(cache.find(key({1}, {})), nullptr);
  cache.insert(key({3}, {}), std::make_unique<int>(3));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.find(key({2}, {})), nullptr);
  ASSERT_NE(cache.find(key({1}, {})), nullptr);
  ASSERT_NE(cache.find(key({3}, {})), nullptr);
  // A capacity of 0 keeps one.
  CallCache<int> one(0);
  EXPECT_EQ(one.capacity(), 1u);
  one.insert(key({1}, {}), std::make_unique<int>(1));
  one.insert(key({2}, {}), std::make_unique<int>(2));
  EXPECT_EQ(one.size(), 1u);
  EXPECT_EQ(*one.find(key({2}, {})), 2);
}

} // namespace
