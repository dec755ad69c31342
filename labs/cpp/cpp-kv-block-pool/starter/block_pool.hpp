// TODO: write allocate, touch, free, slot and unlink (see README.md). The
// constructor, link_before and free_order are done.
//
// block_pool.hpp: a fixed pool of KV-cache blocks with reference counts and
// an O(1) free queue, the C++ shape of vLLM's BlockPool + FreeKVCacheBlockQueue.
//
// Blocks are ids 0..num_blocks-1. The free queue is an intrusive doubly
// linked list over two index arrays (prev_, next_) with one sentinel (id
// num_blocks) closing the circle, so popping the front, pushing at either end
// and unlinking a block from the middle are all O(1) with no allocation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

class BlockPool {
 public:
  BlockPool(std::int32_t num_blocks, std::int32_t block_size)
      : num_blocks_(num_blocks), block_size_(block_size) {
    if (num_blocks <= 0 || block_size <= 0) throw std::invalid_argument("num_blocks and block_size must be positive");
    const std::size_t n = static_cast<std::size_t>(num_blocks) + 1;  // + the sentinel
    prev_.resize(n);
    next_.resize(n);
    ref_.assign(static_cast<std::size_t>(num_blocks), 0);
    cached_.assign(static_cast<std::size_t>(num_blocks), false);
    prev_[sentinel()] = next_[sentinel()] = sentinel();
    for (std::int32_t id = 0; id < num_blocks; ++id) link_before(sentinel(), id);  // 0 first
    num_free_ = num_blocks;
  }

  std::int32_t num_blocks() const { return num_blocks_; }
  std::int32_t block_size() const { return block_size_; }
  std::int32_t num_free() const { return num_free_; }
  std::int32_t ref_count(std::int32_t id) const { return ref_[index(id)]; }

  // n blocks from the front of the free queue, each with ref count 1; all or
  // nothing: std::nullopt (and the pool untouched) when fewer than n are free.
  std::optional<std::vector<std::int32_t>> allocate(std::int32_t n) {
    (void)n;
    std::vector<std::int32_t> out;  // TODO
    return out;
  }

  // A prefix-cache hit: one more holder. A free block (ref 0) leaves the queue
  // wherever it sits in it.
  void touch(std::int32_t id) {
    ++ref_[index(id)];  // TODO: a free block must leave the queue
  }

  // The block's contents are now in the prefix cache: when it becomes free it
  // goes to the back of the queue (evicted last), not the front.
  void mark_cached(std::int32_t id) { cached_[index(id)] = true; }
  bool is_cached(std::int32_t id) const { return cached_[index(id)]; }

  // One holder lets go of each block. Blocks reaching 0 return to the queue:
  // plain blocks to the front, in the given order (reused first); cached
  // blocks to the back, in the given order (evicted last). Freeing a block
  // that is already free throws std::logic_error and changes nothing.
  void free(const std::vector<std::int32_t>& ids) {
    for (std::int32_t id : ids) --ref_[index(id)];  // TODO
  }

  // Free-queue order, front first (for tests and debugging).
  std::vector<std::int32_t> free_order() const {
    std::vector<std::int32_t> out;
    for (std::int32_t id = next_[sentinel()]; id != sentinel(); id = next_[id]) out.push_back(id);
    return out;
  }

  // The flat slot of token `offset` in block `block_id`, as the
  // reshape_and_cache kernel indexes the KV cache: 64-bit, because
  // num_blocks * block_size passes 2^31 on a large GPU.
  std::int64_t slot(std::int32_t block_id, std::int32_t offset) const {
    (void)block_id, (void)offset;
    return 0;  // TODO
  }

 private:
  std::int32_t sentinel() const { return num_blocks_; }

  std::size_t index(std::int32_t id) const {
    if (id < 0 || id >= num_blocks_) throw std::out_of_range("block id outside the pool");
    return static_cast<std::size_t>(id);
  }

  void link_before(std::int32_t at, std::int32_t id) {
    const std::int32_t before = prev_[at];
    prev_[id] = before;
    next_[id] = at;
    next_[before] = id;
    prev_[at] = id;
  }

  void unlink(std::int32_t id) {
    (void)id;  // TODO
  }

  std::int32_t num_blocks_;
  std::int32_t block_size_;
  std::int32_t num_free_ = 0;
  std::vector<std::int32_t> prev_, next_;  // free-queue links; -1 while the block is held
  std::vector<std::int32_t> ref_;
  std::vector<bool> cached_;
};
