"""Pilot tests: rate the rubric grid by keyboard and save it."""
from __future__ import annotations

from textual.app import App
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from tui.core import rubric as rubric_store
from tui.core.store import open_store
from tui.screens.rubric import RubricScreen


class Harness(App):
    def __init__(self, catalog, db):
        super().__init__()
        self.catalog = catalog
        self.db = db

    def on_mount(self) -> None:
        self.push_screen(RubricScreen())


def text(screen, ident: str) -> str:
    return str(screen.query_one(ident, Static).render())


async def test_rate_by_keyboard_see_meanings_and_save(vlearn_home, catalog):
    db = open_store(vlearn_home / "progress.db")
    app = Harness(catalog, db)
    async with app.run_test() as pilot:
        await pilot.pause()
        screen = app.screen
        table = screen.query_one(DataTable)
        assert "PagedAttention × Understanding" in text(screen, "#rubric-focus")
        assert "not rated" in text(screen, "#rubric-focus")
        assert "1 Aware" in text(screen, "#rubric-scale") and "5 Can optimize" in text(screen, "#rubric-scale")
        await pilot.press("1", "2", "3", "4")  # the first row; the cursor steps on to the next row
        assert [table.get_cell_at(Coordinate(0, c)) for c in range(4)] == ["1", "2", "3", "4"]
        assert table.cursor_coordinate == Coordinate(1, 0)
        await pilot.press("5", "up")
        focus = text(screen, "#rubric-focus")
        assert "PagedAttention × Can explain" in focus and "2 · Knows what it does" in focus
        await pilot.press("down", "left")
        focus = text(screen, "#rubric-focus")
        assert "5 · Can optimize" in focus and "CUDA kernels at 5:" in focus
        await pilot.press("0")  # clears the cell
        assert table.get_cell_at(Coordinate(1, 0)) == "·"
        status = text(screen, "#rubric-status")
        assert "4/24 rated" in status and "average 2.50" in status and "unsaved" in status
        assert rubric_store.history(db) == []
        await pilot.press("ctrl+s")
        saved = rubric_store.latest(db)
        assert saved.scores == {("paged_attention", d): n for d, n in
                                zip(("understanding", "explain", "implement", "optimize"), (1, 2, 3, 4), strict=False)}
        assert "unsaved" not in text(screen, "#rubric-status")
        await pilot.press("right", "4", "ctrl+s")  # a second assessment; the first is kept
        history = rubric_store.history(db)
        assert len(history) == 2 and len(history[0].scores) == 4 and len(history[1].scores) == 5
        assert history[1].scores[("cuda_kernels", "explain")] == 4
        await pilot.press("escape")
        assert not isinstance(app.screen, RubricScreen)
        app.push_screen(RubricScreen())  # opens on the latest assessment
        await pilot.pause()
        grid = app.screen.query_one(DataTable)
        assert grid.get_cell_at(Coordinate(1, 1)) == "4" and grid.get_cell_at(Coordinate(0, 3)) == "4"
    db.close()


async def test_saving_an_empty_grid_is_refused(vlearn_home, catalog):
    db = open_store(vlearn_home / "progress.db")
    app = Harness(catalog, db)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("ctrl+s")
        assert rubric_store.history(db) == []
        assert "never saved" in text(app.screen, "#rubric-status")
    db.close()
