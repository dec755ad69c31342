"""Help: every key binding of the app and of each screen."""
from __future__ import annotations

import importlib

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable


def _bindings_of(cls) -> list[Binding]:
    out = []
    for b in getattr(cls, "BINDINGS", []):
        out.append(b if isinstance(b, Binding) else Binding(*b))
    return out


def key_text(app, binding: Binding) -> str:
    """'left,left_square_bracket' -> '←, ['."""
    return ", ".join(app.get_key_display(Binding(key.strip(), "")) for key in binding.key.split(","))


def all_bindings(app) -> list[tuple[str, str, str]]:
    from ..app import SCREENS

    rows = [("Everywhere", key_text(app, b), b.description) for b in _bindings_of(type(app))]
    rows.append(("Everywhere", "ctrl+p", "Command palette: jump to any day, lesson, lab or drill"))
    from .today import TodayScreen

    screens = [("Today", TodayScreen)]
    for _kind, (module_name, class_name) in SCREENS.items():
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            continue
        screens.append((class_name.removesuffix("Screen"), cls))
    seen = set()
    for name, cls in screens:
        if cls in seen:
            continue
        seen.add(cls)
        for b in _bindings_of(cls):
            if b.description:
                rows.append((name, key_text(app, b), b.description))
    return rows


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        table = DataTable(id="help-table", cursor_type="row")
        table.border_title = "Keys (Esc closes)"
        yield table

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Where", "Key", "Does")
        for row in all_bindings(self.app):
            table.add_row(*(Text(cell) for cell in row))  # keys like '[' are not markup
        table.focus()
