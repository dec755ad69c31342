"""Flashcard review: front -> space reveals -> 1-4 grades; u undoes.

All scheduling lives in tui.core.srs; this screen shows the card, the
interval each grade would give, and commits each grade at once (a grade is
one small SQLite transaction, well under a frame, so no worker is needed).
"""
from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Header, Markdown, Rule, Static

from ..core import srs
from ..core.text import plural
from ..widgets.footer import KeyFooter

VARIANTS = {1: "error", 2: "warning", 3: "success", 4: "primary"}


class GradeButton(Button):
    can_focus = False  # space and 1-4 belong to the screen, never to a focused button


class ReviewScreen(Screen):
    DEFAULT_CSS = """
    ReviewScreen #review-counts { padding: 0 2; color: $text-muted; }
    ReviewScreen #review-card { height: 1fr; padding: 0 2; }
    ReviewScreen #review-back-rule, ReviewScreen #review-back { display: none; }
    ReviewScreen.revealed #review-back-rule, ReviewScreen.revealed #review-back { display: block; }
    ReviewScreen #review-grades { height: auto; padding: 0 2; display: none; }
    ReviewScreen.revealed #review-grades { display: block; }
    ReviewScreen #review-grades Button { width: 1fr; margin: 0 1; }
    ReviewScreen #review-hint { padding: 0 2; color: $text-muted; }
    ReviewScreen.revealed #review-hint { display: none; }
    ReviewScreen #review-summary { padding: 1 2; display: none; }
    ReviewScreen.finished #review-summary { display: block; }
    ReviewScreen.finished #review-card, ReviewScreen.finished #review-hint,
    ReviewScreen.finished #review-grades { display: none; }
    """

    BINDINGS = [
        Binding("space,enter", "reveal", "Show answer"),
        Binding("1", "grade(1)", "Again", show=False),
        Binding("2", "grade(2)", "Hard", show=False),
        Binding("3", "grade(3)", "Good", show=False),
        Binding("4", "grade(4)", "Easy", show=False),
        Binding("u", "undo", "Undo"),
        Binding("escape,b", "back", "Back"),
    ]

    def __init__(self, decks: list[str] | None = None) -> None:
        super().__init__()
        self.decks = list(decks or [])
        self.session: srs.Session | None = None
        self.shown_at = 0.0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="review-counts", markup=False)
        with VerticalScroll(id="review-card"):
            yield Markdown(id="review-front", open_links=False)
            yield Rule(id="review-back-rule")
            yield Markdown(id="review-back", open_links=False)
        yield Static("space: show answer · u: undo · escape: back", id="review-hint")
        with Horizontal(id="review-grades"):
            for rating, name in srs.RATING_NAMES.items():
                yield GradeButton(f"{rating} {name}", id=f"grade-{rating}", variant=VARIANTS[rating])
        yield Static(id="review-summary", markup=False)
        yield KeyFooter()

    async def on_mount(self) -> None:
        self.title = "Review" + (f": {', '.join(self.decks)}" if self.decks else "")
        self.session = srs.Session(self.app.db, self.app.catalog, self.decks)
        await self.show_next()

    # ------------------------------------------------------------ display

    @property
    def revealed(self) -> bool:
        return self.has_class("revealed")

    @property
    def finished(self) -> bool:
        return self.has_class("finished")

    def _counts(self) -> None:
        new, learn, due = self.session.counts()
        self.query_one("#review-counts", Static).update(
            f"{new} new · {learn} learning · {due} to review · {len(self.session.graded)} done")

    async def show_next(self) -> None:
        self.remove_class("revealed")
        card_id = self.session.next()
        card = self.session.card()
        if card_id is None or card is None:
            self._finish()
            return
        self.remove_class("finished")
        self.sub_title = f"{card.deck} · {card.id}"
        await self.query_one("#review-front", Markdown).update(card.front)
        await self.query_one("#review-back", Markdown).update(card.back)
        for rating, interval in self.session.options.items():
            self.query_one(f"#grade-{rating}", Button).label = (
                f"{rating} {srs.RATING_NAMES[rating]} · {srs.format_interval(interval)}")
        self.query_one("#review-card", VerticalScroll).scroll_home(animate=False)
        self._counts()
        self.shown_at = time.monotonic()

    def _finish(self) -> None:
        self.add_class("finished")
        self.sub_title = "session summary"
        summary = self.session.summary()
        lines = [f"Session: {summary.text()}"]
        later = self.session.next_due_in()
        if later is not None:
            lines.append(f"{plural(len(self.session.learning), 'card')} in learning come back in "
                         f"{srs.format_interval(later)}: open Review again then.")
        elif not summary.cards:
            lines.append("Nothing due now. New cards unlock as you reach the plan's days.")
        lines.append("u: take back the last grade · escape: back")
        self.query_one("#review-summary", Static).update("\n".join(lines))
        self._counts()

    # ------------------------------------------------------------ actions

    def action_reveal(self) -> None:
        if not self.finished and self.session.current is not None:
            self.add_class("revealed")

    async def action_grade(self, rating: int) -> None:
        if not self.revealed or self.session.current is None:
            return  # grading before seeing the answer would be a guess
        elapsed = int((time.monotonic() - self.shown_at) * 1000)
        self.session.answer(rating, duration_ms=elapsed)
        await self.show_next()

    async def action_undo(self) -> None:
        card_id = self.session.undo()
        if card_id is None:
            self.notify("Nothing to undo in this session")
            return
        self.notify(f"Took back the last grade of {card_id}")
        await self.show_next()  # the undone card is current again: its front is shown anew

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("grade-"):
            event.stop()
            await self.action_grade(int(event.button.id.split("-")[1]))

    def action_back(self) -> None:
        self.app.pop_screen()
