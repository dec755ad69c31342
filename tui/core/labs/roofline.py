"""Roofline figures for one timed kernel: where it sits against the ceilings."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Roofline:
    ms: float
    bytes: float
    flops: float
    gbps: float
    tflops: float
    intensity: float  # FLOPs per byte
    bound: str  # "memory" or "compute": which ceiling is lower at this intensity
    pct_of_copy: float | None  # achieved GB/s over the measured copy bandwidth
    pct_of_peak: float | None  # against the spec ceiling that bounds it

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def analyse(ms: float, nbytes: float, flops: float, copy_gbps: float | None = None,
            peak_gbps: float | None = None, peak_tflops: float | None = None) -> Roofline:
    sec = ms / 1e3
    gbps = nbytes / sec / 1e9 if sec > 0 else 0.0
    tflops = flops / sec / 1e12 if sec > 0 else 0.0
    intensity = flops / nbytes if nbytes else float("inf")
    bound = "memory"
    if peak_gbps and peak_tflops:
        ridge = peak_tflops * 1e12 / (peak_gbps * 1e9)  # FLOP/byte where the roofs meet
        bound = "compute" if intensity > ridge else "memory"
    elif flops and not nbytes:
        bound = "compute"
    pct_copy = 100.0 * gbps / copy_gbps if copy_gbps else None
    if bound == "memory":
        pct_peak = 100.0 * gbps / peak_gbps if peak_gbps else None
    else:
        pct_peak = 100.0 * tflops / peak_tflops if peak_tflops else None
    return Roofline(ms, nbytes, flops, gbps, tflops, intensity, bound, pct_copy, pct_peak)


def floor_ms(nbytes: float, flops: float, gbps: float, tflops: float) -> float:
    """The least time any version can take: the larger of the two roof times."""
    return max(nbytes / (gbps * 1e9), flops / (tflops * 1e12) if tflops else 0.0) * 1e3
