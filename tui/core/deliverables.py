"""Each day page's "Deliverable" section as a checklist item.

A deliverable is done only when the learner has ticked it AND its day note
(tui.core.notes) holds text of their own under the header vlearn created: a tick on
an empty note is a claim without evidence. The tick lives in the checklist table
under the item key "deliverable" (the plan's own checklist keys never use it, so
plan progress is unchanged).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import notes
from .store import progress

ITEM = "deliverable"


@dataclass(frozen=True)
class Deliverable:
    day: int
    week: int | None
    title: str
    text: str
    ticked_at: str | None
    note_path: Path
    note_exists: bool
    note_written: bool  # the note has the learner's own text

    @property
    def ticked(self) -> bool:
        return self.ticked_at is not None

    @property
    def done(self) -> bool:
        return self.ticked and self.note_written

    @property
    def state(self) -> str:
        if self.done:
            return "done"
        if self.ticked:
            return "ticked, but the note is empty"
        if self.note_written:
            return "note written, not ticked"
        return "open"


def _ticks(db) -> dict[int, str]:
    return {day: at for day, at in db.execute("select day, done_at from checklist where item = ?", [ITEM])}


def days_with_deliverables(catalog) -> list[int]:
    return sorted(d for d in catalog.day_pages if notes.deliverable_text(catalog, d))


def get(catalog, db, day: int, ticks: dict[int, str] | None = None) -> Deliverable:
    text = notes.deliverable_text(catalog, day)
    if text is None:
        raise notes.NoteError(f"day {day} has no Deliverable section on its day page")
    note = notes.day_note(catalog, day)
    ticks = _ticks(db) if ticks is None else ticks
    plan_day = catalog.days.get(day)
    return Deliverable(day, plan_day.week if plan_day else None, notes.day_title(catalog, day), text,
                       ticks.get(day), note.path, note.path.exists(), notes.has_content(note))


def listing(catalog, db, week: int | None = None) -> list[Deliverable]:
    ticks = _ticks(db)
    items = [get(catalog, db, d, ticks) for d in days_with_deliverables(catalog)]
    return [i for i in items if week is None or i.week == week]


def tick(catalog, db, day: int, done: bool = True) -> Deliverable:
    """Tick (or untick) a day's deliverable; returns its state afterwards."""
    get(catalog, db, day)  # an unknown day or one without a deliverable is a NoteError
    progress.set_done(db, day, ITEM, done)
    return get(catalog, db, day)


def is_done(catalog, db, day: int) -> bool:
    return get(catalog, db, day).done


def one_line(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def report_text(items: list[Deliverable]) -> str:
    if not items:
        return "no deliverables"
    mark = {"done": "[x]", "open": "[ ]"}
    lines = []
    for d in items:
        lines.append(f"{mark.get(d.state, '[~]')} day {d.day:>2}  {d.state}")
        lines.append(f"       {one_line(d.text)}")
        lines.append(f"       note: {d.note_path}" + ("" if d.note_exists else " (not created yet)"))
    done = sum(d.done for d in items)
    lines.append(f"{done} of {len(items)} done (done = ticked and the day note has your own text)")
    return "\n".join(lines)
