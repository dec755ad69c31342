// Tests for pipeline.hpp, built twice: AddressSanitizer + UBSan, and
// ThreadSanitizer + UBSan. No test sleeps to wait for work. A request with
// 2^30 tokens keeps the engine busy for as long as a test needs, and a full
// output queue stops it at a known point, so "B is still queued when we shut
// down" holds every time. Every wait a bug could make endless is bounded
// (5 s), and then the test fails naming the likely cause.
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "pipeline.hpp"
#include "vtest.hpp"

namespace {

constexpr auto kLimit = std::chrono::seconds(5);  // only reached when something never wakes up
constexpr int kForever = 1 << 30;                  // tokens: a request that outlives any test

// Run fn on a helper thread; false when it has not returned within kLimit
// (the helper is then abandoned, stuck: the test fails instead of hanging).
template <class Fn>
bool returns_in_time(Fn fn) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  std::thread helper([fn, done]() mutable {
    fn();
    done->set_value();
  });
  if (finished.wait_for(kLimit) != std::future_status::ready) {
    helper.detach();
    return false;
  }
  helper.join();
  return true;
}

// Outputs per request id, in arrival order.
using Streams = std::map<std::uint64_t, std::vector<Output>>;

// Read outputs until `want` requests have finished; false if an output of an
// id outside `allowed` arrived (it is still recorded).
bool read_until_finished(Engine& e, Streams& got, int want, const std::vector<std::uint64_t>& allowed) {
  bool clean = true;
  int finished = 0;
  while (finished < want) {
    std::optional<Output> o = e.next_output();
    if (!o) break;
    bool ok = false;
    for (auto id : allowed) ok = ok || id == o->id;
    clean = clean && ok;
    got[o->id].push_back(*o);
    finished += o->finished;
  }
  return clean && finished == want;
}

// Each stream is 0, 1, ..., n-1 with `finished` on the last output only.
bool well_formed(const std::vector<Output>& s, int n) {
  if (static_cast<int>(s.size()) != n) return false;
  for (int i = 0; i < n; ++i)
    if (s[i].index != i || s[i].finished != (i == n - 1)) return false;
  return true;
}

// Start a request that never ends and wait for its first output: from then on
// it occupies one running slot, and the engine blocks once the output queue is full.
void start_endless(Engine& e, std::uint64_t id) {
  e.submit(Request{id, kForever});
  std::optional<Output> first = e.next_output();
  if (!first || first->id != id) VFAIL("the endless request produced no first output");
}

}  // namespace

VTEST(queue_fifo_and_capacity) {
  VCHECK_THROWS(BoundedQueue<int>(0), std::invalid_argument);
  BoundedQueue<int> q(2);
  VCHECK_EQ(q.capacity(), 2u);
  std::vector<int> popped;
  VCHECK_MSG(returns_in_time([&] {
               q.push(1);
               q.push(2);
               int three = 3;
               if (q.try_push(three)) popped.push_back(-1);  // full: must refuse
               popped.push_back(three);                      // and leave the value alone
               popped.push_back(q.pop().value_or(-9));
               if (!q.try_push(three)) popped.push_back(-2);
               popped.push_back(q.pop().value_or(-9));
               popped.push_back(q.pop().value_or(-9));
               popped.push_back(q.try_pop().has_value() ? -3 : 0);
             }),
             "pop() on a queue that holds items did not return: a wait without a predicate?");
  VCHECK(popped == (std::vector<int>{3, 1, 2, 3, 0}));
  VCHECK_EQ(q.size(), 0u);
}

VTEST(queue_close_hands_out_what_is_left_then_ends) {
  BoundedQueue<int> q(3);
  q.push(1);
  q.push(2);
  q.close();
  VCHECK_MSG(!q.push(3), "push after close must fail");
  int four = 4;
  VCHECK(!q.try_push(four));
  std::vector<int> got;
  bool ended = false;
  VCHECK_MSG(returns_in_time([&] {
               while (auto v = q.pop()) got.push_back(*v);
               ended = true;
             }),
             "pop() on a closed queue blocked");
  VCHECK(ended);
  VCHECK_MSG(got == (std::vector<int>{1, 2}), "items pushed before close() must still be popped (drain)");
}

VTEST(queue_close_wakes_blocked_push_and_pop) {
  BoundedQueue<int> empty(1), full(1);
  full.push(0);
  std::promise<bool> pop_result, push_result;
  auto popped = pop_result.get_future();
  auto pushed = push_result.get_future();
  std::thread consumer([&] { pop_result.set_value(empty.pop().has_value()); });
  std::thread producer([&] { push_result.set_value(full.push(1)); });
  empty.close();
  full.close();
  const bool pop_woke = popped.wait_for(kLimit) == std::future_status::ready;
  const bool push_woke = pushed.wait_for(kLimit) == std::future_status::ready;
  if (!pop_woke || !push_woke) {
    consumer.detach();
    producer.detach();
    VFAIL("close() did not wake a thread blocked in pop() or push()");
  }
  consumer.join();
  producer.join();
  VCHECK(!popped.get());
  VCHECK(!pushed.get());
}

VTEST(queue_never_exceeds_capacity_under_load) {
  // A fast producer against a consumer that checks the fill level: without
  // back-pressure the producer runs ahead and size() passes the capacity.
  constexpr int n = 3000;
  BoundedQueue<int> q(4);
  std::thread producer([&] {
    for (int i = 0; i < n; ++i) q.push(i);
    q.close();
  });
  std::size_t worst = 0;
  int expected = 0;
  bool in_order = true;
  while (auto v = q.pop()) {
    const std::size_t now = q.size();
    worst = now > worst ? now : worst;
    in_order = in_order && *v == expected++;
    if (expected % 64 == 0) std::this_thread::yield();
  }
  producer.join();
  VCHECK(in_order);
  VCHECK_EQ(expected, n);
  VCHECK_MSG(worst <= 4, "the queue held more items than its capacity: push() did not block when full");
}

VTEST(engine_streams_every_token_in_order) {
  Engine e(4, 4, 2);
  VCHECK(e.submit(Request{1, 3}));
  VCHECK(e.submit(Request{2, 1}));
  VCHECK(e.submit(Request{3, 5}));
  Streams got;
  VCHECK(read_until_finished(e, got, 3, {1, 2, 3}));
  VCHECK(well_formed(got[1], 3));
  VCHECK(well_formed(got[2], 1));
  VCHECK(well_formed(got[3], 5));
  e.shutdown();
  bool ended = false;
  VCHECK_MSG(returns_in_time([&] { ended = !e.next_output().has_value(); }),
             "next_output() blocked after shutdown() with no work left: the engine thread never closed the output queue");
  VCHECK(ended);
}

VTEST(full_input_queue_pushes_back) {
  // One running slot, taken by an endless request; the input queue (2) fills
  // with B and C; D is refused by try_submit and blocks in submit until the
  // endless request is aborted and the queue moves again.
  Engine e(2, 2, 1);
  start_endless(e, 100);
  VCHECK(e.submit(Request{101, 1}));
  VCHECK(e.submit(Request{102, 2}));
  VCHECK_EQ(e.queued(), 2u);
  VCHECK_MSG(!e.try_submit(Request{103, 1}), "try_submit must refuse when the input queue is full (back-pressure)");
  std::promise<bool> accepted;
  auto d = accepted.get_future();
  std::thread producer([&] { accepted.set_value(e.submit(Request{103, 3})); });
  VCHECK(e.abort(100));
  Streams got;
  const bool clean = read_until_finished(e, got, 3, {101, 102, 103});
  if (d.wait_for(kLimit) != std::future_status::ready) {
    producer.detach();
    VFAIL("the blocked submit() never returned after the queue drained");
  }
  producer.join();
  VCHECK(d.get());
  VCHECK_MSG(clean, "an output of the aborted request (or of no request) was delivered");
  VCHECK(well_formed(got[101], 1));
  VCHECK(well_formed(got[102], 2));
  VCHECK(well_formed(got[103], 3));
}

VTEST(aborted_request_is_never_delivered_and_stops_running) {
  Engine e(4, 4, 2);
  start_endless(e, 7);
  while (e.outputs_queued() < 4) std::this_thread::yield();  // 4 outputs of 7 now wait for us
  VCHECK(e.abort(7));
  VCHECK_MSG(!e.abort(7), "a second abort of the same id must return false");
  VCHECK(!e.abort(999));
  VCHECK(e.submit(Request{8, 3}));
  Streams got;
  VCHECK_MSG(read_until_finished(e, got, 1, {8}),
             "an output of request 7 was delivered after abort(7) returned");
  VCHECK(well_formed(got[8], 3));
  e.shutdown();
  bool ended = false;
  VCHECK_MSG(returns_in_time([&e, &ended] { ended = !e.next_output().has_value(); }),
             "the engine never stopped after shutdown(): is the aborted request still running (2^30 tokens)?");
  VCHECK(ended);
}

VTEST(abort_while_queued) {
  Engine e(4, 2, 1);
  start_endless(e, 1);
  VCHECK(e.submit(Request{2, 3}));
  VCHECK(e.submit(Request{3, 2}));
  VCHECK(e.abort(2));  // still in the input queue
  VCHECK(e.abort(1));  // running
  Streams got;
  VCHECK_MSG(read_until_finished(e, got, 1, {3}), "only request 3 may produce outputs");
  VCHECK(well_formed(got[3], 2));
}

VTEST(shutdown_drains_accepted_requests) {
  // A (20 tokens) runs and blocks on the full output queue; B and C wait in
  // the input queue when shutdown() starts. All three must finish.
  Engine e(4, 2, 1);
  VCHECK(e.submit(Request{1, 20}));
  VCHECK(e.submit(Request{2, 3}));
  VCHECK(e.submit(Request{3, 3}));
  e.shutdown();
  VCHECK_MSG(!e.submit(Request{4, 1}), "submit after shutdown must be refused");
  VCHECK(!e.try_submit(Request{4, 1}));
  Streams got;
  bool ended = false;
  VCHECK_MSG(returns_in_time([&] {
               while (auto o = e.next_output()) got[o->id].push_back(*o);
               ended = true;
             }),
             "after shutdown() the outputs never ended");
  VCHECK(ended);
  VCHECK_EQ(got.size(), 3u);
  VCHECK(well_formed(got[1], 20));
  VCHECK_MSG(well_formed(got[2], 3) && well_formed(got[3], 3),
             "requests still queued at shutdown() were dropped; shutdown drains what it accepted");
}

VTEST(shutdown_wakes_a_blocked_producer) {
  Engine e(1, 1, 1);
  start_endless(e, 1);
  VCHECK(e.submit(Request{2, 1}));  // the input queue (1) is full now
  std::promise<bool> result;
  auto r = result.get_future();
  std::thread producer([&] { result.set_value(e.submit(Request{3, 1})); });
  e.shutdown();
  if (r.wait_for(kLimit) != std::future_status::ready) {
    producer.detach();
    VFAIL("shutdown() left a producer blocked in submit()");
  }
  producer.join();
  VCHECK_MSG(!r.get(), "a submit() woken by shutdown() must return false");
}

VTEST(destructor_returns_with_unread_outputs) {
  // Nobody reads: the engine is blocked on a full output queue with an endless
  // request. The destructor must still stop it and join.
  auto e = std::make_unique<Engine>(2, 2, 1);
  start_endless(*e, 1);
  e->submit(Request{2, 5});
  Engine* raw = e.release();
  VCHECK_MSG(returns_in_time([raw] { delete raw; }),
             "~Engine() did not return: the engine thread is still blocked pushing to the full output queue");
}

VTEST(many_producers_one_consumer) {
  Engine e(4, 8, 4);
  std::vector<std::thread> producers;
  for (std::uint64_t p = 0; p < 4; ++p)
    producers.emplace_back([&e, p] {
      for (std::uint64_t i = 0; i < 100; ++i) e.submit(Request{p * 1000 + i, 1 + static_cast<int>(i % 5)});
    });
  std::thread closer([&] {
    for (auto& t : producers) t.join();
    e.shutdown();
  });
  Streams got;
  while (auto o = e.next_output()) got[o->id].push_back(*o);
  closer.join();
  VCHECK_EQ(got.size(), 400u);
  int bad = 0;
  for (auto& [id, s] : got) bad += !well_formed(s, 1 + static_cast<int>(id % 1000 % 5));
  VCHECK_EQ(bad, 0);
}
