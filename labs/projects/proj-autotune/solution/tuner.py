"""Stage 2: a tuner that benchmarks every config once and keeps the winner in a
JSON cache keyed by (kernel, device name, shape bucket), written atomically and
ignored when the kernel version changes.

The cache file (one per machine or per folder; several devices may share it):
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
    (3, 100) -> "4x128"; (1,) -> "1". Dimensions must be >= 1."""
    dims = []
    for d in shape:
        if d < 1:
            raise ValueError(f"dimension {d} must be >= 1")
        dims.append(1 << (d - 1).bit_length())
    return "x".join(str(d) for d in dims)


@dataclass
class TuneResult:
    config: dict
    best_ms: float
    default_ms: float
    speedup: float  # default_ms / best_ms: >= 1 whenever the default was among the candidates
    cached: bool  # True when served from the cache (nothing was benchmarked)
    benchmarked: int  # how many benchmark calls this tune() made


class ConfigCache:
    """Best configs of one kernel (name, version) on one device, persisted in `path`."""

    def __init__(self, path: str | os.PathLike, device_name: str, kernel_name: str, kernel_version: str):
        self.path = Path(path)
        self.device_name = device_name
        self.kernel_name = kernel_name
        self.kernel_version = kernel_version

    def _key(self, shape) -> str:
        return f"{self.kernel_name}|{self.device_name}|{shape_bucket(shape)}"

    def _read(self) -> dict:
        """The file's entries; a missing, unreadable or foreign file reads as empty."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("entries"), dict):
            return {}
        return data["entries"]

    def lookup(self, shape) -> dict | None:
        """The stored entry for `shape`'s bucket on this device, or None when there
        is none or it was tuned for another kernel version."""
        entry = self._read().get(self._key(shape))
        if not isinstance(entry, dict) or entry.get("kernel_version") != self.kernel_version:
            return None
        return entry

    def store(self, shape, config: dict, best_ms: float, default_ms: float) -> None:
        """Record the winner for `shape`'s bucket, keeping every other entry, and
        replace the file atomically: write a temporary file in the same folder,
        flush and fsync it, then os.replace it over the cache."""
        entries = self._read()
        entries[self._key(shape)] = {"kernel_version": self.kernel_version, "config": dict(config),
                                     "best_ms": best_ms, "default_ms": default_ms}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"format": FORMAT, "entries": entries}, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def tune(cache: ConfigCache, shape, configs: list[dict], benchmark: Callable[[dict, tuple], float],
         default_config: dict) -> TuneResult:
    """The fastest of `configs` for `shape`.

    A cache hit returns the stored entry and calls `benchmark` zero times.
    Otherwise every config is benchmarked exactly once (`benchmark(config, shape)`
    returns milliseconds); a config whose benchmark raises, or returns a time that
    is not a finite positive number, is skipped. The lowest time wins; on a tie
    the earlier config wins. The default config is benchmarked too (once, reusing
    its measurement when it is also in `configs`), and the winner is stored.
    """
    shape = tuple(shape)
    hit = cache.lookup(shape)
    if hit is not None:
        return TuneResult(dict(hit["config"]), hit["best_ms"], hit["default_ms"],
                          hit["default_ms"] / hit["best_ms"], cached=True, benchmarked=0)
    calls = 0

    def measure(cfg):
        nonlocal calls
        calls += 1
        try:
            ms = float(benchmark(dict(cfg), shape))
        except Exception:  # a config that does not compile or run (e.g. out of resources)
            return None
        return ms if math.isfinite(ms) and ms > 0 else None

    best_cfg, best_ms = None, math.inf
    default_ms, default_seen = None, False
    for cfg in configs:
        ms = measure(cfg)
        if cfg == default_config:
            default_ms, default_seen = ms, True
        if ms is None:
            continue
        if ms < best_ms:
            best_cfg, best_ms = cfg, ms
    if best_cfg is None:
        raise NoValidConfigError(f"no config ran for shape {shape} ({len(configs)} tried)")
    if not default_seen:
        default_ms = measure(default_config)
    if default_ms is None:
        raise NoValidConfigError(f"the default config {default_config} does not run for shape {shape}")
    cache.store(shape, best_cfg, best_ms, default_ms)
    return TuneResult(dict(best_cfg), best_ms, default_ms, default_ms / best_ms, cached=False, benchmarked=calls)
