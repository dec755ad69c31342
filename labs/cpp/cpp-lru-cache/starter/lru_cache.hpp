// TODO: get, put, pin, unpin and evict_one (see README.md); erase and the
// accounting fields show how the pieces fit.
//
// lru_cache.hpp: an O(1) least-recently-used cache with per-entry cost and
// pinning, the shape of a prefix cache's eviction policy.
//
// Every entry lives in the hash map. Unpinned entries are also in an
// intrusive recency list (front = least recently used = next to evict);
// pinned entries (in use by a running request) are taken out of the list, so
// eviction never has to skip over them: every operation is O(1) on average.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

template <class K, class V, class Hash = std::hash<K>>
class LruCache {
 public:
  using EvictFn = std::function<void(const K&, V&)>;

  // capacity: the total cost the cache may hold. on_evict sees every entry
  // that put() pushes out (not those removed by erase()).
  explicit LruCache(std::size_t capacity, EvictFn on_evict = {})
      : capacity_(capacity), on_evict_(std::move(on_evict)) {}

  std::size_t size() const { return map_.size(); }
  std::size_t usage() const { return usage_; }  // total cost held
  std::size_t capacity() const { return capacity_; }

  // The value, or nullptr. A hit makes the entry the most recently used.
  V* get(const K& key) {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second.value;  // TODO: a hit becomes the most recent
  }

  bool contains(const K& key) const { return map_.count(key) != 0; }

  // Insert or replace `key` with cost >= 1, evicting least recently used
  // unpinned entries until it fits. When it cannot fit even with every
  // unpinned entry gone, nothing changes and put returns false.
  bool put(const K& key, V value, std::size_t cost = 1) {
    (void)key, (void)value, (void)cost;
    return false;  // TODO
  }

  // Remove `key` (pinned or not); false when absent.
  bool erase(const K& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    Entry& e = it->second;
    usage_ -= e.cost;
    if (e.pins == 0) {
      evictable_ -= e.cost;
      order_.erase(e.pos);
    }
    map_.erase(it);
    return true;
  }

  // A running request uses the entry: it must not be evicted until unpinned
  // as many times. Pins nest.
  void pin(const K& key) {
    ++at(key).pins;  // TODO: a pinned entry leaves the recency list
  }

  // The last unpin makes the entry evictable again, as the most recently used.
  void unpin(const K& key) {
    --at(key).pins;  // TODO
  }

  // Unpinned keys, least recently used first (the eviction order).
  std::vector<K> eviction_order() const { return std::vector<K>(order_.begin(), order_.end()); }

 private:
  struct Entry {
    V value;
    std::size_t cost;
    int pins;
    typename std::list<K>::iterator pos;  // valid while pins == 0
  };

  Entry& at(const K& key) {
    auto it = map_.find(key);
    if (it == map_.end()) throw std::out_of_range("no such key");
    return it->second;
  }

  void evict_one(const K& keep) {
    (void)keep;  // TODO
  }

  std::size_t capacity_;
  EvictFn on_evict_;
  std::size_t usage_ = 0;      // cost of all entries
  std::size_t evictable_ = 0;  // cost of unpinned entries
  std::list<K> order_;         // unpinned keys, LRU first
  std::unordered_map<K, Entry, Hash> map_;
};
