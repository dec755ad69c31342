"""Save -> structured result latency, through the path the TUI uses.

A workspace file is saved (editor-style: temp file + rename) again and again;
each time we time how long until the watcher (watchfiles) has run the lab in
the warm worker and handed the RunResult to its callback. Beside it: one cold
`pytest` of the same tests in a fresh Python that imports torch, which is what
a save would cost without the warm worker.

    .venv/bin/python bench/feedback_latency.py [--saves 25] [--lab ID]

Uses a temporary VLEARN_HOME. Last line: one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def save_by_rename(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".save-", suffix="___jb_tmp___")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def cold_pytest(item, runs: int = 3) -> float:
    """Wall time of a fresh `python` + torch import + pytest on the lab's solution."""
    from tui.core.labs.runner import pytest_args

    args = pytest_args(item.path / "tests", item.path)
    code = "import sys, torch, pytest; sys.exit(pytest.main(sys.argv[1:]))"
    env = {**os.environ, "VLEARN_LAB_DIR": str(item.solution), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=tempfile.gettempdir(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=25)
    parser.add_argument("--lab", default=None)
    opts = parser.parse_args()
    home = tempfile.mkdtemp(prefix="vlearn-bench-")
    os.environ["VLEARN_HOME"] = home

    from tui.core.content import load_catalog
    from tui.core.content.labs import find
    from tui.core.labs.runner import LabRunner
    from tui.core.labs.watcher import start_watch_thread
    from tui.core.labs.workspace import editable_files, ensure_workspace

    catalog = load_catalog(REPO)
    item = find(catalog, opts.lab or "py-kv-cache-sizing")
    if item is None:  # the real lab is not there: use the engine's own fixture lab
        catalog = load_catalog(REPO / "tests" / "fixtures")
        item = catalog.labs["fx-add"]
    ensure_workspace(item)
    target = editable_files(item)[0]
    solution = (item.solution / item.files[0]).read_text(encoding="utf-8")

    results: queue.Queue = queue.Queue()
    runner = LabRunner()
    thread, stop, ready = start_watch_thread(
        catalog, lambda result: results.put((time.perf_counter(), result)), only={item.id}, runner=runner)
    latencies, statuses = [], []
    try:
        ready.wait(60)
        runner.worker.wait_ready() if runner.worker else None
        # One save to warm caches (not counted).
        save_by_rename(target, solution)
        results.get(timeout=120)
        for number in range(opts.saves):
            text = solution + f"\n# save {number}\n"
            start = time.perf_counter()
            save_by_rename(target, text)
            done, result = results.get(timeout=120)
            latencies.append(done - start)
            statuses.append(result.status)
        extra = results.qsize()  # runs nobody asked for (should be 0)
    finally:
        stop.set()
        thread.join(timeout=10)
        runner.close()
    cold = cold_pytest(item)

    median, p90 = statistics.median(latencies), percentile(latencies, 90)
    print(f"lab: {item.id}  saves: {len(latencies)}  results: {', '.join(sorted(set(statuses)))}  extra runs: {extra}")
    print(f"{'path':<44} {'median s':>9} {'p90 s':>8} {'min s':>8} {'max s':>8}")
    print(f"{'save -> result (watcher + warm worker)':<44} {median:9.3f} {p90:8.3f} {min(latencies):8.3f} {max(latencies):8.3f}")
    print(f"{'cold pytest with torch import (median of 3)':<44} {cold:9.3f}")
    print(f"budget: median <= 0.35 s: {'met' if median <= 0.35 else 'NOT met'}")
    print(json.dumps({"median_s": round(median, 4), "p90_s": round(p90, 4), "cold_pytest_s": round(cold, 4),
                      "saves": len(latencies), "lab": item.id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
