"""Timing GPU work with CUDA events: warm up, then the median of many runs.

Each timed run is bracketed by its own pair of events, and (optionally) a
buffer twice the size of L2 is overwritten between runs so a small input is
read from DRAM, not from the cache it was left in by the previous run.
Import only in a process that may own a CUDA context (a test child, the bench).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass
class Timing:
    median_ms: float
    p10_ms: float
    p90_ms: float
    runs: int

    def as_dict(self) -> dict:
        return {"median_ms": self.median_ms, "p10_ms": self.p10_ms, "p90_ms": self.p90_ms, "runs": self.runs}


_flush_buf = None


def _l2_flush():
    """Overwrite 2x L2 so the next kernel starts with a cold cache."""
    global _flush_buf
    import torch

    if _flush_buf is None:
        l2 = getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 50 << 20) or (50 << 20)
        _flush_buf = torch.empty(2 * l2 // 4, dtype=torch.int32, device="cuda")
    _flush_buf.fill_(0x5A5A5A5A)


def time_cuda(fn, warmup: int = 5, runs: int = 50, flush_l2: bool = True, max_ms: float = 2000.0) -> Timing:
    """Median time of `fn()` (which launches GPU work on the current stream)."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    # Cap the total: a slow learner kernel must not hold the lab for minutes.
    probe_start, probe_end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    probe_start.record()
    fn()
    probe_end.record()
    torch.cuda.synchronize()
    one = max(probe_start.elapsed_time(probe_end), 1e-3)
    runs = max(5, min(runs, int(max_ms / one)))
    pairs = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(runs)]
    for start, end in pairs:
        if flush_l2:
            _l2_flush()
        start.record()
        fn()
        end.record()
    torch.cuda.synchronize()
    times = sorted(s.elapsed_time(e) for s, e in pairs)
    q = statistics.quantiles(times, n=10) if len(times) >= 2 else [times[0]] * 9
    return Timing(statistics.median(times), q[0], q[-1], len(times))


def copy_bandwidth_gbps(nbytes: int = 1 << 30) -> float:
    """Device-to-device copy, counting bytes read plus bytes written."""
    import torch

    src = torch.empty(nbytes // 4, dtype=torch.int32, device="cuda").random_()
    dst = torch.empty_like(src)
    t = time_cuda(lambda: dst.copy_(src), warmup=3, runs=20, flush_l2=False)
    return 2 * nbytes / (t.median_ms / 1e3) / 1e9
