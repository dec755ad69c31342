"""The learner's progress database: progress.db under VLEARN_HOME.

Schema changes go through sqlite-utils' migrations. Each feature owns one
migration set in a `schema_*.py` module here (found automatically), so
features never fight over one list. A database we cannot open, or one that
has migrations this code does not know (written by a newer vlearn), is
reported with `StoreError` and left exactly as it was.
"""
from __future__ import annotations

import contextlib
import importlib
import pkgutil
import sqlite3
import threading
from pathlib import Path

from sqlite_utils import Database, Migrations

MIGRATIONS_TABLE = Migrations.migrations_table


class SharedDatabase(Database):
    """One connection used by the UI thread and by workers (an interview's model
    calls run in a thread). sqlite-utils' atomic() nests as a SAVEPOINT when the
    connection is already in a transaction, so a second thread's write could be
    rolled back by the first thread's failure after its call had returned. A lock
    held for the whole atomic block makes each thread's transaction its own."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._write_lock = threading.RLock()

    @contextlib.contextmanager
    def atomic(self):
        with self._write_lock, super().atomic() as db:
            yield db


class StoreError(Exception):
    """progress.db cannot be used; the message says why and where."""


def migration_sets() -> list[Migrations]:
    sets = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("schema_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            sets.append(module.migrations)
    return sets


def _refuse_newer(db: Database, sets: list[Migrations], path: Path) -> None:
    if not db[MIGRATIONS_TABLE].exists():
        return
    known = {(s.name, m.name) for s in sets for m in s._migrations}
    rows = db.execute(f"select migration_set, name from [{MIGRATIONS_TABLE}]").fetchall()
    unknown = [f"{s}/{n}" for s, n in rows if (s, n) not in known]
    if unknown:
        raise StoreError(
            f"{path}: this progress database was written by a newer vlearn "
            f"(unknown schema steps: {', '.join(unknown[:5])}). Upgrade vlearn; "
            "the file has not been changed."
        )


def open_store(path: Path | str | None = None) -> Database:
    """Open (creating if absent) and migrate progress.db. Raises StoreError."""
    from ..paths import database_path

    path = Path(path) if path else database_path()
    if path.exists() and not path.is_file():
        raise StoreError(f"{path}: exists but is not a file")
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
        db = SharedDatabase(conn, execute_plugins=False)  # no sqlite-utils plugins: skips an entry-point scan
        # Touch the file to find out early whether it is a database at all.
        db.execute("select count(*) from sqlite_master").fetchone()
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path}: cannot open the progress database ({exc}). "
            "It has not been changed; move it aside to start afresh."
        ) from exc
    sets = migration_sets()
    _refuse_newer(db, sets, path)
    try:
        for migrations in sets:
            migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: could not upgrade the database schema ({exc})") from exc
    return db
