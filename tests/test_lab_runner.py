"""The runner against real fixture labs in real subprocesses: pass, fail, hang,
crash, output flood, orphaned child, projects, and the warm worker's fallback."""
from __future__ import annotations

import re

import pytest
from test_lab_support import alive, fixture_catalog, save_by_rename

from tui.core.labs.runner import LabRunner
from tui.core.labs.workspace import ensure_workspace


@pytest.fixture(scope="module")
def catalog():
    return fixture_catalog()


@pytest.fixture(scope="module")
def runner():
    lab_runner = LabRunner()  # warm: one worker for the whole module
    yield lab_runner
    lab_runner.close()


def test_solution_passes_with_structured_results(catalog, runner):
    result = runner.run(catalog.labs["fx-add"], "solution")
    assert result.status == "passed" and result.warm
    assert (result.passed, result.failed, result.skipped) == (2, 0, 1)
    by_name = {t.name: t for t in result.tests}
    assert by_name["test_add_small"].stdout == "checking add(2, 3)\n"
    assert by_name["test_needs_gpu"].outcome == "skipped"
    assert by_name["test_needs_gpu"].message == "needs a GPU: fixture skip"
    assert result.perf == [{"calls": 1, "note": "fixture", "_test": "tests/test_add.py::test_add_negative"}]
    assert result.dir_kind == "solution"


def test_starter_fails_with_the_assertion_message(catalog, runner):
    result = runner.run(catalog.labs["fx-add"], "starter")
    assert result.status == "failed" and result.failed == 2
    small = next(t for t in result.tests if t.name == "test_add_small")
    assert small.outcome == "failed"
    assert small.message.startswith("AssertionError: add(2, 3) should be 5")
    assert "assert -1 == 5" in small.longrepr


def test_workspace_copy_is_what_runs(catalog, runner):
    lab = catalog.labs["fx-add"]
    folder = ensure_workspace(lab)
    assert runner.run(lab).status == "failed"  # a fresh workspace is the starter
    save_by_rename(folder / "add.py", "def add(a, b):\n    return a + b\n")
    result = runner.run(lab)
    assert result.status == "passed" and result.dir_kind == "workspace" and result.target == folder


def test_hang_is_killed_at_its_limit(catalog, runner):
    result = runner.run(catalog.labs["fx-hang"], "solution")
    assert result.status == "timeout"
    assert "stopped after 1.5 s while test_misbehaves was running" in result.notes[0]
    outcomes = {t.name: t.outcome for t in result.tests}
    assert outcomes == {"test_fine": "passed", "test_misbehaves": "error"}


def test_segfault_is_reported_in_words(catalog, runner):
    result = runner.run(catalog.labs["fx-crash"], "solution")
    assert result.status == "crashed"
    assert "SIGSEGV (segmentation fault)" in result.notes[0]
    assert "test_misbehaves" in result.notes[0]


def test_output_flood_is_capped(catalog, runner):
    result = runner.run(catalog.labs["fx-flood"], "solution")
    assert result.status == "error"
    assert "more than 1 MB of output" in result.notes[0]
    assert "bytes of output cut" in result.output
    assert len(result.output) < 100_000


def test_orphaned_grandchild_is_killed_with_the_group(catalog, runner):
    result = runner.run(catalog.labs["fx-orphan"], "solution")
    assert result.status == "passed"
    printed = next(t.stdout for t in result.tests if t.name == "test_misbehaves")
    pid = int(re.search(r"ORPHAN_PID=(\d+)", printed).group(1))
    assert not alive(pid)
    assert any(f"pid {pid}" in note and "killed" in note for note in result.notes)


def test_project_stops_at_the_first_failing_stage(catalog, runner):
    project = catalog.projects["fx-project"]
    folder = ensure_workspace(project)
    result = runner.run(project)
    assert (result.status, result.stage, result.stages) == ("failed", "add", [("add", "failed")])
    assert [t.stage for t in result.tests] == ["add"]
    assert "stage 1 'Addition'" in result.notes[0]
    save_by_rename(folder / "calc.py", "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a + b\n")
    result = runner.run(project)
    assert (result.status, result.stage, result.stages) == ("failed", "mul", [("add", "passed"), ("mul", "failed")])
    assert runner.run(project, "solution").stages == [("add", "passed"), ("mul", "passed")]


def test_cold_runner_gives_the_same_results(catalog):
    cold = LabRunner(warm=False)
    result = cold.run(catalog.labs["fx-add"], "starter")
    assert not result.warm and result.status == "failed"
    assert "add(2, 3) should be 5" in next(t.message for t in result.tests if t.name == "test_add_small")
    crashed = cold.run(catalog.labs["fx-crash"], "solution")
    assert crashed.status == "crashed" and "SIGSEGV" in crashed.notes[0]


def test_dead_worker_falls_back_to_cold_and_restarts(catalog):
    lab_runner = LabRunner()
    try:
        assert lab_runner.run(catalog.labs["fx-add"], "solution").warm
        lab_runner.worker.proc.kill()
        lab_runner.worker.proc.wait()
        result = lab_runner.run(catalog.labs["fx-add"], "solution")
        assert result.status == "passed" and not result.warm and lab_runner.fallbacks == 1
        assert lab_runner.run(catalog.labs["fx-add"], "solution").warm  # a fresh worker
    finally:
        lab_runner.close()


def test_results_stream_before_the_run_ends_and_properties_run_last(catalog, runner, vlearn_home):
    """fx-stream's second test waits for a file that only our callback creates:
    the run can finish only if the first result reached us while it went on."""
    lab = catalog.labs["fx-stream"]
    ensure_workspace(lab)
    seen = []

    def on_test(test):
        seen.append(test)
        (vlearn_home / "release-fx-stream").touch()

    result = runner.run(lab, quick=True, on_test=on_test)
    assert [t.name for t in seen] == [t.name for t in result.tests]
    # Example-based tests first, in file order; the property test (first in the file) last.
    assert [t.name for t in result.tests] == ["test_quick_failure", "test_waits_for_release", "test_property_inc"]
    assert seen[0].outcome == "failed" and seen[0].headline() == "inc(10) should be 11"
    assert result.status == "failed" and result.quick


def test_quick_runs_do_not_shrink_and_full_runs_do(catalog, runner, vlearn_home):
    lab = catalog.labs["fx-stream"]
    ensure_workspace(lab)
    (vlearn_home / "release-fx-stream").touch()

    def prop(quick: bool):
        return next(t for t in runner.run(lab, quick=quick).tests if t.name == "test_property_inc")

    quick, full = prop(True), prop(False)
    assert quick.outcome == full.outcome == "failed"
    assert quick.example.startswith(("Failing test case:", "Falsifying example:"))
    assert "test_property_inc(" in quick.example and "x=" in quick.example
    assert full.example.endswith(")") and "x=10," in full.example  # shrunk to the smallest wrong input
    # Each call prints once: shrinking is many more calls than reporting the first failure found.
    assert quick.stdout.count("call") < full.stdout.count("call")


def test_headline_is_the_assertion_not_its_type():
    from tui.core.labs.runner import TestResult

    plain = TestResult("t", "t", "failed", "AssertionError: assert 65536 == 131072\n +  where 65536 = f()")
    assert plain.headline() == "assert 65536 == 131072"
    bare = TestResult("t", "t", "failed", "AssertionError:\nassert 1 == 2")
    assert bare.headline() == "assert 1 == 2"
    located = TestResult("t", "t", "failed", "/w/fx/add.py:3: SyntaxError: invalid syntax")
    assert located.headline("/w/fx") == "add.py:3: SyntaxError: invalid syntax"
