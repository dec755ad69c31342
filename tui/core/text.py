"""Small wording helpers shared by the screens and the CLI."""
from __future__ import annotations

import datetime as dt


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 drill', '2 drills', '0 drills'; `many` for irregular words."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def when(stamp: str | dt.datetime | None, now: dt.datetime | None = None) -> str:
    """A stored time as a person says it: 'today 10:48', 'yesterday 09:05',
    '3 days ago', then '2 Dec' (with the year when it is not this year)."""
    if not stamp:
        return "never"
    at = stamp if isinstance(stamp, dt.datetime) else dt.datetime.fromisoformat(stamp)
    at = at.astimezone()  # a naive stamp is local time
    now = (now or dt.datetime.now()).astimezone()
    days = (now.date() - at.date()).days
    if days == 0:
        return f"today {at:%H:%M}"
    if days == 1:
        return f"yesterday {at:%H:%M}"
    if 1 < days < 7:
        return f"{days} days ago"
    return f"{at.day} {at:%b}" + (f" {at.year}" if at.year != now.year else "")


def lesson_title(lesson, kind_word: str = "") -> str:
    """The lesson's title with its kind in front once: a walkthrough titled
    'Walkthrough: X' stays so, never 'Walkthrough: Walkthrough: X'. Plain
    lessons get `kind_word` ('' for none)."""
    word = {"walkthrough": "Walkthrough", "comparison": "Comparison"}.get(lesson.kind, kind_word)
    if not word or lesson.title.lower().startswith(word.lower()):
        return lesson.title
    return f"{word}: {lesson.title}"
