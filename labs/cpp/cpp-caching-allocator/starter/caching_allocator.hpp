// TODO: allocation_size, allocate, free (coalescing), should_split,
// take_best_fit and release_cached (see README.md). round_size, the stats,
// snapshot and the destructor are done.
//
// caching_allocator.hpp: a caching allocator on host memory with PyTorch's
// CUDA caching allocator's policy: sizes rounded to 512 bytes, a small pool
// (<= 1 MiB, carved from 2 MiB segments) and a large pool, best-fit reuse of
// cached blocks, splitting of a larger cached block, coalescing of free
// neighbours on free, and release of cached segments on demand or when a new
// segment would pass the memory limit.
//
// A segment is one call to the backing allocator (cudaMalloc in PyTorch,
// std::aligned_alloc here). It is tiled by blocks, linked in address order
// through prev/next. Free blocks sit in their pool's set, ordered by
// (size, address), so lower_bound finds the best fit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

inline constexpr std::size_t kMinBlockSize = 512;          // every size is rounded up to a multiple of this
inline constexpr std::size_t kSmallSize = 1u << 20;        // largest request served by the small pool (1 MiB)
inline constexpr std::size_t kSmallBuffer = 2u << 20;      // small-pool segment (2 MiB)
inline constexpr std::size_t kLargeBuffer = 20u << 20;     // segment for requests in (1 MiB, 10 MiB)
inline constexpr std::size_t kMinLargeAlloc = 10u << 20;   // from here a request gets its own segment...
inline constexpr std::size_t kRoundLarge = 2u << 20;       // ...rounded up to a multiple of 2 MiB

struct OutOfMemory : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct AllocatorStats {
  std::size_t allocated_bytes = 0;       // sizes of the blocks handed out (rounded; an unsplit remainder counts)
  std::size_t requested_bytes = 0;       // what the callers asked for
  std::size_t reserved_bytes = 0;        // sizes of all segments held
  std::size_t peak_allocated_bytes = 0;
  std::size_t peak_reserved_bytes = 0;
  std::size_t active_blocks = 0;         // blocks handed out and not yet freed
  std::size_t segments = 0;              // segments held
  std::size_t segment_allocs = 0;        // calls to the backing allocator (cache misses)
  std::size_t inactive_split_bytes = 0;  // free blocks inside segments that are not wholly free
  std::size_t alloc_retries = 0;         // allocations that released cached segments and tried again
  std::size_t ooms = 0;                  // allocations that failed even after that
};

struct BlockInfo {
  const void* ptr;
  std::size_t offset;  // from the segment's start
  std::size_t size;
  bool allocated;
};

class CachingAllocator {
 public:
  // limit_bytes: the most memory the allocator may reserve (the GPU's size).
  explicit CachingAllocator(std::size_t limit_bytes = SIZE_MAX) : limit_(limit_bytes) {}
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  ~CachingAllocator() {
    for (Block* head : heads()) {
      char* memory = head->ptr;
      for (Block* b = head; b != nullptr;) {
        Block* next = b->next;
        delete b;
        b = next;
      }
      std::free(memory);
    }
  }

  static std::size_t round_size(std::size_t size) {
    if (size < kMinBlockSize) return kMinBlockSize;
    return kMinBlockSize * ((size + kMinBlockSize - 1) / kMinBlockSize);
  }

  // The segment to reserve for a (rounded) request that no cached block fits.
  static std::size_t allocation_size(std::size_t size) {
    (void)size;
    return kSmallBuffer;  // TODO: 2 MiB, 20 MiB, or the size rounded up to 2 MiB
  }

  // At least `size` bytes, 512-byte aligned; nullptr for size 0. Throws
  // OutOfMemory when a new segment is needed and would pass the limit even
  // after every wholly free cached segment is released.
  void* allocate(std::size_t size) {
    if (size == 0) return nullptr;
    const std::size_t rounded = round_size(size);
    const bool small = rounded <= kSmallSize;
    // TODO: best fit from the pool, else a new segment (release cached
    // segments and retry when it would pass the limit), then split.
    (void)limit_;
    Block* block = new_segment(allocation_size(rounded), small);
    block->allocated = true;
    block->requested = size;
    active_.emplace(block->ptr, block);
    stats_.allocated_bytes += block->size;
    stats_.requested_bytes += size;
    ++stats_.active_blocks;
    stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
    return block->ptr;
  }

  // Return a block to its pool, merged with whichever neighbours are free.
  // nullptr is ignored; a pointer not handed out (or already freed) throws
  // std::invalid_argument.
  void free(void* ptr) {
    if (ptr == nullptr) return;
    auto it = active_.find(ptr);
    if (it == active_.end()) throw std::invalid_argument("free of a pointer that is not allocated here (double free?)");
    Block* b = it->second;
    active_.erase(it);
    stats_.allocated_bytes -= b->size;
    stats_.requested_bytes -= b->requested;
    --stats_.active_blocks;
    b->allocated = false;
    b->requested = 0;
    Pool& pool = b->small ? small_ : large_;
    // TODO: merge with a free neighbour before and after (see README.md)
    pool.insert(b);
  }

  // Give every wholly free segment back to the backing allocator (PyTorch's
  // torch.cuda.empty_cache()). Returns the bytes released.
  std::size_t empty_cache() { return release_cached(); }

  AllocatorStats stats() const {
    AllocatorStats s = stats_;
    s.inactive_split_bytes = 0;
    for (const Pool* pool : {&small_, &large_})
      for (const Block* b : *pool)
        if (b->prev != nullptr || b->next != nullptr) s.inactive_split_bytes += b->size;
    return s;
  }

  // Every segment in address order, each as its blocks in address order.
  std::vector<std::vector<BlockInfo>> snapshot() const {
    std::vector<Block*> hs = heads();
    std::sort(hs.begin(), hs.end(), [](const Block* a, const Block* b) { return std::less<const char*>()(a->ptr, b->ptr); });
    std::vector<std::vector<BlockInfo>> out;
    for (const Block* head : hs) {
      out.emplace_back();
      for (const Block* b = head; b != nullptr; b = b->next)
        out.back().push_back(BlockInfo{b->ptr, static_cast<std::size_t>(b->ptr - head->ptr), b->size, b->allocated});
    }
    return out;
  }

 private:
  struct Block {
    char* ptr;
    std::size_t size;
    std::size_t requested;  // while allocated
    bool allocated;
    bool small;   // which pool it belongs to
    Block* prev;  // neighbours in the same segment, by address
    Block* next;
  };
  struct BySizeThenAddress {
    bool operator()(const Block* a, const Block* b) const {
      if (a->size != b->size) return a->size < b->size;
      return std::less<const char*>()(a->ptr, b->ptr);
    }
  };
  using Pool = std::set<Block*, BySizeThenAddress>;

  // Small pool: any remainder of at least 512 bytes is worth a block. Large
  // pool: only a remainder above 1 MiB, because only requests above 1 MiB
  // ever look in the large pool.
  static bool should_split(const Block* block, std::size_t size) {
    (void)block, (void)size;
    return false;  // TODO
  }

  // The smallest cached block of at least `size` (lowest address among equals).
  static Block* take_best_fit(Pool& pool, std::size_t size) {
    (void)pool, (void)size;
    return nullptr;  // TODO: lower_bound on a key block of this size
  }

  Block* new_segment(std::size_t bytes, bool small) {
    void* memory = std::aligned_alloc(kMinBlockSize, bytes);
    if (memory == nullptr) {
      ++stats_.ooms;
      throw OutOfMemory("out of memory: the backing allocator refused " + std::to_string(bytes) + " bytes");
    }
    stats_.reserved_bytes += bytes;
    ++stats_.segments;
    ++stats_.segment_allocs;
    stats_.peak_reserved_bytes = std::max(stats_.peak_reserved_bytes, stats_.reserved_bytes);
    return new Block{static_cast<char*>(memory), bytes, 0, false, small, nullptr, nullptr};
  }

  std::size_t release_cached() {
    return 0;  // TODO: free every block that is a whole segment
  }

  std::vector<Block*> heads() const {
    std::vector<Block*> out;
    for (const auto& [ptr, b] : active_)
      if (b->prev == nullptr) out.push_back(b);
    for (const Pool* pool : {&small_, &large_})
      for (Block* b : *pool)
        if (b->prev == nullptr) out.push_back(b);
    return out;
  }

  std::size_t limit_;
  Pool small_, large_;                             // free (cached) blocks
  std::unordered_map<const void*, Block*> active_;  // handed-out blocks by address
  AllocatorStats stats_;
};
