"""Stage 1: a timing harness: warm-up, a flush before every timed rep, median and IQR, a time cap.

Most tests inject a fake clock that only moves when the timed callable (or the
flush) says so, so every sample is known exactly and no test depends on how
fast this machine is. One test times real work on the CPU and checks shape only.
"""
import time

import pytest

from tui.core.labs.testing import load_lab_module


@pytest.fixture
def kb(lab_dir):
    return load_lab_module(lab_dir, "kernel_bench.py")


class FakeClock:
    """Nanoseconds that advance only when someone calls advance()."""

    def __init__(self):
        self.now = 0

    def __call__(self):
        return self.now

    def advance(self, ns):
        self.now += ns


def scripted(clock, costs, log=None):
    """A callable whose n-th call costs costs[n] fake nanoseconds."""
    costs = list(costs)

    def fn():
        if not costs:
            raise AssertionError("the harness called fn more often than warmup + reps")
        clock.advance(costs.pop(0))
        if log is not None:
            log.append("fn")

    return fn


FLUSH_NS = 1_000_000


def fake_flush(clock, log):
    def flush():
        clock.advance(FLUSH_NS)  # a flush is slow; none of it may land in a sample
        log.append("flush")

    return flush


# ------------------------------------------------------------ statistics


def test_quantile_interpolates_between_ranks(kb):
    xs = [1, 2, 3, 4]
    assert kb.quantile(xs, 0.0) == 1
    assert kb.quantile(xs, 0.25) == pytest.approx(1.75)
    assert kb.quantile(xs, 0.5) == pytest.approx(2.5)
    assert kb.quantile(xs, 0.75) == pytest.approx(3.25)
    assert kb.quantile(xs, 1.0) == 4
    assert kb.quantile([7], 0.25) == 7
    with pytest.raises(ValueError):
        kb.quantile([], 0.5)


def test_summarize_median_and_iqr(kb):
    s = kb.summarize([50, 10, 40, 20, 30])
    assert s.samples_ns == (50, 10, 40, 20, 30)  # run order kept
    assert (s.median_ns, s.q1_ns, s.q3_ns, s.iqr_ns) == (30, 20, 40, 20)
    assert (s.min_ns, s.max_ns, s.reps) == (10, 50, 5)
    assert s.median_s == pytest.approx(30e-9)
    assert s.rel_iqr == pytest.approx(20 / 30)


def test_median_ignores_an_outlier(kb):
    # One rep hit by a context switch: the mean would be 208, the median stays 10.
    s = kb.summarize([10, 10, 1000, 10, 10])
    assert s.median_ns == 10
    assert s.iqr_ns == 0
    assert s.max_ns == 1000


def test_summarize_even_count_and_single_sample(kb):
    s = kb.summarize([4, 1, 3, 2])
    assert s.median_ns == pytest.approx(2.5)
    assert s.iqr_ns == pytest.approx(1.5)
    one = kb.summarize([42])
    assert (one.median_ns, one.q1_ns, one.q3_ns, one.iqr_ns) == (42, 42, 42, 0)
    with pytest.raises(ValueError):
        kb.summarize([])


# ------------------------------------------------------------ the harness, on a fake clock


def test_warmup_calls_are_not_in_the_stats(kb):
    clock = FakeClock()
    fn = scripted(clock, [900, 900, 900, 10, 30, 20, 50, 40])
    s = kb.Timer(fn, "cpu", warmup=3, reps=5, min_reps=1, max_ms=1e6, flush=False, clock=clock).run()
    assert s.samples_ns == (10, 30, 20, 50, 40)
    assert s.warmup == 3 and s.reps == 5 and not s.capped
    assert (s.median_ns, s.q1_ns, s.q3_ns) == (30, 20, 40)


def test_median_of_the_timed_reps(kb):
    clock = FakeClock()
    fn = scripted(clock, [5, 10, 10, 1000, 10, 10])
    s = kb.Timer(fn, "cpu", warmup=1, reps=5, min_reps=1, max_ms=1e6, flush=False, clock=clock).run()
    assert s.median_ns == 10 and s.max_ns == 1000


def test_a_flush_before_every_timed_rep_and_outside_it(kb):
    clock, log = FakeClock(), []
    fn = scripted(clock, [7, 7, 11, 12, 13, 14], log)
    s = kb.Timer(fn, "cpu", warmup=2, reps=4, min_reps=1, max_ms=1e6, flush=fake_flush(clock, log), clock=clock).run()
    # warm-up back to back, then flush, time, flush, time ...
    assert log == ["fn", "fn"] + ["flush", "fn"] * 4
    # the flush advanced the clock by 1 ms each time, and none of it is in a sample
    assert s.samples_ns == (11, 12, 13, 14)


def test_no_flush_when_disabled(kb):
    clock, log = FakeClock(), []
    fn = scripted(clock, [1, 2, 3], log)
    s = kb.Timer(fn, "cpu", warmup=0, reps=3, min_reps=1, max_ms=1e6, flush=False, clock=clock).run()
    assert log == ["fn"] * 3 and s.samples_ns == (1, 2, 3)


def test_time_cap_stops_early(kb):
    clock = FakeClock()
    fn = scripted(clock, [100] * 60)
    # cap 950 ns: the sum of samples reaches it after the 10th rep (1000 ns)
    s = kb.Timer(fn, "cpu", warmup=0, reps=50, min_reps=3, max_ms=950e-6, flush=False, clock=clock).run()
    assert s.reps == 10 and s.capped


def test_time_cap_counts_samples_not_flush_or_warmup(kb):
    clock, log = FakeClock(), []
    fn = scripted(clock, [10_000] * 2 + [100] * 20, log)
    # Warm-up (20 us) and flushes (1 ms each) are far over a 950 ns cap; only samples count.
    s = kb.Timer(fn, "cpu", warmup=2, reps=20, min_reps=1, max_ms=950e-6, flush=fake_flush(clock, log),
                 clock=clock).run()
    assert s.reps == 10 and s.capped and s.samples_ns == (100,) * 10


def test_time_cap_never_goes_below_min_reps(kb):
    clock = FakeClock()
    fn = scripted(clock, [10_000] * 10)
    s = kb.Timer(fn, "cpu", warmup=0, reps=8, min_reps=4, max_ms=1e-3, flush=False, clock=clock).run()
    assert s.reps == 4 and s.capped


def test_not_capped_when_all_reps_fit(kb):
    clock = FakeClock()
    fn = scripted(clock, [250] * 5)
    # 1250 ns against a 1000 ns cap, but the cap is first reached on the last rep: nothing was cut
    s = kb.Timer(fn, "cpu", warmup=0, reps=5, min_reps=5, max_ms=1e-3, flush=False, clock=clock).run()
    assert s.reps == 5 and not s.capped


@pytest.mark.parametrize("kwargs", [dict(reps=0), dict(warmup=-1), dict(min_reps=6, reps=5), dict(max_ms=0),
                                    dict(min_reps=0)])
def test_bad_arguments(kb, kwargs):
    with pytest.raises(ValueError):
        kb.Timer(lambda: None, "cpu", flush=False, **kwargs)


def test_unknown_device(kb):
    with pytest.raises(ValueError):
        kb.Timer(lambda: None, "tpu", flush=False)


# ------------------------------------------------------------ the real thing on the CPU


def test_default_clock_is_perf_counter_ns(kb):
    t = kb.Timer(lambda: None, "cpu", flush=False)
    assert t.clock is time.perf_counter_ns


def test_cache_flush_writes_the_whole_buffer_each_time(kb):
    f = kb.CacheFlush("cpu", nbytes=1 << 20)
    assert f.nbytes == 1 << 20 and len(f.buffer) == 1 << 20
    f()
    first = bytes(f.buffer)
    assert len(set(first)) == 1  # every byte written with one value
    f()
    second = bytes(f.buffer)
    assert len(set(second)) == 1 and second != first  # a new value each call: the write cannot be skipped


def test_default_cpu_flush_is_larger_than_a_last_level_cache(kb):
    assert kb.CacheFlush("cpu").nbytes >= 64 << 20


def test_real_cpu_run_has_the_right_shape(kb):
    calls = []

    def work():
        calls.append(sum(range(2000)))

    s = kb.Timer(work, "cpu", warmup=2, reps=7, min_reps=3, max_ms=10_000, flush_bytes=1 << 20).run()
    assert len(calls) == 2 + 7
    assert s.reps == 7 and s.warmup == 2 and not s.capped
    assert all(isinstance(x, int) and x > 0 for x in s.samples_ns)
    assert s.min_ns <= s.q1_ns <= s.median_ns <= s.q3_ns <= s.max_ns
    assert s.iqr_ns == pytest.approx(s.q3_ns - s.q1_ns)
