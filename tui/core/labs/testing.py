"""The pytest plugin every lab's tests run under.

The same tests run against the learner's workspace, `solution/` and
`starter/`: the runner says which through VLEARN_LAB_DIR, and the tests get
it from the `lab_dir` fixture. `load_lab_module` imports a file from there
afresh each time, so no test ever sees another directory's code.
GPU labs report timings through `record_perf`; the runner collects them.
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import os
import sys
from pathlib import Path

import pytest

LAB_DIR_ENV = "VLEARN_LAB_DIR"
PERF_FILE_ENV = "VLEARN_PERF_FILE"
_counter = itertools.count()


def lab_directory() -> Path:
    value = os.environ.get(LAB_DIR_ENV)
    if not value:
        raise RuntimeError(f"{LAB_DIR_ENV} is not set: run lab tests through `vlearn check` or `vlearn verify`")
    return Path(value).resolve()


@pytest.fixture
def lab_dir() -> Path:
    """The directory under test: the workspace copy, solution/ or starter/."""
    return lab_directory()


def load_lab_module(lab_dir: Path, filename: str):
    """Import `filename` from `lab_dir` as a fresh module (never cached)."""
    path = Path(lab_dir) / filename
    if not path.is_file():
        pytest.fail(f"{path} does not exist: the lab expects you to edit this file", pytrace=False)
    name = f"vlearn_lab_{path.stem}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))  # let the file import its neighbours
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def record_perf(**figures) -> None:
    """Hand timing figures (name=value) to the runner, e.g. record_perf(kernel_ms=0.12,
    gbps=2600.0, pct_of_copy=88.1, vs_torch=1.9). Ignored outside a runner."""
    target = os.environ.get(PERF_FILE_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(figures) + "\n")
