"""Help: every key binding of the app and of each screen."""
from __future__ import annotations

import importlib

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


def _bindings_of(cls) -> list[Binding]:
    out = []
    for b in getattr(cls, "BINDINGS", []):
        out.append(b if isinstance(b, Binding) else Binding(*b))
    return out


def all_bindings(app) -> list[tuple[str, str, str]]:
    from ..app import SCREENS

    rows = [("Everywhere", b.key, b.description) for b in _bindings_of(type(app))]
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
                rows.append((name, b.key, b.description))
    return rows


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        yield Static("[b]Keys[/b]  (Esc closes)", id="help-title")
        yield DataTable(id="help-table", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Where", "Key", "Does")
        for row in all_bindings(self.app):
            table.add_row(*row)
        table.focus()
