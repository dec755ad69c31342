// Tests for block_pool.hpp, under AddressSanitizer + UBSan (a signed overflow
// is a failed test at the line that overflows).
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "block_pool.hpp"
#include "vtest.hpp"

using Ids = std::vector<std::int32_t>;

VTEST(fresh_pool_hands_out_blocks_in_id_order) {
  BlockPool pool(8, 16);
  VCHECK_EQ(pool.num_free(), 8);
  auto got = pool.allocate(3);
  VCHECK(got.has_value());
  VCHECK(*got == (Ids{0, 1, 2}));
  VCHECK_EQ(pool.num_free(), 5);
  for (auto id : *got) VCHECK_EQ(pool.ref_count(id), 1);
  VCHECK(pool.free_order() == (Ids{3, 4, 5, 6, 7}));
}

VTEST(allocate_is_all_or_nothing) {
  BlockPool pool(4, 16);
  VCHECK(pool.allocate(3).has_value());
  VCHECK_MSG(!pool.allocate(2).has_value(), "allocate(2) with 1 free block must fail");
  VCHECK_EQ(pool.num_free(), 1);
  VCHECK(pool.free_order() == (Ids{3}));
  VCHECK(pool.allocate(0).has_value());
}

VTEST(freed_plain_blocks_are_reused_first_in_given_order) {
  BlockPool pool(6, 16);
  auto got = *pool.allocate(4);  // 0 1 2 3; free: 4 5
  pool.free({3, 1});
  VCHECK_EQ(pool.num_free(), 4);
  VCHECK(pool.free_order() == (Ids{3, 1, 4, 5}));
  VCHECK(*pool.allocate(2) == (Ids{3, 1}));
}

VTEST(freed_cached_blocks_go_to_the_back) {
  BlockPool pool(6, 16);
  auto got = *pool.allocate(4);  // free: 4 5
  pool.mark_cached(0);
  pool.mark_cached(2);
  pool.free({2, 1, 0});
  VCHECK(pool.free_order() == (Ids{1, 4, 5, 2, 0}));
}

VTEST(reallocating_a_cached_block_evicts_it) {
  BlockPool pool(2, 16);
  auto got = *pool.allocate(2);
  pool.mark_cached(0);
  pool.free({0});
  VCHECK(pool.is_cached(0));
  pool.free({1});
  VCHECK(*pool.allocate(2) == (Ids{1, 0}));
  VCHECK_MSG(!pool.is_cached(0), "a cached block handed out again must lose its cached mark");
}

VTEST(shared_block_returns_only_when_last_holder_frees) {
  BlockPool pool(4, 16);
  auto got = *pool.allocate(1);
  pool.touch(got[0]);  // a second request shares the block
  VCHECK_EQ(pool.ref_count(got[0]), 2);
  pool.free(got);
  VCHECK_EQ(pool.ref_count(got[0]), 1);
  VCHECK_EQ(pool.num_free(), 3);
  pool.free(got);
  VCHECK_EQ(pool.ref_count(got[0]), 0);
  VCHECK_EQ(pool.num_free(), 4);
}

VTEST(touch_takes_a_free_block_out_of_the_middle) {
  BlockPool pool(6, 16);
  auto got = *pool.allocate(6);
  for (auto id : got) pool.mark_cached(id);
  pool.free(got);  // free queue 0..5, all cached
  pool.touch(3);   // prefix-cache hit on block 3
  VCHECK_EQ(pool.ref_count(3), 1);
  VCHECK_EQ(pool.num_free(), 5);
  VCHECK(pool.free_order() == (Ids{0, 1, 2, 4, 5}));
  pool.touch(0);
  pool.touch(5);
  VCHECK(pool.free_order() == (Ids{1, 2, 4}));
  VCHECK(*pool.allocate(3) == (Ids{1, 2, 4}));
  VCHECK_EQ(pool.num_free(), 0);
}

VTEST(double_free_throws_and_changes_nothing) {
  BlockPool pool(4, 16);
  auto got = *pool.allocate(2);
  pool.free({got[0]});
  VCHECK_THROWS(pool.free({got[1], got[0]}), std::logic_error);
  VCHECK_EQ(pool.ref_count(got[1]), 1);
  VCHECK_EQ(pool.num_free(), 3);
  VCHECK_THROWS(pool.free({got[1], got[1]}), std::logic_error);
  VCHECK_EQ(pool.ref_count(got[1]), 1);
}

VTEST(bad_ids_are_rejected) {
  BlockPool pool(4, 16);
  VCHECK_THROWS(pool.ref_count(4), std::out_of_range);
  VCHECK_THROWS(pool.touch(-1), std::out_of_range);
  VCHECK_THROWS(pool.free({7}), std::out_of_range);
  VCHECK_THROWS(pool.slot(0, 16), std::out_of_range);
}

VTEST(slot_is_block_times_size_plus_offset) {
  BlockPool pool(8, 16);
  VCHECK_EQ(pool.slot(0, 0), std::int64_t{0});
  VCHECK_EQ(pool.slot(3, 5), std::int64_t{53});
  VCHECK_EQ(pool.slot(7, 15), std::int64_t{127});
}

VTEST(slot_past_two_to_the_31) {
  // 2^20 + 8 blocks of 2048 tokens: the last slots lie past INT32_MAX, as
  // they do for a large KV cache (slot_mapping is int64 in vLLM).
  const std::int32_t blocks = (1 << 20) + 8;
  BlockPool pool(blocks, 2048);
  VCHECK_EQ(pool.slot(1 << 20, 0), std::int64_t{1} << 31);
  VCHECK_EQ(pool.slot(blocks - 1, 2047), static_cast<std::int64_t>(blocks) * 2048 - 1);
}

VTEST(random_workload_matches_a_model) {
  // 20k random operations against a plain model of who holds what.
  const std::int32_t n = 64;
  BlockPool pool(n, 16);
  std::vector<std::int32_t> refs(n, 0);  // ref count per block
  std::int32_t held = 0;
  std::uint64_t state = 12345;
  auto rnd = [&](std::uint64_t m) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % m;
  };
  for (int step = 0; step < 20000; ++step) {
    const auto op = rnd(4);
    if (op == 0) {
      const auto k = static_cast<std::int32_t>(rnd(5));
      auto got = pool.allocate(k);
      const bool fits = k <= n - held;
      VCHECK_EQ(got.has_value(), fits);
      if (got)
        for (auto id : *got) {
          VCHECK_MSG(refs[id] == 0, "allocate handed out a block that is still held");
          refs[id] = 1;
          ++held;
        }
    } else if (op == 1 && held > 0) {
      auto id = static_cast<std::int32_t>(rnd(n));
      while (refs[id] == 0) id = (id + 1) % n;
      pool.free({id});
      held -= --refs[id] == 0;
    } else if (op == 2) {
      const auto id = static_cast<std::int32_t>(rnd(n));
      pool.touch(id);
      held += refs[id]++ == 0;
    } else if (op == 3) {
      pool.mark_cached(static_cast<std::int32_t>(rnd(n)));
    }
    VCHECK_EQ(pool.num_free(), n - held);
  }
  for (std::int32_t id = 0; id < n; ++id) VCHECK_EQ(pool.ref_count(id), refs[id]);
  VCHECK_EQ(static_cast<std::int32_t>(pool.free_order().size()), pool.num_free());
}
