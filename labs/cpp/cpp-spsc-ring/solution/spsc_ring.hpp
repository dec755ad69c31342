// spsc_ring.hpp: a bounded lock-free queue for exactly one producer thread
// and one consumer thread.
//
// head_ and tail_ count pops and pushes since the start (they never wrap back;
// a 64-bit counter outlives the machine); the slot of count c is c & mask_.
// Only the producer writes tail_, only the consumer writes head_. The release
// store that publishes an index and the acquire load that reads it are what
// make the slot's contents visible to the other thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

template <class T>
class SpscRing {
 public:
  // capacity: a power of two >= 2 (so that c & mask_ == c % capacity).
  explicit SpscRing(std::size_t capacity) : mask_(capacity - 1), slots_(new T[capacity]) {
    if (capacity < 2 || (capacity & (capacity - 1)) != 0)
      throw std::invalid_argument("capacity must be a power of two >= 2");
  }

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  std::size_t capacity() const { return mask_ + 1; }

  // Producer thread only. False when the ring is full (value untouched).
  bool try_push(T&& value) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);  // our own index
    const std::size_t head = head_.load(std::memory_order_acquire);  // the consumer's: its pops are done
    if (tail - head == capacity()) return false;
    slots_[tail & mask_] = std::move(value);
    tail_.store(tail + 1, std::memory_order_release);  // publish the slot
    return true;
  }
  bool try_push(const T& value) {
    T copy(value);
    return try_push(std::move(copy));
  }

  // Consumer thread only. std::nullopt when the ring is empty.
  std::optional<T> try_pop() {
    const std::size_t head = head_.load(std::memory_order_relaxed);  // our own index
    const std::size_t tail = tail_.load(std::memory_order_acquire);  // the producer's: its writes are visible
    if (head == tail) return std::nullopt;
    std::optional<T> out(std::move(slots_[head & mask_]));
    head_.store(head + 1, std::memory_order_release);  // hand the slot back
    return out;
  }

  // Either thread; exact only when the other one is idle.
  std::size_t size_approx() const {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }

 private:
  const std::size_t mask_;
  std::unique_ptr<T[]> slots_;
  // Each index on its own cache line: the producer's stores to tail_ must not
  // invalidate the line the consumer's head_ lives on (false sharing).
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
};
