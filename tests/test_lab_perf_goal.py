"""A GPU lab's perf goal: judged on each run, stored as its own achievement, shown with the
results, and counted as "can optimize" evidence by the gap analysis."""
from __future__ import annotations

import types
from pathlib import Path

from test_gaps import _write, make_content

from tui.core import gaps
from tui.core.content import load_catalog
from tui.core.labs.perf import verdict
from tui.core.labs.runner import RunResult, record_run
from tui.core.store import open_store

LAB = types.SimpleNamespace(perf={"metric": "pct_of_copy", "target": 85, "size": "32768x4096 fp16"})


def run(status="passed", **figures) -> RunResult:
    return RunResult("lab-pa-pass", "lab", "workspace", Path("."), status=status,
                     perf=[figures] if figures else [])


def test_goal_is_met_not_yet_or_not_measured():
    assert verdict(LAB, run(pct_of_copy=91.2)).met
    assert verdict(LAB, run(pct_of_copy=91.2)).text() == \
        "goal pct_of_copy ≥ 85 at 32768x4096 fp16: measured 91.2, met"
    assert verdict(LAB, run(pct_of_copy=60.0)).text().endswith("measured 60, not yet")
    assert verdict(LAB, run("failed", pct_of_copy=99.0)).measured is None  # a failing kernel earns nothing
    assert verdict(LAB, run("compiled")).text().endswith("not measured in this run")
    times = types.SimpleNamespace(perf={"metric": "kernel_ms", "target": 0.2})
    assert verdict(times, run(kernel_ms=0.15)).met and not verdict(times, run(kernel_ms=0.25)).met
    assert verdict(types.SimpleNamespace(perf={}), run(pct_of_copy=90)) is None


def _content_with_a_goal(root: Path) -> Path:
    make_content(root)
    lab = root / "labs" / "python" / "lab-pa-pass" / "lab.yaml"
    _write(lab, lab.read_text() + "perf: {metric: pct_of_copy, target: 85}\n")
    return root


def test_goal_is_stored_and_becomes_optimize_evidence(tmp_path, vlearn_home):
    catalog = load_catalog(_content_with_a_goal(tmp_path / "content"))
    assert not catalog.errors, [str(p) for p in catalog.errors]
    db = open_store(vlearn_home / "progress.db")
    try:
        lab = catalog.labs["lab-pa-pass"]
        slow = run(pct_of_copy=70.0)
        slow.perf_goal, slow.perf_met = verdict(lab, slow).text(), False
        record_run(db, slow)
        pa = {r["id"]: r for r in gaps.analyse(catalog, db)["components"]}["paged_attention"]
        opt = pa["evidence"]["optimize"]
        assert (opt["goals_total"], opt["goals_met"], opt["observations"], opt["score"]) == (1, 0, 1, 0.0)
        fast = run(pct_of_copy=90.0)
        fast.perf_met = True
        record_run(db, fast)
        opt = {r["id"]: r for r in gaps.analyse(catalog, db)["components"]}["paged_attention"]["evidence"]["optimize"]
        assert (opt["goals_met"], opt["score"]) == (1, 1.0)
        assert db.execute("select perf_met from lab_runs order by id").fetchall() == [(0,), (1,)]
    finally:
        db.close()
