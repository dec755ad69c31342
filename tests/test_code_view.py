"""A lesson's vLLM references open the code at the symbol; a walkthrough shows it beside the
text. Over a toy source tree (our own code, shaped like the paths the fixture lessons cite)."""
from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import TextArea

from tui.app import VlearnApp
from tui.core.content import load_catalog
from tui.core.store import open_store
from tui.screens.code import CodeScreen, CodeView
from tui.screens.lesson import LessonScreen

FIXTURE = Path(__file__).parent / "fixtures" / "content"
POOL = '''"""A toy block pool."""


class Helper:
    pass


class BlockPool:
    """Hands out blocks."""

    def __init__(self, n):
        self.free = list(range(n))

    def get(self):
        return self.free.pop()
'''


@pytest.fixture
def toy_source(tmp_path, monkeypatch):
    root = tmp_path / "vllm-src"
    (root / "vllm/v1/core/sched").mkdir(parents=True)
    (root / "vllm/v1/core/block_pool.py").write_text(POOL)
    (root / "vllm/v1/core/sched/scheduler.py").write_text("class Scheduler:\n    def schedule(self):\n        return []\n")
    monkeypatch.setenv("VLEARN_VLLM_SOURCE", str(root))
    return root


def make_app(home: Path) -> VlearnApp:
    return VlearnApp(catalog=load_catalog(FIXTURE), db=open_store(home / "progress.db"))


async def test_a_reference_opens_the_code_at_its_symbol_and_back(vlearn_home, toy_source):
    app = make_app(vlearn_home)
    async with app.run_test(size=(100, 32)) as pilot:
        app.open_item("lesson", "t-paging")
        await pilot.pause()
        lesson = app.screen
        assert isinstance(lesson, LessonScreen)
        await pilot.press("f")  # the links picker lists the reference with the lesson's other links
        await pilot.pause()
        picker = app.screen.query_one("OptionList")
        labels = [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)]
        picker.highlighted = next(i for i, label in enumerate(labels) if "BlockPool" in label)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CodeScreen)
        text = app.screen.query_one("#code-text", TextArea)
        first = POOL.splitlines().index("class BlockPool:")
        assert text.selection.start == (first, 0) and text.selection.end == (len(POOL.splitlines()), 0)
        await pilot.press("slash")
        await pilot.press(*"free", "enter")
        assert text.selected_text == "free"
        await pilot.press("escape", "escape")  # close the search, then the view
        await pilot.pause()
        assert app.screen is lesson


async def test_before_the_source_is_fetched_the_view_says_how(vlearn_home, monkeypatch, tmp_path):
    monkeypatch.setenv("VLEARN_VLLM_SOURCE", str(tmp_path / "nothing-here"))
    app = make_app(vlearn_home)
    async with app.run_test(size=(100, 32)) as pilot:
        app.open_item("code", "vllm/v1/core/block_pool.py::BlockPool")
        await pilot.pause()
        said = str(app.screen.query_one("#code-where").render())
        assert "vlearn source fetch" in said and "Press F" in said
        assert not app.screen.query_one("#code-text").display


async def test_a_walkthrough_shows_its_code_beside_the_text(vlearn_home, toy_source):
    app = make_app(vlearn_home)
    async with app.run_test(size=(140, 40)) as pilot:
        app.open_item("lesson", "t-paging")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        view = app.screen.query_one("#lesson-code", CodeView)
        assert view.display and view.range.symbol.endswith("BlockPool")
        assert app.screen.query_one("#doc-scroll").region.right <= view.region.x  # side by side
        await pilot.press("x")
        await pilot.pause()
        assert not view.display


def test_split_walkthrough_snapshot(snap_compare, vlearn_home, toy_source):
    async def split(pilot) -> None:
        pilot.app.open_item("lesson", "t-paging")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()

    assert snap_compare(make_app(vlearn_home), terminal_size=(120, 32), run_before=split)


def test_doctor_warns_about_references_the_source_does_not_resolve(toy_source):
    from tui.core.doctor import source_refs

    catalog = load_catalog(FIXTURE)
    line, warnings = source_refs(catalog)
    assert str(toy_source) in line and warnings == []
    (toy_source / "vllm/v1/core/block_pool.py").write_text("class Pool:\n    pass\n")
    (toy_source / ".vlearn-refs.json").unlink()  # the verdicts are kept per tree; this tree changed under us
    line, warnings = source_refs(catalog)
    [warning] = warnings
    assert warning["path"].endswith("02_paging.md") and "t-paging" in warning["message"]
    assert "'BlockPool' is not defined" in warning["message"]
