"""The two checks every CUDA lab runs, shared by their test files.

`assert_compiles` works on any machine (NVRTC needs no GPU); the other needs
a GPU and is marked `gpu` in the lab's tests, so it skips with a reason elsewhere.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from .testing import record_perf


def assert_compiles(path: Path) -> None:
    from .cuda_compile import compile_file

    result = compile_file(path)
    if not result.ok:  # the compiler's own words, at the learner's file and line
        pytest.fail(result.report(), pytrace=False)


def assert_matches_and_time(lab_dir: Path, unit: str, filename: str) -> None:
    """Fresh random inputs at awkward sizes, poisoned outputs, the PyTorch
    reference at dtype-fit tolerances; then CUDA-event timing, handed to the runner."""
    from ..bench import run_lab
    from .gpu import require_gpu

    require_gpu()
    problem, figures = run_lab(lab_dir, unit, filename)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    record_perf(**figures)
