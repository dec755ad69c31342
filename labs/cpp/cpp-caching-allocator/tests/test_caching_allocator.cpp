// Tests for caching_allocator.hpp, under AddressSanitizer + UBSan.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "caching_allocator.hpp"
#include "vtest.hpp"

constexpr std::size_t KiB = 1024, MiB = 1024 * 1024;

struct B {  // expected block: size, allocated
  std::size_t size;
  bool allocated;
};

// The blocks of the segment that holds p, as (size, allocated).
static std::vector<B> layout_of(const CachingAllocator& a, const void* p) {
  for (auto& seg : a.snapshot()) {
    const char* base = static_cast<const char*>(seg.front().ptr);
    const char* q = static_cast<const char*>(p);
    if (!std::less<const char*>()(q, base) && std::less<const char*>()(q, base + seg.back().offset + seg.back().size)) {
      std::vector<B> out;
      for (auto& b : seg) out.push_back(B{b.size, b.allocated});
      return out;
    }
  }
  return {};
}

static bool same(const std::vector<B>& got, const std::vector<B>& want) {
  if (got.size() != want.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i].size != want[i].size || got[i].allocated != want[i].allocated) return false;
  return true;
}

// Tiling, no two free neighbours, and the stats agree with the blocks.
static void check_invariants(const CachingAllocator& a) {
  std::size_t reserved = 0, allocated = 0, active = 0, split_free = 0;
  auto segs = a.snapshot();
  for (auto& seg : segs) {
    std::size_t at = 0;
    for (std::size_t i = 0; i < seg.size(); ++i) {
      VCHECK_MSG(seg[i].offset == at, "blocks must tile their segment with no gap or overlap");
      VCHECK_MSG(seg[i].size % kMinBlockSize == 0, "block sizes are multiples of 512");
      if (i > 0) VCHECK_MSG(seg[i].allocated || seg[i - 1].allocated, "two free neighbours were not coalesced");
      at += seg[i].size;
      if (seg[i].allocated) {
        allocated += seg[i].size;
        ++active;
      } else if (seg.size() > 1) {
        split_free += seg[i].size;
      }
    }
    reserved += at;
  }
  auto s = a.stats();
  VCHECK_EQ(s.reserved_bytes, reserved);
  VCHECK_EQ(s.allocated_bytes, allocated);
  VCHECK_EQ(s.active_blocks, active);
  VCHECK_EQ(s.segments, segs.size());
  VCHECK_EQ(s.inactive_split_bytes, split_free);
}

VTEST(round_size_and_segment_size) {
  VCHECK_EQ(CachingAllocator::round_size(1), 512u);
  VCHECK_EQ(CachingAllocator::round_size(512), 512u);
  VCHECK_EQ(CachingAllocator::round_size(513), 1024u);
  VCHECK_EQ(CachingAllocator::round_size(MiB + 1), MiB + 512);
  VCHECK_EQ(CachingAllocator::allocation_size(512), 2 * MiB);
  VCHECK_EQ(CachingAllocator::allocation_size(MiB), 2 * MiB);
  VCHECK_EQ(CachingAllocator::allocation_size(MiB + 512), 20 * MiB);
  VCHECK_EQ(CachingAllocator::allocation_size(10 * MiB - 512), 20 * MiB);
  VCHECK_EQ(CachingAllocator::allocation_size(10 * MiB), 10 * MiB);
  VCHECK_EQ(CachingAllocator::allocation_size(11 * MiB + 512), 12 * MiB);
}

VTEST(one_byte_costs_512_and_a_2mib_segment) {
  CachingAllocator a;
  void* p = a.allocate(1);
  VCHECK(p != nullptr);
  VCHECK_EQ(reinterpret_cast<std::uintptr_t>(p) % 512, 0u);
  auto s = a.stats();
  VCHECK_EQ(s.allocated_bytes, 512u);
  VCHECK_EQ(s.requested_bytes, 1u);
  VCHECK_EQ(s.reserved_bytes, 2 * MiB);
  VCHECK_EQ(s.segments, 1u);
  VCHECK(same(layout_of(a, p), {{512, true}, {2 * MiB - 512, false}}));
  VCHECK(a.allocate(0) == nullptr);
  VCHECK_EQ(a.stats().active_blocks, 1u);
  a.free(p);
  VCHECK(same(layout_of(a, p), {{2 * MiB, false}}));
  VCHECK_EQ(a.stats().reserved_bytes, 2 * MiB);  // cached, not returned
  VCHECK_EQ(a.stats().allocated_bytes, 0u);
}

VTEST(small_requests_pack_into_one_segment) {
  CachingAllocator a;
  std::vector<void*> ps;
  for (int i = 0; i < 4096; ++i) {  // 4096 x 512 B = exactly 2 MiB
    ps.push_back(a.allocate(300));
    std::memset(ps.back(), i & 0xff, 512);  // the whole rounded block is usable
  }
  VCHECK_EQ(a.stats().segments, 1u);
  VCHECK_EQ(a.stats().allocated_bytes, 2 * MiB);
  ps.push_back(a.allocate(300));
  VCHECK_EQ(a.stats().segments, 2u);
  for (int i = 0; i < 4096; ++i) VCHECK_EQ(static_cast<unsigned char*>(ps[static_cast<std::size_t>(i)])[511], i & 0xff);
  for (void* p : ps) a.free(p);
  check_invariants(a);
  VCHECK_EQ(a.stats().inactive_split_bytes, 0u);
}

VTEST(small_pool_splits_a_512_byte_remainder) {
  CachingAllocator a;
  void* x = a.allocate(MiB);
  void* y = a.allocate(MiB - 1024);  // leaves exactly 1024 free
  VCHECK(same(layout_of(a, x), {{MiB, true}, {MiB - 1024, true}, {1024, false}}));
  void* z = a.allocate(512);  // remaining 512 >= 512: split
  VCHECK(same(layout_of(a, x), {{MiB, true}, {MiB - 1024, true}, {512, true}, {512, false}}));
  void* w = a.allocate(100);
  VCHECK_EQ(static_cast<char*>(w) - static_cast<char*>(z), 512);
  VCHECK_EQ(a.stats().segments, 1u);
  a.free(y);
  a.free(z);
  VCHECK(same(layout_of(a, x), {{MiB, true}, {2 * MiB - MiB - 512, false}, {512, true}}));
  a.free(w);
  a.free(x);
  check_invariants(a);
}

VTEST(large_pool_splits_only_above_1mib) {
  CachingAllocator a;
  void* p = a.allocate(19 * MiB);  // own segment of 20 MiB; remainder exactly 1 MiB is not split
  VCHECK(same(layout_of(a, p), {{20 * MiB, true}}));
  VCHECK_EQ(a.stats().allocated_bytes, 20 * MiB);
  VCHECK_EQ(a.stats().requested_bytes, 19 * MiB);
  void* q = a.allocate(2 * MiB);  // a 20 MiB segment split 2 + 18
  VCHECK(same(layout_of(a, q), {{2 * MiB, true}, {18 * MiB, false}}));
  VCHECK_EQ(a.stats().inactive_split_bytes, 18 * MiB);
  void* r = a.allocate(17 * MiB - 512);  // remainder 1 MiB + 512 > 1 MiB: split
  VCHECK(same(layout_of(a, q), {{2 * MiB, true}, {17 * MiB - 512, true}, {MiB + 512, false}}));
  void* t = a.allocate(MiB + 1);  // rounds to 1 MiB + 512: takes the remainder exactly
  VCHECK(same(layout_of(a, q), {{2 * MiB, true}, {17 * MiB - 512, true}, {MiB + 512, true}}));
  VCHECK_EQ(a.stats().segments, 2u);
  for (void* x : {p, q, r, t}) a.free(x);
  check_invariants(a);
}

VTEST(small_requests_never_use_the_large_pool) {
  CachingAllocator a;
  void* big = a.allocate(2 * MiB);
  a.free(big);  // a free 20 MiB segment in the large pool
  void* s = a.allocate(4 * KiB);
  VCHECK_EQ(a.stats().segments, 2u);  // a fresh 2 MiB small segment
  VCHECK(same(layout_of(a, s), {{4 * KiB, true}, {2 * MiB - 4 * KiB, false}}));
  a.free(s);
}

VTEST(a_cached_large_block_is_reused_and_split) {
  CachingAllocator a;
  void* p = a.allocate(2 * MiB);
  a.free(p);
  VCHECK(same(layout_of(a, p), {{20 * MiB, false}}));
  void* q = a.allocate(5 * MiB);
  VCHECK_MSG(q == p, "the cached 20 MiB segment fits: no new segment");
  VCHECK(same(layout_of(a, q), {{5 * MiB, true}, {15 * MiB, false}}));
  VCHECK_EQ(a.stats().segment_allocs, 1u);
  VCHECK_EQ(a.stats().reserved_bytes, 20 * MiB);
  a.free(q);
}

VTEST(best_fit_takes_the_smallest_hole) {
  CachingAllocator a;
  // Holes of 4, 2 and 8 KiB separated by live 512-byte blocks, then the tail.
  void* h4 = a.allocate(4 * KiB);
  void* s1 = a.allocate(512);
  void* h2 = a.allocate(2 * KiB);
  void* s2 = a.allocate(512);
  void* h8 = a.allocate(8 * KiB);
  void* s3 = a.allocate(512);
  a.free(h4);
  a.free(h2);
  a.free(h8);
  VCHECK(a.allocate(2 * KiB) == h2);
  void* c = a.allocate(3 * KiB);
  VCHECK_MSG(c == h4, "3 KiB fits the 4 KiB hole best");
  VCHECK(same(layout_of(a, c), {{3 * KiB, true}, {KiB, false}, {512, true}, {2 * KiB, true}, {512, true},
                                {8 * KiB, false}, {512, true}, {2 * MiB - 14 * KiB - 1536, false}}));
  VCHECK(a.allocate(600) == static_cast<char*>(h4) + 3 * KiB);  // the 1 KiB remainder
  VCHECK(a.allocate(5 * KiB) == h8);
  (void)s1, (void)s2, (void)s3;
  check_invariants(a);
}

VTEST(free_coalesces_with_both_neighbours) {
  CachingAllocator a;
  void* x = a.allocate(4 * KiB);
  void* y = a.allocate(4 * KiB);
  void* z = a.allocate(4 * KiB);
  const std::size_t tail = 2 * MiB - 12 * KiB;
  a.free(x);
  VCHECK(same(layout_of(a, y), {{4 * KiB, false}, {4 * KiB, true}, {4 * KiB, true}, {tail, false}}));
  a.free(z);  // merges with the free tail after it
  VCHECK(same(layout_of(a, y), {{4 * KiB, false}, {4 * KiB, true}, {4 * KiB + tail, false}}));
  a.free(y);  // merges with both
  VCHECK(same(layout_of(a, y), {{2 * MiB, false}}));
  VCHECK_EQ(a.stats().inactive_split_bytes, 0u);
  void* whole = a.allocate(MiB);  // the merged block is one block again
  VCHECK(whole == x);
  a.free(whole);
}

VTEST(a_merged_block_is_reindexed_by_its_new_size) {
  CachingAllocator a;
  void* h = a.allocate(12 * KiB);
  void* s1 = a.allocate(512);
  void* x = a.allocate(8 * KiB);
  void* y = a.allocate(8 * KiB);
  void* s2 = a.allocate(512);
  a.free(h);  // a 12 KiB hole
  a.free(x);  // an 8 KiB hole: before h in (size, address) order
  a.free(y);  // x + y = 16 KiB: now after h
  check_invariants(a);
  VCHECK_MSG(a.allocate(14 * KiB) == x, "the merged 16 KiB block must be found at its new size");
  check_invariants(a);
  VCHECK_MSG(a.allocate(11 * KiB) == h, "11 KiB fits the 12 KiB hole best");
  check_invariants(a);
  (void)s1, (void)s2;
}

VTEST(empty_cache_releases_only_whole_free_segments) {
  CachingAllocator a;
  void* head = a.allocate(KiB);     // small segment: head, s, free rest
  void* s = a.allocate(KiB);        // stays in use
  void* l2 = a.allocate(12 * MiB);  // a 12 MiB segment of its own, stays in use
  void* l1 = a.allocate(2 * MiB);   // a 20 MiB segment: 2 + 18 free
  void* l3 = a.allocate(3 * MiB);   // from the cached 18 MiB: 2 + 3 + 15 free
  a.free(l1);
  VCHECK_EQ(a.stats().segments, 3u);
  a.free(l3);  // segment 1 is wholly free again
  a.free(head);  // the small segment starts with a free block, but s still lives in it
  const std::size_t released = a.empty_cache();
  VCHECK_EQ(released, 20 * MiB);
  auto st = a.stats();
  VCHECK_EQ(st.segments, 2u);
  VCHECK_EQ(st.reserved_bytes, 2 * MiB + 12 * MiB);
  std::memset(s, 1, KiB);  // live blocks are untouched
  std::memset(l2, 2, 12 * MiB);
  VCHECK_EQ(a.empty_cache(), 0u);
  void* s2 = a.allocate(KiB);  // the small segment's free blocks were kept: its 1 KiB head hole fits best
  VCHECK(s2 == head);
  a.free(s);
  a.free(s2);
  a.free(l2);
  VCHECK_EQ(a.empty_cache(), 14 * MiB);
  VCHECK_EQ(a.stats().reserved_bytes, 0u);
  VCHECK_EQ(a.stats().peak_reserved_bytes, 34 * MiB);
}

VTEST(limit_releases_cached_memory_then_retries) {
  CachingAllocator a(40 * MiB);
  void* l = a.allocate(2 * MiB);
  a.free(l);                     // 20 MiB cached
  void* s = a.allocate(512);     // + 2 MiB: 22 reserved
  void* big = a.allocate(30 * MiB);  // 22 + 30 > 40: release the cached 20 MiB, retry
  auto st = a.stats();
  VCHECK_EQ(st.alloc_retries, 1u);
  VCHECK_EQ(st.reserved_bytes, 32 * MiB);
  VCHECK_EQ(st.segments, 2u);
  std::memset(big, 3, 30 * MiB);
  VCHECK_THROWS(a.allocate(20 * MiB), OutOfMemory);  // 32 + 20 > 40 and nothing is cached
  st = a.stats();
  VCHECK_EQ(st.ooms, 1u);
  VCHECK_EQ(st.reserved_bytes, 32 * MiB);
  VCHECK_EQ(st.active_blocks, 2u);
  a.free(big);
  void* again = a.allocate(36 * MiB);  // the cached 30 MiB does not fit: release it, then 2 + 36 <= 40
  VCHECK_EQ(a.stats().reserved_bytes, 38 * MiB);
  VCHECK_EQ(a.stats().alloc_retries, 3u);
  std::memset(again, 4, 36 * MiB);
  a.free(again);
  a.free(s);
}

VTEST(bad_frees_throw) {
  CachingAllocator a;
  void* p = a.allocate(4 * KiB);
  VCHECK_THROWS(a.free(static_cast<char*>(p) + 512), std::invalid_argument);
  a.free(p);
  VCHECK_THROWS(a.free(p), std::invalid_argument);
  a.free(nullptr);
  int local = 0;
  VCHECK_THROWS(a.free(&local), std::invalid_argument);
  VCHECK_EQ(a.stats().active_blocks, 0u);
}

VTEST(random_workload_keeps_every_invariant) {
  CachingAllocator a;
  struct Live {
    unsigned char* p;
    std::size_t size;
    unsigned char tag;
  };
  std::vector<Live> live;
  std::uint64_t state = 42;
  auto rnd = [&](std::uint64_t m) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % m;
  };
  auto stamp = [](const Live& l) {  // the first and last 64 bytes carry the tag
    const std::size_t n = std::min<std::size_t>(64, l.size);
    std::memset(l.p, l.tag, n);
    std::memset(l.p + l.size - n, l.tag, n);
  };
  auto intact = [](const Live& l) {
    const std::size_t n = std::min<std::size_t>(64, l.size);
    for (std::size_t i = 0; i < n; ++i)
      if (l.p[i] != l.tag || l.p[l.size - 1 - i] != l.tag) return false;
    return true;
  };
  std::size_t requested = 0;
  for (int step = 0; step < 3000; ++step) {
    const auto op = rnd(10);
    if (op < 5 || live.empty()) {
      const auto kind = rnd(10);
      const std::size_t size = kind < 7   ? 1 + rnd(64 * KiB)
                               : kind < 9 ? 1 + rnd(4 * MiB)
                                          : 10 * MiB + rnd(14 * MiB);
      Live l{static_cast<unsigned char*>(a.allocate(size)), size, static_cast<unsigned char>(1 + rnd(255))};
      stamp(l);
      live.push_back(l);
      requested += size;
    } else if (op < 9) {
      const std::size_t i = rnd(live.size());
      VCHECK_MSG(intact(live[i]), "a live allocation was overwritten: two blocks overlap");
      requested -= live[i].size;
      a.free(live[i].p);
      live[i] = live.back();
      live.pop_back();
    } else {
      a.empty_cache();
    }
    VCHECK_EQ(a.stats().requested_bytes, requested);
    if (step % 25 == 0) {
      check_invariants(a);
      for (auto& l : live) VCHECK_MSG(intact(l), "a live allocation was overwritten: two blocks overlap");
    }
  }
  for (auto& l : live) {
    VCHECK(intact(l));
    a.free(l.p);
  }
  check_invariants(a);
  VCHECK_EQ(a.stats().inactive_split_bytes, 0u);
  a.empty_cache();
  VCHECK_EQ(a.stats().reserved_bytes, 0u);
}
