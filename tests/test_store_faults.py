"""Damaged, newer, read-only and full storage (issue 16), with real files and processes.

Read-only and full-disk cases mount a small tmpfs (root or CAP_SYS_ADMIN);
elsewhere they skip with the reason."""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tui.core import fsutil
from tui.core.store import StoreDamaged, StoreError, open_store, progress

FIXTURE = Path(__file__).parent / "fixtures" / "decks"
VLEARN = [sys.executable, "-c", "import sys; from tui.cli import main; sys.exit(main())"]


def vlearn(home: Path, *args, stdin: str = "", content: Path = FIXTURE) -> subprocess.CompletedProcess:
    env = {**os.environ, "VLEARN_HOME": str(home), "VLEARN_CONTENT": str(content), "COLUMNS": "80"}
    return subprocess.run(VLEARN + list(args), input=stdin, capture_output=True, text=True, env=env, timeout=120)


def digest(*paths: Path) -> list[str | None]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None for p in paths]


def one_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def filled_store(path: Path, ticks: int = 3000) -> None:
    """A real progress.db with enough rows to span many pages, checkpointed
    into the main file (so page damage hits committed data)."""
    db = open_store(path)
    with db.atomic():
        for i in range(ticks):
            db.execute("insert into activity(at, date, kind, ref) values (?, ?, ?, ?)",
                       ["2026-01-01T10:00:00", "2026-01-01", "tick", f"item-{i:05d}-" + "x" * 40])
    progress.set_done(db, 1, "lesson:a", True)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def damage_a_page(path: Path) -> None:
    """Overwrite one page in the middle of the activity table with garbage."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    with path.open("r+b") as fh:
        fh.seek(page_size * (pages // 2))
        fh.write(bytes((i * 37 + 11) % 256 for i in range(page_size)))


# --- damage --------------------------------------------------------------------------------------

def test_a_damaged_database_is_never_written_and_names_the_commands_that_help(vlearn_home):
    path = vlearn_home / "progress.db"
    filled_store(path)
    damage_a_page(path)
    before = digest(path)
    for args, stdin in ((["review"], "3\n"), (["srs", "config", "--retention", "0.85"], ""), (["srs", "stats"], "")):
        result = vlearn(vlearn_home, *args, stdin=stdin)
        line = one_line(result)
        assert result.returncode == 1 and str(path) in line and "damaged" in line
        assert "vlearn db recover" in line and "vlearn db backup" in line
    assert digest(path) == before
    wal = vlearn_home / "progress.db-wal"  # a read-only connection may create it, empty
    assert not wal.exists() or wal.stat().st_size == 0
    with pytest.raises(StoreDamaged):
        open_store(path)
    assert digest(path) == before


def test_backup_and_recover_copy_what_can_be_read_and_keep_the_original(vlearn_home, tmp_path):
    path = vlearn_home / "progress.db"
    filled_store(path)
    damage_a_page(path)
    before = digest(path)
    check = vlearn(vlearn_home, "db", "check")
    assert check.returncode == 1 and "damaged" in check.stdout
    copy = tmp_path / "copy.db"
    backup = vlearn(vlearn_home, "db", "backup", str(copy))
    assert backup.returncode == 0 and copy.is_file(), backup.stderr
    out = tmp_path / "recovered.db"
    recovered = vlearn(vlearn_home, "db", "recover", str(out))
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "the original" in recovered.stdout and "unchanged" in recovered.stdout
    assert digest(path) == before
    conn = sqlite3.connect(out)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = conn.execute("select count(*) from activity").fetchone()[0]
    assert conn.execute("select item from checklist").fetchall() == [("lesson:a",)]
    conn.close()
    assert 0 < kept < 3002  # most rows, minus the damaged page's
    # The recovered file is a working progress.db once put in place.
    shutil.move(path, tmp_path / "damaged.db")
    shutil.copy(out, path)
    assert vlearn(vlearn_home, "srs", "stats").returncode == 0


def test_backup_of_a_healthy_database_is_complete_and_never_overwrites(vlearn_home, tmp_path):
    path = vlearn_home / "progress.db"
    filled_store(path, ticks=50)
    result = vlearn(vlearn_home, "db", "backup")
    assert result.returncode == 0, result.stderr
    made = list((vlearn_home / "backups").glob("progress-backup-*.db"))
    assert len(made) == 1
    conn = sqlite3.connect(made[0])
    assert conn.execute("select count(*) from activity").fetchone()[0] == 51
    conn.close()
    again = vlearn(vlearn_home, "db", "backup", str(made[0]))
    assert again.returncode == 1 and "already exists" in one_line(again)


def _count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("select count(*) from activity").fetchone()[0]
    finally:
        conn.close()


def test_restore_puts_a_backup_back_and_keeps_what_it_replaced(vlearn_home, tmp_path):
    path = vlearn_home / "progress.db"
    filled_store(path, ticks=20)
    saved = tmp_path / "saved.db"
    assert vlearn(vlearn_home, "db", "backup", str(saved)).returncode == 0
    db = open_store(path)
    with db.atomic():  # study after the backup was taken: newer records
        db.execute("insert into activity(at, date, kind, ref) values ('2099-12-31T23:59:59', '2099-12-31', 'tick', 'new')")  # later than anything in the backup
    db.close()
    refused = vlearn(vlearn_home, "db", "restore", str(saved))
    assert refused.returncode == 1 and "newer than the backup" in one_line(refused) and "--force" in refused.stderr
    assert _count(path) == 22  # untouched
    done = vlearn(vlearn_home, "db", "restore", str(saved), "--force")
    assert done.returncode == 0, done.stderr
    assert _count(path) == 21 and "kept as" in done.stdout
    [kept] = (vlearn_home / "backups").glob("progress-before-restore-*.db")
    assert _count(kept) == 22  # what was replaced is not lost
    assert vlearn(vlearn_home, "db", "check").returncode == 0


def test_restore_refuses_a_damaged_or_foreign_file_and_changes_nothing(vlearn_home, tmp_path):
    path = vlearn_home / "progress.db"
    filled_store(path, ticks=3000)
    damaged = tmp_path / "damaged.db"
    shutil.copy(path, damaged)
    damage_a_page(damaged)
    text = tmp_path / "notes.db"
    text.write_text("not a database")
    before = digest(path)
    for bad in (damaged, text, tmp_path / "missing.db"):
        result = vlearn(vlearn_home, "db", "restore", str(bad), "--force")
        assert result.returncode == 1 and str(bad) in one_line(result), bad
    assert digest(path) == before


def test_the_app_checks_a_large_database_in_the_background_and_refuses_writes_when_damaged(vlearn_home):
    from tui.core.store import SYNC_CHECK_BYTES

    path = vlearn_home / "progress.db"
    filled_store(path, ticks=SYNC_CHECK_BYTES // 60)
    assert path.stat().st_size > SYNC_CHECK_BYTES
    damage_a_page(path)
    before = digest(path)
    db = open_store(path, check="background")  # returns before the verdict
    with pytest.raises(StoreDamaged, match="vlearn db recover"):
        progress.set_done(db, 2, "lab:x", True)  # waits for the verdict, then refuses
    db.close()
    assert digest(path) == before


# --- newer schema, every journal mode --------------------------------------------------------------

@pytest.mark.parametrize("mode", ["delete", "truncate", "persist", "wal"])
def test_a_newer_database_is_refused_byte_for_byte_untouched(vlearn_home, mode):
    path = vlearn_home / "progress.db"
    open_store(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode={mode}")
    conn.execute("insert into _sqlite_migrations(migration_set, name, applied_at) "
                 "values ('vlearn.core', 'm999_future', 'x')")
    if mode == "wal":
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("insert into settings(key, value) values ('only_in_the_wal', '1')")
        # Keep the WAL un-checkpointed: copy the files while this connection is open.
        snapshot = vlearn_home / "snap"
        snapshot.mkdir()
        for name in ("progress.db", "progress.db-wal"):
            shutil.copy(vlearn_home / name, snapshot / name)
        conn.close()  # this would checkpoint; put the un-checkpointed pair back
        for name in ("progress.db", "progress.db-wal"):
            shutil.copy(snapshot / name, vlearn_home / name)
        (vlearn_home / "progress.db-shm").unlink(missing_ok=True)
    else:
        conn.close()
    files = [path, vlearn_home / "progress.db-wal", vlearn_home / "progress.db-journal"]
    before = digest(*files)
    result = vlearn(vlearn_home, "srs", "stats")
    assert result.returncode == 1 and "newer vlearn" in one_line(result)
    with pytest.raises(StoreError, match="newer vlearn"):
        open_store(path)
    assert digest(*files) == before
    if mode != "wal":  # a rollback-journal file was not switched to WAL (only WAL is stored in the file)
        check = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        assert check.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
        check.close()


# --- caches are written atomically ------------------------------------------------------------------

def test_atomic_write_leaves_no_partial_file_on_failure(tmp_path):
    target = tmp_path / "cache.bin"
    target.write_bytes(b"old")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), fsutil.atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise Boom
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["cache.bin"]
    fsutil.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["cache.bin"]


# --- read-only and full storage (a real tmpfs) ---------------------------------------------------

def _mount(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {exc}")


@pytest.fixture
def small_fs():
    where = Path("/tmp") / f"vlearn-fs-{uuid.uuid4().hex[:8]}"
    _mount(where, "4m")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)
        shutil.rmtree(where, ignore_errors=True)


def _remount_ro(where: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, capture_output=True, timeout=30)


def test_a_read_only_home_gives_one_line_per_command(small_fs):
    home = small_fs / "home"
    home.mkdir()
    filled_store(home / "progress.db", ticks=20)
    assert vlearn(home, "srs", "stats").returncode == 0  # the catalog cache is written while we can
    before = sorted(p.name for p in home.rglob("*"))
    _remount_ro(small_fs)
    for args, stdin in ((["review"], "3\n"), (["srs", "config", "--retention", "0.85"], ""),
                        (["db", "backup"], ""), (["srs", "stats"], "")):
        result = vlearn(home, *args, stdin=stdin)
        line = one_line(result)
        assert result.returncode == 1 and "read-only" in line and str(home) in line, line
    assert sorted(p.name for p in home.rglob("*")) == before


def test_a_full_disk_gives_one_line_keeps_every_commit_and_leaves_no_partial_files(small_fs):
    home = small_fs / "home"
    home.mkdir()
    filled_store(home / "progress.db", ticks=20)
    ok = vlearn(home, "review", "--limit", "1", stdin="3\n")
    assert ok.returncode == 0 and "graded " in ok.stdout, ok.stderr
    # Fill the disk: what is left cannot hold a WAL frame, a catalog cache or a backup.
    with (small_fs / "filler").open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    before = sorted(p.name for p in home.rglob("*") if not p.name.endswith(("-wal", "-shm")))
    for args, stdin in ((["review"], "3\n3\n"), (["db", "backup"], "")):
        result = vlearn(home, *args, stdin=stdin)
        line = one_line(result)
        assert result.returncode == 1 and ("full" in line or "No space" in line), line
    # A changed content tree forces a catalog rebuild: the cache write fails and leaves nothing.
    content = small_fs.parent / f"{small_fs.name}-content"
    shutil.copytree(FIXTURE, content)
    try:
        (content / "flashcards" / "alpha.yaml").write_text(
            (FIXTURE / "flashcards" / "alpha.yaml").read_text() + "\n# changed\n")
        result = vlearn(home, "review", stdin="3\n", content=content)
        assert result.returncode == 1 and "full" in one_line(result)
    finally:
        shutil.rmtree(content, ignore_errors=True)
    assert sorted(p.name for p in home.rglob("*") if not p.name.endswith(("-wal", "-shm"))) == before
    (small_fs / "filler").unlink()
    conn = sqlite3.connect(home / "progress.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("select count(*) from srs_reviews").fetchone()[0] == 1
    conn.close()
