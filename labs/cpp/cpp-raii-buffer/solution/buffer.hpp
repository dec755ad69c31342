// buffer.hpp: a move-only owner of a block of bytes (host memory standing in
// for a device allocation). Exactly one Buffer owns a block at a time; the
// block is freed exactly once, when its owner dies or lets it go.
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

  // One owner only: copying would free the block twice.
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // Moves steal the block and leave the source empty; noexcept so that
  // std::vector<Buffer> moves (not copies) when it grows.
  Buffer(Buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

  Buffer& operator=(Buffer&& other) noexcept {
    if (this != &other) {
      delete[] data_;  // the block we held is ours to free
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }

  std::byte* data() noexcept { return data_; }
  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  // A deep copy, on request only.
  Buffer clone() const {
    Buffer copy(size_);
    if (size_) std::memcpy(copy.data_, data_, size_);
    return copy;
  }

  // Grow or shrink to `size` bytes, keeping the first min(old, new) bytes;
  // new bytes are zero.
  void resize(std::size_t size) {
    if (size == size_) return;
    std::byte* fresh = size ? new std::byte[size]() : nullptr;
    if (fresh && data_) std::memcpy(fresh, data_, std::min(size, size_));
    delete[] data_;
    data_ = fresh;
    size_ = size;
  }

  // Hand the block to the caller, who must delete[] it; this Buffer is left empty.
  std::byte* release() noexcept {
    size_ = 0;
    return std::exchange(data_, nullptr);
  }

  void swap(Buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};
