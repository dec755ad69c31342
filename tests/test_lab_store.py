"""Lab runs in SQLite and the lab state derived from them; workspace reset and diff."""
from __future__ import annotations

from pathlib import Path

from test_lab_support import fixture_catalog, save_by_rename

from tui.core.labs.runner import (
    LabRunner,
    RunResult,
    TestResult,
    lab_state,
    record_run,
    track_progress,
)
from tui.core.labs.workspace import (
    diff_against_solution,
    ensure_workspace,
    reset_workspace,
    workspace_path,
)


def _result(status: str, dir_kind: str = "workspace", started: str = "2026-01-01T10:00:00+00:00") -> RunResult:
    outcome = "passed" if status == "passed" else "failed"
    return RunResult("fx-add", "lab", dir_kind, Path("."), status=status, started_at=started,
                     tests=[TestResult("t::a", "a", outcome), TestResult("t::b", "b", "skipped")], duration=0.5)


def test_state_follows_the_learners_runs(db):
    assert lab_state(db, "fx-add").state == "not started"
    record_run(db, _result("passed", dir_kind="solution"))  # verify runs are not the learner's progress
    assert lab_state(db, "fx-add").state == "not started"
    record_run(db, _result("failed"))
    state = lab_state(db, "fx-add")
    assert (state.state, state.runs, state.last_status, state.first_pass_at) == ("in progress", 1, "failed", None)
    record_run(db, _result("passed", started="2026-01-02T09:00:00+00:00"))
    record_run(db, _result("failed", started="2026-01-03T09:00:00+00:00"))
    state = lab_state(db, "fx-add")
    assert (state.state, state.first_pass_at, state.last_status) == ("passed", "2026-01-02T09:00:00+00:00", "failed")
    row = db.execute("select passed, failed, skipped, status, dir_kind from lab_runs order by id desc limit 1").fetchone()
    assert row == (0, 1, 1, "failed", "workspace")
    assert db.execute("select kind, ref from activity").fetchall() == [("lab", "fx-add")]


def test_runner_records_every_run_with_its_dir_kind(db):
    catalog = fixture_catalog()
    runner = LabRunner(db=db, warm=False)
    runner.run(catalog.labs["fx-add"], "starter")
    runner.run(catalog.projects["fx-project"], "starter")
    rows = db.execute("select lab_id, status, dir_kind, stage, failed from lab_runs order by id").fetchall()
    assert rows == [("fx-add", "failed", "starter", None, 2), ("fx-project", "failed", "starter", "add", 1)]
    progress = track_progress(db, catalog)
    assert progress["python"] == (0, 10) and progress["projects"] == (0, 1)


def test_reset_keeps_a_backup_and_diff_shows_the_solution(vlearn_home):
    lab = fixture_catalog().labs["fx-add"]
    folder = ensure_workspace(lab)
    assert folder == workspace_path(lab) == vlearn_home / "workspace" / "fx-add"
    save_by_rename(folder / "add.py", "def add(a, b):\n    return b + a\n")
    diff = diff_against_solution(lab)
    assert "-    return b + a" in diff and "+    return a + b" in diff and "yours/add.py" in diff
    backup = reset_workspace(lab)
    assert (backup / "add.py").read_text() == "def add(a, b):\n    return b + a\n"
    assert backup.parent == vlearn_home / "backups" / "fx-add"
    assert (folder / "add.py").read_text() == (lab.starter / "add.py").read_text()
    (folder / "add.py").write_text("mine\n")
    ensure_workspace(lab)  # opening again never overwrites the learner's file
    assert (folder / "add.py").read_text() == "mine\n"


def test_hints_and_the_last_workspace_run_survive_a_restart(vlearn_home):
    from tui.core.labs.runner import hints_shown, last_result, set_hints_shown
    from tui.core.store import open_store

    db = open_store(vlearn_home / "progress.db")
    assert hints_shown(db, "fx-add") == 0 and last_result(db, "fx-add") is None
    set_hints_shown(db, "fx-add", 2)
    run = _result("failed")
    run.tests[0].message, run.notes, run.stages = "AssertionError: assert -1 == 5", ["a note"], [("add", "failed")]
    record_run(db, run)
    record_run(db, _result("passed", dir_kind="solution"))  # verify runs are not what the learner left
    db.close()
    db = open_store(vlearn_home / "progress.db")  # a restart
    assert hints_shown(db, "fx-add") == 2
    back = last_result(db, "fx-add")
    assert back == run and back.target == Path(".") and back.stages == [("add", "failed")]
    db.close()
