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
import os
import pkgutil
import sqlite3
import threading
import time
from pathlib import Path

from sqlite_utils import Database, Migrations

MIGRATIONS_TABLE = Migrations.migrations_table

# How long a write waits for another vlearn process (a review in a terminal
# beside the TUI, `vlearn check` beside `vlearn review`) before giving up with
# a one-line message. Writes take milliseconds; only a stuck process or a
# sqlite3 shell with an open transaction holds the lock this long. The TUI
# waits less so that its screen does not sit frozen for half a minute.
BUSY_ENV = "VLEARN_BUSY_TIMEOUT"
CLI_BUSY_S = 30.0
TUI_BUSY_S = 5.0


def busy_seconds(default: float = CLI_BUSY_S) -> float:
    value = os.environ.get(BUSY_ENV)
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    return default


class StoreError(Exception):
    """progress.db cannot be used; the message says why and where."""


class StoreBusy(StoreError):
    """Another process held the write lock for longer than the busy wait."""


class StoreWriteError(StoreError):
    """A write failed for a reason the learner can fix (read-only file or folder, full disk)."""


class StoreDamaged(StoreError):
    """The file is damaged; nothing more is written to it."""


def _classify(exc: sqlite3.Error) -> str | None:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "busy"
    if "readonly" in text or "read-only" in text:
        return "readonly"
    if "full" in text:
        return "full"
    if "malformed" in text or "corrupt" in text:
        return "damaged"
    if "disk i/o" in text or "unable to open" in text:
        return "io"
    return None


def _read_only(path: Path | str) -> bool:
    """The file or its folder cannot be written (permissions or a read-only mount)."""
    path = Path(path)
    folder = _existing_folder(path)
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK))


def _existing_folder(path: Path | str) -> Path:
    folder = Path(path).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _disk_full(path: Path | str) -> bool:
    try:
        st = os.statvfs(_existing_folder(path))
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 256 * 1024


def os_error_line(path: Path | str, exc: OSError) -> str:
    """One line for a file we could not write (caches, backups, exports)."""
    import errno

    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{path}: the folder is read-only ({exc.strerror}); nothing was written"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{path}: the disk is full; nothing was written. Free some space and try again"
    return f"{path}: {exc.strerror or exc}; nothing was written"


def translate(exc: sqlite3.Error, path: Path | str, busy_s: float) -> StoreError | None:
    """The StoreError a learner can act on for this SQLite failure, or None."""
    kind = _classify(exc)
    if kind in ("io", None) and _read_only(path):
        kind = "readonly"
    elif kind == "io" and _disk_full(path):
        kind = "full"  # SQLite reports ENOSPC while growing the -shm as a plain I/O error
    if kind == "busy":
        return StoreBusy(
            f"{path}: another vlearn process kept the progress database busy for over "
            f"{busy_s:g} s; this step was not saved. Close the other process (or finish its "
            "action) and try again."
        )
    if kind == "readonly":
        return StoreWriteError(
            f"{path}: the progress database (or its folder) is read-only; nothing was saved. "
            "Make it writable, or point VLEARN_HOME at a writable folder."
        )
    if kind == "full":
        return StoreWriteError(
            f"{path}: the disk is full; nothing was saved. Free some space and try again."
        )
    if kind == "damaged":
        return StoreDamaged(damaged_message(path, str(exc)))
    if kind == "io":
        return StoreWriteError(f"{path}: the disk reported an error ({exc}); nothing was saved.")
    return None


def damaged_message(path: Path | str, detail: str) -> str:
    return (
        f"{path}: the progress database is damaged ({detail}); vlearn will not write to it. "
        "`vlearn db recover` copies what can be read into a new file (the original is kept); "
        "`vlearn db backup FILE` copies it as it is."
    )


class SharedDatabase(Database):
    """One connection used by the UI thread and by workers (an interview's model
    calls run in a thread). sqlite-utils' atomic() nests as a SAVEPOINT when the
    connection is already in a transaction, so a second thread's write could be
    rolled back by the first thread's failure after its call had returned. A lock
    held for the whole atomic block makes each thread's transaction its own.

    Between processes: every outermost write transaction starts with BEGIN
    IMMEDIATE, so it takes the write lock (waiting up to the busy timeout) before
    it reads anything. A deferred BEGIN would read first and then fail at once
    with `database is locked` when another process committed in between (SQLite
    cannot wait there without deadlocking). SQLite errors a learner can act on
    (busy past the wait, read-only, disk full, damage) surface as StoreError
    subclasses with one-line messages."""

    path: Path | str = "progress.db"
    busy_s: float = CLI_BUSY_S
    damaged: str | None = None  # set when an integrity check failed: writes are refused

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._write_lock = threading.RLock()
        self._checked = threading.Event()  # the integrity verdict is in (set at once unless checked in a thread)
        self._checked.set()

    def _translated(self, exc: sqlite3.Error) -> StoreError | None:
        return translate(exc, self.path, self.busy_s)

    def execute(self, sql, parameters=None):
        try:
            return super().execute(sql, parameters)
        except sqlite3.Error as exc:
            mapped = self._translated(exc)
            if mapped is None:
                raise
            raise mapped from exc

    @contextlib.contextmanager
    def atomic(self):
        with self._write_lock:
            if self.conn.in_transaction:
                with super().atomic() as db:  # nested: a savepoint in the open transaction
                    yield db
                return
            self._checked.wait()  # a background quick_check still running: its verdict first
            if self.damaged:
                raise StoreDamaged(damaged_message(self.path, self.damaged))
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise (self._translated(exc) or exc) from exc
            try:
                yield self
            except BaseException as exc:
                self.rollback()
                if isinstance(exc, sqlite3.Error) and (mapped := self._translated(exc)) is not None:
                    raise mapped from exc
                raise
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self.rollback()
                raise (self._translated(exc) or exc) from exc


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


def _pending(db: Database, sets: list[Migrations]) -> bool:
    return any(migrations.pending(db) for migrations in sets)


def _use_wal(db: SharedDatabase, deadline: float) -> None:
    """Switch to WAL (persistent; a no-op once done). Changing the journal mode
    needs an exclusive lock, and SQLite can report busy here without waiting,
    so retry until the deadline."""
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            db.execute("PRAGMA journal_mode=WAL")
            return
        except StoreBusy:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)  # back off before retrying the lock (not waiting on work)


# quick_check reads every page: 0.12-0.4 s for a 50 MB database on this
# 2-core machine (bench/store_check.py measures it), too much for the TUI's
# start-up budget. Up to this size it runs before the store is returned;
# above it the app runs it in a thread and every write waits for its verdict.
SYNC_CHECK_BYTES = 4 * 1024 * 1024


def _readonly_connect(path: Path) -> sqlite3.Connection:
    from urllib.parse import quote

    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, check_same_thread=False)


def quick_check(path: Path | str) -> str | None:
    """None when SQLite's quick_check passes; otherwise what it found (first lines).
    Uses a read-only connection, so a damaged file is not written to."""
    conn = _readonly_connect(Path(path))
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()
    return None if rows == ["ok"] else "; ".join(rows)


def _inspect(path: Path, busy_s: float, check: bool) -> None:
    """Everything decided before the first write, through a read-only
    connection (which never checkpoints or changes the journal mode): is it a
    database, does this vlearn understand its schema, is it intact."""
    try:
        conn = _readonly_connect(path)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_s * 1000)}")
        ro = SharedDatabase(conn, execute_plugins=False)
        ro.path, ro.busy_s = path, busy_s
    except sqlite3.Error as exc:
        raise translate(exc, path, busy_s) or StoreError(f"{path}: cannot open the progress database ({exc})") from exc
    try:
        try:
            ro.execute("select count(*) from sqlite_master").fetchone()
        except StoreError:
            raise
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{path}: cannot open the progress database ({exc}). It has not been changed; "
                "move it aside to start afresh, or try `vlearn db recover`."
            ) from exc
        _refuse_newer(ro, migration_sets(), path)
        if check:
            problem = None
            try:
                rows = [r[0] for r in ro.execute("PRAGMA quick_check(5)").fetchall()]
                problem = None if rows == ["ok"] else "; ".join(rows)
            except StoreDamaged as exc:
                problem = str(exc.__cause__ or exc)
            except sqlite3.DatabaseError as exc:  # raised while fetching the verdict
                problem = str(exc)
            if problem:
                raise StoreDamaged(damaged_message(path, problem))
    finally:
        conn.close()


def _background_check(db: SharedDatabase) -> None:
    def run() -> None:
        try:
            db.damaged = quick_check(db.path)
        except sqlite3.Error as exc:
            if _classify(exc) == "damaged":
                db.damaged = str(exc)
        finally:
            db._checked.set()

    threading.Thread(target=run, name="vlearn-quick-check", daemon=True).start()


def open_store(path: Path | str | None = None, *, busy_s: float | None = None,
               check: str = "sync") -> Database:
    """Open (creating if absent) and migrate progress.db. Raises StoreError.

    Order matters: nothing is written (not even the journal mode) before the
    file is known to be a vlearn database this code understands and intact,
    and the migrations run under one write lock, so two first starts
    serialise: one migrates, the other waits, finds nothing pending and
    proceeds. `check`: "sync" runs quick_check first; "background" runs it
    first only for small files or when an upgrade is due, else in a thread,
    and every write waits for its verdict (a damaged file is never written);
    "off" skips it (backup and recovery read damaged files on purpose)."""
    from ..paths import database_path

    path = Path(path) if path else database_path()
    busy_s = busy_seconds() if busy_s is None else busy_s
    if path.exists() and not path.is_file():
        raise StoreError(f"{path}: exists but is not a file")
    size = path.stat().st_size if path.exists() else 0
    later = check == "background" and size > SYNC_CHECK_BYTES
    if size:
        _inspect(path, busy_s, check == "sync" or (check == "background" and not later))
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=busy_s)
    except sqlite3.Error as exc:
        raise translate(exc, path, busy_s) or StoreError(f"{path}: cannot open the progress database ({exc})") from exc
    db = SharedDatabase(conn, execute_plugins=False)  # no sqlite-utils plugins: skips an entry-point scan
    db.path, db.busy_s = path, busy_s
    try:
        db.execute("select count(*) from sqlite_master").fetchone()
        sets = migration_sets()
        _refuse_newer(db, sets, path)  # a file created since _inspect (another first start)
        pending = _pending(db, sets)
        if later and pending:
            _inspect(path, busy_s, True)  # an upgrade writes: know the file is intact first
            later = False
        _use_wal(db, time.monotonic() + busy_s)
        db.execute("PRAGMA foreign_keys=ON")
        if pending:
            with db.atomic():
                _refuse_newer(db, sets, path)  # another process may have written meanwhile
                for migrations in sets:
                    migrations.apply(db)
    except StoreError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(
            f"{path}: cannot open the progress database ({exc}). "
            "It has not been changed; move it aside to start afresh."
        ) from exc
    if later:
        db._checked.clear()
        _background_check(db)
    return db
