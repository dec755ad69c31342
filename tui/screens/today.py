"""Today: the current day of the plan, its checklist, pace and streak."""
from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Label, ListItem, ListView, Static

from ..core import plan
from ..core.store import progress
from ..core.text import plural
from ..widgets.footer import KeyFooter

KIND_LABEL = {"lesson": "read ", "lab": "lab  ", "cards": "cards", "drill": "drill", "deliverable": "write"}


class ChecklistItem(ListItem):
    def __init__(self, entry: plan.ChecklistEntry) -> None:
        super().__init__(classes="done" if entry.done else "")
        self.entry = entry
        self.note = ""  # e.g. "3 due, 20 new", filled in after the first paint

    def text(self) -> str:
        e = self.entry
        box = "[x]" if e.done else "[ ]"
        minutes = f"  {e.minutes} min" if e.minutes else ""
        missing = "  (not written yet)" if not e.available else ""
        note = f"  ({self.note})" if self.note else ""
        return f"{box} {KIND_LABEL.get(e.kind, '     ')}  {e.title}{note}{minutes}{missing}"

    def compose(self) -> ComposeResult:
        yield Label(self.text(), markup=False)

    def show_note(self, note: str) -> None:
        self.note = note
        for label in self.query(Label):  # none yet if the item is still being mounted
            label.update(self.text())


class TodayScreen(Screen):
    AUTO_FOCUS = "#checklist"
    BINDINGS = [
        Binding("space", "toggle", "Tick"),
        Binding("enter", "open", "Open"),
        Binding("left,left_square_bracket", "day(-1)", "Prev day"),
        Binding("right,right_square_bracket", "day(1)", "Next day"),
        Binding("v", "day_page", "Day page"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.day_number: int | None = None  # None: follow the learner's current day
        self.shown_day: int | None = None  # the day on screen

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="today"):
            yield Static(id="day-title")
            yield Static(id="standing")
            yield Static(id="objectives")
            yield ListView(id="checklist")
        yield KeyFooter()

    def on_screen_resume(self) -> None:
        # Also sent when Today is first shown, so this draws the first frame too.
        catalog, db = self.app.catalog, self.app.db
        ticked = plan.settle(catalog, db)
        if ticked:
            titles = {(n, e.key): e.title for n in {n for n, _ in ticked} for e in plan.checklist(catalog, db, n)}
            self.notify("\n".join(f"Day {n}: {titles[n, key]}" for n, key in ticked), title="Done, so ticked")
        if plan.settle_cards(catalog, db, self.shown_day):
            self.notify("Today's cards are done: ticked.")
        self.refresh_day()

    def show_day(self, number: int | None) -> None:
        catalog = self.app.catalog
        if number is not None and number not in catalog.days:
            return
        self.day_number = number
        self.refresh_day()

    def refresh_day(self) -> None:
        catalog, db = self.app.catalog, self.app.db
        checklist = self.query_one("#checklist", ListView)
        if not catalog.days:
            self.query_one("#day-title", Static).update("No plan loaded: curriculum/plan.yaml is missing or broken (press ! for details).")
            return
        standing = plan.standing(catalog, db)
        number = self.day_number if self.day_number is not None else standing.current_day
        if number not in catalog.days:
            number = min(catalog.days)
        day = catalog.days[number]
        week = catalog.weeks.get(day.week, "")
        marker = "" if number == standing.current_day else "   (browsing — t returns to today)"
        self.query_one("#day-title", Static).update(
            f"[b]Day {number}[/b] · Week {day.week}{': ' + escape(week) if week else ''}\n[b $accent]{escape(day.title)}[/]{marker}"
        )
        streak = f"streak {plural(standing.streak, 'day')}"
        day_zero = catalog.days.get(0)
        hint = ""
        if number == 1 and day_zero and not plan.day_progress(catalog, db)[0].complete:
            hint = " · Day 0 (prerequisites and setup) is one ← away"
        self.query_one("#standing", Static).update(
            f"Calendar day {standing.calendar_day} of {plan.LAST_DAY} · {standing.pace_text()} · {streak}"
            f" · {day.hours:g} h planned{hint}"
        )
        objectives = "\n".join(f"  • {escape(o)}" for o in day.objectives)
        self.query_one("#objectives", Static).update(f"[b]Objectives[/b]\n{objectives}")
        index = checklist.index
        checklist.clear()
        checklist.extend(ChecklistItem(entry) for entry in plan.checklist(catalog, db, number))
        if checklist.children:
            checklist.index = min(index or 0, len(checklist.children) - 1)
        self.shown_day = number
        self.call_after_refresh(self.show_card_counts)

    def show_card_counts(self) -> None:
        """Cards due and new, filled in just after the first paint."""
        for item in self.query(ChecklistItem):
            if item.entry.kind == "cards" and item.entry.available:
                item.show_note(plan.cards_note(self.app.catalog, self.app.db, self.shown_day))

    def _selected(self) -> plan.ChecklistEntry | None:
        checklist = self.query_one("#checklist", ListView)
        item = checklist.highlighted_child
        return item.entry if isinstance(item, ChecklistItem) else None

    def action_toggle(self) -> None:
        entry = self._selected()
        if entry is None:
            return
        if entry.kind == "deliverable":
            from ..core import deliverables

            item = deliverables.tick(self.app.catalog, self.app.db, self.shown_day, not entry.done)
            if item.ticked and not item.note_written:
                self.notify("Ticked, but it counts as done once its note has your text: Enter opens the note.",
                            title="Deliverable")
        else:
            progress.set_done(self.app.db, self.shown_day, entry.key, not entry.done)
        self.refresh_day()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        self.action_open()

    def action_open(self) -> None:
        entry = self._selected()
        if entry is None:
            return
        if not entry.available:
            self.notify(f"'{entry.ident}' is not written yet", severity="warning")
            return
        if entry.kind == "cards":
            self.app.open_item("cards", entry.ident.split(","))
        elif entry.kind == "deliverable":
            from .notes import open_note

            open_note(self, "day", self.shown_day)
            self.refresh_day()
        else:
            self.app.open_item(entry.kind, entry.ident)

    def action_day(self, step: int) -> None:
        days = sorted(self.app.catalog.days)
        if not days:
            return
        position = days.index(self.shown_day) + step
        self.show_day(days[max(0, min(len(days) - 1, position))])

    def action_day_page(self) -> None:
        if self.shown_day in self.app.catalog.day_pages:
            self.app.open_item("daypage", self.shown_day)
        else:
            self.notify(f"Day {self.shown_day} has no day page yet", severity="warning")
