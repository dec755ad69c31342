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


async def until(pilot, condition, limit: int = 3000) -> None:
    """Let the app work until `condition()` holds (a busy machine is slow; no fixed sleep)."""
    for _ in range(limit):
        if condition():
            return
        await pilot.pause(0.01)


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
        await pilot.press("ctrl+r")
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
        await pilot.press("ctrl+r")
        await pilot.press("h")  # handled while the tests are still looping
        assert "hint 1" in _text(screen, "#lab-hints")
        assert screen.running
        await screen.run_now_worker.wait()
        assert "TIMEOUT" in _text(screen, "#lab-status")
        assert "stopped after 1.5 s" in _text(screen, "#lab-detail-body")


async def test_reset_asks_first_and_lab_list_shows_progress(db, runner):
    catalog = fixture_catalog()
    app = LabApp(catalog, db, runner, LabListScreen())
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.screen.query_one("#labs-table", DataTable)
        assert table.row_count == len(catalog.labs) + len(catalog.projects)
        assert "python 0/10" in _text(app.screen, "#labs-progress")
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


# ------------------------------------------------------------------ reading the results

SIZES = [(80, 24), (140, 45)]


def screen_text(app) -> str:
    """What is on screen, line by line, from the SVG export (so clipping shows)."""
    import html
    import re

    svg = app.export_screenshot()
    lines: dict[int, list[tuple[float, str]]] = {}
    for x, line, body in re.findall(r'<text [^>]*x="([\d.]+)"[^>]*clip-path="url\(#[^)]*-line-(\d+)\)"[^>]*>(.*?)</text>', svg):
        lines.setdefault(int(line), []).append((float(x), html.unescape(body).replace("\xa0", " ")))
    return "\n".join("".join(text for _, text in sorted(parts)) for _, parts in sorted(lines.items()))


def words_in_order(words: list[str], text: str) -> bool:
    """Every word appears, in this order (lines may wrap anywhere between them)."""
    at = 0
    for word in words:
        at = text.find(word, at)
        if at < 0:
            return False
        at += len(word)
    return True


def _failing_result(target):
    from tui.core.labs.runner import RunResult, TestResult

    long = " ".join(f"word{i:02d}" for i in range(40))
    return RunResult("fx-add", "lab", "workspace", target, status="failed", notes=[
        "compiled; correctness needs a GPU, so the kernel is not verified yet: " + long], tests=[
        TestResult("t::test_ok", "test_ok", "passed"),
        TestResult("t::test_first", "test_first", "failed", "AssertionError: assert 65536 == 131072\n +  where 65536 = f()",
                   "t.py:3: in test_first\n    assert f() == 131072\nE   AssertionError: assert 65536 == 131072",
                   stdout="printed by test_first\n"),
        TestResult("t::test_second", "test_second", "failed", "assert 2 == 3\nFailing test case: test_second(\n    x=7,\n)"),
    ])


@pytest.mark.parametrize("size", SIZES)
async def test_rows_show_the_first_failure_in_full_and_every_row_is_selectable(db, runner, size):
    catalog = fixture_catalog()
    app = LabApp(catalog, db, runner, LabScreen("fx-add"))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.show_result(_failing_result(editable_files(catalog.labs["fx-add"])[0].parent))
        words = ["kernel", "is", "not", "verified", "yet:"] + [f"word{i:02d}" for i in range(40)]

        def unclipped_prefix(text: str) -> int:
            """How many of `words` are on screen whole and in order before the first one that is not
            (a word cut at the right edge ends it; words below the pane's fold end it too)."""
            return max((n for n in range(len(words) + 1) if words_in_order(words[:n], text)), default=0)

        for _ in range(200):  # layout settles over a few refreshes on a busy machine
            await pilot.pause()
            shown = screen_text(app)
            if unclipped_prefix(shown) >= 20:
                break
        # The table: outcome, name and the assertion itself (not just "AssertionError:").
        assert "✘" in shown and "test_first" in shown and "assert 65536 == 131072" in shown
        detail = _text(screen, "#lab-detail-body")
        # The first failure is selected, with its message, where it failed and what it printed.
        assert "test_first" in detail and "+  where 65536 = f()" in detail and "printed by test_first" in detail
        assert "t.py:3: in test_first" in detail
        # Nothing clipped: every word of a long note is on screen, in order.
        # Nothing clipped at the right edge: the note's words run on screen whole and in order until
        # the pane's fold (how many fit below depends on the workspace path shown above it), and
        # the pane holds all of them.
        assert unclipped_prefix(shown) >= 20, shown
        assert words_in_order(words, _text(screen, "#lab-detail-body"))
        screen.query_one("#lab-results").focus()
        await pilot.press("down")
        await pilot.pause()
        detail = _text(screen, "#lab-detail-body")
        assert "test_second" in detail and "x=7" in detail and "Hypothesis' example" in detail
        await pilot.press("up", "up")
        await pilot.pause()
        assert "test_ok" in _text(screen, "#lab-detail-body") and "passed" in _text(screen, "#lab-detail-body")


@pytest.mark.parametrize("size", SIZES)
async def test_the_header_breaks_between_phrases_only(db, runner, size):
    from test_lab_support import fixture_catalog as cat

    app = LabApp(cat(), db, runner, LabScreen("fx-gpu"))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        head = _text(app.screen, "#lab-head")
        assert all(len(line) <= size[0] for line in head.splitlines())
        phrases = {"fx-gpu", "python lab", "day 3", "~5 min", "GPU required", "not started"}
        for phrase in phrases:
            assert any(phrase in line for line in head.splitlines()), phrase


async def test_a_failure_shows_while_the_rest_still_run(db, runner, vlearn_home):
    """fx-stream's second test waits for a file we create only after the first
    failure is on screen: the run cannot end before that."""
    catalog = fixture_catalog()
    app = LabApp(catalog, db, runner, LabScreen("fx-stream"))
    async with app.run_test(size=(140, 45)) as pilot:
        screen = app.screen
        await pilot.press("ctrl+r")
        table = screen.query_one("#lab-results", DataTable)
        await until(pilot, lambda: table.row_count)
        assert table.row_count == 1 and screen.running
        assert "inc(10) should be 11" in _text(screen, "#lab-detail-body")
        assert "running the tests" in _text(screen, "#lab-status")
        (vlearn_home / "release-fx-stream").touch()
        await screen.run_now_worker.wait()
        await pilot.pause()
        assert table.row_count == 3 and "FAILED" in _text(screen, "#lab-status")
        assert "inc(10) should be 11" in _text(screen, "#lab-detail-body")  # still the first failure


async def test_hints_and_results_come_back_after_a_restart(db, runner):
    catalog = fixture_catalog()
    app = LabApp(catalog, db, runner, LabScreen("fx-add"))
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("h")
        await pilot.pause()
        app.screen.show_result(_failing_result(editable_files(catalog.labs["fx-add"])[0].parent))
    app = LabApp(catalog, db, runner, LabScreen("fx-add"))  # a new app on the same progress.db
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        assert "hint 1: Read the test." in _text(screen, "#lab-hints") and "1 hint left" in _text(screen, "#lab-hints")
        assert "last run" in _text(screen, "#lab-status") and "FAILED" in _text(screen, "#lab-status")
        assert screen.query_one("#lab-results", DataTable).row_count == 3
        assert "test_first" in _text(screen, "#lab-detail-body")


async def test_r_is_review_here_too_and_ctrl_r_reruns(db, runner):
    from tui.app import VlearnApp
    from tui.screens.review import ReviewScreen

    app = VlearnApp(catalog=fixture_catalog(), db=db)
    app.lab_runner = runner
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        app.open_item("lab", "fx-add")
        await until(pilot, lambda: isinstance(app.screen, LabScreen) and app.screen.query("#lab-status"))
        await pilot.pause()
        lab = app.screen
        footer = screen_text(app).splitlines()[-1]
        assert "^r Re-run" in footer and " r Review" in footer
        await pilot.press("ctrl+r")
        await lab.run_now_worker.wait()
        assert "FAILED" in _text(lab, "#lab-status")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert isinstance(app.screen, ReviewScreen)


async def test_the_diff_says_how_to_close_it(db, runner):
    from tui.screens.lab import DiffScreen

    app = LabApp(fixture_catalog(), db, runner, DiffScreen("fx-add: yours -> solution/", "-a\n+b\n"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "esc Close" in screen_text(app).splitlines()[-1]
        await pilot.press("escape")
        assert not isinstance(app.screen, DiffScreen)


async def test_a_gpu_lab_without_a_gpu_offers_what_gives_a_signal(db, runner, catalog):
    from tui.core.labs.gpu import has_gpu

    if has_gpu():
        pytest.skip("checks the no-GPU path")
    app = LabApp(catalog, db, runner, LabScreen("cuda-softmax"))
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        words = _text(app.screen, "#lab-suggest")
        assert "correctness needs a GPU" in words and "o: triton-softmax" in words
        assert "vlearn remote-runner" in words and "VLEARN_REMOTE_RUNNER" in words
        await pilot.press("o")
        await pilot.pause()
        assert app.screen.lab_id == "triton-softmax"


@pytest.mark.parametrize("width", [80, 140])
async def test_lab_list_fits_the_window_and_marks_a_cut_title(db, runner, width):
    catalog = fixture_catalog()
    app = LabApp(catalog, db, runner, LabListScreen())
    async with app.run_test(size=(width, 30)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#labs-table", DataTable)
        total = sum(c.get_render_width(table) for c in table.columns.values())
        assert total <= width  # every column is on screen, the last ("min") included
        title = table.columns["title"].width
        for lab_id in table.rows:
            cell = table.get_cell(lab_id, "title")
            full = (catalog.labs.get(lab_id.value) or catalog.projects[lab_id.value]).title
            assert cell.plain == full if len(full) <= title else cell.plain.endswith("…") and len(cell.plain) == title
