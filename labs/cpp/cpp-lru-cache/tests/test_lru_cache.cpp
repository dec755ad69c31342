// Tests for lru_cache.hpp, under AddressSanitizer + UBSan.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "lru_cache.hpp"
#include "vtest.hpp"

using Keys = std::vector<int>;

VTEST(hit_miss_and_accounting) {
  LruCache<int, std::string> c(3);
  VCHECK(c.get(1) == nullptr);
  VCHECK(c.put(1, "a"));
  VCHECK(c.put(2, "b"));
  VCHECK(c.get(1) != nullptr);
  VCHECK_EQ(*c.get(1), std::string("a"));
  VCHECK_EQ(c.size(), 2u);
  VCHECK_EQ(c.usage(), 2u);
  VCHECK(c.contains(2) && !c.contains(3));
}

VTEST(evicts_least_recently_used) {
  LruCache<int, int> c(3);
  c.put(1, 10);
  c.put(2, 20);
  c.put(3, 30);
  VCHECK(c.eviction_order() == (Keys{1, 2, 3}));
  c.put(4, 40);
  VCHECK_MSG(!c.contains(1), "the least recently used entry (1) should have been evicted");
  VCHECK(c.eviction_order() == (Keys{2, 3, 4}));
}

VTEST(get_refreshes_recency) {
  LruCache<int, int> c(3);
  c.put(1, 10);
  c.put(2, 20);
  c.put(3, 30);
  c.get(1);
  VCHECK(c.eviction_order() == (Keys{2, 3, 1}));
  c.put(4, 40);
  VCHECK_MSG(c.contains(1) && !c.contains(2), "get(1) made 1 recent; 2 should have gone");
}

VTEST(replace_updates_value_cost_and_recency) {
  LruCache<int, int> c(5);
  c.put(1, 10, 2);
  c.put(2, 20, 2);
  VCHECK(c.put(1, 11, 3));
  VCHECK_EQ(*c.get(1), 11);
  VCHECK_EQ(c.usage(), 5u);
  VCHECK_EQ(c.size(), 2u);
  VCHECK(c.eviction_order() == (Keys{2, 1}));
}

VTEST(cost_weighted_eviction) {
  LruCache<int, int> c(10);
  for (int k = 1; k <= 5; ++k) c.put(k, k, 2);  // full: 10
  VCHECK(c.put(9, 9, 5));                       // needs 5: evicts 1, 2, 3 (6 freed)
  VCHECK(c.eviction_order() == (Keys{4, 5, 9}));
  VCHECK_EQ(c.usage(), 9u);
}

VTEST(too_big_changes_nothing) {
  LruCache<int, int> c(4);
  c.put(1, 1, 2);
  c.put(2, 2, 2);
  VCHECK_MSG(!c.put(3, 3, 5), "cost 5 can never fit in capacity 4");
  VCHECK_MSG(c.contains(1) && c.contains(2), "a put that fails must not evict anything");
  VCHECK_EQ(c.usage(), 4u);
  VCHECK_THROWS(c.put(4, 4, 0), std::invalid_argument);
}

VTEST(pinned_entries_are_never_evicted) {
  LruCache<int, int> c(3);
  c.put(1, 1);
  c.put(2, 2);
  c.put(3, 3);
  c.pin(1);  // in use by a running request
  VCHECK(c.eviction_order() == (Keys{2, 3}));
  c.put(4, 4);
  VCHECK(c.contains(1) && !c.contains(2));
  c.pin(3);
  c.pin(4);
  VCHECK_MSG(!c.put(5, 5), "everything is pinned: the put must fail");
  VCHECK_EQ(c.size(), 3u);
}

VTEST(unpin_returns_as_most_recent_and_pins_nest) {
  LruCache<int, int> c(3);
  c.put(1, 1);
  c.put(2, 2);
  c.put(3, 3);
  c.pin(1);
  c.pin(1);
  c.unpin(1);
  VCHECK_MSG(c.eviction_order() == (Keys{2, 3}), "1 is still pinned once");
  c.unpin(1);
  VCHECK(c.eviction_order() == (Keys{2, 3, 1}));
  VCHECK_THROWS(c.unpin(1), std::logic_error);
  VCHECK_THROWS(c.pin(42), std::out_of_range);
}

VTEST(erase_pinned_or_not) {
  LruCache<int, int> c(4);
  c.put(1, 1, 2);
  c.put(2, 2, 1);
  c.pin(1);
  VCHECK(c.erase(1));
  VCHECK(!c.erase(1));
  VCHECK(c.erase(2));
  VCHECK_EQ(c.size(), 0u);
  VCHECK_EQ(c.usage(), 0u);
  VCHECK(c.put(3, 3, 4));  // the whole capacity is free again
}

VTEST(on_evict_sees_each_victim_in_order) {
  std::vector<int> seen;
  LruCache<int, int> c(2, [&](const int& k, int& v) { seen.push_back(k * 100 + v); });
  c.put(1, 1);
  c.put(2, 2);
  c.put(3, 3);
  c.put(4, 4);
  c.erase(3);  // not an eviction
  VCHECK(seen == (std::vector<int>{101, 202}));
}

VTEST(move_only_values) {
  LruCache<int, std::unique_ptr<int>> c(1);
  c.put(1, std::make_unique<int>(5));
  c.put(2, std::make_unique<int>(6));
  VCHECK(c.get(1) == nullptr);
  VCHECK(c.get(2) && **c.get(2) == 6);
}

VTEST(random_workload_matches_a_model) {
  // A plain O(n) model: a vector of (key, cost, pins) in recency order.
  struct M {
    int key;
    std::size_t cost;
    int pins;
  };
  std::vector<M> model;  // recency order of all entries; evict = first unpinned
  std::uint64_t tick = 0, state = 99;
  auto rnd = [&](std::uint64_t m) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % m;
  };
  const std::size_t cap = 12;
  LruCache<int, std::uint64_t> c(cap);
  auto find = [&](int k) { return std::find_if(model.begin(), model.end(), [&](const M& m) { return m.key == k; }); };
  auto usage = [&] { std::size_t u = 0; for (auto& m : model) u += m.cost; return u; };
  for (int step = 0; step < 20000; ++step) {
    const int key = static_cast<int>(rnd(16));
    const auto op = rnd(10);
    auto it = find(key);
    if (op < 4) {  // get
      auto* v = c.get(key);
      VCHECK_EQ(v != nullptr, it != model.end());
      if (it != model.end()) {
        M m = *it;
        model.erase(it);
        model.push_back(m);
      }
    } else if (op < 8) {  // put
      const std::size_t cost = 1 + rnd(4);
      std::size_t pinned_other = 0;
      for (auto& m : model)
        if (m.pins > 0 && m.key != key) pinned_other += m.cost;
      const bool fits = pinned_other + cost <= cap;
      VCHECK_EQ(c.put(key, ++tick, cost), fits);
      if (fits) {
        int pins = 0;
        if (it != model.end()) {
          pins = it->pins;
          model.erase(it);
        }
        model.push_back(M{key, cost, pins});
        while (usage() > cap) {
          auto victim = std::find_if(model.begin(), model.end(), [](const M& m) { return m.pins == 0; });
          model.erase(victim);
        }
      }
    } else if (op == 8 && it != model.end()) {
      c.pin(key);
      ++it->pins;
    } else if (op == 9 && it != model.end() && it->pins > 0) {
      c.unpin(key);
      if (--it->pins == 0) {
        M m = *it;
        model.erase(it);
        model.push_back(m);
      }
    }
    VCHECK_EQ(c.size(), model.size());
    VCHECK_EQ(c.usage(), usage());
  }
  Keys expected;
  for (auto& m : model)
    if (m.pins == 0) expected.push_back(m.key);
  VCHECK(c.eviction_order() == expected);
}
