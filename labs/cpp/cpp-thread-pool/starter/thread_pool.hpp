// TODO: the constructor, submit, shutdown and work (see README.md); the
// destructor, pending() and closed() are done and show how the pieces fit.
//
// thread_pool.hpp: a fixed-size thread pool. submit() returns a std::future
// that carries the task's value or its exception; shutdown() either drains
// the queue or cancels what has not started, and always joins the workers.
//
// One mutex guards everything the workers and submitters share (the queue
// and stopping_); one condition variable wakes idle workers. Every wait has a
// predicate, so a notify that arrives before the wait is never lost.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

enum class ShutdownMode {
  Drain,   // run every task already queued, then stop
  Cancel,  // drop the queued tasks (their futures report broken_promise); running ones finish
};

class ThreadPool {
 public:
  explicit ThreadPool(std::size_t num_threads) {
    (void)num_threads;  // TODO: reject 0 (std::invalid_argument), start num_threads workers running work()
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Drains and joins: no worker outlives the pool it reads from.
  ~ThreadPool() { shutdown(ShutdownMode::Drain); }

  std::size_t size() const { return workers_.size(); }

  // Tasks queued and not yet started.
  std::size_t pending() const {
    std::lock_guard<std::mutex> lock(mu_);
    return tasks_.size();
  }

  // True once shutdown() has begun: submit() throws from then on.
  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

  // Queue f(args...) and return a future for its result. The arguments are
  // decay-copied (moved when they are rvalues), as std::thread does. A task
  // that throws stores the exception in the future; the worker lives on.
  // Throws std::runtime_error after shutdown() has begun.
  template <class F, class... Args>
  auto submit(F&& f, Args&&... args) -> std::future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
    using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
    (void)f, ((void)args, ...);
    throw std::logic_error("TODO: ThreadPool::submit returning a std::future<R>");
    return std::future<R>();
  }

  // Stop accepting tasks and join every worker. Drain runs the queued tasks
  // first; Cancel drops them and returns how many it dropped. A second call
  // returns 0 at once. Call it from the thread that owns the pool, never from
  // a task (a worker cannot join itself).
  std::size_t shutdown(ShutdownMode mode = ShutdownMode::Drain) {
    (void)mode;
    return 0;  // TODO
  }

 private:
  void work() {
    // TODO: wait (with a predicate) for a task or for stopping_; take one task
    // under the lock, run it outside the lock; return when stopping and drained.
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> workers_;         // touched by the owner thread only
};
