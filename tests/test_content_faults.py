"""Broken content trees (issue 16): symlink loops, a folder linked to its parent,
a directory or a FIFO where a file should be. Each is a doctor error at path:0;
`review`, `drill` and the TUI carry on. Real files, real processes."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.core.content import load_catalog
from tui.core.content.base import ContentReadError, read_content_text

FIXTURES = Path(__file__).parent / "fixtures"
VLEARN = [sys.executable, "-c", "import sys; from tui.cli import main; sys.exit(main())"]


def vlearn(home: Path, content: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "VLEARN_HOME": str(home), "VLEARN_CONTENT": str(content), "COLUMNS": "100"}
    return subprocess.run(VLEARN + list(args), input=stdin, capture_output=True, text=True, env=env, timeout=120)


def break_tree(root: Path, folder: str) -> dict[str, str]:
    """Plant every kind of breakage under root/folder; returns path -> expected words."""
    where = root / folder
    (where / "loop.yaml").symlink_to("loop.yaml")
    (where / "dangling.yaml").symlink_to("nowhere.yaml")
    (where / "dir.yaml").mkdir()
    os.mkfifo(where / "fifo.yaml")  # opening it for reading would block forever
    (root / "curriculum" / "modules" / "up").symlink_to("..")  # a folder linked to its parent
    return {
        f"{folder}/loop.yaml": "symlink loop",
        f"{folder}/dangling.yaml": "broken symlink",
        f"{folder}/dir.yaml": "is a directory",
        f"{folder}/fifo.yaml": "not a regular file",
        "curriculum/modules/up": "directory loop",
    }


@pytest.fixture
def broken_decks(tmp_path) -> tuple[Path, dict]:
    root = tmp_path / "decks"
    shutil.copytree(FIXTURES / "decks", root, symlinks=True)
    return root, break_tree(root, "flashcards")


@pytest.fixture
def broken_questions(tmp_path) -> tuple[Path, dict]:
    root = tmp_path / "content"
    shutil.copytree(FIXTURES / "content", root, symlinks=True)
    return root, break_tree(root, "data/questions")


def test_the_guarded_reader_names_each_fault(tmp_path):
    (tmp_path / "loop.md").symlink_to("loop.md")
    (tmp_path / "folder.md").mkdir()
    (tmp_path / "latin1.md").write_bytes(b"caf\xe9")
    (tmp_path / "ok.md").write_text("fine")
    for name, words in (("loop.md", "symlink loop"), ("folder.md", "is a directory"), ("latin1.md", "not UTF-8")):
        with pytest.raises(ContentReadError, match=words):
            read_content_text(tmp_path / name)
    assert read_content_text(tmp_path / "ok.md") == "fine"


def test_doctor_reports_every_fault_at_its_path(vlearn_home, broken_decks):
    root, expected = broken_decks
    result = vlearn(vlearn_home, root, "doctor")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    text = result.stdout + result.stderr
    for path, words in expected.items():
        line = next((ln for ln in text.splitlines() if f"{path}:0:" in ln), "")
        assert words in line, (path, text)


def test_review_carries_on_past_a_broken_tree(vlearn_home, broken_decks):
    root, _ = broken_decks
    for _ in range(2):  # the first run builds the catalog cache, the second reads it
        result = vlearn(vlearn_home, root, "review", "--limit", "1", stdin="3\n")
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert "graded alpha-" in result.stdout
        assert "content problems" in result.stderr


def test_drill_carries_on_past_a_broken_tree(vlearn_home, broken_questions):
    root, _ = broken_questions
    result = vlearn(vlearn_home, root, "drill", "--question", "t-question", stdin="two tensors\n.\nn\n")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "Score:" in result.stdout


async def test_the_app_opens_on_a_broken_tree(vlearn_home, broken_decks, monkeypatch):
    from tui.app import VlearnApp

    root, expected = broken_decks
    monkeypatch.setenv("VLEARN_CONTENT", str(root))
    app = VlearnApp()
    assert {p.path for p in app.catalog.errors} >= set(expected)
    async with app.run_test() as pilot:
        deadline = time.monotonic() + 60
        while type(app.screen).__name__ != "TodayScreen":
            assert time.monotonic() < deadline, "the Today screen never came"
            await pilot.pause(0.02)
        assert app.is_running
        await pilot.press("q")
    app.db.close()


def test_the_real_content_has_no_loops():
    catalog = load_catalog()
    assert not [p for p in catalog.problems if "loop" in p.message]
