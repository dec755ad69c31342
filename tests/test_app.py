"""Pilot tests that drive the real screens over the fixture content and a real progress.db."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tui.app import VlearnApp
from tui.core.content import load_catalog
from tui.core.store import open_store, progress

FIXTURE = Path(__file__).parent / "fixtures" / "content"
REPO = Path(__file__).resolve().parents[1]


def make_app(home: Path) -> VlearnApp:
    return VlearnApp(catalog=load_catalog(FIXTURE), db=open_store(home / "progress.db"))


async def test_today_opens_on_day_one_with_its_checklist(vlearn_home):
    app = make_app(vlearn_home)
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.pause()
        from tui.screens.today import ChecklistItem, TodayScreen

        assert isinstance(app.screen, TodayScreen)
        title = str(app.screen.query_one("#day-title").render())
        assert "Day 1" in title and "Blocks and pages" in title
        items = [i.entry for i in app.screen.query(ChecklistItem)]
        assert [e.key for e in items] == [
            "lesson:t-intro", "lesson:t-paging", "lab:t-lab-missing", "cards:t-deck", "drill:t-question",
        ]
        assert [e.available for e in items] == [True, True, False, False, True]
        assert "on schedule" in str(app.screen.query_one("#standing").render())


async def test_today_to_lesson_and_back(vlearn_home):
    app = make_app(vlearn_home)
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        from tui.screens.lesson import LessonScreen

        assert isinstance(app.screen, LessonScreen)
        assert app.screen.lesson.id == "t-intro"
        assert progress.lessons_read(app.db) == {"t-intro"}
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "TodayScreen"


async def test_lesson_links_open_lessons_and_web_links_are_not_files(vlearn_home):
    app = make_app(vlearn_home)
    async with app.run_test(size=(110, 36)) as pilot:
        app.open_item("lesson", "t-intro")
        await pilot.pause()
        lesson_screen = app.screen
        lesson_screen.follow("https://github.com/vllm-project/vllm")
        await pilot.pause()
        assert app.screen is lesson_screen  # nothing opened as a file or screen
        lesson_screen.follow("02_paging.md")  # a relative file link to another lesson
        await pilot.pause()
        assert app.screen.lesson.id == "t-paging"
        app.screen.follow("lesson:t-intro")
        await pilot.pause()
        assert app.screen.lesson.id == "t-intro"
        app.screen.follow("lesson:nope")
        await pilot.pause()
        assert app.screen.lesson.id == "t-intro"


async def test_scroll_position_is_kept(vlearn_home):
    app = make_app(vlearn_home)
    async with app.run_test(size=(60, 12)) as pilot:
        app.open_item("lesson", "t-intro")
        await pilot.pause()
        await pilot.press("j", "j", "j")
        await pilot.pause()
        scroller = app.screen.query_one("#doc-scroll")
        kept = scroller.scroll_y
        assert kept > 0
        await pilot.press("escape")
        await pilot.pause()
        app.open_item("lesson", "t-intro")
        await pilot.pause()
        await pilot.pause()
        assert app.screen.query_one("#doc-scroll").scroll_y == kept


async def test_tick_survives_a_relaunch(vlearn_home):
    app = make_app(vlearn_home)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
    app.db.close()
    app = make_app(vlearn_home)
    async with app.run_test() as pilot:
        await pilot.pause()
        from tui.screens.today import ChecklistItem

        entries = [i.entry for i in app.screen.query(ChecklistItem)]
        assert entries[0].done and not entries[1].done


async def test_days_are_browsable_and_plan_opens_a_day(vlearn_home):
    app = make_app(vlearn_home)
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.pause()
        await pilot.press("right")
        assert app.screen.shown_day == 2
        await pilot.press("left", "left")
        assert app.screen.shown_day == 0
        await pilot.press("p")
        await pilot.pause()
        assert type(app.screen).__name__ == "PlanScreen"
        await pilot.press("down", "enter")  # cursor starts on the current day (1)
        await pilot.pause()
        assert type(app.screen).__name__ == "TodayScreen" and app.screen.shown_day == 2


async def test_help_lists_bindings_of_every_screen(vlearn_home):
    app = make_app(vlearn_home)
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        from textual.widgets import DataTable

        table = app.screen.query_one(DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        wheres = {r[0] for r in rows}
        assert {"Everywhere", "Today", "Lesson", "Plan"} <= wheres
        assert any(r[1] == "ctrl+p" for r in rows)


async def test_content_errors_are_a_notice_not_a_crash(vlearn_home, tmp_path):
    import shutil

    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    lesson = root / "curriculum/modules/m01_basics/02_paging.md"
    lesson.write_text(lesson.read_text().replace("minutes: 20", "minutes: [20"))
    app = VlearnApp(catalog=load_catalog(root), db=open_store(vlearn_home / "progress.db"))
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "TodayScreen"
        assert any("02_paging.md" in n.message for n in app._notifications)
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "ProblemsScreen"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "TodayScreen"


async def test_a_newer_database_shows_a_message_and_is_not_touched(vlearn_home):
    import sqlite3

    path = vlearn_home / "progress.db"
    open_store(path).close()
    con = sqlite3.connect(path)
    con.execute("insert into _sqlite_migrations(migration_set, name, applied_at) values ('vlearn.core', 'm999', 'x')")
    con.commit()
    con.close()
    before = path.read_bytes()
    app = VlearnApp(catalog=load_catalog(FIXTURE))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "FatalScreen"
        assert "newer vlearn" in str(app.screen.query_one("#fatal").render())
    assert path.read_bytes() == before


async def test_command_palette_jumps_to_a_lesson(vlearn_home):
    app = make_app(vlearn_home)
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Paging")
        from textual.command import CommandList

        # The palette searches in a worker: wait (by event-loop turns, not time) for its hits.
        for _ in range(200):
            if app.screen.query_one(CommandList).option_count:
                break
            await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "LessonScreen" and app.screen.lesson.id == "t-paging"


TICKER = """
import asyncio, sys, time
from pathlib import Path
from tui.app import VlearnApp
from tui.core.content import load_catalog
from tui.core.store import open_store

async def main():
    home = Path(sys.argv[1])
    app = VlearnApp(catalog=load_catalog(Path(sys.argv[2])), db=open_store(home / "progress.db"))
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
        print("ticked", flush=True)
        await asyncio.Event().wait()   # hang here until killed

asyncio.run(main())
"""


def test_sigkill_right_after_a_tick_keeps_it(vlearn_home):
    proc = subprocess.Popen(
        [sys.executable, "-c", TICKER, str(vlearn_home), str(FIXTURE)],
        stdout=subprocess.PIPE, text=True, cwd=REPO, env=os.environ.copy(),
    )
    try:
        assert proc.stdout.readline().strip() == "ticked"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    db = open_store(vlearn_home / "progress.db")
    assert progress.done_items(db, 1) == {"lesson:t-intro"}


STARTUP_IMPORTS = """
import sys
from tui.app import VlearnApp
class Probe(VlearnApp):
    def on_mount(self):  # VlearnApp.on_mount runs too: Textual calls every class's handler
        def report():
            heavy = sorted(n for n in ("torch", "cupy", "triton", "numpy", "pandas") if n in sys.modules)
            print(type(self.screen).__name__, heavy, flush=True)
            self.exit()
        self.call_after_refresh(report)
Probe().run(headless=True)
"""


def test_start_up_path_imports_no_torch(vlearn_home):
    out = subprocess.run([sys.executable, "-c", STARTUP_IMPORTS], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.stdout.strip() == "TodayScreen []", out.stderr[-2000:]


def test_first_paint_split_happens_at_a_heading_outside_code():
    from tui.screens.lesson import FIRST_PAINT_LINES, split_for_first_paint

    filler = "text\n" * FIRST_PAINT_LINES
    body = filler + "```\n# a comment in code\n```\n## Next section\nmore\n"
    first, rest = split_for_first_paint(body)
    assert first + rest == body
    assert rest.startswith("## Next section") and "# a comment in code" in first
    assert split_for_first_paint("# Title\nshort\n") == ("# Title\nshort\n", "")


async def test_ticking_and_browsing_days_with_cards_in_the_plan(vlearn_home):
    """The cards item fills in its counts after a paint; rebuilding the list must not trip on it."""
    decks = Path(__file__).parent / "fixtures" / "decks"
    app = VlearnApp(catalog=load_catalog(decks), db=open_store(vlearn_home / "progress.db"))
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.pause()
        from tui.screens.today import ChecklistItem

        await pilot.press("down", "space", "right", "left", "left", "right")
        await pilot.pause()
        await pilot.pause()
        assert type(app.screen).__name__ == "TodayScreen" and app.screen.shown_day == 1
        cards = next(i for i in app.screen.query(ChecklistItem) if i.entry.kind == "cards")
        assert cards.entry.done and cards.note == "0 due, 3 new"


async def test_links_can_be_followed_from_the_keyboard(vlearn_home):
    app = make_app(vlearn_home)
    async with app.run_test(size=(110, 36)) as pilot:
        app.open_item("lesson", "t-intro")
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
        assert type(app.screen).__name__ == "LinkPicker"
        assert [target for _, target in app.screen.links] == [
            "lesson:t-paging", "02_paging.md", "https://github.com/vllm-project/vllm"]
        await pilot.press("enter")  # the first link: the paging lesson
        await pilot.pause()
        assert type(app.screen).__name__ == "LessonScreen" and app.screen.lesson.id == "t-paging"
        await pilot.press("f", "escape")
        await pilot.pause()
        assert app.screen.lesson.id == "t-paging"
