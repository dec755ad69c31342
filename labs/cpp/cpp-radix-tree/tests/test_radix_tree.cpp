// Tests for radix_tree.hpp, under AddressSanitizer + UBSan.
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

#include "radix_tree.hpp"
#include "vtest.hpp"

using Toks = std::vector<Token>;
using Slots = std::vector<Slot>;

// Slots 1000*tag + position: every token of every insert gets a distinct slot.
static Slots slots_for(const Toks& t, Slot tag) {
  Slots s;
  for (std::size_t i = 0; i < t.size(); ++i) s.push_back(tag * 1000 + static_cast<Slot>(i));
  return s;
}

VTEST(empty_tree_matches_nothing) {
  RadixTree t;
  auto m = t.match_prefix(Toks{1, 2, 3});
  VCHECK_EQ(m.length, 0u);
  VCHECK(m.node == t.root());
  VCHECK(m.slots.empty());
  VCHECK_EQ(t.total_tokens(), 0u);
  VCHECK_EQ(t.evict(10), 0u);
}

VTEST(insert_then_exact_match) {
  RadixTree t;
  Toks a{5, 6, 7, 8};
  VCHECK_EQ(t.insert(a, slots_for(a, 1)), 0u);
  auto m = t.match_prefix(a);
  VCHECK_EQ(m.length, 4u);
  VCHECK(m.slots == slots_for(a, 1));
  VCHECK(RadixTree::path_of(m.node) == a);
  VCHECK_EQ(t.total_tokens(), 4u);
  VCHECK_EQ(t.num_nodes(), 1u);
  VCHECK_EQ(t.insert(a, slots_for(a, 2)), 4u);  // all already there: the caller frees its 4 slots
  VCHECK_MSG(t.match_prefix(a).slots == slots_for(a, 1), "a re-insert must keep the slots already cached");
  VCHECK_EQ(t.total_tokens(), 4u);
  VCHECK_THROWS(t.insert(Toks{1, 2}, Slots{1}), std::invalid_argument);
}

VTEST(match_splits_an_edge_at_the_mismatch) {
  RadixTree t;
  Toks a{1, 2, 3, 4, 5};
  t.insert(a, slots_for(a, 1));
  auto m = t.match_prefix(Toks{1, 2, 3, 9});
  VCHECK_EQ(m.length, 3u);
  VCHECK_MSG(RadixTree::path_of(m.node) == (Toks{1, 2, 3}), "the match node must end exactly at the 3 matched tokens");
  VCHECK(m.node->key == (Toks{1, 2, 3}));
  VCHECK(m.node->value == (Slots{1000, 1001, 1002}));
  VCHECK(m.slots == (Slots{1000, 1001, 1002}));
  VCHECK_EQ(t.num_nodes(), 2u);
  VCHECK_EQ(m.node->children.size(), 1u);
  const RadixTree::Node* lower = m.node->children.begin()->second.get();
  VCHECK(lower->key == (Toks{4, 5}));
  VCHECK(lower->value == (Slots{1003, 1004}));
  VCHECK(lower->parent == m.node);
  VCHECK_EQ(t.total_tokens(), 5u);
  auto full = t.match_prefix(a);  // the split changed nothing that is cached
  VCHECK_EQ(full.length, 5u);
  VCHECK(full.slots == slots_for(a, 1));
  VCHECK_EQ(t.num_nodes(), 2u);
}

VTEST(match_shorter_than_an_edge_and_one_token) {
  RadixTree t;
  Toks a{1, 2, 3, 4};
  t.insert(a, slots_for(a, 1));
  auto m = t.match_prefix(Toks{1});
  VCHECK_EQ(m.length, 1u);
  VCHECK(m.node->key == (Toks{1}));
  VCHECK(m.slots == (Slots{1000}));
  auto m2 = t.match_prefix(Toks{1, 2, 3});  // splits the remaining {2,3,4} edge
  VCHECK_EQ(m2.length, 3u);
  VCHECK(m2.node->key == (Toks{2, 3}));
  VCHECK(m2.slots == (Slots{1000, 1001, 1002}));
  VCHECK_EQ(t.num_nodes(), 3u);
  VCHECK_EQ(t.match_prefix(Toks{7}).length, 0u);
}

VTEST(insert_branches_and_keeps_the_first_slots) {
  RadixTree t;
  Toks a{1, 2, 3, 4}, b{1, 2, 5, 6};
  t.insert(a, slots_for(a, 1));
  VCHECK_EQ(t.insert(b, slots_for(b, 2)), 2u);
  VCHECK_EQ(t.total_tokens(), 6u);
  VCHECK_EQ(t.num_nodes(), 3u);  // {1,2} -> {3,4}, {5,6}
  auto mb = t.match_prefix(Toks{1, 2, 5, 6, 7});
  VCHECK_EQ(mb.length, 4u);
  VCHECK(mb.slots == (Slots{1000, 1001, 2002, 2003}));
  auto ma = t.match_prefix(a);
  VCHECK(ma.slots == slots_for(a, 1));
  Toks c{1, 2, 3};  // ends inside the {3,4} edge: split, nothing new
  VCHECK_EQ(t.insert(c, slots_for(c, 3)), 3u);
  VCHECK_EQ(t.total_tokens(), 6u);
  VCHECK_EQ(t.num_nodes(), 4u);
  auto mc = t.match_prefix(c);
  VCHECK(mc.node->key == (Toks{3}));
  VCHECK(mc.slots == (Slots{1000, 1001, 1002}));
}

VTEST(lock_protects_the_whole_path) {
  RadixTree t;
  Toks a{1, 2, 3, 4}, b{1, 2, 5};
  t.insert(a, slots_for(a, 1));
  t.insert(b, slots_for(b, 2));  // {1,2} -> {3,4}, {5}
  auto m = t.match_prefix(a);
  t.lock(m.node);
  VCHECK_EQ(t.protected_tokens(), 4u);
  VCHECK_EQ(t.evictable_tokens(), 1u);
  t.lock(m.node);  // a second request on the same prefix
  VCHECK_EQ(t.protected_tokens(), 4u);
  VCHECK_EQ(t.evict(100), 1u);  // only {5} may go
  VCHECK_EQ(t.match_prefix(a).length, 4u);
  t.unlock(m.node);
  VCHECK_EQ(t.evict(100), 0u);
  VCHECK_EQ(t.protected_tokens(), 4u);
  t.unlock(m.node);
  VCHECK_EQ(t.protected_tokens(), 0u);
  VCHECK_EQ(t.evictable_tokens(), 4u);
  VCHECK_EQ(t.evict(100), 4u);
  VCHECK_EQ(t.total_tokens(), 0u);
  VCHECK_EQ(t.num_nodes(), 0u);
}

VTEST(unlock_without_lock_throws) {
  RadixTree t;
  Toks a{1, 2};
  t.insert(a, slots_for(a, 1));
  auto m = t.match_prefix(a);
  VCHECK_THROWS(t.unlock(m.node), std::logic_error);
  t.lock(m.node);
  t.unlock(m.node);
  VCHECK_THROWS(t.unlock(m.node), std::logic_error);
  VCHECK_EQ(t.evictable_tokens(), 2u);
  auto none = t.match_prefix(Toks{9});
  t.lock(none.node);  // the root: nothing to protect
  VCHECK_EQ(t.protected_tokens(), 0u);
  t.unlock(none.node);
}

VTEST(unlock_releases_ancestors_too) {
  RadixTree t;
  Toks a{1, 2, 3}, b{1, 2, 4};
  t.insert(a, slots_for(a, 1));
  t.insert(b, slots_for(b, 2));  // {1,2} -> {3}, {4}
  auto m = t.match_prefix(a);
  t.lock(m.node);
  t.unlock(m.node);
  VCHECK_EQ(t.protected_tokens(), 0u);
  VCHECK_EQ(t.evictable_tokens(), 4u);
  VCHECK_MSG(t.evict(100) == 4u, "after the unlock the whole tree, the shared {1,2} included, must be evictable");
  VCHECK_EQ(t.num_nodes(), 0u);
}

VTEST(splitting_a_locked_edge_keeps_it_locked) {
  RadixTree t;
  Toks a{1, 2, 3, 4, 5, 6};
  t.insert(a, slots_for(a, 1));
  auto m = t.match_prefix(a);
  t.lock(m.node);
  Toks b{1, 2, 3, 9, 9};
  VCHECK_EQ(t.insert(b, slots_for(b, 2)), 3u);  // splits the locked edge after 3 tokens
  VCHECK_EQ(t.protected_tokens(), 6u);
  VCHECK_EQ(t.evictable_tokens(), 2u);
  VCHECK_EQ(t.evict(100), 2u);  // only {9,9}
  VCHECK_EQ(t.match_prefix(a).length, 6u);
  t.unlock(m.node);
  VCHECK_EQ(t.protected_tokens(), 0u);
  VCHECK_EQ(t.evictable_tokens(), 6u);
  VCHECK_EQ(t.evict(100), 6u);
  VCHECK_EQ(t.total_tokens(), 0u);
}

VTEST(evicts_least_recently_used_leaf_first) {
  std::vector<Slot> freed;
  RadixTree t([&](std::span<const Slot> s) { freed.insert(freed.end(), s.begin(), s.end()); });
  Toks a{1, 1}, b{2, 2}, c{3, 3};
  t.insert(a, slots_for(a, 1));
  t.insert(b, slots_for(b, 2));
  t.insert(c, slots_for(c, 3));
  t.match_prefix(a);  // a is now the most recent
  VCHECK_EQ(t.evict(2), 2u);
  VCHECK_MSG(freed == (Slots{2000, 2001}), "b was the least recently used");
  VCHECK_EQ(t.evict(1), 2u);  // whole nodes: c's 2 tokens
  VCHECK(freed == (Slots{2000, 2001, 3000, 3001}));
  VCHECK_EQ(t.match_prefix(a).length, 2u);
  VCHECK_EQ(t.evict(2), 2u);
  VCHECK(freed.size() == 6u && freed[4] == 1000 && freed[5] == 1001);
}

VTEST(a_partial_match_refreshes_only_the_matched_part) {
  std::vector<Slot> freed;
  RadixTree t([&](std::span<const Slot> s) { freed.insert(freed.end(), s.begin(), s.end()); });
  Toks a{1, 2, 3, 4}, b{7, 8};
  t.insert(a, slots_for(a, 1));
  t.insert(b, slots_for(b, 2));
  t.match_prefix(Toks{1, 2});  // refreshes {1,2}, not {3,4}
  VCHECK_EQ(t.evict(1), 2u);
  VCHECK_MSG(freed == (Slots{1002, 1003}), "{3,4} was not touched by the partial match: it is the oldest leaf");
}

VTEST(parent_becomes_a_leaf_and_is_evicted_in_the_same_call) {
  std::vector<Slot> freed;
  RadixTree t([&](std::span<const Slot> s) { freed.insert(freed.end(), s.begin(), s.end()); });
  Toks a{1, 2, 3}, b{1, 2, 4}, c{9, 9, 9, 9, 9};
  t.insert(a, slots_for(a, 1));
  t.insert(b, slots_for(b, 2));  // {1,2} -> {3}, {4}
  t.insert(c, slots_for(c, 3));  // newest
  VCHECK_EQ(t.evict(3), 4u);     // {3}, {4}, then their parent {1,2}, before the newer {9...}
  VCHECK(freed == (Slots{1002, 2002, 1000, 1001}));
  VCHECK_EQ(t.total_tokens(), 5u);
  VCHECK_EQ(t.num_nodes(), 1u);
  VCHECK_EQ(t.match_prefix(c).length, 5u);
}

VTEST(locked_leaves_are_skipped_not_evicted) {
  RadixTree t;
  Toks a{1}, b{2}, c{3};
  t.insert(a, slots_for(a, 1));
  t.insert(b, slots_for(b, 2));
  t.insert(c, slots_for(c, 3));
  auto ma = t.match_prefix(a);
  t.lock(ma.node);  // a is also the most recent now
  auto mb = t.match_prefix(b);
  t.lock(mb.node);
  VCHECK_EQ(t.evict(3), 1u);  // only c may go
  VCHECK_EQ(t.match_prefix(a).length, 1u);
  VCHECK_EQ(t.match_prefix(b).length, 1u);
  VCHECK_EQ(t.match_prefix(c).length, 0u);
  t.unlock(ma.node);
  t.unlock(mb.node);
}

VTEST(leaf_under_a_locked_node_is_evictable) {
  RadixTree t;
  Toks a{1, 2}, b{1, 2, 3, 4};
  t.insert(b, slots_for(b, 1));
  auto m = t.match_prefix(a);  // split: {1,2} -> {3,4}
  t.lock(m.node);
  VCHECK_EQ(t.protected_tokens(), 2u);
  VCHECK_EQ(t.evictable_tokens(), 2u);
  VCHECK_EQ(t.evict(10), 2u);
  VCHECK_EQ(t.match_prefix(b).length, 2u);
  VCHECK_EQ(t.evict(10), 0u);
  t.unlock(m.node);
}

VTEST(random_workload_matches_a_model) {
  // Model: every cached prefix (as a token vector) -> the slot of its last token.
  std::map<Toks, Slot> model;
  std::map<Slot, Toks> by_slot;
  std::vector<Slot> freed;
  RadixTree t([&](std::span<const Slot> s) { freed.insert(freed.end(), s.begin(), s.end()); });
  std::vector<std::pair<RadixTree::Node*, Toks>> locks;  // node, its path
  std::uint64_t state = 7;
  auto rnd = [&](std::uint64_t m) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % m;
  };
  auto random_seq = [&] {
    Toks s;
    const auto len = 1 + rnd(12);
    for (std::uint64_t i = 0; i < len; ++i) s.push_back(static_cast<Token>(rnd(3)));  // 3 letters: many shared prefixes
    return s;
  };
  Slot next_slot = 1;
  for (int step = 0; step < 4000; ++step) {
    const auto op = rnd(10);
    const Toks seq = random_seq();
    std::size_t expect = 0;
    while (expect < seq.size() && model.count(Toks(seq.begin(), seq.begin() + static_cast<std::ptrdiff_t>(expect) + 1)))
      ++expect;
    if (op < 4) {
      Slots s;
      for (std::size_t i = 0; i < seq.size(); ++i) s.push_back(next_slot++);
      VCHECK_EQ(t.insert(seq, s), expect);
      for (std::size_t i = expect; i < seq.size(); ++i) {
        Toks prefix(seq.begin(), seq.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        model[prefix] = s[i];
        by_slot[s[i]] = prefix;
      }
    } else if (op < 8) {
      auto m = t.match_prefix(seq);
      VCHECK_EQ(m.length, expect);
      VCHECK(RadixTree::path_of(m.node) == Toks(seq.begin(), seq.begin() + static_cast<std::ptrdiff_t>(expect)));
      VCHECK_EQ(m.slots.size(), expect);
      for (std::size_t i = 0; i < expect; ++i)
        VCHECK_EQ(m.slots[i], model[Toks(seq.begin(), seq.begin() + static_cast<std::ptrdiff_t>(i) + 1)]);
      if (op == 7 && locks.size() < 4) {
        t.lock(m.node);
        locks.emplace_back(m.node, RadixTree::path_of(m.node));
      }
    } else if (op == 8) {
      freed.clear();
      const std::size_t before = t.total_tokens();
      const std::size_t got = t.evict(1 + rnd(6));
      VCHECK_EQ(got, freed.size());
      VCHECK_EQ(t.total_tokens(), before - got);
      for (Slot s : freed) {
        VCHECK_MSG(by_slot.count(s) == 1, "evicted a slot that is not cached (freed twice?)");
        model.erase(by_slot[s]);
        by_slot.erase(s);
      }
    } else if (!locks.empty()) {
      t.unlock(locks.back().first);
      locks.pop_back();
    }
    for (auto& [node, path] : locks)  // a locked path is never evicted
      for (std::size_t i = 1; i <= path.size(); ++i)
        VCHECK_MSG(model.count(Toks(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(i))) == 1,
                   "a locked prefix was evicted");
    VCHECK_EQ(t.total_tokens(), model.size());
    VCHECK_EQ(t.evictable_tokens() + t.protected_tokens(), model.size());
  }
  while (!locks.empty()) {
    t.unlock(locks.back().first);
    locks.pop_back();
  }
  VCHECK_EQ(t.protected_tokens(), 0u);
  t.evict(1u << 30);
  VCHECK_EQ(t.total_tokens(), 0u);
  VCHECK_EQ(t.num_nodes(), 0u);
}
