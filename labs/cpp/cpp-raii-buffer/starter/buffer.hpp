// buffer.hpp: a move-only owner of a block of bytes (host memory standing in
// for a device allocation). Exactly one Buffer owns a block at a time; the
// block is freed exactly once, when its owner dies or lets it go.
//
// TODO: make this class correct. As written it has the compiler's copy
// operations (two owners of one block: a double free waiting to happen), no
// moves, and the stubs below. See README.md for the rules each member follows.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <utility>

class Buffer {
 public:
  Buffer() noexcept = default;

  // Owns `size` zeroed bytes (no allocation at all for size 0).
  explicit Buffer(std::size_t size) : data_(size ? new std::byte[size]() : nullptr), size_(size) {}

  ~Buffer() { delete[] data_; }

  // TODO: the rule of five. Forbid copies; write moves that steal the block,
  // leave the source empty, are noexcept, and survive self-move-assignment.

  std::byte* data() noexcept { return data_; }
  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  // A deep copy, on request only.
  Buffer clone() const {
    return Buffer(size_);  // TODO: copy the bytes
  }

  // Grow or shrink to `size` bytes, keeping the first min(old, new) bytes;
  // new bytes are zero.
  void resize(std::size_t size) {
    size_ = size;  // TODO: a new block, the kept prefix copied, the old block freed
  }

  // Hand the block to the caller, who must delete[] it; this Buffer is left empty.
  std::byte* release() noexcept {
    return data_;  // TODO
  }

  void swap(Buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};
