// pipeline.hpp: a request pipeline in the shape of vLLM's engine core.
//
//   producers --submit()--> [input queue, bounded] --> engine thread --> [output queue, bounded] --next_output()--> consumer
//                                                      (admit, step, emit)
//
// BoundedQueue<T> is a blocking queue with a capacity: push() waits while it
// is full (back-pressure), try_push() refuses instead, pop() waits while it is
// empty, close() wakes everybody. Engine runs one thread that admits requests
// from the input queue, produces one output per running request per step,
// and stops cleanly. abort(id) cancels a request wherever it is.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("capacity must be at least 1");
  }

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Blocks while the queue is full. False (value dropped) once closed.
  bool push(T value) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [this] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(value));
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }

  // Never blocks: false when full or closed (value untouched).
  bool try_push(T& value) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || items_.size() >= capacity_) return false;
      items_.push_back(std::move(value));
    }
    not_empty_.notify_one();
    return true;
  }

  // Blocks while the queue is empty and open. After close(), hands out what
  // is left, then std::nullopt.
  std::optional<T> pop() {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [this] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;  // closed and drained
    T value = std::move(items_.front());
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return value;
  }

  // Never blocks: std::nullopt when empty.
  std::optional<T> try_pop() {
    std::unique_lock<std::mutex> lock(mu_);
    if (items_.empty()) return std::nullopt;
    T value = std::move(items_.front());
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return value;
  }

  // No more pushes; every blocked push() and pop() wakes up. Idempotent.
  void close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
  }
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_;   // push() waits here
  std::condition_variable not_empty_;  // pop() waits here
  std::deque<T> items_;                // guarded by mu_
  bool closed_ = false;                // guarded by mu_
};

struct Request {
  std::uint64_t id = 0;  // unique among requests not yet finished
  int num_tokens = 1;    // outputs to produce, >= 1
};

struct Output {
  std::uint64_t id = 0;
  int index = 0;          // 0, 1, ..., num_tokens - 1 for each request
  bool finished = false;  // true on the request's last output
};

class Engine {
 public:
  // input_capacity: requests that may wait for admission; output_capacity:
  // outputs that may wait for the consumer; max_running: requests stepped
  // together (the scheduler's batch limit).
  Engine(std::size_t input_capacity, std::size_t output_capacity, std::size_t max_running)
      : max_running_(max_running), input_(input_capacity), output_(output_capacity) {
    if (max_running == 0) throw std::invalid_argument("max_running must be at least 1");
    thread_ = std::thread([this] { run(); });  // last: every member above exists
  }

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Stops intake, tells the engine nobody reads outputs any more (so it
  // cannot stay blocked on a full output queue), and joins it.
  ~Engine() {
    shutdown();
    output_.close();
    thread_.join();
  }

  // Producer side, any thread. Blocks while the input queue is full
  // (back-pressure). False after shutdown(), also for a call blocked in it.
  bool submit(const Request& r) {
    track(r.id);
    if (input_.push(r)) return true;
    forget(r.id);
    return false;
  }

  // Never blocks: false when the input queue is full (shed load: HTTP 503)
  // or after shutdown().
  bool try_submit(const Request& r) {
    track(r.id);
    Request copy = r;
    if (input_.try_push(copy)) return true;
    forget(r.id);
    return false;
  }

  // Cancel a request, queued or running. Once abort returns, next_output()
  // never returns an output of this id again. False when the id is unknown
  // or already finished.
  bool abort(std::uint64_t id) { return forget(id); }

  // Consumer side, one thread. Blocks for the next output of a live request;
  // std::nullopt once the engine has stopped and every output was handed out.
  std::optional<Output> next_output() {
    for (;;) {
      std::optional<Output> out = output_.pop();
      if (!out) return std::nullopt;
      std::lock_guard<std::mutex> lock(live_mu_);
      if (live_.count(out->id) == 0) continue;  // aborted after the engine produced it
      if (out->finished) live_.erase(out->id);
      return out;
    }
  }

  // Stop intake; the engine still finishes every request already accepted
  // (drain), then closes the output queue. Does not block. Idempotent.
  void shutdown() { input_.close(); }

  std::size_t queued() const { return input_.size(); }           // waiting for admission
  std::size_t outputs_queued() const { return output_.size(); }  // waiting for the consumer

 private:
  struct Running {
    Request req;
    int produced = 0;
  };

  void track(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(live_mu_);
    live_.insert(id);
  }
  bool forget(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(live_mu_);
    return live_.erase(id) != 0;
  }
  bool is_live(std::uint64_t id) const {
    std::lock_guard<std::mutex> lock(live_mu_);
    return live_.count(id) != 0;
  }

  // The engine thread: the busy loop.
  void run() {
    for (;;) {
      admit();
      if (running_.empty()) break;  // input closed and drained: nothing left to do
      drop_aborted();
      if (!step()) break;  // the consumer is gone (output queue closed)
    }
    output_.close();  // next_output() returns nullopt after the last output
  }

  // Take requests from the input queue while the batch has room. Block only
  // when nothing is running (an idle engine sleeps; a busy one never waits).
  void admit() {
    while (running_.size() < max_running_) {
      std::optional<Request> r = running_.empty() ? input_.pop() : input_.try_pop();
      if (!r) return;
      if (!is_live(r->id)) continue;  // aborted while it waited in the queue
      running_.push_back(Running{*r, 0});
    }
  }

  void drop_aborted() {
    std::vector<Running> keep;
    keep.reserve(running_.size());
    for (Running& r : running_)
      if (is_live(r.req.id)) keep.push_back(r);
    running_.swap(keep);
  }

  // One output per running request; finished requests leave the batch.
  bool step() {
    std::vector<Running> keep;
    keep.reserve(running_.size());
    for (Running& r : running_) {
      Output out{r.req.id, r.produced, r.produced + 1 >= r.req.num_tokens};
      if (!output_.push(out)) return false;
      ++r.produced;
      if (!out.finished) keep.push_back(r);
    }
    running_.swap(keep);
    return true;
  }

  const std::size_t max_running_;
  BoundedQueue<Request> input_;
  BoundedQueue<Output> output_;
  mutable std::mutex live_mu_;
  std::unordered_set<std::uint64_t> live_;  // submitted, not finished, not aborted; guarded by live_mu_
  std::vector<Running> running_;            // the engine thread's own: no lock
  std::thread thread_;
};
