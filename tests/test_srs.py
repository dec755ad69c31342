"""Scheduling with fsrs on a frozen clock, undo, gating, history, statistics."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from fsrs import Card, Rating, Scheduler

from tui.core import srs
from tui.core.content import load_catalog
from tui.core.plan import standing
from tui.core.store import open_store, progress

FIXTURE = Path(__file__).parent / "fixtures" / "decks"
UTC = dt.UTC
# Noon UTC is the same calendar date in every time zone from UTC-11 to UTC+11,
# so the day-granular checks below hold wherever the tests run.
T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    return root


@pytest.fixture
def cat():
    return load_catalog(FIXTURE)


def row(db, card_id):
    return db.execute("select * from srs_cards where card_id = ?", [card_id]).fetchone()


def complete_day(db, catalog, n):
    for key, _ in catalog.days[n].checklist():
        progress.set_done(db, n, key, True)


def test_schedule_follows_fsrs_across_days(db):
    """Our stored state after every answer equals a bare fsrs Scheduler run on
    the same answers and times: nothing is lost in the SQLite round trip."""
    sched = srs.scheduler(db, fuzz=False)
    reference = Scheduler(enable_fuzzing=False)
    ref = Card(card_id=srs.fsrs_id("alpha-1"), due=T0)
    now = T0
    answers = [Rating.Good, Rating.Good, Rating.Good, Rating.Again, Rating.Good, Rating.Easy]
    intervals = []
    for rating in answers:
        graded = srs.grade(db, "alpha-1", rating, now, sched=sched)
        ref, _ = reference.review_card(ref, rating, now)
        mine = srs.load_card(db, "alpha-1").card
        assert (mine.state, mine.step, mine.due, mine.last_review) == (ref.state, ref.step, ref.due, ref.last_review)
        assert mine.stability == pytest.approx(ref.stability, rel=1e-12)
        assert mine.difficulty == pytest.approx(ref.difficulty, rel=1e-12)
        assert graded.due == ref.due
        intervals.append(graded.interval)
        now = ref.due  # answer exactly when due
    assert intervals[0] == dt.timedelta(minutes=10)  # first learning step after Good
    assert intervals[1] >= dt.timedelta(days=1)  # graduated into review
    assert intervals[2] > intervals[1]  # a successful review grows the interval
    assert intervals[3] == dt.timedelta(minutes=10)  # a lapse goes to relearning
    r = row(db, "alpha-1")
    assert r[7] == len(answers) and r[8] == 1  # reps, lapses
    assert [x[1] for x in srs.history(db, "alpha-1")] == [int(a) for a in answers]


def test_due_cards_enter_the_queue_on_their_local_day(db, cat):
    sched = srs.scheduler(db, fuzz=False)
    srs.grade(db, "alpha-1", Rating.Easy, T0, sched=sched)
    due = srs.load_card(db, "alpha-1").card.due
    days = (due - T0).days
    assert days >= 2
    day_before = T0 + dt.timedelta(days=days - 1)
    assert "alpha-1" not in srs.build_queue(db, cat, now=day_before).due
    # due for the whole local day it falls on, even at its start
    morning = dt.datetime.combine(srs.local_date(due), dt.time(0, 30)).astimezone()
    assert "alpha-1" in srs.build_queue(db, cat, now=morning).due


def test_desired_retention_setting_changes_intervals(db):
    srs.set_retention(db, 0.97)
    high = srs.grade(db, "alpha-1", Rating.Easy, T0, sched=srs.scheduler(db, fuzz=False)).interval
    srs.set_retention(db, 0.80)
    assert srs.settings(db).retention == 0.80
    low = srs.grade(db, "alpha-2", Rating.Easy, T0, sched=srs.scheduler(db, fuzz=False)).interval
    assert low > high
    with pytest.raises(ValueError):
        srs.set_retention(db, 1.5)


def test_grade_uses_the_interval_the_button_showed(db):
    sched = srs.scheduler(db, fuzz=True)
    srs.grade(db, "alpha-1", Rating.Easy, T0, sched=sched)
    later = srs.load_card(db, "alpha-1").card.due
    options = srs.preview(sched, srs.load_card(db, "alpha-1"), "alpha-1", later)
    graded = srs.grade(db, "alpha-1", Rating.Good, later, sched=sched, interval=options[3])
    assert graded.due - later == options[3]
    assert srs.load_card(db, "alpha-1").card.due == later + options[3]


def test_undo_restores_the_previous_state_exactly(db):
    sched = srs.scheduler(db)
    first = srs.grade(db, "alpha-1", Rating.Good, T0, sched=sched)
    srs.grade(db, "alpha-1", Rating.Good, T0 + dt.timedelta(minutes=10), sched=sched)
    before = row(db, "alpha-1")
    logs = db.execute("select count(*) from srs_reviews").fetchone()[0]
    activity = db.execute("select count(*) from activity").fetchone()[0]
    last = srs.grade(db, "alpha-1", Rating.Again, T0 + dt.timedelta(days=3), sched=sched)
    assert row(db, "alpha-1") != before
    assert srs.undo(db, last.review_id) == "alpha-1"
    assert row(db, "alpha-1") == before
    assert db.execute("select count(*) from srs_reviews").fetchone()[0] == logs
    assert db.execute("select count(*) from activity").fetchone()[0] == activity  # no phantom study
    with pytest.raises(ValueError):
        srs.undo(db, first.review_id)  # not the card's latest answer
    # undoing a new card's first answer makes it new again
    g = srs.grade(db, "alpha-2", Rating.Good, T0, sched=sched)
    srs.undo(db, g.review_id)
    assert srs.load_card(db, "alpha-2") is None
    assert srs.introduced_on(db, T0.date()) == 1


def test_session_undo_shows_the_card_again(db, cat):
    session = srs.Session(db, cat, now=T0, fuzz=False)
    first = session.next(T0)
    session.answer(1, T0)
    second = session.next(T0)
    assert second != first
    assert session.undo(T0) == first
    assert session.current == first and session.next(T0) == first
    assert srs.load_card(db, first) is None
    session.answer(3, T0)
    assert session.next(T0) == second  # the card that was showing comes back next
    assert session.summary(T0).cards == 1


def test_editing_card_text_keeps_its_history(db, tmp_path):
    root = content(tmp_path)
    catalog = load_catalog(root)
    sched = srs.scheduler(db, fuzz=False)
    srs.grade(db, "alpha-1", Rating.Good, T0, sched=sched)
    srs.grade(db, "alpha-1", Rating.Good, T0 + dt.timedelta(minutes=10), sched=sched)
    state = row(db, "alpha-1")
    deck = root / "flashcards" / "alpha.yaml"
    deck.write_text(deck.read_text().replace("What is one?", "What, precisely, is one?")
                    .replace("One is `1`.", "One is the integer `1`."))
    edited = load_catalog(root)
    assert edited.cards["alpha-1"].front == "What, precisely, is one?"
    assert row(db, "alpha-1") == state
    assert len(srs.history(db, "alpha-1")) == 2
    assert "alpha-1" not in srs.build_queue(db, edited, now=T0 + dt.timedelta(minutes=20)).new
    due = srs.load_card(db, "alpha-1").card.due
    assert "alpha-1" in srs.build_queue(db, edited, now=due).due
    assert catalog.cards["alpha-1"].front != edited.cards["alpha-1"].front


def test_removed_card_keeps_its_logs_and_leaves_the_queue(db, tmp_path):
    root = content(tmp_path)
    sched = srs.scheduler(db, fuzz=False)
    srs.grade(db, "alpha-3", Rating.Again, T0, sched=sched)
    deck = root / "flashcards" / "alpha.yaml"
    text = deck.read_text()
    deck.write_text(text[: text.index("  - id: alpha-3")])
    catalog = load_catalog(root)
    assert "alpha-3" not in catalog.cards
    assert len(srs.history(db, "alpha-3")) == 1
    assert "alpha-3" not in srs.build_queue(db, catalog, now=T0 + dt.timedelta(hours=1)).due
    assert srs.maturity(db, catalog)["learning"] == 0
    # putting the card back brings its state back with it
    deck.write_text(text)
    assert "alpha-3" in srs.build_queue(db, load_catalog(root), now=T0 + dt.timedelta(hours=1)).due


def test_new_cards_only_from_days_reached(db, cat):
    assert standing(cat, db).current_day == 1
    assert srs.build_queue(db, cat, now=T0).new == ["alpha-1", "alpha-2", "alpha-3"]
    complete_day(db, cat, 1)
    assert standing(cat, db).current_day == 2
    assert srs.build_queue(db, cat, now=T0).new == ["alpha-1", "alpha-2", "alpha-3", "beta-1", "beta-2"]
    complete_day(db, cat, 2)
    # day 3 unlocks by tag: gamma-1 carries `quantization`; gamma-2 is never unlocked
    new = srs.build_queue(db, cat, now=T0).new
    assert new == ["alpha-1", "alpha-2", "alpha-3", "beta-1", "beta-2", "gamma-1"]
    # a selection narrows but never unlocks
    assert srs.build_queue(db, cat, ["gamma"], now=T0).new == ["gamma-1"]
    assert srs.build_queue(db, cat, ["distributed"], now=T0).new == []


def test_daily_new_card_limit(db, cat):
    complete_day(db, cat, 1)
    srs.set_new_per_day(db, 2)
    sched = srs.scheduler(db, fuzz=False)
    assert srs.build_queue(db, cat, now=T0).new == ["alpha-1", "alpha-2"]
    for card_id in ("alpha-1", "alpha-2"):
        srs.grade(db, card_id, Rating.Good, T0, sched=sched)
    later = srs.build_queue(db, cat, now=T0 + dt.timedelta(minutes=30))
    assert later.new == [] and set(later.due) == {"alpha-1", "alpha-2"}
    tomorrow = srs.build_queue(db, cat, now=T0 + dt.timedelta(days=1))
    assert tomorrow.new == ["alpha-3", "beta-1"]


def test_session_brings_learning_cards_back(db, cat):
    session = srs.Session(db, cat, now=T0, fuzz=False)
    assert session.counts() == (3, 0, 0)
    now = T0
    seen = []
    while (card_id := session.next(now)) is not None:
        seen.append(card_id)
        session.answer(1 if len(seen) == 1 else 3, now)
        now += dt.timedelta(minutes=11)
    # alpha-1: Again (1 m) -> Good (10 m) -> Good (graduates); the others Good twice
    assert seen.count("alpha-1") == 3 and seen.count("alpha-2") == 2 and seen.count("alpha-3") == 2
    summary = session.summary(now)
    assert summary.cards == 7 and summary.again == 1
    assert summary.again_rate == pytest.approx(1 / 7)
    assert summary.seconds == pytest.approx(7 * 11 * 60)
    activity = db.execute("select count(*) from activity where kind = 'review'").fetchone()[0]
    assert activity == 7


def test_statistics(db, cat):
    complete_day(db, cat, 1)
    complete_day(db, cat, 2)
    sched = srs.scheduler(db, fuzz=False)
    srs.grade(db, "alpha-1", Rating.Easy, T0, sched=sched)  # review state, days out
    srs.grade(db, "beta-1", Rating.Good, T0, sched=sched)  # learning, due in 10 min
    # a mature card: answered Easy until its interval passes 21 days
    now = T0
    while True:
        g = srs.grade(db, "beta-2", Rating.Easy, now, sched=sched)
        if g.interval >= dt.timedelta(days=21):
            break
        now = g.due
    srs.grade(db, "alpha-2", Rating.Easy, T0, sched=sched)
    again = srs.load_card(db, "alpha-2").card.due
    srs.grade(db, "alpha-2", Rating.Again, again, sched=sched)  # a failed review
    m = srs.maturity(db, cat)
    assert m == {"new": 3, "learning": 2, "young": 1, "mature": 1}
    fc = srs.forecast(db, cat, 14, T0)
    assert len(fc) == 14 and fc[0][0] == T0.date()
    alpha1_day = (srs.local_date(srs.load_card(db, "alpha-1").card.due) - T0.date()).days
    assert fc[0][1] == 1  # beta-1, due in ten minutes
    assert fc[alpha1_day][1] >= 1
    per_day = dict(srs.reviews_per_day(db, 30, now))
    assert sum(per_day.values()) == db.execute("select count(*) from srs_reviews").fetchone()[0]
    ret = srs.retention_by_component(db, cat)
    assert ret["scheduler"] == (0, 1)  # alpha-2's failed review
    ok, total = ret["paged_attention"]
    assert total >= 1 and ok == total  # beta-2's successful reviews
    assert ret["quantization"] == ret["paged_attention"]
    text = srs.stats_text(db, cat, T0)
    assert "mature 1" in text and "Due, next 14 days" in text and "█" in text


def test_optimize_needs_enough_reviews(db):
    srs.grade(db, "alpha-1", Rating.Good, T0)
    with pytest.raises(srs.OptimizeError, match="not enough reviews"):
        srs.optimize(db)


@pytest.mark.slow
def test_optimize_fits_parameters_from_the_logs(db):
    import random

    pytest.importorskip("pandas", reason="fsrs' optimizer needs fsrs[optimizer] (torch, pandas, tqdm)")
    rng = random.Random(7)
    sched = srs.scheduler(db, fuzz=False)
    for i in range(110):  # 110 cards x 6 answers on separate days > 512 cross-day reviews
        now = T0
        for _ in range(6):
            rating = Rating.Again if rng.random() < 0.2 else Rating.Good
            g = srs.grade(db, f"c{i}", rating, now, sched=sched)
            now = max(g.due, now + dt.timedelta(days=1))
    assert srs.countable_reviews(db) >= srs.MIN_OPTIMIZE_REVIEWS
    fit = srs.optimize(db)
    assert len(fit.after) == 21 and fit.after != fit.before
    assert fit.applied == (fit.loss_after < fit.loss_before)
    if fit.applied:
        assert srs.settings(db).parameters == fit.after
        assert srs.scheduler(db).parameters == fit.after
    assert "log loss" in fit.table()


def test_store_reopens_with_srs_tables(vlearn_home):
    db = open_store(vlearn_home / "p.db")
    srs.grade(db, "x", Rating.Good, T0)
    db.close()
    again = open_store(vlearn_home / "p.db")
    assert srs.load_card(again, "x") is not None
    assert {"srs_cards", "srs_reviews"} <= set(again.table_names())


def test_a_card_removed_from_the_content_does_not_use_up_new_slots(db, cat):
    srs.grade(db, "no-longer-in-any-deck", Rating.Good)
    queue = srs.build_queue(db, cat)
    assert "no-longer-in-any-deck" not in queue.due + queue.new
    assert queue.new_left == srs.settings(db).new_per_day
