// Tests for thread_pool.hpp, built twice: AddressSanitizer + UBSan, and
// ThreadSanitizer + UBSan. No test sleeps to wait for work: tasks block on
// gates the test opens, and every wait that a bug could make endless is
// bounded (within 5 s, else the test fails naming the likely lost wakeup).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "thread_pool.hpp"
#include "vtest.hpp"

namespace {

constexpr auto kLimit = std::chrono::seconds(5);  // only reached when something never wakes up

// A one-shot gate: tasks wait on it, the test opens it.
class Gate {
 public:
  void open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

template <class T>
bool ready_in_time(std::future<T>& f) {
  return f.wait_for(kLimit) == std::future_status::ready;
}

// Run fn on a helper thread; false when it has not returned within kLimit
// (the helper is then abandoned, stuck: the test fails instead of hanging).
template <class Fn>
bool returns_in_time(Fn fn) {
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  std::thread helper([&fn, p = std::move(done)]() mutable {
    fn();
    p.set_value();
  });
  if (finished.wait_for(kLimit) != std::future_status::ready) {
    helper.detach();
    return false;
  }
  helper.join();
  return true;
}

// Queue a task that reports when it starts and then blocks until `gate` opens:
// with one worker, everything submitted after it stays queued.
std::future<int> occupy_the_worker(ThreadPool& pool, Gate& gate) {
  std::promise<void> started;
  std::future<void> has_started = started.get_future();
  auto f = pool.submit([&gate, p = std::move(started)]() mutable {
    p.set_value();
    gate.wait();
    return 7;
  });
  has_started.get();
  return f;
}

}  // namespace

VTEST(needs_at_least_one_thread) {
  VCHECK_THROWS(ThreadPool(0), std::invalid_argument);
  ThreadPool pool(3);
  VCHECK_EQ(pool.size(), 3u);
  VCHECK(!pool.closed());
}

VTEST(submit_returns_the_value_through_a_future) {
  ThreadPool pool(2);
  auto sum = pool.submit([](int a, int b) { return a + b; }, 2, 40);
  auto text = pool.submit([](std::string s) { return s + "!"; }, std::string("done"));
  auto owned = pool.submit([](std::unique_ptr<int> p) { return *p * 2; }, std::make_unique<int>(21));
  int side = 0;
  std::future<void> nothing = pool.submit([&side] { side = 5; });
  VCHECK(ready_in_time(sum));
  VCHECK_EQ(sum.get(), 42);
  VCHECK_EQ(text.get(), std::string("done!"));
  VCHECK_EQ(owned.get(), 42);
  nothing.get();  // get() on the future orders the task's write before this read
  VCHECK_EQ(side, 5);
}

VTEST(exception_propagates_through_the_future) {
  ThreadPool pool(1);
  auto bad = pool.submit([]() -> int { throw std::runtime_error("boom"); });
  auto after = pool.submit([] { return 1; });
  // `after` ran on the only worker, so that worker survived the throw; and it
  // had released its share of `bad` before taking `after`. (That order also
  // keeps ThreadSanitizer quiet: the exception object's reference count lives
  // in the uninstrumented libstdc++, so TSan could not see which thread freed it.)
  VCHECK_MSG(ready_in_time(after), "the worker died with the exception");
  VCHECK_EQ(after.get(), 1);
  VCHECK(ready_in_time(bad));
  bool caught = false;
  try {
    bad.get();
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "boom";
  }
  VCHECK_MSG(caught, "the task's std::runtime_error(\"boom\") should come out of future::get()");
}

VTEST(submit_to_a_busy_worker_is_not_lost) {
  // The notify for `second` happens while the only worker runs `first`:
  // nobody is waiting on the condition variable then. A worker that goes back
  // to wait() without checking the queue first sleeps next to a queued task.
  ThreadPool pool(1);
  Gate gate;
  auto first = occupy_the_worker(pool, gate);
  auto second = pool.submit([] { return 2; });
  VCHECK_EQ(pool.pending(), 1u);
  gate.open();
  VCHECK(ready_in_time(first));
  VCHECK_MSG(ready_in_time(second),
             "a task submitted while the worker was busy never ran: a lost wakeup (wait without a predicate?)");
  VCHECK_EQ(second.get(), 2);
}

VTEST(workers_run_in_parallel) {
  // Four tasks that each wait (bounded) until all four have started: they all
  // see 4 only if four workers run them at the same time.
  ThreadPool pool(4);
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  std::vector<std::future<bool>> fs;
  for (int i = 0; i < 4; ++i)
    fs.push_back(pool.submit([&] {
      std::unique_lock<std::mutex> lock(mu);
      ++arrived;
      cv.notify_all();
      return cv.wait_for(lock, kLimit, [&] { return arrived == 4; });
    }));
  for (auto& f : fs) VCHECK_MSG(f.get(), "the four tasks did not run at the same time on four workers");
}

VTEST(every_task_runs_exactly_once) {
  constexpr int n = 4000;
  std::vector<std::atomic<int>> runs(n);
  std::vector<std::future<int>> fs;
  fs.reserve(n);
  {
    ThreadPool pool(4);
    for (int i = 0; i < n; ++i)
      fs.push_back(pool.submit([&runs](int k) { runs[k].fetch_add(1, std::memory_order_relaxed); return k; }, i));
    for (int i = 0; i < n; ++i) VCHECK_EQ(fs[i].get(), i);
  }
  for (int i = 0; i < n; ++i) VCHECK_EQ(runs[i].load(), 1);
}

VTEST(submitters_on_many_threads) {
  ThreadPool pool(3);
  std::atomic<long> total{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&pool, &total] {
      std::vector<std::future<long>> mine;
      for (long i = 1; i <= 500; ++i) mine.push_back(pool.submit([](long v) { return v; }, i));
      long sum = 0;
      for (auto& f : mine) sum += f.get();
      total += sum;
    });
  for (auto& t : clients) t.join();
  VCHECK_EQ(total.load(), 4L * 500 * 501 / 2);
}

VTEST(drain_runs_every_queued_task) {
  // 50 tasks are queued behind a blocked one when shutdown(Drain) starts; all
  // 50 must still run, and submit() must already be refused.
  ThreadPool pool(1);
  Gate gate;
  auto first = occupy_the_worker(pool, gate);
  std::atomic<int> ran{0};
  std::vector<std::future<int>> queued;
  for (int i = 0; i < 50; ++i) queued.push_back(pool.submit([&ran, i] { ran.fetch_add(1); return i; }));
  VCHECK_EQ(pool.pending(), 50u);
  std::size_t dropped = 99;
  std::thread closer([&] { dropped = pool.shutdown(ShutdownMode::Drain); });
  while (!pool.closed()) std::this_thread::yield();  // shutdown has begun (it now waits in join)
  VCHECK_THROWS(pool.submit([] { return 0; }), std::runtime_error);
  gate.open();
  closer.join();
  VCHECK_EQ(dropped, 0u);
  VCHECK_MSG(ran.load() == 50, "shutdown(Drain) returned before every queued task ran");
  VCHECK_EQ(first.get(), 7);
  for (int i = 0; i < 50; ++i) VCHECK_EQ(queued[i].get(), i);
}

VTEST(cancel_drops_pending_tasks_and_breaks_their_promises) {
  ThreadPool pool(1);
  Gate gate;
  auto first = occupy_the_worker(pool, gate);
  std::atomic<int> ran{0};
  std::vector<std::future<int>> queued;
  for (int i = 0; i < 30; ++i) queued.push_back(pool.submit([&ran] { ran.fetch_add(1); return 1; }));
  std::size_t dropped = 0;
  std::thread closer([&] { dropped = pool.shutdown(ShutdownMode::Cancel); });
  while (!pool.closed()) std::this_thread::yield();
  gate.open();  // the running task finishes; the 30 queued ones must not start
  closer.join();
  VCHECK_EQ(dropped, 30u);
  VCHECK_EQ(ran.load(), 0);
  VCHECK_EQ(first.get(), 7);
  for (auto& f : queued) {
    VCHECK_MSG(f.wait_for(std::chrono::seconds(0)) == std::future_status::ready,
               "a cancelled task's future must be ready (with broken_promise), not pending forever");
    bool broken = false;
    try {
      f.get();
    } catch (const std::future_error& e) {
      broken = e.code() == std::future_errc::broken_promise;
    }
    VCHECK_MSG(broken, "a cancelled task's future::get() should throw future_error(broken_promise)");
  }
}

VTEST(shutdown_wakes_every_idle_worker) {
  // Four workers asleep on an empty queue: all four must wake and exit.
  ThreadPool pool(4);
  auto warm = pool.submit([] { return 0; });
  warm.get();
  VCHECK_MSG(returns_in_time([&] { pool.shutdown(); }),
             "shutdown() did not return: an idle worker never woke up (notify_one instead of notify_all?)");
}

VTEST(shutdown_is_idempotent_and_submit_after_it_throws) {
  ThreadPool pool(2);
  auto f = pool.submit([] { return 3; });
  VCHECK_EQ(pool.shutdown(ShutdownMode::Drain), 0u);
  VCHECK_EQ(f.get(), 3);
  VCHECK(pool.closed());
  VCHECK_EQ(pool.shutdown(ShutdownMode::Cancel), 0u);
  VCHECK_THROWS(pool.submit([] { return 1; }), std::runtime_error);
}

VTEST(destructor_drains_and_joins) {
  std::atomic<int> ran{0};
  auto pool = std::make_unique<ThreadPool>(2);
  for (int i = 0; i < 200; ++i) pool->submit([&ran] { ran.fetch_add(1); });
  VCHECK_MSG(returns_in_time([&] { pool.reset(); }), "~ThreadPool did not return");
  VCHECK_MSG(ran.load() == 200, "~ThreadPool returned before the queued tasks ran (it must drain and join)");
}
