"""Spaced repetition at scale: 10,000 cards and 200,000 review logs in a real
progress.db under a temporary directory.

Measures building the day's review queue (budget 50 ms) and one grade,
fsrs scheduling plus the committed write (budget 5 ms p95). Prints a table,
then one JSON object as the last line.

    .venv/bin/python bench/srs_scale.py [--cards N] [--reviews N] [--runs N]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

UTC = dt.UTC


def synthetic_catalog(root: Path, n_cards: int):
    from tui.core.content import Catalog
    from tui.core.content.curriculum import Day
    from tui.core.content.decks import Card, Deck
    from tui.core.content.vocab import COMPONENTS

    catalog = Catalog(root=root)
    per_deck = 250
    for d in range(0, n_cards, per_deck):
        deck = Deck(id=f"deck-{d // per_deck:03d}", title=f"Deck {d // per_deck}", path=root / "x.yaml", origin="")
        for i in range(d, min(d + per_deck, n_cards)):
            card = Card(id=f"card-{i:05d}", deck=deck.id, front=f"Q{i}", back=f"A{i}",
                        tags=[COMPONENTS[i % len(COMPONENTS)]], source="m01-one", origin="")
            catalog.cards[card.id] = card
            deck.cards.append(card.id)
        catalog.decks[deck.id] = deck
    decks = list(catalog.decks)
    for n in range(29):  # every deck is unlocked by some day 0..14
        cards = decks[n::15] if n <= 14 else []
        catalog.days[n] = Day(n, n // 7 + 1, f"Day {n}", "m01", [], [f"l{n}"], [], cards, None, 1.0, "", 0)
    return catalog


def populate(db, catalog, n_reviews: int, now: dt.datetime, rng: random.Random) -> tuple[int, int]:
    """Introduce 90 % of the cards with plausible FSRS state; spread the logs over them."""
    from tui.core import srs

    ids = list(catalog.cards)
    introduced = ids[: int(len(ids) * 0.9)]
    card_rows, review_rows, activity_rows = [], [], []
    per_card = max(1, n_reviews // len(introduced))
    extra = n_reviews - per_card * len(introduced)
    for k, card_id in enumerate(introduced):
        count = per_card + (1 if k < extra else 0)
        first = now - dt.timedelta(days=rng.uniform(30, 400))
        last = now - dt.timedelta(days=rng.uniform(0.5, 25))
        ivl = dt.timedelta(days=rng.uniform(1, 90))
        due = last + ivl
        card_rows.append((card_id, 2, None, ivl.days + 1.0, rng.uniform(2, 8), srs.ts(due), srs.ts(last),
                          count, rng.randint(0, 3), srs.local_date(first).isoformat()))
        span = (last - first) / max(1, count - 1)
        for j in range(count):
            at = first + span * j
            review_rows.append((card_id, rng.choice((1, 3, 3, 3, 3, 4, 2)), srs.ts(at),
                                srs.local_date(at).isoformat(), 4000, 2 if j else 0, srs.ts(at + span), None))
            activity_rows.append((at.isoformat(timespec="seconds"), srs.local_date(at).isoformat(), "review", card_id))
    with db.atomic():
        db.conn.executemany("insert into srs_cards values (?,?,?,?,?,?,?,?,?,?)", card_rows)
        db.conn.executemany(
            "insert into srs_reviews(card_id, rating, reviewed_at, date, duration_ms, state_before, due_after, before)"
            " values (?,?,?,?,?,?,?,?)", review_rows)
        db.conn.executemany("insert into activity(at, date, kind, ref) values (?,?,?,?)", activity_rows)
    return len(card_rows), len(review_rows)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--reviews", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=50, help="queue builds to time")
    parser.add_argument("--grades", type=int, default=300, help="grades to time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="vlearn-bench-") as tmp:
        os.environ["VLEARN_HOME"] = tmp  # never the learner's own data
        from tui.core import srs
        from tui.core.store import open_store

        rng = random.Random(42)
        now = dt.datetime.now(UTC)
        catalog = synthetic_catalog(Path(tmp), args.cards)
        path = Path(tmp) / "progress.db"
        db = open_store(path)
        t = time.perf_counter()
        n_cards, n_reviews = populate(db, catalog, args.reviews, now, rng)
        fill_s = time.perf_counter() - t
        from tui.core.store import progress

        for n in range(1, 15):  # the learner has finished days 1-14: every deck is unlocked
            for key, _ in catalog.days[n].checklist():
                progress.set_done(db, n, key, True)
        db.close()
        db = open_store(path)  # a cold connection, as the app would have
        size_mb = path.stat().st_size / 1e6

        queue_ms = []
        for _ in range(args.runs):
            t = time.perf_counter()
            queue = srs.build_queue(db, catalog, now=now)
            queue_ms.append((time.perf_counter() - t) * 1000)

        sched = srs.scheduler(db)
        targets = (queue.due + queue.new) * (args.grades // max(1, len(queue)) + 1)
        grade_ms = []
        for i in range(args.grades):
            t = time.perf_counter()
            srs.grade(db, targets[i], rng.choice((1, 3, 3, 4)), now + dt.timedelta(seconds=i), sched=sched)
            grade_ms.append((time.perf_counter() - t) * 1000)
        db.close()

    result = {
        "cards": args.cards,
        "introduced": n_cards,
        "reviews": n_reviews,
        "db_mb": round(size_mb, 1),
        "due_in_queue": len(queue.due),
        "new_in_queue": len(queue.new),
        "queue_ms_median": round(statistics.median(queue_ms), 2),
        "queue_ms_p95": round(pct(queue_ms, 0.95), 2),
        "grade_ms_median": round(statistics.median(grade_ms), 3),
        "grade_ms_p95": round(pct(grade_ms, 0.95), 3),
        "budget_queue_ms": 50,
        "budget_grade_p95_ms": 5,
    }
    print(f"filled {n_cards} card states and {n_reviews} review logs in {fill_s:.1f} s ({size_mb:.1f} MB)")
    print(f"{'measure':<28}{'median':>10}{'p95':>10}{'budget':>10}")
    print(f"{'build day queue (ms)':<28}{result['queue_ms_median']:>10}{result['queue_ms_p95']:>10}{'50':>10}")
    print(f"{'grade: fsrs + commit (ms)':<28}{result['grade_ms_median']:>10}{result['grade_ms_p95']:>10}{'5 p95':>10}")
    print(f"queue: {len(queue.due)} due (review limit {srs.DEFAULT_REVIEW_LIMIT}), {len(queue.new)} new")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
