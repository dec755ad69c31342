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
        assert [target for _, target in app.screen.links] == [  # the lesson's vLLM reference heads the page
            "source:vllm/v1/core/sched/scheduler.py::Scheduler", "lesson:t-paging", "02_paging.md",
            "https://github.com/vllm-project/vllm"]
        await pilot.press("down", "enter")  # the second link: the paging lesson
        await pilot.pause()
        assert type(app.screen).__name__ == "LessonScreen" and app.screen.lesson.id == "t-paging"
        await pilot.press("f", "escape")
        await pilot.pause()
        assert app.screen.lesson.id == "t-paging"


def _lab_run(db, lab_id: str, status: str) -> None:
    db["lab_runs"].insert({"lab_id": lab_id, "started_at": progress.stamp(), "duration_s": 1.0, "passed": 0,
                           "failed": 0, "errors": 0, "skipped": 0, "status": status, "dir_kind": "workspace"})


async def test_the_checklist_ticks_what_you_did(vlearn_home):
    """A passed lab, a graded drill and a lesson read to its end tick their items
    (like the cards item); a GPU lab only compiled does not; an untick stays."""
    from tui.core import drills
    from tui.screens.today import ChecklistItem

    app = make_app(vlearn_home)
    async with app.run_test(size=(60, 12)) as pilot:  # small: neither lesson fits on one screen
        await pilot.pause()
        db = app.db

        def ticks() -> dict:
            return {i.entry.key: i.entry.done for i in app.screen.query(ChecklistItem)}

        _lab_run(db, "t-lab-missing", "compiled")
        drill = drills.Drill(db, app.catalog.questions["t-question"]).start()
        drill.finish("2*32*8*128*2")
        drill.grade([0, 2])
        app.open_item("lesson", "t-paging")
        await pilot.pause()
        await pilot.press("escape")  # opened, not read to the end
        app.open_item("lesson", "t-intro")
        await pilot.pause()
        await pilot.press("G")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert ticks() == {"lesson:t-intro": True, "lesson:t-paging": False, "lab:t-lab-missing": False,
                           "cards:t-deck": False, "drill:t-question": True}
        assert progress.done_items(db, 0) == {"lesson:t-intro"}  # day 0 lists it too
        _lab_run(db, "t-lab-missing", "passed")
        await pilot.press("p", "escape")  # back on Today
        await pilot.pause()
        assert ticks()["lab:t-lab-missing"]
        await pilot.press("down", "down", "space")  # untick the lab by hand
        await pilot.press("p", "escape")
        await pilot.pause()
        assert not ticks()["lab:t-lab-missing"]


async def test_plan_opens_a_day_from_a_lesson_and_counts_the_days_it_lists(vlearn_home):
    app = make_app(vlearn_home)
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.pause()
        app.open_item("lesson", "t-intro")
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        # The lesson fits the window, so it is read; it is all of day 0, which counts like the rows do.
        assert str(app.screen.query_one("#plan-summary").render()).startswith("1 of 3 days complete")
        await pilot.press("down", "enter")  # from day 1 to day 2
        await pilot.pause()
        assert type(app.screen).__name__ == "TodayScreen" and app.screen.shown_day == 2


async def test_lesson_scrolls_as_one_page_under_held_keys(vlearn_home):
    """A held key sends presses faster than frames: every press counts, and
    the scroll keys mean the page even while the contents pane has focus."""
    app = make_app(vlearn_home)
    async with app.run_test(size=(60, 12)) as pilot:
        app.open_item("lesson", "t-intro")
        await pilot.pause()
        screen = app.screen
        scroller = screen.query_one("#doc-scroll")
        for _ in range(3):  # three presses before the next frame
            screen.action_scroll(1)
        assert scroller.scroll_y == 3
        screen.query_one("#toc").focus()
        await pilot.press("G")
        assert scroller.scroll_y == scroller.max_scroll_y > 3
        await pilot.press("g")
        assert scroller.scroll_y == 0
        await pilot.press("pagedown", "j")
        assert scroller.scroll_y == min(scroller.max_scroll_y, scroller.scrollable_content_region.height + 1)
        assert type(app.screen).__name__ == "LessonScreen"  # g is the top here, on no screen Progress


async def test_palette_names_drills_by_title_and_walkthroughs_once(vlearn_home, tmp_path):
    import shutil

    from tui.commands import ContentCommands
    from tui.core import plan

    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    lesson = root / "curriculum/modules/m01_basics/02_paging.md"
    lesson.write_text(lesson.read_text().replace("title: Paging", "title: 'Walkthrough: Paging'"))
    app = VlearnApp(catalog=load_catalog(root), db=open_store(vlearn_home / "progress.db"))
    async with app.run_test(size=(110, 36)) as pilot:
        await pilot.pause()
        titles = [title for title, _, _ in ContentCommands(app.screen)._entries()]
        assert "Walkthrough: Paging" in titles and "Drill: Size a KV cache" in titles
        assert not any(t.startswith("Walkthrough: Walkthrough") or t == "Drill: t-question" for t in titles)
        checklist = {e.key: e.title for e in plan.checklist(app.catalog, app.db, 1)}
        assert checklist["lesson:t-paging"] == "Walkthrough: Paging"
