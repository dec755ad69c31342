"""Backup, integrity check and recovery of progress.db (`vlearn db ...`).

All three read the database through read-only connections: a damaged file is
never written to, and recovery writes a new file beside it."""
from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import _readonly_connect


def default_backup_path(db_path: Path, kind: str = "backup") -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return db_path.parent / "backups" / f"progress-{kind}-{stamp}.db"


def _fresh_target(target: Path) -> Path:
    """A temporary file beside `target` (renamed into place on success)."""
    if target.exists():
        raise FileExistsError(f"{target} already exists; name another file")
    tmp = target.with_name(f".{target.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    return tmp


@contextlib.contextmanager
def _folder_for(target: Path):
    """Create the target's folder if needed; remove it again (when still empty) on failure."""
    made = []
    folder = target.parent
    while not folder.exists():
        made.append(folder)
        folder = folder.parent
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for folder in made:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def backup(db_path: Path, target: Path) -> Path:
    """A consistent copy through SQLite's online backup API (safe while other
    vlearn processes write). The copy appears only when complete."""
    with _folder_for(target):
        return _backup(db_path, target)


def _backup(db_path: Path, target: Path) -> Path:
    tmp = _fresh_target(target)
    src = _readonly_connect(db_path)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
        tmp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    finally:
        src.close()
    return target


def integrity(db_path: Path, full: bool = True) -> list[str]:
    """[] when intact; otherwise SQLite's findings (first 20)."""
    conn = _readonly_connect(db_path)
    try:
        pragma = "integrity_check(20)" if full else "quick_check(20)"
        rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}").fetchall()]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()
    return [] if rows == ["ok"] else rows


@dataclass
class Recovery:
    target: Path
    method: str
    rows: dict[str, int] = field(default_factory=dict)
    lost: dict[str, str] = field(default_factory=dict)  # table -> what could not be read
    problems: list[str] = field(default_factory=list)  # integrity of the new file ([] = ok)


def _recover_with_cli(db_path: Path, tmp: Path) -> bool:
    """The sqlite3 shell's `.recover` (reads pages directly, salvages what a
    damaged b-tree hides). False when the shell is missing or fails."""
    shell = shutil.which("sqlite3")
    if not shell:
        return False
    dump = subprocess.run([shell, "-readonly", str(db_path), ".recover"], capture_output=True, timeout=600)
    if dump.returncode != 0 or not dump.stdout:
        return False
    load = subprocess.run([shell, str(tmp)], input=dump.stdout, capture_output=True, timeout=600)
    return load.returncode == 0


def _recover_in_python(db_path: Path, tmp: Path, result: Recovery) -> None:
    """Table by table, row by row in rowid order; past an unreadable stretch,
    seek further on (doubling the jump) so rows after a damaged page still come."""
    src = _readonly_connect(db_path)
    dst = sqlite3.connect(tmp)
    try:
        schema = src.execute(
            "select type, name, sql from sqlite_master where sql is not null and name not like 'sqlite_%' "
            "order by type = 'table' desc").fetchall()
        tables = [name for kind, name, _ in schema if kind == "table"]
        for kind, _name, sql in schema:
            if kind == "table":
                dst.execute(sql)
        for table in tables:
            cols = [r[1] for r in src.execute(f"PRAGMA table_info([{table}])")]
            marks = ",".join("?" * (len(cols) + 1))
            insert = f"insert or ignore into [{table}](rowid, {', '.join(f'[{c}]' for c in cols)}) values ({marks})"
            last, jump, copied = -(2**63), 1, 0
            try:
                top = src.execute(f"select max(rowid) from [{table}]").fetchone()[0]
            except sqlite3.DatabaseError:
                top = None
            while True:
                try:
                    rows = src.execute(f"select rowid, * from [{table}] where rowid > ? order by rowid limit 500",
                                       [last]).fetchall()
                except sqlite3.DatabaseError as exc:
                    result.lost[table] = str(exc)
                    if top is None or last >= top:
                        break
                    last, jump = min(last + jump, top), jump * 2
                    continue
                if not rows:
                    break
                jump = 1
                dst.executemany(insert, rows)
                copied += len(rows)
                last = rows[-1][0]
            result.rows[table] = copied
        for kind, _name, sql in schema:
            if kind != "table":
                with contextlib.suppress(sqlite3.DatabaseError):
                    dst.execute(sql)
        dst.commit()
    finally:
        src.close()
        dst.close()


def recover(db_path: Path, target: Path) -> Recovery:
    """Copy what can be read from `db_path` into a new file `target`; the
    original is left exactly as it was."""
    with _folder_for(target):
        return _recover(db_path, target)


def _recover(db_path: Path, target: Path) -> Recovery:
    tmp = _fresh_target(target)
    result = Recovery(target, "")
    try:
        if _recover_with_cli(db_path, tmp):
            result.method = "sqlite3 .recover"
        else:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            result.method = "row-by-row copy"
            _recover_in_python(db_path, tmp, result)
        conn = sqlite3.connect(tmp)
        try:
            names = [r[0] for r in conn.execute(
                "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")]
            if result.method == "sqlite3 .recover":
                result.rows = {n: conn.execute(f"select count(*) from [{n}]").fetchone()[0] for n in names}
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)").fetchall()]
            result.problems = [] if rows == ["ok"] else rows
            conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            conn.close()
        tmp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return result


class RestoreRefused(Exception):
    """Restoring would lose newer study records (the message says which)."""


def latest_activity(path: Path) -> str | None:
    """When the database last recorded study (its newest activity stamp), or None."""
    conn = _readonly_connect(path)
    try:
        return conn.execute("select max(at) from activity").fetchone()[0]
    except sqlite3.Error:
        return None  # no activity table yet: nothing recorded
    finally:
        conn.close()


def restore(db_path: Path, source: Path, force: bool = False) -> Path | None:
    """Put the backup `source` in place of `db_path` through SQLite's online backup
    API (other vlearn processes wait for the lock, then see the restored data).
    The backup must be an intact database this vlearn understands; when the current
    database holds newer study records, it is refused unless `force`. The current
    database is first copied to backups/ (returned; None when there was none)."""
    from . import _inspect, busy_seconds

    _inspect(source, busy_seconds(), check=True)  # a StoreError names what is wrong with it
    if db_path.exists():
        here, there = latest_activity(db_path), latest_activity(source)
        if here and (not there or here > there) and not force:
            raise RestoreRefused(f"{db_path} has study recorded up to {here}, newer than the backup's "
                                 f"{there or '(none)'}; restoring would lose it (--force restores anyway)")
        safety = backup(db_path, default_backup_path(db_path, "before-restore"))
    else:
        safety = None
    src = _readonly_connect(source)
    dst = sqlite3.connect(db_path, timeout=busy_seconds())
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return safety
