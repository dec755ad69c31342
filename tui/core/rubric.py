"""Self-assessment against the rubric: record a grid, read the latest, averages over time.

A grid is {(component, dimension): score 1..5}; unrated cells are simply
absent. Each save is a new assessment row with its time; nothing is edited.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlite_utils import Database

from .content.vocab import COMPONENTS, DIMENSIONS
from .store import progress

Grid = dict[tuple[str, str], int]


@dataclass(frozen=True)
class Assessment:
    id: int
    at: str  # local ISO time with offset
    date: str  # local date
    scores: Grid
    note: str = ""

    @property
    def average(self) -> float | None:
        return _mean(self.scores.values())

    def component_average(self, component: str) -> float | None:
        return _mean(v for (c, _), v in self.scores.items() if c == component)


def _mean(values) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 2) if values else None


def validate(scores: Grid) -> None:
    for (comp, dim), value in scores.items():
        if comp not in COMPONENTS:
            raise ValueError(f"unknown rubric component {comp!r}")
        if dim not in DIMENSIONS:
            raise ValueError(f"unknown rubric dimension {dim!r}")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise ValueError(f"score for {comp}/{dim} must be 1..5, not {value!r}")


def record(db: Database, scores: Grid, note: str = "", when: dt.datetime | None = None) -> int:
    """Store one assessment (all its cells at once); returns its id."""
    validate(scores)
    if not scores:
        raise ValueError("an assessment needs at least one score")
    when = (when or progress.now()).astimezone()
    with db.atomic():
        aid = db["rubric_assessments"].insert(
            {"at": when.isoformat(timespec="seconds"), "date": when.date().isoformat(), "note": note}
        ).last_pk
        db["rubric_scores"].insert_all(
            {"assessment_id": aid, "component": c, "dimension": d, "score": v}
            for (c, d), v in scores.items()
        )
    progress.log_activity(db, "rubric", str(aid), when)
    return aid


def history(db: Database) -> list[Assessment]:
    """Every assessment, oldest first."""
    cells: dict[int, Grid] = {}
    for aid, comp, dim, score in db.execute(
        "select assessment_id, component, dimension, score from rubric_scores"
    ):
        cells.setdefault(aid, {})[(comp, dim)] = score
    return [
        Assessment(aid, at, date, cells.get(aid, {}), note or "")
        for aid, at, date, note in db.execute("select id, at, date, note from rubric_assessments order by at, id")
    ]


def latest(db: Database) -> Assessment | None:
    row = db.execute("select id from rubric_assessments order by at desc, id desc limit 1").fetchone()
    if row is None:
        return None
    scores = {(c, d): s for c, d, s in db.execute(
        "select component, dimension, score from rubric_scores where assessment_id = ?", [row[0]])}
    aid, at, date, note = db.execute(
        "select id, at, date, note from rubric_assessments where id = ?", [row[0]]).fetchone()
    return Assessment(aid, at, date, scores, note or "")


def averages_over_time(db: Database) -> list[tuple[str, float, dict[str, float | None]]]:
    """(time, overall average, component -> average) for each assessment, oldest first."""
    return [
        (a.at, a.average, {c: a.component_average(c) for c in COMPONENTS})
        for a in history(db) if a.scores
    ]


def chart(points: list[tuple[str, float]], target: float = 4.0, width: int = 40) -> str:
    """Plain-text bars on a fixed 0..5 scale with the target marked by '┆'."""
    if not points:
        return ""
    label_w = max(len(label) for label, _ in points)
    mark = round(target / 5 * width)
    lines = []
    for label, value in points:
        n = round(value / 5 * width)
        cells = ["█" if i < n else " " for i in range(width)]
        if mark < width:
            cells[mark] = "┆" if n <= mark else "╪"
        lines.append(f"{label:>{label_w}} │{''.join(cells).rstrip()} {value:.2f}")
    lines.append(f"{'':>{label_w}}  {' ' * mark}↑ target {target:g}")
    return "\n".join(lines)
