"""progress.db: migrations, reopening, refusal of foreign or newer files."""
from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from tui.core.store import StoreError, migration_sets, open_store, progress


def test_fresh_file_gets_every_migration_and_wal(tmp_path):
    path = tmp_path / "progress.db"
    db = open_store(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    applied = {(r[0], r[1]) for r in db.execute("select migration_set, name from _sqlite_migrations")}
    expected = {(s.name, m.name) for s in migration_sets() for m in s._migrations}
    assert applied == expected
    assert {"settings", "checklist", "lessons_read", "activity"} <= set(db.table_names())


def test_reopening_keeps_data_and_applies_nothing_twice(tmp_path):
    path = tmp_path / "progress.db"
    db = open_store(path)
    progress.set_done(db, 3, "lesson:x", True)
    count = db.execute("select count(*) from _sqlite_migrations").fetchone()[0]
    db.close()
    db = open_store(path)
    assert progress.done_items(db, 3) == {"lesson:x"}
    assert db.execute("select count(*) from _sqlite_migrations").fetchone()[0] == count


def test_newer_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "progress.db"
    open_store(path).close()
    con = sqlite3.connect(path)
    con.execute("insert into _sqlite_migrations(migration_set, name, applied_at) values ('vlearn.core', 'm999_future', 'x')")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer vlearn.*m999_future"):
        open_store(path)
    assert path.read_bytes() == before


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path):
    path = tmp_path / "progress.db"
    path.write_bytes(b"this is not sqlite" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="cannot open the progress database"):
        open_store(path)
    assert path.read_bytes() == before


def test_ticks_and_lessons_and_start_date(db):
    assert progress.start_date(db, create=False) is None
    start = progress.start_date(db)
    assert start == progress.today() and progress.start_date(db) == start
    progress.set_done(db, 1, "lesson:a", True)
    progress.set_done(db, 1, "lab:b", True)
    progress.set_done(db, 1, "lab:b", False)
    assert progress.done_items(db, 1) == {"lesson:a"}
    progress.mark_lesson_read(db, "a")
    progress.mark_lesson_read(db, "a")
    assert progress.lessons_read(db) == {"a"}


def test_streak_counts_consecutive_active_days(db):
    today = dt.date(2026, 11, 22)
    for days_ago in (0, 1, 2, 4):
        when = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(10))
        progress.log_activity(db, "tick", "x", when=when)
    assert progress.streak(db, today) == 3
    # Before today's first activity the streak still counts up to yesterday.
    assert progress.streak(db, today + dt.timedelta(days=1)) == 3
    assert progress.streak(db, today + dt.timedelta(days=2)) == 0


def test_a_write_from_one_thread_survives_another_threads_rollback(tmp_path):
    """The UI thread and a worker share the connection: a tick committed by one
    must not ride on (and die with) the other's open transaction."""
    import threading

    db = open_store(tmp_path / "progress.db")
    inside, release = threading.Event(), threading.Event()

    def worker():
        try:
            with db.atomic():
                db.execute("insert into settings(key, value) values ('doomed', 'x')")
                inside.set()
                release.wait(10)
                raise RuntimeError("the model call failed mid-transaction")
        except RuntimeError:
            pass

    thread = threading.Thread(target=worker)
    thread.start()
    assert inside.wait(10)
    ticker = threading.Thread(target=progress.set_done, args=(db, 3, "lesson:x", True))
    ticker.start()  # blocks until the worker's transaction is over
    release.set()
    thread.join(10)
    ticker.join(10)
    fresh = open_store(tmp_path / "progress.db")
    assert progress.done_items(fresh, 3) == {"lesson:x"}
    assert progress.get_setting(fresh, "doomed") is None
