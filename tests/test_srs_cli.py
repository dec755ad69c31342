"""`vlearn review`, `vlearn srs`, `vlearn export` as real processes; SIGKILL mid-session."""
from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import genanki

from tui.core.content import load_catalog

FIXTURE = Path(__file__).parent / "fixtures" / "decks"
VLEARN = [sys.executable, "-c", "import sys; from tui.cli import main; sys.exit(main())"]


def env(home: Path, content: Path = FIXTURE) -> dict:
    return {**os.environ, "VLEARN_HOME": str(home), "VLEARN_CONTENT": str(content), "COLUMNS": "80"}


def vlearn(home, *args, stdin="", content=FIXTURE):
    return subprocess.run(VLEARN + list(args), input=stdin, capture_output=True, text=True,
                          env=env(home, content), timeout=60)


def reviews(home: Path) -> list[tuple[str, int]]:
    conn = sqlite3.connect(home / "progress.db")
    try:
        return conn.execute("select card_id, rating from srs_reviews order by id").fetchall()
    finally:
        conn.close()


def test_sigkill_mid_session_loses_no_answered_card(vlearn_home):
    """Grade one card at a time through a pipe; after the process has reported
    N committed grades, SIGKILL it while it waits on the next card."""
    proc = subprocess.Popen(VLEARN + ["review"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, bufsize=1, env=env(vlearn_home))
    reported = []
    try:
        for rating in ("3", "1", "4"):
            proc.stdin.write(rating + "\n")
            proc.stdin.flush()
            for line in proc.stdout:  # blocks until the grade line arrives
                if line.startswith("graded "):
                    reported.append(line.split()[1].rstrip(":"))
                    break
        assert len(reported) == 3
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert reviews(vlearn_home) == list(zip(reported, [3, 1, 4], strict=False))
    conn = sqlite3.connect(vlearn_home / "progress.db")
    cards = {r[0] for r in conn.execute("select card_id from srs_cards")}
    activity = conn.execute("select count(*) from activity where kind = 'review'").fetchone()[0]
    conn.close()
    assert cards == set(reported) and activity == 3


def test_review_through_a_pipe_with_undo(vlearn_home):
    # Enter reveals, 3 grades; '1' then 'u' takes the Again back; 'q' quits.
    out = vlearn(vlearn_home, "review", stdin="\n3\n1\nu\n4\nq\n")
    assert out.returncode == 0, out.stderr
    assert "3 new · 0 learning · 0 to review" in out.stdout
    assert "1 Again 1m" in out.stdout and "3 Good 10m" in out.stdout
    assert "undid the last grade (alpha-2)" in out.stdout
    assert "Session: 2 cards" in out.stdout and "again 0%" in out.stdout
    assert reviews(vlearn_home) == [("alpha-1", 3), ("alpha-2", 4)]


def test_review_deck_filter_limit_and_unknown_deck(vlearn_home):
    assert vlearn(vlearn_home, "review", "--deck", "nope").returncode == 2
    out = vlearn(vlearn_home, "review", "--deck", "alpha", "--limit", "1", stdin="3\n3\n3\n")
    assert out.returncode == 0
    # one card from the queue; its learning step (10 m, within the 20 m learn-ahead) still follows
    graded = [line.split()[1] for line in out.stdout.splitlines() if line.startswith("graded ")]
    assert graded == ["alpha-1:", "alpha-1:"]
    out = vlearn(vlearn_home, "review", "--deck", "cuda_kernels", stdin="1\nq\n")  # a tag
    assert "graded alpha-3: Again, next in 1m" in out.stdout
    locked = vlearn(vlearn_home, "review", "--deck", "beta", stdin="3\n")  # day 2 not reached
    assert "graded" not in locked.stdout and "Nothing due" in locked.stdout


def test_srs_config_and_stats(vlearn_home):
    out = vlearn(vlearn_home, "srs", "config", "--retention", "0.85", "--new-per-day", "5")
    assert out.returncode == 0 and "desired retention 0.85" in out.stdout and "new cards per day 5" in out.stdout
    assert vlearn(vlearn_home, "srs", "config", "--retention", "2").returncode == 2
    vlearn(vlearn_home, "review", stdin="3\n")
    stats = vlearn(vlearn_home, "srs", "stats")
    assert stats.returncode == 0
    assert "Cards: new 6, learning 1, young 0, mature 0" in stats.stdout
    assert "Desired retention 0.85" in stats.stdout
    opt = vlearn(vlearn_home, "review", "--optimize")
    assert opt.returncode == 1 and "not enough reviews yet: 0 of 512" in opt.stdout


def test_export_anki_one_note_per_card_with_stable_guids(vlearn_home, tmp_path):
    target = tmp_path / "out" / "vlearn.apkg"
    out = vlearn(vlearn_home, "export", "anki", str(target))
    assert out.returncode == 0, out.stderr
    assert "7 notes in 3 decks" in out.stdout
    catalog = load_catalog(FIXTURE)

    def notes(path: Path) -> dict:
        with zipfile.ZipFile(path) as z:
            assert "collection.anki2" in z.namelist()
            z.extract("collection.anki2", path.parent / path.stem)
        conn = sqlite3.connect(path.parent / path.stem / "collection.anki2")
        try:
            return {guid: (flds, tags) for guid, flds, tags in conn.execute("select guid, flds, tags from notes")}
        finally:
            conn.close()

    first = notes(target)
    assert len(first) == len(catalog.cards)
    assert set(first) == {genanki.guid_for(c) for c in catalog.cards}
    flds, tags = first[genanki.guid_for("alpha-2")]
    front, back, source, card_id = flds.split("\x1f")
    assert '<code class="language-python"><span class="nb">print</span>' in front  # highlighted
    assert card_id == "alpha-2" and source == "m01-one"
    assert "vlearn::component::scheduler" in tags.split() and "vlearn::deck::alpha" in tags.split()
    assert all(t.startswith("vlearn::") for t in tags.split())
    # A second export (after an edit) keeps every GUID, so Anki updates in place.
    root = tmp_path / "content"
    import shutil

    shutil.copytree(FIXTURE, root)
    deck = root / "flashcards" / "alpha.yaml"
    deck.write_text(deck.read_text().replace("What is one?", "What is one, exactly?"))
    again = tmp_path / "again.apkg"
    assert vlearn(vlearn_home, "export", "anki", str(again), content=root).returncode == 0
    second = notes(again)
    assert set(second) == set(first)
    assert "exactly" in second[genanki.guid_for("alpha-1")][0]


def test_export_anki_one_deck(vlearn_home, tmp_path):
    out = vlearn(vlearn_home, "export", "anki", str(tmp_path / "b.apkg"), "--deck", "beta")
    assert out.returncode == 0 and "2 notes in 1 decks" in out.stdout
    assert vlearn(vlearn_home, "export", "anki", str(tmp_path / "c.apkg"), "--deck", "zzz").returncode == 2


def test_export_progress_needs_its_module(vlearn_home):
    out = vlearn(vlearn_home, "export", "progress", "--format", "json")
    if importlib.util.find_spec("tui.core.progress_export") is None:
        assert out.returncode == 2 and "progress export is not available" in out.stderr
    else:
        assert out.returncode == 0, out.stderr


def test_review_on_a_terminal_reads_single_keys(vlearn_home):
    """On a real tty (a pty here) keys act without Enter: space reveals, 3 grades,
    q quits; keys typed ahead of the prompt are kept, not flushed."""
    import pty
    import threading

    master, slave = pty.openpty()
    proc = subprocess.Popen(VLEARN + ["review"], stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env(vlearn_home))
    os.close(slave)
    watchdog = threading.Timer(60, proc.kill)  # a broken key reader must fail the test, not hang it
    watchdog.start()
    try:
        os.write(master, b"3 3q")  # the first 3 is ignored: the answer is not shown yet
        out, err = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "graded alpha-1: Good, next in 10m" in out
    assert "Session: 1 card in" in out
    assert reviews(vlearn_home) == [("alpha-1", 3)]
