"""Card statistics: due forecast, reviews per day, retention by component,
new/learning/young/mature counts, as plain-text bars (tui.core.srs)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from ..core import srs
from ..widgets.footer import KeyFooter


class StatsScreen(Screen):
    DEFAULT_CSS = """
    StatsScreen #stats-scroll { padding: 1 2; }
    """
    BINDINGS = [
        Binding("escape,b", "back", "Back"),
        Binding("f5,ctrl+r", "refresh_stats", "Refresh"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="stats-scroll"):
            yield Static(id="stats-body", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Card statistics"
        self.action_refresh_stats()
        self.query_one("#stats-scroll").focus()

    def action_refresh_stats(self) -> None:
        self.query_one("#stats-body", Static).update(srs.stats_text(self.app.db, self.app.catalog))

    def action_back(self) -> None:
        self.app.pop_screen()
