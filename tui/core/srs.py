"""Spaced repetition on top of the `fsrs` package (FSRS-6); no hand-rolled SM-2.

State lives in SQLite (schema_srs): `srs_cards` holds each introduced card's
FSRS state, `srs_reviews` every answer ever given, both keyed by the card's
stable id. Every function takes an explicit `now` (UTC-aware datetime) so
tests and benchmarks run on a frozen clock; a grade is committed before the
call returns, together with its activity row.

Day boundaries follow the learner's local time zone: review cards are due
for the whole local day they fall on (as in Anki); learning steps are due to
the minute, with a 20-minute learn-ahead at the end of a session.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from fsrs import Card as FCard
from fsrs import Rating, ReviewLog, Scheduler, State
from sqlite_utils import Database

from .content import Catalog
from .content.vocab import COMPONENTS
from .store import progress
from .text import plural

UTC = dt.UTC
RATING_NAMES = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
DEFAULT_RETENTION = 0.9
DEFAULT_NEW_PER_DAY = 20
DEFAULT_REVIEW_LIMIT = 200
MATURE_DAYS = 21
LEARN_AHEAD = dt.timedelta(minutes=20)
# fsrs' optimizer returns its defaults below one mini-batch (512) of cross-day reviews.
MIN_OPTIMIZE_REVIEWS = 512

K_RETENTION = "srs.desired_retention"
K_NEW = "srs.new_per_day"
K_REVIEWS = "srs.review_limit"
K_PARAMS = "srs.parameters"

_COLS = "card_id, state, step, stability, difficulty, due, last_review, reps, lapses, introduced"


# ----------------------------------------------------------------- time, ids


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def _utc(when: dt.datetime | None) -> dt.datetime:
    if when is None:
        return utcnow()
    if when.tzinfo is None:
        raise ValueError("srs needs timezone-aware datetimes")
    return when.astimezone(UTC)


def ts(when: dt.datetime) -> str:
    """Fixed-width UTC text: string order is time order (the `due` index relies on it)."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def parse_ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def local_date(when: dt.datetime) -> dt.date:
    return when.astimezone().date()


def day_end(when: dt.datetime) -> dt.datetime:
    """The next local midnight after `when`, in UTC."""
    local = when.astimezone()
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), local.tzinfo)
    return midnight.astimezone(UTC)


def fsrs_id(card_id: str) -> int:
    """fsrs wants integer ids (the optimizer groups logs by them); derive one stably."""
    return int.from_bytes(hashlib.blake2b(card_id.encode(), digest_size=7).digest(), "big")


def format_interval(delta: dt.timedelta) -> str:
    seconds = max(0, delta.total_seconds())
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))}m"
    if seconds < 86400:
        return f"{round(seconds / 3600)}h"
    days = seconds / 86400
    if days < 31:
        return f"{round(days)}d"
    if days < 365:
        return f"{days / 30.4:.1f}mo"
    return f"{days / 365:.1f}y"


# ------------------------------------------------------------------ settings


@dataclass(frozen=True)
class Settings:
    retention: float = DEFAULT_RETENTION
    new_per_day: int = DEFAULT_NEW_PER_DAY
    review_limit: int = DEFAULT_REVIEW_LIMIT
    parameters: tuple[float, ...] | None = None  # None: fsrs defaults


def settings(db: Database) -> Settings:
    params = progress.get_setting(db, K_PARAMS)
    return Settings(
        retention=float(progress.get_setting(db, K_RETENTION, str(DEFAULT_RETENTION))),
        new_per_day=int(progress.get_setting(db, K_NEW, str(DEFAULT_NEW_PER_DAY))),
        review_limit=int(progress.get_setting(db, K_REVIEWS, str(DEFAULT_REVIEW_LIMIT))),
        parameters=tuple(json.loads(params)) if params else None,
    )


def set_retention(db: Database, value: float) -> None:
    if not 0.7 <= value <= 0.99:
        raise ValueError("desired retention must be between 0.70 and 0.99")
    progress.set_setting(db, K_RETENTION, repr(float(value)))


def set_new_per_day(db: Database, value: int) -> None:
    if not 0 <= value <= 9999:
        raise ValueError("new cards per day must be between 0 and 9999")
    progress.set_setting(db, K_NEW, str(int(value)))


def set_review_limit(db: Database, value: int) -> None:
    if not 1 <= value <= 99999:
        raise ValueError("review limit must be between 1 and 99999")
    progress.set_setting(db, K_REVIEWS, str(int(value)))


def scheduler(db: Database, fuzz: bool = True) -> Scheduler:
    s = settings(db)
    kwargs = {"parameters": s.parameters} if s.parameters else {}
    return Scheduler(desired_retention=s.retention, enable_fuzzing=fuzz, **kwargs)


# ------------------------------------------------------------- card state


@dataclass
class CardRow:
    """One srs_cards row: the fsrs Card plus our own counters."""

    card_id: str
    card: FCard
    reps: int
    lapses: int
    introduced: str

    @classmethod
    def from_row(cls, row) -> CardRow:
        card_id, state, step, stability, difficulty, due, last, reps, lapses, introduced = row
        card = FCard(
            card_id=fsrs_id(card_id),
            state=State(state),
            step=step,
            stability=stability,
            difficulty=difficulty,
            due=parse_ts(due),
            last_review=parse_ts(last) if last else None,
        )
        return cls(card_id, card, reps, lapses, introduced)

    def values(self) -> list:
        c = self.card
        return [
            self.card_id, int(c.state), c.step, c.stability, c.difficulty, ts(c.due),
            ts(c.last_review) if c.last_review else None, self.reps, self.lapses, self.introduced,
        ]


def load_card(db: Database, card_id: str) -> CardRow | None:
    """The card's state, or None if it was never reviewed (a new card)."""
    row = db.execute(f"select {_COLS} from srs_cards where card_id = ?", [card_id]).fetchone()
    return CardRow.from_row(row) if row else None


def _fresh(card_id: str, now: dt.datetime) -> FCard:
    return FCard(card_id=fsrs_id(card_id), due=now)


def preview(sched: Scheduler, row: CardRow | None, card_id: str, now: dt.datetime | None = None) -> dict[int, dt.timedelta]:
    """The interval each rating would give now (fuzz included); pass it back to
    `grade(interval=...)` so the learner gets exactly what the button showed."""
    now = _utc(now)
    card = row.card if row else _fresh(card_id, now)
    return {int(r): sched.review_card(card, r, now)[0].due - now for r in Rating}


@dataclass(frozen=True)
class Graded:
    review_id: int
    card_id: str
    rating: int
    due: dt.datetime
    interval: dt.timedelta
    state: int


def grade(
    db: Database,
    card_id: str,
    rating: int,
    now: dt.datetime | None = None,
    *,
    sched: Scheduler | None = None,
    duration_ms: int | None = None,
    interval: dt.timedelta | None = None,
) -> Graded:
    """Schedule one answer with fsrs and commit it (state, log, activity) at once."""
    now = _utc(now)
    sched = sched or scheduler(db)
    rating = Rating(int(rating))
    row = load_card(db, card_id)
    before = json.dumps(row.values()) if row else None
    card = row.card if row else _fresh(card_id, now)
    new_card, _ = sched.review_card(card, rating, now, duration_ms)
    if interval is not None:  # keep the fuzzed interval the button showed
        new_card.due = now + interval
    state_before = int(card.state) if row else 0
    lapse = state_before == int(State.Review) and rating == Rating.Again
    after = CardRow(
        card_id,
        new_card,
        (row.reps if row else 0) + 1,
        (row.lapses if row else 0) + int(lapse),
        row.introduced if row else local_date(now).isoformat(),
    )
    with db.atomic():
        db.execute(f"insert or replace into srs_cards({_COLS}) values (?,?,?,?,?,?,?,?,?,?)", after.values())
        cur = db.execute(
            "insert into srs_reviews(card_id, rating, reviewed_at, date, duration_ms, state_before, due_after, before)"
            " values (?,?,?,?,?,?,?,?)",
            [card_id, int(rating), ts(now), local_date(now).isoformat(), duration_ms, state_before,
             ts(new_card.due), before],
        )
        progress.log_activity(db, "review", card_id, when=now.astimezone())
    return Graded(cur.lastrowid, card_id, int(rating), new_card.due, new_card.due - now, int(new_card.state))


def undo(db: Database, review_id: int) -> str:
    """Take back one answer, restoring the card's previous state exactly.

    Only a card's latest answer can be taken back (an older one would leave
    the later state built on an answer that no longer exists)."""
    row = db.execute("select card_id, before from srs_reviews where id = ?", [review_id]).fetchone()
    if row is None:
        raise ValueError(f"no review {review_id}")
    card_id, before = row
    latest = db.execute("select max(id) from srs_reviews where card_id = ?", [card_id]).fetchone()[0]
    if latest != review_id:
        raise ValueError(f"review {review_id} is not the latest answer for {card_id}")
    with db.atomic():
        db.execute("delete from srs_reviews where id = ?", [review_id])
        # The answer never happened: nor did its study activity (streak, study time).
        db.execute("delete from activity where id = (select max(id) from activity where kind = 'review' and ref = ?)",
                   [card_id])
        if before is None:
            db.execute("delete from srs_cards where card_id = ?", [card_id])
        else:
            db.execute(f"insert or replace into srs_cards({_COLS}) values (?,?,?,?,?,?,?,?,?,?)", json.loads(before))
    return card_id


def history(db: Database, card_id: str) -> list[tuple[str, int]]:
    """(reviewed_at, rating) of every answer for a card, oldest first."""
    return [tuple(r) for r in db.execute(
        "select reviewed_at, rating from srs_reviews where card_id = ? order by id", [card_id])]


# -------------------------------------------------------------------- queue


def unlocked(catalog: Catalog, db: Database, on: dt.date | None = None) -> set[str] | None:
    """Deck ids and tags unlocked by the plan days the learner has reached.
    None when the content has no plan (nothing to gate by)."""
    if not catalog.days:
        return None
    from .plan import standing

    current = standing(catalog, db, on).current_day
    return {name for n, day in catalog.days.items() if n <= current for name in day.cards}


def matches(card, names: Iterable[str] | None) -> bool:
    if names is None:
        return True
    names = names if isinstance(names, (set, frozenset)) else set(names)
    return card.deck in names or any(t in names for t in card.tags)


def introduced_on(db: Database, day: dt.date, known=None) -> int:
    """New cards introduced on `day`; with `known` (card ids), only those still in the content."""
    rows = db.execute("select card_id from srs_cards where introduced = ?", [day.isoformat()]).fetchall()
    return sum(1 for (card_id,) in rows if known is None or card_id in known)


@dataclass
class Queue:
    due: list[str]  # introduced cards due now, earliest first
    new: list[str]  # new cards to introduce today, in plan order
    new_left: int  # today's remaining new-card allowance (before this queue)

    def __len__(self) -> int:
        return len(self.due) + len(self.new)


def _plan_order(catalog: Catalog) -> dict[str, int]:
    """Deck or tag -> first plan day that unlocks it (new cards come in plan order)."""
    order: dict[str, int] = {}
    for n in sorted(catalog.days):
        for name in catalog.days[n].cards:
            order.setdefault(name, n)
    return order


def build_queue(
    db: Database,
    catalog: Catalog,
    selection: Iterable[str] = (),
    now: dt.datetime | None = None,
    *,
    new_limit: int | None = None,
    review_limit: int | None = None,
) -> Queue:
    """The cards to study now: due reviews (from the `due` index, never a full
    scan) and today's new cards from the unlocked part of the plan.
    `selection` (deck ids or tags) narrows both; empty means everything."""
    now = _utc(now)
    conf = settings(db)
    chosen = set(selection) or None
    cards = catalog.cards
    limit = conf.review_limit if review_limit is None else review_limit
    end = day_end(now)
    soon = now + LEARN_AHEAD
    due: list[str] = []
    cursor = db.execute(
        "select card_id from srs_cards where due < ? and (state = 2 or due <= ?) order by due",
        [ts(max(end, soon)), ts(soon)],
    )
    for (card_id,) in cursor:
        card = cards.get(card_id)  # a card removed from its deck keeps its logs but is not shown
        if card is not None and matches(card, chosen):
            due.append(card_id)
            if len(due) >= limit:
                break
    cursor.close()
    left = max(0, conf.new_per_day - introduced_on(db, local_date(now), cards))
    if new_limit is not None:
        left = min(left, new_limit)
    new: list[str] = []
    if left:
        gate = unlocked(catalog, db, local_date(now))
        seen = {r[0] for r in db.execute("select card_id from srs_cards")}
        order = _plan_order(catalog)
        candidates = []
        for position, card in enumerate(cards.values()):
            if card.id in seen or not matches(card, gate) or not matches(card, chosen):
                continue
            first = min([order.get(card.deck, 999)] + [order.get(t, 999) for t in card.tags])
            candidates.append((first, position, card.id))
        new = [c for _, _, c in sorted(candidates)[:left]]
    return Queue(due, new, left)


# ------------------------------------------------------------------ session


def _interleave(due: list[str], new: list[str]) -> list[str]:
    """Spread new cards evenly through the reviews, as Anki does by default."""
    keyed = [((i + 1) / (len(due) + 1), 0, c) for i, c in enumerate(due)]
    keyed += [((j + 1) / (len(new) + 1), 1, c) for j, c in enumerate(new)]
    return [c for _, _, c in sorted(keyed)]


@dataclass
class Summary:
    cards: int
    again: int
    seconds: float

    @property
    def again_rate(self) -> float:
        return self.again / self.cards if self.cards else 0.0

    def text(self) -> str:
        minutes, secs = divmod(int(round(self.seconds)), 60)
        return (f"{plural(self.cards, 'card')} in {minutes}:{secs:02d}, "
                f"again {self.again_rate:.0%}")


@dataclass
class Session:
    """One sitting: the queue, cards coming back from learning steps, undo."""

    db: Database
    catalog: Catalog
    selection: list[str] = field(default_factory=list)
    now: dt.datetime | None = None
    limit: int | None = None
    fuzz: bool = True

    def __post_init__(self) -> None:
        start = _utc(self.now)
        self.started = start
        self.sched = scheduler(self.db, self.fuzz)
        q = build_queue(self.db, self.catalog, self.selection, start)
        order = _interleave(q.due, q.new)
        if self.limit is not None:
            order = order[: self.limit]
        self.new_ids = set(q.new)
        self.pending: deque[str] = deque(order)
        self.learning: list[tuple[dt.datetime, str]] = []  # (due, card_id), sorted
        self.graded: list[Graded] = []
        self.current: str | None = None
        self.current_kind = ""  # "new", "learn" or "review": where the shown card came from
        self._kinds: list[str] = []  # the kind of each graded card, for undo
        self.options: dict[int, dt.timedelta] = {}

    def counts(self) -> tuple[int, int, int]:
        """(new, learning, review) still to do in this session, the shown card included."""
        new = sum(c in self.new_ids for c in self.pending)
        counts = [new, len(self.learning), len(self.pending) - new]
        if self.current is not None:
            counts[("new", "learn", "review").index(self.current_kind)] += 1
        return counts[0], counts[1], counts[2]

    def next(self, now: dt.datetime | None = None) -> str | None:
        """The card to show now, or None when the session is over."""
        now = _utc(now)
        if self.current is None:
            if self.learning and self.learning[0][0] <= now:
                self.current, self.current_kind = self.learning.pop(0)[1], "learn"
            elif self.pending:
                self.current = self.pending.popleft()
                self.current_kind = "new" if self.current in self.new_ids else "review"
            elif self.learning and self.learning[0][0] <= now + LEARN_AHEAD:
                self.current, self.current_kind = self.learning.pop(0)[1], "learn"
        if self.current is not None:
            self.options = preview(self.sched, load_card(self.db, self.current), self.current, now)
        return self.current

    def card(self):
        return self.catalog.cards.get(self.current) if self.current else None

    def answer(self, rating: int, now: dt.datetime | None = None, duration_ms: int | None = None) -> Graded:
        if self.current is None:
            raise ValueError("no card is being shown")
        now = _utc(now)
        graded = grade(self.db, self.current, rating, now, sched=self.sched,
                       duration_ms=duration_ms, interval=self.options.get(int(rating)))
        self.graded.append(graded)
        self._kinds.append(self.current_kind)
        if graded.state != int(State.Review) and graded.due < day_end(now):
            self.learning.append((graded.due, graded.card_id))
            self.learning.sort()
        self.current = None
        self.options = {}
        return graded

    def undo(self, now: dt.datetime | None = None) -> str | None:
        """Take back the last answer of this session; its card is shown again."""
        if not self.graded:
            return None
        last, kind = self.graded.pop(), self._kinds.pop()
        undo(self.db, last.review_id)
        self.learning = [(d, c) for d, c in self.learning if c != last.card_id]
        if self.current is not None and self.current != last.card_id:
            if self.current_kind == "learn":
                self.learning.append((load_card(self.db, self.current).card.due, self.current))
                self.learning.sort()
            else:
                self.pending.appendleft(self.current)
        self.current, self.current_kind = last.card_id, kind
        self.options = preview(self.sched, load_card(self.db, last.card_id), last.card_id, _utc(now))
        return last.card_id

    def next_due_in(self, now: dt.datetime | None = None) -> dt.timedelta | None:
        """When the session is over but learning cards come back later today."""
        if not self.learning:
            return None
        return self.learning[0][0] - _utc(now)

    def summary(self, now: dt.datetime | None = None) -> Summary:
        again = sum(g.rating == 1 for g in self.graded)
        return Summary(len(self.graded), again, (_utc(now) - self.started).total_seconds())


# --------------------------------------------------------------- statistics


def forecast(db: Database, catalog: Catalog, days: int = 14, now: dt.datetime | None = None) -> list[tuple[dt.date, int]]:
    """Cards due on each of the next `days` local days (overdue counted today)."""
    now = _utc(now)
    today = local_date(now)
    counts = [0] * days
    end = day_end(now) + dt.timedelta(days=days - 1)
    for card_id, due in db.execute("select card_id, due from srs_cards where due < ?", [ts(end)]):
        if card_id in catalog.cards:
            counts[max(0, (local_date(parse_ts(due)) - today).days)] += 1
    return [(today + dt.timedelta(days=i), n) for i, n in enumerate(counts)]


def reviews_per_day(db: Database, days: int = 30, now: dt.datetime | None = None) -> list[tuple[dt.date, int]]:
    today = local_date(_utc(now))
    first = today - dt.timedelta(days=days - 1)
    got = dict(db.execute(
        "select date, count(*) from srs_reviews where date >= ? group by date", [first.isoformat()]))
    return [(d, got.get(d.isoformat(), 0)) for d in (first + dt.timedelta(days=i) for i in range(days))]


def retention_by_component(db: Database, catalog: Catalog) -> dict[str, tuple[int, int]]:
    """Component -> (recalled, total) over answers to cards in review state
    (true retention: learning steps excluded)."""
    out = {c: [0, 0] for c in COMPONENTS}
    rows = db.execute(
        "select card_id, sum(rating > 1), count(*) from srs_reviews where state_before = 2 group by card_id")
    for card_id, ok, total in rows:
        card = catalog.cards.get(card_id)
        for comp in card.components if card else ():
            out[comp][0] += ok
            out[comp][1] += total
    return {c: (ok, total) for c, (ok, total) in out.items()}


def maturity(db: Database, catalog: Catalog) -> dict[str, int]:
    """new (never reviewed), learning, young (interval < 21 d), mature (>= 21 d)."""
    got = {"learning": 0, "young": 0, "mature": 0}
    rows = db.execute(
        "select card_id, state, julianday(due) - julianday(last_review) from srs_cards")
    seen = 0
    for card_id, state, ivl in rows:
        if card_id not in catalog.cards:
            continue
        seen += 1
        if state != int(State.Review):
            got["learning"] += 1
        else:
            got["mature" if ivl >= MATURE_DAYS else "young"] += 1
    return {"new": len(catalog.cards) - seen, **got}


def bars(rows: list[tuple[str, float]], width: int = 40, fmt: str = "{:g}") -> str:
    """Plain-text horizontal bars, one per row."""
    if not rows:
        return ""
    top = max((v for _, v in rows), default=0) or 1
    label_w = max(len(label) for label, _ in rows)
    lines = []
    for label, value in rows:
        n = value / top * width
        bar = "█" * int(n) + ("▌" if n - int(n) >= 0.5 else "")
        lines.append(f"{label:>{label_w}} │{bar} {fmt.format(value)}")
    return "\n".join(lines)


def stats_text(db: Database, catalog: Catalog, now: dt.datetime | None = None) -> str:
    """Every statistic as plain text, for the terminal and the stats screen."""
    now = _utc(now)
    m = maturity(db, catalog)
    parts = [
        "Cards: " + ", ".join(f"{k} {v}" for k, v in m.items()),
        "",
        "Due, next 14 days",
        bars([(d.strftime("%a %d %b"), n) for d, n in forecast(db, catalog, 14, now)]),
        "",
        "Reviews per day, last 14 days",
        bars([(d.strftime("%a %d %b"), n) for d, n in reviews_per_day(db, 14, now)]),
        "",
        "Retention by component (answers in review state)",
    ]
    ret = retention_by_component(db, catalog)
    rows = [(c, ok / total * 100) for c, (ok, total) in ret.items() if total]
    if rows:
        parts.append(bars(rows, fmt="{:.0f}%") + "\n" + "  ".join(
            f"{c}: {ret[c][1]} answers" for c, _ in rows))
    else:
        parts.append("  no reviews of mature or young cards yet")
    s = settings(db)
    parts += ["", f"Desired retention {s.retention:.2f} · {s.new_per_day} new cards a day · "
              f"{'your own' if s.parameters else 'default'} FSRS parameters"]
    return "\n".join(parts)


# ----------------------------------------------------------------- optimise


class OptimizeError(Exception):
    pass


@dataclass(frozen=True)
class Fit:
    reviews: int  # cross-day reviews the fit could learn from
    before: tuple[float, ...]
    after: tuple[float, ...]
    loss_before: float
    loss_after: float
    applied: bool

    def table(self) -> str:
        lines = [f"fitted on {self.reviews} cross-day reviews",
                 f"log loss: {self.loss_before:.4f} -> {self.loss_after:.4f}",
                 "  w   before    after"]
        lines += [f"{i:>3} {b:>8.4f} {a:>8.4f}" for i, (b, a) in enumerate(zip(self.before, self.after, strict=False))]
        lines.append("saved: new parameters apply from the next review" if self.applied
                     else "not saved" + (" (no better than the current ones)" if self.loss_after >= self.loss_before else ""))
        return "\n".join(lines)


def countable_reviews(db: Database) -> int:
    """Reviews at least a day after the card's previous one: what the optimizer learns from."""
    return db.execute(
        "select count(*) from (select julianday(reviewed_at) - julianday(lag(reviewed_at) "
        "over (partition by card_id order by id)) as gap from srs_reviews) where gap >= 1"
    ).fetchone()[0]


def review_logs(db: Database) -> list[ReviewLog]:
    return [
        ReviewLog(fsrs_id(card_id), Rating(rating), parse_ts(at), duration)
        for card_id, rating, at, duration in db.execute(
            "select card_id, rating, reviewed_at, duration_ms from srs_reviews order by id")
    ]


def optimize(db: Database, apply: bool = True) -> Fit:
    """Fit FSRS parameters to the learner's own answers (fsrs' Optimizer)."""
    n = countable_reviews(db)
    if n < MIN_OPTIMIZE_REVIEWS:
        raise OptimizeError(
            f"not enough reviews yet: {n} of {MIN_OPTIMIZE_REVIEWS} reviews made a day or more "
            "after the card's previous one; keep reviewing and try again")
    try:
        from fsrs.optimizer import Optimizer

        opt = Optimizer(review_logs(db))
    except ImportError as exc:
        raise OptimizeError(f"the fsrs optimizer is not installed ({exc}); install it with `pip install 'vlearn[optimizer]'` (or 'fsrs[optimizer]')") from exc
    before = scheduler(db).parameters
    after = tuple(float(x) for x in opt.compute_optimal_parameters())
    # The optimizer's own loss (a private helper): the honest before/after figure.
    loss_before = float(opt._compute_batch_loss(parameters=list(before)))
    loss_after = float(opt._compute_batch_loss(parameters=list(after)))
    applied = apply and loss_after < loss_before
    if applied:
        progress.set_setting(db, K_PARAMS, json.dumps(after))
    return Fit(n, tuple(before), after, loss_before, loss_after, applied)
