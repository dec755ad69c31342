"""vlearn db check|backup|recover: look after progress.db.

`check` runs SQLite's full integrity check; `backup [FILE]` copies the
database through SQLite's online backup API (safe while vlearn runs);
`recover [FILE]` copies whatever can still be read from a damaged database
into a new file, keeping the original untouched. Those three only read it.
`restore FILE [--force]` puts a backup in its place, refusing when progress.db
holds newer study records, after copying the current one to backups/."""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("db", help="check, back up or recover your progress database")
    actions = p.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    c = actions.add_parser("check", help="SQLite's full integrity check (read-only)")
    c.set_defaults(func=run_check)
    b = actions.add_parser("backup", help="copy progress.db safely, even while vlearn runs")
    b.add_argument("file", nargs="?", help="where to write it (default: VLEARN_HOME/backups/progress-backup-DATE.db)")
    b.set_defaults(func=run_backup)
    r = actions.add_parser("recover", help="copy what can be read from a damaged progress.db into a new file")
    r.add_argument("file", nargs="?", help="where to write it (default: VLEARN_HOME/backups/progress-recovered-DATE.db)")
    r.set_defaults(func=run_recover)
    s = actions.add_parser("restore", help="put a backup in place of progress.db (the current one is kept in backups/)")
    s.add_argument("file", help="the backup to restore (from `vlearn db backup`)")
    s.add_argument("--force", action="store_true", help="restore even when progress.db has newer study records")
    s.set_defaults(func=run_restore)


def _db_path() -> Path | None:
    from ..core.paths import database_path

    path = database_path()
    if not path.is_file():
        print(f"error: {path}: no progress database yet", file=sys.stderr)
        return None
    return path


def _fail(what: str, exc: BaseException) -> int:
    import sqlite3

    from ..core.store import translate

    if isinstance(exc, sqlite3.Error):
        mapped = translate(exc, what, 0)
        if mapped is not None:
            print(f"error: {mapped}", file=sys.stderr)
            return 1
    if isinstance(exc, OSError) and exc.errno is not None:
        from ..core.store import os_error_line

        print(f"error: {os_error_line(what, exc)}", file=sys.stderr)
    else:
        print(f"error: {what}: {exc}; nothing was written", file=sys.stderr)
    return 1


def run_check(args) -> int:
    from ..core.store.maintenance import integrity

    path = _db_path()
    if path is None:
        return 1
    problems = integrity(path)
    if not problems:
        print(f"{path}: intact (integrity_check ok)")
        return 0
    print(f"{path}: damaged:", *problems[:10], sep="\n  ")
    print("`vlearn db backup` copies it as it is; `vlearn db recover` copies what can be read into a new file.")
    return 1


def run_backup(args) -> int:
    from ..core.store.maintenance import backup, default_backup_path

    path = _db_path()
    if path is None:
        return 1
    target = Path(args.file).expanduser() if args.file else default_backup_path(path)
    try:
        backup(path, target)
    except (OSError, Exception) as exc:  # noqa: BLE001 - one line for any failure, the partial copy removed
        return _fail(str(target), exc)
    print(f"backed up {path} to {target}")
    return 0


def run_recover(args) -> int:
    from ..core.store.maintenance import default_backup_path, recover

    path = _db_path()
    if path is None:
        return 1
    target = Path(args.file).expanduser() if args.file else default_backup_path(path, "recovered")
    try:
        result = recover(path, target)
    except (OSError, Exception) as exc:  # noqa: BLE001
        return _fail(str(target), exc)
    print(f"recovered into {target} ({result.method}); the original {path} is unchanged")
    for table, count in sorted(result.rows.items()):
        if not table.startswith("_"):
            note = f"  (unreadable parts skipped: {result.lost[table]})" if table in result.lost else ""
            print(f"  {table}: {count} rows{note}")
    if result.problems:
        print("the new file still fails its integrity check:", *result.problems[:5], sep="\n  ")
        return 1
    print(f"to use it: move {path} aside (keep it), then copy {target} to {path}")
    return 0


def run_restore(args) -> int:
    from ..core.paths import database_path
    from ..core.store import StoreError
    from ..core.store.maintenance import RestoreRefused, restore

    source = Path(args.file).expanduser()
    if not source.is_file():
        print(f"error: {source}: no such backup file", file=sys.stderr)
        return 1
    path = database_path()
    try:
        safety = restore(path, source, force=args.force)
    except RestoreRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"error: {source}: not restored: {exc}", file=sys.stderr)
        return 1
    except (OSError, Exception) as exc:  # noqa: BLE001 - one line, never a traceback
        return _fail(str(path), exc)
    kept = f"; the previous one is kept as {safety}" if safety else ""
    print(f"restored {source} into {path}{kept}")
    return 0
