"""Content problems (a dismissible list) and a fatal store error."""
from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from ..widgets.footer import KeyFooter


class ProblemsScreen(ModalScreen):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        problems = self.app.catalog.problems
        errors = [p for p in problems if p.severity == "error"]
        warnings = [p for p in problems if p.severity != "error"]
        # Paths are relative to the content root (`vlearn doctor` prints the root).
        text = [f"[b]{len(errors)} errors, {len(warnings)} warnings[/b] in the content", ""]
        text += [f"[red]error[/]   {escape(str(p))}" for p in errors]
        text += [f"[yellow]warning[/] {escape(str(p))}" for p in warnings]
        with VerticalScroll(id="problems"):
            yield Static("\n".join(text) if problems else "No problems found in the content.")
        yield KeyFooter()


class FatalScreen(Screen):
    """The progress database cannot be used: say why, touch nothing."""

    BINDINGS = [Binding("q,escape", "app.quit", "Quit")]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        yield Static(f"[b red]vlearn cannot open your progress[/]\n\n{escape(self.message)}\n\nPress q to quit.", id="fatal", markup=True)
        yield KeyFooter()
