"""`vlearn watch ID` from a pipe: a rename-save of the workspace file re-runs the lab."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAB = "py-kv-cache-sizing"


def test_watch_reruns_on_a_rename_save(vlearn_home):
    env = os.environ | {"VLEARN_HOME": str(vlearn_home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "watch", LAB], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, env=env)
    watchdog = threading.Timer(120, proc.kill)  # a hang fails the test instead of blocking the suite
    watchdog.start()
    seen = []

    def read_until(marker: str) -> None:
        for line in proc.stdout:
            seen.append(line)
            if marker in line:
                return
        raise AssertionError(f"watch ended before {marker!r}:\n{''.join(seen)}")

    try:
        read_until("(waiting for a save)")
        workspace = vlearn_home / "workspace" / LAB
        solution = (REPO / "labs/python" / LAB / "solution/kv_sizing.py").read_text()
        tmp = workspace / ".kv_sizing.py.swp"  # what an editor writes first, then renames
        tmp.write_text(solution)
        os.replace(tmp, workspace / "kv_sizing.py")
        read_until("PASSED:")
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
    verdict = next(line for line in seen if line.startswith("PASSED:"))
    assert re.match(r"PASSED: \d+ passed in", verdict) and "failed" not in verdict
