"""One snapshot per screen, over the fixture content (update: pytest --snapshot-update)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tui.app import VlearnApp
from tui.core.content import load_catalog
from tui.core.store import open_store

FIXTURE = Path(__file__).parent / "fixtures" / "content"
SIZE = (100, 32)


def app(home: Path) -> VlearnApp:
    return VlearnApp(catalog=load_catalog(FIXTURE), db=open_store(home / "progress.db"))


def test_today_snapshot(snap_compare, vlearn_home):
    assert snap_compare(app(vlearn_home), terminal_size=SIZE, press=["space"])


def test_plan_snapshot(snap_compare, vlearn_home):
    assert snap_compare(app(vlearn_home), terminal_size=SIZE, press=["p"])


async def contents_filled(pilot) -> None:
    """The contents pane fills in from a message after the lesson is parsed: wait for it."""
    from textual.widgets import Tree

    for _ in range(50):
        trees = pilot.app.screen.query(Tree)
        if trees and trees.first().root.children:
            break
        await pilot.pause()


def test_lesson_snapshot(snap_compare, vlearn_home):
    async def open_lesson(pilot) -> None:
        await pilot.press("enter")
        await contents_filled(pilot)

    assert snap_compare(app(vlearn_home), terminal_size=SIZE, run_before=open_lesson)


@pytest.mark.parametrize("size", [(80, 24), (140, 45)])
def test_lesson_end_snapshot(snap_compare, vlearn_home, size):
    """One scroll for the page; G is its end, and reaching the end ticks the lesson."""
    async def open_and_end(pilot) -> None:
        await pilot.press("enter")
        await contents_filled(pilot)
        await pilot.press("G")

    assert snap_compare(app(vlearn_home), terminal_size=size, run_before=open_and_end)


def test_help_snapshot(snap_compare, vlearn_home):
    assert snap_compare(app(vlearn_home), terminal_size=SIZE, press=["question_mark"])


class OneScreen(VlearnApp):
    """The app with one more screen pushed over Today, for screens that take arguments."""

    def __init__(self, home: Path, content: Path, make_screen):
        super().__init__(catalog=load_catalog(content), db=open_store(home / "progress.db"))
        self.make_screen = make_screen

    def on_mount(self) -> None:
        # VlearnApp.on_mount (which pushes Today) runs too: Textual calls every
        # class's handler. Push ours after it.
        self.call_after_refresh(lambda: self.push_screen(self.make_screen()))


class FrozenClock:
    def __call__(self) -> float:
        return 100.0


def test_drill_snapshot(snap_compare, vlearn_home):
    from tui.screens.drill import DrillScreen

    app = OneScreen(vlearn_home, FIXTURE, lambda: DrillScreen("t-question", clock=FrozenClock()))
    assert snap_compare(app, terminal_size=SIZE, press=["enter", "ctrl+g"])


@pytest.mark.parametrize("size", [(80, 24), (140, 45)])
def test_drill_ready_snapshot(snap_compare, vlearn_home, size):
    """Opening a drill shows the question and its time; nothing runs yet."""
    from tui.screens.drill import DrillScreen

    app = OneScreen(vlearn_home, FIXTURE, lambda: DrillScreen("t-question", clock=FrozenClock()))
    assert snap_compare(app, terminal_size=size)


def test_review_snapshot(snap_compare, vlearn_home):
    import random

    from tui.screens.review import ReviewScreen

    random.seed(7)  # fsrs fuzzes longer intervals with the global random module

    decks = Path(__file__).parent / "fixtures" / "decks"
    app = OneScreen(vlearn_home, decks, lambda: ReviewScreen(["alpha"]))
    assert snap_compare(app, terminal_size=SIZE, press=["space"])


def test_interview_picker_snapshot(snap_compare, vlearn_home):
    from tui.screens.interview import InterviewScreen

    app = OneScreen(vlearn_home, FIXTURE, lambda: InterviewScreen(None))
    assert snap_compare(app, terminal_size=SIZE)


def test_problems_snapshot(snap_compare, vlearn_home):
    assert snap_compare(app(vlearn_home), terminal_size=SIZE, press=["exclamation_mark"])
