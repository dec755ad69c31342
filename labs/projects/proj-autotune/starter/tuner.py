"""Stage 2: a tuner that benchmarks every config once and keeps the winner in a
JSON cache keyed by (kernel, device name, shape bucket), written atomically and
ignored when the kernel version changes.

The cache file (several devices, kernels and buckets may share one file):
  {"format": 1,
   "entries": {"<kernel>|<device name>|<bucket>": {"kernel_version": "...",
               "config": {...}, "best_ms": 0.1, "default_ms": 0.2}}}
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

FORMAT = 1


class NoValidConfigError(RuntimeError):
    """Every config failed to run (or the list was empty)."""


def shape_bucket(shape: tuple[int, ...]) -> str:
    """Each dimension rounded up to a power of two, joined with "x":
    (3, 100) -> "4x128"; (1,) -> "1". ValueError for a dimension below 1."""
    raise NotImplementedError


@dataclass
class TuneResult:
    config: dict
    best_ms: float
    default_ms: float
    speedup: float  # default_ms / best_ms
    cached: bool  # True when served from the cache (nothing was benchmarked)
    benchmarked: int  # how many benchmark calls this tune() made


class ConfigCache:
    """Best configs of one kernel (name, version) on one device, persisted in `path`."""

    def __init__(self, path: str | os.PathLike, device_name: str, kernel_name: str, kernel_version: str):
        self.path = Path(path)
        self.device_name = device_name
        self.kernel_name = kernel_name
        self.kernel_version = kernel_version

    def lookup(self, shape) -> dict | None:
        """The stored entry ({"kernel_version", "config", "best_ms", "default_ms"}) for
        `shape`'s bucket on this device, or None when there is none, it was tuned
        for another kernel version, or the file is missing or unreadable."""
        raise NotImplementedError

    def store(self, shape, config: dict, best_ms: float, default_ms: float) -> None:
        """Record the winner for `shape`'s bucket, keeping every other entry, and
        replace the file atomically (the cache file itself is never opened for
        writing; no temporary file survives, even when the write fails)."""
        raise NotImplementedError


def tune(cache: ConfigCache, shape, configs: list[dict], benchmark: Callable[[dict, tuple], float],
         default_config: dict) -> TuneResult:
    """The fastest of `configs` for `shape`.

    A cache hit returns the stored entry and calls `benchmark` zero times.
    Otherwise every config is benchmarked exactly once (`benchmark(config, shape)`
    returns milliseconds); a config whose benchmark raises, or returns a time that
    is not a finite positive number, is skipped. The lowest time wins; on a tie
    the earlier config wins. The default config is benchmarked too (once, reusing
    its measurement when it is also in `configs`), and the winner is stored.
    NoValidConfigError when no config (or the default) runs.
    """
    raise NotImplementedError
