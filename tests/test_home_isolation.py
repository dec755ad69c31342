"""A test run never writes into the VLEARN_HOME the person running it exported
(module-scoped fixtures, warm workers and subprocesses included)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_an_exported_vlearn_home_is_left_alone(tmp_path):
    outer = tmp_path / "learners-home"
    outer.mkdir()
    env = {**os.environ, "VLEARN_HOME": str(outer), "VLEARN_REMOTE_RUNNER": "false"}
    # A module-scoped warm runner starts before any function-scoped fixture runs.
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_lab_runner.py::test_solution_passes_with_structured_results"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sorted(p.name for p in outer.iterdir()) == []
