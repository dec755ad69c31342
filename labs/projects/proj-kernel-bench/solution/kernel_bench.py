"""A kernel benchmark harness: time it right, place it on the roofline, report it.

Stage 1: Timer (warm-up, cache flush, median and IQR, a time cap; CPU clock or CUDA events).
Stage 2: roofline arithmetic (bytes, FLOPs, ceilings, ridge, bound, % of the roof).
Stage 3: a Markdown table and a plain-text bar chart from a list of measurements.
Stage 4 (GPU): the same Timer on real torch ops with CUDA events.
"""
from __future__ import annotations

import ctypes
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# ---------------------------------------------------------------- stage 1: timing

DEFAULT_CPU_FLUSH_BYTES = 64 << 20  # 64 MiB: twice a 32 MiB last-level cache


def quantile(sorted_xs: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default): h = (n - 1) * p."""
    if not sorted_xs:
        raise ValueError("quantile of no samples")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    h = (len(sorted_xs) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (h - lo) * (sorted_xs[hi] - sorted_xs[lo])


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
    if not samples_ns:
        raise ValueError("no samples to summarize")
    xs = sorted(samples_ns)
    median = quantile(xs, 0.5)
    q1, q3 = quantile(xs, 0.25), quantile(xs, 0.75)
    return Stats(tuple(samples_ns), warmup, capped, median, q1, q3, q3 - q1, xs[0], xs[-1])


class CacheFlush:
    """Overwrites a buffer bigger than the cache, so the next rep reads its inputs from memory.

    CPU: a bytearray filled with ctypes.memset. CUDA: a uint8 tensor filled on the
    current stream (default size: twice the device's L2). Each call writes a new value.
    """

    def __init__(self, device: str = "cpu", nbytes: int | None = None):
        _check_device(device)
        self.device = device
        self._value = 0
        if device == "cpu":
            self.nbytes = int(nbytes or DEFAULT_CPU_FLUSH_BYTES)
            self.buffer = bytearray(self.nbytes)
            self._addr = ctypes.addressof((ctypes.c_char * self.nbytes).from_buffer(self.buffer))
        else:
            torch = _cuda_torch()
            l2 = torch.cuda.get_device_properties(torch.cuda.current_device()).L2_cache_size
            self.nbytes = int(nbytes or 2 * l2)
            self.buffer = torch.empty(self.nbytes, dtype=torch.uint8, device=device)
        if self.nbytes <= 0:
            raise ValueError("flush buffer must have at least one byte")

    def __call__(self) -> None:
        self._value = (self._value + 1) % 256
        if self.device == "cpu":
            ctypes.memset(self._addr, self._value, self.nbytes)
        else:
            self.buffer.fill_(self._value)


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
    flush, stopping early once the samples add up to `max_ms` (but never before `min_reps`)."""

    def __init__(self, fn: Callable[[], object], device: str = "cpu", *, warmup: int = 3, reps: int = 50,
                 min_reps: int = 5, max_ms: float = 500.0, flush: bool | Callable[[], object] = True,
                 flush_bytes: int | None = None, clock: Callable[[], int] | None = None):
        _check_device(device)
        if warmup < 0:
            raise ValueError("warmup must be >= 0")
        if reps < 1 or min_reps < 1 or min_reps > reps:
            raise ValueError("need 1 <= min_reps <= reps")
        if not max_ms > 0:
            raise ValueError("max_ms must be > 0")
        if device != "cpu":
            if clock is not None:
                raise ValueError("clock is for the CPU path; CUDA is timed with events")
            self._torch = _cuda_torch()
        self.fn, self.device = fn, device
        self.warmup, self.reps, self.min_reps, self.max_ms = warmup, reps, min_reps, max_ms
        self.clock = clock if clock is not None else time.perf_counter_ns
        if flush is True:
            self._flush = CacheFlush(device, flush_bytes)
        elif flush is False or flush is None:
            self._flush = None
        else:
            self._flush = flush

    def _timed_rep(self) -> float:
        if self.device == "cpu":
            t0 = self.clock()
            self.fn()
            return self.clock() - t0
        torch = self._torch
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        self.fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) * 1e6  # ms -> ns

    def run(self) -> Stats:
        for _ in range(self.warmup):
            self.fn()
        if self.device != "cpu":
            self._torch.cuda.synchronize()
        cap_ns = self.max_ms * 1e6
        samples: list[float] = []
        total = 0.0
        capped = False
        for i in range(self.reps):
            if self._flush is not None:
                self._flush()
            sample = self._timed_rep()
            samples.append(sample)
            total += sample
            if total >= cap_ns and len(samples) >= self.min_reps and i + 1 < self.reps:
                capped = True
                break
        return summarize(samples, self.warmup, capped)


# ---------------------------------------------------------------- stage 2: roofline

GB = 10**9  # decimal: what bandwidth figures (GB/s) mean on datasheets
GiB = 2**30  # binary: what memory sizes (80 GiB of HBM) mean


def gib_to_gb(x: float) -> float:
    return x * GiB / GB


def gb_to_gib(x: float) -> float:
    return x * GB / GiB


def copy_bytes(n: int, elem_bytes: int) -> int:
    """dst[i] = src[i]: n elements read and n written."""
    return 2 * n * elem_bytes


def vector_add_bytes(n: int, elem_bytes: int) -> int:
    """c = a + b: two reads and one write per element."""
    return 3 * n * elem_bytes


def gemm_flops(m: int, n: int, k: int) -> int:
    """C[m,n] = A[m,k] @ B[k,n]: one multiply and one add per (i, j, l)."""
    return 2 * m * n * k


def gemm_bytes(m: int, n: int, k: int, elem_bytes: int) -> int:
    """The least traffic: read A and B once, write C once (beta = 0, C is not read)."""
    return (m * k + k * n + m * n) * elem_bytes


def _positive(name: str, x: float) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {x!r}")
    return float(x)


@dataclass(frozen=True)
class Ceilings:
    bandwidth_gbps: float  # GB/s, 10**9 bytes per second (a measured copy, or the datasheet)
    peak_tflops: float  # TFLOP/s of the unit the kernel uses (tensor cores, or FP32 CUDA cores)

    def __post_init__(self):
        _positive("bandwidth_gbps", self.bandwidth_gbps)
        _positive("peak_tflops", self.peak_tflops)

    @classmethod
    def from_gibps(cls, bandwidth_gibps: float, peak_tflops: float) -> Ceilings:
        return cls(gib_to_gb(_positive("bandwidth_gibps", bandwidth_gibps)), peak_tflops)

    @property
    def ridge(self) -> float:
        """FLOP per byte where the two roofs meet: peak / bandwidth."""
        return self.peak_tflops * 1e12 / (self.bandwidth_gbps * 1e9)


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
    for name, x in (("nbytes", nbytes), ("flops", flops)):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")
    if nbytes == 0:
        raise ValueError("nbytes is 0: every kernel moves its inputs and outputs, so count them "
                         "(intensity = flops / bytes would be undefined)")
    bw = ceilings.bandwidth_gbps * 1e9  # bytes/s
    peak = ceilings.peak_tflops * 1e12  # FLOP/s
    intensity = flops / nbytes
    bound = "compute" if intensity > ceilings.ridge else "memory"
    floor_s = max(nbytes / bw, flops / peak)
    attainable = min(ceilings.peak_tflops, intensity * ceilings.bandwidth_gbps / 1e3)
    point = RooflinePoint(nbytes, flops, intensity, bound, floor_s, attainable)
    if measured_s is None:
        return point
    measured_s = _positive("measured_s", measured_s)
    pct = 100.0 * floor_s / measured_s
    return RooflinePoint(nbytes, flops, intensity, bound, floor_s, attainable, measured_s,
                         achieved_gbps=nbytes / measured_s / GB,
                         achieved_tflops=flops / measured_s / 1e12,
                         pct_of_roof=pct, above_roof=pct > 100.0)


# ---------------------------------------------------------------- stage 3: report


@dataclass(frozen=True)
class Measurement:
    name: str
    nbytes: int
    flops: int
    seconds: float  # the median

    @classmethod
    def from_stats(cls, name: str, nbytes: int, flops: int, stats: Stats) -> Measurement:
        return cls(name, nbytes, flops, stats.median_ns / 1e9)


_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def format_si(x: float, unit: str) -> str:
    """Decimal prefixes (k = 1e3 ... P = 1e15), two decimals; below 1000 no prefix and no decimals."""
    for scale, prefix in _PREFIXES:
        if x >= scale:
            return f"{x / scale:.2f} {prefix}{unit}"
    return f"{x:.0f} {unit}"


def format_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _points(measurements: Sequence[Measurement], ceilings: Ceilings) -> list[tuple[Measurement, RooflinePoint]]:
    if not measurements:
        raise ValueError("nothing to report: no measurements")
    names = [m.name for m in measurements]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"duplicate kernel names: {', '.join(dupes)}")
    return [(m, roofline(m.nbytes, m.flops, ceilings, m.seconds)) for m in measurements]


HEADER = "| kernel | bytes | FLOPs | FLOP/B | time | GB/s | TFLOP/s | % of roof | bound |"
ALIGN = "| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :--- |"


def markdown_table(measurements: Sequence[Measurement], ceilings: Ceilings) -> str:
    lines = [HEADER, ALIGN]
    for m, p in _points(measurements, ceilings):
        name = m.name.replace("|", "\\|")
        cells = [name, format_si(m.nbytes, "B"), format_si(m.flops, "FLOP"), f"{p.intensity:.2f}",
                 format_time(m.seconds), f"{p.achieved_gbps:,.1f}", f"{p.achieved_tflops:,.2f}",
                 f"{p.pct_of_roof:.1f} %", p.bound]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bar_chart(measurements: Sequence[Measurement], ceilings: Ceilings, width: int = 40) -> str:
    if width < 1:
        raise ValueError("width must be >= 1")
    points = _points(measurements, ceilings)
    pad = max(len(m.name) for m, _ in points)
    lines = []
    for m, p in points:
        filled = min(width, math.floor(p.pct_of_roof * width / 100))
        end = ">" if p.above_roof else "|"
        lines.append(f"{m.name:<{pad}} |{'#' * filled}{'.' * (width - filled)}{end} {p.pct_of_roof:5.1f} % {p.bound}")
    return "\n".join(lines)
