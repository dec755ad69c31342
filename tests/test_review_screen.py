"""Pilot tests: the review and stats screens driven by key presses."""
from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.widgets import Button, Markdown, Static

from tui.core import srs
from tui.core.content import load_catalog
from tui.screens.review import ReviewScreen
from tui.screens.stats import StatsScreen

FIXTURE = Path(__file__).parent / "fixtures" / "decks"


class Harness(App):
    def __init__(self, db, screen):
        super().__init__()
        self.catalog = load_catalog(FIXTURE)
        self.db = db
        self._first = screen

    def on_mount(self) -> None:
        self.push_screen(self._first)


def front(screen) -> str:
    return screen.query_one("#review-front", Markdown).source


def logged(db) -> list[tuple[str, int]]:
    return [tuple(r) for r in db.execute("select card_id, rating from srs_reviews order by id")]


async def test_reveal_grade_undo_and_summary(db):
    screen = ReviewScreen([])
    app = Harness(db, screen)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert front(screen) == "What is one?"
        assert not screen.revealed
        assert not screen.query_one("#review-grades").display
        await pilot.press("3")  # grading before the answer is shown does nothing
        assert logged(db) == []
        await pilot.press("space")
        assert screen.revealed and screen.query_one("#review-grades").display
        assert str(screen.query_one("#grade-3", Button).label) == "3 Good · 10m"
        assert str(screen.query_one("#grade-1", Button).label) == "1 Again · 1m"
        await pilot.press("3")
        assert logged(db) == [("alpha-1", 3)]
        assert "What does this print?" in front(screen) and not screen.revealed
        await pilot.press("space", "1")
        assert logged(db) == [("alpha-1", 3), ("alpha-2", 1)]
        await pilot.press("u")
        assert logged(db) == [("alpha-1", 3)]
        assert srs.load_card(db, "alpha-2") is None
        assert "What does this print?" in front(screen)
        await pilot.press("space", "4", "space", "4")
        assert logged(db) == [("alpha-1", 3), ("alpha-2", 4), ("alpha-3", 4)]
        # alpha-1 comes back from its 10-minute step inside the 20-minute learn-ahead
        assert front(screen) == "What is one?"
        await pilot.press("space")
        await pilot.click("#grade-3")  # the buttons grade too
        await pilot.pause()
        assert logged(db)[-1] == ("alpha-1", 3)
        assert screen.finished
        summary = str(screen.query_one("#review-summary", Static).render())
        assert "Session: 4 cards" in summary and "again 0%" in summary
        activity = db.execute("select ref from activity where kind = 'review' order by id").fetchall()
        assert [r[0] for r in activity][-1] == "alpha-1"


async def test_code_renders_on_both_sides_and_deck_selection(db):
    screen = ReviewScreen(["alpha"])
    app = Harness(db, screen)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("space", "3")  # alpha-1
        md = screen.query_one("#review-front", Markdown)
        assert "```python" in md.source
        assert any("print(2)" in str(getattr(block, "code", "")) for block in md.query("MarkdownFence"))
        await pilot.press("escape")
        assert not isinstance(app.screen, ReviewScreen)


async def test_empty_queue_shows_summary(db):
    srs.set_new_per_day(db, 0)
    screen = ReviewScreen(["alpha"])
    async with Harness(db, screen).run_test() as pilot:
        await pilot.pause()
        assert screen.finished
        text = str(screen.query_one("#review-summary", Static).render())
        assert "Session: 0 cards" in text and "Nothing due" in text
        await pilot.press("u")
        assert screen.finished


async def test_stats_screen_shows_charts(db):
    srs.grade(db, "alpha-1", 4)
    screen = StatsScreen()
    async with Harness(db, screen).run_test() as pilot:
        await pilot.pause()
        body = str(screen.query_one("#stats-body", Static).render())
        assert "Cards: new 6, learning 0, young 1, mature 0" in body
        assert "Due, next 14 days" in body and "Retention by component" in body
        assert "█" in body
