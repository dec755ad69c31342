"""Snapshots of the lab screen at 80x24 (panes stacked) and 140x45 (side by
side), over the fixture labs, with a failing result on screen (update:
pytest tests/test_lab_snapshots.py --snapshot-update). Kept apart from
tests/test_snapshots.py so the lab screen's owner and the other screens'
owners never edit one file at once."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_lab_support import fixture_catalog

from tui.app import VlearnApp
from tui.core.labs.runner import LabRunner, RunResult, TestResult
from tui.core.store import open_store

# The workspace path is on screen: a fixed VLEARN_HOME keeps the snapshot stable.
HOME = Path("/tmp/vlearn-snapshot-home")


class LabSnapshotApp(VlearnApp):
    def __init__(self, lab_id: str):
        super().__init__(catalog=fixture_catalog(), db=open_store(HOME / "progress.db"))
        self.lab_runner = LabRunner(warm=False)  # no warm worker to start for a picture
        self.lab_id = lab_id

    def on_mount(self) -> None:
        self.call_after_refresh(lambda: self.open_item("lab", self.lab_id))


def _result() -> RunResult:
    target = HOME / "workspace" / "fx-add"
    return RunResult("fx-add", "lab", "workspace", target, status="failed", duration=0.42, tests=[
        TestResult("t::test_add_small", "test_add_small", "failed",
                   "AssertionError: add(2, 3) should be 5\nassert -1 == 5\n +  where -1 = add(2, 3)",
                   f"{target}/../tests/test_add.py:9: in test_add_small\n    assert mod.add(2, 3) == 5\n"
                   "E   AssertionError: add(2, 3) should be 5", stdout="checking add(2, 3)\n", duration=0.004),
        TestResult("t::test_add_negative", "test_add_negative", "failed", "assert -4 == 0", duration=0.003),
        TestResult("t::test_needs_gpu", "test_needs_gpu", "skipped", "needs a GPU: fixture skip", duration=0.001),
    ])


@pytest.fixture
def fixed_home(monkeypatch):
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    monkeypatch.setenv("VLEARN_HOME", str(HOME))
    yield HOME
    shutil.rmtree(HOME, ignore_errors=True)


@pytest.mark.parametrize("size", [(80, 24), (140, 45)])
def test_lab_snapshot(snap_compare, fixed_home, size):
    async def show_a_failure(pilot):
        for _ in range(500):  # until the lab screen is open and composed
            if type(pilot.app.screen).__name__ == "LabScreen" and pilot.app.screen.query("#lab-status"):
                break
            await pilot.pause(0.01)
        await pilot.pause()
        pilot.app.clear_notifications()  # the fixture content has no plan: not this picture's subject
        pilot.app.screen.show_result(_result())
        await pilot.pause()

    assert snap_compare(LabSnapshotApp("fx-add"), terminal_size=size, run_before=show_a_failure)
