"""Where the learner stands, and the cards item that ticks itself when the review is done."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from tui.core import plan, srs
from tui.core.content import load_catalog
from tui.core.store import progress

DECKS = Path(__file__).parent / "fixtures" / "decks"
CONTENT = Path(__file__).parent / "fixtures" / "content"


def test_standing_counts_pace_from_the_start_date(db):
    catalog = load_catalog(CONTENT)
    start = progress.start_date(db)
    on = start + dt.timedelta(days=3)
    standing = plan.standing(catalog, db, on)
    assert standing.current_day == 1 and standing.calendar_day == 4
    assert standing.ahead == -3 and standing.pace_text() == "3 days behind the calendar"
    for key, _ in catalog.days[1].checklist():
        progress.set_done(db, 1, key, True)
    assert plan.standing(catalog, db, on).current_day == 2


def test_cards_item_ticks_itself_only_when_nothing_is_left_today(db):
    catalog = load_catalog(DECKS)
    key = next(k for k, kind in catalog.days[1].checklist() if kind == "cards")
    assert not plan.settle_cards(catalog, db, 1)  # nothing reviewed yet
    queue = srs.build_queue(db, catalog, catalog.days[1].cards)
    assert len(queue) > 0
    for card_id in queue.new[:-1]:
        srs.grade(db, card_id, 4)
    assert not plan.settle_cards(catalog, db, 1)  # one card still new today
    srs.grade(db, queue.new[-1], 4)
    assert plan.settle_cards(catalog, db, 1)
    assert key in progress.done_items(db, 1)
    assert not plan.settle_cards(catalog, db, 1)  # ticking is said once


def test_reading_the_standing_does_not_start_the_plan(db):
    catalog = load_catalog(CONTENT)
    assert plan.standing(catalog, db).calendar_day == 1
    assert progress.start_date(db, create=False) is None  # `vlearn gaps` before the app: day 1 not fixed yet


def test_day_pages_leave_a_drills_time_to_the_question():
    """The drill's clock is the question's `minutes`; a day page stating its own
    number ('answer aloud in 5 minutes' beside a 15-minute drill) is wrong twice."""
    import re

    days = Path(__file__).resolve().parents[1] / "curriculum" / "days"
    stated = []
    for page in sorted(days.glob("day*.md")):
        for item in re.split(r"\n(?=- |## )", page.read_text(encoding="utf-8")):
            if "(question:" in item and re.search(r"\b\d+\s*(min|minutes)\b", item):
                stated.append(f"{page.name}: {item.strip()[:80]}")
    assert stated == []
