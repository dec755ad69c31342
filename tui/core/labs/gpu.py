"""Which NVIDIA GPU this machine has, asked without initialising CUDA here.

The parent process (the TUI, the warm test worker) forks children that do the
GPU work; a CUDA context in the parent would break them. So we ask nvidia-smi
in a subprocess, never CuPy or torch.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    memory_mib: int
    driver: str
    compute_capability: str


def parse_smi(text: str) -> list[GpuInfo]:
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 5 or not parts[0].isdigit():
            continue
        mem = parts[2].split()[0]
        gpus.append(GpuInfo(int(parts[0]), parts[1], int(mem) if mem.isdigit() else 0, parts[3], parts[4]))
    return gpus


@lru_cache(maxsize=1)
def detect() -> tuple[GpuInfo, ...]:
    """All GPUs nvidia-smi reports; empty when there is none or no driver."""
    if not shutil.which("nvidia-smi"):
        return ()
    try:
        proc = subprocess.run(
            ["nvidia-smi", "--query-gpu=index,name,memory.total,driver_version,compute_cap",
             "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=15,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return tuple(parse_smi(proc.stdout)) if proc.returncode == 0 else ()


def has_gpu() -> bool:
    return bool(detect())


def why_no_gpu() -> str:
    """A one-line reason for skipping GPU work, for test output and the UI."""
    if not shutil.which("nvidia-smi"):
        return "no NVIDIA driver on this machine (nvidia-smi not found): compile check only"
    return "nvidia-smi reports no GPU: compile check only"


def name_contains(name: str, pattern: str) -> bool:
    """Whether `pattern` occurs in `name` as whole words, case-insensitively:
    "L4" is in "NVIDIA L4" but not in "NVIDIA L40S", "B200" not in "NVIDIA GB200"."""
    rx = r"(?<![a-z0-9])" + re.escape(pattern.lower()) + r"(?![a-z0-9])"
    return re.search(rx, name.lower()) is not None


def match_spec(name: str, specs: dict):
    """The data/gpus.yaml entry with a `match` string in the device name (whole
    words; the longest matching string wins)."""
    best = None
    for spec in specs.values():
        for pattern in getattr(spec, "match", ()):
            if name_contains(name, pattern) and (best is None or len(pattern) > best[0]):
                best = (len(pattern), spec)
    return best[1] if best else None


def require_gpu() -> None:
    """In a test: skip, saying why, unless a GPU and CuPy can both be used here."""
    import pytest

    if not has_gpu():
        pytest.skip(why_no_gpu())
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("CuPy sees no CUDA device: compile check only")
    except Exception as exc:  # CuPy missing or its CUDA libraries broken
        pytest.skip(f"CuPy cannot reach the GPU ({type(exc).__name__}: {exc}): compile check only")


def cpu_twin(catalog, item):
    """For a CUDA lab, its Triton twin (cuda-softmax -> triton-softmax), which
    runs under Triton's CPU interpreter: a correctness signal without a GPU."""
    if getattr(item, "track", None) != "cuda":
        return None
    return catalog.labs.get("triton-" + item.id.removeprefix("cuda-"))
