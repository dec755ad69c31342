"""Several vlearn processes on one progress.db (issue 16): real processes, one home.

A learner reviews cards in a terminal while the TUI is open, or runs `vlearn
check` beside `vlearn review`; two first starts race to create the schema.
Every process must finish its work, and a lock held past the busy wait must
give one line naming the file, never a traceback or a dead TUI."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from tui.core.store import migration_sets, open_store

FIXTURE = Path(__file__).parent / "fixtures" / "decks"
VLEARN = [sys.executable, "-c", "import sys; from tui.cli import main; sys.exit(main())"]
CARDS = 150


def env(home: Path, content: Path = FIXTURE, **extra) -> dict:
    return {**os.environ, "VLEARN_HOME": str(home), "VLEARN_CONTENT": str(content), "COLUMNS": "80", **extra}


def start(home, *args, content=FIXTURE, stdin="", **extra) -> subprocess.Popen:
    """Output goes to files, not pipes: a process whose pipe nobody reads while
    the test drives the TUI would block on a full pipe."""
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(VLEARN + list(args), stdin=subprocess.PIPE, stdout=out, stderr=err,
                            text=True, env=env(home, content, **extra))
    proc.files = (out, err)
    proc.stdin.write(stdin)
    proc.stdin.close()
    return proc


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    try:
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    texts = []
    for f in proc.files:
        f.seek(0)
        texts.append(f.read())
        f.close()
    return rc, texts[0], texts[1]


@pytest.fixture
def big_deck(tmp_path) -> Path:
    """The deck fixture with one deck of CARDS cards, so reviews write for a while."""
    content = tmp_path / "content"
    shutil.copytree(FIXTURE, content)
    cards = [{"id": f"alpha-{i}", "front": f"card {i}?", "back": f"{i}", "tags": ["scheduler"],
              "source": "m01-one"} for i in range(CARDS)]
    (content / "flashcards" / "alpha.yaml").write_text(
        yaml.safe_dump({"id": "alpha", "title": "Alpha deck", "cards": cards}))
    return content


def expected_migrations() -> int:
    return sum(len(s._migrations) for s in migration_sets())


def test_first_starts_at_once_migrate_once(vlearn_home):
    """Six processes open a home that has no database yet, all at once."""
    procs = [start(vlearn_home, "srs", "config") for _ in range(6)]
    results = [finish(p) for p in procs]
    for rc, _out, err in results:
        assert rc == 0 and "Traceback" not in err, err
    conn = sqlite3.connect(vlearn_home / "progress.db")
    rows = conn.execute("select migration_set, name from _sqlite_migrations").fetchall()
    conn.close()
    assert len(rows) == len(set(rows)) == expected_migrations()


def test_reviews_in_three_processes_lose_no_grade(vlearn_home, big_deck):
    rc, _, err = finish(start(vlearn_home, "srs", "config", "--new-per-day", "1000", content=big_deck))
    assert rc == 0, err
    procs = [start(vlearn_home, "review", "--limit", str(CARDS), content=big_deck, stdin="1\n" * CARDS)
             for _ in range(3)]
    results = [finish(p) for p in procs]
    graded = 0
    for rc, out, err in results:
        assert rc == 0 and "Traceback" not in err, err
        graded += sum(line.startswith("graded ") for line in out.splitlines())
    conn = sqlite3.connect(vlearn_home / "progress.db")
    stored = conn.execute("select count(*) from srs_reviews").fetchone()[0]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert graded >= CARDS and stored == graded


def hold_write_lock(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_a_lock_held_past_the_wait_is_one_line_and_a_retry_works(vlearn_home):
    path = vlearn_home / "progress.db"
    open_store(path).close()
    holder = hold_write_lock(path)
    try:
        rc, out, err = finish(start(vlearn_home, "review", stdin="3\n", VLEARN_BUSY_TIMEOUT="0.2"))
    finally:
        holder.rollback()
        holder.close()
    assert rc == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "try again" in lines[0], err
    rc, out, err = finish(start(vlearn_home, "review", "--limit", "1", stdin="3\n"))
    assert rc == 0 and "graded alpha-" in out, err


def test_a_fresh_home_locked_past_the_wait_is_one_line(vlearn_home):
    """Another process is creating the schema and stays stuck: the second start
    says so instead of 'could not upgrade the database schema'."""
    path = vlearn_home / "progress.db"
    holder = hold_write_lock(path)
    try:
        rc, _out, err = finish(start(vlearn_home, "srs", "config", VLEARN_BUSY_TIMEOUT="0.2"))
    finally:
        holder.rollback()
        holder.close()
    assert rc == 1 and "Traceback" not in err and "busy" in err and len(err.strip().splitlines()) == 1, err


def _rubric_app(catalog, db):
    from tui.app import VlearnApp

    return VlearnApp(catalog=catalog, db=db)


async def _wait_for(pilot, condition, what: str, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.02)


async def test_tui_saves_while_cli_processes_review(vlearn_home, catalog, big_deck):
    """The TUI (under Pilot) saves rubric assessments over and over while three
    `vlearn review` processes grade cards into the same file."""
    from tui.core import rubric as rubric_store
    from tui.screens.rubric import RubricScreen

    rc, _, err = finish(start(vlearn_home, "srs", "config", "--new-per-day", "1000", content=big_deck))
    assert rc == 0, err
    db = open_store(vlearn_home / "progress.db")
    app = _rubric_app(catalog, db)
    procs = [start(vlearn_home, "review", "--limit", str(CARDS), content=big_deck, stdin="1\n" * CARDS)
             for _ in range(3)]
    try:
        async with app.run_test() as pilot:
            await _wait_for(pilot, lambda: app.screen is not None and type(app.screen).__name__ == "TodayScreen",
                            "the Today screen")
            app.open_item("rubric")
            await _wait_for(pilot, lambda: isinstance(app.screen, RubricScreen), "the rubric screen")
            saves = 0
            while any(p.poll() is None for p in procs) or saves < 5:
                await pilot.press(str(saves % 5 + 1), "ctrl+s")
                saves += 1
                assert len(rubric_store.history(db)) == saves
            assert app.is_running and isinstance(app.screen, RubricScreen)
    finally:
        results = [finish(p) for p in procs]
        db.close()
    for rc, _out, err in results:
        assert rc == 0 and "Traceback" not in err, err


async def test_tui_survives_a_lock_held_past_the_wait(vlearn_home, catalog):
    from tui.core import rubric as rubric_store
    from tui.screens.rubric import RubricScreen

    path = vlearn_home / "progress.db"
    db = open_store(path, busy_s=0.2)
    app = _rubric_app(catalog, db)
    async with app.run_test() as pilot:
        await _wait_for(pilot, lambda: type(app.screen).__name__ == "TodayScreen", "the Today screen")
        app.open_item("rubric")
        await _wait_for(pilot, lambda: isinstance(app.screen, RubricScreen), "the rubric screen")
        holder = hold_write_lock(path)
        try:
            await pilot.press("3", "ctrl+s")
            await _wait_for(pilot, lambda: any("not saved" in (n.title or "") for n in app._notifications),
                            "the not-saved notice")
        finally:
            holder.rollback()
            holder.close()
        notice = next(n for n in app._notifications if "not saved" in (n.title or ""))
        assert str(path) in notice.message and "try again" in notice.message
        assert app.is_running and isinstance(app.screen, RubricScreen)
        assert rubric_store.history(db) == []
        await pilot.press("ctrl+s")  # the retry path: the same key again
        assert len(rubric_store.history(db)) == 1
    db.close()
