// Tests for spsc_ring.hpp, built twice: AddressSanitizer + UBSan, and
// ThreadSanitizer + UBSan. Under TSan a missing acquire/release pair is a
// data race report at the racing lines, even when the values came out right.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <thread>

#include "spsc_ring.hpp"
#include "vtest.hpp"

VTEST(capacity_must_be_a_power_of_two) {
  VCHECK_THROWS(SpscRing<int>(0), std::invalid_argument);
  VCHECK_THROWS(SpscRing<int>(1), std::invalid_argument);
  VCHECK_THROWS(SpscRing<int>(6), std::invalid_argument);
  SpscRing<int> ring(8);
  VCHECK_EQ(ring.capacity(), 8u);
}

VTEST(fifo_until_full_then_refuses) {
  SpscRing<int> ring(4);
  VCHECK(!ring.try_pop().has_value());
  for (int i = 0; i < 4; ++i) VCHECK(ring.try_push(i));
  VCHECK_MSG(!ring.try_push(99), "a full ring (4 of 4) accepted a fifth value");
  VCHECK_EQ(ring.size_approx(), 4u);
  for (int i = 0; i < 4; ++i) {
    auto v = ring.try_pop();
    VCHECK(v.has_value());
    VCHECK_EQ(*v, i);
  }
  VCHECK(!ring.try_pop().has_value());
}

VTEST(indices_wrap_many_times) {
  SpscRing<int> ring(4);
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    const int n = 1 + round % 4;
    for (int k = 0; k < n; ++k) VCHECK(ring.try_push(next_in++));
    for (int k = 0; k < n; ++k) {
      auto v = ring.try_pop();
      VCHECK(v.has_value());
      VCHECK_EQ(*v, next_out++);
    }
  }
  VCHECK_EQ(ring.size_approx(), 0u);
}

VTEST(move_only_values) {
  SpscRing<std::unique_ptr<int>> ring(2);
  VCHECK(ring.try_push(std::make_unique<int>(7)));
  auto v = ring.try_pop();
  VCHECK(v.has_value() && *v && **v == 7);
}

VTEST(one_producer_one_consumer_threads) {
  // 20k values through a small ring: every value arrives once, in order.
  constexpr std::uint32_t n = 20000;
  SpscRing<std::uint32_t> ring(64);
  std::thread producer([&] {
    for (std::uint32_t i = 0; i < n;)
      if (ring.try_push(i)) ++i;
      else std::this_thread::yield();
  });
  std::uint32_t expected = 0;
  bool in_order = true;
  while (expected < n) {
    if (auto v = ring.try_pop()) {
      in_order = in_order && *v == expected;
      ++expected;
    } else {
      std::this_thread::yield();
    }
  }
  producer.join();
  VCHECK_MSG(in_order, "values arrived out of order or changed on the way");
  VCHECK(!ring.try_pop().has_value());
}

VTEST(payload_written_before_publish_is_seen) {
  // The consumer reads a two-field record; both fields must be the ones the
  // producer wrote before it published the slot.
  struct Record {
    std::uint64_t seq = 0;
    std::uint64_t check = 0;
  };
  constexpr std::uint64_t n = 10000;
  SpscRing<Record> ring(8);
  std::thread producer([&] {
    for (std::uint64_t i = 1; i <= n;)
      if (ring.try_push(Record{i, i * 2654435761u})) ++i;
      else std::this_thread::yield();
  });
  std::uint64_t got = 0, torn = 0;
  while (got < n) {
    if (auto r = ring.try_pop()) {
      ++got;
      torn += r->check != r->seq * 2654435761u;
    } else {
      std::this_thread::yield();
    }
  }
  producer.join();
  VCHECK_EQ(torn, 0u);
}
