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
    if (num_threads == 0) throw std::invalid_argument("a pool needs at least one thread");
    workers_.reserve(num_threads);
    for (std::size_t i = 0; i < num_threads; ++i) workers_.emplace_back([this] { work(); });
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
    // packaged_task catches whatever the call throws and stores it in the
    // shared state; shared_ptr makes the move-only task fit std::function.
    auto task = std::make_shared<std::packaged_task<R()>>(
        [fn = std::forward<F>(f), ... bound = std::forward<Args>(args)]() mutable -> R {
          return std::invoke(std::move(fn), std::move(bound)...);
        });
    std::future<R> result = task->get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) throw std::runtime_error("ThreadPool::submit after shutdown");
      tasks_.emplace_back([task] { (*task)(); });
    }
    cv_.notify_one();  // one new task: one idle worker is enough
    return result;
  }

  // Stop accepting tasks and join every worker. Drain runs the queued tasks
  // first; Cancel drops them and returns how many it dropped. A second call
  // returns 0 at once. Call it from the thread that owns the pool, never from
  // a task (a worker cannot join itself).
  std::size_t shutdown(ShutdownMode mode = ShutdownMode::Drain) {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return 0;
      stopping_ = true;  // written under the lock the workers' predicate reads it under
      if (mode == ShutdownMode::Cancel) dropped.swap(tasks_);
    }
    cv_.notify_all();  // every idle worker must wake up and see stopping_
    for (std::thread& t : workers_) t.join();
    // Destroying a packaged_task that never ran makes its future throw
    // std::future_error(broken_promise): the caller is told, not left waiting.
    const std::size_t n = dropped.size();
    dropped.clear();
    return n;
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping, and nothing left to drain
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();  // outside the lock: other workers take tasks meanwhile
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> workers_;         // touched by the owner thread only
};
