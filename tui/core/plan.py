"""Where the learner stands in the 28-day plan."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlite_utils import Database

from .content import Catalog
from .store import progress

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
        return f"{n} day{'s' if n != 1 else ''} {'ahead of' if self.ahead > 0 else 'behind'} the calendar"


def calendar_day(start: dt.date, on: dt.date) -> int:
    return max(1, min(LAST_DAY, (on - start).days + 1))


def day_progress(catalog: Catalog, db: Database) -> dict[int, DayProgress]:
    done = progress.done_items(db)
    result = {}
    for number, day in catalog.days.items():
        keys = [key for key, _ in day.checklist()]
        result[number] = DayProgress(number, sum((number, k) in done for k in keys), len(keys))
    return result


def standing(catalog: Catalog, db: Database, on: dt.date | None = None) -> Standing:
    on = on or progress.today()
    start = progress.start_date(db)
    days = day_progress(catalog, db)
    current = next(
        (n for n in sorted(days) if 1 <= n <= LAST_DAY and not days[n].complete),
        LAST_DAY,
    )
    return Standing(current, calendar_day(start, on), progress.streak(db, on), start)
