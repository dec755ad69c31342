"""Rate yourself on the rubric: six components x four dimensions, by keyboard.

Arrows move, 1-5 set the focused cell (and step to the next), 0 or delete
clears it, s saves the whole grid as a new assessment (older ones are kept).
The meaning of the focused score, and of every score, is always on screen.
"""
from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from ..core import rubric as rubric_store
from ..core.content.rubric import rubric_of
from ..core.text import when
from ..widgets.footer import KeyFooter


class RubricScreen(Screen):
    DEFAULT_CSS = """
    RubricScreen #rubric-grid { height: auto; max-height: 12; margin: 1 2 0 2; }
    RubricScreen #rubric-focus { margin: 1 2 0 2; min-height: 4; }
    RubricScreen #rubric-scale { margin: 1 2 0 2; color: $text-muted; }
    RubricScreen #rubric-status { margin: 1 2 0 2; }
    """
    BINDINGS: ClassVar[list] = [
        *[Binding(str(n), f"set_score({n})", show=False) for n in range(1, 6)],
        Binding("0,delete,backspace", "set_score(0)", "Clear", show=False),
        Binding("ctrl+s", "save", "Save"),  # not s: s is card statistics everywhere
        Binding("escape", "leave", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rubric = rubric_of(self.app.catalog)
        last = rubric_store.latest(self.app.db)
        self.previous = dict(last.scores) if last else {}
        self.scores: dict[tuple[str, str], int] = dict(self.previous)
        self.last_at = last.at if last else None

    # -- layout -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="rubric-grid", cursor_type="cell", zebra_stripes=True)
        yield Static(id="rubric-focus", markup=False)
        yield Static(id="rubric-scale", markup=False)
        yield Static(id="rubric-status", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Self-assessment rubric"
        table = self.query_one(DataTable)
        table.add_columns(*[d.title for d in self.rubric.dimensions])
        for comp in self.rubric.components:
            table.add_row(*[self._cell(comp.id, d.id) for d in self.rubric.dimensions],
                          key=comp.id, label=comp.title)
        self.query_one("#rubric-scale", Static).update(
            "\n".join(f"{s} {lv.label}: {lv.meaning}" for s, lv in sorted(self.rubric.scale.items())))
        table.focus()
        self._show_focus()
        self._show_status()

    def _cell(self, comp: str, dim: str) -> str:
        value = self.scores.get((comp, dim))
        return str(value) if value else "·"

    # -- what the cursor is on ----------------------------------------------
    @property
    def focused_cell(self) -> tuple[str, str]:
        row, col = self.query_one(DataTable).cursor_coordinate
        return self.rubric.components[row].id, self.rubric.dimensions[col].id

    def on_data_table_cell_highlighted(self, _event) -> None:
        self._show_focus()

    def _show_focus(self) -> None:
        comp, dim = self.focused_cell
        c, d = self.rubric.component(comp), self.rubric.dimension(dim)
        value = self.scores.get((comp, dim))
        lines = [f"{c.title} × {d.title}" + (f" — {d.question}" if d.question else "")]
        if value:
            lines.append(self.rubric.meaning(value, comp))
        else:
            lines.append("not rated: press 1-5 (the cursor then moves to the next cell; arrows move freely)")
        self.query_one("#rubric-focus", Static).update("\n".join(lines))

    def _show_status(self) -> None:
        rated = len(self.scores)
        total = len(self.rubric.components) * len(self.rubric.dimensions)
        avg = sum(self.scores.values()) / rated if rated else None
        parts = [f"{rated}/{total} rated"]
        if avg is not None:
            parts.append(f"average {avg:.2f} (target {self.rubric.target:g})")
        parts.append(f"last saved {when(self.last_at)}" if self.last_at else "never saved")
        if self.dirty:
            parts.append("unsaved changes: s saves")
        self.query_one("#rubric-status", Static).update(" · ".join(parts))

    @property
    def dirty(self) -> bool:
        return self.scores != self.previous

    # -- actions ------------------------------------------------------------
    def action_set_score(self, value: int) -> None:
        table = self.query_one(DataTable)
        comp, dim = self.focused_cell
        if value:
            self.scores[(comp, dim)] = value
        else:
            self.scores.pop((comp, dim), None)
        table.update_cell_at(table.cursor_coordinate, self._cell(comp, dim))
        if value:  # step on, row by row, so the grid can be typed in one go
            row, col = table.cursor_coordinate
            if col + 1 < len(self.rubric.dimensions):
                col += 1
            elif row + 1 < len(self.rubric.components):
                row, col = row + 1, 0
            table.cursor_coordinate = Coordinate(row, col)
        self._show_focus()
        self._show_status()

    def action_save(self) -> None:
        if not self.scores:
            self.notify("Rate at least one cell first.", severity="warning")
            return
        aid = rubric_store.record(self.app.db, self.scores)
        saved = rubric_store.latest(self.app.db)
        self.previous, self.last_at = dict(self.scores), saved.at
        self.notify(f"Saved assessment {aid}: average {saved.average:.2f}")
        self._show_status()

    def action_leave(self) -> None:
        if self.dirty:
            self.notify("Unsaved ratings were discarded.", severity="warning")
        self.app.pop_screen()
