"""A kernel benchmark harness: time it right, place it on the roofline, report it.

Stage 1: Timer (warm-up, cache flush, median and IQR, a time cap; CPU clock or CUDA events).
Stage 2: roofline arithmetic (bytes, FLOPs, ceilings, ridge, bound, % of the roof).
Stage 3: a Markdown table and a plain-text bar chart from a list of measurements.
Stage 4 (GPU): the same Timer on real torch ops with CUDA events.

The dataclasses, constants and the two device helpers are given. Everything
marked TODO is yours; README.md gives the exact rules each stage's tests check.
"""
from __future__ import annotations

import ctypes  # noqa: F401  (ctypes.memset writes a bytearray at C speed)
import math  # noqa: F401
import time  # noqa: F401
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# ---------------------------------------------------------------- stage 1: timing

DEFAULT_CPU_FLUSH_BYTES = 64 << 20  # 64 MiB: twice a 32 MiB last-level cache


def quantile(sorted_xs: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default): h = (n - 1) * p."""
    # TODO (stage 1)
    raise NotImplementedError("quantile")


@dataclass(frozen=True)
class Stats:
    samples_ns: tuple  # the timed reps only, in the order they ran
    warmup: int  # untimed calls made before the first sample
    capped: bool  # the time cap stopped the run before `reps` samples
    median_ns: float
    q1_ns: float
    q3_ns: float
    iqr_ns: float
    min_ns: float
    max_ns: float

    @property
    def reps(self) -> int:
        return len(self.samples_ns)

    @property
    def median_s(self) -> float:
        return self.median_ns / 1e9

    @property
    def rel_iqr(self) -> float:
        """Spread relative to the median (0.05 = the middle half spans 5 % of the median)."""
        return self.iqr_ns / self.median_ns if self.median_ns else float("inf")


def summarize(samples_ns: Sequence[float], warmup: int = 0, capped: bool = False) -> Stats:
    """Stats of the timed samples (kept in run order); ValueError when there are none."""
    # TODO (stage 1)
    raise NotImplementedError("summarize")


class CacheFlush:
    """Overwrites a buffer bigger than the cache, so the next rep reads its inputs from memory.

    CPU: a bytearray (`self.buffer`, `self.nbytes`, default DEFAULT_CPU_FLUSH_BYTES), every byte
    written on each call with a value that changes from call to call. CUDA: a uint8 tensor of
    twice the device's L2 by default, filled on the current stream.
    """

    def __init__(self, device: str = "cpu", nbytes: int | None = None):
        _check_device(device)
        # TODO (stage 1; the CUDA branch is stage 4)
        raise NotImplementedError("CacheFlush")

    def __call__(self) -> None:
        # TODO (stage 1)
        raise NotImplementedError("CacheFlush.__call__")


def _check_device(device: str) -> None:
    if device != "cpu" and not (device == "cuda" or device.startswith("cuda:")):
        raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {device!r}")


def _cuda_torch():
    try:
        import torch
    except ImportError as exc:
        raise RuntimeError("device 'cuda' needs torch, which is not installed") from exc
    if not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' asked for, but torch sees no CUDA device")
    return torch


class Timer:
    """Times `fn()`: `warmup` untimed calls, then up to `reps` timed calls, each after a cache
    flush, stopping early once the samples add up to `max_ms` (but never before `min_reps`).

    flush: True (a CacheFlush of flush_bytes), False/None (none), or any callable.
    clock: CPU only, a function returning integer nanoseconds (default time.perf_counter_ns).
    """

    def __init__(self, fn: Callable[[], object], device: str = "cpu", *, warmup: int = 3, reps: int = 50,
                 min_reps: int = 5, max_ms: float = 500.0, flush: bool | Callable[[], object] = True,
                 flush_bytes: int | None = None, clock: Callable[[], int] | None = None):
        _check_device(device)
        # TODO (stage 1): validate, store, pick the clock and the flush
        raise NotImplementedError("Timer")

    def run(self) -> Stats:
        # TODO (stage 1; the CUDA-event path is stage 4)
        raise NotImplementedError("Timer.run")


# ---------------------------------------------------------------- stage 2: roofline

GB = 10**9  # decimal: what bandwidth figures (GB/s) mean on datasheets
GiB = 2**30  # binary: what memory sizes (80 GiB of HBM) mean


def gib_to_gb(x: float) -> float:
    # TODO (stage 2)
    raise NotImplementedError


def gb_to_gib(x: float) -> float:
    # TODO (stage 2)
    raise NotImplementedError


def copy_bytes(n: int, elem_bytes: int) -> int:
    """dst[i] = src[i]."""
    # TODO (stage 2)
    raise NotImplementedError


def vector_add_bytes(n: int, elem_bytes: int) -> int:
    """c = a + b."""
    # TODO (stage 2)
    raise NotImplementedError


def gemm_flops(m: int, n: int, k: int) -> int:
    """C[m,n] = A[m,k] @ B[k,n]."""
    # TODO (stage 2)
    raise NotImplementedError


def gemm_bytes(m: int, n: int, k: int, elem_bytes: int) -> int:
    """The least traffic: read A and B once, write C once (beta = 0, C is not read)."""
    # TODO (stage 2)
    raise NotImplementedError


@dataclass(frozen=True)
class Ceilings:
    bandwidth_gbps: float  # GB/s, 10**9 bytes per second (a measured copy, or the datasheet)
    peak_tflops: float  # TFLOP/s of the unit the kernel uses (tensor cores, or FP32 CUDA cores)

    def __post_init__(self):
        # TODO (stage 2): ValueError unless both are finite and > 0
        pass

    @classmethod
    def from_gibps(cls, bandwidth_gibps: float, peak_tflops: float) -> Ceilings:
        # TODO (stage 2)
        raise NotImplementedError

    @property
    def ridge(self) -> float:
        """FLOP per byte where the two roofs meet."""
        # TODO (stage 2)
        raise NotImplementedError


@dataclass(frozen=True)
class RooflinePoint:
    nbytes: int
    flops: int
    intensity: float  # FLOP/byte
    bound: str  # "memory" or "compute"
    floor_s: float  # the least time the ceilings allow
    attainable_tflops: float  # min(peak, intensity * bandwidth)
    measured_s: float | None = None
    achieved_gbps: float | None = None
    achieved_tflops: float | None = None
    pct_of_roof: float | None = None  # 100 * floor_s / measured_s
    above_roof: bool = False  # faster than the ceilings allow: wrong byte count, or a warm cache


def roofline(nbytes: int, flops: int, ceilings: Ceilings, measured_s: float | None = None) -> RooflinePoint:
    # TODO (stage 2)
    raise NotImplementedError("roofline")


# ---------------------------------------------------------------- stage 3: report


@dataclass(frozen=True)
class Measurement:
    name: str
    nbytes: int
    flops: int
    seconds: float  # the median

    @classmethod
    def from_stats(cls, name: str, nbytes: int, flops: int, stats: Stats) -> Measurement:
        # TODO (stage 3)
        raise NotImplementedError


def format_si(x: float, unit: str) -> str:
    """Decimal prefixes (k = 1e3 ... P = 1e15), two decimals; below 1000 no prefix and no decimals."""
    # TODO (stage 3)
    raise NotImplementedError


def format_time(seconds: float) -> str:
    """'1.500 s' from 1 s up, '1.171 ms' from 1 ms up, else '4.2 µs'."""
    # TODO (stage 3)
    raise NotImplementedError


HEADER = "| kernel | bytes | FLOPs | FLOP/B | time | GB/s | TFLOP/s | % of roof | bound |"
ALIGN = "| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :--- |"


def markdown_table(measurements: Sequence[Measurement], ceilings: Ceilings) -> str:
    # TODO (stage 3)
    raise NotImplementedError("markdown_table")


def bar_chart(measurements: Sequence[Measurement], ceilings: Ceilings, width: int = 40) -> str:
    # TODO (stage 3)
    raise NotImplementedError("bar_chart")
