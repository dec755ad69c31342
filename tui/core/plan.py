"""Where the learner stands in the 28-day plan."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlite_utils import Database

from .content import Catalog
from .store import progress
from .text import lesson_title, plural

LAST_DAY = 28


@dataclass(frozen=True)
class DayProgress:
    day: int
    done: int
    total: int

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.done >= self.total


@dataclass(frozen=True)
class Standing:
    current_day: int  # the first day 1..28 with work left
    calendar_day: int  # where the calendar says the learner should be
    streak: int
    start: dt.date

    @property
    def ahead(self) -> int:
        """Positive: ahead of the calendar; negative: behind it."""
        return self.current_day - self.calendar_day

    def pace_text(self) -> str:
        if self.ahead == 0:
            return "on schedule"
        n = abs(self.ahead)
        return f"{plural(n, 'day')} {'ahead of' if self.ahead > 0 else 'behind'} the calendar"


def calendar_day(start: dt.date, on: dt.date) -> int:
    return max(1, min(LAST_DAY, (on - start).days + 1))


def day_progress(catalog: Catalog, db: Database) -> dict[int, DayProgress]:
    done = progress.done_items(db)
    result = {}
    for number, day in catalog.days.items():
        keys = [key for key, _ in day.checklist()]
        result[number] = DayProgress(number, sum((number, k) in done for k in keys), len(keys))
    return result


def days_complete(catalog: Catalog, db: Database) -> tuple[int, int]:
    """(complete, total) over every day of the plan, day 0 included: the
    numbers beside the plan's rows."""
    days = day_progress(catalog, db)
    return sum(p.complete for p in days.values()), len(days)


def standing(catalog: Catalog, db: Database, on: dt.date | None = None) -> Standing:
    on = on or progress.today()
    # Reading where the learner stands never sets day 1; opening the app does.
    start = progress.start_date(db, create=False) or on
    days = day_progress(catalog, db)
    current = next(
        (n for n in sorted(days) if 1 <= n <= LAST_DAY and not days[n].complete),
        LAST_DAY,
    )
    return Standing(current, calendar_day(start, on), progress.streak(db, on), start)


@dataclass(frozen=True)
class ChecklistEntry:
    key: str  # stored in the checklist table
    kind: str  # lesson | lab | cards | drill | deliverable (shown, not counted toward the day)
    ident: str  # what to open (for cards: comma-separated decks/tags)
    title: str
    minutes: int | None
    done: bool
    available: bool  # False while the item is not written yet


def checklist(catalog: Catalog, db: Database, number: int) -> list[ChecklistEntry]:
    day = catalog.days[number]
    done = progress.done_items(db, number)
    entries = []
    for key, kind in day.checklist():
        ident = key.split(":", 1)[1]
        title, minutes, available = ident, None, True
        if kind == "lesson":
            item = catalog.lessons.get(ident)
            available = item is not None
            if item:
                title = lesson_title(item)
                minutes = item.minutes
        elif kind == "lab":
            item = catalog.labs.get(ident) or catalog.projects.get(ident)
            available = item is not None
            if item:
                title, minutes = f"Lab: {item.title}", getattr(item, "minutes", None)
            else:
                title = f"Lab: {ident}"
        elif kind == "cards":
            names = [catalog.decks[d].title if d in catalog.decks else d for d in day.cards]
            available = bool(catalog.cards)
            title = "Review cards: " + ", ".join(names)
        elif kind == "drill":
            item = catalog.questions.get(ident)
            available = item is not None
            title = f"Drill: {item.title if item else ident}"
            minutes = getattr(item, "minutes", None)
        entries.append(ChecklistEntry(key, kind, ident, title, minutes, key in done, available))
    return entries + _deliverable(catalog, db, number)


def _deliverable(catalog: Catalog, db: Database, number: int) -> list[ChecklistEntry]:
    """The day page's deliverable, done when ticked with a note of the learner's own
    (tui.core.deliverables). It does not count toward the day: a day is its study."""
    from . import deliverables, notes

    if notes.deliverable_text(catalog, number) is None:
        return []
    item = deliverables.get(catalog, db, number)
    title = "Deliverable: " + deliverables.one_line(item.text, 70)
    return [ChecklistEntry(deliverables.ITEM, "deliverable", str(number), title, None, item.done, True)]


def cards_note(catalog: Catalog, db: Database, number: int) -> str:
    """'3 due, 20 new' for the day's decks ('' when the day has none)."""
    day = catalog.days.get(number)
    if day is None or not day.cards or not catalog.cards:
        return ""
    from . import srs  # fsrs is not needed to draw Today, only to fill this in

    queue = srs.build_queue(db, catalog, day.cards)
    return f"{len(queue.due)} due, {len(queue.new)} new"


def done_by_record(db: Database) -> set[str]:
    """Checklist keys the store shows done, whichever day lists them: a lab
    whose workspace run passed (a GPU lab only compiled is 'compiled', not a
    pass), a question with a graded drill, a lesson read to its end."""
    labs = {row[0] for row in db.execute(
        "select distinct lab_id from lab_runs where dir_kind = 'workspace' and status = 'passed'")}
    drills = {row[0] for row in db.execute("select distinct question_id from drills where status = 'graded'")}
    return ({f"lab:{i}" for i in labs} | {f"drill:{i}" for i in drills}
            | {f"lesson:{i}" for i in progress.lessons_finished(db)})


def settle(catalog: Catalog, db: Database) -> list[tuple[int, str]]:
    """Tick every lab, drill and lesson item that the store shows done (the
    same way the cards item ticks itself); (day, key) of each item ticked now.
    An item ticks once: untick it by hand and it stays unticked."""
    done = done_by_record(db)
    if not done:
        return []
    ticked = []
    for number, day in catalog.days.items():
        for key, _kind in day.checklist():
            if key in done and not progress.was_ticked(db, number, key):
                progress.set_done(db, number, key, True)
                ticked.append((number, key))
    return ticked


def settle_cards(catalog: Catalog, db: Database, number: int) -> bool:
    """Tick the day's cards item once its review is done: nothing left to study
    today in its decks, and at least one card reviewed today. True if ticked."""
    day = catalog.days.get(number)
    if day is None or not day.cards or not catalog.cards:
        return False
    key = next(k for k, kind in day.checklist() if kind == "cards")
    if key in progress.done_items(db, number):
        return False
    reviewed = db.execute(
        "select 1 from activity where kind = 'review' and date = ? limit 1", [progress.today().isoformat()]
    ).fetchone()
    if not reviewed:
        return False
    from . import srs

    if len(srs.build_queue(db, catalog, day.cards)):
        return False
    progress.set_done(db, number, key, True)
    return True
