"""One snapshot per screen, over the fixture content (update: pytest --snapshot-update)."""
from __future__ import annotations

from pathlib import Path

from tui.app import VlearnApp
from tui.core.content import load_catalog
from tui.core.store import open_store

FIXTURE = Path(__file__).parent / "fixtures" / "content"
SIZE = (100, 32)


def app(home: Path) -> VlearnApp:
    return VlearnApp(catalog=load_catalog(FIXTURE), db=open_store(home / "progress.db"))


def test_today_snapshot(snap_compare, vlearn_home):
    assert snap_compare(app(vlearn_home), terminal_size=SIZE, press=["space"])


def test_plan_snapshot(snap_compare, vlearn_home):
    assert snap_compare(app(vlearn_home), terminal_size=SIZE, press=["p"])


def test_lesson_snapshot(snap_compare, vlearn_home):
    assert snap_compare(app(vlearn_home), terminal_size=SIZE, press=["enter"])


def test_help_snapshot(snap_compare, vlearn_home):
    assert snap_compare(app(vlearn_home), terminal_size=SIZE, press=["question_mark"])
