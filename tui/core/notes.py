"""The learner's notes: one Markdown file per day and per lesson under VLEARN_HOME/notes/.

A note is created the first time it is opened, with a short header (a day note quotes the
day's deliverable, a lesson note lists the lesson's objectives as an outline), and is
never written again by vlearn: the file belongs to the learner (grep it, commit it).
Creation uses O_EXCL, so even two vlearn processes opening the same note at once cannot
replace what is there.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .paths import vlearn_home

# Everything under this line in a day note is the learner's own text: a deliverable
# counts as written when something is there (tui.core.deliverables).
MARKER = "<!-- your notes below this line; vlearn created this file and never rewrites it -->"
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class NoteError(ValueError):
    """An unknown day or lesson; the message is one line."""


@dataclass(frozen=True)
class Note:
    kind: str  # day | lesson
    ident: str  # "7" or the lesson id
    path: Path
    header: str  # what a new file starts with

    @property
    def first_line(self) -> int:
        """The line the editor opens at: the blank line that ends the header."""
        return max(1, self.header.count("\n"))


def notes_dir() -> Path:
    return vlearn_home() / "notes"


def day_note_path(day: int) -> Path:
    return notes_dir() / f"day-{day:02d}.md"


def lesson_note_path(lesson_id: str) -> Path:
    return notes_dir() / f"lesson-{lesson_id}.md"


def section(body: str, title: str) -> str | None:
    """The text of a '## title' section of a Markdown page (up to the next '## '),
    stripped; None when the page has no such section or it is empty."""
    lines = body.splitlines()
    out: list[str] | None = None
    for line in lines:
        if line.startswith("## "):
            if out is not None:
                break
            if line[3:].strip().lower() == title.lower():
                out = []
            continue
        if out is not None:
            out.append(line)
    text = "\n".join(out).strip() if out is not None else ""
    return text or None


def deliverable_text(catalog, day: int) -> str | None:
    page = catalog.day_pages.get(day)
    return section(page.body, "Deliverable") if page else None


def day_title(catalog, day: int) -> str:
    page = catalog.day_pages.get(day)
    if page:
        first = page.body.lstrip().splitlines()[0] if page.body.strip() else ""
        if first.startswith("# "):
            return first[2:].strip()
    plan_day = catalog.days.get(day)
    return f"Day {day} — {plan_day.title}" if plan_day else f"Day {day}"


def day_note(catalog, day: int | str) -> Note:
    try:
        number = int(day)
    except (TypeError, ValueError):
        raise NoteError(f"day must be a number, not {day!r}") from None
    if number not in catalog.day_pages and number not in catalog.days:
        known = sorted(set(catalog.day_pages) | set(catalog.days))
        span = f"days {known[0]}-{known[-1]}" if known else "no days in the content"
        raise NoteError(f"no day {number} in the plan ({span})")
    header = f"# {day_title(catalog, number)}: notes\n\n"
    deliverable = deliverable_text(catalog, number)
    if deliverable:
        quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in deliverable.splitlines())
        header += f"Deliverable (from the day page):\n\n{quoted}\n\n"
    header += MARKER + "\n\n"
    return Note("day", str(number), day_note_path(number), header)


def lesson_note(catalog, lesson_id: str) -> Note:
    if not SAFE_ID.fullmatch(lesson_id or "") or lesson_id not in catalog.lessons:
        raise NoteError(f"no lesson {lesson_id!r} (see `vlearn doctor` for the lesson ids)")
    lesson = catalog.lessons[lesson_id]
    header = f"# Notes: {lesson.title} ({lesson.id})\n\n"
    if lesson.objectives:
        header += "Objectives, as an outline to fill in:\n\n" + "".join(f"- {o}\n  - \n" for o in lesson.objectives) + "\n"
    # No marker: the learner writes into the outline; own_text() subtracts the header's lines.
    return Note("lesson", lesson.id, lesson_note_path(lesson.id), header)


def resolve(catalog, kind: str, ident) -> Note:
    if kind == "day":
        return day_note(catalog, ident)
    if kind == "lesson":
        return lesson_note(catalog, str(ident))
    raise NoteError(f"notes are per day or per lesson, not {kind!r}")


def ensure(note: Note) -> bool:
    """Create the note with its header if it does not exist; True when it was created.
    An existing file is never opened for writing."""
    note.path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(note.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(note.header)
    return True


def read(note: Note) -> str | None:
    try:
        return note.path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def own_text(note: Note) -> str:
    """What the learner wrote: the text under the marker line, or, when the marker was
    deleted, every line that is not part of the header vlearn would create."""
    text = read(note)
    if text is None:
        return ""
    if MARKER in text:
        return text.split(MARKER, 1)[1].strip()
    header_lines = {line.strip() for line in note.header.splitlines()}
    return "\n".join(line for line in text.splitlines() if line.strip() and line.strip() not in header_lines).strip()


def has_content(note: Note) -> bool:
    return bool(own_text(note))


def editor_argv(note: Note) -> list[str] | None:
    """The editor command for this note (created first), or None when no editor is known."""
    from .paths import editor, editor_command

    chosen = editor()
    if chosen is None:
        return None
    return editor_command(chosen[0], str(note.path), note.first_line)
