// Tests for buffer.hpp. Built with -fsanitize=address,undefined: a double
// free, a use after free or a leak fails the test that caused it, with the
// line in buffer.hpp where it happened.
#include <type_traits>
#include <vector>

#include "buffer.hpp"
#include "vtest.hpp"

namespace {
void fill(Buffer& b, unsigned char seed) {
  for (std::size_t i = 0; i < b.size(); ++i) b.data()[i] = std::byte(static_cast<unsigned char>(seed + i));
}
bool holds(const Buffer& b, unsigned char seed, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (b.data()[i] != std::byte(static_cast<unsigned char>(seed + i))) return false;
  return true;
}
}  // namespace

VTEST(construct_zeroed) {
  Buffer b(64);
  VCHECK_EQ(b.size(), 64u);
  VCHECK(b.data() != nullptr);
  for (std::size_t i = 0; i < b.size(); ++i) VCHECK(b.data()[i] == std::byte{0});
  Buffer none;
  VCHECK(none.empty());
  VCHECK(none.data() == nullptr);
}

VTEST(copies_are_forbidden) {
  VCHECK_MSG(!std::is_copy_constructible_v<Buffer>, "Buffer can be copy-constructed: two owners would free one block twice");
  VCHECK_MSG(!std::is_copy_assignable_v<Buffer>, "Buffer can be copy-assigned: two owners would free one block twice");
}

VTEST(moves_are_noexcept) {
  VCHECK_MSG(std::is_nothrow_move_constructible_v<Buffer>,
             "the move constructor is missing or not noexcept (std::vector would not move on growth)");
  VCHECK_MSG(std::is_nothrow_move_assignable_v<Buffer>, "the move assignment is missing or not noexcept");
}

VTEST(move_construct_steals) {
  Buffer a(32);
  fill(a, 7);
  const std::byte* block = a.data();
  Buffer b(std::move(a));
  VCHECK_MSG(b.data() == block, "the moved-to buffer must own the very same block (no copy)");
  VCHECK_EQ(b.size(), 32u);
  VCHECK_MSG(a.data() == nullptr && a.size() == 0, "the moved-from buffer must be left empty");
  VCHECK(holds(b, 7, 32));
}

VTEST(moved_from_dies_first) {
  // The source is destroyed before the destination is used: its destructor
  // must not free the block the destination now owns.
  auto* a = new Buffer(16);
  fill(*a, 1);
  Buffer b(std::move(*a));
  delete a;
  fill(b, 2);
  VCHECK(holds(b, 2, 16));
}

VTEST(move_assign_frees_old_block) {
  Buffer a(24);
  Buffer b(40);
  fill(a, 3);
  b = std::move(a);  // b's 40 bytes must be freed (a leak fails this test)
  VCHECK_EQ(b.size(), 24u);
  VCHECK(holds(b, 3, 24));
  VCHECK(a.empty());
}

VTEST(self_move_assign_is_harmless) {
  Buffer a(8);
  fill(a, 9);
  Buffer& alias = a;
  a = std::move(alias);
  VCHECK_EQ(a.size(), 8u);
  VCHECK(holds(a, 9, 8));
}

VTEST(vector_growth_moves) {
  std::vector<Buffer> pool;
  std::vector<const std::byte*> blocks;
  for (int i = 0; i < 33; ++i) {
    pool.emplace_back(16 + i);
    blocks.push_back(pool.back().data());
  }
  for (int i = 0; i < 33; ++i) VCHECK_MSG(pool[i].data() == blocks[i], "growth must move the blocks, not copy them");
}

VTEST(clone_is_deep) {
  Buffer a(20);
  fill(a, 5);
  Buffer c = a.clone();
  VCHECK_EQ(c.size(), 20u);
  VCHECK(c.data() != a.data());
  VCHECK(holds(c, 5, 20));
  fill(a, 6);
  VCHECK_MSG(holds(c, 5, 20), "writing to the original changed the clone");
}

VTEST(resize_keeps_prefix) {
  Buffer a(12);
  fill(a, 11);
  a.resize(100);
  VCHECK_EQ(a.size(), 100u);
  VCHECK(holds(a, 11, 12));
  for (std::size_t i = 12; i < 100; ++i) VCHECK_MSG(a.data()[i] == std::byte{0}, "grown bytes must be zero");
  fill(a, 4);
  a.resize(5);
  VCHECK_EQ(a.size(), 5u);
  VCHECK(holds(a, 4, 5));
  a.resize(0);
  VCHECK(a.empty());
}

VTEST(release_hands_over) {
  Buffer a(10);
  std::byte* block = a.data();
  std::byte* mine = a.release();
  VCHECK(mine == block);
  VCHECK(a.empty());
  VCHECK(a.data() == nullptr);
  delete[] mine;  // ours now; a must not free it again
}

VTEST(swap_exchanges) {
  Buffer a(3), b(7);
  const std::byte* pa = a.data();
  const std::byte* pb = b.data();
  a.swap(b);
  VCHECK(a.data() == pb && a.size() == 7);
  VCHECK(b.data() == pa && b.size() == 3);
}
