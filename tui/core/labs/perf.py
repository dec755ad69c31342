"""A GPU lab's performance goal (`perf:` in lab.yaml) against what a run measured.

Correctness is the pass line; the goal is a separate achievement. It is "met" when the run
passed and the measured figure reaches the target (figures in *_ms are times: lower is
better, every other figure higher is better).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PerfVerdict:
    metric: str
    target: float
    measured: float | None  # None: this run measured nothing (no GPU, or the run failed)
    size: str

    @property
    def met(self) -> bool:
        if self.measured is None:
            return False
        return self.measured <= self.target if self.metric.endswith("_ms") else self.measured >= self.target

    def text(self) -> str:
        sign = "≤" if self.metric.endswith("_ms") else "≥"
        goal = f"goal {self.metric} {sign} {self.target:g}" + (f" at {self.size}" if self.size else "")
        if self.measured is None:
            return f"{goal}: not measured in this run"
        return f"{goal}: measured {self.measured:.4g}, {'met' if self.met else 'not yet'}"


def verdict(item, result) -> PerfVerdict | None:
    """The goal of `item` judged on `result` (a RunResult); None when the lab sets no goal."""
    perf = getattr(item, "perf", None) or {}
    metric, target = perf.get("metric"), perf.get("target")
    if not metric or not isinstance(target, (int, float)):
        return None
    measured = None
    if result.ok:
        values = [f[metric] for f in result.perf if isinstance(f.get(metric), (int, float))]
        if values:
            measured = min(values) if metric.endswith("_ms") else max(values)
    return PerfVerdict(metric, float(target), measured, str(perf.get("size", "")))
