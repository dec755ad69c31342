"""Small repository functions over the core tables (schema_core)."""
from __future__ import annotations

import datetime as dt

from sqlite_utils import Database


def now() -> dt.datetime:
    return dt.datetime.now().astimezone()


def stamp() -> str:
    """Now, local, to the second: how every table stores a time."""
    return now().isoformat(timespec="seconds")


def today() -> dt.date:
    return now().date()


def get_setting(db: Database, key: str, default: str | None = None) -> str | None:
    """A setting as text. The keys a person chooses (tui.core.config.KEYS: theme,
    editor, model endpoint, SRS options, remote runner) live in the TOML settings
    file; everything else the app records lives in the `settings` table."""
    from .. import config

    if key in config.KEYS:
        config.migrate_from_db(db)
        value = config.get(key)
        return default if value is None else str(value)
    row = db.execute("select value from settings where key = ?", [key]).fetchone()
    return row[0] if row else default


def set_setting(db: Database, key: str, value: str) -> None:
    from .. import config

    if key in config.KEYS:
        config.migrate_from_db(db)
        config.set_value(key, value)
        return
    with db.atomic():
        db.execute("insert or replace into settings(key, value) values (?, ?)", [key, value])


def delete_setting(db: Database, key: str) -> None:
    from .. import config

    if key in config.KEYS:
        config.migrate_from_db(db)
        config.unset(key)
        return
    with db.atomic():
        db.execute("delete from settings where key = ?", [key])


def start_date(db: Database, *, create: bool = True) -> dt.date | None:
    """The learner's day 1. Set to today the first time it is asked for."""
    value = get_setting(db, "start_date")
    if value is None:
        if not create:
            return None
        value = today().isoformat()
        set_setting(db, "start_date", value)
    return dt.date.fromisoformat(value)


def log_activity(db: Database, kind: str, ref: str = "", when: dt.datetime | None = None) -> None:
    when = when or now()
    with db.atomic():
        db.execute(
            "insert into activity(at, date, kind, ref) values (?, ?, ?, ?)",
            [when.isoformat(timespec="seconds"), when.date().isoformat(), kind, ref],
        )


def set_done(db: Database, day: int, item: str, done: bool) -> None:
    """Tick or untick one checklist item; committed before returning."""
    with db.atomic():
        if done:
            db.execute(
                "insert or ignore into checklist(day, item, done_at) values (?, ?, ?)",
                [day, item, stamp()],
            )
        else:
            db.execute("delete from checklist where day = ? and item = ?", [day, item])
    if done:
        log_activity(db, "tick", f"{day}:{item}")


def was_ticked(db: Database, day: int, item: str) -> bool:
    """Ticked now, or ticked once and unticked since (set_done logs every tick)."""
    return item in done_items(db, day) or db.execute(
        "select 1 from activity where kind = 'tick' and ref = ? limit 1", [f"{day}:{item}"]).fetchone() is not None


def done_items(db: Database, day: int | None = None) -> set[tuple[int, str]] | set[str]:
    if day is None:
        return {(d, i) for d, i in db.execute("select day, item from checklist")}
    return {row[0] for row in db.execute("select item from checklist where day = ?", [day])}


def mark_lesson_read(db: Database, lesson_id: str) -> None:
    at = stamp()
    with db.atomic():
        db.execute(
            "insert into lessons_read(lesson_id, first_read_at, last_read_at) values (?, ?, ?) "
            "on conflict(lesson_id) do update set last_read_at = excluded.last_read_at",
            [lesson_id, at, at],
        )
    log_activity(db, "read", lesson_id)


def mark_lesson_finished(db: Database, lesson_id: str) -> bool:
    """The learner reached the end of the lesson; True the first time."""
    with db.atomic():
        changed = db.execute(
            "update lessons_read set finished_at = ? where lesson_id = ? and finished_at is null",
            [stamp(), lesson_id],
        ).rowcount
    return bool(changed)


def lessons_finished(db: Database) -> set[str]:
    return {row[0] for row in db.execute("select lesson_id from lessons_read where finished_at is not null")}


def lessons_read(db: Database) -> set[str]:
    return {row[0] for row in db.execute("select lesson_id from lessons_read")}


def active_dates(db: Database) -> set[dt.date]:
    return {dt.date.fromisoformat(row[0]) for row in db.execute("select distinct date from activity")}


def streak(db: Database, on: dt.date | None = None) -> int:
    """Consecutive days with any study activity, ending today (or yesterday,
    so a streak is not lost before today's work has started)."""
    on = on or today()
    dates = active_dates(db)
    day = on if on in dates else on - dt.timedelta(days=1)
    count = 0
    while day in dates:
        count += 1
        day -= dt.timedelta(days=1)
    return count
