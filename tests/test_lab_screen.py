"""LabScreen and LabListScreen driven through Pilot with real runs and a real watcher."""
from __future__ import annotations

import asyncio

import pytest
from test_lab_support import fixture_catalog, save_by_rename
from textual.app import App
from textual.widgets import DataTable, Static

from tui.core.labs.runner import LabRunner, lab_state
from tui.core.labs.workspace import editable_files
from tui.screens.lab import LabListScreen, LabScreen


class LabApp(App):
    def __init__(self, catalog, db, runner, screen):
        super().__init__()
        self.catalog, self.db, self.lab_runner, self.first = catalog, db, runner, screen

    def on_mount(self) -> None:
        self.push_screen(self.first)


@pytest.fixture(scope="module")
def runner():
    lab_runner = LabRunner()
    yield lab_runner
    lab_runner.close()


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def _next_result(screen: LabScreen) -> None:
    await asyncio.wait_for(screen.result_shown.wait(), 60)
    screen.result_shown.clear()


async def test_save_reruns_and_updates_without_a_keypress(db, runner):
    catalog = fixture_catalog()
    screen = LabScreen("fx-add")
    app = LabApp(catalog, db, runner, screen)
    async with app.run_test(size=(160, 50)) as pilot:
        path = editable_files(catalog.labs["fx-add"])[0]
        assert str(path) in _text(screen, "#lab-files")
        await pilot.press("h")
        assert "hint 1: Read the test." in _text(screen, "#lab-hints")
        await pilot.press("r")
        await screen.run_now_worker.wait()
        screen.result_shown.clear()
        table = screen.query_one("#lab-results", DataTable)
        assert table.row_count == 3
        assert "FAILED" in _text(screen, "#lab-status")
        await pilot.press("d")  # no diff before a pass
        assert not any(type(s).__name__ == "DiffScreen" for s in app.screen_stack)
        assert await asyncio.to_thread(screen.watch_ready.wait, 30)
        save_by_rename(path, "def add(a, b):\n    return a + b\n")
        await _next_result(screen)
        assert "PASSED" in _text(screen, "#lab-status")
        assert lab_state(db, "fx-add").state == "passed"
        await pilot.press("d")
        assert type(app.screen).__name__ == "DiffScreen"


async def test_a_hang_is_killed_and_the_app_keeps_responding(db, runner):
    catalog = fixture_catalog()
    screen = LabScreen("fx-hang")
    app = LabApp(catalog, db, runner, screen)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("r")
        await pilot.press("h")  # handled while the tests are still looping
        assert "hint 1" in _text(screen, "#lab-hints")
        assert screen.running
        await screen.run_now_worker.wait()
        assert "TIMEOUT" in _text(screen, "#lab-status")
        assert "stopped after 1.5 s" in "\n".join(str(line) for line in screen.query_one("#lab-log").lines)


async def test_reset_asks_first_and_lab_list_shows_progress(db, runner):
    catalog = fixture_catalog()
    app = LabApp(catalog, db, runner, LabListScreen())
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.screen.query_one("#labs-table", DataTable)
        assert table.row_count == len(catalog.labs) + len(catalog.projects)
        assert "python 0/6" in _text(app.screen, "#labs-progress")
        app.push_screen(LabScreen("fx-add"))
        await pilot.pause()
        assert await asyncio.to_thread(app.screen.watch_ready.wait, 30)
        path = editable_files(catalog.labs["fx-add"])[0]
        path.write_text("mine\n")
        await _next_result(app.screen)  # the watcher runs "mine" (an error) before we go on
        await pilot.press("x")
        await pilot.press("n")  # "no": nothing changes
        assert path.read_text() == "mine\n"
        await pilot.press("x")
        await pilot.press("y")
        assert path.read_text() == (catalog.labs["fx-add"].starter / "add.py").read_text()
        # Reset re-runs the tests, so no stale results stay on screen.
        for _ in range(3):  # the watcher may also see the restored file: any run of it will do
            await _next_result(app.screen)
            if app.screen.last_result.status == "failed":
                break
        assert app.screen.last_result.status == "failed"  # the starter's own failure


async def test_result_rows_show_test_ids_and_messages_as_text(db, runner):
    """A parametrised id like [fp32-1] must not be swallowed as markup."""
    from tui.core.labs.runner import RunResult, TestResult

    catalog = fixture_catalog()
    app = LabApp(catalog, db, runner, LabScreen("fx-add"))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.screen
        target = editable_files(catalog.labs["fx-add"])[0].parent
        result = RunResult("fx-add", "lab", "workspace", target, status="failed", tests=[
            TestResult("t::test_dtype[fp32-1]", "test_dtype[fp32-1]", "failed", f"{target}/add.py:3: [bold] is not markup"),
        ])
        screen.show_result(result)
        await pilot.pause()
        shown = app.export_screenshot().replace("&#160;", " ")  # what is on screen, not what was stored
        assert "test_dtype[fp32-1]" in shown
        assert "add.py:3: [bold] is not markup" in shown
